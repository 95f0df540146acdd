"""Shared test configuration: hypothesis profiles and paths of the shared data sets.

Tests that read the shared data sets take their paths from the ``shared_file`` /
``conformance_dir`` fixtures (or :func:`shared_path`), which skip the test when the data is
missing; no test reads ``../shared`` by itself.

Hypothesis profiles (select with ``HYPOTHESIS_PROFILE=<name>``; default ``ci``):

* ``ci``: 200 examples per property (the default, used by ``.ci/run``);
* ``dev``: 50 examples, for a quick local loop;
* ``nightly``: 10,000 examples (50 times the ``ci`` work: raise the 300 s per-test timeout of
  pyproject.toml with ``--timeout 3000``, or switch it off with ``--timeout 0``).

All profiles disable hypothesis' per-example deadline: timing is asserted explicitly (with
``time.perf_counter``) where it matters, so a slow CI machine does not make tests flaky.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "nightly",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RLV_SHARED_DIR") or REPO_ROOT.parent / "shared")
"""The shared data directory: ``<repo>/../shared``, or ``$RLV_SHARED_DIR`` when set (set it to
a missing directory, e.g. ``RLV_SHARED_DIR=/nonexistent pytest``, to check that every test
that needs the shared data skips cleanly without it)."""


def shared_path(*parts: str) -> Path:
    """A path under the shared data directory; skips the calling test if it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """``shared/data/conformance`` (the test is skipped if it is missing)."""
    return shared_path("data", "conformance")


@pytest.fixture(scope="session")
def shared_file() -> Callable[..., Path]:
    """``shared_file("data", "math", "test.jsonl")``: a shared data file (skip if missing)."""
    return shared_path


@pytest.fixture
def sample_inputs(tmp_path: Path) -> Callable[..., tuple[Path, Path]]:
    """``sample_inputs(model, tokenizer, max_steps)``: the model saved under ``tmp_path/m``
    and 3 test-split arithmetic problems (``problem``/``answer`` JSONL) in ``tmp_path/p.jsonl``,
    the inputs of ``rlv sample``. Returns ``(model_dir, data_file)``."""

    def make(model: Any, tokenizer: Any, max_steps: int) -> tuple[Path, Path]:
        from rlv import models
        from rlv.tasks import ArithmeticTask

        mdir = tmp_path / "m"
        models.save(model, tokenizer, mdir)
        data = tmp_path / "p.jsonl"
        probs = ArithmeticTask(min_steps=1, max_steps=max_steps).sample(3, seed=0, split="test")
        data.write_text(
            "".join(json.dumps({"problem": p.prompt, "answer": p.gold}) + "\n" for p in probs)
        )
        return mdir, data

    return make
