#!/usr/bin/env python3
"""Reward throughput inside verl: rlv's reward vs verl's own math rewards, on the same samples.

Run in the verl environment (``.ci/install-verl VENV``; math-verify is installed there)::

    VENV/bin/python benches/bench_verl_reward.py                   # 100,000 completions
    VENV/bin/python benches/bench_verl_reward.py --problems 50 --samples 20 --mv-samples 500

Samples: ``benches/gen_dump.py`` (MATH-500 golds; MATH-style reasoning of ~300 bytes ending in a
boxed answer: the gold in equivalent renderings, or a perturbed wrong answer; ~2 % truncated),
``--problems x --samples`` completions (default 500 x 200 = 100,000). Every scorer gets the same
``(completion, gold)`` pairs, as text (the tokenizer decode that every verl reward manager does
first is the same for all and is not timed):

* ``rlv batch``: :func:`rlv.integrations.verl.compute_score_batch`, what the ``rlv`` reward
  manager runs on a reward-loop worker's chunk (one ``grade_batch`` call, all cores, plus the
  ``pred`` extraction), in chunks of ``--chunk``;
* ``rlv per-sample``: :func:`rlv.integrations.verl.compute_score` called once per sample (verl's
  ``naive`` manager with ``custom_reward_function`` = rlv);
* ``verl default``: ``verl.utils.reward_score.default_compute_score`` with
  ``data_source="HuggingFaceH4/MATH-500"`` (``math_reward``: last ``\\boxed{}``, Hendrycks string
  normalisation), once per sample;
* ``verl math-verify``: ``verl.utils.reward_score.math_verify.compute_score`` (each call runs
  math-verify in verl's spawn process pool of 4 workers), called from ``--mv-threads`` threads
  as verl's reward loop does (``run_in_executor``), on the first ``--mv-samples`` samples.

Then agreement: each scorer on the 500 MATH-500 reference solutions against their gold
answers (all should score 1), disagreements listed; and pairwise agreement on the timed
samples.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_MATH500 = HERE.parent.parent / "shared" / "data" / "math" / "test.jsonl"


def _load_gen_dump() -> Any:
    spec = importlib.util.spec_from_file_location("gen_dump", HERE / "gen_dump.py")
    if spec is None or spec.loader is None:
        raise ImportError("benches/gen_dump.py not found")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_dump"] = mod
    spec.loader.exec_module(mod)
    return mod


def _timed(fn: Callable[[], list[float]]) -> tuple[list[float], float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=4096, help="rlv batch size per grade_batch call")
    ap.add_argument("--mv-samples", type=int, default=None, help="default: all")
    ap.add_argument("--mv-threads", type=int, default=8)
    ap.add_argument("--math", type=Path, default=DEFAULT_MATH500, help="MATH-500 JSONL")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args(argv)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import verl
        from verl.utils.reward_score import default_compute_score
        from verl.utils.reward_score import math_verify as verl_mv

    import rlv
    from rlv.integrations import verl as rv

    gd = _load_gen_dump()
    pairs: list[tuple[str, str]] = []
    for p in gd.generate(args.problems, args.samples, seed=args.seed, math_path=args.math):
        pairs += [(c, p["gold"]) for c in p["completions"]]
    n = len(pairs)
    texts = [c for c, _ in pairs]
    golds = [g for _, g in pairs]
    n_mv = n if args.mv_samples is None else min(n, args.mv_samples)
    src = "HuggingFaceH4/MATH-500"
    print(
        f"# verl reward throughput: {n:,} completions ({args.problems} MATH-500 golds x "
        f"{args.samples}), {sum(map(len, texts)) / n:.0f} bytes each on average"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
        f"python {platform.python_version()}, rlv {rlv.__version__}, verl {verl.__version__}"
    )

    def rlv_batch() -> list[float]:
        out: list[float] = []
        for i in range(0, n, args.chunk):
            sl = slice(i, i + args.chunk)
            res = rv.compute_score_batch([src] * len(texts[sl]), texts[sl], golds[sl])
            out += [r["score"] for r in res]
        return out

    def rlv_single() -> list[float]:
        return [float(rv.compute_score(src, t, g)["score"]) for t, g in pairs]

    def verl_default() -> list[float]:
        return [float(default_compute_score(src, t, g)) for t, g in pairs]

    def verl_math_verify() -> list[float]:
        with ThreadPoolExecutor(max_workers=args.mv_threads) as ex:
            return [float(x) for x in ex.map(verl_mv.compute_score, texts[:n_mv], golds[:n_mv])]

    # The process pool's start-up is not counted: verl's pool has 4 spawn workers, each of which
    # imports verl (torch, ray) before its first call; warm all of them at once. On a loaded
    # machine this start-up can outlast verl's own 30 s per-call timeout, and a timed-out call
    # scores 0 without a message: the warm-up reports it.
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as ex:
        warm = list(ex.map(verl_mv.compute_score, ["\\boxed{1}"] * 8, ["1"] * 8))
    print(
        f"verl math-verify pool start-up: {time.perf_counter() - t0:.1f} s; warm-up calls that "
        f"scored 0 (timed out): {warm.count(0.0)} of {len(warm)}"
    )

    results: dict[str, dict[str, Any]] = {}
    for name, fn, count in (
        ("rlv batch (reward manager)", rlv_batch, n),
        ("rlv per-sample compute_score", rlv_single, n),
        ("verl default (math_reward)", verl_default, n),
        ("verl math-verify", verl_math_verify, n_mv),
    ):
        scores, secs = _timed(fn)
        results[name] = {"samples": count, "seconds": secs, "per_s": count / secs, "scores": scores}
        print(f"  {name}: {count:,} in {secs:.2f} s", flush=True)

    base = results["rlv batch (reward manager)"]["per_s"]
    print("\n| scorer | samples | seconds | samples/s | rlv batch is x faster |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['samples']:,} | {r['seconds']:.2f} | {r['per_s']:,.0f} | "
            f"{base / r['per_s']:.1f} |"
        )

    # pairwise agreement on the timed samples
    keys = list(results)
    print("\nAgreement on the timed samples (share of equal 0/1 scores; correct rate):")
    for a in keys:
        sa = results[a]["scores"]
        print(f"  {a}: scores 1 on {sum(sa) / len(sa):.4f}")
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            m = min(len(results[a]["scores"]), len(results[b]["scores"]))
            eq = sum(
                x == y
                for x, y in zip(results[a]["scores"][:m], results[b]["scores"][:m], strict=True)
            )
            print(f"  {a} vs {b}: {eq / m:.4f} of {m:,}")

    # MATH-500 reference solutions vs their golds
    rows = [json.loads(line) for line in args.math.read_text(encoding="utf-8").splitlines() if line]
    sols = [r["solution"] for r in rows]
    ans = [r["answer"] for r in rows]
    ref = {
        "rlv": [r["score"] for r in rv.compute_score_batch([src] * len(sols), sols, ans)],
        "verl default": [
            float(default_compute_score(src, s, a)) for s, a in zip(sols, ans, strict=True)
        ],
        "verl math-verify": [
            float(verl_mv.compute_score(s, a)) for s, a in zip(sols, ans, strict=True)
        ],
    }
    print(f"\nMATH-500 reference solutions scored 1 (of {len(rows)}):")
    for k, v in ref.items():
        print(f"  {k}: {int(sum(v))}")
    disagree = [
        i for i in range(len(rows)) if len({ref[k][i] for k in ref}) > 1 or ref["rlv"][i] != 1
    ]
    print(f"Rows where the three disagree or rlv does not score 1: {len(disagree)}")
    for i in disagree:
        marks = ", ".join(f"{k}={int(ref[k][i])}" for k in ref)
        boxed = sols[i][sols[i].rfind("\\boxed") :][:60].replace("\n", " ")
        print(f"  #{i} gold {ans[i]!r}: {marks}; solution ends {boxed!r}")

    if args.json is not None:
        out = {k: {kk: vv for kk, vv in v.items() if kk != "scores"} for k, v in results.items()}
        out["reference_solutions"] = {k: int(sum(v)) for k, v in ref.items()}
        out["disagreements"] = disagree
        args.json.write_text(json.dumps(out, indent=2))
    verl_mv._get_pool().shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
