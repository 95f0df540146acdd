"""Benchmark: rlv advantages (Rust, numpy in/out) vs a vectorized torch CPU implementation.

The batch is 1,000,000 rewards in 125,000 ragged groups (sizes 1..15, mean 8), given in
shuffled order (group ids are a random permutation, as after a data-parallel gather), with
2 % NaN (unscorable) rewards. Rewards are float32 Bernoulli draws with a per-group success
rate plus a little noise, so the batch has singleton and zero-variance groups too.

The torch baseline is written here (not rlv's own torch path): ``torch.unique`` for the group
index, ``index_add`` / ``scatter_reduce`` for the per-group statistics, the same semantics as
rlv (NaN left out, singleton and zero-variance groups get 0). It runs in the rewards' dtype,
the fastest honest choice (TRL computes in float32 too), on torch's default CPU threads;
rlv uses as many threads (``RLV_NUM_THREADS``, default the number of cores) for its
element-wise passes and two for the per-group sums (two halves, merged). Before timing, every
baseline output is checked against rlv (rtol/atol 1e-4 in float32, 1e-9 in float64).

rlv and torch are timed in alternating blocks of calls (three of each, so machine noise hits
both; see ``race``); the table reports the median per call and the ratio torch / rlv (target
>= 5x).

    pip install .            # release build; `make build-dev` builds are 10x slower
    cd /tmp && python /work/main/benches/bench_advantages.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import rlv
import rlv._core
from rlv import advantages as adv

# ---------------------------------------------------------------------------------------------
# Data


def make_batch(
    n: int, n_groups: int, nan_frac: float, dtype: type, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(rewards, ids)``: ``n`` rewards in ``n_groups`` groups of sizes 1..15, shuffled."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 16, size=n_groups)
    # Nudge random groups (within 1..15) until the sizes add up to exactly n.
    while (diff := n - int(sizes.sum())) != 0:
        idx = rng.integers(0, n_groups, size=min(abs(diff), n_groups))
        step = 1 if diff > 0 else -1
        ok = (sizes[idx] + step >= 1) & (sizes[idx] + step <= 15)
        np.add.at(sizes, np.unique(idx[ok])[: abs(diff)], step)
    ids = np.repeat(np.arange(n_groups, dtype=np.int64), sizes)
    p = rng.random(n_groups)[ids]
    rewards = (rng.random(n) < p).astype(np.float64) + 0.1 * rng.integers(0, 3, n)
    rewards[rng.random(n) < nan_frac] = np.nan
    perm = rng.permutation(n)
    return rewards[perm].astype(dtype), ids[perm]


# ---------------------------------------------------------------------------------------------
# Vectorized torch baseline (same semantics as rlv)


def _torch_group_stats(
    r: torch.Tensor, ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(inv, keep, d, cnt, informative)``: group of each sample, samples that get a
    non-zero advantage, deviations from the group mean (0 for NaN), scorable counts per group,
    groups with a comparison (>= 2 scorable rewards, not all equal)."""
    uniq, inv = torch.unique(ids, return_inverse=True)
    g = uniq.numel()
    mask = ~torch.isnan(r)
    rz = torch.where(mask, r, 0.0)
    zeros = r.new_zeros(g)
    cnt = zeros.index_add(0, inv, mask.to(r.dtype))
    mean = zeros.index_add(0, inv, rz) / cnt.clamp(min=1)
    d = torch.where(mask, r - mean[inv], 0.0)
    hi = torch.full_like(zeros, -torch.inf).scatter_reduce(
        0, inv, torch.where(mask, r, -torch.inf), "amax"
    )
    lo = torch.full_like(zeros, torch.inf).scatter_reduce(
        0, inv, torch.where(mask, r, torch.inf), "amin"
    )
    informative = (cnt >= 2) & (hi > lo)
    keep = mask & informative[inv]
    return inv, keep, d, cnt, informative


