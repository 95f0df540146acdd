"""``check_grader``: run rlv's standard grading properties against any grader.

>>> from rlv.testing import check_grader
>>> report = check_grader(lambda pred, gold: rlv.grade(pred, gold).correct)  # doctest: +SKIP
>>> print(report.to_markdown())  # doctest: +SKIP
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from hypothesis import HealthCheck, Verbosity, given, settings
from hypothesis import strategies as st

from rlv.testing import strategies as S

__all__ = ["PROPERTIES", "GradeFn", "GraderReport", "PropertyResult", "check_grader"]

GradeFn = Callable[[str, str], bool]
"""``grade_fn(pred_text, gold_text) -> bool``."""

PROPERTIES: tuple[str, ...] = (
    "reflexive",
    "symmetric",
    "renderings",
    "near_misses",
    "deterministic",
    "robust",
)
"""The standard properties, in the order they run."""

ARBITRARY_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
    st.lists(
        st.sampled_from(
            list("0123456789+-*/^_{}()[]=<>,.;:!|$% xyzie\n")
            + ["\\frac", "\\sqrt", "\\boxed{", "\\pi", "\\left(", "\\right)", "\\infty"]
            + ["\\text{", "\\cdot", "\\le", "####", "answer is", "\\pm", "\\%", "&", "\\\\"]
        ),
        max_size=60,
    ).map("".join),
)
"""Arbitrary text (unicode and LaTeX-ish fragments) for the ``robust`` property."""


@dataclass
class PropertyResult:
    """The outcome of one property."""

    name: str
    passed: int
    """Examples that satisfied the property (including those replayed while shrinking)."""
    failed: bool
    counterexample: tuple[Any, ...] | None
    """The shrunk failing input, e.g. ``(kind, family, prediction, gold, expected, got)``."""
    error: str | None
    """The exception raised by the grader on the counterexample, if that was the failure."""
    seconds: float
    detail: str = ""
    """Extra information (``robust``: the slowest call)."""


@dataclass
class GraderReport:
    """What :func:`check_grader` found."""

    results: list[PropertyResult] = field(default_factory=list)
    max_examples: int = 0

    @property
    def ok(self) -> bool:
        """Whether every property held."""
        return not any(r.failed for r in self.results)

    def __getitem__(self, name: str) -> PropertyResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_markdown(self) -> str:
        """A markdown table of the results, then the counterexamples."""
        lines = [
            f"grader check: {'OK' if self.ok else 'FAILED'} "
            f"(max_examples={self.max_examples} per property)",
            "",
            "| property | result | passed examples | seconds | detail |",
            "|---|---|---|---|---|",
        ]
        for r in self.results:
            verdict = "FAIL" if r.failed else "ok"
            lines.append(f"| {r.name} | {verdict} | {r.passed} | {r.seconds:.2f} | {r.detail} |")
        for r in self.results:
            if r.failed:
                lines += ["", f"**{r.name}** counterexample: `{r.counterexample!r}`"]
                if r.error:
                    lines.append(f"error: `{r.error}`")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()


class _PropertyFailed(AssertionError):
    pass


class _Runner:
    """Runs one property, counting passes and recording the last (shrunk) failure."""

    def __init__(self, grade_fn: GradeFn) -> None:
        self.grade_fn = grade_fn
        self.passed = 0
        self.failure: tuple[Any, ...] | None = None
        self.error: str | None = None
        self.slowest = (0.0, "")

    def call(self, pred: str, gold: str, where: tuple[Any, ...]) -> bool:
        try:
            return bool(self.grade_fn(pred, gold))
        except Exception as exc:
            self.fail((*where, pred, gold), f"{type(exc).__name__}: {exc}")

    def fail(self, example: tuple[Any, ...], error: str | None = None) -> NoReturn:
        self.failure, self.error = example, error
        raise _PropertyFailed(repr(example))

    def ok(self) -> None:
        self.passed += 1


def _run(
    name: str,
    strategy: st.SearchStrategy[Any],
    body: Callable[[_Runner, Any], None],
    grade_fn: GradeFn,
    conf: settings,
) -> PropertyResult:
    runner = _Runner(grade_fn)

    @conf
    @given(strategy)
    def prop(example: Any) -> None:
        body(runner, example)
        runner.ok()

    start = time.perf_counter()
    failed, crash = False, None
    try:
        prop()
    except _PropertyFailed:
        failed = True
    except Exception as exc:  # a bug in the check itself, or hypothesis gave up
        failed = True
        crash = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    seconds = time.perf_counter() - start
    detail = ""
    if name == "robust" and runner.slowest[0] > 0:
        detail = f"slowest call {runner.slowest[0] * 1e3:.1f} ms on {runner.slowest[1][:60]!r}"
    return PropertyResult(
        name=name,
        passed=runner.passed,
        failed=failed,
        counterexample=runner.failure,
        error=runner.error or crash,
        seconds=seconds,
        detail=detail,
    )


def check_grader(
    grade_fn: GradeFn,
    *,
    max_examples: int | None = None,
    properties: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    wrap: bool = True,
    time_limit_s: float = 1.0,
) -> GraderReport:
    """Run the standard grading properties against ``grade_fn(pred_text, gold_text) -> bool``.

    Args:
        grade_fn: the grader; ``True`` means the prediction earns the reward.
        max_examples: examples per property (default: the active hypothesis profile's, e.g.
            ``HYPOTHESIS_PROFILE=nightly`` in rlv's test suite).
        properties: a subset of :data:`PROPERTIES` (default: all of them).
        kinds: value kinds to generate (default: all of :data:`rlv.testing.strategies.KINDS`).
        wrap: ``True`` when ``grade_fn`` extracts the answer from a model output (like
            ``rlv.grade``): predictions are wrapped (``\\boxed{}``, "The final answer is",
            ``#### ``, markdown bold). ``False`` for a comparer of bare answers (like
            ``rlv.is_equiv``): predictions are passed as they are.
        time_limit_s: the ``robust`` property's bound on each call.

    Properties:
        * ``reflexive``: ``grade(a, a)`` for every rendering ``a`` of every value;
        * ``symmetric``: ``grade(a, b) == grade(b, a)`` for equivalent and near-miss pairs;
        * ``renderings``: ``grade(rendering, canonical)`` for every rendering family;
        * ``near_misses``: ``not grade(near_miss, canonical)``;
        * ``deterministic``: the same answer twice;
        * ``robust``: arbitrary text as prediction and as gold: no exception, each call
          under ``time_limit_s``.

    Returns:
        A :class:`GraderReport` (``report.ok``, ``report.to_markdown()``); never raises
        for a failing grader.
    """
    chosen = list(PROPERTIES if properties is None else properties)
    unknown = [p for p in chosen if p not in PROPERTIES]
    if unknown:
        raise ValueError(f"unknown properties {unknown}; choose from {PROPERTIES}")
    default = settings.default
    n = (default.max_examples if default else 100) if max_examples is None else int(max_examples)
    conf = settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
    )

    def pred(text: str) -> str:
        return S.wrap(text, "boxed") if wrap else text

    def pred_wrapped(draw: st.DrawFn, value: S.MathValue, text: str) -> tuple[str, str]:
        if not wrap:
            return "bare", text
        name = draw(st.sampled_from(S.wrapper_names(value.kind, text)))
        return name, S.wrap(text, name)

    @st.composite
    def rendered(draw: st.DrawFn) -> tuple[S.MathValue, S.Rendering]:
        v = draw(S.values(kinds))
        return v, draw(S.renderings(v))

    @st.composite
    def wrapped_rendering(draw: st.DrawFn) -> tuple[Any, ...]:
        v, r = draw(rendered())
        wname, text = pred_wrapped(draw, v, r.text)
        return v.kind, r.family, wname, text, v.canonical

    @st.composite
    def wrapped_near_miss(draw: st.DrawFn) -> tuple[Any, ...]:
        v = draw(S.values(kinds))
        r = draw(S.near_misses(v))
        wname, text = pred_wrapped(draw, v, r.text)
        return v.kind, r.family, wname, text, v.canonical

    pairs = st.one_of(S.equivalent_pairs(kinds), S.near_miss_pairs(kinds)).map(
        lambda t: (t[0].kind, f"{t[1].family}/{t[2].family}", t[1].text, t[2].text)
    )

    def reflexive(run: _Runner, ex: tuple[S.MathValue, S.Rendering]) -> None:
        v, r = ex
        where = (v.kind, r.family)
        if not run.call(pred(r.text), r.text, where):
            run.fail((*where, pred(r.text), r.text, True, False))

    def symmetric(run: _Runner, ex: tuple[str, str, str, str]) -> None:
        kind, fam, a, b = ex
        ab = run.call(pred(a), b, (kind, fam))
        ba = run.call(pred(b), a, (kind, fam))
        if ab != ba:
            run.fail((kind, fam, a, b, ab, ba))

    def expect(want: bool) -> Callable[[_Runner, tuple[Any, ...]], None]:
        def body(run: _Runner, ex: tuple[Any, ...]) -> None:
            kind, fam, wname, text, gold = ex
            where = (kind, fam, wname)
            got = run.call(text, gold, where)
            if got != want:
                run.fail((*where, text, gold, want, got))

        return body

    def deterministic(run: _Runner, ex: tuple[str, str, str, str]) -> None:
        kind, fam, a, b = ex
        first = run.call(pred(a), b, (kind, fam))
        second = run.call(pred(a), b, (kind, fam))
        if first != second:
            run.fail((kind, fam, pred(a), b, first, second))

    def robust(run: _Runner, ex: tuple[str, str]) -> None:
        a, b = ex
        for p, g in ((a, b), (pred(a), b), (b, a)):
            start = time.perf_counter()
            run.call(p, g, ("arbitrary",))
            dt = time.perf_counter() - start
            if dt > run.slowest[0]:
                run.slowest = (dt, p)
            if dt > time_limit_s:
                run.fail(("arbitrary", p, g), f"{dt:.3f} s > {time_limit_s} s")

    bodies: dict[str, tuple[st.SearchStrategy[Any], Callable[[_Runner, Any], None]]] = {
        "reflexive": (rendered(), reflexive),
        "symmetric": (pairs, symmetric),
        "renderings": (wrapped_rendering(), expect(True)),
        "near_misses": (wrapped_near_miss(), expect(False)),
        "deterministic": (pairs, deterministic),
        "robust": (st.tuples(ARBITRARY_TEXT, ARBITRARY_TEXT), robust),
    }
    report = GraderReport(max_examples=n)
    for name in chosen:
        strategy, body = bodies[name]
        report.results.append(_run(name, strategy, body, grade_fn, conf))
    return report
