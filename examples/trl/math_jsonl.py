"""RL^V with TRL on a MATH-style JSONL file and any local Hugging Face model directory (GPU).

One process per GPU under ``accelerate launch`` (configs in this directory)::

    accelerate launch --config_file examples/trl/multi_gpu.yaml examples/trl/math_jsonl.py \\
        --model /models/Qwen2.5-Math-1.5B --train data/math/train.jsonl \\
        --eval data/math/test.jsonl --output-dir runs/math-rlv
    accelerate launch --config_file examples/trl/zero3.yaml examples/trl/math_jsonl.py ...
    # vLLM in the training processes (colocate) or on other GPUs (`trl vllm-serve`, server):
    ... examples/trl/math_jsonl.py ... --use-vllm --vllm-mode colocate

Data: JSONL read by :func:`rlv.tasks.load_problems_file` (MATH records ``problem`` /
``answer``, GSM8K ``question`` / ``answer ... #### x``, or any fields with ``--prompt-field`` /
``--gold-field``; also Parquet or a saved dataset directory). Each prompt is the problem
followed by ``--instruction``; with ``--chat`` it is a user message rendered by the model's
chat template (TRL's conversational format). The reward is rlv's grader in strict mode (a
``\\boxed{}`` or ``####`` answer), the trainer TRL's GRPO with rlv's verification loss
(``--verify-lambda``), and with ``--eval`` the :class:`rlv.integrations.trl.RLVEvalCallback`
logs pass@k / majority@k / weighted@k / Best-of-k of ``--eval-n`` samples per held-out
problem every ``--eval-every`` steps (``rlv/tts/*``).

Checked in this repository only on the CPU (``--cpu``) with rlv's tiny model for one step
(tests/test_trl.py); the GPU configurations have not been run here.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from datasets import Dataset

from rlv.integrations.trl import (
    RLVEvalCallback,
    RLVGRPOConfig,
    RLVGRPOTrainer,
    accuracy_reward,
)
from rlv.models import load_tokenizer
from rlv.tasks import Problem, load_problems_file

DEFAULT_INSTRUCTION = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="local Hugging Face model directory")
    ap.add_argument("--train", required=True, help="training problems (JSONL/Parquet/dataset)")
    ap.add_argument("--eval", help="held-out problems for the test-time-scaling callback")
    ap.add_argument("--output-dir", default="trl-rlv-math")
    ap.add_argument("--prompt-field")
    ap.add_argument("--gold-field")
    ap.add_argument("--instruction", default=DEFAULT_INSTRUCTION)
    ap.add_argument("--chat", action="store_true", help="prompts as chat messages")
    ap.add_argument("--max-train-problems", type=int, default=None)
    # optimisation
    ap.add_argument("--max-steps", type=int, default=500)
    ap.add_argument("--per-device-batch", type=int, default=8, help="completions per device")
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--num-generations", type=int, default=8)
    ap.add_argument("--max-completion-length", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=1e-6)
    ap.add_argument("--loss-type", default="dapo")
    ap.add_argument("--beta", type=float, default=0.0)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--cpu", action="store_true", help="run on the CPU (checks only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--logging-steps", type=int, default=1)
    ap.add_argument("--save-steps", type=int, default=0, help="0: no checkpoints")
    ap.add_argument("--report-to", default="none")
    # RL^V
    ap.add_argument("--verify-lambda", type=float, default=1.0)
    ap.add_argument("--verify-template", default="plain")
    ap.add_argument("--verify-mode", choices=("full", "yes_no"), default="full")
    ap.add_argument("--verify-balance", action="store_true")
    # generation
    ap.add_argument("--use-vllm", action="store_true")
    ap.add_argument("--vllm-mode", choices=("colocate", "server"), default="colocate")
    ap.add_argument("--vllm-server-host", default="0.0.0.0")
    ap.add_argument("--vllm-server-port", type=int, default=8000)
    ap.add_argument("--vllm-gpu-memory-utilization", type=float, default=0.3)
    # test-time-scaling evaluation
    ap.add_argument("--eval-problems", type=int, default=128)
    ap.add_argument("--eval-n", type=int, default=8)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--eval-dump-dir", help="write each evaluation's rlv rescore dump here")
    return ap.parse_args(argv)


def load_problems(path: str, a: argparse.Namespace, limit: int | None) -> list[Problem]:
    problems = load_problems_file(
        path,
        prompt_field=a.prompt_field,
        gold_field=a.gold_field,
        prompt_template="{prompt}" + a.instruction,
    )
    return problems[:limit] if limit is not None else problems


def rows(problems: Sequence[Problem], chat: bool) -> list[dict[str, Any]]:
    """TRL's dataset rows: ``prompt`` (text, or one user message) and ``solution`` (gold)."""
    return [
        {
            "id": p.id,
            "prompt": [{"role": "user", "content": p.prompt}] if chat else p.prompt,
            "solution": p.gold,
        }
        for p in problems
    ]


def build_config(a: argparse.Namespace) -> RLVGRPOConfig:
    vllm: dict[str, Any] = {}
    if a.use_vllm:
        vllm = {
            "use_vllm": True,
            "vllm_mode": a.vllm_mode,
            "vllm_server_host": a.vllm_server_host,
            "vllm_server_port": a.vllm_server_port,
            "vllm_gpu_memory_utilization": a.vllm_gpu_memory_utilization,
        }
    return RLVGRPOConfig(
        output_dir=a.output_dir,
        use_cpu=a.cpu,
        bf16=a.bf16 and not a.cpu,
        max_steps=a.max_steps,
        per_device_train_batch_size=a.per_device_batch,
        gradient_accumulation_steps=a.grad_accum,
        num_generations=a.num_generations,
        max_completion_length=a.max_completion_length,
        learning_rate=a.lr,
        loss_type=a.loss_type,
        beta=a.beta,
        temperature=a.temperature,
        gradient_checkpointing=a.gradient_checkpointing,
        logging_steps=a.logging_steps,
        save_strategy="steps" if a.save_steps > 0 else "no",
        save_steps=max(a.save_steps, 1),
        report_to=a.report_to,
        seed=a.seed,
        verify_lambda=a.verify_lambda,
        verify_template=a.verify_template,
        verify_mode=a.verify_mode,
        verify_balance=a.verify_balance,
        **vllm,
    )


def build_trainer(a: argparse.Namespace) -> RLVGRPOTrainer:
    tokenizer = load_tokenizer(a.model)
    train = load_problems(a.train, a, a.max_train_problems)
    trainer = RLVGRPOTrainer(
        model=a.model,  # TRL loads it (DeepSpeed ZeRO-3 init, dtype) from the local directory
        reward_funcs=accuracy_reward,
        args=build_config(a),
        train_dataset=Dataset.from_list(rows(train, a.chat)),
        processing_class=tokenizer,
    )
    if a.eval:
        held_out = load_problems(a.eval, a, a.eval_problems)
        trainer.add_callback(
            RLVEvalCallback(
                trainer,
                rows(held_out, a.chat),
                n=a.eval_n,
                every_n_steps=a.eval_every,
                at_start=True,
                dump_dir=a.eval_dump_dir,
            )
        )
    return trainer


def main(argv: Sequence[str] | None = None) -> RLVGRPOTrainer:
    a = parse_args(argv)
    trainer = build_trainer(a)
    if trainer.accelerator.is_main_process:
        print(f"processes: {trainer.accelerator.num_processes}", flush=True)
    trainer.train()
    return trainer


if __name__ == "__main__":
    main()
