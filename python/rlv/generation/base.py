"""The generation interface: what to sample (:class:`SamplingParams`), what comes back
(:class:`Completion`) and what a backend does (:class:`GenerationBackend`).

``prompt_ids`` are token-id lists (so the trainer controls tokenisation). Each returned
completion holds the sampled tokens up to and including the EOS token when generation stopped
(``finished=True``), or ``max_new_tokens`` tokens when it was truncated. ``logprobs[t]`` is
``log softmax(logits_t / temperature)[token_t]``: the log-probability of the sampled token
under the temperature-scaled policy, before top-p truncation (what the trainer recomputes as
the behaviour policy's log-probability).

A backend that generates from a copy of the weights (:class:`rlv.generation.VLLMBackend`)
implements :meth:`GenerationBackend.sync_weights`, which the trainer calls after every
optimizer step; the transformers backend samples from the training model itself, so it has
nothing to sync. Backends also score solutions with the model's own verifier
(:meth:`GenerationBackend.score`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from rlv.verifier import Scores, Verifier

__all__ = ["Completion", "GenerationBackend", "SamplingParams"]


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


def check_prompts(prompts: Sequence[Sequence[int]]) -> None:
    """Raise ``ValueError`` for an empty prompt (there is nothing to continue)."""
    for i, p in enumerate(prompts):
        if len(p) == 0:
            raise ValueError(f"prompt {i} is empty")


def decode_completion(
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


def stop_string_end(tokenizer: Any, token_ids: list[int], stop: Sequence[str]) -> int:
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
