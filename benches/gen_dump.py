#!/usr/bin/env python3
"""Generate realistic test-time-scaling sample dumps: many sampled completions per problem.

Each problem is a MATH-500 gold answer (cycled when more than 500 problems are asked for,
ids ``math500-{i}-{rep}``) with ``--samples`` completions and one verifier score per
completion. The content is seeded and deterministic, and problem ``j`` depends only on
``(seed, j)``, so a smaller dump is a prefix of a larger one with the same seed and samples.

- Every problem has a latent difficulty, ``p_correct ~ Beta(1.2, 1.0)``: some problems are
  hard and on those majority vote often picks a wrong answer.
- A completion is a few hundred bytes of MATH-style reasoning (150-600, mean ~300: sentences
  with inline LaTeX and equation steps) that ends with a boxed final answer in one of several
  phrasings. About 2 % are truncated reasoning with no boxed answer.
- A correct sample boxes the gold, often rendered differently but equivalently
  (``\\dfrac{a}{b}`` / ``\\frac{a}{b}`` / ``a/b`` / a terminating decimal; ``12`` / ``12.0`` /
  ``{12}``; ``3, 5`` / ``3,5``; ``\\left( \\right)`` added or removed).
- A wrong sample boxes an answer from a per-problem pool of 3-8 plausible wrong answers
  (off by one, doubled, negated, a digit changed, an inverted fraction, another MATH-500
  gold of the same kind, ...) picked with Zipf-like weights so a few wrong answers repeat;
  a few wrong samples box a one-off garbage answer instead.
- The score is a verifier P(Yes) in [0, 1] correlated with correctness (correct ~ Beta(5, 2),
  wrong or truncated ~ Beta(2, 5)), rounded to 4 decimals.

Layouts: ``per-problem``, one row per problem ``{"problem_id", "gold", "completions": [...],
"scores": [...]}``; ``per-sample``, one row per sample ``{"problem_id", "gold", "completion",
"score"}`` with the rows of a problem contiguous. The format follows OUT's suffix: ``.jsonl``,
``.jsonl.gz`` (gzip, level 6), ``.jsonl.zst`` (needs ``zstandard``) or ``.parquet`` (needs
``pyarrow``; row groups of 100 problems; list<string> / list<double> columns per problem,
scalar columns per sample). Output is streamed: memory stays bounded by one row group.

    python benches/gen_dump.py /tmp/dumps/pp.jsonl                      # 2000 x 512 per problem
    python benches/gen_dump.py /tmp/dumps/ps.jsonl.zst --layout per-sample --seed 1
    python benches/gen_dump.py small.parquet --problems 20 --samples 8

As a module (tests load it from its path with importlib)::

    spec = importlib.util.spec_from_file_location("gen_dump", "benches/gen_dump.py")
    gd = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gd)
    gd.write(gd.generate(10, 4, seed=0), tmp_path / "d.jsonl.gz", "per-sample")
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import itertools
import json
import math
import re
import sys
import time
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, TypedDict

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MATH500 = REPO.parent / "shared" / "data" / "math" / "test.jsonl"
LAYOUTS = ("per-problem", "per-sample")
FORMATS = (".jsonl.gz", ".jsonl.zst", ".jsonl", ".parquet")
PARQUET_PROBLEMS_PER_ROW_GROUP = 100

P_TRUNCATED = 0.02  # samples with no boxed answer
P_VERBATIM = 0.55  # share of answers boxed exactly as written; the rest use other renderings
LEN_MEDIAN, LEN_SIGMA, LEN_MIN, LEN_MAX = 255.0, 0.35, 150, 600  # completion length, bytes
N_STEPS = 16  # distinct step templates drawn per sample (more than any completion uses)


class Problem(TypedDict):
    problem_id: str
    gold: str
    completions: list[str]
    scores: list[float]


# ---------------------------------------------------------------------------------------------
# Answers: parsing, equivalent renderings, plausible wrong answers
# ---------------------------------------------------------------------------------------------

_INT = re.compile(r"-?\d+")
_DEC = re.compile(r"-?\d*\.\d+")
_FRAC = re.compile(r"(-?)\\[dt]?frac\s*(?:\{\s*(\d+)\s*\}|(\d))\s*(?:\{\s*(\d+)\s*\}|(\d))")
_DEG = re.compile(r"(-?\d+)\^\{?\\circ\}?")
_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+")
_LEFT = re.compile(r"\\left\s*(\\\{|[(\[|])\s*")
_RIGHT = re.compile(r"\s*\\right\s*(\\\}|[)\]|])")


def _parse_frac(ans: str) -> tuple[str, int, int] | None:
    """``(sign, numerator, denominator)`` of a plain LaTeX fraction such as ``-\\frac{3}{4}``."""
    m = _FRAC.fullmatch(ans)
    if m is None:
        return None
    num, den = int(m[2] or m[3]), int(m[4] or m[5])
    return (m[1], num, den) if den else None


def numeric_value(ans: str) -> Fraction | None:
    """Exact value of an integer, decimal or plain-fraction answer; None for anything else."""
    if _INT.fullmatch(ans) or _DEC.fullmatch(ans):
        return Fraction(ans)
    frac = _parse_frac(ans)
    if frac is None:
        return None
    sign, num, den = frac
    return Fraction(-num if sign else num, den)


def _kind(ans: str) -> str:
    if _INT.fullmatch(ans):
        return "int"
    if _DEC.fullmatch(ans):
        return "dec"
    if _parse_frac(ans) is not None:
        return "frac"
    if _DEG.fullmatch(ans):
        return "deg"
    if "pmatrix" in ans:
        return "matrix"
    if "\\text" in ans:
        return "text"
    if ans.startswith(("(", "[", "\\left")):
        return "tuple"
    return "other"


def _norm(ans: str) -> str:
    """Crude canonical form, used only to keep wrong answers distinct from the gold."""
    s = ans.replace("\\dfrac", "\\frac").replace("\\left", "").replace("\\right", "")
    return re.sub(r"\s+|^\{|\}$", "", s)


def _same_answer(a: str, b: str) -> bool:
    va, vb = numeric_value(a), numeric_value(b)
    if va is not None and vb is not None:
        return va == vb
    return _norm(a) == _norm(b)


def _decimal(v: Fraction) -> str | None:
    """``v`` as an exact decimal string, or None when its expansion does not terminate."""
    den, k = v.denominator, 0
    while (10**k) % den:
        k += 1
        if k > 12:
            return None
    digits = str(abs(v.numerator) * (10**k // den)).rjust(k + 1, "0")
    body = f"{digits[:-k]}.{digits[-k:]}" if k else digits
    return f"-{body}" if v < 0 else body


def _latex_frac(sign: str, num: int, den: int, cmd: str = "\\frac") -> str:
    return f"{sign}{cmd}{{{num}}}{{{den}}}"


def _latex_value(v: Fraction) -> str:
    """A Fraction as a gold-style answer: integer, else ``\\frac``."""
    if v.denominator == 1:
        return str(v.numerator)
    return _latex_frac("-" if v < 0 else "", abs(v.numerator), v.denominator)


def renderings(ans: str) -> list[str]:
    """Equivalent ways to write ``ans``; the first is ``ans`` verbatim."""
    out = [ans]

    def add(s: str | None) -> None:
        if s and s not in out:
            out.append(s)

    if _INT.fullmatch(ans):
        add(f"{ans}.0")
        add(f"{{{ans}}}")
        return out
    if _DEC.fullmatch(ans):
        if ans.lstrip("-").startswith("."):
            add(ans.replace(".", "0.", 1))
        add(f"{ans}0")
        add(_latex_value(Fraction(ans)))
        return out
    frac = _parse_frac(ans)
    if frac is not None:
        sign, num, den = frac
        add(_latex_frac(sign, num, den))
        add(_latex_frac(sign, num, den, "\\dfrac"))
        add(f"{sign}{num}/{den}")
        add(_decimal(Fraction(num, den) * (-1 if sign else 1)))
        return out
    m = _DEG.fullmatch(ans)
    if m is not None:
        add(f"{m[1]}^{{\\circ}}")
        add(f"{m[1]}^\\circ")
        return out

    # Structural rewrites, composed: \left/\right delimiters, comma spacing, \frac <-> \dfrac.
    def delimiters(s: str) -> str | None:
        if "\\left" in s:
            stripped = _RIGHT.sub(r"\1", _LEFT.sub(r"\1", s))
            return stripped if "\\left" not in stripped and "\\right" not in stripped else None
        if s[:1] in "([" and s.count("(") + s.count("[") == s.count(")") + s.count("]"):
            for a, b in (("(", "\\left("), (")", "\\right)"), ("[", "\\left["), ("]", "\\right]")):
                s = s.replace(a, b)
            return s
        return None

    def commas(s: str) -> str | None:
        if "," not in s or "\\text" in s or "\\!" in s or _THOUSANDS.fullmatch(s):
            return None
        return s.replace(", ", ",") if ", " in s else re.sub(r",(?=\S)", ", ", s)

    def spacing(s: str) -> str | None:
        if "\\text" in s:
            return None
        if re.search(r" [+=-] ", s):
            return re.sub(r"(?<=\S) ([+=-]) (?=\S)", r"\1", s)
        spaced = re.sub(r"(?<=[\w}])([+=-])(?=[\w\\{])", r" \1 ", s)
        return spaced if spaced != s else None

    def sqrt_braces(s: str) -> str | None:
        braced = re.sub(r"\\sqrt\s*([0-9a-zA-Z])", r"\\sqrt{\1}", s)
        return braced if braced != s else None

    def fracs(s: str) -> str | None:
        if "\\dfrac" in s:
            return s.replace("\\dfrac", "\\frac")
        return s.replace("\\frac", "\\dfrac") if "\\frac" in s else None

    for rewrite in (delimiters, commas, spacing, sqrt_braces, fracs):
        for s in list(out):
            add(rewrite(s))
    return out[:6]


def _digit_changed(n: int, rng: np.random.Generator) -> int:
    s = list(str(abs(n)))
    pos = int(rng.integers(len(s)))
    choices = [
        d for d in "0123456789" if d != s[pos] and not (pos == 0 and d == "0" and len(s) > 1)
    ]
    s[pos] = choices[int(rng.integers(len(choices)))]
    return int("".join(s)) * (-1 if n < 0 else 1)


def _perturbations(gold: str, rng: np.random.Generator) -> list[str]:
    """Plausible wrong answers derived from the gold itself (numbers only)."""
    if _INT.fullmatch(gold):
        n = int(gold)
        vals = [
            n + 1,
            n - 1,
            2 * n,
            -n,
            _digit_changed(n, rng),
            n + 10,
            n // 2 if n % 2 == 0 else n * n,
        ]
        return [str(v) for v in vals]
    if _DEC.fullmatch(gold):
        x = Fraction(gold)
        ulp = Fraction(1, 10 ** len(gold.split(".")[1]))
        decimals = map(_decimal, [x + ulp, x - ulp, 2 * x, -x, x * 10, x / 2])
        return [d for d in decimals if d is not None]
    frac = _parse_frac(gold)
    if frac is not None:
        sign, a, b = frac
        flip = "" if sign else "-"
        out = [_latex_frac(sign, b, a)] if a else []
        out += [_latex_frac(sign, a + 1, b), _latex_frac(sign, a, b + 1), _latex_frac(flip, a, b)]
        out += [_latex_frac(sign, 2 * a, b), _latex_value(Fraction(a, b) * (-1 if sign else 1) + 1)]
        if a > 1:
            out.append(_latex_frac(sign, a - 1, b))
        return out
    m = _DEG.fullmatch(gold)
    if m is not None:
        n = int(m[1])
        return [f"{v}^\\circ" for v in (180 - n, 90 - n, 2 * n, n + 10, n // 2, 360 - n) if v > 0]
    return []


def _wrong_pool(
    gold: str, k: int, rng: np.random.Generator, golds_by_kind: dict[str, list[str]]
) -> list[str]:
    """``k`` distinct wrong answers for ``gold``, most plausible (most popular) first."""
    derived = _perturbations(gold, rng)
    candidates = [derived[i] for i in rng.permutation(len(derived))]
    same_kind = golds_by_kind.get(_kind(gold), [])
    everything = golds_by_kind["*"]
    for pool in (same_kind, everything):
        candidates += [
            pool[i] for i in rng.choice(len(pool), size=min(len(pool), 4 * k), replace=False)
        ]
    chosen: list[str] = []
    for c in candidates:
        if len(chosen) == k:
            break
        if not _same_answer(c, gold) and not any(_same_answer(c, x) for x in chosen):
            chosen.append(c)
    return chosen


_GARBAGE = (
    "{a}",
    "\\sqrt{{{a}}}",
    "{b}\\pi",
    "\\frac{{{a}}}{{{b}}}",
    "x = {b}",
    "{b}.{a}",
    "-{a}",
    "{b}\\sqrt{{{b}}}",
)


# ---------------------------------------------------------------------------------------------
# Completions
# ---------------------------------------------------------------------------------------------

_OPENINGS = (
    "Let's think step by step.",
    "We need to find the requested quantity.",
    "To solve this, we start from the given conditions.",
    "First, let's set up the problem carefully.",
    "Let me work through this problem.",
    "We begin by rewriting the expression in a simpler form.",
    "I'll start by identifying what is given.",
    "Let's carefully analyze the problem statement.",
)

# %-templates over the per-sample numbers of _numbers(); LaTeX braces need no escaping here.
_STEPS = (
    "Let $x$ denote the unknown, so $%(a)dx + %(b)d = %(r)d$, which gives $x = %(c)d$.",
    "Adding the two equations gives $%(a)d + %(b)d = %(s)d$.",
    "Multiplying both sides by $%(a)d$, we get $%(a)dy = %(p)d$.",
    "Note that $%(a)d \\cdot %(b)d = %(p)d$.",
    "We compute $%(a)d^2 = %(sq)d$.",
    "Expanding, $(x + %(a)d)(x + %(b)d) = x^2 + %(s)dx + %(p)d$.",
    "By the Pythagorean theorem, $c^2 = %(a)d^2 + %(b)d^2 = %(h)d$, so $c = \\sqrt{%(h)d}$.",
    "\\[\\frac{%(p)d}{%(b)d} = %(a)d.\\]",
    "Substituting $x = %(c)d$ gives $%(a)d \\cdot %(c)d + %(b)d = %(r)d$.",
    "By Vieta's formulas, the sum of the roots is $-\\frac{b}{a}$.",
    "Subtracting, we find $%(a)d - %(b)d = %(d)d$.",
    "So $x^2 - %(s)dx + %(p)d = 0$, which factors as $(x - %(a)d)(x - %(b)d) = 0$.",
    "Hence $x = %(a)d$ or $x = %(b)d$.",
    "Wait, let me double-check that step.",
    "The area of the triangle is $\\frac{1}{2} \\cdot %(a)d \\cdot %(b)d = \\frac{%(p)d}{2}$.",
    "Dividing $%(p)d$ by $%(c)d$ leaves a remainder of $%(m)d$.",
    "There are $\\binom{%(a)d}{2} = %(ch)d$ ways to choose the pair.",
    "We can write this as $%(a)d(%(b)d + %(c)d) = %(t)d$.",
    "Let $f(x) = x^2 + %(a)dx$; then $f(%(b)d) = %(f)d$.",
    "Since $\\gcd(%(a)d, %(b)d) = %(g)d$, the fraction simplifies.",
    "This means $\\sqrt{%(sq)d} = %(a)d$, as expected.",
    "Now we can simplify: \\[%(a)dx^2 + %(b)dx = x(%(a)dx + %(b)d).\\]",
    "Therefore the total is $%(s)d + %(c)d = %(u)d$.",
    "Taking both cases into account, only one of them satisfies the constraint.",
)

_SEPARATORS = (" ", " ", " ", " ", "\n", "\n\n")

_BRIDGES = ("", "", "", "Putting everything together, we obtain ", "This gives us ")

_ENDINGS = (
    ("The final answer is $\\boxed{", "}$."),
    ("Therefore, the answer is \\boxed{", "}."),
    ("So the answer is $\\boxed{", "}$."),
    ("Thus, the answer is $\\boxed{", "}$"),
    ("**Final Answer**\n$$\\boxed{", "}$$"),
    ("Hence, $\\boxed{", "}$ is our answer."),
    ("The answer is: $\\boxed{", "}$"),
    ("Final answer: \\boxed{", "}"),
)


def _numbers(a: int, b: int, c: int) -> dict[str, int]:
    """Consistent arithmetic for the step templates."""
    p, s = a * b, a + b
    return {
        "a": a,
        "b": b,
        "c": c,
        "s": s,
        "p": p,
        "d": a - b,
        "r": a * c + b,
        "sq": a * a,
        "h": a * a + b * b,
        "m": p % c,
        "ch": a * (a - 1) // 2,
        "t": a * (b + c),
        "f": b * b + a * b,
        "g": math.gcd(a, b),
        "u": s + c,
    }


def _completion(
    nums: dict[str, int],
    steps: list[int],
    seps: list[int],
    opening: int,
    target: int,
    answer: str | None,
    bridge: int,
    ending: int,
) -> str:
    """A completion of about ``target`` bytes; without ``answer`` it is cut off at ``target``."""
    if answer is None:
        tail = ""
    else:
        prefix, suffix = _ENDINGS[ending]
        lead = _BRIDGES[bridge]
        tail = (f"{lead}${answer}$. " if lead else "") + prefix + answer + suffix
    parts = [_OPENINGS[opening]]
    size = len(parts[0]) + len(tail)
    for step, sep in zip(steps, seps, strict=True):
        if size >= target:
            break
        sentence = _STEPS[step] % nums
        parts += (_SEPARATORS[sep], sentence)
        size += len(sentence) + 1
    if answer is None:
        return "".join(parts)[:target]
    parts += ("\n\n" if seps[-1] >= 4 else " ", tail)
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def load_golds(math_path: str | Path = DEFAULT_MATH500) -> list[str]:
    """The ``answer`` field of every line of a MATH-500 style JSONL file."""
    with open(math_path, encoding="utf-8") as f:
        golds = [json.loads(line)["answer"] for line in f if line.strip()]
    if not golds:
        raise ValueError(f"no problems in {math_path}")
    return golds


def _pick(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF sampling: index into ``weights`` for each uniform in ``u``."""
    cdf = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(weights) - 1)


