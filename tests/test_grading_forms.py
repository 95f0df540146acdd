"""Answer forms that must be read right, and the hedging policy (issue 20).

* Tables: scientific notation ``1.09951162778E+12`` (the mantissa keeps its written digits),
  ``f(x)^n`` as ``(f(x))^n``, dot-notation repeating decimals, Unicode vulgar fractions,
  ``\\begin{cases}`` systems, inequalities joined by "or" / "and", a bare-word completion.
* Hedged finals (``docs/grading.md``, "Alternatives"): a final answer that offers
  alternatives is equal only when every alternative is. Property: adding an alternative
  (``... or \\boxed{y}``, ``\\boxed{y} or ...``, ``$x$ or $y$``) never turns a verdict that
  was not ``equal`` into ``equal``, for generated golds, answers and alternatives.
* A bare word is read only when it is the whole completion: prose made of the gold's own
  word and others never equals it.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rlv
from rlv.grading import Mode
from rlv.testing import strategies as rs

# (gold, prediction, expected) for rlv.is_equiv with default options.
FORMS: dict[str, list[tuple[str, str, bool]]] = {
    "scientific": [
        ("4^{20}", "1.09951162778E+12", True),
        ("4^{20}", "1.09951162778e+12", True),
        ("4^{20}", "1.09951162779E+12", False),
        ("4^{20}", "1.2E+12", False),
        ("1E5", "100000", True),
        ("1E5", "100001", False),
        ("2e", "2e", True),
        ("2e", "2", False),
        ("2.5E-2", "\\frac{1}{40}", True),
    ],
    "function_powers": [
        ("\\cos(x)^2", "1 - \\sin(x)^2", True),
        ("\\cos(x)^2", "\\cos(x^2)", False),
        ("\\ln(x)^2", "(\\ln x)^2", True),
        ("\\ln(x)^2", "2\\ln x", False),
        ("\\sqrt{x}^2", "x", True),
    ],
    "repeating_dots": [
        ("0.\\dot{3}", "\\frac{1}{3}", True),
        ("0.\\dot{3}", "0.3", False),
        ("0.1\\dot{6}", "\\frac{1}{6}", True),
        ("0.\\dot{1}\\dot{2}", "\\frac{4}{33}", True),
        # A decimal is equal when it is the value correctly rounded (docs/grading.md).
        ("0.\\dot{1}\\dot{2}", "0.12", True),
        ("0.\\dot{1}\\dot{2}", "0.13", False),
        ("0.\\dot{1}\\dot{2}", "0.\\dot{1}", False),
    ],
    "unicode": [
        ("½", "0.5", True),
        ("½", "12", False),
        ("¾", "\\frac{3}{4}", True),
        ("⅓", "\\frac{1}{3}", True),
        ("1½", "\\frac{3}{2}", True),
        ("1½", "\\frac{1}{2}", False),
        ("−2", "-2", True),
        ("3×4", "12", True),
        ("9÷4", "2.25", True),
        ("√3", "\\sqrt{3}", True),
    ],
    "cases": [
        ("\\begin{cases} x = 1 \\\\ y = 2 \\end{cases}", "x = 1, y = 2", True),
        ("\\begin{cases} x = 1 \\\\ y = 2 \\end{cases}", "x = 1", False),
        ("\\begin{cases} x = 1 \\\\ y = 2 \\end{cases}", "x = 2, y = 1", False),
    ],
    "joined_inequalities": [
        ("x \\ge 1 \\text{ or } x \\le 0", "(-\\infty, 0] \\cup [1, \\infty)", True),
        ("x \\ge 1 \\text{ or } x \\le 0", "(-\\infty, 0) \\cup [1, \\infty)", False),
        ("x \\ge 1 \\text{ or } x \\le 0", "[1, \\infty)", False),
        ("x > 1 \\text{ and } x < 3", "(1, 3)", True),
        ("x > 1 \\text{ and } x < 3", "(1, 3]", False),
    ],
}

# (completion, gold, mode, expected status) for rlv.grade.
GRADES: list[tuple[str, str, Mode, str]] = [
    ("odd", "\\text{odd}", "lenient", "equal"),
    ("odd", "\\text{even}", "lenient", "not_equal"),
    ("odd", "\\text{odd}", "strict", "no_answer"),
    ("\\boxed{2} or \\boxed{3}", "3", "lenient", "not_equal"),
    ("\\boxed{2} or \\boxed{3}", "2", "strict", "not_equal"),
    ("\\boxed{2} and \\boxed{3}", "2, 3", "strict", "equal"),
    ("\\boxed{\\frac{1}{2}} or \\boxed{0.5}", "\\frac12", "strict", "equal"),
    ("The solutions are $x = 2$ and $x = 3$.", "3", "lenient", "not_equal"),
    ("The solutions are $x = 2$ and $x = 3$.", "2, 3", "lenient", "equal"),
    ("The answer is $2$ or $3$.", "3", "lenient", "not_equal"),
    ("1.09951162778E+12", "4^{20}", "lenient", "equal"),
    ("½", "\\frac{1}{2}", "lenient", "equal"),
]


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [pytest.param(*row, id=f"{k}-{i}") for k, rows in FORMS.items() for i, row in enumerate(rows)],
)
def test_forms(gold: str, pred: str, expected: bool) -> None:
    for a, b in ((gold, pred), (pred, gold)):
        assert rlv.is_equiv(a, b) is expected, f"is_equiv({a!r}, {b!r})"


@pytest.mark.parametrize(("completion", "gold", "mode", "expected"), GRADES)
def test_grades(completion: str, gold: str, mode: Mode, expected: str) -> None:
    v = rlv.grade(completion, gold, mode=mode)
    assert v.status == expected, f"grade({completion!r}, {gold!r}, mode={mode}) -> {v}"


def test_hedged_rule_is_reported() -> None:
    v = rlv.grade("\\boxed{2} or \\boxed{3}", "3")
    assert v.rule == "hedged"
    assert v.answer == "\\boxed{2} or \\boxed{3}"
    v = rlv.grade("The solutions are $x = 2$ and $x = 3$.", "2, 3")
    assert (v.rule, v.answer, v.status) == ("math_list", "$x = 2$ and $x = 3$", "equal")


@st.composite
def _answer_text(draw: st.DrawFn, value: rs.MathValue) -> str:
    """A rendering of ``value``, a near miss of it, or an unrelated value's gold."""
    choice = draw(st.sampled_from(("same", "miss", "other")))
    if choice == "same":
        return draw(rs.renderings(value)).text
    if choice == "miss":
        return draw(rs.near_misses(value)).text
    return draw(rs.values()).canonical


