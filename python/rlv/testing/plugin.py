"""pytest plugin: the ``grader_check`` fixture.

Enable it with one line in a ``conftest.py``::

    pytest_plugins = ["rlv.testing.plugin"]

then, in a test::

    def test_my_grader(grader_check):
        grader_check(lambda pred, gold: my_grade(pred, gold))

``grader_check(grade_fn, **kwargs)`` runs :func:`rlv.testing.check_grader` (same keyword
arguments) and fails the test with the markdown report if any property fails; it returns the
:class:`~rlv.testing.GraderReport` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rlv.testing.checks import GradeFn, GraderReport, check_grader

__all__ = ["grader_check", "run_grader_check"]


def run_grader_check(grade_fn: GradeFn, **kwargs: Any) -> GraderReport:
    """Run :func:`check_grader`; ``pytest.fail`` with the report if anything failed."""
    report = check_grader(grade_fn, **kwargs)
    if not report.ok:
        pytest.fail(report.to_markdown(), pytrace=False)
    return report


@pytest.fixture
def grader_check() -> Callable[..., GraderReport]:
    """``grader_check(grade_fn, **check_grader_kwargs)``: fail the test unless every
    property of :func:`rlv.testing.check_grader` holds."""
    return run_grader_check
