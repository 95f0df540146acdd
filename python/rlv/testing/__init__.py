"""Property-based testing tools for math-answer graders (rlv's own, or any other).

* :mod:`rlv.testing.strategies`: hypothesis strategies for values with a known exact meaning,
  their equivalent renderings, near misses and model-output wrappers;
* :func:`check_grader`: run the standard properties against any
  ``grade_fn(pred_text, gold_text) -> bool`` and get a :class:`GraderReport`;
* :mod:`rlv.testing.plugin`: the ``grader_check`` pytest fixture
  (``pytest_plugins = ["rlv.testing.plugin"]`` in a ``conftest.py``).

This package needs hypothesis (``pip install rlv[test]``); ``import rlv`` does not import it.
See ``docs/testing.md``.
"""

from rlv.testing import strategies
from rlv.testing.checks import PROPERTIES, GradeFn, GraderReport, PropertyResult, check_grader

__all__ = [
    "PROPERTIES",
    "GradeFn",
    "GraderReport",
    "PropertyResult",
    "check_grader",
    "strategies",
]