@st.composite
def _gold_answer_alternative(draw: st.DrawFn) -> tuple[str, str, str]:
    value = draw(rs.values())
    return value.canonical, draw(_answer_text(value)), draw(_answer_text(value))


# (completion with answer x, the same completion offering y as an alternative).
HEDGES: tuple[tuple[str, str], ...] = (
    ("\\boxed{{{x}}}", "\\boxed{{{x}}} or \\boxed{{{y}}}"),
    ("\\boxed{{{x}}}", "\\boxed{{{y}}} or \\boxed{{{x}}}"),
    ("The answer is $\\boxed{{{x}}}$.", "The answer is $\\boxed{{{x}}}$ or $\\boxed{{{y}}}$."),
    ("So we get $\\boxed{{{x}}}$.", "So we get $\\boxed{{{y}}}$, or $\\boxed{{{x}}}$."),
    ("The answer is ${x}$.", "The answer is ${x}$ or ${y}$."),
    ("It is ${x}$", "It is ${x}$ or ${y}$"),
    ("It is ${x}$", "It is ${y}$ or ${x}$"),
)


MODES: tuple[Mode, ...] = ("lenient", "strict")


@given(_gold_answer_alternative(), st.sampled_from(HEDGES), st.sampled_from(MODES))
def test_alternatives_never_raise_the_reward(
    case: tuple[str, str, str], templates: tuple[str, str], mode: Mode
) -> None:
    gold, x, y = case
    single, hedged = templates
    with_x = rlv.grade(single.format(x=x), gold, mode=mode)
    with_y = rlv.grade(single.format(x=y), gold, mode=mode)
    both = rlv.grade(hedged.format(x=x, y=y), gold, mode=mode)
    if both.status == "equal":
        # Equal with the alternative only if each answer alone is equal.
        assert with_x.status == "equal", (hedged, x, y, gold, with_x, both)
        assert with_y.status == "equal", (hedged, x, y, gold, with_y, both)


WORDS = ("odd", "even", "neither", "yes", "no", "both", "prime", "none")
# No anchor word ("answer"): "the answer is odd" is an anchored answer, not prose.
FILLER = ("the", "function", "is", "it", "so", "probably", "not", "clearly", "maybe")


@given(
    st.sampled_from(WORDS),
    st.lists(st.sampled_from(FILLER + WORDS), min_size=1, max_size=6),
    st.integers(min_value=0, max_value=6),
    st.sampled_from(("", ".", "!", "?")),
)
def test_a_bare_word_is_only_a_whole_completion(
    word: str, others: list[str], at: int, end: str
) -> None:
    words = [*others]
    words.insert(min(at, len(words)), word)
    prose = " ".join(words) + end
    v = rlv.grade(prose, f"\\text{{{word}}}")
    assert v.status != "equal", (prose, v)
    # The word alone (a final period allowed) is the answer; `odd?` is a question.
    alone = rlv.grade(word + end, f"\\text{{{word}}}").status
    assert alone == ("equal" if end in ("", ".") else "no_answer"), (word + end, alone)
