"""A table of (gold, pred, expected) answer pairs, grouped by phenomenon.

Every expectation is the mathematically correct verdict under rlv's documented policies
(nothing here is marked xfail: a failing row is a grader bug to fix):

* a decimal written with d decimals equals an exact value iff it is that value correctly
  rounded, i.e. ``|exact - decimal| <= 0.5 * 10**-d`` (``0.33`` = 1/3, ``0.34`` != 1/3);
  two decimals, or a decimal and an integer/fraction that it represents exactly, compare
  exactly (``1e-30`` != ``2e-30``);
* ``percent="strip"`` by default: ``50\\%`` is 50; ``"value"``: 0.5; ``"either"``: both;
* bare comma lists are unordered by default (``ordered_lists=True``: ordered); tuples are
  ordered; sets are unordered;
* units, ``\\text{}`` wrappers, currency signs and degree signs are dropped;
* an equation ``x = 3`` equals its right-hand side ``3``; equations are equal when one is a
  non-zero multiple of the other;
* an inequality may equal the matching interval (``interval_inequality=True``).

Rows are ``(gold, pred, expected)`` or ``(gold, pred, expected, options)``; bare answers are
compared with :func:`rlv.is_equiv`, and rows in ``GRADE_ROWS`` grade a full completion with
:func:`rlv.grade`.
"""

from __future__ import annotations

from typing import Any

import pytest

import rlv

Row = tuple[str, str, bool] | tuple[str, str, bool, dict[str, Any]]

