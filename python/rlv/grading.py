"""Math-answer grading: the public Python API over the Rust core.

* :func:`extract_answer` finds the final answer of a model output (``\\boxed{}``, ``####``,
  "the answer is", ... and, in lenient mode, the last math span or number).
* :func:`is_equiv` compares two already-extracted answers.
* :func:`grade` grades one completion against one gold and returns a :class:`Verdict`.
* :func:`grade_batch` grades many pairs on rlv's thread pool with the GIL released and
  returns numpy arrays (the form an RL reward function needs).

Grading never raises on model output: every input gets one of :data:`STATUSES`. Invalid
*arguments* (an unknown ``mode``/``percent``, mismatched lengths) raise :class:`ValueError`,
arguments of the wrong type :class:`TypeError`.

Options shared by :func:`is_equiv`, :func:`grade` and :func:`grade_batch` (and the votes and
rescoring of :mod:`rlv.scaling`), given as keyword arguments or as one :class:`GradeOptions`
(``options=GradeOptions(...)``: validated once, when built, then reused as is):

``mode`` (default ``"lenient"``)
    Extraction mode for the completion: ``"lenient"`` or ``"strict"`` (explicit anchors
    only; use it for RL rewards). :func:`is_equiv` compares extracted answers and ignores it.
``ordered_lists`` (default ``False``)
    Bare comma lists (``10, 4, -2``) are compared in order (Hendrycks MATH) instead of as
    unordered collections.
``percent`` (default ``"strip"``)
    ``"strip"``: ``28\\%`` is 28; ``"value"``: ``28\\%`` is 0.28; ``"either"``: both.
``interval_inequality`` (default ``True``)
    An inequality (``x > 3``) may equal the matching interval (``(3, \\infty)``).
``strict_vars`` (default ``True``)
    Variables are compared by name; ``False`` renames the prediction's variables to the
    gold's (sorted by name, same count), like math-verify's ``strict=False``.
``min_decimals`` (default ``None``)
    A decimal compared with an exact value must show at least this many decimal places
    (``4``: ``0.333`` is not ``1/3``, ``0.3333`` is), like math-verify's ``float_rounding``.
``rel_tol`` (default ``1e-9``)
    Relative tolerance for comparing exactly written irrational values (radicals, pi).
``fuel`` (default :data:`DEFAULT_FUEL`)
    Work budget per comparison; running out gives status ``"budget_exceeded"``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypedDict, overload

import numpy as np
import numpy.typing as npt

from rlv import _core

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_FUEL",
    "GradeOptions",
    "GradeOptionsKwargs",
    "MODES",
    "PERCENT_POLICIES",
    "STATUSES",
    "STATUS_CODES",
    "Verdict",
    "extract_answer",
    "extract_answer_rule",
    "extract_choice",
    "grade",
    "grade_batch",
    "is_equiv",
    "is_equiv_status",
]

Mode = Literal["lenient", "strict"]
PercentPolicy = Literal["strip", "value", "either"]
Status = Literal[
    "equal", "not_equal", "no_answer", "unparseable", "budget_exceeded", "invalid_gold"
]

MODES: Final[tuple[str, ...]] = ("lenient", "strict")
"""Extraction modes: ``"lenient"`` (anchors, then last math span, then last number) and
``"strict"`` (explicit anchors only, for RL rewards)."""

PERCENT_POLICIES: Final[tuple[str, ...]] = ("strip", "value", "either")
"""How ``%`` is read: as a unit (``"strip"``), as /100 (``"value"``) or both (``"either"``)."""

STATUSES: Final[tuple[str, ...]] = tuple(_core.status_names())
"""Status names, indexed by the int8 codes of :func:`grade_batch`:
``equal`` (0), ``not_equal`` (1), ``no_answer`` (2), ``unparseable`` (3),
``budget_exceeded`` (4), ``invalid_gold`` (5)."""

STATUS_CODES: Final[dict[str, int]] = {name: code for code, name in enumerate(STATUSES)}
"""Status name -> int8 code."""

DEFAULT_FUEL: Final[int] = _core.DEFAULT_FUEL
"""Default work budget (abstract steps) per comparison."""

# ---------------------------------------------------------------------------------------------
# Options: validated once, in Rust, when a GradeOptions is built (keyword options build one per
# call); a GradeOptions passed as ``options=`` crosses the boundary as is.

GradeOptions = _core.GradeOptions
"""Grading options, validated once when built; immutable, hashable, picklable.

