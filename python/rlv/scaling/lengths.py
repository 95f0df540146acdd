"""Length selection by verifier confidence (sequential + parallel test-time scaling).

For budgets ``L_1 < ... < L_m`` tokens, each of a problem's N samples is cut at every budget
(one long generation serves every budget, see :mod:`rlv.scaling.budgets`). The stopping rule
for a threshold tau weighted-votes the pool at ``L_1``, ``L_2``, ... and stops at the first
budget whose confidence reaches tau (else at the last one). Sweeping tau traces accuracy
against the mean tokens actually spent per sample (generation + verification), next to
fixed-budget majority and weighted voting. The method, the estimators (exact where they are,
Monte Carlo where they are not) and the dump fields are in ``docs/scaling-length.md``; the
estimator loop runs in rlv's Rust core (``rlv_core::lengths``) with the GIL released.

Two samples, budgets 4 and 8 tokens, one token per verification: at 4, sample 0 is still
reasoning and sample 1 has answered (and ended after 3 tokens); at 8, both answer 7.

    >>> from rlv.scaling.lengths import BudgetProblem, length_select
    >>> p = BudgetProblem(id="p0", gold="7",
    ...     completions=[["so far 3", "#### 7"], ["#### 7", "#### 7"]],
    ...     scores=[[0.5, 0.5], [0.9, 0.5]], cut_tokens=[[4, 3], [6, 3]],
    ...     forced_tokens=[[0, 0], [0, 0]], verify_tokens=1)
    >>> sel = length_select([p], [4, 8], ks=[2], taus=[0.4, 0.9])["selection"]["2"]
    >>> sel["accuracy"], sel["tokens"], sel["stop_budget"]
    ([1.0, 1.0], [4.5, 6.0], [4.0, 8.0])

From dumps: ``length_select_dump(["budgets.jsonl"])``, then :func:`format_length_table` and
:func:`plot_lengths` (or ``rlv lengths budgets.jsonl --plot lengths.png``).
"""

from __future__ import annotations

import gzip
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rlv import _core
from rlv.exceptions import DumpError
from rlv.grading import GradeOptions, grade_batch
from rlv.scaling.estimators import ESTIMATORS, default_ks
from rlv.scaling.votes import cluster

__all__ = [
    "DEFAULT_TAUS",
    "REPORT_VERSION",
    "BudgetProblem",
    "ConfidenceKind",
    "equal_token_ratio",
    "format_length_table",
    "length_select",
    "length_select_dump",
    "plot_lengths",
    "read_budget_dump",
]

ConfidenceKind = Literal["share", "mass"]
#: Default thresholds: 0, 0.05, ..., 1.
DEFAULT_TAUS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(21))
#: Version of the report's shape.
REPORT_VERSION = 1


@dataclass(frozen=True)
class BudgetProblem:
    """One problem's samples at every budget.

    Attributes:
        id: the problem id.
        gold: the gold answer (bare, ``\\boxed{}`` or ``#### N``).
        completions: ``[budget][sample]`` the text the verifier scored at that budget (the
            cut, plus the forced answer when budget forcing was on); ``None``: no text.
        scores: ``[budget][sample]`` verifier scores in [0, 1].
        cut_tokens: ``[budget][sample]`` generated tokens of the cut (at most the budget,
            non-decreasing from budget to budget).
        forced_tokens: ``[budget][sample]`` tokens of the forced answer (0: none).
        verify_tokens: tokens one verification costs (see ``docs/scaling-length.md``).
    """

    id: str
    gold: str
    completions: Sequence[Sequence[str | None]]
    scores: Sequence[Sequence[float]]
    cut_tokens: Sequence[Sequence[int]]
    forced_tokens: Sequence[Sequence[int]]
    verify_tokens: int


# ---------------------------------------------------------------------------------------------
# reading dumps

_BUDGET_FIELDS = ("budget_completions", "budget_scores", "cut_tokens", "forced_tokens")


