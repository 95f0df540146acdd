"""The transformers generation backend: ``model.generate`` on the training model itself."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlv.verifier import Scores, Verifier

from rlv.generation.base import (
    Completion,
    SamplingParams,
    check_prompts,
    decode_completion,
)

__all__ = ["TransformersBackend"]


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

    def score(
        self,
        verifier: Verifier,
        prompts: Sequence[Sequence[int]],
        completions: Sequence[Sequence[int]],
        *,
        batch_size: int = 64,
    ) -> Scores:
        """:meth:`rlv.verifier.Verifier.score` with this backend's model."""
        return verifier.score(self.model, prompts, completions, batch_size=batch_size)

    def generate(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, *, progress: bool = False
    ) -> list[list[Completion]]:
        import torch

        check_prompts(prompts)
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
            toks, text, finished, end = decode_completion(
                self.tokenizer, seqs[i].tolist(), self.eos_id, params
            )
            completions.append(
                Completion(
                    token_ids=toks,
                    text=text,
                    logprobs=tok_logp[i, :end].tolist(),
                    finished=finished,
                )
            )
        return completions