def _problem(
    j: int, samples: int, seed: int, golds: list[str], golds_by_kind: dict[str, list[str]]
) -> Problem:
    rng = np.random.default_rng([seed, j])
    i, rep = j % len(golds), j // len(golds)
    gold = golds[i]

    p_correct = rng.beta(1.2, 1.0)
    pool = _wrong_pool(gold, int(rng.integers(3, 9)), rng, golds_by_kind)
    zipf = 1.0 / np.arange(1, max(len(pool), 1) + 1) ** rng.uniform(0.8, 1.8)  # popularity
    p_garbage = rng.uniform(0.02, 0.12)

    gold_forms = renderings(gold)
    pool_forms = [renderings(w) for w in pool]

    def form_weights(n: int) -> np.ndarray:
        return (
            np.array([P_VERBATIM] + [(1 - P_VERBATIM) / (n - 1)] * (n - 1)) if n > 1 else np.ones(1)
        )

    truncated = rng.random(samples) < P_TRUNCATED
    correct = (rng.random(samples) < p_correct) & ~truncated
    garbage = rng.random(samples) < p_garbage
    wrong_idx = _pick(zipf, rng.random(samples)).tolist()
    form_u = rng.random(samples)
    gold_form_idx = _pick(form_weights(len(gold_forms)), form_u).tolist()
    pool_form_idx = [_pick(form_weights(len(f)), form_u).tolist() for f in pool_forms]
    targets = np.clip(rng.lognormal(np.log(LEN_MEDIAN), LEN_SIGMA, samples), LEN_MIN, LEN_MAX)
    abc = rng.integers(2, 60, size=(samples, 3)).tolist()
    garbage_ab = rng.integers(100, 100_000, size=(samples, 3)).tolist()
    steps = rng.random((samples, len(_STEPS))).argsort(axis=1)[:, :N_STEPS].tolist()  # no repeats
    seps = rng.integers(0, len(_SEPARATORS), size=(samples, N_STEPS)).tolist()
    style = np.column_stack(
        [
            rng.integers(0, len(_OPENINGS), samples),
            rng.integers(0, len(_BRIDGES), samples),
            rng.integers(0, len(_ENDINGS), samples),
        ]
    ).tolist()
    scores = np.where(correct, rng.beta(5.0, 2.0, samples), rng.beta(2.0, 5.0, samples))
    scores = np.clip(np.round(scores, 4), 0.0, 1.0)

    completions: list[str] = []
    for s, (is_trunc, is_correct, is_garbage) in enumerate(
        zip(truncated.tolist(), correct.tolist(), garbage.tolist(), strict=True)
    ):
        answer: str | None
        if is_trunc:
            answer = None
        elif is_correct:
            answer = gold_forms[gold_form_idx[s]]
        elif is_garbage or not pool:
            ga, gb, gk = garbage_ab[s]
            answer = _GARBAGE[gk % len(_GARBAGE)].format(a=ga, b=gb % 1000)
        else:
            w = wrong_idx[s]
            answer = pool_forms[w][pool_form_idx[w][s]]
        opening, bridge, ending = style[s]
        completions.append(
            _completion(
                _numbers(*abc[s]),
                steps[s],
                seps[s],
                opening,
                int(targets[s]),
                answer,
                bridge,
                ending,
            )
        )
    return {
        "problem_id": f"math500-{i}-{rep}",
        "gold": gold,
        "completions": completions,
        "scores": scores.tolist(),
    }


