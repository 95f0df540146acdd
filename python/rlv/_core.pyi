"""Stubs for ``rlv._core``, the compiled Rust extension (crate ``rust/rlv-py``).

Hand-written; checked against the built module with ``python -m mypy.stubtest rlv._core``
(``make lint``). Import the public API from :mod:`rlv`, not from here: the wrappers in
:mod:`rlv.grading` build friendlier return types (options are validated here, in Rust).
"""

from collections.abc import Sequence
from typing import Any, Final, TypedDict, final

import numpy as np
import numpy.typing as npt
from typing_extensions import Unpack

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_FUEL",
    "DumpError",
    "GradeOptions",
    "InternalError",
    "RescoreBatch",
    "RescoreTotals",
    "Rescorer",
    "RlvError",
    "__version__",
    "build_profile",
    "extract_answer",
    "extract_choice",
    "grade",
    "grade_batch",
    "grpo_advantages",
    "is_equiv",
    "estimate",
    "length_select",
    "reinforce_pp_baseline_advantages",
    "rloo_advantages",
    "vote",
    "vote_batch",
    "status_names",
]

__version__: Final[str]
build_profile: Final[str]
"""``"release"`` or ``"debug"``: how the extension was compiled."""
DEFAULT_FUEL: Final[int]
"""Default work budget (abstract steps) per comparison."""
CHUNK_SIZE: Final[int]
"""Items per GIL-released chunk in :func:`grade_batch`."""

class RlvError(Exception):
    """Base class of every exception raised by rlv itself (not for bad arguments, which raise
    ValueError / TypeError)."""

class DumpError(RlvError):
    """A malformed row of a sample dump (the message names file, line and field)."""

class InternalError(RlvError):
    """A bug in rlv: the Rust core panicked. Please report the input that triggered it."""

def status_names() -> list[str]:
    """Names of the grading statuses, indexed by their int8 code."""

def extract_choice(text: str, *, choices: str = "ABCD") -> tuple[str | None, str | None]:
    """The letter chosen in a multiple-choice answer and the rule that found it.

    An explicit anchor whose answer is one letter of ``choices`` (``\\boxed{B}``, "the answer
    is (C)") wins; otherwise the first stand-alone choice letter. ``(None, None)`` if none.
    """

def extract_answer(text: str, *, mode: str | None = None) -> tuple[str | None, str | None]:
    """Extract the final answer of a model output.

    Returns ``(answer, rule)``; both are ``None`` when no answer is found. ``mode`` is
    ``"lenient"`` (``None``: the default) or ``"strict"`` (explicit anchors only). Lone surrogates in ``text`` are
    replaced by U+FFFD.
    """

class _GradeOptions(TypedDict, total=False):
    """Grading options as keyword arguments (defaults: the Rust ``GradeOptions::default()``);
    see ``rlv.grading`` for their meaning. They build a :class:`GradeOptions` per call."""

    mode: str
    ordered_lists: bool
    percent: str
    interval_inequality: bool
    strict_vars: bool
    min_decimals: int | None
    rel_tol: float
    fuel: int

@final
class GradeOptions:
    """Grading options, validated once when built: one error text per bad option
    (``invalid value <repr> for option <name>; allowed: ...``), ``TypeError`` for a wrong
    type and ``ValueError`` for a wrong value; an unknown name raises ``TypeError``.
    Immutable, hashable, comparable, picklable. Exposed as ``rlv.grading.GradeOptions``."""

    def __new__(cls, **options: Unpack[_GradeOptions]) -> GradeOptions: ...
    @property
    def mode(self) -> str: ...
    @property
    def ordered_lists(self) -> bool: ...
    @property
    def percent(self) -> str: ...
    @property
    def interval_inequality(self) -> bool: ...
    @property
    def strict_vars(self) -> bool: ...
    @property
    def min_decimals(self) -> int | None: ...
    @property
    def rel_tol(self) -> float: ...
    @property
    def fuel(self) -> int: ...
    def to_dict(self) -> dict[str, Any]:
        """The options as keyword arguments: ``GradeOptions(**o.to_dict()) == o``."""
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]:
        """Pickling: rebuilt from its keyword arguments."""

def is_equiv(
    a: str,
    b: str,
    *,
    options: GradeOptions | None = None,
    **kwargs: Unpack[_GradeOptions],
) -> str:
    """Compare two already-extracted answers (``a`` is treated as the gold).

    Returns a status name: ``"equal"``, ``"not_equal"``, ``"unparseable"``,
    ``"invalid_gold"`` or ``"budget_exceeded"``.
    """

def grade(
    completion: str,
    gold: str,
    *,
    options: GradeOptions | None = None,
    **kwargs: Unpack[_GradeOptions],
) -> tuple[str, str | None, str | None, str | None]:
    """Grade one completion against one gold.

    Returns ``(status, answer, rule, gold_answer)``.
    """