TABLE: dict[str, list[Row]] = {
    "integers": [
        ("42", "42", True),
        ("-7", "-7", True),
        ("7", "+7", True),
        ("-7", "7", False),
        ("7", "-7", False),
        ("1000", "1,000", True),
        ("1000", "1\\,000", True),
        ("1000", "1 000", True),
        ("1000", "10^3", True),
        ("1000", "10^{3}", True),
        ("1000000", "1,000,000", True),
        ("1000", "1001", False),
        ("1000", "999", False),
        ("0", "0", True),
        ("0", "-0", True),
        ("3", "3.0", True),
        ("3", "3.00", True),
        ("3", "03", True),
        ("18446744073709551616", "2^{64}", True),
        ("18446744073709551617", "2^{64}", False),
    ],
    "decimals": [
        ("0.5", "0.5", True),
        ("0.5", ".5", True),
        ("0.5", "0.50", True),
        ("0.1", ".1", True),
        ("2.74", "2.74", True),
        ("2.74", "2.75", False),
        ("-0.25", "-.25", True),
        ("0.25", "-0.25", False),
        ("1e-30", "2e-30", False),
        ("1e-30", "1\\times10^{-30}", True),
        ("0.0000672", ".0000672", True),
        ("0.0000672", "0.0000673", False),
    ],
    "fractions": [
        ("\\frac{1}{2}", "\\frac{1}{2}", True),
        ("\\frac{1}{2}", "\\dfrac{1}{2}", True),
        ("\\frac{1}{2}", "\\tfrac{1}{2}", True),
        ("\\frac{1}{2}", "\\frac12", True),
        ("\\frac{1}{2}", "1/2", True),
        ("\\frac{1}{2}", "0.5", True),
        ("\\frac{1}{2}", "\\frac{2}{4}", True),
        ("\\frac{3}{4}", "3/4", True),
        ("\\frac{3}{4}", "0.75", True),
        ("\\frac 59", "\\frac{5}{9}", True),
        ("\\dfrac{17}{50}", "0.34", True),
        ("-\\frac{1}{2}", "\\frac{-1}{2}", True),
        ("-\\frac{1}{2}", "\\frac{1}{-2}", True),
        ("-\\frac{10}{9}", "-10/9", True),
        ("\\frac{1}{2}", "\\frac{1}{3}", False),
        ("\\frac{1}{2}", "-\\frac{1}{2}", False),
        ("\\frac{1}{2}", "2", False),
        ("\\frac{3}{4}", "\\frac{4}{3}", False),
    ],
    "mixed_numbers": [
        ("2\\frac{1}{2}", "\\frac{5}{2}", True),
        ("2\\frac{1}{2}", "2.5", True),
        ("137 \\frac{1}{2}", "137.5", True),
        ("2\\frac{1}{2}", "1", False),
        ("2\\frac{1}{2}", "\\frac{3}{2}", False),
    ],
    "repeating_decimals": [
        ("\\frac{1}{3}", "0.\\overline{3}", True),
        ("\\frac{1}{6}", "0.1\\overline{6}", True),
        ("\\frac{1}{7}", "0.\\overline{142857}", True),
        ("1", "0.\\overline{9}", True),
        ("\\frac{1}{3}", "0.\\overline{6}", False),
    ],
    "decimal_vs_exact": [
        ("\\frac{1}{3}", "0.333", True),
        ("\\frac{1}{3}", "0.3333", True),
        ("\\frac{1}{3}", "0.33", True),
        ("\\frac{1}{3}", "0.34", False),
        ("\\frac{1}{3}", "0.5", False),
        ("\\frac{2}{3}", "0.667", True),
        ("\\frac{2}{3}", "0.666", False),
        ("\\sqrt{2}", "1.41", True),
        ("\\sqrt{2}", "1.414", True),
        ("\\sqrt{2}", "1.42", False),
        ("\\pi", "3.14", True),
        ("\\pi", "3.14159", True),
        ("\\pi", "3.15", False),
        ("\\pi", "3.1416", True),
        ("e", "2.718", True),
        ("e", "2.72", True),
        ("e", "2.71", False),
        ("\\frac{1}{12}", "0.0833333333333333", True),
        ("4.123105625617661", "\\sqrt{17}", True),
        ("4", "4.01", False),
    ],
    "scientific": [
        ("1500", "1.5\\times10^{3}", True),
        ("1500", "1.5 \\times 10^3", True),
        ("1500", "1.5 \\cdot 10^{3}", True),
        ("1500", "1.5e3", True),
        ("1500", "1.5E3", True),
        ("0.002", "2\\times10^{-3}", True),
        ("1500", "1.5\\times10^{4}", False),
        ("6.02\\times10^{23}", "6.02e23", True),
    ],
    "percent": [
        ("50\\%", "50", True),
        ("50\\%", "50\\%", True),
        ("50\\%", "50 percent", True),
        ("50\\%", "0.5", False),
        ("50\\%", "0.5", True, {"percent": "value"}),
        ("50\\%", "50", False, {"percent": "value"}),
        ("50\\%", "0.5", True, {"percent": "either"}),
        ("50\\%", "50", True, {"percent": "either"}),
        ("50\\%", "51\\%", False),
        ("12.5\\%", "12.5", True),
    ],
    "radicals": [
        ("2", "\\sqrt[3]{8}", True),
        ("2\\sqrt{2}", "\\sqrt{8}", True),
        ("2\\sqrt{3}", "\\sqrt{12}", True),
        ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", True),
        ("\\sqrt{3}", "\\sqrt3", True),
        ("\\sqrt{2}+\\sqrt{5}", "\\sqrt 2+\\sqrt 5", True),
        ("3\\sqrt{13}", "\\sqrt{117}", True),
        ("\\sqrt{2}", "\\sqrt{3}", False),
        ("\\sqrt{2}+\\sqrt{3}", "\\sqrt{5}", False),
        ("4", "4\\sqrt{2}", False),
        ("4", "4\\sqrt(2)", False),
        ("\\frac{\\sqrt{21}}{5}", "\\frac{\\sqrt{21}}{6}", False),
        ("2", "\\sqrt{4}", True),
    ],
    "pi_and_e": [
        ("2\\pi", "\\pi \\cdot 2", True),
        ("2\\pi", "2 \\pi", True),
        ("\\frac{9}{4}\\pi", "\\frac94\\pi", True),
        ("\\frac{9\\pi}{4}", "\\frac{9}{4}\\pi", True),
        ("288 \\pi", "288\\pi", True),
        ("\\pi", "2\\pi", False),
        ("e^2", "e \\cdot e", True),
        ("1-\\frac{1}{e}", "1+\\frac{1}{e}", False),
        ("1 - \\frac{1}{\\mathrm{e}}", "1 - \\frac{1}{\\mathrm{e}}", True),
        ("1 - \\frac{1}{\\mathrm{e}}", "1 + \\frac{1}{\\mathrm{e}}", False),
    ],
    "trig_log_exp": [
        ("\\frac{1}{2}", "\\sin(\\pi/6)", True),
        ("\\frac{1}{2}", "\\sin\\frac{\\pi}{6}", True),
        ("\\frac{\\sqrt{3}}{2}", "\\cos(\\pi/6)", True),
        ("1", "\\tan(\\pi/4)", True),
        ("1", "\\cos 0", True),
        ("3", "\\log_2 8", True),
        ("3", "\\log_{2}8", True),
        ("2", "\\log_{10} 100", True),
        ("1", "\\ln e", True),
        ("2", "e^{\\ln 2}", True),
        ("\\frac{1}{2}", "\\sin(\\pi/3)", False),
        ("3", "\\log_2 9", False),
    ],
    "factorials_binomials": [
        ("120", "5!", True),
        ("1", "0!", True),
        ("720", "6!", True),
        ("120", "4!", False),
        ("10", "\\binom{5}{2}", True),
        ("20", "\\dbinom{6}{3}", True),
        ("10", "\\binom{5}{3}", True),
        ("10", "\\binom{6}{2}", False),
        ("\\frac{1}{2004!}", "\\frac{1}{2006!}", False),
    ],
    "complex": [
        ("2i", "(1+i)^2", True),
        ("-1", "i^2", True),
        ("6 - 5i", "6-5i", True),
        ("6 - 5i", "-5i+6", True),
        ("1+i", "1-i", False),
        ("\\frac{3}{4}i", "\\frac34i", True),
    ],
    "degrees": [
        ("90", "90^\\circ", True),
        ("90^\\circ", "90", True),
        ("30^\\circ", "30^{\\circ}", True),
        ("90^\\circ", "89^\\circ", False),
    ],
    "units_and_text": [
        ("10", "10\\text{ cm}", True),
        ("10\\text{ units}", "10", True),
        ("10\\text{ units}", "100", False),
        ("15", "15\\mbox{ cm}^2", True),
        ("125", "125\\textnormal{ miles}", True),
        ("0.06", "0.06 \\text{ yuan}", True),
        ("10", "10 \\text{ meters}", True),
        ("10", "11 \\text{ meters}", False),
    ],
    "currency": [
        ("5", "\\$5.00", True),
        ("5", "\\$5", True),
        ("10", "\\$10", True),
        ("1000.99", "\\$1,000.99", True),
        ("5", "\\$5.50", False),
    ],
    "symbolic": [
        ("x^2+2x+1", "(x+1)^2", True),
        ("(x+1)^2", "x^2+2x+1", True),
        ("(x+1)^2", "x^2+1", False),
        ("\\frac{\\pi r}{h+r}", "\\frac{r\\pi}{r+h}", True),
        ("\\frac{\\pi r}{h+r}", "\\frac{\\pi r}{h-r}", False),
        ("\\frac{x+2}{7}", "\\frac{x}{7}+\\frac{2}{7}", True),
        ("2 \\sin b \\cos a", "2\\cos a\\sin b", True),
        ("\\tan^2(y)+1", "\\sec^2(y)", True),
        ("(x-2)(x+2)", "\\left(x-2\\right)\\left(x+2\\right)", True),
        ("(x-2)(x+2)", "x^2-4", True),
        ("p - q", "-q + p", True),
        ("p - q", "q - p", False),
        ("x^5 - x^4 + x^3 - x^2 + x - 1", "x^5-x^4+x^3-x^2+x-1", True),
        ("x^5 - x^4 + x^3 - x^2 + x - 1", "x^5-x^4+x^3-x^2+x+1", False),
        ("(a+5)(b+2)", "(+5)(b+2)", False),
    ],
    "equations": [
        ("3", "x = 3", True),
        ("x = 3", "3", True),
        ("x = 3", "x = 3", True),
        ("x = 3", "x = -3", False),
        ("2x+1", "y = 2x+1", True),
        ("y = 2x+1", "2x+1", True),
        ("y = 2x+1", "y = 2x-1", False),
        ("2x+2y=4", "x+y=2", True),
        ("x+y=2", "x+y=3", False),
        ("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}", True),
        ("34x+45y-20z+100=0", "-34x-45y+20z-100=0", True),
        ("3x+4y+14=0", "0", False),
        ("a+3z=0", "0", False),
        ("7 = 11a+c", "11a+c", False),
    ],
    "inequalities": [
        ("x \\geq 5", "x >= 5", True),
        ("x \\geq 5", "5 \\leq x", True),
        ("x < 1", "-x > -1", True),
        ("x > 5", "x < 5", False),
        ("x \\ge 2", "x > 2", False),
        ("x \\neq 3", "x != 3", True),
        ("x > 3", "(3, \\infty)", True),
        ("-2 \\le x \\le 7", "[-2, 7]", True),
        ("x > 3", "[3, \\infty)", False),
    ],
    "intervals": [
        ("(0,1]", "(0,1]", True),
        ("(0,1]", "(0, 1]", True),
        ("(0,1]", "[0,1]", False),
        ("(0,1]", "(0,1)", False),
        ("[0,1)", "[0,1)", True),
        ("[0,9)", "[0,1)", False),
        ("(-\\infty, 3)", "(-\\infty,3)", True),
        ("(1, \\infty)", "(1, +\\infty)", True),
        ("(1, \\infty)", "(1, \\infty]", False),
        ("[1,2]\\cup[3,4]", "[3,4]\\cup[1,2]", True),
        ("[1,2]\\cup[3,4]", "[1,2]\\cup[3,5]", False),
        ("(0,9) \\cup (9,36)", "(0,9)\\cup(9,36)", True),
        ("[-1, -\\frac{1}{2}) \\cup (1, \\infty)", "[-1,-\\tfrac12)\\cup(1,\\infty)", True),
        ("(-\\sqrt{3}, \\sqrt{3})", "\\left(-\\sqrt3,\\sqrt3\\right)", True),
    ],
    "sets": [
        ("\\{1,2,3\\}", "\\{3,2,1\\}", True),
        ("\\{1,2,3\\}", "\\{1,2\\}", False),
        ("\\{1,2,3\\}", "\\{1,2,4\\}", False),
        ("\\{1\\pm\\sqrt{5},-2\\}", "\\{-2, 1+\\sqrt5, 1-\\sqrt5\\}", True),
        ("\\pm 2", "\\{-2, 2\\}", True),
        ("\\pm 2021", "2021", False),
        ("1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}", True),
    ],
    "tuples": [
        ("(1,2)", "(1,2)", True),
        ("(1,2)", "(2,1)", False),
        ("(6,31,-1)", "(6, 31, -1)", True),
        ("(6,31,-1)", "(6, 31, 1)", False),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)", True),
        ("(1,\\frac{9}{2})", "(1,4.5)", True),
        ("(1,2,3)", "(1,2)", False),
    ],
    "lists": [
        ("1, 2, 3", "3, 2, 1", True),
        ("1, 2, 3", "1, 2, 3", True),
        ("1, 2, 3", "1, 2", False),
        ("10, 4, -2", "4, 10, -2", False, {"ordered_lists": True}),
        ("10, 4, -2", "10, 4, -2", True, {"ordered_lists": True}),
        ("-2, 1", "1, -2", True),
        ("19, 46, 82", "19, 46, \\text{ and } 82", True),
    ],
    "matrices": [
        (
            "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
            "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}",
            True,
        ),
        (
            "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
            "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}",
            True,
        ),
        (
            "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
            "\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}",
            False,
        ),
        (
            "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
            "\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}",
            False,
        ),
        (
            "\\begin{pmatrix}\\frac{1}{2}\\\\ 0.25\\end{pmatrix}",
            "\\begin{pmatrix}0.5\\\\ \\frac{1}{4}\\end{pmatrix}",
            True,
        ),
        (
            "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
            "\\begin{pmatrix}1&2\\end{pmatrix}",
            False,
        ),
    ],
    "multiple_choice": [
        ("A", "(A)", True),
        ("(A)", "A", True),
        ("\\text{(C)}", "C", True),
        ("\\text{C}", "\\text{(C)}", True),
        ("A", "B", False),
        ("(B)", "(D)", False),
    ],
    "words": [
        ("\\text{Evelyn}", "Evelyn", True),
        ("\\text{Evelyn}", "\\text{Evelyn}", True),
        ("\\text{Evelyn}", "Briana", False),
        ("\\text{odd}", "odd", True),
        ("\\text{even}", "\\text{odd}", False),
    ],
    "near_misses": [
        ("\\frac{1}{2^{99}}", "\\frac{1}{2^{98}}", False),
        ("2^{100}", "2^{100}+1", False),
        ("10^{100}", "10^{100}+1", False),
        ("1", "0.999999", False),
        ("100", "101", False),
        ("-3", "3", False),
        ("\\frac{14}{3}", "\\frac{13}{3}", False),
        ("3\\sqrt{2}", "2\\sqrt{3}", False),
        ("x+1", "x-1", False),
        ("12:00", "1:00", False),
    ],
}


