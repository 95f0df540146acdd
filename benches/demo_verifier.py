#!/usr/bin/env python3
"""Is the separately trained verifier short of training or of ability? Re-train the demo's
baseline (b) with more verification updates and evaluate it like the demo.

A second copy of a finished demo's SFT model (``RUN/sft/model``) is trained only on the
verification loss over the base RL run's rollouts (``RUN/baseline/rollouts.jsonl``), seen
``--epochs`` times (the demo's baseline (b) is ``--epochs 1``: RL^V's number of verification
updates), then scores base RL's evaluation samples. Use a demo run with ``--set
data.eval_split=validation`` (diagnostics on validation, never on the test split)::

    python benches/demo_verifier.py runs/val-0 --epochs 5 --out runs/val-0-sep5

Prints the verifier's AUC on all held-out samples and where majority voting fails although
a sample is right, and its weighted vote minus base RL's majority vote (paired over
problems, 95 % bootstrap interval); writes ``OUT/report.json`` and the rescored dump.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("run", type=Path, help="a finished rlv demo directory (with its baseline)")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--epochs", type=int, default=1, help="passes over the base RL rollouts")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    if args.epochs < 1:
        raise SystemExit("--epochs must be >= 1")
    rollouts = args.run / "baseline" / "rollouts.jsonl"
    if not rollouts.exists():
        raise SystemExit(f"{rollouts} is missing: run the demo with its baseline")

    import torch

    from rlv.demo import EVAL_N, _decisions, paired, separate_verifier
    from rlv.training.config import load_config

    cfg = load_config(args.run / "config.json", args.overrides)
    if cfg.train.threads is not None:
        torch.set_num_threads(cfg.train.threads)
    t0 = time.perf_counter()
    rep = separate_verifier(
        cfg, args.run / "sft" / "model", args.run, cfg.train.seed, tokens={},
        epochs=args.epochs, dest=args.out,
    )  # fmt: skip
    vs = paired(
        _decisions(args.out / "decisions.jsonl"), "weighted",
        _decisions(args.run / "baseline" / "eval" / "decisions.jsonl"), "majority",
        seed=cfg.train.seed,
    )  # fmt: skip
    del rep["tokens"]  # the demo's token accounting, not computed here
    rep.update(
        epochs=args.epochs, vs_base_majority={"n": EVAL_N, **vs},
        timings={"total_s": time.perf_counter() - t0},
    )  # fmt: skip
    (args.out / "report.json").write_text(json.dumps(rep, indent=2) + "\n")
    pr = rep["premise"]
    lo, hi = vs["ci95"]
    print(f"separate verifier, {args.epochs}x ({rep['updates']} updates)")
    print(f"verifier AUC (held-out samples): {rep['verifier_auc']:.3f}")
    print(
        f"majority wrong / a sample right: {pr['majority_wrong_pass_right']} of "
        f"{pr['problems']}; verifier AUC there {pr['verifier_auc_there']:.3f}"
    )
    print(
        f"weighted@{EVAL_N} - base majority@{EVAL_N} (paired): "
        f"{vs['weighted_minus_majority']:+.3f} [{lo:+.3f}, {hi:+.3f}]"
    )


if __name__ == "__main__":
    main()
