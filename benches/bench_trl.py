"""Benchmark: RL^V in TRL on the CPU with the tiny Qwen2, on fixed rollouts.

Two measurements, on one machine, in one process:

1. **Grading.** The same completions graded by ``rlv.integrations.trl.accuracy_reward``
   (rlv's Rust grader, strict) and by TRL's ``trl.rewards.accuracy_reward`` (math-verify), as
   TRL calls them (conversational completions, a ``solution`` column); median of repeats.
2. **Steps.** Optimizer steps of plain ``GRPOTrainer`` and of ``RLVGRPOTrainer`` with
   ``verify_lambda`` 0 and 0.3, each with either reward, on the same fixed rollouts (a
   deterministic ``rollout_func``, so no sampling time), ``bf16=False``. Reported per
   configuration: median step time (TRL's ``step_time`` metric, the first step dropped),
   the reward function's share of the whole step (grading is called once per step here), and
   the verifier's share ``(t_rlv - t_plain) / t_rlv``.

    python benches/bench_trl.py [--steps 6] [--batch 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer
from trl.rewards import accuracy_reward as trl_accuracy_reward

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


def bench_steps(kind: str, reward: str, lam: float, steps: int, batch: int) -> dict[str, float]:
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
    trainer.train()
    step_times = [h["step_time"] for h in trainer.state.log_history if "step_time" in h][1:]
    step = statistics.median(step_times)
    return {"step_s": step, "grading_s": statistics.median(grading[1:]), "steps": len(step_times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--grading-n", type=int, default=4096)
    ap.add_argument("--json")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    out: dict[str, Any] = {
        "machine": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "grading": bench_grading(a.grading_n, 3),
    }
    rows = {}
    for kind, lam in (("plain", 0.0), ("rlv", 0.0), ("rlv", 0.3)):
        for reward in ("rlv", "trl_math_verify"):
            r = bench_steps(kind, reward, lam, a.steps, a.batch)
            rows[f"{kind} lambda={lam} reward={reward}"] = r
    for key, r in rows.items():
        reward = key.split("reward=")[1]
        base = rows[f"plain lambda=0.0 reward={reward}"]["step_s"]
        r["grading_share"] = r["grading_s"] / r["step_s"]
        r["verifier_share"] = (r["step_s"] - base) / r["step_s"]
    out["steps"] = rows
    print(json.dumps(out, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
