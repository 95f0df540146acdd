"""``rlv demo``: the whole RL^V pipeline on CPU, from nothing, on a built-in task.

1. build the tiny Qwen2 model and its character tokenizer (``rlv.models.tiny``);
2. SFT warm start on the synthetic arithmetic task's demonstrations, which contain systematic
   slips (forgotten carries / borrows), so the policy is imperfect and the verifier has
   something to learn;
3. evaluate the SFT model on held-out problems (``reward_before_rl``);
4. GRPO^V training (``verify.lambda > 0``) from the SFT model;
5. sample N = 32 per held-out problem, score each with the model's own P(Yes), write the dump,
   and run :func:`rlv.scaling.rescore.rescore` on it: pass@k, majority@k, weighted@k, Best-of-k;
6. with ``--baseline``: the same RL budget with ``lambda = 0`` from the same SFT model,
   evaluated the same way.

``DIR/report.json`` is the rescore report of the held-out evaluation plus ``verifier_auc``,
``reward_before_rl``, ``reward_after_rl``, ``paired`` (weighted vs majority vote at N, per
problem) and, with ``--baseline``, a ``baseline`` object of the same shape and
``vs_baseline`` (RL^V's weighted vote vs the baseline's majority vote at N, per problem: the
paper's claim). The settings are
:data:`DEMO_PRESET` (override any key with ``--set``); nothing is tuned on the evaluation.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import rlv
from rlv.training.config import Config, load_config, to_dict

__all__ = ["DEMO_PRESET", "demo_config", "evaluate", "paired", "run_demo", "vs_baseline"]

DEMO_PRESET: dict[str, Any] = {
    "model": {"hidden_size": 128, "num_layers": 4, "num_heads": 2, "head_dim": 64},
    "data": {
        "task": "arithmetic",
        "min_steps": 2,
        "max_steps": 3,
        "max_operand": 9,
        "error_rate": 0.4,
        "train_size": 20000,
        "eval_size": 200,
    },
    "sft": {"steps": 800, "batch_size": 64, "lr": 1e-3, "warmup_steps": 20, "verify_lambda": 1.0},
    "rl": {"algo": "grpo", "group_size": 8, "prompts_per_step": 32},
    # A character-level tokenizer spells the paper's 43-character instruction as 43 tokens
    # (about 10 with a BPE tokenizer); the demo uses a short instruction instead.
    "verify": {
        "lambda": 0.3,
        "balance": True,
        "mode": "yes_no",
        "template": "\nCorrect?\n",
        "score": "normalized",
    },
    "generation": {"temperature": 1.0, "suppress_label_tokens": True},
    "optim": {"lr": 1e-4, "warmup_steps": 10},
    "train": {"steps": 100, "save_every": 0, "keep_checkpoints": 1, "threads": 2},
}
"""The demo's defaults (all overridable with ``--set``)."""

EVAL_N = 32
"""Samples per held-out problem for the RL models' evaluation (the scaling curves)."""
SFT_EVAL_N = 8
"""Samples per held-out problem for the SFT model (``reward_before_rl``)."""


def demo_config(overrides: Sequence[str] = (), *, seed: int = 0) -> Config:
    """The demo configuration: :data:`DEMO_PRESET`, the seed, then ``overrides``."""
    cfg = load_config(
        None,
        [f"train.seed={seed}", f"data.seed={seed}", f"model.init_seed={seed}", *overrides],
        base=DEMO_PRESET,
    )
    if not any(o.startswith("generation.max_new_tokens=") for o in overrides):
        from rlv.tasks import ArithmeticTask

        task = ArithmeticTask(
            min_steps=cfg.data.min_steps,
            max_steps=cfg.data.max_steps,
            max_operand=cfg.data.max_operand,
            error_rate=cfg.data.error_rate,
            style=cfg.data.style,
        )
        cfg.generation.max_new_tokens = task.max_solution_chars() + 1  # + EOS
    return cfg.validate()