def _bad(path: Path, line: int, field: str | None, message: str) -> DumpError:
    where = f"field {field!r}: " if field else ""
    return DumpError(f"{path}:{line}: {where}{message}")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    opener: Any = gzip.open if gz else open
    with opener(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                yield i, line


def _matrix(
    row: Mapping[str, Any], field: str, m: int, n: int | None, kind: str, path: Path, line: int
) -> list[list[Any]]:
    v = row.get(field)
    if not isinstance(v, list) or len(v) != m or not all(isinstance(x, list) for x in v):
        raise _bad(path, line, field, f"expected a list of {m} lists (one per budget)")
    width = n if n is not None else len(v[0])
    for j, r in enumerate(v):
        if len(r) != width:
            raise _bad(path, line, field, f"budget {j} has {len(r)} samples, expected {width}")
        for x in r:
            ok = (
                (x is None or isinstance(x, str))
                if kind == "text"
                else isinstance(x, int) and not isinstance(x, bool) and x >= 0
                if kind == "count"
                else isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x <= 1
            )
            if not ok:
                want = {
                    "text": "a string or null",
                    "count": "a non-negative integer",
                    "score": "a number in [0, 1]",
                }[kind]
                raise _bad(path, line, field, f"budget {j}: {x!r} is not {want}")
    return v


def read_budget_dump(path: str | os.PathLike[str]) -> tuple[list[int], list[BudgetProblem]]:
    """The budgets and problems of a budget dump (``rlv sample --budgets``; JSONL, plain or
    gzip). Every row must have the same budgets.

    Raises:
        rlv.exceptions.DumpError: a malformed row (file, line and field in the message), a
            row without budget fields (a plain ``rlv sample`` dump), or rows with other
            budgets than the first.
        OSError: a file that cannot be read.
    """
    p = Path(path)
    budgets: list[int] | None = None
    problems: list[BudgetProblem] = []
    for line, text in _lines(p):
        try:
            row = json.loads(text)
        except ValueError as e:
            raise _bad(p, line, None, f"not JSON: {e}") from None
        if not isinstance(row, dict):
            raise _bad(p, line, None, "expected a JSON object")
        b = row.get("budgets")
        if b is None:
            raise _bad(
                p,
                line,
                "budgets",
                "missing: not a budget dump (write one with `rlv sample --budgets L1,L2,...`)",
            )
        if (
            not isinstance(b, list)
            or not b
            or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in b)
            or any(y <= x for x, y in zip(b, b[1:], strict=False))
        ):
            raise _bad(p, line, "budgets", f"{b!r} is not a strictly increasing list of ints > 0")
        if budgets is None:
            budgets = b
        elif b != budgets:
            raise _bad(p, line, "budgets", f"{b} differs from the first row's {budgets}")
        m = len(b)
        comps = _matrix(row, "budget_completions", m, None, "text", p, line)
        n = len(comps[0])
        if n == 0:
            raise _bad(p, line, "budget_completions", "no samples")
        scores = _matrix(row, "budget_scores", m, n, "score", p, line)
        cut = _matrix(row, "cut_tokens", m, n, "count", p, line)
        forced = _matrix(row, "forced_tokens", m, n, "count", p, line)
        for j in range(m):
            for i in range(n):
                if cut[j][i] > b[j] or (j and cut[j][i] < cut[j - 1][i]):
                    raise _bad(
                        p,
                        line,
                        "cut_tokens",
                        f"budget {j}, sample {i}: {cut[j][i]} (cuts are at most their budget "
                        "and never shrink)",
                    )
        vt = row.get("verify_tokens")
        if not isinstance(vt, int) or isinstance(vt, bool) or vt < 0:
            raise _bad(p, line, "verify_tokens", f"{vt!r} is not a non-negative integer")
        gold = row.get("gold")
        if not isinstance(gold, (str, int)) or isinstance(gold, bool) or not str(gold).strip():
            raise _bad(p, line, "gold", f"{gold!r} is not a non-empty string or number")
        pid = row.get("problem_id", f"{p.stem}-{line}")
        problems.append(
            BudgetProblem(
                id=str(pid),
                gold=str(gold),
                completions=comps,
                scores=scores,
                cut_tokens=cut,
                forced_tokens=forced,
                verify_tokens=vt,
            )
        )
    if budgets is None:
        raise DumpError(f"{p}: no rows")
    return budgets, problems


