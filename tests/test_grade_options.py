"""Grading options: validated once, in Rust, with one error text per bad option, the same
through every entry point (grade, grade_batch, is_equiv, vote, vote_batch, cluster, rescore,
GradeOptions itself); a GradeOptions object is immutable, hashable, printable and picklable."""

from __future__ import annotations

import json
import math
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rlv
from rlv.grading import GradeOptions
from rlv.scaling.rescore import rescore

ALLOWED = {
    "mode": "'lenient', 'strict'",
    "ordered_lists": "True or False",
    "percent": "'strip', 'value', 'either'",
    "interval_inequality": "True or False",
    "strict_vars": "True or False",
    "min_decimals": "None or an integer in 0..64",
    "rel_tol": "a finite number >= 0",
    "fuel": "an integer in [1, 2**64-1]",
}

# (option, bad value, exception): a wrong type is a TypeError, a wrong value a ValueError
# (a string option with a non-string value is a wrong value, as a wrong string is).
BAD = [
    ("mode", "loose", ValueError),
    ("mode", 3, ValueError),
    ("percent", "fraction", ValueError),
    ("percent", b"strip", ValueError),
    ("ordered_lists", "yes", TypeError),
    ("ordered_lists", 1, TypeError),
    ("interval_inequality", None, TypeError),
    ("strict_vars", 0.0, TypeError),
    ("min_decimals", 65, ValueError),
    ("min_decimals", -1, ValueError),
    ("min_decimals", 2**40, ValueError),
    ("min_decimals", 1.5, TypeError),
    ("min_decimals", True, TypeError),
    ("rel_tol", -1.0, ValueError),
    ("rel_tol", float("inf"), ValueError),
    ("rel_tol", float("nan"), ValueError),
    ("rel_tol", 10**400, ValueError),
    ("rel_tol", "1e-9", TypeError),
    ("rel_tol", True, TypeError),
    ("fuel", 0, ValueError),
    ("fuel", -1, ValueError),
    ("fuel", 2**64, ValueError),
    ("fuel", 1.5, TypeError),
    ("fuel", False, TypeError),
    ("fuel", "100", TypeError),
]


def _dump(tmp_path: Path) -> str:
    path = tmp_path / "d.jsonl"
    row = {"problem_id": "p", "gold": "1", "completions": ["\\boxed{1}"], "scores": [0.5]}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return str(path)


def _entry_points(tmp_path: Path) -> dict[str, Callable[..., object]]:
    dump = _dump(tmp_path)
    return {
        "GradeOptions": lambda **kw: GradeOptions(**kw),
        "grade": lambda **kw: rlv.grade("\\boxed{1}", "1", **kw),
        "grade_batch": lambda **kw: rlv.grade_batch(["\\boxed{1}"], ["1"], **kw),
        "is_equiv": lambda **kw: rlv.is_equiv("1", "1", **kw),
        "is_equiv_status": lambda **kw: rlv.is_equiv_status("1", "1", **kw),
        "vote": lambda **kw: rlv.vote(["1", "1.0"], **kw),
        "vote_batch": lambda **kw: rlv.vote_batch([["1", "1.0"]], **kw),
        "cluster": lambda **kw: rlv.cluster(["1", "1.0"], **kw),
        "rescore": lambda **kw: rescore([dump], **kw),
    }


@pytest.mark.parametrize(("option", "value", "exc"), BAD, ids=lambda x: repr(x)[:20])
def test_each_bad_option_has_one_text_everywhere(
    tmp_path: Path, option: str, value: object, exc: type[Exception]
) -> None:
    text = f"invalid value {value!r} for option {option}; allowed: {ALLOWED[option]}"
    for name, call in _entry_points(tmp_path).items():
        with pytest.raises(exc) as info:
            call(**{option: value})
        assert str(info.value) == text, name


def test_unknown_option_is_a_type_error_everywhere(tmp_path: Path) -> None:
    text = "unexpected option 'bogus'; allowed: " + ", ".join(ALLOWED)
    for name, call in _entry_points(tmp_path).items():
        with pytest.raises(TypeError) as info:
            call(bogus=True)
        assert str(info.value) == text, name


def test_options_and_keywords_together_are_refused(tmp_path: Path) -> None:
    o = GradeOptions(percent="value")
    for name, call in _entry_points(tmp_path).items():
        if name == "GradeOptions":
            continue
        with pytest.raises(TypeError, match="not both"):
            call(options=o, ordered_lists=True)
        call(options=o)  # alone it is fine


def test_extract_answer_mode_has_the_same_text() -> None:
    with pytest.raises(ValueError) as info:
        rlv.extract_answer("x", mode="loose")  # type: ignore[call-overload]
    assert str(info.value) == f"invalid value 'loose' for option mode; allowed: {ALLOWED['mode']}"


