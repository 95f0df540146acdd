"""Answer classes and votes over one pool of samples (majority, weighted, Best-of-N).

Classes are decided by real math equivalence (the grader of :func:`rlv.is_equiv`), not by
exact strings: ``\\frac12``, ``0.5`` and ``\\dfrac{1}{2}`` are one class. Each distinct answer
is parsed once; equal exact values share a key, and only answers whose keys cannot rule out
equality are compared with the full checker (see ``docs/votes.md``).

Ties: the majority vote never looks at scores (it is the verifier-free baseline) and, like
the weighted vote, breaks ties by first appearance; Best-of-N takes the first of the samples
with the highest score. Samples without a readable answer form no class and never win.

    >>> import rlv
    >>> v = rlv.vote(["\\\\frac12", "0.5", "3", None])
    >>> v.answer, v.members, v.support
    ('\\\\frac12', (0, 1), 2.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from rlv import _core

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from rlv.grading import GradeOptions, GradeOptionsKwargs

__all__ = ["METHODS", "Vote", "VoteMethod", "cluster", "vote", "vote_batch"]

VoteMethod = Literal["majority", "weighted", "best_of_n"]
METHODS: tuple[VoteMethod, ...] = ("majority", "weighted", "best_of_n")

#: Default cap on full equivalence checks per pool (see ``docs/votes.md``).
DEFAULT_MAX_COMPARISONS = 50_000


@dataclass(frozen=True)
class Vote:
    """The outcome of one vote.

    Attributes:
        answer: the winning answer as written by the sample that carries the decision (the
            class's first member; for Best-of-N the chosen sample), ``None`` if no sample
            has a readable answer.
        index: that sample's index, or ``None``.
        members: indices of every sample in the winning class.
        support: class size (majority), sum of scores (weighted) or best score (Best-of-N).
        tied: how many classes (Best-of-N: samples) tied for the win; the first one won.
        classes: number of answer classes in the pool.
        class_of: ``int32`` class of each sample (``-1``: no readable answer).
        truncated: the comparison cap stopped merging classes (see ``max_comparisons``).
    """

    answer: str | None
    index: int | None
    members: tuple[int, ...]
    support: float
    tied: int
    classes: int
    class_of: npt.NDArray[np.int32]
    truncated: bool


def _scores(scores: Sequence[float] | npt.ArrayLike | None) -> npt.NDArray[np.float64] | None:
    if scores is None:
        return None
    return np.ascontiguousarray(scores, dtype=np.float64).reshape(-1)


def _make(answers: Sequence[str | None], class_of: npt.NDArray[np.int32], t: Any) -> Vote:
    cls, sample, support, tied, n_classes, truncated = t
    members = tuple(int(i) for i in np.flatnonzero(class_of == cls)) if cls is not None else ()
    return Vote(
        answer=answers[sample] if sample is not None else None,
        index=sample,
        members=members,
        support=float(support),
        tied=int(tied),
        classes=int(n_classes),
        class_of=class_of,
        truncated=bool(truncated),
    )


def vote(
    answers: Sequence[str | None],
    scores: Sequence[float] | npt.ArrayLike | None = None,
    *,
    method: VoteMethod = "majority",
    max_comparisons: int = DEFAULT_MAX_COMPARISONS,
    options: GradeOptions | None = None,
    **kwargs: Unpack[GradeOptionsKwargs],
) -> Vote:
    """Vote over one pool of extracted answers.

    Args:
        answers: one extracted answer per sample (``None`` or blank: no answer). Use
            :func:`rlv.extract_answer` on completions first.
        scores: verifier scores in [0, 1] (needed by ``"weighted"`` and ``"best_of_n"``).
        method: ``"majority"``, ``"weighted"`` or ``"best_of_n"``.
        max_comparisons: cap on full equivalence checks (keeps adversarial pools bounded).
        options: the grading options as one :class:`rlv.grading.GradeOptions`.
        **kwargs: the grading options of :func:`rlv.is_equiv` as keywords (``percent``,
            ``rel_tol``, ...); not together with ``options``.

    Raises:
        ValueError: unknown method, a method that needs scores without them, scores of the
            wrong length, NaN or outside [0, 1].
    """
    answers = list(answers)
    class_of, t = _core.vote(
        answers,
        _scores(scores),
        method=method,
        max_comparisons=max_comparisons,
        options=options,
        **kwargs,
    )
    return _make(answers, class_of, t)


def vote_batch(
    answers: Sequence[Sequence[str | None]],
    scores: Sequence[Sequence[float] | npt.ArrayLike] | None = None,
    *,
    method: VoteMethod = "majority",
    max_comparisons: int = DEFAULT_MAX_COMPARISONS,
    num_threads: int | None = None,
    options: GradeOptions | None = None,
    **kwargs: Unpack[GradeOptionsKwargs],
) -> list[Vote]:
    """:func:`vote` over many problems, on rlv's thread pool with the GIL released."""
    pools = [list(a) for a in answers]
    sc = None if scores is None else [_scores(s) for s in scores]
    out = _core.vote_batch(
        pools,
        sc,
        method=method,
        max_comparisons=max_comparisons,
        num_threads=num_threads,
        options=options,
        **kwargs,
    )
    return [_make(a, c, t) for a, (c, t) in zip(pools, out, strict=True)]


def cluster(
    answers: Sequence[str | None],
    *,
    max_comparisons: int = DEFAULT_MAX_COMPARISONS,
    options: GradeOptions | None = None,
    **kwargs: Unpack[GradeOptionsKwargs],
) -> npt.NDArray[np.int32]:
    """Answer class of each sample (``int32``, numbered by first appearance; ``-1``: none)."""
    class_of, _ = _core.vote(
        list(answers),
        None,
        method="majority",
        max_comparisons=max_comparisons,
        options=options,
        **kwargs,
    )
    return class_of
