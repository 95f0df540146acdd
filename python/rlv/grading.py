"""Math-answer grading: the public Python API over the Rust core.

* :func:`extract_answer` finds the final answer of a model output (``\\boxed{}``, ``####``,
  "the answer is", ... and, in lenient mode, the last math span or number).
* :func:`is_equiv` compares two already-extracted answers.
* :func:`grade` grades one completion against one gold and returns a :class:`Verdict`.
* :func:`grade_batch` grades many pairs on rlv's thread pool with the GIL released and
  returns numpy arrays (the form an RL reward function needs).

Grading never raises on model output: every input gets one of :data:`STATUSES`. Invalid
*arguments* (unknown ``mode``/``percent``, mismatched lengths) raise :class:`ValueError`.

Options shared by :func:`is_equiv`, :func:`grade` and :func:`grade_batch`:

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
import math
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal, overload

import numpy as np
import numpy.typing as npt

from rlv import _core

__all__ = [
    "DEFAULT_FUEL",
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

_U64_MAX = 2**64 - 1


# ---------------------------------------------------------------------------------------------
# Option validation (clear ValueErrors before anything crosses into Rust)


def _allowed(values: Iterable[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _check_choice(option: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"invalid value {value!r} for option {option}; allowed: {_allowed(allowed)}"
        )
    return value


def _check_bool(option: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"option {option} must be a bool, not {type(value).__name__}")
    return bool(value)


def _options(**options: Any) -> dict[str, Any]:
    """Validated options as keyword arguments; valid combinations are cached (grading one
    pair takes about a microsecond, so per-call validation would dominate)."""
    # The type is part of the key: `True == 1` must not reuse the entry of the other.
    key = tuple((name, type(value), value) for name, value in sorted(options.items()))
    try:
        cached = _OPTIONS_CACHE.get(key)
    except TypeError:  # an unhashable value: let the full check report it
        cached = None
    if cached is None:
        cached = _validate_options(**options)
        if len(_OPTIONS_CACHE) < 256:
            _OPTIONS_CACHE[key] = cached
    return cached


_OPTIONS_CACHE: dict[tuple[Any, ...], dict[str, Any]] = {}


def _validate_options(
    *,
    ordered_lists: bool,
    percent: str,
    interval_inequality: bool,
    strict_vars: bool,
    min_decimals: int | None,
    rel_tol: float,
    fuel: int,
) -> dict[str, Any]:
    """Validate the shared grading options and return them as keyword arguments."""
    _check_choice("percent", percent, PERCENT_POLICIES)
    if isinstance(rel_tol, bool) or not isinstance(rel_tol, (int, float, np.floating)):
        raise TypeError(f"option rel_tol must be a float, not {type(rel_tol).__name__}")
    if not (math.isfinite(rel_tol) and rel_tol >= 0):
        raise ValueError(
            f"invalid value {rel_tol!r} for option rel_tol; allowed: a finite number >= 0"
        )
    if isinstance(fuel, bool) or not isinstance(fuel, (int, np.integer)):
        raise TypeError(f"option fuel must be an int, not {type(fuel).__name__}")
    if not 1 <= fuel <= _U64_MAX:
        raise ValueError(
            f"invalid value {fuel!r} for option fuel; allowed: an integer in [1, 2**64-1]"
        )
    return {
        "ordered_lists": _check_bool("ordered_lists", ordered_lists),
        "percent": percent,
        "interval_inequality": _check_bool("interval_inequality", interval_inequality),
        "strict_vars": _check_bool("strict_vars", strict_vars),
        "min_decimals": _check_min_decimals(min_decimals),
        "rel_tol": float(rel_tol),
        "fuel": int(fuel),
    }


def _check_min_decimals(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"option min_decimals must be an int or None, not {type(value).__name__}")
    if not 0 <= value <= 64:
        raise ValueError(f"invalid value {value!r} for option min_decimals; allowed: None or 0..64")
    return int(value)


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
    _check_choice("mode", mode, MODES)
    return _core.extract_answer(_check_str("text", text), mode=mode)


def is_equiv(
    a: str,
    b: str,
    *,
    ordered_lists: bool = False,
    percent: PercentPolicy = "strip",
    interval_inequality: bool = True,
    strict_vars: bool = True,
    min_decimals: int | None = None,
    rel_tol: float = 1e-9,
    fuel: int = DEFAULT_FUEL,
) -> bool:
    """Whether two already-extracted answers are mathematically equivalent.

    ``a`` is treated as the gold. Unreadable input or an exhausted budget gives ``False``;
    use :func:`is_equiv_status` to see why. See the module docstring for the options.

    >>> is_equiv("\\\\frac{1}{2}", "0.5")
    True
    """
    return (
        is_equiv_status(
            a,
            b,
            ordered_lists=ordered_lists,
            percent=percent,
            interval_inequality=interval_inequality,
            strict_vars=strict_vars,
            min_decimals=min_decimals,
            rel_tol=rel_tol,
            fuel=fuel,
        )
        == "equal"
    )


def is_equiv_status(
    a: str,
    b: str,
    *,
    ordered_lists: bool = False,
    percent: PercentPolicy = "strip",
    interval_inequality: bool = True,
    strict_vars: bool = True,
    min_decimals: int | None = None,
    rel_tol: float = 1e-9,
    fuel: int = DEFAULT_FUEL,
) -> str:
    """Like :func:`is_equiv` but returns the status name: ``"equal"``, ``"not_equal"``,
    ``"unparseable"``, ``"invalid_gold"`` (``a`` unreadable) or ``"budget_exceeded"``."""
    opts = _options(
        ordered_lists=ordered_lists,
        percent=percent,
        interval_inequality=interval_inequality,
        strict_vars=strict_vars,
        min_decimals=min_decimals,
        rel_tol=rel_tol,
        fuel=fuel,
    )
    return _core.is_equiv(_check_str("a", a), _check_str("b", b), **opts)


def grade(
    completion: str,
    gold: str,
    *,
    mode: Mode = "lenient",
    ordered_lists: bool = False,
    percent: PercentPolicy = "strip",
    interval_inequality: bool = True,
    strict_vars: bool = True,
    min_decimals: int | None = None,
    rel_tol: float = 1e-9,
    fuel: int = DEFAULT_FUEL,
) -> Verdict:
    """Grade one completion against one gold answer.

    Args:
        completion: the model output; its final answer is extracted with ``mode``.
        gold: a bare answer (``"\\\\frac{1}{2}"``) or a reference solution containing
            ``\\boxed{...}`` or ``#### N``.
        mode: extraction mode for the completion (``"lenient"`` or ``"strict"``).
        ordered_lists, percent, interval_inequality, strict_vars, min_decimals, rel_tol,
            fuel: see the module docs.

    Returns:
        A :class:`Verdict`; never raises on odd model output.

    >>> grade("... so $x = \\\\boxed{3}$", "3").correct
    True
    """
    _check_choice("mode", mode, MODES)
    opts = _options(
        ordered_lists=ordered_lists,
        percent=percent,
        interval_inequality=interval_inequality,
        strict_vars=strict_vars,
        min_decimals=min_decimals,
        rel_tol=rel_tol,
        fuel=fuel,
    )
    status, answer, rule, gold_answer = _core.grade(
        _check_str("completion", completion), _check_str("gold", gold), mode=mode, **opts
    )
    return Verdict(
        correct=status == "equal", status=status, answer=answer, rule=rule, gold_answer=gold_answer
    )


def grade_batch(
    completions: Sequence[str] | npt.NDArray[Any] | Iterable[str],
    golds: Sequence[str] | npt.NDArray[Any] | Iterable[str],
    *,
    mode: Mode = "lenient",
    num_threads: int | None = None,
    return_status_names: bool = False,
    ordered_lists: bool = False,
    percent: PercentPolicy = "strip",
    interval_inequality: bool = True,
    strict_vars: bool = True,
    min_decimals: int | None = None,
    rel_tol: float = 1e-9,
    fuel: int = DEFAULT_FUEL,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[Any]]:
    """Grade ``completions[i]`` against ``golds[i]`` for every ``i``, in parallel.

    The inputs are copied into Rust strings, then graded on rlv's own thread pool with the
    GIL released (other Python threads keep running; Ctrl-C is honoured between chunks).
    Results are identical for any thread count.

    Args:
        completions: model outputs (list/tuple/numpy array/iterable of ``str``).
        golds: gold answers, same length as ``completions`` (no broadcasting).
        mode: extraction mode for the completions.
        num_threads: threads to use; ``None`` = ``RLV_NUM_THREADS`` or all cores
            (``RLV_PARALLELISM=0`` forces 1).
        return_status_names: return status names (numpy ``str`` array) instead of codes.
        ordered_lists, percent, interval_inequality, strict_vars, min_decimals, rel_tol,
            fuel: see the module docs.

    Returns:
        ``(rewards, statuses)``: ``rewards`` is float32, 1.0 for ``equal``, NaN for
        ``invalid_gold`` (unscorable: drop it from baselines), 0.0 otherwise; ``statuses``
        is int8 codes into :data:`STATUSES` (or their names).

    Raises:
        ValueError: lengths differ, or an option has an invalid value.
        TypeError: an item is not a ``str``.
    """
    _check_choice("mode", mode, MODES)
    if num_threads is not None and (
        isinstance(num_threads, bool)
        or not isinstance(num_threads, (int, np.integer))
        or num_threads < 1
    ):
        raise ValueError(
            f"invalid value {num_threads!r} for option num_threads; allowed: None or an integer >= 1"
        )
    opts = _options(
        ordered_lists=ordered_lists,
        percent=percent,
        interval_inequality=interval_inequality,
        strict_vars=strict_vars,
        min_decimals=min_decimals,
        rel_tol=rel_tol,
        fuel=fuel,
    )
    comps = _str_list("completions", completions)
    gls = _str_list("golds", golds)
    if len(comps) != len(gls):
        raise ValueError(f"completions has length {len(comps)}, but golds has length {len(gls)}")
    rewards, codes = _core.grade_batch(
        comps,
        gls,
        mode=mode,
        num_threads=None if num_threads is None else int(num_threads),
        **opts,
    )
    if return_status_names:
        return rewards, _STATUS_ARRAY[codes]
    return rewards, codes


_STATUS_ARRAY: Final[npt.NDArray[np.str_]] = np.array(STATUSES)
