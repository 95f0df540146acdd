"""Benchmark: RL^V in TRL on the CPU with the tiny Qwen2, on fixed rollouts.

Two measurements, on one machine, in one process:

1. **Grading.** The same completions graded by ``rlv.integrations.trl.accuracy_reward``
   (rlv's Rust grader, strict) and by TRL's ``trl.rewards.accuracy_reward`` (math-verify), as
   TRL calls them (conversational completions, a ``solution`` column); median of repeats.
2. **Steps.** Optimizer steps of plain ``GRPOTrainer`` and of ``RLVGRPOTrainer`` with
   ``verify_lambda`` 0 and 0.3, each with either reward, on the same fixed rollouts (a
   deterministic ``rollout_func``, so no sampling time), ``bf16=False``. The configurations
   are **interleaved**: each of ``--rounds`` rounds trains every configuration for
   ``--steps`` steps (a fresh model and trainer, the first step dropped), so load changes
   on a shared machine hit all of them alike. Per configuration and round: the median
   step time (TRL's ``step_time``), the reward function's share of the step (grading is
   called once per step), and, against the same round's plain ``GRPOTrainer`` with the same
   reward, the verifier's share ``(t_rlv - t_plain) / t_rlv`` (lambda 0: the verification
   rows' forward pass for the metrics; lambda 0.3: forward and backward). Reported: the
   median over rounds with the min and max.

    OMP_NUM_THREADS=1 python benches/bench_trl.py [--rounds 5] [--steps 4] [--batch 64]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer
from trl.rewards import accuracy_reward as trl_accuracy_reward

from rlv import _core as rlv_core
from rlv.integrations.trl import RLVGRPOConfig, RLVGRPOTrainer, accuracy_reward
from rlv.models import tiny
from rlv.tasks import ArithmeticTask

G = 8


def _answers(gold: str) -> list[str]:
    """Eight completions per problem: right and wrong, boxed, ####, unmarked."""
    wrong = str(int(gold) + 1)
    return [
        f"so the total is \\boxed{{{gold}}}",
        f"so the total is \\boxed{{{wrong}}}",
        f"= {gold}\n#### {gold}",
        f"#### {wrong}",
        f"the answer is $\\frac{{{2 * int(gold)}}}{{2}}$",
        f"\\boxed{{{gold}.0}}",
        "I do not know",
        f"{gold}",
    ]


