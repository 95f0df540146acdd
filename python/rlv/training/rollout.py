"""One step's rollouts: sample ``rl.group_size`` completions per problem, grade them (the
rewards), and turn the rewards into advantages (:mod:`rlv.rl.advantages`)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import rlv
from rlv.exceptions import DataError
from rlv.generation import Completion
from rlv.rl import advantages as adv_mod
from rlv.tasks import Problem
from rlv.training.config import Config
from rlv.training.setup import sampling_params
from rlv.verifier import Verifier

__all__ = ["Rollouts", "collect_rollouts", "compute_advantages", "read_rollouts"]


@dataclass
class Rollouts:
    """One step's samples, flattened (sample ``i`` belongs to prompt ``i // group_size``)."""

    problems: list[Problem]
    prompt_ids: list[list[int]]
    completions: list[Completion]
    rewards: npt.NDArray[np.float32]
    advantages: npt.NDArray[np.float32]
    adv_stats: dict[str, float]

    @property
    def completion_ids(self) -> list[list[int]]:
        return [c.token_ids for c in self.completions]

    def record(self, step: int) -> dict[str, Any]:
        """One ``rollouts.jsonl`` row (``train.save_rollouts``): the step, and per sample its
        prompt and completion token ids and reward (``null`` for an ungradable sample)."""
        return {
            "step": step,
            "prompt_ids": self.prompt_ids,
            "completion_ids": self.completion_ids,
            "rewards": [None if np.isnan(r) else float(r) for r in self.rewards],
        }


def read_rollouts(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``rollouts.jsonl`` (see :meth:`Rollouts.record`), rewards as float arrays
    (NaN for ``null``). Raises :class:`rlv.exceptions.DataError` for a malformed row."""
    rows = []
    with Path(path).open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                n = len(row["rewards"])
                ok = len(row["prompt_ids"]) == n and len(row["completion_ids"]) == n
                rewards = np.array(
                    [math.nan if r is None else float(r) for r in row["rewards"]], dtype=np.float32
                )
            except (ValueError, KeyError, TypeError) as e:
                raise DataError(
                    f"malformed rollouts row: {e}", path=Path(path), line=line_no
                ) from e
            if not ok:
                raise DataError(
                    "prompt_ids, completion_ids and rewards differ in length",
                    path=Path(path),
                    line=line_no,
                )
            rows.append({**row, "rewards": rewards})
    return rows


def collect_rollouts(
    backend: Any,
    verifier: Verifier,
    problems: Sequence[Problem],
    cfg: Config,
    prompt_cache: dict[str, list[int]] | None = None,
) -> Rollouts:
    """Sample ``rl.group_size`` completions per problem, grade them (the rewards, with
    :func:`rlv.grade_batch`), compute their advantages (:func:`compute_advantages`)."""
    g = cfg.rl.group_size
    cache = prompt_cache if prompt_cache is not None else {}
    p_ids = []
    for p in problems:
        if p.prompt not in cache:
            cache[p.prompt] = verifier.prompt_ids(p.prompt)
        p_ids.append(cache[p.prompt])
    params = sampling_params(cfg, verifier, n=g)
    groups = backend.generate(p_ids, params)
    comps = [c for grp in groups for c in grp]
    golds = [p.gold for p in problems for _ in range(g)]
    rewards, _ = rlv.grade_batch([c.text for c in comps], golds, mode=cfg.rl.reward_mode)
    adv, stats = compute_advantages(rewards, cfg)
    return Rollouts(
        problems=list(problems),
        prompt_ids=[p_ids[i // g] for i in range(len(comps))],
        completions=comps,
        rewards=rewards,
        advantages=adv,
        adv_stats=stats,
    )


def compute_advantages(
    rewards: npt.NDArray[np.float32], cfg: Config
) -> tuple[npt.NDArray[np.float32], dict[str, float]]:
    """Advantages of ``cfg.rl.algo`` over groups of ``rl.group_size`` consecutive rewards
    (GRPO, Dr. GRPO = GRPO with ``resolved_scale``, RLOO), and their statistics as metrics."""
    g = cfg.rl.group_size
    if cfg.rl.algo == "rloo":
        adv, stats = adv_mod.rloo(rewards, sizes=g, return_stats=True)
    else:
        adv, stats = adv_mod.grpo(
            rewards, sizes=g, scale=cfg.rl.resolved_scale, eps=cfg.rl.eps, return_stats=True
        )
    return np.asarray(adv, dtype=np.float32), stats.as_metrics()