def generate(
    problems: int, samples: int, seed: int = 0, math_path: str | Path = DEFAULT_MATH500
) -> Iterator[Problem]:
    """Yield ``problems`` problem dicts, each with ``samples`` completions and scores."""
    if problems < 0 or samples < 1:
        raise ValueError("need problems >= 0 and samples >= 1")
    golds = load_golds(math_path)
    golds_by_kind: dict[str, list[str]] = {"*": golds}
    for g in golds:
        golds_by_kind.setdefault(_kind(g), []).append(g)
    for j in range(problems):
        yield _problem(j, samples, seed, golds, golds_by_kind)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def output_format(path: str | Path) -> str:
    """The format suffix of ``path``: one of FORMATS."""
    name = str(path)
    for suffix in FORMATS:
        if name.endswith(suffix):
            return suffix
    raise ValueError(f"{path}: unknown format, expected a name ending in one of {FORMATS}")


def _jsonl_chunks(problems: Iterable[Problem], layout: str) -> Iterator[bytes]:
    dumps = json.dumps
    for p in problems:
        pid, gold = p["problem_id"], p["gold"]
        if layout == "per-problem":
            row = {
                "problem_id": pid,
                "gold": gold,
                "completions": p["completions"],
                "scores": p["scores"],
            }
            yield (dumps(row) + "\n").encode()
        else:
            yield "".join(
                dumps({"problem_id": pid, "gold": gold, "completion": c, "score": s}) + "\n"
                for c, s in zip(p["completions"], p["scores"], strict=True)
            ).encode()


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


