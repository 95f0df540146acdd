"""RL^V with TRL on rlv's built-in arithmetic task and the tiny Qwen2 model (CPU).

    python examples/trl/arithmetic_tiny.py --max-steps 4
    accelerate launch examples/trl/arithmetic_tiny.py          # one CPU process
    torchrun --nproc_per_node 2 examples/trl/arithmetic_tiny.py  # two CPU processes (gloo)

On a CPU-only machine ``accelerate launch --cpu --num_processes 2`` (and a MULTI_CPU config)
starts one process with accelerate 1.16; use ``torchrun`` for several CPU processes.

Compared with a plain TRL GRPO script, two lines differ: the config and trainer classes are
imported from ``rlv.integrations.trl`` (and the reward is rlv's grader).
"""

from __future__ import annotations

import argparse

from datasets import Dataset

from rlv.integrations.trl import RLVGRPOConfig, RLVGRPOTrainer, accuracy_reward
from rlv.models import tiny
from rlv.tasks import ArithmeticTask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-steps", type=int, default=8)
    ap.add_argument("--problems", type=int, default=64)
    ap.add_argument("--lam", type=float, default=1.0)
    ap.add_argument("--output-dir", default="trl-rlv-tiny")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    problems = ArithmeticTask().sample(a.problems, seed=a.seed, split="train")
    dataset = Dataset.from_list([{"prompt": p.prompt, "solution": p.gold} for p in problems])
    model, tokenizer = tiny(seed=a.seed)
    args = RLVGRPOConfig(
        output_dir=a.output_dir,
        use_cpu=True,
        bf16=False,  # TRL's default is bf16 autocast, also on the CPU
        max_steps=a.max_steps,
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=16,
        learning_rate=1e-3,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=a.seed,
        verify_lambda=a.lam,
    )
    trainer = RLVGRPOTrainer(
        model=model,
        reward_funcs=accuracy_reward,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    if trainer.accelerator.is_main_process:
        print(f"processes: {trainer.accelerator.num_processes}", flush=True)
    trainer.train()


if __name__ == "__main__":
    main()