# ---------------------------------------------------------------------------------------------
# estimating


def _classes(
    problem: BudgetProblem, options: GradeOptions
) -> tuple[npt.NDArray[np.int32], list[npt.NDArray[np.bool_]], npt.NDArray[np.bool_]]:
    """``(class_of, class_correct, sample_correct)`` per budget: classes by math equivalence
    (:func:`rlv.cluster`), correctness by :func:`rlv.grade_batch` against the gold; a class
    is correct when its first member is (as in ``rlv rescore``)."""
    m = len(problem.completions)
    n = len(problem.completions[0])
    class_of = np.full((m, n), -1, dtype=np.int32)
    sample_correct = np.zeros((m, n), dtype=np.bool_)
    class_correct: list[npt.NDArray[np.bool_]] = []
    for j, texts in enumerate(problem.completions):
        answers = [
            None if t is None else _core.extract_answer(t, mode=options.mode)[0] for t in texts
        ]
        cl = cluster(answers, options=options)
        have = [i for i, t in enumerate(texts) if t is not None]
        if have:
            rewards, _ = grade_batch(
                [texts[i] or "" for i in have], [problem.gold] * len(have), options=options
            )
            for i, r in zip(have, rewards, strict=True):
                sample_correct[j, i] = bool(r == 1.0) and cl[i] >= 0
        class_of[j] = cl
        n_classes = int(cl.max()) + 1 if cl.size else 0
        cc = np.zeros(n_classes, dtype=np.bool_)
        for c in range(n_classes):
            cc[c] = sample_correct[j, int(np.flatnonzero(cl == c)[0])]
        class_correct.append(cc)
    return class_of, class_correct, sample_correct


def _nan_summary(x: npt.NDArray[np.float64], level_z: float) -> tuple[float, float, float, int]:
    """Mean, CI half-width (normal, across problems) and count of the defined values."""
    v = x[~np.isnan(x)]
    if v.size == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return mean, level_z * sd / math.sqrt(v.size), float(v.size), int(v.size)


