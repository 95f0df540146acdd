"""A separately trained verifier: the verification loss alone, on recorded RL rollouts.

The baseline RL^V is compared against ("base RL + a separate verifier"): a second model,
trained only to answer Yes/No on the rollouts of a base RL run (``train.save_rollouts``),
with the same number of verification updates RL^V makes and the same loss (``verify.mode``,
``verify.balance``), so the only difference to RL^V is that its verifier is not the policy::

    from rlv.training.verifier_train import train_verifier

    model, history = train_verifier(cfg, "runs/base/rollouts.jsonl", model=sft_model,
                                    tokenizer=tok)

torch is imported by this module; ``import rlv`` does not import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlv.rl.objective import LossNorms, verification_term
from rlv.training.config import Config
from rlv.training.rollout import read_rollouts
from rlv.training.setup import autocast, build_verifier, lr_schedule, micro_batches, seed_everything
from rlv.verifier import (
    build_verification_batch,
    forward_window,
    verification_labels,
    verification_weights,
)

__all__ = ["train_verifier"]


def train_verifier(
    cfg: Config,
    rollouts: str | Path | Sequence[dict[str, Any]],
    *,
    model: Any,
    tokenizer: Any,
    progress: bool | None = None,
) -> tuple[Any, list[dict[str, float]]]:
    """Train ``model`` (in place) as a verifier on recorded rollouts.

    Each recorded step gives ``rl.ppo_epochs * rl.minibatches`` optimizer updates (RL^V's
    count per step), over the same contiguous minibatches as the RL loop, of the
    verification loss alone (:func:`rlv.rl.objective.verification_term`: labels from the
    rewards, ``verify.mode``, ``verify.balance``, micro-batched by ``optim.token_budget``).
    AdamW with ``optim.lr``, ``optim.warmup_steps`` and ``optim.schedule``, as in RL.

    Args:
        rollouts: a ``rollouts.jsonl`` path or its rows
            (:func:`rlv.training.rollout.read_rollouts`).

    Returns:
        ``(model, history)``: one metrics dict per update (``loss/verify``,
        ``verifier/accuracy``, ``optim/grad_norm``, ``optim/lr``).
    """
    rows = read_rollouts(rollouts) if isinstance(rollouts, (str, Path)) else list(rollouts)
    cfg.validate()
    seed_everything(cfg.train.seed)
    device = next(model.parameters()).device
    bf16 = device.type == "cuda" if cfg.train.bf16 is None else cfg.train.bf16
    verifier = build_verifier(cfg, tokenizer)
    n_mb, epochs = cfg.rl.minibatches, cfg.rl.ppo_epochs
    total = len(rows) * n_mb * epochs
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=cfg.optim.lr,
        betas=(cfg.optim.beta1, cfg.optim.beta2),
        weight_decay=cfg.optim.weight_decay,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_schedule(cfg.optim.warmup_steps, total, cfg.optim.schedule)
    )
    show = cfg.train.progress if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="verifier", unit="update", dynamic_ncols=True)
    history: list[dict[str, float]] = []
    model.train()
    suffix = len(verifier.suffix_ids)
    try:
        for row in rows:
            p_ids, c_ids, rewards = row["prompt_ids"], row["completion_ids"], row["rewards"]
            for _ in range(epochs):
                for mb in np.array_split(np.arange(len(rewards)), n_mb):
                    labels, valid = verification_labels(rewards[mb])
                    v_total, pw = verification_weights(labels, valid, cfg.verify.balance)
                    norms = LossNorms(1.0, 1.0, 1.0, v_total, pw)
                    lengths = [len(p_ids[i]) + len(c_ids[i]) + suffix for i in mb]
                    opt.zero_grad(set_to_none=True)
                    loss_sum, acc_sum, n_valid = 0.0, 0.0, 0.0
                    for local in micro_batches(lengths, cfg.optim.token_budget):
                        sub = build_verification_batch(
                            verifier, [p_ids[mb[j]] for j in local],
                            [c_ids[mb[j]] for j in local], rewards[mb[local]], device=device,
                        )  # fmt: skip
                        with autocast(device, bf16):
                            logits = forward_window(model, sub.packed)
                        term, m = verification_term(
                            sub.packed.label_logits(logits), sub.labels, sub.valid,
                            norms=norms, yes_id=sub.yes_id, no_id=sub.no_id,
                            verify_mode=cfg.verify.mode,
                        )  # fmt: skip
                        term.backward()
                        k = float(sub.valid.sum().item())
                        loss_sum += float(term.item())
                        acc_sum += float(m["verifier/accuracy"].item()) * k
                        n_valid += k
                    gn = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
                    opt.step()
                    sched.step()
                    history.append(
                        {
                            "loss/verify": loss_sum,
                            "verifier/accuracy": acc_sum / n_valid if n_valid else 0.0,
                            "optim/grad_norm": float(gn),
                            "optim/lr": float(sched.get_last_lr()[0]),
                        }
                    )
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{loss_sum:.3f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
    model.eval()
    return model, history
