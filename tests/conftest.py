"""Shared test configuration: hypothesis profiles and paths of the shared data sets.

Hypothesis profiles (select with ``HYPOTHESIS_PROFILE=<name>``; default ``ci``):

* ``ci``: 200 examples per property (the default, used by ``.ci/run``);
* ``dev``: 50 examples, for a quick local loop;
* ``nightly``: 10,000 examples.

All profiles disable hypothesis' per-example deadline: timing is asserted explicitly (with
``time.perf_counter``) where it matters, so a slow CI machine does not make tests flaky.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

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
SHARED = REPO_ROOT.parent / "shared"
"""The shared data directory next to the checkout (``<repo>/../shared``)."""


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
