"""Hypothesis strategies for math answers with a known exact meaning.

Every sample is a :class:`MathValue` (a kind, a canonical LaTeX rendering and an exact meaning).
For each value, :func:`renderings` generates other ways of writing the *same* answer and
:func:`near_misses` generates answers that look alike but are *different*. Each generated
:class:`Rendering` carries its own ``meaning``, computed from the parts it was written with
(not by parsing the text, and never with rlv), so the strategies themselves can be checked:
``same_meaning(value.kind, rendering.meaning, value.exact)`` holds for every rendering and
fails for every near miss.

Renderings stay inside rlv's documented policies (``docs/grading.md``) with default options:
decimals are written only when the fraction terminates (exactly) or as a repeating decimal
with ``\\overline``; ``\\%`` is only appended to integers (stripped by default); degrees are not
converted; inequality notation is used for a single interval only.

Meanings by kind:

* ``integer``, ``rational``, ``power``: :class:`fractions.Fraction` (exact);
* ``radical`` (``p + a\\sqrt{b}``), ``pi`` (``r\\pi``): ``float``;
* ``interval``: a ``frozenset`` of ``(lo, hi, lo_closed, hi_closed)`` (``None`` is infinite);
* ``set``: a ``frozenset`` of ``Fraction``; ``tuple``: a ``tuple`` of ``Fraction``;
  ``matrix``: a tuple of rows;
* ``polynomial``: a callable ``(x, y) -> Fraction`` (compared at a grid of points);
* ``equation``: ``(A, B, C)`` for ``A x + B y = C`` (compared up to a non-zero factor).

This module imports hypothesis; ``import rlv`` does not import it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "KINDS",
    "MathValue",
    "Rendering",
    "equivalent_pairs",
    "near_miss_pairs",
    "near_misses",
    "renderings",
    "same_meaning",
    "values",
    "wrap",
    "wrapped",
    "wrapper_names",
]

KINDS: tuple[str, ...] = (
    "integer",
    "rational",
    "radical",
    "pi",
    "power",
    "polynomial",
    "interval",
    "set",
    "tuple",
    "matrix",
    "equation",
)
"""Every kind :func:`values` can generate."""


@dataclass(frozen=True)
class MathValue:
    """A math answer with a known exact meaning."""

    kind: str
    """One of :data:`KINDS`."""
    canonical: str
    """The canonical LaTeX rendering (used as the gold answer)."""
    exact: Any
    """The exact meaning (see the module docstring for its type per kind)."""
    parts: Any = None
    """The data the value was built from (kind-specific; used by the strategies)."""


@dataclass(frozen=True)
class Rendering:
    """One way of writing an answer, with the meaning of what was written."""

    text: str
    family: str
    """The rendering family (``"decimal"``, ``"permuted"``...) or near-miss family."""
    meaning: Any


Poly = dict[tuple[int, int], int]
Interval = tuple[Fraction | None, Fraction | None, bool, bool]

# ---------------------------------------------------------------------------------------------
# Meanings


def _num_equal(a: Any, b: Any) -> bool:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


_GRID = [Fraction(n, 3) for n in (-7, -4, -1, 2, 5, 8, 11)]


def same_meaning(kind: str, a: Any, b: Any) -> bool:
    """Whether two meanings of a value of ``kind`` are equal (independently of rlv)."""
    if kind in ("integer", "rational", "power", "radical", "pi"):
        return _num_equal(a, b)
    if kind == "polynomial":
        # Degree <= 4 in each variable: agreement on a 7x7 grid is identity.
        return all(a(x, y) == b(x, y) for x in _GRID for y in _GRID)
    if kind == "equation":
        (a1, b1, c1), (a2, b2, c2) = a, b
        return bool(a1 * b2 == a2 * b1 and a1 * c2 == a2 * c1 and b1 * c2 == b2 * c1)
    return bool(a == b)


def _poly_eval(poly: Poly) -> Callable[[Fraction, Fraction], Fraction]:
    items = sorted(poly.items())

    def f(x: Fraction, y: Fraction) -> Fraction:
        return sum((c * x**i * y**j for (i, j), c in items), Fraction(0))

    return f


def _poly_product(factors: Sequence[Callable[[Fraction, Fraction], Fraction]], lead: int) -> Any:
    def f(x: Fraction, y: Fraction) -> Fraction:
        out = Fraction(lead)
        for g in factors:
            out *= g(x, y)
        return out

    return f


def _poly_mul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for (i1, j1), c1 in a.items():
        for (i2, j2), c2 in b.items():
            key = (i1 + i2, j1 + j2)
            out[key] = out.get(key, 0) + c1 * c2
    return {k: c for k, c in out.items() if c != 0}


# ---------------------------------------------------------------------------------------------
# Text helpers


def _frac_tex(num: int, den: int, cmd: str = "\\frac") -> str:
    sign = "-" if num * den < 0 else ""
    return f"{sign}{cmd}{{{abs(num)}}}{{{abs(den)}}}"


def _rational_tex(f: Fraction) -> str:
    if f.denominator == 1:
        return str(f.numerator)
    return _frac_tex(f.numerator, f.denominator)


def _terminating_decimal(f: Fraction) -> str | None:
    den, twos, fives = f.denominator, 0, 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return None
    digits = max(twos, fives)
    scaled = abs(f) * 10**digits
    s = str(scaled.numerator).rjust(digits + 1, "0")
    text = f"{s[:-digits]}.{s[-digits:]}" if digits else s
    return ("-" if f < 0 else "") + text


def _repeating_decimal(f: Fraction, max_period: int = 40) -> tuple[str, Fraction] | None:
    """``0.1\\overline{6}`` for 1/6 and the meaning read back from its digits."""
    a = abs(f)
    whole = a.numerator // a.denominator
    rem = a.numerator % a.denominator
    q = a.denominator
    seen: dict[int, int] = {}
    digits: list[str] = []
    while rem and rem not in seen:
        if len(digits) > max_period + 10:
            return None
        seen[rem] = len(digits)
        rem *= 10
        digits.append(str(rem // q))
        rem %= q
    if not rem:
        return None  # terminating
    start = seen[rem]
    pre, per = "".join(digits[:start]), "".join(digits[start:])
    if len(per) > max_period:
        return None
    sign = -1 if f < 0 else 1
    text = f"{'-' if sign < 0 else ''}{whole}.{pre}\\overline{{{per}}}"
    # Read the meaning back from the written digits: whole + (pre.per... ) by the usual formula.
    frac_part = Fraction(int(pre + per) - int(pre or "0"), 10 ** len(pre) * (10 ** len(per) - 1))
    return text, sign * (whole + frac_part)


@st.composite
def _rational_rendering(
    draw: st.DrawFn, f: Fraction, element: bool = False, mixed: bool = True
) -> Rendering:
    """An equivalent rendering of a rational; ``element``: inside a set, tuple or matrix;
    ``mixed``: mixed numbers (``2\\frac12``) allowed."""
    p, q = f.numerator, f.denominator
    options: list[str] = ["plain"]
    if q == 1:
        options += ["braced", "point_zero", "unsimplified"]
        if not element and abs(p) >= 1000:
            options += ["thousands", "thin_space_thousands"]
    else:
        options += ["frac", "dfrac", "tfrac", "slash", "unsimplified", "frac_signed_numerator"]
        if _terminating_decimal(f) is not None:
            options.append("decimal")
        elif _repeating_decimal(f) is not None:
            options.append("repeating_decimal")
        if mixed and abs(p) > q:
            options.append("mixed_number")
    family = draw(st.sampled_from(options))
    if family == "plain":
        return Rendering(_rational_tex(f), family, f)
    if family == "braced":
        return Rendering(f"{{{p}}}", family, Fraction(p))
    if family == "point_zero":
        text = f"{p}.0"
        return Rendering(text, family, Fraction(text))
    if family in ("thousands", "thin_space_thousands"):
        text = f"{p:,}"
        meaning = Fraction(int(text.replace(",", "")))
        if family == "thin_space_thousands":
            text = text.replace(",", "\\,")
        return Rendering(text, family, meaning)
    if family in ("frac", "dfrac", "tfrac"):
        return Rendering(_frac_tex(p, q, "\\" + family), family, Fraction(p, q))
    if family == "slash":
        return Rendering(f"{p}/{q}", family, Fraction(p, q))
    if family == "frac_signed_numerator":
        return Rendering(f"\\frac{{{p}}}{{{q}}}", family, Fraction(p, q))
    if family == "unsimplified":
        k = draw(st.integers(2, 9))
        return Rendering(_frac_tex(k * p, k * q), family, Fraction(k * p, k * q))
    if family == "decimal":
        dec = _terminating_decimal(f)
        assert dec is not None
        return Rendering(dec, family, Fraction(dec))
    if family == "repeating_decimal":
        rep = _repeating_decimal(f)
        assert rep is not None
        return Rendering(rep[0], family, rep[1])
    # mixed number: 2\frac{1}{2}
    whole, rest = divmod(abs(p), q)
    sign = -1 if p < 0 else 1
    text = f"{'-' if sign < 0 else ''}{whole}\\frac{{{rest}}}{{{q}}}"
    return Rendering(text, family, sign * (whole + Fraction(rest, q)))


def _small_fractions(max_num: int = 60, max_den: int = 12) -> st.SearchStrategy[Fraction]:
    return st.builds(Fraction, st.integers(-max_num, max_num), st.integers(1, max_den))


# ---------------------------------------------------------------------------------------------
# Values


def _integer_value(n: int) -> MathValue:
    return MathValue("integer", str(n), Fraction(n))


def _rational_value(f: Fraction) -> MathValue:
    return MathValue("rational", _rational_tex(f), f)


def _sqrt_term(a: int, b: int) -> str:
    coef = {1: "", -1: "-"}.get(a, str(a))
    return f"{coef}\\sqrt{{{b}}}"


def _radical_value(t: tuple[int, int, int]) -> MathValue:
    p, a, b = t
    term = _sqrt_term(a, b)
    if p == 0:
        text = term
    else:
        text = f"{p} {'-' if a < 0 else '+'} {_sqrt_term(abs(a), b)}"
    return MathValue("radical", text, p + a * math.sqrt(b), (p, a, b))


_SQUAREFREE = [b for b in range(2, 40) if all(b % (k * k) for k in range(2, 7))]


def _pi_tex(r: Fraction) -> str:
    p, q = r.numerator, r.denominator
    coef = {1: "", -1: "-"}.get(p, str(p))
    if q == 1:
        return f"{coef}\\pi"
    sign = "-" if p < 0 else ""
    num = "" if abs(p) == 1 else str(abs(p))
    return f"{sign}\\frac{{{num}\\pi}}{{{q}}}"


def _pi_value(r: Fraction) -> MathValue:
    return MathValue("pi", _pi_tex(r), float(r) * math.pi, r)


def _power_value(n: int) -> MathValue:
    return MathValue("power", f"2^{{{n}}}", Fraction(2**n), n)


def _monomial(c: int, i: int, j: int, first: bool) -> str:
    var = ""
    if i:
        var += "x" if i == 1 else f"x^{{{i}}}"
    if j:
        var += "y" if j == 1 else f"y^{{{j}}}"
    mag = str(abs(c)) if (abs(c) != 1 or not var) else ""
    if first:
        return ("-" if c < 0 else "") + mag + var
    return (" - " if c < 0 else " + ") + mag + var


def _poly_tex(terms: Sequence[tuple[tuple[int, int], int]]) -> str:
    return "".join(_monomial(c, i, j, k == 0) for k, ((i, j), c) in enumerate(terms))


def _descending(poly: Poly) -> list[tuple[tuple[int, int], int]]:
    return sorted(poly.items(), key=lambda t: (-(t[0][0] + t[0][1]), -t[0][0]))


def _polynomial_value(t: tuple[int, tuple[Poly, ...]]) -> MathValue:
    lead, factors = t
    poly: Poly = {(0, 0): lead}
    for fac in factors:
        poly = _poly_mul(poly, fac)
    return MathValue("polynomial", _poly_tex(_descending(poly)), _poly_eval(poly), (lead, factors))


def _root_factor(r: int) -> Poly:
    return {k: c for k, c in {(1, 0): 1, (0, 0): -r}.items() if c}


_polynomials = st.one_of(
    # c (x - r1)(x - r2)[(x - r3)]
    st.tuples(
        st.sampled_from([1, 1, -1, 2, 3]),
        st.lists(st.integers(-9, 9), min_size=2, max_size=3).map(
            lambda rs: tuple(_root_factor(r) for r in rs)
        ),
    ),
    # (a1 x + b1 y)(a2 x + b2 y)
    st.tuples(
        st.just(1),
        st.lists(
            st.tuples(st.integers(1, 3), st.integers(-4, 4).filter(bool)), min_size=2, max_size=2
        ).map(lambda fs: tuple({(1, 0): a, (0, 1): b} for a, b in fs)),
    ),
).map(_polynomial_value)


def _interval_tex(iv: Interval, lo_tex: str | None = None, hi_tex: str | None = None) -> str:
    lo, hi, lc, hc = iv
    lo_s = "-\\infty" if lo is None else (lo_tex or _rational_tex(lo))
    hi_s = "\\infty" if hi is None else (hi_tex or _rational_tex(hi))
    return f"{'[' if lc else '('}{lo_s}, {hi_s}{']' if hc else ')'}"


@st.composite
def _interval_values(draw: st.DrawFn) -> MathValue:
    n = draw(st.integers(1, 2))
    points = sorted(draw(st.sets(st.integers(-20, 20), min_size=2 * n, max_size=2 * n)))
    # Keep the intervals of a union apart, so that no rendering merges them.
    if n == 2 and points[2] - points[1] < 2:
        points[2] = points[1] + 2
        points[3] = max(points[3], points[2] + 1)
    ivs: list[Interval] = []
    for k in range(n):
        lo: Fraction | None = Fraction(points[2 * k])
        hi: Fraction | None = Fraction(points[2 * k + 1])
        lc, hc = draw(st.booleans()), draw(st.booleans())
        if k == 0 and draw(st.integers(0, 3)) == 0:
            lo, lc = None, False
        if k == n - 1 and lo is not None and draw(st.integers(0, 3)) == 0:
            hi, hc = None, False
        ivs.append((lo, hi, lc, hc))
    text = " \\cup ".join(_interval_tex(iv) for iv in ivs)
    return MathValue("interval", text, frozenset(ivs), tuple(ivs))


def _set_value(elems: list[Fraction]) -> MathValue:
    text = "\\{" + ", ".join(_rational_tex(e) for e in elems) + "\\}"
    return MathValue("set", text, frozenset(elems), tuple(elems))


def _tuple_value(elems: list[Fraction]) -> MathValue:
    text = "(" + ", ".join(_rational_tex(e) for e in elems) + ")"
    return MathValue("tuple", text, tuple(elems), tuple(elems))


def _matrix_tex(rows: Sequence[Sequence[str]], env: str = "pmatrix") -> str:
    body = " \\\\ ".join(" & ".join(r) for r in rows)
    return f"\\begin{{{env}}} {body} \\end{{{env}}}"


def _matrix_value(rows: tuple[tuple[Fraction, ...], ...]) -> MathValue:
    text = _matrix_tex([[_rational_tex(e) for e in r] for r in rows])
    return MathValue("matrix", text, rows, rows)


def _lin_tex(a: int, b: int) -> str:
    return _poly_tex([((1, 0), a), ((0, 1), b)])


def _equation_value(t: tuple[int, int, int]) -> MathValue:
    a, b, c = t
    return MathValue(
        "equation", f"{_lin_tex(a, b)} = {c}", (Fraction(a), Fraction(b), Fraction(c)), t
    )


_STRATEGIES: dict[str, st.SearchStrategy[MathValue]] = {
    "integer": st.integers(-(10**7), 10**7).map(_integer_value),
    "rational": st.builds(Fraction, st.integers(-1000, 1000), st.integers(2, 200))
    .filter(lambda f: f.denominator > 1)
    .map(_rational_value),
    "radical": st.tuples(
        st.integers(-9, 9), st.integers(-9, 9).filter(bool), st.sampled_from(_SQUAREFREE)
    ).map(_radical_value),
    "pi": st.builds(Fraction, st.integers(-12, 12).filter(bool), st.integers(1, 12)).map(_pi_value),
    "power": st.integers(30, 3000).map(_power_value),
    "polynomial": _polynomials,
    "interval": _interval_values(),
    "set": st.lists(_small_fractions(), min_size=2, max_size=5, unique=True).map(_set_value),
    "tuple": st.lists(_small_fractions(), min_size=2, max_size=4).map(_tuple_value),
    "matrix": st.sampled_from([(2, 2), (2, 3), (3, 3)])
    .flatmap(
        lambda shape: st.tuples(*[st.tuples(*[_small_fractions(30, 6)] * shape[1])] * shape[0])
    )
    .map(_matrix_value),
    "equation": st.tuples(
        st.integers(-9, 9).filter(bool), st.integers(-9, 9).filter(bool), st.integers(-20, 20)
    ).map(_equation_value),
}


def values(kinds: Sequence[str] | None = None) -> st.SearchStrategy[MathValue]:
    """Math values of the given kinds (default: every kind in :data:`KINDS`)."""
    chosen = list(KINDS if kinds is None else kinds)
    unknown = [k for k in chosen if k not in _STRATEGIES]
    if unknown or not chosen:
        raise ValueError(f"unknown kinds {unknown}; choose from {KINDS}")
    return st.one_of(*[_STRATEGIES[k] for k in chosen])


# ---------------------------------------------------------------------------------------------
# Renderings


_SUFFIXES = {
    "degrees": "^\\circ",
    "degrees_braced": "^{\\circ}",
    "unit_text": "\\text{ cm}",
    "unit_word": " meters",
    "percent": "\\%",
}


@st.composite
def _scalar_renderings(draw: st.DrawFn, value: MathValue) -> Rendering:
    r = draw(_rational_rendering(value.exact))
    options = ["inner", "displaystyle", "spacing", "named", "left_right_braces"]
    if value.kind == "integer" and r.family in ("plain", "thousands", "thin_space_thousands"):
        options += list(_SUFFIXES)
    deco = draw(st.sampled_from(options))
    if deco == "inner":
        return r
    if deco == "displaystyle":
        text = f"\\displaystyle {r.text}"
    elif deco == "spacing":
        text = f"\\, {r.text} \\;"
    elif deco == "named":
        text = f"{draw(st.sampled_from(['x', 'y', 'n', 'a']))} = {r.text}"
    elif deco == "left_right_braces":
        text = f"{{{r.text}}}"
    else:
        text = r.text + _SUFFIXES[deco]
    return Rendering(text, f"{r.family}+{deco}", r.meaning)


@st.composite
def _radical_renderings(draw: st.DrawFn, value: MathValue) -> Rendering:
    p, a, b = value.parts
    family = draw(
        st.sampled_from(
            ["canonical", "unsimplified", "rationalized", "reordered_product", "reordered_sum"]
        )
    )
    sign = "-" if a < 0 else ""
    if family == "canonical":
        return Rendering(value.canonical, family, value.exact)
    if family == "unsimplified":
        term, t = f"{sign}\\sqrt{{{a * a * b}}}", math.copysign(math.sqrt(a * a * b), a)
    elif family == "rationalized":
        term, t = (
            f"{sign}\\frac{{{abs(a) * b}}}{{\\sqrt{{{b}}}}}",
            math.copysign(abs(a) * b / math.sqrt(b), a),
        )
    elif family == "reordered_product":
        term = f"{sign}\\sqrt{{{b}}} \\cdot {abs(a)}"
        t = math.copysign(math.sqrt(b) * abs(a), a)
    else:
        term, t = _sqrt_term(a, b), a * math.sqrt(b)
    if p == 0:
        return Rendering(term, family, t)
    if family == "reordered_sum" or draw(st.booleans()):
        return Rendering(f"{term} + {p}" if p > 0 else f"{term} - {-p}", family, t + p)
    op = "-" if term.startswith("-") else "+"
    return Rendering(f"{p} {op} {term.lstrip('-')}", family, p + t)


@st.composite
def _pi_renderings(draw: st.DrawFn, value: MathValue) -> Rendering:
    r: Fraction = value.parts
    options = ["canonical", "coefficient_frac", "pi_times", "times_pi", "unsimplified"]
    if _terminating_decimal(r) is not None and r.denominator > 1:
        options.append("decimal_coefficient")
    family = draw(st.sampled_from(options))
    p, q = r.numerator, r.denominator
    if family == "canonical":
        return Rendering(value.canonical, family, value.exact)
    if family == "unsimplified":
        k = draw(st.integers(2, 6))
        return Rendering(f"\\frac{{{k * p}\\pi}}{{{k * q}}}", family, k * p * math.pi / (k * q))
    coef = draw(_rational_rendering(r, element=True))
    if family == "coefficient_frac":
        if coef.family in ("plain", "braced") and r.denominator == 1:
            return Rendering(f"{coef.text}\\pi", family, float(coef.meaning) * math.pi)
        return Rendering(f"{coef.text} \\pi", family, float(coef.meaning) * math.pi)
    if family == "pi_times":
        return Rendering(f"\\pi \\cdot {coef.text}", family, math.pi * float(coef.meaning))
    if family == "times_pi":
        return Rendering(f"{coef.text} \\cdot \\pi", family, float(coef.meaning) * math.pi)
    text = _terminating_decimal(r)
    assert text is not None
    return Rendering(f"{text}\\pi", family, float(Fraction(text)) * math.pi)


@st.composite
def _power_renderings(draw: st.DrawFn, value: MathValue) -> Rendering:
    n: int = value.parts
    options = ["canonical", "split", "split_reordered", "unbraced_exponent"]
    if n % 2 == 0:
        options.append("power_of_four")
    if n <= 300:
        options.append("digits")
    family = draw(st.sampled_from(options))
    if family == "canonical":
        return Rendering(value.canonical, family, value.exact)
    if family == "split":
        k = draw(st.integers(1, 10))
        return Rendering(f"2^{{{n - k}}} \\cdot 2^{{{k}}}", family, Fraction(2 ** (n - k) * 2**k))
    if family == "split_reordered":
        return Rendering(f"2 \\cdot 2^{{{n - 1}}}", family, Fraction(2 * 2 ** (n - 1)))
    if family == "unbraced_exponent":
        return Rendering(f"2^{n}", family, Fraction(2**n))  # ASCII meaning: documented policy
    if family == "power_of_four":
        return Rendering(f"4^{{{n // 2}}}", family, Fraction(4 ** (n // 2)))
    return Rendering(str(2**n), family, Fraction(int(str(2**n))))


@st.composite
def _polynomial_renderings(draw: st.DrawFn, value: MathValue) -> Rendering:
    lead, factors = value.parts
    family = draw(st.sampled_from(["canonical", "reordered_sum", "factored", "spaced"]))
    if family in ("canonical", "spaced", "reordered_sum"):
        poly: Poly = {(0, 0): lead}
        for fac in factors:
            poly = _poly_mul(poly, fac)
        terms = _descending(poly)
        if family == "reordered_sum":
            terms = draw(st.permutations(terms))
        text = _poly_tex(terms)
        if family == "spaced":
            text = text.replace("x^", "x ^ ").replace("y", " y")
        return Rendering(text, family, _poly_eval(dict(terms)))
    # factored: lead x^m (f1)(f2)... with the other factors permuted
    order = draw(st.permutations(list(factors)))
    monos = [f for f in order if len(f) == 1]
    others = [f for f in order if len(f) != 1]
    parts = [f"({_poly_tex(_descending(f))})" for f in others]
    if monos:
        m = len(monos)
        parts.insert(0, _poly_tex([(next(iter(monos[0])), 1)]) + (f"^{{{m}}}" if m > 1 else ""))
    prefix = {1: "", -1: "-"}.get(lead, str(lead))
    return Rendering(
        prefix + "".join(parts), family, _poly_product([_poly_eval(f) for f in order], lead)
    )


@st.composite
def _interval_renderings(draw: st.DrawFn, value: MathValue) -> Rendering:
    ivs: tuple[Interval, ...] = value.parts
    options = ["canonical", "left_right", "endpoint_forms"]
    if len(ivs) == 2:
        options.append("permuted_union")
    if len(ivs) == 1 and (ivs[0][0] is not None or ivs[0][1] is not None):
        options.append("inequality")
    family = draw(st.sampled_from(options))
    if family == "canonical":
        return Rendering(value.canonical, family, value.exact)
    if family == "inequality":
        lo, hi, lc, hc = ivs[0]
        var = draw(st.sampled_from(["x", "t"]))
        le, ge = "\\le", "\\ge"
        if lo is None:
            assert hi is not None
            text = f"{var} {le if hc else '<'} {_rational_tex(hi)}"
        elif hi is None:
            text = f"{var} {ge if lc else '>'} {_rational_tex(lo)}"
        else:
            text = (
                f"{_rational_tex(lo)} {le if lc else '<'} {var} "
                f"{le if hc else '<'} {_rational_tex(hi)}"
            )
        return Rendering(text, family, frozenset(ivs))
    if family == "permuted_union":
        return Rendering(
            " \\cup ".join(_interval_tex(iv) for iv in reversed(ivs)), family, frozenset(ivs)
        )
    if family == "left_right":
        lr_texts = []
        for lo, hi, lc, hc in ivs:
            inner = _interval_tex((lo, hi, lc, hc))[1:-1]
            open_, close = ("[" if lc else "("), ("]" if hc else ")")
            lr_texts.append(f"\\left{open_} {inner} \\right{close}")
        return Rendering(" \\cup ".join(lr_texts), family, frozenset(ivs))
    # endpoint_forms: each finite endpoint written in an equivalent form
    texts: list[str] = []
    meaning: list[Interval] = []
    for lo, hi, lc, hc in ivs:
        lo_r = draw(_rational_rendering(lo, element=True)) if lo is not None else None
        hi_r = draw(_rational_rendering(hi, element=True)) if hi is not None else None
        lo_t, hi_t = (lo_r.text if lo_r else None), (hi_r.text if hi_r else None)
        texts.append(_interval_tex((lo, hi, lc, hc), lo_t, hi_t))
        lo_m = lo_r.meaning if lo_r else None
        hi_m = hi_r.meaning if hi_r else None
        meaning.append((lo_m, hi_m, lc, hc))
    return Rendering(" \\cup ".join(texts), family, frozenset(meaning))


def _elements(draw: st.DrawFn, elems: Sequence[Fraction]) -> list[Rendering]:
    return [draw(_rational_rendering(e, element=True)) for e in elems]


@st.composite
def _set_renderings(draw: st.DrawFn, value: MathValue) -> Rendering:
    elems = draw(st.permutations(list(value.parts)))
    rs = _elements(draw, elems)
    body = ", ".join(r.text for r in rs)
    family = draw(st.sampled_from(["permuted", "left_right", "bare_list"]))
    text = {
        "permuted": f"\\{{{body}\\}}",
        "left_right": f"\\left\\{{ {body} \\right\\}}",
        "bare_list": body,
    }[family]
    return Rendering(text, family, frozenset(r.meaning for r in rs))


@st.composite
def _tuple_renderings(draw: st.DrawFn, value: MathValue) -> Rendering:
    rs = _elements(draw, value.parts)
    body = ", ".join(r.text for r in rs)
    family = draw(st.sampled_from(["element_forms", "left_right", "spaced"]))
    text = {
        "element_forms": f"({body})",
        "left_right": f"\\left( {body} \\right)",
        "spaced": "( " + body.replace(", ", " ,\\; ") + " )",
    }[family]
    return Rendering(text, family, tuple(r.meaning for r in rs))


@st.composite
def _matrix_renderings(draw: st.DrawFn, value: MathValue) -> Rendering:
    rows = [_elements(draw, row) for row in value.parts]
    family = draw(st.sampled_from(["pmatrix", "bmatrix"]))
    text = _matrix_tex([[r.text for r in row] for row in rows], family)
    return Rendering(text, family, tuple(tuple(r.meaning for r in row) for row in rows))


@st.composite
def _equation_renderings(draw: st.DrawFn, value: MathValue) -> Rendering:
    a, b, c = value.parts
    family = draw(st.sampled_from(["canonical", "scaled", "moved", "reordered", "swapped_sides"]))
    if family == "canonical":
        return Rendering(value.canonical, family, value.exact)
    if family == "scaled":
        k = draw(st.sampled_from([-3, -2, -1, 2, 3, 5]))
        a, b, c = k * a, k * b, k * c
        return Rendering(f"{_lin_tex(a, b)} = {c}", family, (Fraction(a), Fraction(b), Fraction(c)))
    if family == "moved":
        text = _poly_tex(
            [((1, 0), a), ((0, 1), b), ((0, 0), -c)] if c else [((1, 0), a), ((0, 1), b)]
        )
        return Rendering(f"{text} = 0", family, (Fraction(a), Fraction(b), Fraction(c)))
    if family == "reordered":
        text = _poly_tex([((0, 1), b), ((1, 0), a)])
        return Rendering(f"{text} = {c}", family, (Fraction(a), Fraction(b), Fraction(c)))
    return Rendering(f"{c} = {_lin_tex(a, b)}", family, (Fraction(a), Fraction(b), Fraction(c)))


_RENDERERS: dict[str, Callable[[MathValue], st.SearchStrategy[Rendering]]] = {
    "integer": _scalar_renderings,
    "rational": _scalar_renderings,
    "radical": _radical_renderings,
    "pi": _pi_renderings,
    "power": _power_renderings,
    "polynomial": _polynomial_renderings,
    "interval": _interval_renderings,
    "set": _set_renderings,
    "tuple": _tuple_renderings,
    "matrix": _matrix_renderings,
    "equation": _equation_renderings,
}


def renderings(value: MathValue) -> st.SearchStrategy[Rendering]:
    """Renderings of ``value`` that are equal to it in meaning (within rlv's policies)."""
    return _RENDERERS[value.kind](value)


# ---------------------------------------------------------------------------------------------
# Near misses


def _rational_shift(f: Fraction) -> Rendering:
    return Rendering(_rational_tex(f + 1), "off_by_one", f + 1)


@st.composite
def _near_miss(draw: st.DrawFn, value: MathValue) -> Rendering:
    kind = value.kind
    cands: list[Rendering] = []
    if kind in ("integer", "rational"):
        f: Fraction = value.exact
        cands += [_rational_shift(f), Rendering(_rational_tex(f - 1), "off_by_minus_one", f - 1)]
        if f:
            cands.append(Rendering(_rational_tex(-f), "sign_flip", -f))
        if kind == "rational":
            p, q = f.numerator, f.denominator
            cands.append(Rendering(_frac_tex(p + 1, q), "numerator_off_by_one", Fraction(p + 1, q)))
            if p not in (0, q, -q):
                cands.append(Rendering(_frac_tex(q, p), "reciprocal", Fraction(q, p)))
    elif kind == "radical":
        p, a, b = value.parts
        rad_variants = [
            ("off_by_one", _radical_value((p + 1, a, b))),
            ("sign_flip", _radical_value((p, -a, b))),
            ("coefficient_off_by_one", _radical_value((p, a + 1 if a != -1 else a - 1, b))),
        ]
        cands += [Rendering(v.canonical, fam, v.exact) for fam, v in rad_variants]
        # b + 1 may be a perfect square: write the radical as it is, unsimplified.
        wrong_term = f"{_sqrt_term(abs(a), b + 1)}"
        wrong_text = (
            f"{p} {'-' if a < 0 else '+'} {wrong_term}"
            if p
            else ("-" if a < 0 else "") + wrong_term
        )
        cands.append(Rendering(wrong_text, "wrong_radical", p + a * math.sqrt(b + 1)))
    elif kind == "pi":
        r: Fraction = value.parts
        cands += [
            Rendering(_pi_tex(r + 1), "off_by_one", float(r + 1) * math.pi),
            Rendering(_pi_tex(-r), "sign_flip", -float(r) * math.pi),
            Rendering(_rational_tex(r), "dropped_pi", float(r)),
        ]
    elif kind == "power":
        n: int = value.parts
        cands += [
            Rendering(f"2^{{{n + 1}}}", "next_power", Fraction(2 ** (n + 1))),
            Rendering(f"2^{{{n - 1}}}", "previous_power", Fraction(2 ** (n - 1))),
            Rendering(f"2^{{{n}}} + 1", "off_by_one", Fraction(2**n + 1)),
            Rendering(f"2^{{{n}}} - 1", "off_by_minus_one", Fraction(2**n - 1)),
        ]
    elif kind == "polynomial":
        lead, factors = value.parts
        expanded: Poly = {(0, 0): lead}
        for fac in factors:
            expanded = _poly_mul(expanded, fac)
        poly = expanded
        shifted = dict(poly)
        shifted[(0, 0)] = shifted.get((0, 0), 0) + 1
        shifted = {k: c for k, c in shifted.items() if c}
        negated = {k: -c for k, c in poly.items()}
        cands += [
            Rendering(_poly_tex(_descending(shifted)), "constant_off_by_one", _poly_eval(shifted)),
            Rendering(_poly_tex(_descending(negated)), "sign_flip", _poly_eval(negated)),
        ]
        # A wrong factor: shift the constant (or y coefficient) of the first factor.
        first = dict(factors[0])
        key = (0, 0) if (1, 0) in first and (0, 1) not in first else (0, 1)
        first[key] = first.get(key, 0) + 1
        first = {k: c for k, c in first.items() if c}
        wrong_poly = _poly_mul({(0, 0): lead}, first)
        for fac in factors[1:]:
            wrong_poly = _poly_mul(wrong_poly, fac)
        cands.append(
            Rendering(_poly_tex(_descending(wrong_poly)), "wrong_factor", _poly_eval(wrong_poly))
        )
    elif kind == "interval":
        ivs = list(value.parts)
        k = draw(st.integers(0, len(ivs) - 1))
        lo, hi, lc, hc = ivs[k]
        iv_variants: list[tuple[str, Interval]] = []
        if lo is not None:
            iv_variants += [("flip_lower_endpoint", (lo, hi, not lc, hc))]
            if hi is None or lo + 1 < hi:
                iv_variants += [("lower_off_by_one", (lo + 1, hi, lc, hc))]
        if hi is not None:
            iv_variants += [("flip_upper_endpoint", (lo, hi, lc, not hc))]
        for fam, iv in iv_variants:
            new = [*ivs[:k], iv, *ivs[k + 1 :]]
            cands.append(
                Rendering(" \\cup ".join(_interval_tex(v) for v in new), fam, frozenset(new))
            )
        if len(ivs) == 2:
            rest = ivs[1 - k]
            cands.append(Rendering(_interval_tex(rest), "dropped_interval", frozenset([rest])))
    elif kind in ("set", "tuple"):
        elems = list(value.parts)
        k = draw(st.integers(0, len(elems) - 1))
        shifted_elems = [*elems[:k], elems[k] + 1, *elems[k + 1 :]]
        if kind == "set":
            dropped = elems[:k] + elems[k + 1 :]
            cands += [
                Rendering(_set_value(dropped).canonical, "dropped_element", frozenset(dropped)),
                Rendering(
                    _set_value(shifted_elems).canonical,
                    "element_off_by_one",
                    frozenset(shifted_elems),
                ),
            ]
        else:
            cands.append(
                Rendering(
                    _tuple_value(shifted_elems).canonical,
                    "element_off_by_one",
                    tuple(shifted_elems),
                )
            )
            j = next((j for j in range(len(elems)) if elems[j] != elems[0]), None)
            if j is not None:
                swapped = list(elems)
                swapped[0], swapped[j] = swapped[j], swapped[0]
                cands.append(
                    Rendering(_tuple_value(swapped).canonical, "swapped_order", tuple(swapped))
                )
    elif kind == "matrix":
        rows = [list(r) for r in value.parts]
        i = draw(st.integers(0, len(rows) - 1))
        j = draw(st.integers(0, len(rows[0]) - 1))
        rows[i][j] += 1
        bumped = tuple(tuple(r) for r in rows)
        cands.append(Rendering(_matrix_value(bumped).canonical, "entry_off_by_one", bumped))
        transposed = tuple(zip(*value.parts, strict=True))
        if transposed != value.parts:
            cands.append(Rendering(_matrix_value(transposed).canonical, "transposed", transposed))
    elif kind == "equation":
        a, b, c = value.parts
        fr = (Fraction(a), Fraction(b), Fraction(c))
        cands += [
            Rendering(
                f"{_lin_tex(a, b)} = {c + 1}", "constant_off_by_one", (fr[0], fr[1], fr[2] + 1)
            ),
            Rendering(f"{_lin_tex(-a, b)} = {c}", "sign_flip", (-fr[0], fr[1], fr[2])),
            Rendering(f"{_lin_tex(b, a)} = {c}", "swapped_coefficients", (fr[1], fr[0], fr[2])),
        ]
    # Keep only candidates that really differ (e.g. swapped equal coefficients do not).
    cands = [r for r in cands if not same_meaning(kind, r.meaning, value.exact)]
    if not cands:  # pragma: no cover - every kind has an always-different candidate
        raise AssertionError(f"no near miss for {value}")
    return draw(st.sampled_from(cands))


def near_misses(value: MathValue) -> st.SearchStrategy[Rendering]:
    """Answers that look like ``value`` but differ from it in meaning."""
    return _near_miss(value)


# ---------------------------------------------------------------------------------------------
# Model-output wrappers

_WRAPPERS = {
    "boxed": "Let's work through it step by step.\n\nSo the answer is $\\boxed{{{}}}$.",
    "final_answer": "Putting everything together.\n\nThe final answer is ${}$.",
    "minerva": "Final Answer: The final answer is ${}$. I hope it is correct.",
    "gsm8k": "Adding everything up gives the result.\n#### {}",
    "bold": "Therefore the answer is **${}$**.",
}

_WRAPPER_KINDS: dict[str, tuple[str, ...]] = {
    # `#### ` is the GSM8K anchor for a number.
    "gsm8k": ("integer", "rational", "power"),
}

# `#### ` (GSM8K) only ever holds numbers.
_MATRIX_WRAPPERS = tuple(name for name in _WRAPPERS if name != "gsm8k")
_COMMAND = re.compile(r"\\[A-Za-z]+")


def wrapper_names(kind: str | None = None, text: str | None = None) -> list[str]:
    """The model-output wrappers that apply to answers of ``kind`` written as ``text``."""
    if kind == "matrix":
        return list(_MATRIX_WRAPPERS)
    names = [
        name
        for name in _WRAPPERS
        if kind is None or name not in _WRAPPER_KINDS or kind in _WRAPPER_KINDS[name]
    ]
    if text is not None and re.search("[A-Za-z]", _COMMAND.sub("", text)):
        names = [n for n in names if n != "gsm8k"]  # `#### 12 meters` is not a GSM8K answer
    return names


def wrap(text: str, wrapper: str) -> str:
    """``text`` inside the model-output template ``wrapper`` (see :func:`wrapper_names`)."""
    return _WRAPPERS[wrapper].format(text)


def wrapped(text: str, kind: str | None = None) -> st.SearchStrategy[str]:
    """``text`` wrapped in a realistic model output (``\\boxed{}``, "The final answer is",
    ``#### ``, markdown bold) suited to answers of ``kind``."""
    return st.sampled_from(wrapper_names(kind, text)).map(lambda w: wrap(text, w))


# ---------------------------------------------------------------------------------------------
# Pairs


def equivalent_pairs(
    kinds: Sequence[str] | None = None,
) -> st.SearchStrategy[tuple[MathValue, Rendering, Rendering]]:
    """``(value, a, b)``: two renderings of the same value."""
    return values(kinds).flatmap(lambda v: st.tuples(st.just(v), renderings(v), renderings(v)))


def near_miss_pairs(
    kinds: Sequence[str] | None = None,
) -> st.SearchStrategy[tuple[MathValue, Rendering, Rendering]]:
    """``(value, a, b)``: a rendering of the value and a near miss of it."""
    return values(kinds).flatmap(lambda v: st.tuples(st.just(v), renderings(v), near_misses(v)))
