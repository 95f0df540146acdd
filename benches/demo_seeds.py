#!/usr/bin/env python3
"""Summarise ``rlv demo --baseline`` runs over seeds: the table (and spread) for the README.

Run the demos first (one per seed, e.g. ``rlv demo --baseline --seed 1 --out runs/demo-1``),
then::

    python benches/demo_seeds.py runs/demo-0 runs/demo-1 runs/demo-2 [--plot seeds.png]

Prints, per seed and as mean +- standard deviation over seeds: reward before / after RL
(held-out), verifier AUC, majority@32 and weighted@32 of RL^V, the paired weighted - majority
difference, the baseline's (lambda = 0) majority@32, RL^V's weighted@32 minus the baseline's
majority@32 paired over problems, the baseline's weighted@32 and AUC, plus the demo's wall
time.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

N = "32"

COLUMNS: list[tuple[str, Any]] = [
    ("reward before RL", lambda r: r["reward_before_rl"]),
    ("reward after RL", lambda r: r["reward_after_rl"]),
    ("verifier AUC", lambda r: r["verifier_auc"]),
    ("RL^V maj@32", lambda r: r["curves"]["majority"][N]),
    ("RL^V wtd@32", lambda r: r["curves"]["weighted"][N]),
    ("RL^V BoN@32", lambda r: r["curves"]["best_of_n"][N]),
    ("wtd - maj (paired)", lambda r: r["paired"]["weighted_minus_majority"]),
    ("base maj@32", lambda r: r["baseline"]["curves"]["majority"][N]),
    ("RL^V wtd - base maj (paired)", lambda r: r["vs_baseline"]["weighted_minus_majority"]),
    ("base wtd@32", lambda r: r["baseline"]["curves"]["weighted"][N]),
    ("base AUC", lambda r: r["baseline"]["verifier_auc"]),
    ("base reward", lambda r: r["baseline"]["reward_after_rl"]),
    ("minutes", lambda r: r["timings"]["total_s"] / 60),
]


def _load(run: Path) -> dict[str, Any]:
    """A demo report; ``vs_baseline`` is recomputed from the decision files when missing
    (reports written before it existed)."""
    from rlv.demo import vs_baseline

    r: dict[str, Any] = json.loads((run / "report.json").read_text())
    if "vs_baseline" not in r and "baseline" in r:
        r["vs_baseline"] = vs_baseline(run)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="demo output directories")
    ap.add_argument("--plot", type=Path, default=None, help="overlay the runs' curves here")
    args = ap.parse_args()
    reports = [_load(d) for d in args.runs]
    header = ["seed", *[c for c, _ in COLUMNS]]
    rows = [[str(r.get("seed", "?")), *[f"{f(r):.3f}" for _, f in COLUMNS]] for r in reports]
    if len(reports) > 1:
        stats = []
        for _, f in COLUMNS:
            vals = [f(r) for r in reports]
            stats.append(f"{statistics.mean(vals):.3f} +- {statistics.stdev(vals):.3f}")
        rows.append(["mean +- sd", *stats])
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if args.plot is not None:
        from rlv.scaling.rescore import plot_report

        runs: dict[str, Any] = {}
        for r in reports[:1]:
            runs["RL^V"] = r
            runs["base RL (lambda=0)"] = r["baseline"]
        plot_report(runs, args.plot, title=f"rlv demo, seed {reports[0].get('seed')}")
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