def grade_batch(
    completions: Sequence[str],
    golds: Sequence[str],
    *,
    num_threads: int | None = None,
    options: GradeOptions | None = None,
    **kwargs: Unpack[_GradeOptions],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int8]]:
    """Grade many pairs on rlv's thread pool with the GIL released.

    Returns ``(rewards, codes)``: float32 rewards (1 equal, 0 otherwise, NaN for
    ``invalid_gold``) and int8 status codes (indices into :func:`status_names`). Inputs are
    copied to Rust strings first; the work runs in chunks of :data:`CHUNK_SIZE` with a signal
    check (Ctrl-C) between chunks. Raises ValueError if the lengths differ.
    """

# Advantages (wrapped by rlv.advantages, which also accepts torch tensors and lists).
# ``rewards`` is a 1-D float32 or float64 array; the advantages have the same dtype. Groups:
# exactly one of ``groups`` (int64 ids, any order), ``sizes`` (int64 sizes of consecutive
# groups) or ``group_size``. The second element of the result is ``(n_groups, n_unscorable,
# n_singleton_groups, n_zero_variance_groups, n_empty_groups)``. Batches over 50,000 rewards
# run with the GIL released. Invalid groups, eps or infinite rewards raise ValueError.

_Stats = tuple[int, int, int, int, int]

def grpo_advantages(
    rewards: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    *,
    groups: npt.NDArray[np.int64] | None = None,
    sizes: npt.NDArray[np.int64] | None = None,
    group_size: int | None = None,
    scale: str = "group",
    eps: float = 1e-6,
) -> tuple[npt.NDArray[np.floating[Any]], _Stats]:
    """GRPO advantages ``(r - mean_g) / (std_g + eps)``; ``scale`` is ``"group"``,
    ``"batch"`` or ``"none"`` (Dr. GRPO)."""

def rloo_advantages(
    rewards: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    *,
    groups: npt.NDArray[np.int64] | None = None,
    sizes: npt.NDArray[np.int64] | None = None,
    group_size: int | None = None,
) -> tuple[npt.NDArray[np.floating[Any]], _Stats]:
    """RLOO advantages ``r_i - (sum_g - r_i) / (n_g - 1)``."""

def reinforce_pp_baseline_advantages(
    rewards: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    *,
    groups: npt.NDArray[np.int64] | None = None,
    sizes: npt.NDArray[np.int64] | None = None,
    group_size: int | None = None,
    weights: npt.NDArray[np.float64] | None = None,
    eps: float = 1e-8,
) -> tuple[npt.NDArray[np.floating[Any]], _Stats]:
    """REINFORCE++-baseline advantages: ``r - mean_g``, whitened over the batch (weighted by
    ``weights``)."""

# Votes, scaling estimators and rescoring (wrapped by rlv.scaling.votes, rlv.scaling.estimators, rlv.scaling.rescore).
# A vote returns ``(class_of, (class, sample, support, tied, n_classes, truncated))``.

_VoteTuple = tuple[int | None, int | None, float, int, int, bool]

def vote(
    answers: Sequence[str | None],
    scores: npt.NDArray[np.float64] | None = None,
    *,
    method: str = "majority",
    max_comparisons: int = 50000,
    options: GradeOptions | None = None,
    **kwargs: Unpack[_GradeOptions],
) -> tuple[npt.NDArray[np.int32], _VoteTuple]:
    """Cluster one pool of answers and vote (see ``docs/votes.md``)."""

def vote_batch(
    answers: Sequence[Sequence[str | None]],
    scores: Sequence[npt.NDArray[np.float64] | None] | None = None,
    *,
    method: str = "majority",
    max_comparisons: int = 50000,
    num_threads: int | None = None,
    options: GradeOptions | None = None,
    **kwargs: Unpack[_GradeOptions],
) -> list[tuple[npt.NDArray[np.int32], _VoteTuple]]:
    """:func:`vote` over many pools, GIL released."""

def estimate(
    class_of: Sequence[npt.NDArray[np.int32]],
    class_correct: Sequence[npt.NDArray[np.bool_]],
    sample_correct: Sequence[npt.NDArray[np.bool_]],
    scores: Sequence[npt.NDArray[np.float64]] | None,
    *,
    ks: Sequence[int],
    subsets: int,
    seed: int,
    first_index: int = 0,
    num_threads: int | None = None,
) -> npt.NDArray[np.float64]:
    """Estimates of shape ``(problems, 4, len(ks))``: pass, majority, weighted, best_of."""

def length_select(
    budgets: Sequence[int],
    class_of: Sequence[npt.NDArray[np.int32]],
    class_correct: Sequence[Sequence[npt.NDArray[np.bool_]]],
    sample_correct: Sequence[npt.NDArray[np.bool_]],
    scores: Sequence[npt.NDArray[np.float64]],
    cut: Sequence[npt.NDArray[np.uint64]],
    forced: Sequence[npt.NDArray[np.uint64]],
    verify_tokens: Sequence[int],
    *,
    ks: Sequence[int],
    taus: Sequence[float],
    subsets: int,
    seed: int,
    confidence: str = "share",
    first_index: int = 0,
    num_threads: int | None = None,
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.bool_],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]:
    """Length selection by verifier confidence (``rlv.scaling.lengths``). Per problem,
    ``(budgets, samples)`` arrays (``class_of``: -1 for no answer; ``class_correct``: one
    array per budget). Returns ``(accuracy, accuracy_var, tokens, stop_budget)`` of shape
    ``(problems, len(ks), len(taus))``, ``exact`` ``(problems, len(ks))``, the fixed-budget
    estimates ``(problems, budgets, 4, len(ks))`` (pass, majority, weighted, best_of) and
    the fixed-budget tokens per sample ``(problems, budgets, 2)`` (majority, weighted).
    Bad input raises ValueError naming the problem."""

