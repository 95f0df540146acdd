"""Atomic training checkpoints.

A checkpoint is a directory ``RUN/checkpoints/step-000120/`` holding:

* the model (Hugging Face format, loadable with ``from_pretrained``) and the tokenizer;
* ``trainer_state.pt``: optimizer, scheduler and RNG states (Python, NumPy, torch CPU/CUDA);
* ``state.json``: step, data position and the run's configuration.

It is written under a temporary name in the same directory and renamed into place when every
file is written and flushed, so a crash mid-write never leaves a directory that looks
complete: readers only ever see ``step-*`` directories, never ``.tmp-*`` ones (stale
temporaries are removed by the next save). ``RUN/checkpoints/latest`` names the newest one.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["latest_checkpoint", "list_checkpoints", "load_rng_state", "rng_state", "save"]

_STEP_DIR = re.compile(r"^step-(\d+)$")


def rng_state() -> dict[str, Any]:
    """Every RNG that training draws from."""
    import torch

    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),  # noqa: NPY002 - user code may draw from it
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def load_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fsync_tree(path: Path) -> None:
    for p in sorted(path.rglob("*")):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


def save(
    ckpt_dir: str | Path,
    step: int,
    *,
    model: Any,
    tokenizer: Any,
    trainer_state: dict[str, Any],
    state: dict[str, Any],
    keep: int | None = None,
) -> Path:
    """Write checkpoint ``step`` atomically under ``ckpt_dir``; keep the newest ``keep``."""
    import torch

    root = Path(ckpt_dir)
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    final = root / f"step-{step:06d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-step-{step:06d}-", dir=root))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        torch.save(trainer_state, tmp / "trainer_state.pt")
        (tmp / "state.json").write_text(json.dumps({"step": step, **state}, indent=2) + "\n")
        _fsync_tree(tmp)
        if final.exists():  # re-saving a step (e.g. after a resume): swap it out
            old = root / f".tmp-old-{final.name}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    latest_tmp = root / ".tmp-latest"
    latest_tmp.write_text(final.name + "\n")
    os.replace(latest_tmp, root / "latest")
    if keep is not None:
        for old_ckpt in list_checkpoints(root)[:-keep]:
            shutil.rmtree(old_ckpt, ignore_errors=True)
    return final


def list_checkpoints(ckpt_dir: str | Path) -> list[Path]:
    """Complete checkpoints under ``ckpt_dir``, oldest first."""
    root = Path(ckpt_dir)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and p.is_dir() and (p / "state.json").is_file():
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def latest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    """The newest complete checkpoint, or ``None``."""
    found = list_checkpoints(ckpt_dir)
    return found[-1] if found else None
