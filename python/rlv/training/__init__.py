"""rlv's own trainer: RL^V training (``rlv train``), the supervised warm start (``rlv sft``)
and what ``rlv sample`` and ``rlv demo`` share with them.

Modules: :mod:`~rlv.training.config` (the configuration), :mod:`~rlv.training.setup`
(device, seeding, model, problems, verifier, generation backend), :mod:`~rlv.training.rollout`
(sampling, rewards, advantages), :mod:`~rlv.training.loop` (:func:`train`,
:func:`train_step`), :mod:`~rlv.training.sft`, :mod:`~rlv.training.metrics` and
:mod:`~rlv.training.checkpoint`. The loss is :func:`rlv.rl.objective.rlv_objective`.

``from rlv.training import train`` works as usual; the names below are loaded on first use,
so that :mod:`rlv.training.config` and :mod:`rlv.training.checkpoint` stay importable
without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlv.training.config import Config, load_config
    from rlv.training.loop import TrainResult, train, train_step
    from rlv.training.setup import build_model, load_problems
    from rlv.training.sft import sft

__all__ = [
    "Config",
    "TrainResult",
    "build_model",
    "load_config",
    "load_problems",
    "sft",
    "train",
    "train_step",
]

_HOME = {
    "Config": "config",
    "load_config": "config",
    "TrainResult": "loop",
    "train": "loop",
    "train_step": "loop",
    "build_model": "setup",
    "load_problems": "setup",
    "sft": "sft",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'rlv.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rlv.training.{home}"), name)