``GradeOptions(mode="strict", percent="value")``; every keyword is optional (defaults as in
the module docs). A bad option raises one text, ``invalid value <repr> for option <name>;
allowed: ...``: :class:`TypeError` for a wrong type, :class:`ValueError` for a wrong value;
an unknown name raises :class:`TypeError`. Pass it as ``options=`` to :func:`grade`,
:func:`grade_batch`, :func:`is_equiv`, :func:`rlv.vote` or :func:`rlv.scaling.rescore.rescore` instead of the
keyword options (not both) to validate once and reuse.

>>> GradeOptions(mode="strict").mode
'strict'
"""


class GradeOptionsKwargs(TypedDict, total=False):
    """The grading options as keyword arguments (see the module docs)."""

    mode: Mode
    ordered_lists: bool
    percent: PercentPolicy
    interval_inequality: bool
    strict_vars: bool
    min_decimals: int | None
    rel_tol: float
    fuel: int


def _check_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    return value


def _str_list(
    name: str, values: Sequence[str] | npt.NDArray[Any] | Iterable[str]
) -> list[str] | tuple[str, ...]:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of str, not a single {type(values).__name__}")
    if isinstance(values, (list, tuple)):
        return values
    if isinstance(values, np.ndarray):
        out = values.tolist()
        return out if isinstance(out, list) else [out]
    return list(values)


# ---------------------------------------------------------------------------------------------
# Public API


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """The result of grading one completion against one gold answer."""

    correct: bool
    """Whether the completion earns the reward (``status == "equal"``)."""
    status: str
    """One of :data:`STATUSES`."""
    answer: str | None
    """The answer span extracted from the completion, if any."""
    rule: str | None
    """The extraction rule that found ``answer`` (e.g. ``"boxed"``, ``"gsm8k"``), if any."""
    gold_answer: str | None
    """The answer span read from the gold, if any."""

    def to_dict(self) -> dict[str, Any]:
        """The verdict as a plain JSON-serialisable dict."""
        return dataclasses.asdict(self)


@overload
def extract_answer(
    text: str, *, mode: Mode = ..., return_rule: Literal[False] = ...
) -> str | None: ...
@overload
def extract_answer(
    text: str, *, mode: Mode = ..., return_rule: Literal[True]
) -> tuple[str | None, str | None]: ...
def extract_answer(
    text: str, *, mode: Mode = "lenient", return_rule: bool = False
) -> str | None | tuple[str | None, str | None]:
    """Extract the final answer of a model output.

    Args:
        text: the model output.
        mode: ``"lenient"`` (explicit anchors such as ``\\boxed{}``, ``####``, "the answer
            is", then the last math span, then the last number) or ``"strict"`` (explicit
            anchors only; use this for RL rewards).
        return_rule: also return the name of the rule that fired.

    Returns:
        The answer span (``None`` if there is none), or ``(answer, rule)`` when
        ``return_rule`` is true.

    >>> extract_answer("so the answer is $\\\\boxed{\\\\frac{1}{2}}$.")
    '\\\\frac{1}{2}'
    """
    answer, rule = extract_answer_rule(text, mode=mode)
    return (answer, rule) if return_rule else answer


def extract_choice(text: str, *, choices: str = "ABCD") -> str | None:
    """The letter chosen in a multiple-choice answer (``"A"``...), or ``None``.

    An explicit anchor whose answer is a single letter of ``choices`` wins (``\\boxed{B}``,
    "the answer is (C)", "Answer: **D**"); otherwise the first stand-alone letter of
    ``choices`` in the text (not inside a word). Text before ``</think>`` is ignored.

    >>> extract_choice("After checking each option, the answer is (C).")
    'C'
    """
    if not isinstance(choices, str) or not choices:
        raise ValueError("choices must be a non-empty string of letters, e.g. 'ABCD'")
    letter, _rule = _core.extract_choice(_check_str("text", text), choices=choices)
    return letter


def extract_answer_rule(text: str, *, mode: Mode = "lenient") -> tuple[str | None, str | None]:
    """Like :func:`extract_answer` with ``return_rule=True``: ``(answer, rule)``."""
    return _core.extract_answer(_check_str("text", text), mode=mode)


def is_equiv(
    a: str,
    b: str,
    *,
    options: GradeOptions | None = None,
    **kwargs: Unpack[GradeOptionsKwargs],
) -> bool:
    """Whether two already-extracted answers are mathematically equivalent.

    ``a`` is treated as the gold. Unreadable input or an exhausted budget gives ``False``;
    use :func:`is_equiv_status` to see why. See the module docstring for the options.

    >>> is_equiv("\\\\frac{1}{2}", "0.5")
    True
    """
    return is_equiv_status(a, b, options=options, **kwargs) == "equal"


def is_equiv_status(
    a: str,
    b: str,
    *,
    options: GradeOptions | None = None,
    **kwargs: Unpack[GradeOptionsKwargs],
) -> str:
    """Like :func:`is_equiv` but returns the status name: ``"equal"``, ``"not_equal"``,
    ``"unparseable"``, ``"invalid_gold"`` (``a`` unreadable) or ``"budget_exceeded"``."""
    return _core.is_equiv(_check_str("a", a), _check_str("b", b), options=options, **kwargs)


def grade(
    completion: str,
    gold: str,
    *,
    options: GradeOptions | None = None,
    **kwargs: Unpack[GradeOptionsKwargs],
) -> Verdict:
    """Grade one completion against one gold answer.

    Args:
        completion: the model output; its final answer is extracted with ``mode``.
        gold: a bare answer (``"\\\\frac{1}{2}"``) or a reference solution containing
            ``\\boxed{...}`` or ``#### N``.
        options: the grading options as one :class:`GradeOptions` (instead of keywords).
        **kwargs: the grading options as keywords (``mode``, ``percent``, ...; see the
            module docs).

    Returns:
        A :class:`Verdict`; never raises on odd model output.

    >>> grade("... so $x = \\\\boxed{3}$", "3").correct
    True
    """
    status, answer, rule, gold_answer = _core.grade(
        _check_str("completion", completion), _check_str("gold", gold), options=options, **kwargs
    )
    return Verdict(
        correct=status == "equal", status=status, answer=answer, rule=rule, gold_answer=gold_answer
    )


def grade_batch(
    completions: Sequence[str] | npt.NDArray[Any] | Iterable[str],
    golds: Sequence[str] | npt.NDArray[Any] | Iterable[str],
    *,
    num_threads: int | None = None,
    return_status_names: bool = False,
    options: GradeOptions | None = None,
    **kwargs: Unpack[GradeOptionsKwargs],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[Any]]:
    """Grade ``completions[i]`` against ``golds[i]`` for every ``i``, in parallel.

    The inputs are copied into Rust strings, then graded on rlv's own thread pool with the
    GIL released (other Python threads keep running; Ctrl-C is honoured between chunks).
    Results are identical for any thread count.

    Args:
        completions: model outputs (list/tuple/numpy array/iterable of ``str``).
        golds: gold answers, same length as ``completions`` (no broadcasting).
        num_threads: threads to use; ``None`` = ``RLV_NUM_THREADS`` or all cores
            (``RLV_PARALLELISM=0`` forces 1).
        return_status_names: return status names (numpy ``str`` array) instead of codes.
        options: the grading options as one :class:`GradeOptions` (instead of keywords).
        **kwargs: the grading options as keywords (``mode``, ``percent``, ...; see the
            module docs).

    Returns:
        ``(rewards, statuses)``: ``rewards`` is float32, 1.0 for ``equal``, NaN for
        ``invalid_gold`` (unscorable: drop it from baselines), 0.0 otherwise; ``statuses``
        is int8 codes into :data:`STATUSES` (or their names).

    Raises:
        ValueError: lengths differ, or an option has an invalid value.
        TypeError: an item is not a ``str``, or an option has the wrong type.
    """
    if num_threads is not None and (
        isinstance(num_threads, bool)
        or not isinstance(num_threads, (int, np.integer))
        or num_threads < 1
    ):
        raise ValueError(
            f"invalid value {num_threads!r} for option num_threads; allowed: None or an integer >= 1"
        )
    comps = _str_list("completions", completions)
    gls = _str_list("golds", golds)
    if len(comps) != len(gls):
        raise ValueError(f"completions has length {len(comps)}, but golds has length {len(gls)}")
    rewards, codes = _core.grade_batch(
        comps,
        gls,
        num_threads=None if num_threads is None else int(num_threads),
        options=options,
        **kwargs,
    )
    if return_status_names:
        return rewards, _STATUS_ARRAY[codes]
    return rewards, codes


_STATUS_ARRAY: Final[npt.NDArray[np.str_]] = np.array(STATUSES)
