"""Whole data sets through the grader (``shared/data/{math,gsm8k}``).

* MATH-500: every reference ``solution`` graded against its own ``answer`` is correct.
* MATH-500 shuffled: >= 5,000 mismatched (solution, other answer) pairs are all graded
  incorrect, except where the two answers really are equal. Every "equal" verdict on a
  mismatched pair is checked by an independent evaluator written here (string normalisation
  plus exact rational / float evaluation of simple LaTeX); anything it cannot confirm fails.
* GSM8K test: every reference ``answer`` graded against its own ``#### N`` number.
* ``grade_batch`` agrees with per-pair ``grade`` and does not depend on the thread count.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rlv

MIN_SHUFFLED_PAIRS = 5_000


def _load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def math500(shared_file: Callable[..., Path]) -> list[dict[str, Any]]:
    rows = _load_jsonl(shared_file("data", "math", "test.jsonl"))
    assert len(rows) == 500
    return rows


@pytest.fixture(scope="module")
def gsm8k(shared_file: Callable[..., Path]) -> list[dict[str, Any]]:
    rows = _load_jsonl(shared_file("data", "gsm8k", "test.jsonl"))
    assert len(rows) == 1319
    return rows


# ---------------------------------------------------------------------------------------------
# Independent equality check (deliberately simple, no shared code with rlv)


def _strip_wrappers(s: str) -> str:
    """Replace ``\\text{X}`` / ``\\mbox{X}`` / ``\\textbf{X}`` by ``X``."""
    prev = None
    while prev != s:
        prev = s
        s = re.sub(r"\\(?:text|mbox|textbf|mathrm)\{([^{}]*)\}", r"\1", s)
    return s


def normalise(s: str) -> str:
    """Equivalence-preserving textual clean-up of a LaTeX answer."""
    s = s.strip().strip("$").strip()
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.replace("\\left", "").replace("\\right", "")
    for space in ("\\!", "\\,", "\\;", "\\:", "\\ ", "~", "\\quad", "\\qquad"):
        s = s.replace(space, "")
    s = re.sub(r"\^\{?\\circ\}?", "", s)
    s = _strip_wrappers(s)
    s = re.sub(r"\s+", "", s)
    return s.rstrip(".")


_TOKEN = re.compile(r"\d+(?:\.\d*)?|\.\d+|\\[A-Za-z]+|\S")

Value = Fraction | float


class _Unsupported(Exception):
    pass


class _Evaluator:
    """Recursive-descent evaluator of simple LaTeX arithmetic: numbers, ``+ - * / ^``,
    ``\\frac``, ``\\sqrt``, ``\\pi``, ``\\cdot``, ``\\times``, parentheses and braces.
    Exact (``Fraction``) where possible, ``float`` otherwise; anything else is unsupported."""

    def __init__(self, text: str) -> None:
        self.toks = _TOKEN.findall(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise _Unsupported("unexpected end")
        self.i += 1
        return tok

    def expect(self, tok: str) -> None:
        if self.take() != tok:
            raise _Unsupported(f"expected {tok}")

    def run(self) -> Value:
        v = self.expr()
        if self.peek() is not None:
            raise _Unsupported(f"trailing {self.peek()}")
        return v

    def expr(self) -> Value:
        v = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            w = self.term()
            v = v + w if op == "+" else v - w
        return v

    def term(self) -> Value:
        v = self.unary()
        while True:
            tok = self.peek()
            if tok in ("*", "\\cdot", "\\times"):
                self.take()
                v = v * self.unary()
            elif tok in ("/", "\\div"):
                self.take()
                w = self.unary()
                if w == 0:
                    raise _Unsupported("division by zero")
                v = v / w
            elif tok is not None and (tok in ("(", "\\frac", "\\sqrt", "\\pi") or tok[0].isdigit()):
                v = v * self.unary()  # implicit multiplication
            else:
                return v

    def unary(self) -> Value:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Value:
        base = self.atom()
        if self.peek() == "^":
            self.take()
            exp = self.group_or_token()
            return _pow(base, exp)
        return base

    def group_or_token(self) -> Value:
        """A TeX macro argument: ``{...}`` or a single token (``\\frac12`` -> 1, 2)."""
        tok = self.peek()
        if tok == "{":
            self.take()
            v = self.expr()
            self.expect("}")
            return v
        if tok is not None and tok[0].isdigit() and len(tok) > 1:
            self.toks[self.i] = tok[1:]
            return Fraction(tok[0])
        return self.atom()

    def atom(self) -> Value:
        tok = self.take()
        if tok[0].isdigit() or (tok[0] == "." and len(tok) > 1):
            return Fraction(tok)
        if tok in ("(", "{"):
            v = self.expr()
            self.expect(")" if tok == "(" else "}")
            return v
        if tok == "\\frac":
            num = self.group_or_token()
            den = self.group_or_token()
            if den == 0:
                raise _Unsupported("division by zero")
            return num / den
        if tok == "\\sqrt":
            index: Value = Fraction(2)
            if self.peek() == "[":
                self.take()
                index = self.expr()
                self.expect("]")
            return _root(self.group_or_token(), index)
        if tok == "\\pi":
            return math.pi
        raise _Unsupported(tok)


def _pow(base: Value, exp: Value) -> Value:
    if isinstance(base, Fraction) and isinstance(exp, Fraction) and exp.denominator == 1:
        if abs(exp) > 200 or (base == 0 and exp < 0):
            raise _Unsupported("exponent")
        return base ** int(exp)
    if float(base) < 0:
        raise _Unsupported("negative base")
    return float(base) ** float(exp)


def _root(x: Value, index: Value) -> Value:
    if float(x) < 0 or index == 0:
        raise _Unsupported("root")
    r = float(x) ** (1.0 / float(index))
    if isinstance(x, Fraction) and isinstance(index, Fraction) and index.denominator == 1:
        exact = Fraction(round(r * 10**6), 10**6)
        if exact ** int(index) == x:
            return exact
    return r


def evaluate(text: str) -> Value | None:
    """The value of a simple LaTeX answer, or ``None`` if it is not simple arithmetic."""
    try:
        return _Evaluator(normalise(text)).run()
    except (_Unsupported, ZeroDivisionError, OverflowError, ValueError):
        return None


def _split_top_level(s: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def really_equal(a: str, b: str) -> bool:
    """Independent check that two answers are equal (False when it cannot be confirmed)."""
    na, nb = normalise(a), normalise(b)
    if na == nb:
        return True
    # Tuples / intervals with identical brackets: compare positionally.
    if na[:1] in "([" and nb[:1] == na[:1] and na[-1:] in ")]" and nb[-1:] == na[-1:]:
        ea, eb = _split_top_level(na[1:-1]), _split_top_level(nb[1:-1])
        if len(ea) == len(eb) > 1:
            return all(really_equal(x, y) for x, y in zip(ea, eb, strict=True))
    va, vb = evaluate(a), evaluate(b)
    if va is None or vb is None:
        return False
    if isinstance(va, Fraction) and isinstance(vb, Fraction):
        return va == vb
    return math.isclose(float(va), float(vb), rel_tol=1e-12, abs_tol=1e-15)


def test_independent_checker_sanity() -> None:
    assert really_equal("\\dfrac{1}{2}", "\\frac12")
    assert really_equal("0.5", "\\frac{1}{2}")
    assert really_equal("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})")
    assert really_equal("2\\sqrt{2}", "\\sqrt{8}")
    assert really_equal("30^\\circ", "30")
    assert really_equal("\\text{Evelyn}", "Evelyn")
    assert not really_equal("\\frac{1}{2}", "\\frac{1}{3}")
    assert not really_equal("(1,2)", "(2,1)")
    assert not really_equal("x+1", "1+x")  # not confirmable here: counts as "not equal"
    assert not really_equal("2^{99}", "2^{98}")


# ---------------------------------------------------------------------------------------------
# MATH-500


def test_math500_solutions_match_their_answers(math500: list[dict[str, Any]]) -> None:
    bad = []
    for row in math500:
        v = rlv.grade(row["solution"], row["answer"])
        if not v.correct:
            bad.append(f"{row['unique_id']}: gold={row['answer']!r} got={v.answer!r} ({v.status})")
    assert not bad, f"{len(bad)}/500 reference solutions not graded correct:\n" + "\n".join(bad)


def _shuffled_pairs(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    rng = random.Random(20240501)
    n = len(rows)
    pairs: list[tuple[int, int]] = []
    rounds = 0
    while len(pairs) < MIN_SHUFFLED_PAIRS:
        rounds += 1
        perm = list(range(n))
        rng.shuffle(perm)
        for i, j in enumerate(perm):
            if i != j and rows[i]["answer"].strip() != rows[j]["answer"].strip():
                pairs.append((i, j))
    assert rounds >= 5
    return pairs


def test_math500_shuffled_pairs_have_no_false_positives(math500: list[dict[str, Any]]) -> None:
    pairs = _shuffled_pairs(math500)
    assert len(pairs) >= MIN_SHUFFLED_PAIRS
    false_positives = []
    confirmed = 0
    for i, j in pairs:
        solution, own, other = math500[i]["solution"], math500[i]["answer"], math500[j]["answer"]
        v = rlv.grade(solution, other)
        if v.correct:
            if really_equal(own, other):
                confirmed += 1
            else:
                false_positives.append(
                    f"{math500[i]['unique_id']} (answer {own!r}, extracted {v.answer!r}) "
                    f"graded equal to {other!r}"
                )
    assert not false_positives, (
        f"{len(false_positives)} false positives in {len(pairs)} shuffled pairs "
        f"({confirmed} equal verdicts were confirmed):\n" + "\n".join(false_positives[:50])
    )


def test_math500_grade_batch_matches_grade(math500: list[dict[str, Any]]) -> None:
    completions = [r["solution"] for r in math500]
    golds = [r["answer"] for r in math500]
    # Mix in mismatched pairs so that several statuses occur.
    completions += completions[:250]
    golds += golds[250:]
    expected = [rlv.grade(c, g) for c, g in zip(completions, golds, strict=True)]
    rewards1, codes1 = rlv.grade_batch(completions, golds, num_threads=1)
    rewards2, codes2 = rlv.grade_batch(completions, golds, num_threads=2)
    want_codes = np.array([rlv.STATUS_CODES[v.status] for v in expected], dtype=np.int8)
    want_rewards = np.array([1.0 if v.correct else 0.0 for v in expected], dtype=np.float32)
    assert codes1.dtype == np.int8
    assert rewards1.dtype == np.float32
    np.testing.assert_array_equal(codes1, want_codes)
    np.testing.assert_array_equal(rewards1, want_rewards)
    np.testing.assert_array_equal(codes1, codes2)
    np.testing.assert_array_equal(rewards1, rewards2)


# ---------------------------------------------------------------------------------------------
# GSM8K


def _gsm8k_gold(answer: str) -> str:
    return answer.rsplit("####", 1)[1].strip().replace(",", "")


def test_gsm8k_answers_match_their_numbers(gsm8k: list[dict[str, Any]]) -> None:
    bad = []
    for k, row in enumerate(gsm8k):
        gold = _gsm8k_gold(row["answer"])
        v = rlv.grade(row["answer"], gold)
        if not v.correct:
            bad.append(f"row {k}: gold={gold!r} got={v.answer!r} ({v.status}, rule={v.rule})")
    assert not bad, f"{len(bad)}/1319 GSM8K answers not graded correct:\n" + "\n".join(bad[:50])


def test_gsm8k_grade_batch_thread_invariance(gsm8k: list[dict[str, Any]]) -> None:
    completions = [r["answer"] for r in gsm8k]
    golds = [_gsm8k_gold(r["answer"]) for r in gsm8k]
    golds = golds[1:] + golds[:1]  # mostly mismatched
    r1, c1 = rlv.grade_batch(completions, golds, num_threads=1)
    r2, c2 = rlv.grade_batch(completions, golds, num_threads=2)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(r1, r2)