def _require(module: str, fmt: str) -> Any:
    """Import an optional dependency, needed only for ``fmt`` outputs."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        package = module.split(".")[0]
        raise ImportError(f"writing {fmt} needs {package} (pip install {package})") from e


def _write_jsonl(problems: Iterable[Problem], path: Path, layout: str, fmt: str) -> None:
    zstandard = _require("zstandard", fmt) if fmt == ".jsonl.zst" else None
    with open(path, "wb") as raw:
        out: _Sink
        if fmt == ".jsonl.gz":
            out = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0)
        elif zstandard is not None:
            out = zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False)
        else:
            out = raw
        for chunk in _jsonl_chunks(problems, layout):
            out.write(chunk)
        if out is not raw:
            out.close()  # ends the gzip member / zstd frame; ``raw`` stays open until here


def _write_parquet(problems: Iterable[Problem], path: Path, layout: str) -> None:
    pa = _require("pyarrow", ".parquet")
    pq = _require("pyarrow.parquet", ".parquet")

    if layout == "per-problem":
        schema = pa.schema(
            [
                ("problem_id", pa.string()),
                ("gold", pa.string()),
                ("completions", pa.list_(pa.string())),
                ("scores", pa.list_(pa.float64())),
            ]
        )
    else:
        schema = pa.schema(
            [
                ("problem_id", pa.string()),
                ("gold", pa.string()),
                ("completion", pa.string()),
                ("score", pa.float64()),
            ]
        )
    it = iter(problems)
    with pq.ParquetWriter(path, schema) as writer:
        while batch := list(itertools.islice(it, PARQUET_PROBLEMS_PER_ROW_GROUP)):
            if layout == "per-problem":
                columns: dict[str, list[Any]] = {
                    "problem_id": [p["problem_id"] for p in batch],
                    "gold": [p["gold"] for p in batch],
                    "completions": [p["completions"] for p in batch],
                    "scores": [p["scores"] for p in batch],
                }
            else:
                columns = {
                    "problem_id": [p["problem_id"] for p in batch for _ in p["completions"]],
                    "gold": [p["gold"] for p in batch for _ in p["completions"]],
                    "completion": [c for p in batch for c in p["completions"]],
                    "score": [s for p in batch for s in p["scores"]],
                }
            table = pa.Table.from_pydict(columns, schema=schema)
            writer.write_table(table, row_group_size=max(table.num_rows, 1))


def write(problems: Iterable[Problem], path: str | Path, layout: str = "per-problem") -> None:
    """Stream ``problems`` to ``path`` in ``layout``; the format follows the path's suffix."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    fmt = output_format(path)
    path = Path(path)
    if fmt == ".parquet":
        _write_parquet(problems, path, layout)
    else:
        _write_jsonl(problems, path, layout, fmt)


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


