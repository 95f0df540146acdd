"""Conformance corpora (``shared/data/conformance``) run through rlv via ``rlv.testing.conformance``.

* math-verify 0.9.0's own test suite: every enabled, applicable, non-``policy`` case must pass
  (the ``suspect`` case is scored against the mathematically correct, inverted verdict);
  ``policy`` cases are reported but not asserted.
* Hendrycks' ``is_equiv`` tests: 16/16 with ordered lists.
* The corpus embedded in rlv (``rlv/testing/grading_cases.jsonl``): 100 %.

See :mod:`rlv.testing.conformance` for how math-verify's settings map to rlv options.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rlv.testing.conformance import Report, default_cases_path, format_report, run_corpus


def _assert_ok(report: Report) -> None:
    if not report.ok:
        pytest.fail(_describe(report), pytrace=False)


def _describe(report: Report) -> str:
    """A compact failure message: the failing ids, then the first failures in detail."""
    ids = " ".join(f.id for f in report.failures)
    return (
        f"{report.path}: {report.passed}/{report.total} non-policy cases pass; "
        f"{len(report.failures)} fail: {ids}\n\n" + format_report(report, show_failures=15)
    )


# math-verify reads these false chains by their last value; rlv requires the `=` links of a
# chain's variable-free tail to hold first (a reward must not grow for `7 = 6`, issue 20).
DELIBERATE_DEVIATIONS = {
    "test_all.py::test_latex_notation[9]": "1/2 = 10/9 is false",
    "test_all.py::test_relations_math[10]": "5+5+1 = 7 is false",
    "test_all.py::test_relations_math[12]": "5+5+1 = 7 is false",
    "test_all.py::test_relations_math[13]": "5+5+1 = 1/3 is false",
}


def test_math_verify_corpus(conformance_dir: Path) -> None:
    report = run_corpus(conformance_dir / "math_verify_cases.jsonl")
    assert report.total > 250, "the corpus should have about 280 applicable non-policy cases"
    assert report.skipped_disabled == 2
    assert len(report.suspect_inverted) == 1
    deviations = {f.id for f in report.failures if f.id in DELIBERATE_DEVIATIONS}
    assert deviations == set(DELIBERATE_DEVIATIONS), "a deliberate deviation changed"
    assert all(f.expected and not f.got for f in report.failures if f.id in deviations)
    report.failures = [f for f in report.failures if f.id not in deviations]
    _assert_ok(report)


def test_math_verify_not_applicable_is_small(conformance_dir: Path) -> None:
    """Only cases that test a math-verify option without an rlv equivalent are skipped."""
    report = run_corpus(conformance_dir / "math_verify_cases.jsonl")
    reasons = {na.id: na.reason for na in report.not_applicable}
    assert len(reasons) <= 8, reasons


def test_hendrycks_corpus_ordered_lists(conformance_dir: Path) -> None:
    report = run_corpus(conformance_dir / "hendrycks_is_equiv_cases.jsonl")
    _assert_ok(report)
    assert (report.passed, report.total) == (16, 16)
    assert not report.not_applicable


def test_embedded_corpus() -> None:
    corpus = default_cases_path()
    assert corpus.is_file()  # package data: shipped with rlv.testing
    report = run_corpus(corpus)
    assert report.total > 0
    _assert_ok(report)
    assert not report.not_applicable


def test_policy_cases_are_reported(conformance_dir: Path) -> None:
    """Policy cases are scored and listed separately; they never count as failures."""
    report = run_corpus(conformance_dir / "math_verify_cases.jsonl")
    assert report.policy_total == 12
    assert all(f.policy for f in report.policy_failures)
    assert not any(f.policy for f in report.failures)
