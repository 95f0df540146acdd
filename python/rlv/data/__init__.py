"""Package data shipped with rlv (see :func:`default_cases_path`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DEFAULT_CASES", "default_cases_path"]

DEFAULT_CASES = "grading_cases.jsonl"
"""File name of the embedded grading corpus run by ``rlv conformance`` with no FILE."""


def default_cases_path() -> Path:
    """Path of the embedded grading corpus (JSONL, one case per line).

    Each case is either ``{"id", "kind": "answer_equiv", "category", "gold", "pred",
    "expected"}`` (two already-extracted answers, compared with :func:`rlv.is_equiv`) or
    ``{"id", "kind": "grade", "category", "gold", "completion", "expected"}`` (a full model
    output graded with :func:`rlv.grade`). ``expected`` is a bool; optional ``options`` holds
    keyword arguments for the call (e.g. ``{"percent": "value"}``).
    """
    return Path(str(resources.files(__name__).joinpath(DEFAULT_CASES)))
