"""Property-based and adversarial tests of the grader.

Hypothesis profiles are set in ``conftest.py`` (``HYPOTHESIS_PROFILE=ci|dev|nightly``).

* Arbitrary text never raises and always gets a valid status, quickly.
* ``grade_batch`` on arbitrary lists of text: valid codes, rewards consistent with codes.
* ``is_equiv`` is symmetric on generated numeric renderings; ``n`` never equals ``n + 1``;
  every rendering of a fraction ``p/q`` equals every other.
* Adversarial inputs (1 MB strings, deep nesting, power towers, huge factorials) return
  ``equal`` / ``not_equal`` / ``budget_exceeded`` (or another valid status) within a
  generous per-call bound (the product target, < 10 ms, is measured by the bench script).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from fractions import Fraction
from typing import TypeVar

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import rlv
from rlv import _core

T = TypeVar("T")

STATUSES = set(rlv.STATUSES)
SLOWDOWN = 20 if getattr(_core, "build_profile", "release") == "debug" else 1
"""Unoptimised (``maturin develop``) builds get proportionally looser time bounds."""
PER_CALL_LIMIT_S = 0.050 * SLOWDOWN
"""Generous per-call bound for adversarial inputs (CI machines are slow and noisy)."""
ARBITRARY_LIMIT_S = 0.250 * SLOWDOWN
"""Per-call bound for arbitrary hypothesis text (includes first-call warm-up)."""

# Unicode text without surrogates (which cannot be encoded as UTF-8).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
# Text biased towards the grader's syntax.
LATEXISH = st.lists(
    st.sampled_from(
        list("0123456789+-*/^_{}()[]=<>,.;:!|$% xyzie\n")
        + ["\\frac", "\\sqrt", "\\boxed{", "\\pi", "\\left(", "\\right)", "\\infty", "\\cup"]
        + ["\\text{", "\\cdot", "\\times", "\\le", "\\ge", "####", "answer is", "\\pm", "\\%"]
        + ["\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\", "\\overline{", "\\binom", "!"]
    ),
    max_size=60,
).map("".join)
ANY_TEXT = st.one_of(TEXT, LATEXISH)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# Arbitrary input


@given(completion=ANY_TEXT, gold=ANY_TEXT, mode=st.sampled_from(["lenient", "strict"]))
def test_grade_never_raises(completion: str, gold: str, mode: str) -> None:
    v, dt = timed(lambda: rlv.grade(completion, gold, mode=mode))  # type: ignore[arg-type]
    assert v.status in STATUSES
    assert v.correct == (v.status == "equal")
    assert dt < ARBITRARY_LIMIT_S, f"{dt * 1e3:.1f} ms for {completion!r} vs {gold!r}"


@given(a=ANY_TEXT, b=ANY_TEXT)
def test_is_equiv_never_raises(a: str, b: str) -> None:
    status, dt = timed(lambda: rlv.is_equiv_status(a, b))
    assert status in STATUSES
    assert rlv.is_equiv(a, b) == (status == "equal")
    assert dt < ARBITRARY_LIMIT_S


@given(text=ANY_TEXT, mode=st.sampled_from(["lenient", "strict"]))
def test_extract_answer_never_raises(text: str, mode: str) -> None:
    answer, rule = rlv.extract_answer_rule(text, mode=mode)  # type: ignore[arg-type]
    assert (answer is None) == (rule is None)


@given(pairs=st.lists(st.tuples(ANY_TEXT, ANY_TEXT), max_size=40))
def test_grade_batch_arbitrary(pairs: list[tuple[str, str]]) -> None:
    completions = [c for c, _ in pairs]
    golds = [g for _, g in pairs]
    rewards, codes = rlv.grade_batch(completions, golds, num_threads=2)
    assert rewards.shape == codes.shape == (len(pairs),)
    assert rewards.dtype == np.float32
    assert codes.dtype == np.int8
    assert all(0 <= int(c) < len(rlv.STATUSES) for c in codes)
    for r, c in zip(rewards.tolist(), codes.tolist(), strict=True):
        name = rlv.STATUSES[c]
        if name == "equal":
            assert r == 1.0
        elif name == "invalid_gold":
            assert math.isnan(r)  # unscorable: no reward either way
        else:
            assert r == 0.0
    # Identical to per-pair grading.
    want = [rlv.STATUS_CODES[rlv.grade(c, g).status] for c, g in pairs]
    assert codes.tolist() == want


# ---------------------------------------------------------------------------------------------
# Numbers

INTS = st.integers(min_value=-(10**12), max_value=10**12)


def int_renderings(n: int) -> list[str]:
    out = [str(n), f"{n}.0"]
    if abs(n) >= 1000:
        out.append(f"{n:,}")
    if n >= 0:
        out.append(f"+{n}")
    out.append(f"{{{n}}}")
    return out


@given(n=INTS, data=st.data())
def test_int_renderings_equal_and_symmetric(n: int, data: st.DataObject) -> None:
    forms = int_renderings(n)
    a = data.draw(st.sampled_from(forms))
    b = data.draw(st.sampled_from(forms))
    assert rlv.is_equiv(a, b), (a, b)
    assert rlv.is_equiv(b, a), (b, a)


@given(n=INTS)
def test_n_never_equals_n_plus_one(n: int) -> None:
    assert not rlv.is_equiv(str(n), str(n + 1))
    assert not rlv.is_equiv(str(n + 1), str(n))
    assert not rlv.grade(f"The answer is $\\boxed{{{n + 1}}}$.", str(n)).correct


def fraction_renderings(p: int, q: int) -> list[str]:
    sign = "-" if p * q < 0 else ""
    ap, aq = abs(p), abs(q)
    out = [
        f"{sign}\\frac{{{ap}}}{{{aq}}}",
        f"{sign}\\dfrac{{{ap}}}{{{aq}}}",
        f"{sign}\\tfrac{{{ap}}}{{{aq}}}",
        f"{sign}{ap}/{aq}",
        f"\\frac{{{p}}}{{{q}}}",
    ]
    # A finite decimal, written exactly.
    f = Fraction(p, q)
    den = f.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den == 1:
        digits = max(twos, fives)
        scaled = abs(f) * 10**digits
        assert scaled.denominator == 1
        s = str(scaled.numerator).rjust(digits + 1, "0")
        text = f"{s[:-digits]}.{s[-digits:]}" if digits else s
        out.append(("-" if f < 0 else "") + text)
    return out


@given(
    p=st.integers(-10_000, 10_000),
    q=st.integers(1, 10_000).flatmap(lambda q: st.sampled_from([q, -q])),
    data=st.data(),
)
def test_fraction_renderings_all_equal(p: int, q: int, data: st.DataObject) -> None:
    forms = fraction_renderings(p, q)
    a = data.draw(st.sampled_from(forms))
    b = data.draw(st.sampled_from(forms))
    assert rlv.is_equiv(a, b), (a, b)
    assert rlv.is_equiv(b, a), (b, a)


@given(p=st.integers(-1000, 1000), q=st.integers(1, 1000), dp=st.integers(-3, 3))
def test_distinct_fractions_not_equal(p: int, q: int, dp: int) -> None:
    assume(dp != 0)
    a, b = f"\\frac{{{p}}}{{{q}}}", f"\\frac{{{p + dp * q}}}{{{q}}}"  # differ by dp
    assert not rlv.is_equiv(a, b)
    assert not rlv.is_equiv(b, a)


@given(x=st.floats(-1e6, 1e6, allow_nan=False), y=st.floats(-1e6, 1e6, allow_nan=False))
def test_is_equiv_symmetric_on_decimals(x: float, y: float) -> None:
    a, b = repr(x), repr(y)
    assume("e" not in a and "e" not in b)
    assert rlv.is_equiv(a, b) == rlv.is_equiv(b, a), (a, b)


# ---------------------------------------------------------------------------------------------
# Adversarial inputs

OK_ADVERSARIAL = {
    "equal",
    "not_equal",
    "budget_exceeded",
    "unparseable",
    "invalid_gold",
    "no_answer",
}


def _nested_frac(depth: int) -> str:
    return "\\frac{" * depth + "1" + "}{2}" * depth


ADVERSARIAL: list[tuple[str, str, str]] = [
    ("1mb_digits", "1" * 1_000_000, "1"),
    ("1mb_text", "word " * 200_000, "5"),
    ("1mb_boxed", "\\boxed{" + "9" * 1_000_000 + "}", "9"),
    ("1mb_dollars", "$" * 1_000_000, "1"),
    ("1mb_backslashes", "\\" * 1_000_000, "1"),
    ("nested_braces_open", "{" * 10_000 + "1" + "}" * 10_000, "1"),
    ("nested_braces_boxed", "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_001, "1"),
    ("unbalanced_braces", "\\boxed{" + "{" * 10_000, "1"),
    ("nested_parens", "(" * 10_000 + "1" + ")" * 10_000, "1"),
    ("power_tower", "\\boxed{2^{2^{2^{2^{100}}}}}", "2"),
    ("power_tower_self", "\\boxed{2^{2^{2^{2^{100}}}}}", "2^{2^{2^{2^{100}}}}"),
    ("googolplexplex_self", "\\boxed{10^{10^{10^{10}}}}", "10^{10^{10^{10}}}"),
    ("googolplexplex_plus1", "\\boxed{10^{10^{10^{10}}}+1}", "10^{10^{10^{10}}}"),
    ("nested_frac_5000", "\\boxed{" + _nested_frac(5000) + "}", "1"),
    ("nested_sqrt_5000", "\\boxed{" + "\\sqrt{" * 5000 + "2" + "}" * 5000 + "}", "2"),
    ("factorial_1e6", "\\boxed{1000000!}", "1"),
    ("factorial_1e6_self", "\\boxed{1000000!}", "1000000!"),
    ("factorial_tower", "\\boxed{(10!)!!}", "1"),
    ("huge_exponent", "\\boxed{9^{9^{9}}}", "9^{387420489}"),
    ("huge_binomial", "\\boxed{\\binom{10^{9}}{5 \\cdot 10^{8}}}", "1"),
    ("long_sum", "\\boxed{" + "+".join(["1"] * 100_000) + "}", "100000"),
    ("long_product", "\\boxed{" + "\\cdot ".join(["x"] * 20_000) + "}", "x^{20000}"),
    ("many_boxes", "\\boxed{1} " * 50_000, "1"),
    ("deep_exponent_chain", "\\boxed{" + "2^{" * 2_000 + "2" + "}" * 2_000 + "}", "4"),
]


@pytest.mark.parametrize(
    ("completion", "gold"),
    [pytest.param(c, g, id=name) for name, c, g in ADVERSARIAL],
)
def test_adversarial_grade_is_bounded(completion: str, gold: str) -> None:
    rlv.grade("\\boxed{1}", "1")  # warm-up outside the timed call
    v, dt = timed(lambda: rlv.grade(completion, gold))
    assert v.status in OK_ADVERSARIAL
    assert dt < PER_CALL_LIMIT_S, f"{dt * 1e3:.1f} ms (status {v.status})"


@pytest.mark.parametrize(
    ("a", "b", "allowed"),
    [
        pytest.param(
            "10^{10^{10^{10}}}", "10^{10^{10^{10}}}", {"equal", "budget_exceeded"}, id="tower_self"
        ),
        pytest.param(
            "10^{10^{10^{10}}}",
            "10^{10^{10^{10}}}+1",
            {"not_equal", "budget_exceeded"},
            id="tower_plus_one",
        ),
        pytest.param(
            "2^{2^{2^{2^{100}}}}", "2^{2^{2^{2^{100}}}}", {"equal", "budget_exceeded"}, id="2tower"
        ),
        pytest.param("1000000!", "1000000!", {"equal", "budget_exceeded"}, id="fact_self"),
        pytest.param("1000000!", "1000001!", {"not_equal", "budget_exceeded"}, id="fact_next"),
        pytest.param(
            _nested_frac(5000), _nested_frac(5000), {"equal", "budget_exceeded"}, id="frac_self"
        ),
        pytest.param(
            "{" * 10_000 + "1" + "}" * 10_000,
            "1",
            {"equal", "budget_exceeded", "unparseable", "invalid_gold"},
            id="braces",
        ),
    ],
)
def test_adversarial_is_equiv_is_bounded_and_sound(a: str, b: str, allowed: set[str]) -> None:
    rlv.is_equiv("1", "1")
    status, dt = timed(lambda: rlv.is_equiv_status(a, b))
    assert status in allowed
    assert dt < PER_CALL_LIMIT_S, f"{dt * 1e3:.1f} ms (status {status})"


def test_adversarial_batch_is_bounded() -> None:
    completions = [c for _, c, _ in ADVERSARIAL]
    golds = [g for _, _, g in ADVERSARIAL]
    (_, codes), dt = timed(lambda: rlv.grade_batch(completions, golds, num_threads=2))
    assert all(rlv.STATUSES[c] in OK_ADVERSARIAL for c in codes.tolist())
    assert dt < PER_CALL_LIMIT_S * len(ADVERSARIAL)
