"""Step metrics of the RL^V loop and where they go.

:class:`StepSums` accumulates the micro-batch metrics of a step's updates,
:func:`step_metrics` turns a finished step into its metrics dict, and :class:`MetricsLogger`
writes them to ``metrics.jsonl`` (and TensorBoard / W&B when asked for).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'rlv.training needs PyTorch and transformers: pip install "rlv[train]"'
    ) from exc

from rlv.exceptions import ConfigError
from rlv.training.config import Config, to_dict
from rlv.training.rollout import Rollouts
from rlv.verifier import auc, brier, p_yes

__all__ = ["MetricsLogger", "StepSums", "check_logging_available", "step_metrics"]

NOT_AVERAGED = ("policy/n_tokens", "policy/ratio_max", "policy/ratio_min")
"""Micro-batch metrics that are not averaged over a step (not meaningful as a mean)."""
MAXED = ("gen/logprob_max_abs_diff",)
"""Micro-batch metrics reduced by their maximum over a step."""


class StepSums:
    """The micro-batch metrics of one step's updates: sums (token-weighted for the ``policy/``
    token means) and maxima.

    Loss terms are globally normalised already, so their sums over a update's micro-batches
    are the update's values; ``verifier/`` metrics are skipped (a step reports its verifier
    metrics from the pre-update scores, :func:`step_metrics`).
    """

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.maxed: dict[str, float] = {}

    def max(self, key: str, value: float) -> None:
        self.maxed[key] = max(self.maxed.get(key, 0.0), value)

    def add(self, metrics: dict[str, torch.Tensor], loss: torch.Tensor, n_tokens: float) -> None:
        """Add one micro-batch: its metrics, its loss and its number of completion tokens."""
        sums = self.sums
        for k, v in metrics.items():
            if k in MAXED:
                self.max(k, float(v.item()))
                continue
            if k.startswith("verifier/") or k in NOT_AVERAGED:
                continue
            # loss terms are globally normalised already; policy stats are token means
            scale = n_tokens if k.startswith("policy/") and k != "policy/entropy_sum" else 1.0
            sums[k] = sums.get(k, 0.0) + float(v.item()) * scale
        sums["loss/total"] = sums.get("loss/total", 0.0) + float(loss.item())

    def averages(self, n_updates: int, total_tokens: float) -> dict[str, float]:
        """Loss terms as the mean over the step's updates; the rest per completion token."""
        out: dict[str, float] = {}
        for k, total in self.sums.items():
            if k.startswith("loss/"):
                out[k] = total / n_updates  # mean over the updates of the step
            elif k == "policy/entropy_sum":
                out["policy/entropy"] = total / max(total_tokens, 1.0)
            else:
                out[k] = total / max(total_tokens, 1.0)
        return out


def step_metrics(
    roll: Rollouts,
    labels: npt.NDArray[np.bool_],
    valid: npt.NDArray[np.bool_],
    pre_z: torch.Tensor,
    sums: StepSums,
    *,
    group_size: int,
    ppo_epochs: int,
    n_updates: int,
    lr: float,
    grad_norms: list[float],
    t_generate: float,
    t_train: float,
    t_step: float,
) -> dict[str, float]:
    """The metrics of a finished step: the averaged micro-batch metrics, rewards, the
    verifier on this batch before the update (``pre_z``: ``(B, 2)`` Yes/No logits), lengths,
    optimizer, timing, the maxima and the advantage statistics."""
    rewards = roll.rewards
    comp_ids = roll.completion_ids
    n = len(comp_ids)
    total_tok = float(sum(len(c) for c in comp_ids)) * ppo_epochs
    out = sums.averages(n_updates, total_tok)
    p_norm = p_yes(pre_z[:, 0].numpy(), pre_z[:, 1].numpy())
    sv, lv = p_norm[valid], labels[valid]
    lens = np.array([len(c) for c in comp_ids], dtype=np.float64)
    finished = np.array([c.finished for c in roll.completions])
    grouped = np.where(valid, rewards, 0.0).reshape(len(roll.problems), group_size)
    out.update(
        {
            "reward/mean": float(np.nanmean(rewards)) if valid.any() else math.nan,
            "reward/pass_at_group": float((grouped > 0.5).any(axis=1).mean()),
            "reward/unscorable": float((~valid).mean()),
            "verifier/auc": auc(sv, lv),
            "verifier/brier": brier(sv, lv),
            "verifier/accuracy": float(((sv > 0.5) == lv).mean()) if sv.size else math.nan,
            "verifier/p_yes_pos": float(sv[lv].mean()) if lv.any() else math.nan,
            "verifier/p_yes_neg": float(sv[~lv].mean()) if (~lv).any() else math.nan,
            "length/mean": float(lens.mean()),
            "length/max": float(lens.max()),
            "length/truncated_frac": float((~finished).mean()),
            "optim/lr": lr,
            "optim/grad_norm": float(np.mean(grad_norms)),
            "time/generate_s": t_generate,
            "time/train_s": t_train,
            "time/step_s": t_step,
            "perf/samples_per_s": n / t_step,
            "perf/tokens_per_s": float(lens.sum()) / t_step,
        }
    )
    out.update(sums.maxed)
    out.update(roll.adv_stats)
    return out


class MetricsLogger:
    """``metrics.jsonl`` (one object per step), and TensorBoard / W&B when asked for."""

    def __init__(self, run_dir: Path, cfg: Config, *, resume_step: int = 0) -> None:
        self.path = run_dir / "metrics.jsonl"
        if resume_step and self.path.exists():
            kept = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resume_step
            ]
            self.path.write_text("".join(k + "\n" for k in kept))
        elif not resume_step:
            self.path.write_text("")
        self._f = self.path.open("a")
        self._tb: Any = None
        self._wandb: Any = None
        if cfg.train.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(run_dir / "tensorboard"))
        if cfg.train.wandb:
            import wandb

            self._wandb = wandb.init(
                project=cfg.train.wandb, config=to_dict(cfg), dir=str(run_dir), resume="allow"
            )

    def log(self, step: int, metrics: dict[str, float]) -> None:
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in metrics.items()
        }
        self._f.write(json.dumps({"step": step, **clean}) + "\n")
        self._f.flush()
        if self._tb is not None:
            for k, v in metrics.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self._tb.add_scalar(k, v, step)
        if self._wandb is not None:
            self._wandb.log(dict(metrics), step=step)

    def close(self) -> None:
        self._f.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def check_logging_available(cfg: Config) -> None:
    """Fail before any work if TensorBoard / W&B is asked for but not installed."""
    import importlib.util

    if cfg.train.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("train.tensorboard is on but tensorboard is not installed")
    if cfg.train.wandb and importlib.util.find_spec("wandb") is None:
        raise ConfigError("train.wandb is set but wandb is not installed: pip install wandb")
