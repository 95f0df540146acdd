"""``rlv demo``: the whole RL^V pipeline on CPU, from nothing, on a built-in task, compared
with the baselines the paper compares against.

1. build the tiny Qwen2 model and its character tokenizer (``rlv.models.tiny``);
2. SFT warm start on the synthetic arithmetic task's demonstrations, which contain slips
   (forgotten carries / borrows; see :class:`rlv.tasks.ArithmeticTask`), so the policy is
   imperfect and the verifier has something to learn;
3. evaluate the SFT model on held-out problems (``reward_before_rl``);
4. GRPO^V training (``verify.lambda > 0``) from the SFT model;
5. sample N = 32 per held-out problem, score each with the model's own P(Yes), write the dump,
   and run :func:`rlv.scaling.rescore.rescore` on it: pass@k, majority@k, weighted@k, Best-of-k;
6. with ``baseline`` (the default): (a) base RL, the same RL budget with ``lambda = 0`` from
   the same SFT model, evaluated the same way (majority, and weighted by its own verifier);
   (b) a separately trained verifier: a second copy of the SFT model trained only on the
   verification loss over base RL's rollouts (same number of updates), scoring base RL's
   samples (:func:`separate_verifier`).

``DIR/report.json`` is the rescore report of the held-out evaluation plus ``verifier_auc``,
``reward_before_rl``, ``reward_after_rl``, ``paired`` (weighted vs majority vote at N, per
problem, with a problem-level bootstrap interval), ``premise`` (the problems where majority
fails but a sample is right, and the verifier's AUC there) and ``tokens`` (generated and
verification tokens per sample); with the baseline also ``baseline`` and
``separate_verifier`` (same shape), ``vs_baseline`` (RL^V's weighted vote vs base RL's
majority vote at N, per problem: the paper's claim), ``vs_separate_verifier`` and
``efficiency`` (samples and tokens base majority needs to match RL^V weighted). The
settings are :data:`DEMO_PRESET` (override any key with ``--set``); nothing is tuned on the
evaluation problems (``data.eval_split``: ``test`` by default, ``validation`` to choose
settings).
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

__all__ = [
    "DEMO_PRESET",
    "bootstrap_ci",
    "compute_matched",
    "demo_config",
    "efficiency",
    "evaluate",
    "paired",
    "premise",
    "reading",
    "run_demo",
    "separate_verifier",
    "token_costs",
    "vs_baseline",
]

DEMO_PRESET: dict[str, Any] = {
    "model": {"hidden_size": 128, "num_layers": 4, "num_heads": 2, "head_dim": 64},
    "data": {
        "task": "arithmetic",
        "min_steps": 2,
        "max_steps": 3,
        "max_operand": 9,
        # Systematic slips (rlv.tasks.ArithmeticTask): the demonstrations forget the carry /
        # borrow at 95 % of hard steps, so the SFT policy's majority vote is wrong on many
        # problems where it still samples the right answer: the setting where a verifier can
        # beat majority voting. (Chosen on the validation split; see docs/demo.md.)
        "error_rate": 0.0,
        "systematic_rate": 0.95,
        "train_size": 20000,
        "eval_size": 200,
    },
    "sft": {"steps": 800, "batch_size": 64, "lr": 1e-3, "warmup_steps": 20, "verify_lambda": 1.0},
    "rl": {"algo": "grpo", "group_size": 8, "prompts_per_step": 32},
    # A character-level tokenizer spells the paper's 43-character instruction as 43 tokens
    # (about 10 with a BPE tokenizer); the demo uses a short instruction instead.
    "verify": {
        # lambda 1.0, raised linearly over the first 60 RL steps: at full weight from the
        # start the verification gradient (~10x the policy's) pulls the policy down when the
        # learning rate peaks. Both chosen on the validation split (docs/demo.md).
        "lambda": 1.0,
        "ramp_steps": 60,
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
        from rlv.training.setup import arithmetic_task

        task = arithmetic_task(cfg)
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
    from rlv.training.setup import (
        build_verifier,
        close_backend,
        make_generation_backend,
        sampling_params,
    )

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
    report = _dump_report(dump, out_dir, n=n, seed=seed)
    report["sampling"] = stats.as_dict()
    report["tokens"] = token_costs(stats.tokens / stats.samples, problems, verifier)
    return report


def _dump_report(dump: Path, out_dir: Path, *, n: int, seed: int) -> dict[str, Any]:
    """The rescore report of a dump plus ``verifier_auc``, ``reward``, ``paired`` (weighted vs
    majority vote at ``n``) and ``premise`` (:func:`premise`)."""
    from rlv.scaling.rescore import rescore
    from rlv.verifier import auc

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
        report["paired"] = {"n": n, **paired(dec, "weighted", dec, "majority", seed=seed)}
    problem = np.repeat(np.arange(len(rows)), [len(r["completions"]) for r in rows])
    report["premise"] = premise(rows, dec, problem, scores, rewards)
    return report


def premise(
    rows: Sequence[dict[str, Any]],
    decisions: dict[str, dict[str, Any]],
    problem: np.ndarray,
    scores: np.ndarray,
    rewards: np.ndarray,
) -> dict[str, Any]:
    """Where a verifier can beat majority voting: the problems whose majority vote (full pool)
    is wrong although a sample is right, their share, and the verifier's AUC on their samples
    (how well it separates right from wrong exactly where majority fails)."""
    from rlv.verifier import auc

    room = [
        i
        for i, r in enumerate(rows)
        if not decisions[r["problem_id"]]["majority"]["correct"]
        and decisions[r["problem_id"]]["correct_samples"] > 0
    ]
    mask = np.isin(problem, room) & ~np.isnan(rewards)
    return {
        "problems": len(rows),
        "majority_wrong_pass_right": len(room),
        "share": len(room) / len(rows) if rows else math.nan,
        "verifier_auc_there": auc(scores[mask], rewards[mask] > 0.5) if mask.any() else math.nan,
    }


def token_costs(gen_per_sample: float, problems: Sequence[Any], verifier: Any) -> dict[str, float]:
    """Tokens per sample: generated, and the verifier's. Scoring a sample appends the
    verification instruction to ``prompt + completion`` and reads one position: with the
    generation's prefix cache kept (any engine with prefix caching) it costs the instruction's
    tokens (``verify_per_sample``); recomputed from scratch it costs the whole row
    (``verify_per_sample_uncached``)."""
    suffix = float(len(verifier.suffix_ids))
    prompt = float(np.mean([len(verifier.prompt_ids(p.prompt)) for p in problems]))
    return {
        "generated_per_sample": gen_per_sample,
        "verify_per_sample": suffix,
        "verify_per_sample_uncached": prompt + gen_per_sample + suffix,
    }


def compute_matched(
    report: dict[str, Any],
    methods: Sequence[str] = ("majority", "weighted"),
    *,
    cached: bool = True,
) -> dict[str, dict[str, float]]:
    """Accuracy against tokens spent per problem (generated + verification), for each method
    of ``report``'s curves: k samples cost ``k * generated`` for majority voting (and pass@k),
    ``k * (generated + verify)`` for the methods that score samples (weighted, best_of_n).
    Keys are tokens (integers, as strings: the report's curve format)."""
    t = report["tokens"]
    v = t["verify_per_sample"] if cached else t["verify_per_sample_uncached"]
    out: dict[str, dict[str, float]] = {}
    for m in methods:
        per = t["generated_per_sample"] + (v if m in ("weighted", "best_of_n") else 0.0)
        out[m] = {str(round(int(k) * per)): a for k, a in report["curves"][m].items()}
    return out


def _decisions(path: Path) -> dict[str, dict[str, Any]]:
    """``rlv rescore --decisions`` rows by problem id."""
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {r["problem_id"]: r for r in rows}


def paired(
    a: dict[str, dict[str, Any]],
    a_key: str,
    b: dict[str, dict[str, Any]],
    b_key: str,
    *,
    seed: int = 0,
    resamples: int = 2000,
) -> dict[str, Any]:
    """Paired comparison over the problems of both decision sets: ``a``'s ``a_key`` decision
    (e.g. ``"weighted"``) minus ``b``'s ``b_key`` decision, each 1 if correct else 0.

    Returns the mean difference, its standard error, a 95 % problem-level bootstrap interval
    (``ci95``, ``resamples`` resamples of the problems, seeded), the number of problems and
    how many each side wins.
    """
    ids = sorted(a.keys() & b.keys())
    diff = np.array(
        [float(a[i][a_key]["correct"]) - float(b[i][b_key]["correct"]) for i in ids], dtype=float
    )
    n = len(diff)
    return {
        f"{a_key}_minus_{b_key}": float(diff.mean()) if n else math.nan,
        "stderr": float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
        "ci95": bootstrap_ci([diff], seed=seed, resamples=resamples),
        "problems": n,
        f"{a_key}_wins": int((diff > 0).sum()),
        f"{b_key}_wins": int((diff < 0).sum()),
    }


def bootstrap_ci(
    groups: Sequence[np.ndarray], *, seed: int = 0, resamples: int = 2000, level: float = 0.95
) -> list[float]:
    """Percentile bootstrap interval of the mean of per-problem differences, resampling the
    problems within each group (a group: one seed's problems) and pooling the groups with
    their sizes as weights. ``[nan, nan]`` without problems."""
    groups = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not groups:
        return [math.nan, math.nan]
    rng = np.random.default_rng(seed)
    total = sum(len(g) for g in groups)
    means = np.zeros(resamples)
    for g in groups:
        idx = rng.integers(0, len(g), size=(resamples, len(g)))
        means += g[idx].sum(axis=1)
    means /= total
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return [float(lo), float(hi)]


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
    baseline: bool = True,
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
        c.train.save_rollouts = name == "baseline"  # the separate verifier's training data
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
        t = time.perf_counter()
        report["separate_verifier"] = separate_verifier(
            cfg, sft_dir, out, seed, report["baseline"]["tokens"]
        )
        timings["separate_verifier_s"] = time.perf_counter() - t
        report["vs_separate_verifier"] = {
            "n": EVAL_N,
            **paired(
                _decisions(out / "rlv" / "eval" / "decisions.jsonl"),
                "weighted",
                _decisions(out / "separate-verifier" / "decisions.jsonl"),
                "weighted",
                seed=seed,
            ),
        }
        report["efficiency"] = efficiency(report)
    timings["total_s"] = time.perf_counter() - t0
    report["timings"] = timings
    report["seed"] = seed
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if plot:
        plot_demo(report, out / "curves.png")
    ckpt.finish_run(out, "demo", seed=seed)
    return report


def separate_verifier(
    cfg: Config,
    sft_dir: Path,
    out: Path,
    seed: int,
    tokens: dict[str, float],
    *,
    epochs: int = 1,
    dest: Path | None = None,
) -> dict[str, Any]:
    """Baseline (b): a second model, initialised from the same SFT model, trained only on the
    verification loss over the base RL run's rollouts (``out/baseline/rollouts.jsonl``) with
    RL^V's number of verification updates (``epochs`` times that: the rollouts seen ``epochs``
    times, ``benches/demo_verifier.py``); it then scores the base RL model's evaluation
    samples (the same completions), which are rescored. Writes ``dest`` (default
    ``out/separate-verifier/``); the report's ``updates`` counts the verifier's updates."""
    from rlv import models
    from rlv.training.rollout import read_rollouts
    from rlv.training.verifier_train import train_verifier

    c = copy.deepcopy(cfg)
    c.verify.lam = 0.0
    model, tok = models.load(sft_dir)
    rows = read_rollouts(out / "baseline" / "rollouts.jsonl")
    _, hist = train_verifier(c, rows * epochs, model=model, tokenizer=tok)
    dump_in = out / "baseline" / "eval" / "samples.jsonl"
    dest = out / "separate-verifier" if dest is None else dest
    dest.mkdir(parents=True, exist_ok=True)
    rescore_dump(model, tok, c, dump_in, dest / "samples.jsonl")
    report = _dump_report(dest / "samples.jsonl", dest, n=EVAL_N, seed=seed)
    report["tokens"] = tokens  # the base RL model's samples, scored by a same-size model
    report["updates"] = len(hist)
    return report


def rescore_dump(model: Any, tokenizer: Any, cfg: Config, dump_in: Path, dump_out: Path) -> None:
    """Score the completions of a sample dump with ``model``'s verifier (as sampled: finished
    ones end with EOS, truncated ones do not) and write a dump with these scores."""
    from rlv.training.setup import build_verifier

    verifier = build_verifier(cfg, tokenizer)
    rows = [json.loads(line) for line in dump_in.read_text().splitlines() if line.strip()]
    prompts: list[list[int]] = []
    comps: list[list[int]] = []
    for r in rows:
        p = verifier.prompt_ids(r["prompt"])
        for text, done in zip(r["completions"], r["finished"], strict=True):
            ids = verifier.completion_ids(text)
            if not done and ids and ids[-1] == verifier.eos_id:
                ids = ids[:-1]
            prompts.append(p)
            comps.append(ids)
    sc = verifier.score(model, prompts, comps, progress=cfg.train.progress)
    k = 0
    with dump_out.open("w", encoding="utf-8") as f:
        for r in rows:
            n = len(r["completions"])
            raw, norm = sc.raw[k : k + n].tolist(), sc.normalized[k : k + n].tolist()
            k += n
            r = {**r, "scores_raw": raw, "scores_normalized": norm}
            r["scores"] = raw if cfg.verify.score == "raw" else norm
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def efficiency(report: dict[str, Any]) -> dict[str, Any]:
    """RL^V's weighted vote against base RL's majority vote: the samples base majority needs
    to match RL^V weighted at each k (``rlv compare``'s ratio), by samples and by tokens
    (generated + verification, with the prefix cache kept and, ``tokens_uncached``, with
    every verification row recomputed: :func:`compute_matched`)."""
    from rlv.scaling.estimators import efficiency_ratio

    base, rlv_ = report["baseline"], report
    by_samples = efficiency_ratio(base["curves"]["majority"], rlv_["curves"]["weighted"])
    base_tok = compute_matched(base, ("majority",))["majority"]
    by_tokens = efficiency_ratio(base_tok, compute_matched(rlv_, ("weighted",))["weighted"])
    by_uncached = efficiency_ratio(
        base_tok, compute_matched(rlv_, ("weighted",), cached=False)["weighted"]
    )
    return {
        "samples": _eff_dict(by_samples),
        "tokens": _eff_dict(by_tokens),
        "tokens_uncached": _eff_dict(by_uncached),
    }


def _eff_dict(e: Any) -> dict[str, Any]:
    """An :class:`rlv.scaling.estimators.Efficiency` as JSON, plus the largest ratio over the
    k where base majority does catch up (``best``, ``best_k``)."""
    defined = {k: r for k, r in e.per_k.items() if r is not None}
    best_k = max(defined, key=lambda k: defined[k]) if defined else None
    return {
        "per_k": {str(k): v for k, v in e.per_k.items()},
        "at_least": {str(k): v for k, v in e.at_least.items()},
        "headline": e.headline,
        "headline_k": e.headline_k,
        "best": defined[best_k] if best_k is not None else None,
        "best_k": best_k,
    }


def plot_demo(report: dict[str, Any], path: Path) -> None:
    """Two panels: accuracy vs samples (log2) and vs tokens per problem, for RL^V (majority,
    weighted), base RL (majority, its own verifier weighted) and base RL + separate verifier
    (weighted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
        ("RL^V", report, ("majority", "weighted"))
    ]
    if "baseline" in report:
        runs.append(("base RL", report["baseline"], ("majority", "weighted")))
    if report.get("separate_verifier") is not None:
        runs.append(("base RL + separate verifier", report["separate_verifier"], ("weighted",)))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, rep, methods in runs:
        tok = compute_matched(rep, methods)
        for m in methods:
            ks = sorted(int(k) for k in rep["curves"][m])
            axes[0].plot(ks, [rep["curves"][m][str(k)] for k in ks], marker="o", ms=3,
                         label=f"{label}, {m}")  # fmt: skip
            ts = sorted(int(t) for t in tok[m])
            axes[1].plot(ts, [tok[m][str(t)] for t in ts], marker="o", ms=3,
                         label=f"{label}, {m}")  # fmt: skip
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel("samples per problem (k)")
    axes[1].set_xscale("log", base=2)
    axes[1].set_xlabel("tokens per problem (generated + verification)")
    for ax in axes:
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"rlv demo, seed {report.get('seed', '?')}: held-out problems")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _quiet_transformers() -> None:
    """No per-file weight-loading progress bars (the demo has its own)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def format_summary(report: dict[str, Any]) -> str:
    """A short text summary of a demo report: the scaling table, the headline numbers and
    (with the baseline) the comparison read in plain words (:func:`reading`)."""
    from rlv.scaling.rescore import format_table

    n = str(EVAL_N)
    c = report["curves"]
    lines = [
        "RL^V model, held-out problems:",
        format_table(report),
        "",
        f"reward before RL (SFT, held-out): {report['reward_before_rl']:.3f}",
        f"reward after RL (held-out):       {report['reward_after_rl']:.3f}",
        f"verifier AUC (held-out samples):  {report['verifier_auc']:.3f}",
    ]
    if "weighted" in c and n in c["weighted"]:
        lines.append(f"weighted@{n} {c['weighted'][n]:.3f} vs majority@{n} {c['majority'][n]:.3f}")
    if "baseline" in report:
        lines += ["", *reading(report)]
    elif "paired" in report:
        p = report["paired"]
        lines.append(
            f"paired over problems (full pool): weighted - majority = "
            f"{p['weighted_minus_majority']:+.3f} +/- {p['stderr']:.3f} "
            f"({p['weighted_wins']} wins / {p['majority_wins']} losses)"
        )
    if "timings" in report:
        lines.append(f"total time: {report['timings']['total_s']:.0f} s")
    return "\n".join(lines)


def _pts(x: float) -> str:
    return f"{100 * x:+.1f} points"


def reading(report: dict[str, Any]) -> list[str]:
    """The RL^V vs base RL comparison of a ``--baseline`` report, in plain words."""
    n = str(EVAL_N)
    b, c = report["baseline"], report["curves"]
    bc = b["curves"]
    v = report["vs_baseline"]
    lo, hi = v.get("ci95", [math.nan, math.nan])
    lines = [
        f"Same SFT model, same RL budget, same {report['problems']} held-out problems, "
        f"{n} samples each:",
        f"  base RL (lambda=0), majority vote:        {bc['majority'][n]:.3f}",
        f"  base RL, weighted by its own verifier:    {bc['weighted'][n]:.3f}"
        f"  (AUC {b['verifier_auc']:.3f})",
    ]
    sep = report.get("separate_verifier")
    if sep is not None:
        lines.append(
            f"  base RL + separately trained verifier:   {sep['curves']['weighted'][n]:.3f}"
            f"  (AUC {sep['verifier_auc']:.3f})"
        )
    lines += [
        f"  RL^V, majority vote:                      {c['majority'][n]:.3f}",
        f"  RL^V, weighted by its own verifier:       {c['weighted'][n]:.3f}"
        f"  (AUC {report['verifier_auc']:.3f})",
        "",
        f"RL^V's weighted vote vs base RL's majority vote: "
        f"{_pts(v['weighted_minus_majority'])} (95% bootstrap CI {_pts(lo)} to {_pts(hi)}; "
        f"RL^V right where base is wrong on {v['weighted_wins']} problems, the reverse on "
        f"{v['majority_wins']}).",
    ]
    if math.isfinite(lo) and lo > 0:
        lines.append("  -> RL^V's verifier-weighted vote is better, beyond this run's noise.")
    elif math.isfinite(hi) and hi < 0:
        lines.append("  -> base RL's majority vote is better here, beyond this run's noise.")
    else:
        lines.append("  -> no difference this run can resolve (the interval contains 0).")
    for key, label in (("rlv", "RL^V"), ("base", "base RL")):
        pr = (report if key == "rlv" else b).get("premise")
        if pr:
            lines.append(
                f"{label}: majority vote wrong although a sample is right on "
                f"{pr['majority_wrong_pass_right']} of {pr['problems']} problems "
                f"({100 * pr['share']:.0f}%: the room a verifier can win); verifier AUC on "
                f"those problems' samples {pr['verifier_auc_there']:.3f}."
            )
    eff = report.get("efficiency")
    if eff:
        for what, unit, noun, at in (
            ("samples", "samples", "samples", "k"),
            ("tokens", "tokens (verification counted, prefix cache kept)", "tokens", "budget"),
            ("tokens_uncached", "tokens (verification rows recomputed)", "tokens", "budget"),
        ):
            e = eff[what]
            if e["headline"] is not None:
                lines.append(
                    f"Efficiency by {unit}: base RL's majority vote needs "
                    f"{e['headline']:.1f}x the {noun} to match RL^V weighted at its "
                    f"{at} = {e['headline_k']} (largest: {e['best']:.1f}x at {e['best_k']})."
                )
            elif e["at_least"]:
                k = max(e["at_least"], key=int)
                lines.append(
                    f"Efficiency by {unit}: base RL's majority vote never reaches RL^V "
                    f"weighted's accuracy at {k} within the evaluated range (more than "
                    f"{e['at_least'][k]:.1f}x)."
                )
    return lines