def _params() -> list[Any]:
    params = []
    for group, rows in TABLE.items():
        for k, row in enumerate(rows):
            gold, pred, expected = row[0], row[1], row[2]
            opts: dict[str, Any] = row[3] if len(row) > 3 else {}  # type: ignore[misc]
            params.append(pytest.param(gold, pred, expected, opts, id=f"{group}-{k}"))
    return params


@pytest.mark.parametrize(("gold", "pred", "expected", "opts"), _params())
def test_is_equiv_table(gold: str, pred: str, expected: bool, opts: dict[str, Any]) -> None:
    status = rlv.is_equiv_status(gold, pred, **opts)
    assert (status == "equal") is expected, (
        f"is_equiv({gold!r}, {pred!r}, {opts}) -> {status}, expected {expected}"
    )


# Full completions: extraction plus comparison.
GRADE_ROWS: list[tuple[str, str, bool, dict[str, Any]]] = [
    ("The answer is $\\boxed{\\frac{1}{2}}$.", "0.5", True, {}),
    ("So $x = \\boxed{3}$.", "3", True, {}),
    ("We get $\\boxed{-3}$.", "3", False, {}),
    ("Final Answer: The final answer is $28\\%$. I hope it is correct.", "28", True, {}),
    ("The total is \\$\\boxed{5.00}.", "5", True, {}),
    ("Thus the answer is $\\boxed{(A)}$.", "A", True, {}),
    ("Thus the answer is $\\boxed{B}$.", "A", False, {}),
    ("#### 1,234", "1234", True, {}),
    ("The solution set is $\\boxed{(3, \\infty)}$.", "x > 3", True, {}),
    ("so the answer is 12", "12", True, {}),
    ("so the answer is 12", "12", True, {"mode": "strict"}),
    ("we computed 12 apples", "12", True, {}),
    ("we computed 12 apples", "12", False, {"mode": "strict"}),
    ("no numbers at all", "12", False, {}),
    ("<think>maybe \\boxed{5}</think> The answer is $\\boxed{6}$.", "6", True, {}),
    ("The answer is $\\boxed{\\text{Evelyn}}$.", "\\text{Evelyn}", True, {}),
    ("\\boxed{1} and \\boxed{2}", "1, 2", True, {}),
]


@pytest.mark.parametrize(
    ("completion", "gold", "expected", "opts"),
    [pytest.param(*row, id=f"grade-{k}") for k, row in enumerate(GRADE_ROWS)],
)
def test_grade_table(completion: str, gold: str, expected: bool, opts: dict[str, Any]) -> None:
    v = rlv.grade(completion, gold, **opts)
    assert v.correct is expected, f"grade({completion!r}, {gold!r}, {opts}) -> {v}"
