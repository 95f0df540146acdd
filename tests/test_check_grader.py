"""``rlv.testing.check_grader`` and the ``grader_check`` pytest fixture.

rlv's own grader must pass every property at the active hypothesis profile (``ci``: 200
examples per property; ``HYPOTHESIS_PROFILE=nightly``: 10,000); deliberately broken graders
must be reported with a counterexample.
"""

from __future__ import annotations

import time

import pytest

import rlv
from rlv.testing import PROPERTIES, check_grader
from rlv.testing.plugin import run_grader_check

pytest_plugins = ["pytester"]


def rlv_grade(pred: str, gold: str) -> bool:
    return rlv.grade(pred, gold).correct


def test_rlv_grade_passes_every_property() -> None:
    report = check_grader(rlv_grade)
    assert [r.name for r in report.results] == list(PROPERTIES)
    assert report.ok, report.to_markdown()
    assert all(r.passed > 0 and r.counterexample is None for r in report.results)


def test_rlv_is_equiv_passes_every_property_on_bare_answers() -> None:
    report = check_grader(lambda pred, gold: rlv.is_equiv(gold, pred), wrap=False)
    assert report.ok, report.to_markdown()


def test_string_equality_is_reported() -> None:
    report = check_grader(lambda p, g: p == g, max_examples=50, wrap=False)
    assert not report.ok
    res = report["renderings"]
    assert res.failed and res.counterexample is not None
    kind, family, wrapper, pred, gold, want, got = res.counterexample
    assert (want, got) == (True, False) and pred != gold
    assert not report["near_misses"].failed
    assert "counterexample" in report.to_markdown()


def test_always_true_is_reported() -> None:
    report = check_grader(lambda p, g: True, max_examples=50)
    assert report["near_misses"].failed
    assert report["near_misses"].counterexample[-2:] == (False, True)  # type: ignore[index]
    assert not report["renderings"].failed and not report["reflexive"].failed


def test_exceptions_and_slow_calls_are_reported() -> None:
    def crashes(pred: str, gold: str) -> bool:
        raise RuntimeError("boom")

    res = check_grader(crashes, max_examples=20, properties=["robust"])["robust"]
    assert res.failed and res.error == "RuntimeError: boom"

    def slow(pred: str, gold: str) -> bool:
        time.sleep(0.02)
        return pred == gold

    res = check_grader(slow, max_examples=5, properties=["robust"], time_limit_s=0.01)["robust"]
    assert res.failed and res.error is not None and "s >" in res.error


def test_nondeterminism_is_reported() -> None:
    calls = iter(range(10**6))
    report = check_grader(
        lambda p, g: next(calls) % 2 == 0, max_examples=50, properties=["deterministic"]
    )
    assert report["deterministic"].failed


def test_unknown_property() -> None:
    with pytest.raises(ValueError, match="unknown properties"):
        check_grader(rlv_grade, properties=["telepathy"])


def test_fixture_function_fails_with_the_report() -> None:
    assert run_grader_check(rlv_grade, max_examples=20, properties=["near_misses"]).ok
    with pytest.raises(pytest.fail.Exception, match="near_misses"):
        run_grader_check(lambda p, g: True, max_examples=20, properties=["near_misses"])


def test_plugin_one_liner(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["rlv.testing.plugin"]\n')
    pytester.makepyfile(
        """
        import rlv

        def test_rlv(grader_check):
            grader_check(lambda p, g: rlv.grade(p, g).correct, max_examples=20)

        def test_broken(grader_check):
            grader_check(lambda p, g: True, max_examples=20)
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*near_misses*FAIL*"])