def _timed(fn: Callable[..., list[float | None]], log: list[float]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> list[float | None]:
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        log.append(time.perf_counter() - t)
        return out

    wrapped.__name__ = fn.__name__
    return wrapped


def _trl_reward(completions: list[str], solution: list[str], **kw: Any) -> list[float | None]:
    """TRL's math-verify reward on plain completions (it reads ``completion[0]["content"]``)."""
    conv = [[{"role": "assistant", "content": c}] for c in completions]
    return list(trl_accuracy_reward(conv, solution))


def bench_grading(n: int, repeats: int) -> dict[str, float]:
    probs = ArithmeticTask().sample(n // G, seed=0)
    comps = [c for p in probs for c in _answers(p.gold)]
    golds = [p.gold for p in probs for _ in range(G)]
    conv = [[{"role": "assistant", "content": c}] for c in comps]
    res: dict[str, float] = {"completions": float(len(comps))}
    for name, fn in (("rlv", accuracy_reward), ("trl_math_verify", trl_accuracy_reward)):
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn(conv, solution=golds)
            ts.append(time.perf_counter() - t)
        res[f"{name}_s"] = statistics.median(ts)
    res["speedup"] = res["trl_math_verify_s"] / res["rlv_s"]
    return res


def _trainer(kind: str, reward: str, lam: float, steps: int, batch: int) -> tuple[Any, list[float]]:
    model, tok = tiny(seed=0)
    probs = ArithmeticTask().sample(64, seed=1)
    gold_of = {p.prompt: p.gold for p in probs}
    ds = Dataset.from_list([{"prompt": p.prompt, "solution": p.gold} for p in probs])

    def rollout_func(prompts: list[str], trainer: Any) -> dict[str, Any]:
        seen: dict[str, int] = {}
        p_ids, c_ids, lps = [], [], []
        for p in prompts:
            j = seen.get(p, 0)
            seen[p] = j + 1
            ids = tok.encode(_answers(gold_of[p])[j % G], add_special_tokens=False)
            ids.append(tok.eos_token_id)
            p_ids.append(tok.encode(p, add_special_tokens=False))
            c_ids.append(ids)
            lps.append([0.0] * len(ids))
        return {"prompt_ids": p_ids, "completion_ids": c_ids, "logprobs": lps}

    grading: list[float] = []
    fn = _timed(accuracy_reward if reward == "rlv" else _trl_reward, grading)
    common: dict[str, Any] = {
        "output_dir": tempfile.mkdtemp(prefix="bench_trl_"),
        "use_cpu": True,
        "bf16": False,
        "max_steps": steps,
        "per_device_train_batch_size": batch,
        "num_generations": G,
        "max_completion_length": 48,
        "report_to": "none",
        "save_strategy": "no",
        "logging_steps": 1,
        "seed": 0,
        "disable_tqdm": True,
    }
    if kind == "plain":
        trainer: Any = GRPOTrainer(
            model=model,
            reward_funcs=fn,
            args=GRPOConfig(**common),
            train_dataset=ds,
            processing_class=tok,
            rollout_func=rollout_func,
        )
    else:
        trainer = RLVGRPOTrainer(
            model=model,
            reward_funcs=fn,
            args=RLVGRPOConfig(**common, verify_lambda=lam),
            train_dataset=ds,
            processing_class=tok,
            rollout_func=rollout_func,
        )
    return trainer, grading


def bench_steps(kind: str, reward: str, lam: float, steps: int, batch: int) -> dict[str, float]:
    """One configuration trained for ``steps`` steps: median step time and grading time
    (the first step dropped)."""
    trainer, grading = _trainer(kind, reward, lam, steps, batch)
    trainer.train()
    step_times = [h["step_time"] for h in trainer.state.log_history if "step_time" in h][1:]
    return {
        "step_s": statistics.median(step_times),
        "grading_s": statistics.median(grading[1:]),
        "steps": float(len(step_times)),
    }


CONFIGS = [
    (kind, lam, reward)
    for kind, lam in (("plain", 0.0), ("rlv", 0.0), ("rlv", 0.3))
    for reward in ("rlv", "trl_math_verify")
]


def _name(kind: str, lam: float, reward: str) -> str:
    return f"{kind} lambda={lam} reward={reward}"


def _spread(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def bench_rounds(rounds: int, steps: int, batch: int) -> dict[str, Any]:
    """Every configuration once per round, in the same order; shares per round."""
    per: dict[str, dict[str, list[float]]] = {
        _name(*c): {"step_s": [], "grading_s": [], "grading_share": [], "verifier_share": []}
        for c in CONFIGS
    }
    for r in range(rounds):
        got = {_name(*c): bench_steps(c[0], c[2], c[1], steps, batch) for c in CONFIGS}
        for kind, lam, reward in CONFIGS:
            key = _name(kind, lam, reward)
            x = got[key]
            base = got[_name("plain", 0.0, reward)]["step_s"]
            per[key]["step_s"].append(x["step_s"])
            per[key]["grading_s"].append(x["grading_s"])
            per[key]["grading_share"].append(x["grading_s"] / x["step_s"])
            if kind != "plain":
                per[key]["verifier_share"].append((x["step_s"] - base) / x["step_s"])
        print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    return {key: {m: _spread(v) for m, v in metrics.items() if v} for key, metrics in per.items()}


def table(steps: dict[str, Any]) -> str:
    """A markdown table of :func:`bench_rounds`'s result (medians, [min, max])."""

    def cell(d: dict[str, float], scale: float, fmt: str) -> str:
        return (
            f"{format(scale * d['median'], fmt)} "
            f"[{format(scale * d['min'], fmt)}, {format(scale * d['max'], fmt)}]"
        )

    lines = [
        "| trainer | reward | step (ms) | grading (ms) | grading share | verifier share |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for key, m in steps.items():
        trainer, reward = key.split(" reward=")
        vs = cell(m["verifier_share"], 100, ".1f") + " %" if "verifier_share" in m else "-"
        lines.append(
            f"| {trainer} | {reward} | {cell(m['step_s'], 1000, '.0f')} | "
            f"{cell(m['grading_s'], 1000, '.1f')} | {cell(m['grading_share'], 100, '.1f')} % "
            f"| {vs} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=4, help="steps per configuration and round")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--grading-n", type=int, default=4096)
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.steps < 2:
        ap.error("--steps must be >= 2 (the first step of each run is dropped)")
    warnings.simplefilter("ignore")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    if rlv_core.build_profile != "release":
        print(
            f"warning: rlv is a {rlv_core.build_profile} build; grading times need `pip install .`",
            file=sys.stderr,
        )
    out: dict[str, Any] = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "rlv_build": rlv_core.build_profile,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "settings": {"rounds": a.rounds, "steps": a.steps, "batch": a.batch},
        "grading": bench_grading(a.grading_n, 5),
    }
    out["steps"] = bench_rounds(a.rounds, a.steps, a.batch)
    print(json.dumps(out, indent=2))
    print(table(out["steps"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
