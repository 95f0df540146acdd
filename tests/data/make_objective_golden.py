"""Write ``objective_golden.json``: the RL^V loss and its gradients from the PRE-redesign
trainer (commit 4724f15), the reference that ``tests/test_objective.py`` holds the RL^V
objective (``rlv.rl.objective``) to.

It runs the old code path exactly as ``train_step`` did after its forward pass:
``rlv.training.rlv_loss`` (policy loss + KL + lambda x the share-scaled verification loss)
on a fixed batch of 8 rollouts (2 prompts x 4 samples, one unscorable) packed by the old
``Verifier.pack``, split into two micro-batches whose gradients accumulate, with the
step's normalisers from the old ``verify_norms``/``LossNorms`` and advantages from the old
``rlv.advantages`` (GRPO, Dr. GRPO, RLOO). The model is ``rlv.models.tiny`` (hidden size
16, one layer: 4,272 parameters) converted to float64. Old and reference log-probs are
the recomputed ones plus fixed noise (stored in the file), so clipping and the KL act.

Six cases: each algorithm with ``verify.lambda = 0`` and with ``lambda > 0`` (the latter
with a KL term, the ``yes_no`` mode, class balancing, dual clip or a sampling temperature
as listed in ``CASES``).

Gradients: 4,272 values per case would make the file ~0.5 MB, so it stores, per
parameter tensor, the sum of the gradient and its dot products with three fixed standard
normal vectors (``numpy.random.default_rng([PROJ_SEED, param_index, k])``); together with
the loss this pins the gradient far below the test's 1e-6 tolerance.

Run from the repository root at the pre-redesign commit (the names it imports were moved
afterwards)::

    python tests/data/make_objective_golden.py tests/data/objective_golden.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlv import advantages as adv_mod
from rlv import models
from rlv.config import load_config
from rlv.training import LossNorms, rlv_loss, token_logprobs, verify_norms
from rlv.verifier import Verifier, forward_window

MODEL = {
    "hidden_size": 16,
    "num_layers": 1,
    "num_heads": 2,
    "head_dim": 8,
    "intermediate_size": 32,
    "max_position_embeddings": 128,
    "seed": 3,
}
PROMPTS = ["1+2=?\n", "30-4=?\n"]
COMPLETIONS = [
    "1+2=3\n#### 3",
    "#### 4",
    "1+2=3\n#### 3.0",
    "2+1=3 so\n#### x",
    "30-4=26\n#### 26",
    "#### 4",
    "30-4\n#### 34",
    "26",
]
REWARDS = [1.0, 0.0, 1.0, float("nan"), 1.0, 0.0, 0.0, 1.0]
GROUP = 4
MICRO_BATCHES = [[0, 1, 2, 5, 6], [3, 4, 7]]
NOISE_SEED = 11
PROJ_SEED = 2024
N_PROJ = 3
CASES: list[dict[str, Any]] = [
    {"name": "grpo-lambda0", "set": ["rl.algo=grpo", "verify.lambda=0"]},
    {
        "name": "grpo-lambda0.5-kl",
        "set": ["rl.algo=grpo", "verify.lambda=0.5", "rl.kl_coef=0.1"],
    },
    {"name": "dr_grpo-lambda0", "set": ["rl.algo=dr_grpo", "verify.lambda=0"]},
    {
        "name": "dr_grpo-lambda0.7-yes_no",
        "set": ["rl.algo=dr_grpo", "verify.lambda=0.7", "verify.mode=yes_no"],
    },
    {"name": "rloo-lambda0", "set": ["rl.algo=rloo", "verify.lambda=0"]},
    {
        "name": "rloo-lambda1-balanced-dualclip-temp",
        "set": [
            "rl.algo=rloo",
            "verify.lambda=1.0",
            "verify.balance=true",
            "rl.clip_ratio_c=3.0",
            "rl.kl_coef=0.05",
            "rl.kl_kind=k2",
            "generation.temperature=0.8",
        ],
    },
]


def projections(grads: list[torch.Tensor]) -> list[list[float]]:
    """Per parameter: ``[sum, <g, r_0>, <g, r_1>, <g, r_2>]`` with fixed normal ``r_k``."""
    out = []
    for i, g in enumerate(grads):
        flat = g.detach().double().reshape(-1).numpy()
        row = [float(flat.sum())]
        for k in range(N_PROJ):
            r = np.random.default_rng([PROJ_SEED, i, k]).standard_normal(flat.size)
            row.append(float(flat @ r))
        out.append(row)
    return out


def main(out_path: str) -> None:
    torch.use_deterministic_algorithms(True)
    model, tok = models.tiny(**MODEL)
    model = model.double()
    model.eval()  # no dropout in Qwen2 anyway; eval keeps it explicit
    v = Verifier(tok)
    p_ids = [v.prompt_ids(p) for p in PROMPTS for _ in range(GROUP)]
    c_ids = [v.completion_ids(c) for c in COMPLETIONS]
    rewards = np.asarray(REWARDS, dtype=np.float32)
    valid = ~np.isnan(rewards)
    labels = np.where(valid, rewards > 0.5, False)
    width = max(len(c) for c in c_ids)
    rng = np.random.default_rng(NOISE_SEED)
    old_noise = rng.normal(0.0, 0.15, size=(len(c_ids), width))
    ref_noise = rng.normal(0.0, 0.3, size=(len(c_ids), width))
    golden: dict[str, Any] = {
        "about": "RL^V loss and gradients of the pre-redesign rlv_loss (commit 4724f15); "
        "see make_objective_golden.py",
        "model": MODEL,
        "prompts": PROMPTS,
        "completions": COMPLETIONS,
        "rewards": [None if np.isnan(r) else r for r in REWARDS],
        "group": GROUP,
        "micro_batches": MICRO_BATCHES,
        "old_noise": old_noise.tolist(),
        "ref_noise": ref_noise.tolist(),
        "proj_seed": PROJ_SEED,
        "n_proj": N_PROJ,
        "param_names": [n for n, _ in model.named_parameters()],
        "cases": [],
    }
    for case in CASES:
        cfg = load_config(None, list(case["set"]))
        rl = cfg.rl
        if rl.algo == "rloo":
            adv, _ = adv_mod.rloo(rewards, sizes=GROUP, return_stats=True)
        else:
            adv, _ = adv_mod.grpo(
                rewards, sizes=GROUP, scale=rl.resolved_scale, eps=rl.eps, return_stats=True
            )
        adv32 = np.asarray(adv, dtype=np.float32)
        adv_t = torch.from_numpy(adv32)
        lab_t = torch.from_numpy(labels)
        val_t = torch.from_numpy(valid)
        v_total, pw = verify_norms(labels, valid, cfg.verify.balance)
        norms = LossNorms(
            num_tokens=float(sum(len(c) for c in c_ids)),
            num_seqs=float(len(c_ids)),
            norm_len=float(cfg.generation.max_new_tokens),
            verify_weight_total=v_total,
            pos_weight=pw,
        )
        model.zero_grad(set_to_none=True)
        losses: list[float] = []
        sums: dict[str, float] = {}
        for idx in MICRO_BATCHES:
            b = v.pack([p_ids[i] for i in idx], [c_ids[i] for i in idx])
            c = b.completion_ids.shape[1]
            logits = forward_window(model, b)
            with torch.no_grad():
                lp = token_logprobs(
                    b.completion_logits(logits), b.completion_ids, cfg.generation.temperature
                )
            noise = torch.tensor(old_noise[idx][:, width - c :], dtype=lp.dtype)
            old = (lp + noise) * b.completion_mask
            ref = None
            if rl.kl_coef > 0:
                rnoise = torch.tensor(ref_noise[idx][:, width - c :], dtype=lp.dtype)
                ref = (lp + rnoise) * b.completion_mask
            loss, m, _ = rlv_loss(
                logits,
                b,
                advantages=adv_t[idx],
                labels=lab_t[idx],
                valid=val_t[idx],
                cfg=cfg,
                verifier=v,
                norms=norms,
                old_logprobs=old,
                ref_logprobs=ref,
            )
            loss.backward()
            losses.append(float(loss.item()))
            for k in ("loss/policy", "loss/verify", "loss/kl"):
                if k in m:
                    sums[k] = sums.get(k, 0.0) + float(m[k].item())
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]
        golden["cases"].append(
            {
                "name": case["name"],
                "set": case["set"],
                "advantages": [float(a) for a in adv32],
                "verify_weight_total": v_total,
                "pos_weight": pw,
                "micro_batch_losses": losses,
                "loss": float(sum(losses)),
                "terms": sums,
                "grad_projections": projections(grads),
            }
        )
    Path(out_path).write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/objective_golden.json")