class _Stats:
    """Counts what passes through, for the CLI summary."""

    def __init__(self) -> None:
        self.problems = self.samples = self.chars = self.unboxed = 0

    def watch(self, problems: Iterable[Problem]) -> Iterator[Problem]:
        for p in problems:
            self.problems += 1
            self.samples += len(p["completions"])
            self.chars += sum(map(len, p["completions"]))
            self.unboxed += sum("\\boxed{" not in c for c in p["completions"])
            yield p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument(
        "out", type=Path, help="output file, format from the suffix: " + ", ".join(FORMATS)
    )
    ap.add_argument("--problems", type=int, default=2000, help="problems (MATH-500 golds, cycled)")
    ap.add_argument("--samples", type=int, default=512, help="completions per problem")
    ap.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="per-problem",
        help="rows: one per problem, or one per sample",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed of all the content")
    ap.add_argument("--math", type=Path, default=DEFAULT_MATH500, help="MATH-500 test.jsonl")
    args = ap.parse_args(argv)
    try:
        output_format(args.out)
    except ValueError as e:
        ap.error(str(e))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    stats = _Stats()
    problems = stats.watch(generate(args.problems, args.samples, args.seed, args.math))
    try:
        write(problems, args.out, args.layout)
    except ImportError as e:
        ap.exit(2, f"{ap.prog}: error: {e}\n")
    secs = time.perf_counter() - t0
    size, n = args.out.stat().st_size, max(stats.samples, 1)
    print(
        f"{args.out}: {stats.problems} problems x {args.samples} samples ({args.layout}), "
        f"{size / 1e6:.1f} MB in {secs:.1f} s; mean completion {stats.chars / n:.0f} chars, "
        f"{stats.unboxed / n:.2%} without \\boxed",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