def test_defaults_and_getters() -> None:
    o = GradeOptions()
    assert o.to_dict() == {
        "mode": "lenient",
        "ordered_lists": False,
        "percent": "strip",
        "interval_inequality": True,
        "strict_vars": True,
        "min_decimals": None,
        "rel_tol": 1e-9,
        "fuel": rlv.DEFAULT_FUEL,
    }
    s = GradeOptions(mode="strict", percent="either", min_decimals=3, rel_tol=0, fuel=7)
    assert (s.mode, s.percent, s.min_decimals, s.rel_tol, s.fuel) == ("strict", "either", 3, 0.0, 7)
    assert isinstance(s.rel_tol, float)


def test_numpy_scalars_are_accepted() -> None:
    o = GradeOptions(
        ordered_lists=np.bool_(True),  # type: ignore[arg-type]
        min_decimals=np.int64(4),
        rel_tol=np.float32(0.5),
        fuel=np.uint64(9),
    )
    assert o == GradeOptions(ordered_lists=True, min_decimals=4, rel_tol=0.5, fuel=9)


def test_frozen_hashable_reprable_picklable() -> None:
    o = GradeOptions(mode="strict", percent="value", min_decimals=2, rel_tol=1e-6)
    with pytest.raises(AttributeError):
        o.mode = "lenient"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        o.extra = 1  # type: ignore[attr-defined]
    same = GradeOptions(**o.to_dict())
    assert same == o and hash(same) == hash(o) and same is not o
    assert len({o, same, GradeOptions()}) == 2
    assert o != GradeOptions(mode="strict", percent="value", min_decimals=2, rel_tol=1e-7)
    assert o != o.to_dict()
    assert repr(o) == (
        "GradeOptions(mode='strict', ordered_lists=False, percent='value', "
        "interval_inequality=True, strict_vars=True, min_decimals=2, rel_tol=1e-06, "
        f"fuel={rlv.DEFAULT_FUEL})"
    )
    assert eval(repr(o), {"GradeOptions": GradeOptions}) == o
    back = pickle.loads(pickle.dumps(o))
    assert back == o and type(back) is GradeOptions
    assert GradeOptions.__module__ == "rlv.grading"


_options = st.fixed_dictionaries(
    {},
    optional={
        "mode": st.sampled_from(["lenient", "strict"]),
        "ordered_lists": st.booleans(),
        "percent": st.sampled_from(["strip", "value", "either"]),
        "interval_inequality": st.booleans(),
        "strict_vars": st.booleans(),
        "min_decimals": st.none() | st.integers(0, 64),
        "rel_tol": st.floats(0, 1e-3),
        "fuel": st.integers(1, 2**64 - 1),
    },
)

_PAIRS = [
    ("so the answer is $\\boxed{28\\%}$", "0.28"),
    ("The answer is 10, 4, -2", "-2, 4, 10"),
    ("$\\boxed{0.333}$", "\\frac{1}{3}"),
    ("we get x > 3", "(3, \\infty)"),
    ("thus $\\boxed{f(y)}$", "f(x)"),
    ("\\boxed{2\\sqrt{2}}", "\\sqrt{8}"),
    ("42", "42"),
]


@given(_options)
def test_an_options_object_grades_as_its_keywords(kw: dict[str, Any]) -> None:
    o = GradeOptions(**kw)
    assert GradeOptions(**o.to_dict()) == o
    comps = [c for c, _ in _PAIRS]
    golds = [g for _, g in _PAIRS]
    for c, g in _PAIRS:
        assert rlv.grade(c, g, options=o) == rlv.grade(c, g, **kw)
        assert rlv.is_equiv_status(g, c, options=o) == rlv.is_equiv_status(g, c, **kw)
    r1, s1 = rlv.grade_batch(comps, golds, options=o)
    r2, s2 = rlv.grade_batch(comps, golds, **kw)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(r1, r2)
    answers = ["1/2", "0.5", "50\\%", None]
    v1, v2 = rlv.vote(answers, options=o), rlv.vote(answers, **kw)
    np.testing.assert_array_equal(v1.class_of, v2.class_of)
    assert (v1.answer, v1.members, v1.support) == (v2.answer, v2.members, v2.support)


def test_rescore_with_an_options_object_reports_as_with_keywords(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    a = rescore([dump], mode="strict", percent="value")
    b = rescore([dump], options=GradeOptions(mode="strict", percent="value"))
    for r in (a, b):
        r.pop("elapsed_s")
        r.pop("samples_per_s")
    assert a["settings"]["mode"] == "strict"
    assert a["settings"]["grade_options"] == {"percent": "value"}
    assert b["settings"]["grade_options"]["percent"] == "value"
    b["settings"]["grade_options"] = a["settings"]["grade_options"]
    assert a == b


def test_nan_text_is_python_repr() -> None:
    with pytest.raises(ValueError, match=re.escape("invalid value nan for option rel_tol")):
        GradeOptions(rel_tol=math.nan)
