"""Atomic training checkpoints.

A checkpoint is a directory ``RUN/checkpoints/step-000120/`` holding:

* the model (Hugging Face format, loadable with ``from_pretrained``) and the tokenizer;
* ``trainer_state.pt``: optimizer, scheduler and RNG states (Python, NumPy, torch CPU/CUDA);
* ``state.json``: step, data position and the run's configuration.

It is written under a temporary name in the same directory and renamed into place when every
file is written and flushed, so a crash mid-write never leaves a directory that looks
complete: readers only ever see ``step-*`` directories, never ``.tmp-*`` ones (stale
temporaries are removed by the next save). ``RUN/checkpoints/latest`` names the newest one.

Run directories (:func:`claim_run_dir`, :func:`finish_run`): every stage that writes into a
directory (``sft``, ``train``, ``demo``) records itself in ``RUN/run.json`` as
``{"stages": {"train": {"status": "running", ...}}}`` before it writes anything else, and
marks itself ``complete`` when it has finished; an interrupted stage stays ``running``
(shown as *incomplete*). A directory that already holds the same stage (or, without a
``run.json``, the outputs of one) is refused unless the caller resumes it or overwrites it.
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

from rlv.exceptions import RunDirError

__all__ = [
    "STAGE_OUTPUTS",
    "check_run_dir",
    "claim_run_dir",
    "finish_run",
    "latest_checkpoint",
    "list_checkpoints",
    "load_rng_state",
    "rng_state",
    "run_status",
    "save",
    "replace_dir",
    "saved_config",
    "write_text_atomic",
]

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


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory, renamed into
    place: readers see the old file or the new one, never a partial one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def replace_dir(tmp: Path, final: Path) -> None:
    """Rename the finished directory ``tmp`` to ``final`` (same parent). An existing ``final``
    is first renamed aside and deleted afterwards, so ``final`` is at every moment either the
    old directory or the new one."""
    if final.exists():
        old = final.with_name(f".tmp-old-{final.name}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


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
        replace_dir(tmp, final)  # re-saving a step (e.g. after a resume) swaps it out
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # ``latest`` names the new checkpoint before anything is pruned, so at every moment it
    # names one that exists.
    write_text_atomic(root / "latest", final.name + "\n")
    if keep is not None:
        # Prune by step number among this run's checkpoints up to ``step`` only: one with a
        # larger step number (which a claimed run directory never holds) is never a reason to
        # delete the checkpoint just written.
        mine = [p for p in list_checkpoints(root) if _step_of(p) <= step]
        for old_ckpt in mine[: max(0, len(mine) - keep)]:
            if old_ckpt != final:
                shutil.rmtree(old_ckpt)
    return final


def _step_of(path: Path) -> int:
    m = _STEP_DIR.match(path.name)
    if m is None:  # pragma: no cover - list_checkpoints only returns step-* directories
        raise ValueError(f"not a checkpoint directory: {path}")
    return int(m.group(1))


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


# ---------------------------------------------------------------------------------------------
# run directories

STAGE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "sft": ("model", "sft_metrics.jsonl"),
    "train": ("checkpoints", "metrics.jsonl", "config.json", "tensorboard"),
    "demo": (
        "config.json",
        "report.json",
        "curves.png",
        "sft",
        "eval-sft",
        "rlv",
        "baseline",
    ),
}
"""What each stage writes into its run directory (``--overwrite`` removes exactly these)."""

_LEGACY_MARKERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "sft": (("sft_metrics.jsonl",),),
    "train": (("metrics.jsonl",), ("checkpoints",)),
    "demo": (("config.json", "sft"), ("report.json",)),
}
"""Without a run.json (a directory written before run files existed), a stage is there when
all paths of one of these groups exist (files an unrelated directory is unlikely to hold)."""

RUN_FILE = "run.json"


def _read_run_file(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_FILE
    if not path.is_file():
        return {"stages": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise RunDirError(f"{path}: not a readable run file ({e})") from e
    if not isinstance(data, dict) or not isinstance(data.get("stages"), dict):
        raise RunDirError(f"{path}: not an rlv run file (no 'stages' object)")
    return data


def _write_run_file(run_dir: Path, data: dict[str, Any]) -> None:
    write_text_atomic(run_dir / RUN_FILE, json.dumps(data, indent=2) + "\n")


def run_status(run_dir: str | Path, stage: str) -> str | None:
    """``"complete"``, ``"incomplete"`` (started, never finished: interrupted or running), or
    ``None`` when ``run_dir`` holds no ``stage``. A directory with the stage's typical
    outputs but no ``run.json`` (written before run files existed) counts as
    ``"incomplete"``."""
    root = Path(run_dir)
    info = _read_run_file(root)["stages"].get(stage)
    if info is not None:
        return "complete" if info.get("status") == "complete" else "incomplete"
    if any(all((root / name).exists() for name in group) for group in _LEGACY_MARKERS[stage]):
        return "incomplete"
    return None


def claim_run_dir(
    run_dir: str | Path, stage: str, *, resume: bool = False, overwrite: bool = False
) -> Path:
    """Take ``run_dir`` for ``stage`` before writing anything else into it.

    * no such stage there yet: the directory is created and the stage marked running;
    * the stage is there (complete or not): :class:`RunDirError` unless ``resume`` (continue
      it; the caller resumes from its checkpoint) or ``overwrite`` (its outputs,
      :data:`STAGE_OUTPUTS`, are deleted first; other stages' files are kept);
    * ``resume`` with nothing to resume is a :class:`RunDirError` too.

    Returns the directory. Mark the stage done with :func:`finish_run`.
    """
    root = Path(run_dir)
    status = check_run_dir(root, stage, resume=resume, overwrite=overwrite)
    if status is not None and not resume:
        for name in STAGE_OUTPUTS[stage]:
            target = root / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
    root.mkdir(parents=True, exist_ok=True)
    data = _read_run_file(root)
    prev = data["stages"].get(stage, {})
    data["stages"][stage] = {
        "status": "running",
        "started": _now(),
        "resumed": bool(resume),
        "attempts": int(prev.get("attempts", 0)) + 1 if resume else 1,
    }
    _write_run_file(root, data)
    return root


def check_run_dir(
    run_dir: str | Path, stage: str, *, resume: bool = False, overwrite: bool = False
) -> str | None:
    """The checks of :func:`claim_run_dir` without writing anything: returns the stage's
    current :func:`run_status` or raises :class:`RunDirError`."""
    if stage not in STAGE_OUTPUTS:
        raise ValueError(f"unknown stage {stage!r}; allowed: {', '.join(STAGE_OUTPUTS)}")
    if resume and overwrite:
        raise RunDirError("--resume and --overwrite exclude each other")
    root = Path(run_dir)
    if root.exists() and not root.is_dir():
        raise RunDirError(f"run directory {root} exists and is not a directory")
    status = run_status(root, stage) if root.is_dir() else None
    if status is None and resume:
        raise RunDirError(f"--resume: {root} holds no {stage} run to continue")
    if status is not None and not resume:
        if not overwrite:
            raise RunDirError(
                f"{root} already holds a {status} {stage} run; pass --resume to continue it "
                f"or --overwrite to delete its outputs and start clean (or choose another "
                f"directory)"
            )
    return status


def finish_run(run_dir: str | Path, stage: str, **info: Any) -> None:
    """Mark ``stage`` of ``run_dir`` complete (with optional JSON-able ``info``)."""
    root = Path(run_dir)
    data = _read_run_file(root)
    entry = data["stages"].get(stage)
    if entry is None:
        raise RunDirError(f"{root}: stage {stage!r} was never claimed")
    entry.update(info)
    entry["status"] = "complete"
    entry["finished"] = _now()
    _write_run_file(root, data)


def _now() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


MODEL_CONFIG_FILE = "rlv_config.json"
"""The run configuration saved beside an SFT model (a checkpoint keeps it in state.json)."""


def saved_config(model_dir: str | Path) -> dict[str, Any] | None:
    """The rlv configuration saved with a model directory: ``state.json``'s ``config`` (a
    training checkpoint) or ``rlv_config.json`` (an ``rlv sft`` model); ``None`` if neither.

    Raises:
        FileNotFoundError: ``model_dir`` is not a directory.
        ValueError: one of those files exists but is unreadable or has no configuration.
    """
    root = Path(model_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"model directory not found: {root}")
    for name, key in (("state.json", "config"), (MODEL_CONFIG_FILE, None)):
        path = root / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise ValueError(f"{path}: not a readable JSON file ({e})") from e
        cfg = data.get(key) if key is not None and isinstance(data, dict) else data
        if not isinstance(cfg, dict):
            raise ValueError(f"{path}: holds no configuration object")
        return cfg
    return None