def length_select(
    problems: Sequence[BudgetProblem],
    budgets: Sequence[int],
    *,
    ks: Sequence[int] | None = None,
    taus: Sequence[float] = DEFAULT_TAUS,
    subsets: int = 100,
    seed: int = 0,
    confidence: ConfidenceKind = "share",
    verify_tokens: int | None = None,
    num_threads: int | None = None,
    options: GradeOptions | None = None,
) -> dict[str, Any]:
    """The length-selection report of ``problems`` (see ``docs/scaling-length.md``).

    Args:
        problems: the problems, each with one row per budget.
        budgets: the budgets in tokens, strictly increasing.
        ks: pool sizes (default: 1, 2, 4, ... up to the largest sample count).
        taus: thresholds in [0, 1].
        subsets: random k-subsets per k (the stopping rule is exact where there are at most
            this many k-subsets, Monte Carlo otherwise).
        seed: seed of the subsets (problem ``i`` uses stream ``(seed, i, k)``).
        confidence: ``"share"`` (winning class's share of the pool's total score) or
            ``"mass"`` (winning class's score sum over the pool size).
        verify_tokens: tokens one verification costs, instead of each problem's own
            (``0``: count generation tokens only).
        options: grading options (:class:`rlv.grading.GradeOptions`); default strict
            extraction (explicit anchors only: ``\\boxed{}``, ``####``, "the answer is"),
            so that a cut in the middle of the reasoning is a sample without an answer.

    Returns:
        ``{"budgets", "ks", "taus", "confidence", "problems", "selection": {k: {...}},
        "fixed": {k: {method: {...}}}, "equal_tokens": {k: [...]}, "settings": {...}}``:
        per k, the stopping rule's accuracy, confidence-interval half-width across problems,
        Monte Carlo standard error, mean tokens per sample and mean stopping budget for
        each tau, and each fixed budget's accuracy (pass, majority, weighted, best-of-k) and
        tokens per sample.

    Raises:
        ValueError: bad budgets, ks, taus, confidence, or problems whose arrays do not fit
            (the message names the problem).
    """
    if not problems:
        raise ValueError("no problems")
    if verify_tokens is not None and verify_tokens < 0:
        raise ValueError(f"verify_tokens must be >= 0, got {verify_tokens}")
    bud = [int(b) for b in budgets]
    # Strict extraction by default: a cut inside the reasoning has no explicit answer, and its
    # last number (what lenient extraction would read) is not one.
    opts = options if options is not None else GradeOptions(mode="strict")
    n_max = max(len(p.completions[0]) if p.completions else 0 for p in problems)
    kk = [int(k) for k in ks] if ks is not None else default_ks(n_max)
    tt = [float(t) for t in taus]
    m = len(bud)
    args: dict[str, list[Any]] = {
        "class_of": [],
        "class_correct": [],
        "sample_correct": [],
        "scores": [],
        "cut": [],
        "forced": [],
        "verify": [],
    }
    for i, p in enumerate(problems):
        if len(p.completions) != m:
            raise ValueError(f"problem {i} ({p.id}): {len(p.completions)} budgets, expected {m}")
        cl, cc, sc = _classes(p, opts)
        args["class_of"].append(cl)
        args["class_correct"].append(cc)
        args["sample_correct"].append(sc)
        args["scores"].append(np.asarray(p.scores, dtype=np.float64).reshape(m, -1))
        args["cut"].append(np.asarray(p.cut_tokens, dtype=np.uint64).reshape(m, -1))
        args["forced"].append(np.asarray(p.forced_tokens, dtype=np.uint64).reshape(m, -1))
        args["verify"].append(int(p.verify_tokens if verify_tokens is None else verify_tokens))
    acc, acc_var, tokens, stop, exact, fixed, fixed_tok = _core.length_select(
        bud,
        args["class_of"],
        args["class_correct"],
        args["sample_correct"],
        args["scores"],
        args["cut"],
        args["forced"],
        args["verify"],
        ks=kk,
        taus=tt,
        subsets=int(subsets),
        seed=int(seed),
        confidence=confidence,
        num_threads=num_threads,
    )
    z = 1.959963984540054  # 95 % normal interval across problems
    selection: dict[str, Any] = {}
    fixed_out: dict[str, Any] = {}
    equal: dict[str, Any] = {}
    for ki, k in enumerate(kk):
        col = acc[:, ki, :]
        defined = ~np.isnan(col[:, 0])
        if not defined.any():
            continue
        cnt = int(defined.sum())
        rows = [_nan_summary(col[:, t], z) for t in range(len(tt))]
        mc_se = [float(math.sqrt(acc_var[defined, ki, t].sum()) / cnt) for t in range(len(tt))]
        selection[str(k)] = {
            "accuracy": [r[0] for r in rows],
            "ci_half": [r[1] for r in rows],
            "mc_se": mc_se,
            "tokens": [float(tokens[defined, ki, t].mean()) for t in range(len(tt))],
            "stop_budget": [float(stop[defined, ki, t].mean()) for t in range(len(tt))],
            "exact_problems": int(exact[defined, ki].sum()),
            "problems": cnt,
        }
        per: dict[str, Any] = {}
        for e, name in enumerate(ESTIMATORS):
            vals = [_nan_summary(fixed[:, j, e, ki], z) for j in range(m)]
            tok_col = 1 if name in ("weighted", "best_of_n") else 0
            tok = [float(fixed_tok[defined, j, tok_col].mean()) for j in range(m)]
            if name == "pass":
                # pass@k needs no verifier but is not a method one can run: generation only.
                tok = [float(fixed_tok[defined, j, 0].mean()) for j in range(m)]
            per[name] = {
                "accuracy": [v[0] for v in vals],
                "ci_half": [v[1] for v in vals],
                "tokens": tok,
            }
        fixed_out[str(k)] = per
        equal[str(k)] = equal_token_ratio(
            selection[str(k)]["tokens"],
            selection[str(k)]["accuracy"],
            per["majority"]["tokens"],
            per["majority"]["accuracy"],
        )
    return {
        "report_version": REPORT_VERSION,
        "rlv_version": _core.__version__,
        "budgets": bud,
        "ks": [int(k) for k in kk if str(k) in selection],
        "taus": tt,
        "confidence": confidence,
        "problems": len(problems),
        "samples": int(sum(len(p.completions[0]) for p in problems)),
        "selection": selection,
        "fixed": fixed_out,
        "equal_tokens": equal,
        "settings": {
            "subsets": int(subsets),
            "seed": int(seed),
            "verify_tokens": sorted({int(v) for v in args["verify"]}),
            "grade_options": opts.to_dict(),
        },
    }


