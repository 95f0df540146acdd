#!/usr/bin/env python3
"""Study the verifier recipe on the validation split: RL from a finished demo's SFT model
with changed settings, evaluated like the demo.

The RL^V stage of ``rlv demo`` is re-run from ``RUN/sft/model`` (the same SFT model) with
``--set`` overrides on top of the demo's configuration (``RUN/config.json``), and evaluated
on the same held-out problems (use a demo run with ``--set data.eval_split=validation``:
settings are chosen on validation, never on the test split)::

    rlv demo --out runs/val-0 --set data.eval_split=validation ...
    python benches/demo_recipe.py runs/val-0 --out runs/val-0-lam1 --set verify.lambda=1.0

Prints the RL^V summary (reward, AUC, majority@32, weighted@32, the majority-fails premise)
and the paired difference to the demo run's base RL majority vote, and writes ``OUT/report.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

from rlv.training.config import load_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("run", type=Path, help="a finished rlv demo directory")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()

    import torch

    from rlv.demo import EVAL_N, _decisions, evaluate, format_summary, paired
    from rlv.training.loop import train
    from rlv.training.setup import load_problems

    base = load_config(args.run / "config.json")
    cfg = load_config(args.run / "config.json", args.overrides)
    if cfg.data != base.data:
        raise SystemExit("--set must not change data.*: the problems must stay the same")
    if cfg.train.threads is not None:
        torch.set_num_threads(cfg.train.threads)
    t0 = time.perf_counter()
    c = copy.deepcopy(cfg)
    c.model.path = str(args.run / "sft" / "model")
    c.train.run_dir = str(args.out / "rl")
    res = train(c, problems=load_problems(c, "train"), overwrite=True)
    eval_probs = load_problems(c, "eval")
    rep = evaluate(
        res.model, res.tokenizer, c, eval_probs, args.out / "eval", seed=cfg.train.seed,
        progress=c.train.progress,
    )  # fmt: skip
    done = args.run / "report.json"  # absent while the demo's baseline stage still runs
    rep["reward_before_rl"] = (
        json.loads(done.read_text())["reward_before_rl"] if done.exists() else float("nan")
    )
    rep["reward_after_rl"] = rep["reward"]
    rep["overrides"] = args.overrides
    base_dec = args.run / "baseline" / "eval" / "decisions.jsonl"
    if base_dec.exists():
        rep["vs_baseline"] = {
            "n": EVAL_N,
            **paired(
                _decisions(args.out / "eval" / "decisions.jsonl"), "weighted",
                _decisions(base_dec), "majority", seed=cfg.train.seed,
            ),
        }  # fmt: skip
    rep["timings"] = {"total_s": time.perf_counter() - t0}
    (args.out / "report.json").write_text(json.dumps(rep, indent=2) + "\n")
    print(format_summary(rep))
    pr = rep["premise"]
    print(
        f"majority wrong / a sample right: {pr['majority_wrong_pass_right']} of "
        f"{pr['problems']}; verifier AUC there {pr['verifier_auc_there']:.3f}"
    )
    if "vs_baseline" in rep:
        v = rep["vs_baseline"]
        lo, hi = v["ci95"]
        print(
            f"weighted@{EVAL_N} - base majority@{EVAL_N} (paired): "
            f"{v['weighted_minus_majority']:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        )


if __name__ == "__main__":
    main()
