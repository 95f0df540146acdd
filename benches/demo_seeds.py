#!/usr/bin/env python3
"""Summarise ``rlv demo`` runs over seeds: the table (and spread) for the README.

Run the demos first (one per seed, e.g. ``rlv demo --seed 1 --out runs/demo-1``), then::

    python benches/demo_seeds.py runs/demo-0 runs/demo-1 ... [--plot seeds.png]

Prints, per seed and as mean +- standard deviation over seeds: reward before / after RL
(held-out), verifier AUC, majority@32 and weighted@32 of RL^V, base RL's (lambda = 0)
majority@32 and weighted@32 (its own verifier), the separately trained verifier's weighted@32,
the share of problems where RL^V's / base RL's majority vote is wrong although a sample is
right (and the verifier's AUC on them), and the efficiency ratio (samples and tokens base
majority needs to match RL^V weighted at 32), plus the wall time. Then the paired
differences at 32 samples pooled over seeds, with a problem-level bootstrap interval
(problems resampled within each seed).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np

N = "32"


def _eff(r: dict[str, Any], what: str) -> float:
    e = r.get("efficiency", {}).get(what)
    if not e:
        return math.nan
    v = e["per_k"].get(N) if what == "samples" else e["headline"]
    return math.nan if v is None else float(v)


COLUMNS: list[tuple[str, Any]] = [
    ("reward before RL", lambda r: r["reward_before_rl"]),
    ("RL^V reward", lambda r: r["reward_after_rl"]),
    ("RL^V AUC", lambda r: r["verifier_auc"]),
    ("RL^V maj@32", lambda r: r["curves"]["majority"][N]),
    ("RL^V wtd@32", lambda r: r["curves"]["weighted"][N]),
    ("base reward", lambda r: r["baseline"]["reward_after_rl"]),
    ("base AUC", lambda r: r["baseline"]["verifier_auc"]),
    ("base maj@32", lambda r: r["baseline"]["curves"]["majority"][N]),
    ("base wtd@32", lambda r: r["baseline"]["curves"]["weighted"][N]),
    ("sep. verifier AUC", lambda r: r.get("separate_verifier", {}).get("verifier_auc", math.nan)),
    (
        "base + sep. verifier wtd@32",
        lambda r: (
            r.get("separate_verifier", {}).get("curves", {}).get("weighted", {}).get(N, math.nan)
        ),
    ),
    ("RL^V maj-fails share", lambda r: r.get("premise", {}).get("share", math.nan)),
    ("RL^V AUC there", lambda r: r.get("premise", {}).get("verifier_auc_there", math.nan)),
    ("base maj-fails share", lambda r: r["baseline"].get("premise", {}).get("share", math.nan)),
    ("efficiency @32 (samples)", lambda r: _eff(r, "samples")),
    ("efficiency (tokens)", lambda r: _eff(r, "tokens")),
    ("minutes", lambda r: r["timings"]["total_s"] / 60),
]

PAIRS = [
    ("RL^V weighted - base majority", ("rlv/eval", "weighted"), ("baseline/eval", "majority")),
    ("RL^V weighted - base weighted", ("rlv/eval", "weighted"), ("baseline/eval", "weighted")),
    (
        "RL^V weighted - base + sep. verifier weighted",
        ("rlv/eval", "weighted"),
        ("separate-verifier", "weighted"),
    ),
    ("RL^V weighted - RL^V majority", ("rlv/eval", "weighted"), ("rlv/eval", "majority")),
    ("RL^V majority - base majority", ("rlv/eval", "majority"), ("baseline/eval", "majority")),
]


def _decisions(path: Path) -> dict[str, dict[str, Any]]:
    rows = (json.loads(x) for x in path.read_text().splitlines() if x.strip())
    return {r["problem_id"]: r for r in rows}


def _diffs(run: Path, a: tuple[str, str], b: tuple[str, str]) -> np.ndarray:
    """Per-problem 0/1 differences of two full-pool decisions of one run."""
    da = _decisions(run / a[0] / "decisions.jsonl")
    db = _decisions(run / b[0] / "decisions.jsonl")
    ids = sorted(da.keys() & db.keys())
    return np.array(
        [float(da[i][a[1]]["correct"]) - float(db[i][b[1]]["correct"]) for i in ids], dtype=float
    )


def _fmt(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.3f}"


def main() -> None:
    from rlv.demo import bootstrap_ci

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="demo output directories")
    ap.add_argument("--plot", type=Path, default=None, help="plot the first run's curves here")
    args = ap.parse_args()
    reports = [json.loads((d / "report.json").read_text()) for d in args.runs]
    header = ["seed", *[c for c, _ in COLUMNS]]
    rows = [[str(r.get("seed", "?")), *[_fmt(f(r)) for _, f in COLUMNS]] for r in reports]
    if len(reports) > 1:
        stats = []
        for _, f in COLUMNS:
            vals = [v for v in (f(r) for r in reports) if not math.isnan(v)]
            stats.append(
                f"{statistics.mean(vals):.3f} +- {statistics.stdev(vals):.3f}"
                if len(vals) > 1
                else "-"
            )
        rows.append(["mean +- sd", *stats])
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print(f"Paired differences at {N} samples, pooled over {len(args.runs)} seed(s):")
    print("| comparison | mean (points) | 95% bootstrap CI | problems | wins / losses |")
    print("|---|---:|---|---:|---:|")
    for name, a, b in PAIRS:
        try:
            groups = [_diffs(run, a, b) for run in args.runs]
        except FileNotFoundError:
            continue
        allv = np.concatenate(groups)
        lo, hi = bootstrap_ci(groups, seed=0, resamples=5000)
        print(
            f"| {name} | {100 * allv.mean():+.1f} | [{100 * lo:+.1f}, {100 * hi:+.1f}] | "
            f"{len(allv)} | {int((allv > 0).sum())} / {int((allv < 0).sum())} |"
        )
    if args.plot is not None:
        from rlv.demo import plot_demo

        plot_demo(reports[0], args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
