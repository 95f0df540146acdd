"""Length selection by verifier confidence on the built-in arithmetic task.

For an RL^V checkpoint (and, optionally, a base-RL checkpoint trained with lambda = 0 from the
same SFT model), for each sampling seed:

1. sample N completions per problem once at the largest budget and cut them at every budget
   (``rlv sample --budgets``), on validation and test problems of the model's own task;
2. on **validation**, choose tau: the smallest tau of the sweep whose accuracy (RL^V,
   weighted, k = N) is within ``--tol`` of the best tau's (budgets and the tau rule are fixed
   before any test number is seen);
3. on **test**, report fixed-budget majority and weighted voting (accuracy, tokens per
   sample), the confidence-selected length at the chosen tau, and the accuracy ratio at equal
   tokens against base RL's fixed-budget majority curve (interpolated) and against RL^V's own.

Tokens per sample count generation and verification (the verifier suffix per verification,
``docs/scaling-length.md``); ``gen-only`` rows count generation alone (``verify_tokens=0``).

    OMP_NUM_THREADS=1 python benches/length_selection.py --rlv CKPT --base CKPT --out DIR \\
        --n 16 --budgets 16,22,30,39 --val 100 --test 200 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

TAUS = [round(0.05 * i, 2) for i in range(21)]


def problems_file(model: str, split: str, n: int, path: Path) -> None:
    """``n`` problems of ``split`` of the task the model was trained on (JSONL)."""
    from rlv.training.checkpoint import saved_config
    from rlv.training.config import load_config
    from rlv.training.setup import arithmetic_task

    saved = saved_config(model)
    if saved is None:
        raise SystemExit(f"{model}: no saved rlv configuration")
    cfg = load_config(None, base=saved)  # keys missing in older configs take their defaults
    task = arithmetic_task(cfg)
    probs = task.sample(n, seed=cfg.data.seed, split=split)
    path.write_text(
        "".join(json.dumps({"problem": p.prompt, "answer": p.gold}) + "\n" for p in probs)
    )


def sample(model: str, data: Path, out: Path, args: argparse.Namespace, seed: int) -> float:
    from rlv.cli import main

    t = time.perf_counter()
    rc = main(["sample", "--model", model, "--data", str(data), "--n", str(args.n),
               "--budgets", args.budgets, "--seed", str(seed), "--out", str(out),
               "--set", "train.progress=false", "--set", "train.threads=1"])  # fmt: skip
    if rc != 0:
        raise SystemExit(f"rlv sample failed for {model}")
    return time.perf_counter() - t


def choose_tau(report: dict[str, Any], tol: float) -> float:
    sel = report["selection"][str(max(report["ks"]))]
    best = max(sel["accuracy"])
    return next(t for t, a in zip(report["taus"], sel["accuracy"], strict=True) if a >= best - tol)


def at_tau(report: dict[str, Any], tau: float) -> dict[str, float]:
    k = str(max(report["ks"]))
    i = report["taus"].index(tau)
    sel = report["selection"][k]
    return {
        "accuracy": sel["accuracy"][i],
        "tokens": sel["tokens"][i],
        "mc_se": sel["mc_se"][i],
        "stop_budget": sel["stop_budget"][i],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rlv", required=True, help="RL^V checkpoint")
    ap.add_argument("--base", default=None, help="base-RL (lambda = 0) checkpoint")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--budgets", default="16,22,30,39")
    ap.add_argument("--val", type=int, default=100)
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--tol", type=float, default=0.005, help="tau rule tolerance (accuracy)")
    ap.add_argument("--confidence", choices=("share", "mass"), default="share")
    ap.add_argument(
        "--reuse", action="store_true", help="reuse the dumps already in --out (no sampling)"
    )
    args = ap.parse_args()
    import torch

    from rlv.scaling.lengths import equal_token_ratio, length_select_dump

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = {"rlv": args.rlv, **({"base": args.base} if args.base else {})}
    for split, n in (("validation", args.val), ("test", args.test)):
        problems_file(args.rlv, split, n, out / f"{split}.jsonl")
    results: list[dict[str, Any]] = []
    name_of_results = f"results-{args.confidence}.json"
    for seed in [int(s) for s in args.seeds.split(",")]:
        res: dict[str, Any] = {"seed": seed, "sample_s": {}}
        reps: dict[str, dict[str, Any]] = {}
        for name, model in models.items():
            for split in ("validation", "test"):
                if name == "base" and split == "validation":
                    continue  # nothing of the baseline is chosen on validation
                dump = out / f"{name}-{split}-s{seed}.jsonl"
                if not (args.reuse and dump.exists()):
                    res["sample_s"][f"{name}-{split}"] = sample(
                        model, out / f"{split}.jsonl", dump, args, seed
                    )
                for cost, vt in (("full", None), ("gen", 0)):
                    reps[f"{name}-{split}-{cost}"] = length_select_dump(
                        [dump],
                        ks=[args.n],
                        taus=TAUS,
                        seed=seed,
                        verify_tokens=vt,
                        confidence=args.confidence,
                    )
        k = str(args.n)
        for cost in ("full", "gen"):
            tau = choose_tau(reps[f"rlv-validation-{cost}"], args.tol)
            test = reps[f"rlv-test-{cost}"]
            chosen = at_tau(test, tau)
            fx = test["fixed"][k]
            row: dict[str, Any] = {
                "tau": tau,
                "selected": chosen,
                "rlv_fixed": {m: fx[m] for m in ("majority", "weighted")},
            }
            for ref in ("rlv", "base"):
                if f"{ref}-test-{cost}" not in reps:
                    continue
                maj = reps[f"{ref}-test-{cost}"]["fixed"][k]["majority"]
                row[f"{ref}_majority"] = maj
                row[f"ratio_vs_{ref}_majority"] = equal_token_ratio(
                    [chosen["tokens"]], [chosen["accuracy"]], maj["tokens"], maj["accuracy"]
                )[0]
                # Against the largest budget (where the fixed curve stops: a longer budget
                # changes nothing once every sample has ended).
                last = maj["accuracy"][-1]
                row[f"ratio_vs_{ref}_majority_at_max"] = (
                    chosen["accuracy"] / last if last > 0 else None
                )
            res[cost] = row
        if len(results) == 0:
            from rlv.scaling.lengths import plot_lengths

            plot_lengths(
                reps["rlv-test-full"],
                out / f"lengths-{args.confidence}-s{seed}.png",
                baseline=reps.get("base-test-full"),
                title=f"arithmetic test, N = {args.n}, budgets {args.budgets} (seed {seed})",
            )
        results.append(res)
        (out / name_of_results).write_text(json.dumps(results, indent=1))
        print(json.dumps(res, indent=1))
    budgets = [int(b) for b in args.budgets.split(",")]
    for cost in ("full", "gen"):
        print(
            f"\n## tokens per sample: {'generation + verification' if cost == 'full' else 'generation only'}"
        )
        print("| seed | tau (val) | selected acc | selected tokens | " + " | ".join(
            f"RL^V maj@{b} / wtd@{b}" for b in budgets) + " | base maj " + " / ".join(
            str(b) for b in budgets) + " | ratio vs base maj (equal tokens / at max) | ratio vs RL^V maj (equal / max) |")  # fmt: skip
        print("|" + "---|" * (5 + len(budgets) + 2))
        for r in results:
            row = r[cost]
            cells = [str(r["seed"]), f"{row['tau']:g}", f"{row['selected']['accuracy']:.3f}",
                     f"{row['selected']['tokens']:.1f}"]  # fmt: skip
            for j in range(len(budgets)):
                f = row["rlv_fixed"]
                cells.append(
                    f"{f['majority']['accuracy'][j]:.3f} / {f['weighted']['accuracy'][j]:.3f} "
                    f"({f['majority']['tokens'][j]:.1f} / {f['weighted']['tokens'][j]:.1f} tok)"
                )
            base = row.get("base_majority")
            cells.append(" / ".join(f"{a:.3f}" for a in base["accuracy"]) if base else "-")
            for ref in ("base", "rlv"):
                q = row.get(f"ratio_vs_{ref}_majority")
                eq = "-" if not q or q["ratio"] is None else f"{q['ratio']:.3f}x"
                mx = row.get(f"ratio_vs_{ref}_majority_at_max")
                cells.append(f"{eq} / " + ("-" if mx is None else f"{mx:.3f}x"))
            print("| " + " | ".join(cells) + " |")
        for ref in ("base", "rlv"):
            vals = [
                r[cost][f"ratio_vs_{ref}_majority"]["ratio"]
                for r in results
                if r[cost].get(f"ratio_vs_{ref}_majority")
                and r[cost][f"ratio_vs_{ref}_majority"]["ratio"] is not None
            ]
            if len(vals) > 1:
                print(
                    f"ratio vs {ref} majority at equal tokens: {statistics.mean(vals):.3f} +- "
                    f"{statistics.stdev(vals):.3f} (sd over {len(vals)} seeds)"
                )
            mx = [
                r[cost][f"ratio_vs_{ref}_majority_at_max"]
                for r in results
                if r[cost].get(f"ratio_vs_{ref}_majority_at_max") is not None
            ]
            if len(mx) > 1:
                print(
                    f"ratio vs {ref} majority at the largest budget: {statistics.mean(mx):.3f} "
                    f"+- {statistics.stdev(mx):.3f} (sd over {len(mx)} seeds)"
                )


if __name__ == "__main__":
    main()