def evaluate(
    model: Any,
    tokenizer: Any,
    cfg: Config,
    problems: Sequence[Any],
    out_dir: Path,
    *,
    n: int = EVAL_N,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Sample ``n`` per problem, score with the model's verifier, rescore. Returns the report
    plus ``verifier_auc``, ``reward`` (mean sample reward), ``paired`` and ``sampling``."""
    import torch

    from rlv.scaling.dump import sample_dump
    from rlv.scaling.rescore import rescore
    from rlv.training.setup import (
        build_verifier,
        close_backend,
        make_generation_backend,
        sampling_params,
    )
    from rlv.verifier import auc

    torch.manual_seed(seed)
    verifier = build_verifier(cfg, tokenizer)
    backend = make_generation_backend(cfg, model, tokenizer)
    out_dir.mkdir(parents=True, exist_ok=True)
    dump = out_dir / "samples.jsonl"
    try:
        stats = sample_dump(
            backend,
            verifier,
            problems,
            dump,
            params=sampling_params(cfg, verifier, n=n),
            score=cfg.verify.score,
            progress=progress,
        )
    finally:
        close_backend(backend)
    decisions = out_dir / "decisions.jsonl"
    report = rescore([dump], subsets=100, seed=seed, mode="strict", decisions=decisions)
    rows = [json.loads(line) for line in dump.read_text().splitlines() if line.strip()]
    comps = [c for r in rows for c in r["completions"]]
    golds = [r["gold"] for r in rows for _ in r["completions"]]
    scores = np.array([s for r in rows for s in r["scores"]], dtype=np.float64)
    rewards, _ = rlv.grade_batch(comps, golds, mode="strict")
    ok = ~np.isnan(rewards)
    report["verifier_auc"] = auc(scores[ok], rewards[ok] > 0.5)
    report["reward"] = float(np.nanmean(rewards))
    dec = _decisions(decisions)
    if all("weighted" in d for d in dec.values()):
        report["paired"] = {"n": n, **paired(dec, "weighted", dec, "majority")}
    report["sampling"] = stats.as_dict()
    return report


def _decisions(path: Path) -> dict[str, dict[str, Any]]:
    """``rlv rescore --decisions`` rows by problem id."""
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {r["problem_id"]: r for r in rows}


def paired(
    a: dict[str, dict[str, Any]], a_key: str, b: dict[str, dict[str, Any]], b_key: str
) -> dict[str, Any]:
    """Paired comparison over the problems of both decision sets: ``a``'s ``a_key`` decision
    (e.g. ``"weighted"``) minus ``b``'s ``b_key`` decision, each 1 if correct else 0.

    Returns the mean difference, its standard error, the number of problems and how many
    each side wins.
    """
    ids = sorted(a.keys() & b.keys())
    diff = np.array(
        [float(a[i][a_key]["correct"]) - float(b[i][b_key]["correct"]) for i in ids], dtype=float
    )
    n = len(diff)
    return {
        f"{a_key}_minus_{b_key}": float(diff.mean()) if n else math.nan,
        "stderr": float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
        "problems": n,
        f"{a_key}_wins": int((diff > 0).sum()),
        f"{b_key}_wins": int((diff < 0).sum()),
    }


def vs_baseline(out_dir: str | Path) -> dict[str, Any]:
    """RL^V's weighted vote against the baseline's majority vote at N = :data:`EVAL_N`,
    paired over problems (see :func:`paired`), from the decision files of a
    ``rlv demo --baseline`` output directory."""
    out = Path(out_dir)
    return {
        "n": EVAL_N,
        **paired(
            _decisions(out / "rlv" / "eval" / "decisions.jsonl"),
            "weighted",
            _decisions(out / "baseline" / "eval" / "decisions.jsonl"),
            "majority",
        ),
    }


def _eval_model_dir(path: Path, cfg: Config, problems: Any, out: Path, seed: int, n: int) -> Any:
    from rlv import models

    model, tok = models.load(path)
    return evaluate(model, tok, cfg, problems, out, n=n, seed=seed, progress=cfg.train.progress)


def run_demo(
    out_dir: str | Path,
    *,
    seed: int = 0,
    baseline: bool = False,
    overrides: Sequence[str] = (),
    plot: bool = True,
    resume: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Run the demo (see the module docstring) and write ``out_dir/report.json``.

    ``out_dir`` is a run directory (``rlv.training.checkpoint.claim_run_dir``, stage ``demo``): marked
    incomplete in ``out_dir/run.json`` until the report and plot are written, and refused if
    it already holds a demo unless ``overwrite`` (delete it, start clean) or ``resume``
    (reuse the stages that completed: the SFT model, and an RL run's checkpoint; the
    evaluations are run again). ``plot`` needs matplotlib (in the ``train`` extra): without
    it an ``ImportError`` is raised before any work.
    """
    import torch

    from rlv.exceptions import RunDirError
    from rlv.training import checkpoint as ckpt
    from rlv.training.loop import train
    from rlv.training.setup import load_problems
    from rlv.training.sft import sft

    if plot and importlib.util.find_spec("matplotlib") is None:
        raise ImportError(
            'rlv demo writes a plot and needs matplotlib: pip install "rlv[train]" '
            "(or run_demo(..., plot=False) from Python)"
        )
    t0 = time.perf_counter()
    _quiet_transformers()
    out = Path(out_dir)
    cfg = demo_config(overrides, seed=seed)
    ckpt.check_run_dir(out, "demo", resume=resume, overwrite=overwrite)
    if resume and json.loads((out / "config.json").read_text()) != to_dict(cfg):
        raise RunDirError(
            f"--resume: {out}/config.json differs from this demo's configuration (seed or "
            f"--set); resume with the same settings or pass --overwrite"
        )
    if cfg.train.threads is not None:
        torch.set_num_threads(cfg.train.threads)
    train_probs = load_problems(cfg, "train")
    eval_probs = load_problems(cfg, "eval")
    ckpt.claim_run_dir(out, "demo", resume=resume, overwrite=overwrite)
    (out / "config.json").write_text(json.dumps(to_dict(cfg), indent=2) + "\n")
    timings: dict[str, float] = {}

    t = time.perf_counter()
    cfg.train.run_dir = str(out / "sft")
    if resume and ckpt.run_status(out / "sft", "sft") == "complete":
        sft_dir = out / "sft" / "model"  # reused: the demo is resumed after its SFT stage
    else:
        _, _, sft_dir, _ = sft(cfg, problems=train_probs, overwrite=True)
    timings["sft_s"] = time.perf_counter() - t

    t = time.perf_counter()
    before = _eval_model_dir(sft_dir, cfg, eval_probs, out / "eval-sft", seed, SFT_EVAL_N)
    timings["eval_sft_s"] = time.perf_counter() - t

    def rl_run(name: str, lam: float) -> dict[str, Any]:
        c = copy.deepcopy(cfg)
        c.model.path = str(sft_dir)
        c.verify.lam = lam
        c.train.run_dir = str(out / name)
        t = time.perf_counter()
        again = resume and ckpt.latest_checkpoint(out / name / "checkpoints") is not None
        res = train(c, problems=train_probs, resume=again, overwrite=not again)
        timings[f"{name}_train_s"] = time.perf_counter() - t
        t = time.perf_counter()
        rep = evaluate(
            res.model,
            res.tokenizer,
            c,
            eval_probs,
            out / name / "eval",
            seed=seed,
            progress=c.train.progress,
        )
        timings[f"{name}_eval_s"] = time.perf_counter() - t
        rep["reward_before_rl"] = before["reward"]
        rep["reward_after_rl"] = rep["reward"]
        rep["lambda"] = lam
        return rep

    report = rl_run("rlv", cfg.verify.lam)
    report["sft"] = before
    if baseline:
        report["baseline"] = rl_run("baseline", 0.0)
        report["vs_baseline"] = vs_baseline(out)
    timings["total_s"] = time.perf_counter() - t0
    report["timings"] = timings
    report["seed"] = seed
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if plot:
        from rlv.scaling.rescore import plot_report

        runs = {"RL^V": report}
        if baseline:
            runs["base RL"] = report["baseline"]
        plot_report(runs, out / "curves.png", title="rlv demo: held-out scaling")
    ckpt.finish_run(out, "demo", seed=seed)
    return report


def _quiet_transformers() -> None:
    """No per-file weight-loading progress bars (the demo has its own)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def format_summary(report: dict[str, Any]) -> str:
    """A short text summary of a demo report."""
    from rlv.scaling.rescore import format_table

    n = str(EVAL_N)
    c = report["curves"]
    lines = [
        format_table(report),
        "",
        f"reward before RL (SFT, held-out): {report['reward_before_rl']:.3f}",
        f"reward after RL (held-out):       {report['reward_after_rl']:.3f}",
        f"verifier AUC (held-out samples):  {report['verifier_auc']:.3f}",
    ]
    if "weighted" in c and n in c["weighted"]:
        lines.append(f"weighted@{n} {c['weighted'][n]:.3f} vs majority@{n} {c['majority'][n]:.3f}")
    if "paired" in report:
        p = report["paired"]
        lines.append(
            f"paired over problems (full pool): weighted - majority = "
            f"{p['weighted_minus_majority']:+.3f} +/- {p['stderr']:.3f} "
            f"({p['weighted_wins']} wins / {p['majority_wins']} losses)"
        )
    if "baseline" in report:
        b = report["baseline"]["curves"]
        lines.append(
            f"RL^V weighted@{n} {c['weighted'][n]:.3f} vs baseline (lambda=0) majority@{n} "
            f"{b['majority'][n]:.3f}; baseline weighted@{n} {b['weighted'][n]:.3f}, "
            f"baseline verifier AUC {report['baseline']['verifier_auc']:.3f}"
        )
    if "vs_baseline" in report:
        v = report["vs_baseline"]
        lines.append(
            f"paired over problems (full pool): RL^V weighted - baseline majority = "
            f"{v['weighted_minus_majority']:+.3f} +/- {v['stderr']:.3f} "
            f"({v['weighted_wins']} wins / {v['majority_wins']} losses)"
        )
    if "timings" in report:
        lines.append(f"total time: {report['timings']['total_s']:.0f} s")
    return "\n".join(lines)
