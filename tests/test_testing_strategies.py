"""The strategies of ``rlv.testing.strategies`` are themselves correct, independently of rlv.

Every rendering carries the meaning of what was written (computed from the parts it was
written with: ``Fraction`` arithmetic, ``math.sqrt``/``math.pi`` floats, exact polynomial
evaluation at a grid of rational points); it must equal the value's exact meaning, and every
near miss must differ from it. Hypothesis profile: ``HYPOTHESIS_PROFILE`` (default ``ci``).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlv.testing import strategies as S


@pytest.mark.parametrize("kind", S.KINDS)
@given(data=st.data())
def test_renderings_equal_the_value(kind: str, data: st.DataObject) -> None:
    value = data.draw(S.values([kind]))
    assert value.kind == kind
    r = data.draw(S.renderings(value))
    assert isinstance(r.text, str) and r.text and r.family
    assert S.same_meaning(kind, r.meaning, value.exact), (value, r)


@pytest.mark.parametrize("kind", S.KINDS)
@given(data=st.data())
def test_near_misses_differ_from_the_value(kind: str, data: st.DataObject) -> None:
    value = data.draw(S.values([kind]))
    miss = data.draw(S.near_misses(value))
    assert not S.same_meaning(kind, miss.meaning, value.exact), (value, miss)
    assert miss.text != value.canonical


@given(data=st.data())
def test_pairs(data: st.DataObject) -> None:
    value, a, b = data.draw(S.equivalent_pairs())
    assert S.same_meaning(value.kind, a.meaning, b.meaning)
    value, a, miss = data.draw(S.near_miss_pairs())
    assert not S.same_meaning(value.kind, a.meaning, miss.meaning)


@given(data=st.data())
def test_wrapped_contains_the_answer(data: st.DataObject) -> None:
    value = data.draw(S.values())
    r = data.draw(S.renderings(value))
    out = data.draw(S.wrapped(r.text, value.kind))
    assert r.text in out and out != r.text


def test_number_meanings_are_read_from_the_text() -> None:
    """Spot checks of the independent readings of the numeric renderings."""
    assert S._terminating_decimal(Fraction(-3, 8)) == "-0.375"
    assert S._terminating_decimal(Fraction(1, 3)) is None
    assert S._repeating_decimal(Fraction(1, 6)) == ("0.1\\overline{6}", Fraction(1, 6))
    assert S._repeating_decimal(Fraction(-22, 7)) == ("-3.\\overline{142857}", Fraction(-22, 7))
    assert S.same_meaning("equation", (1, 2, 3), (-2, -4, -6))
    assert not S.same_meaning("equation", (1, 2, 3), (2, 1, 3))


def test_values_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown kinds"):
        S.values(["quaternion"])