def torch_grpo(r: torch.Tensor, ids: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    inv, keep, d, cnt, _ = _torch_group_stats(r, ids)
    ss = r.new_zeros(cnt.numel()).index_add(0, inv, d * d)
    std = (ss / (cnt - 1).clamp(min=1)).sqrt()
    return torch.where(keep, d / (std + eps)[inv], 0.0)


def torch_rloo(r: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    inv, keep, d, cnt, _ = _torch_group_stats(r, ids)
    return torch.where(keep, d * (cnt / (cnt - 1).clamp(min=1))[inv], 0.0)


def torch_reinforce_pp(r: torch.Tensor, ids: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    _, keep, d, _, _ = _torch_group_stats(r, ids)
    mask = ~torch.isnan(r)
    a = torch.where(keep, d, 0.0)
    n = mask.sum()
    mu = a.sum() / n  # a is 0 on unscorable samples
    var = torch.where(mask, (a - mu) ** 2, 0.0).sum() / (n - 1)
    return torch.where(keep, (a - mu) / (var + eps).sqrt(), 0.0)


# ---------------------------------------------------------------------------------------------
# Timing


def race(
    f_rlv: Callable[[], Any], f_torch: Callable[[], Any], repeats: int, rounds: int = 3
) -> tuple[float, float]:
    """Median seconds of ``f_rlv`` and ``f_torch`` over ``repeats`` calls each, timed in
    alternating blocks (``rounds`` of each), so that machine noise hits both.

    Blocks, not single alternating calls: torch's OpenMP workers keep spinning for a while
    after an op, and a call timed right after shares the cores with them (GRPO measured 8 ms
    -> 12 ms that way on 2 cores). The first call of every block is an untimed warm-up."""
    per_block = max(1, repeats // rounds)
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(rounds):
        for which, f in enumerate((f_rlv, f_torch)):
            f()
            for _ in range(per_block):
                t0 = time.perf_counter()
                f()
                times[which].append(time.perf_counter() - t0)
    return statistics.median(times[0]), statistics.median(times[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="number of rewards")
    ap.add_argument("--groups", type=int, default=125_000, help="number of groups")
    ap.add_argument("--nan-frac", type=float, default=0.02, help="fraction of NaN rewards")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--repeats", type=int, default=15, help="timed calls per implementation")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    args = ap.parse_args(argv)

    profile = rlv._core.build_profile
    if profile != "release":
        print(
            f"WARNING: rlv._core is a {profile} build; benchmark a release build (pip install .)",
            file=sys.stderr,
        )
    dtype = np.float32 if args.dtype == "float32" else np.float64
    tol = 1e-4 if dtype is np.float32 else 1e-9
    rewards, ids = make_batch(args.n, args.groups, args.nan_frac, dtype, args.seed)
    r_t, ids_t = torch.from_numpy(rewards), torch.from_numpy(ids)
    # Sparse ids (random 64-bit labels, e.g. hashed prompt uids): rlv's hash-table path.
    labels = np.random.default_rng(args.seed + 1).integers(
        -(2**62), 2**62, size=args.groups, dtype=np.int64
    )
    sparse, sparse_t = labels[ids], torch.from_numpy(labels[ids])

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[], Any]]] = [
        (
            "grpo (scale=group)",
            lambda: adv.grpo(rewards, ids),
            lambda: torch_grpo(r_t, ids_t),
            lambda: adv.grpo(r_t, ids_t, backend="torch"),
        ),
        (
            "rloo",
            lambda: adv.rloo(rewards, ids),
            lambda: torch_rloo(r_t, ids_t),
            lambda: adv.rloo(r_t, ids_t, backend="torch"),
        ),
        (
            "reinforce_pp_baseline",
            lambda: adv.reinforce_pp_baseline(rewards, ids),
            lambda: torch_reinforce_pp(r_t, ids_t),
            lambda: adv.reinforce_pp_baseline(r_t, ids_t, backend="torch"),
        ),
        (
            "grpo, sparse int64 ids",
            lambda: adv.grpo(rewards, sparse),
            lambda: torch_grpo(r_t, sparse_t),
            lambda: adv.grpo(r_t, sparse_t, backend="torch"),
        ),
    ]

    _, stats = adv.grpo(rewards, ids, return_stats=True)
    rows = []
    for name, f_rlv, f_torch, f_rlv_torch in cases:
        ours, theirs = np.asarray(f_rlv()), f_torch().numpy()
        if not np.allclose(ours, theirs, rtol=tol, atol=tol):
            worst = float(np.max(np.abs(ours - theirs)))
            print(f"ERROR: {name}: torch baseline != rlv (max diff {worst:g})", file=sys.stderr)
            return 1
        t_rlv, t_torch = race(f_rlv, f_torch, args.repeats)
        _, t_rlv_torch = race(lambda: None, f_rlv_torch, max(3, args.repeats // 3))
        rows.append(
            {
                "estimator": name,
                "rlv_ms": 1e3 * t_rlv,
                "torch_ms": 1e3 * t_torch,
                "ratio": t_torch / t_rlv,
                "rlv_torch_path_ms": 1e3 * t_rlv_torch,
                "rewards_per_s": args.n / t_rlv,
            }
        )

    print(
        f"rlv {rlv.__version__} ({profile} build), torch {torch.__version__} "
        f"({torch.get_num_threads()} CPU threads), numpy {np.__version__}, "
        f"python {platform.python_version()}, {platform.machine()}"
    )
    print(
        f"{args.n:,} {args.dtype} rewards in {args.groups:,} groups (sizes 1..15, shuffled), "
        f"{stats.n_unscorable:,} NaN, {stats.n_singleton_groups:,} singleton and "
        f"{stats.n_zero_variance_groups:,} zero-variance groups; median of {args.repeats}"
    )
    print()
    print("| estimator | rlv (Rust) ms | torch CPU ms | torch / rlv | rlv torch path ms |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['estimator']} | {row['rlv_ms']:.2f} | {row['torch_ms']:.2f} "
            f"| {row['ratio']:.1f}x | {row['rlv_torch_path_ms']:.2f} |"
        )
    # The target is for the batch (shuffled prompt ids); sparse ids are reported too.
    worst = min(row["ratio"] for row in rows if "sparse" not in row["estimator"])
    sparse = min(row["ratio"] for row in rows if "sparse" in row["estimator"])
    print()
    print(
        f"slowest ratio, shuffled ids: {worst:.1f}x (target >= 5x): "
        f"{'OK' if worst >= 5 else 'BELOW TARGET'}; sparse int64 ids: {sparse:.1f}x"
    )
    if args.json:
        meta = {
            "n": args.n,
            "groups": args.groups,
            "dtype": args.dtype,
            "nan_frac": args.nan_frac,
            "repeats": args.repeats,
            "build_profile": profile,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "stats": stats.__dict__,
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"meta": meta, "rows": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