@final
class RescoreBatch:
    """One processed chunk of a dump (from :meth:`Rescorer.next_batch`): typed columns, one
    entry per problem, in dump order."""

    @property
    def ids(self) -> list[str]: ...
    @property
    def golds(self) -> list[str]:
        """Gold answers as read from the gold field."""
    @property
    def samples(self) -> npt.NDArray[np.int64]: ...
    @property
    def answered(self) -> npt.NDArray[np.int64]: ...
    @property
    def correct(self) -> npt.NDArray[np.int64]: ...
    @property
    def classes(self) -> npt.NDArray[np.int64]: ...
    @property
    def has_scores(self) -> npt.NDArray[np.bool_]: ...
    @property
    def estimates(self) -> npt.NDArray[np.float64]:
        """``(problems, 4, len(ks))``: pass, majority, weighted, best_of_n (NaN: undefined)."""
    def decisions(
        self, method: str
    ) -> tuple[
        list[str | None],
        npt.NDArray[np.int64],
        npt.NDArray[np.bool_],
        npt.NDArray[np.float64],
        npt.NDArray[np.uint32],
    ]:
        """Full-pool decisions of ``method`` (``"majority"``, ``"weighted"``, ``"best_of_n"``):
        ``(answers, samples (-1: none), correct, support, tied)``."""

@final
class RescoreTotals:
    """Totals of a rescoring run over its batches (what the report is built from): counts,
    correct full-pool votes, and per estimator and k the count, sum and sum of squares of the
    defined estimates (sums per batch, then added); every estimate when ``keep``."""

    def __new__(cls, k: int, *, keep: bool = False) -> RescoreTotals: ...
    def add(self, batch: RescoreBatch, file: str) -> None: ...
    @property
    def problems(self) -> int: ...
    @property
    def samples(self) -> int: ...
    @property
    def answered(self) -> int: ...
    @property
    def correct(self) -> int: ...
    @property
    def classes(self) -> int: ...
    @property
    def comparisons(self) -> int: ...
    @property
    def truncated(self) -> int: ...
    @property
    def mixed(self) -> int: ...
    @property
    def with_scores(self) -> int: ...
    @property
    def votes(self) -> list[tuple[str, float]]:
        """Correct full-pool votes per method."""
    @property
    def n(self) -> npt.NDArray[np.int64]: ...
    @property
    def s1(self) -> npt.NDArray[np.float64]: ...
    @property
    def s2(self) -> npt.NDArray[np.float64]: ...
    @property
    def kept(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def invalid(self) -> list[tuple[str, int, str | None, str]]:
        """The first 100 invalid rows: ``(file, line, field, message)``."""
    @property
    def invalid_count(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def compared(self) -> int: ...
    @property
    def disagree(self) -> int: ...
    @property
    def example(self) -> tuple[str, int, str, str | None] | None: ...

@final
class Rescorer:
    """Streaming reader of one dump (JSONL, gzip, zstd or Parquet): :meth:`next_batch` returns
    each processed chunk as a :class:`RescoreBatch`."""

    def __new__(
        cls,
        path: str,
        *,
        name: str | None = None,
        first_index: int = 0,
        fields: dict[str, str] | None = None,
        format: str = "auto",
        layout: str = "auto",
        score_agg: str | None = None,
        ks: Sequence[int],
        subsets: int,
        seed: int,
        skip_invalid: bool = False,
        max_comparisons: int = 50000,
        num_threads: int | None = None,
        chunk_bytes: int = 16777216,
        options: GradeOptions | None = None,
        **kwargs: Unpack[_GradeOptions],
    ) -> Rescorer: ...
    def next_batch(self) -> RescoreBatch | None: ...
    def progress(self) -> tuple[int, int]: ...
    @property
    def layout(self) -> str: ...
    @property
    def format(self) -> str:
        """The dump format (detected from the first row under ``format="auto"``)."""
    @property
    def fields(self) -> list[tuple[str, str]]:
        """The field mapping in use, ``(role, path)`` (roles that are not read left out)."""
    @property
    def score_agg(self) -> tuple[str | None, bool]:
        """``(score_agg, from_format)``: how list scores are combined, and whether the dump
        format's preset chose it."""
    @property
    def select(self) -> tuple[str, str] | None:
        """``(field, value)``: only rows with this value are read (lm-eval's ``filter``)."""
    @property
    def compression(self) -> str:
        """``"none"``, ``"gzip"``, ``"zstd"`` or ``"parquet"``."""
    @property
    def next_index(self) -> int: ...