def equal_token_ratio(
    tokens: Sequence[float],
    accuracy: Sequence[float],
    base_tokens: Sequence[float],
    base_accuracy: Sequence[float],
) -> list[dict[str, float | None]]:
    """For each point of a curve, the baseline's accuracy at the same tokens (linear
    interpolation between the baseline's points, ``None`` outside their range) and the
    ratio ``accuracy / baseline`` (``None`` where the baseline is 0 or undefined)."""
    pts = sorted(
        (float(t), float(a))
        for t, a in zip(base_tokens, base_accuracy, strict=True)
        if not (math.isnan(t) or math.isnan(a))
    )
    out: list[dict[str, float | None]] = []
    for t, a in zip(tokens, accuracy, strict=True):
        base: float | None = None
        if pts and pts[0][0] <= t <= pts[-1][0]:
            for (t0, a0), (t1, a1) in zip(pts, pts[1:], strict=False):
                if t0 <= t <= t1:
                    base = a0 if t1 == t0 else a0 + (a1 - a0) * (t - t0) / (t1 - t0)
                    break
            if base is None:
                base = pts[0][1]
        ratio = a / base if base is not None and base > 0 and not math.isnan(a) else None
        out.append({"tokens": t, "accuracy": a, "baseline": base, "ratio": ratio})
    return out


def length_select_dump(paths: Sequence[str | os.PathLike[str]], **kwargs: Any) -> dict[str, Any]:
    """:func:`length_select` on budget dumps (every file must have the same budgets);
    keyword arguments as :func:`length_select`.

    Raises:
        rlv.exceptions.DumpError: a malformed row, or files with other budgets.
    """
    if not paths:
        raise ValueError("no dump given")
    budgets: list[int] | None = None
    problems: list[BudgetProblem] = []
    for path in paths:
        b, probs = read_budget_dump(path)
        if budgets is not None and b != budgets:
            raise DumpError(f"{path}: budgets {b} differ from the first dump's {budgets}")
        budgets = b
        problems.extend(probs)
    assert budgets is not None
    report = length_select(problems, budgets, **kwargs)
    report["settings"]["files"] = [str(p) for p in paths]
    return report


# ---------------------------------------------------------------------------------------------
# table and plot


def _pick_k(report: Mapping[str, Any], k: int | None) -> str:
    if not report["ks"]:
        raise ValueError("the report has no defined k")
    key = str(k if k is not None else max(report["ks"]))
    if key not in report["selection"]:
        raise ValueError(f"k = {k} is not in the report (ks: {report['ks']})")
    return key


