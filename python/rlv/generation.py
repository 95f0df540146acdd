"""Generation backends: sample ``n`` completions per prompt, with token ids, text and per-token
log-probabilities.

The trainer and ``rlv sample`` talk to a :class:`GenerationBackend`::

    backend = TransformersBackend(model, tokenizer)
    groups = backend.generate(prompt_ids, SamplingParams(n=8, temperature=1.0, max_new_tokens=64))
    groups[i][j].token_ids, .text, .logprobs, .finished

``prompt_ids`` are token-id lists (so the trainer controls tokenisation). Each returned
completion holds the sampled tokens up to and including the EOS token when generation stopped
(``finished=True``), or ``max_new_tokens`` tokens when it was truncated. ``logprobs[t]`` is
``log softmax(logits_t / temperature)[token_t]``: the log-probability of the sampled token
under the temperature-scaled policy, before top-p truncation (what the trainer recomputes as
the behaviour policy's log-probability).

A backend that generates from a copy of the weights (vLLM, a later backend) implements
:meth:`GenerationBackend.sync_weights`, which the trainer calls after every optimizer step;
the transformers backend samples from the training model itself, so it has nothing to sync.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Completion",
    "GenerationBackend",
    "SamplingParams",
    "TransformersBackend",
    "make_backend",
]


@dataclass(frozen=True)
class SamplingParams:
    """What to sample. ``temperature = 0`` is greedy decoding."""

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    stop: tuple[str, ...] = ()
    """Extra stop strings (generation also stops at the tokenizer's EOS)."""
    suppress_token_ids: tuple[int, ...] = ()
    """Tokens that are never sampled (e.g. the verifier's dedicated Yes/No tokens)."""

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if not (self.temperature >= 0 and math.isfinite(self.temperature)):
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")


@dataclass(frozen=True)
class Completion:
    """One sampled completion."""

    token_ids: list[int]
    text: str
    """Decoded text, special tokens (EOS) skipped."""
    logprobs: list[float] = field(repr=False)
    finished: bool
    """Stopped at EOS / a stop string (``False``: truncated at ``max_new_tokens``)."""


@runtime_checkable
class GenerationBackend(Protocol):
    """Samples completions; the interface the trainer and ``rlv sample`` use."""

    def generate(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, *, progress: bool = False
    ) -> list[list[Completion]]:
        """``params.n`` completions for each prompt (token ids), in prompt order."""
        ...

    def sync_weights(self, model: Any) -> None:
        """Make later generations use ``model``'s current weights."""
        ...


class TransformersBackend:
    """Sampling with ``model.generate`` (CPU or GPU), from the training model itself.

    Prompts are left-padded and generated ``batch_size`` sequences at a time (each prompt
    repeated ``n`` times). Sampling uses torch's global RNG, so seeding torch (and restoring
    its state on resume) makes it reproducible.
    """

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 256) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        eos = tokenizer.eos_token_id
        if eos is None:
            raise ValueError("the tokenizer has no EOS token; generation could never stop")
        self.eos_id = int(eos)
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else self.eos_id

    def sync_weights(self, model: Any) -> None:
        """Nothing to do: this backend samples from ``model`` itself."""
        self.model = model

    def generate(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, *, progress: bool = False
    ) -> list[list[Completion]]:
        import torch

        for i, p in enumerate(prompts):
            if len(p) == 0:
                raise ValueError(f"prompt {i} is empty")
        rows = [list(map(int, p)) for p in prompts for _ in range(params.n)]
        out: list[Completion] = []
        model = self.model
        was_training = bool(model.training)
        model.eval()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(rows), desc="sampling", unit="seq", dynamic_ncols=True)
        try:
            with torch.no_grad():
                for start in range(0, len(rows), self.batch_size):
                    chunk = rows[start : start + self.batch_size]
                    out.extend(self._generate_chunk(chunk, params))
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
            if was_training:
                model.train()
        return [out[i * params.n : (i + 1) * params.n] for i in range(len(prompts))]

    def _generate_chunk(self, rows: list[list[int]], params: SamplingParams) -> list[Completion]:
        import torch
        from transformers import GenerationConfig

        device = next(self.model.parameters()).device
        t = max(len(r) for r in rows)
        ids = torch.full((len(rows), t), self.pad_id, dtype=torch.long)
        att = torch.zeros((len(rows), t), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, t - len(r) :] = torch.tensor(r, dtype=torch.long)
            att[i, t - len(r) :] = 1
        greedy = params.temperature == 0
        gen_cfg = GenerationConfig(
            do_sample=not greedy,
            temperature=None if greedy else params.temperature,
            top_p=None if greedy or params.top_p >= 1.0 else params.top_p,
            top_k=None,
            max_new_tokens=params.max_new_tokens,
            eos_token_id=self.eos_id,
            pad_token_id=self.pad_id,
            suppress_tokens=list(params.suppress_token_ids) or None,
            stop_strings=list(params.stop) or None,
            return_dict_in_generate=True,
            output_logits=True,
        )
        kwargs: dict[str, Any] = {}
        if params.stop:
            kwargs["tokenizer"] = self.tokenizer
        res = self.model.generate(
            input_ids=ids.to(device),
            attention_mask=att.to(device),
            generation_config=gen_cfg,
            **kwargs,
        )
        seqs = res.sequences[:, t:].cpu()
        # Raw logits per step -> log-probs of the sampled tokens under logits / temperature.
        temp = 1.0 if greedy else params.temperature
        logits = torch.stack(res.logits, dim=1).float()  # (B, L, V)
        if params.suppress_token_ids:
            logits[..., list(params.suppress_token_ids)] = -math.inf
        logp = torch.log_softmax(logits / temp, dim=-1)
        tok_logp = logp.gather(-1, seqs.to(logp.device).unsqueeze(-1)).squeeze(-1).cpu()
        completions = []
        for i in range(len(rows)):
            toks = seqs[i].tolist()
            finished = False
            end = len(toks)
            for j, tok in enumerate(toks):
                if tok == self.eos_id:
                    end, finished = j + 1, True
                    break
            toks = toks[:end]
            text = self.tokenizer.decode(toks, skip_special_tokens=True)
            if not finished and params.stop and any(s in text for s in params.stop):
                finished = True
            completions.append(
                Completion(
                    token_ids=toks,
                    text=text,
                    logprobs=tok_logp[i, :end].tolist(),
                    finished=finished,
                )
            )
        return completions


def make_backend(name: str, model: Any, tokenizer: Any, *, batch_size: int = 256) -> Any:
    """The backend called ``name`` (``"transformers"`` or ``"vllm"``)."""
    if name == "transformers":
        return TransformersBackend(model, tokenizer, batch_size=batch_size)
    if name == "vllm":
        raise NotImplementedError(
            "the vLLM backend is not available in this version of rlv; use "
            "generation.backend: transformers"
        )
    raise ValueError(f"unknown generation backend {name!r}; allowed: transformers, vllm")
