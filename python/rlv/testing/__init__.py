"""Testing tools for math-answer graders (rlv's own, or any other).

* :mod:`rlv.testing.strategies`: hypothesis strategies for values with a known exact meaning,
  their equivalent renderings, near misses and model-output wrappers;
* :func:`check_grader`: run the standard properties against any
  ``grade_fn(pred_text, gold_text) -> bool`` and get a :class:`GraderReport`;
* :mod:`rlv.testing.plugin`: the ``grader_check`` pytest fixture
  (``pytest_plugins = ["rlv.testing.plugin"]`` in a ``conftest.py``);
* :mod:`rlv.testing.conformance`: grading conformance corpora (``rlv conformance``), with
  the embedded corpus ``grading_cases.jsonl`` (:func:`rlv.testing.conformance.default_cases_path`).

The property tools need hypothesis (``pip install rlv[test]``); they are loaded on first use,
so :mod:`rlv.testing.conformance` works without it. ``import rlv`` does not import this
package. See ``docs/testing.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlv.testing import strategies
    from rlv.testing.checks import (
        PROPERTIES,
        GradeFn,
        GraderReport,
        PropertyResult,
        check_grader,
    )

__all__ = [
    "PROPERTIES",
    "GradeFn",
    "GraderReport",
    "PropertyResult",
    "check_grader",
    "strategies",
]


def __getattr__(name: str) -> Any:
    if name == "strategies":
        return importlib.import_module("rlv.testing.strategies")
    if name in __all__:
        return getattr(importlib.import_module("rlv.testing.checks"), name)
    raise AttributeError(f"module 'rlv.testing' has no attribute {name!r}")