def format_length_table(report: Mapping[str, Any], *, k: int | None = None) -> str:
    """Two plain-text tables for pool size ``k`` (default: the largest): the fixed budgets
    (tokens per sample and accuracy of majority and weighted voting) and the tau sweep
    (tokens, accuracy +- CI half-width, Monte Carlo SE, mean stopping budget, and the
    accuracy ratio to fixed-budget majority at equal tokens)."""
    key = _pick_k(report, k)
    fx = report["fixed"][key]
    rows = [["budget", "maj tokens", "majority %", "wtd tokens", "weighted %"]]
    for j, b in enumerate(report["budgets"]):
        rows.append(
            [
                str(b),
                f"{fx['majority']['tokens'][j]:.1f}",
                f"{100 * fx['majority']['accuracy'][j]:.1f} +- "
                f"{100 * fx['majority']['ci_half'][j]:.1f}",
                f"{fx['weighted']['tokens'][j]:.1f}",
                f"{100 * fx['weighted']['accuracy'][j]:.1f} +- "
                f"{100 * fx['weighted']['ci_half'][j]:.1f}",
            ]
        )
    sel = report["selection"][key]
    eq = report["equal_tokens"][key]
    rows2 = [["tau", "tokens", "accuracy %", "MC se", "stop budget", "vs majority"]]
    for t, tau in enumerate(report["taus"]):
        r = eq[t]["ratio"]
        rows2.append(
            [
                f"{tau:g}",
                f"{sel['tokens'][t]:.1f}",
                f"{100 * sel['accuracy'][t]:.1f} +- {100 * sel['ci_half'][t]:.1f}",
                f"{100 * sel['mc_se'][t]:.2f}",
                f"{sel['stop_budget'][t]:.1f}",
                "-" if r is None else f"{r:.3f}x",
            ]
        )

    def fmt(rs: list[list[str]]) -> str:
        widths = [max(len(r[i]) for r in rs) for i in range(len(rs[0]))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rs]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    head = (
        f"k = {key} samples, {report['problems']} problems, confidence {report['confidence']}"
        f" (stopping rule exact on {sel['exact_problems']} of {sel['problems']} problems,"
        f" Monte Carlo on the rest)"
    )
    return f"{head}\nfixed budgets:\n{fmt(rows)}\nlength selection by confidence:\n{fmt(rows2)}"


def plot_lengths(
    report: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    k: int | None = None,
    title: str | None = None,
    baseline: Mapping[str, Any] | None = None,
    labels: tuple[str, str] = ("RL^V", "base RL"),
) -> None:
    """Accuracy vs mean tokens per sample: fixed-budget majority, fixed-budget weighted and
    the confidence-selected length (one point per tau), for pool size ``k``; with
    ``baseline`` (another model's report on the same problems) also its fixed-budget
    majority curve. ``labels`` name the two models. Needs matplotlib
    (``pip install 'rlv[plot]'``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'rlv[plot]'") from e
    key = _pick_k(report, k)
    fx = report["fixed"][key]
    sel = report["selection"][key]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    who = f"{labels[0]}, " if baseline is not None else ""
    for name, style in (("majority", "s--"), ("weighted", "o--")):
        ax.plot(
            fx[name]["tokens"],
            [100 * a for a in fx[name]["accuracy"]],
            style,
            label=f"{who}fixed budget, {name}",
        )
    if baseline is not None:
        bm = baseline["fixed"][key]["majority"]
        ax.plot(
            bm["tokens"],
            [100 * a for a in bm["accuracy"]],
            "x:",
            color="k",
            label=f"{labels[1]}, fixed budget, majority",
        )
    order = np.argsort(sel["tokens"], kind="stable")
    ax.plot(
        [sel["tokens"][i] for i in order],
        [100 * sel["accuracy"][i] for i in order],
        "^-",
        ms=4,
        label=f"{who}confidence-selected length (weighted, {report['confidence']})",
    )
    ax.set_xlabel("mean tokens per sample (generation + verification)")
    ax.set_ylabel("accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"k = {key} samples, budgets {report['budgets']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
