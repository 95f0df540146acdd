"""Run math-answer grading conformance corpora through rlv.

A corpus is JSONL, one case per line, in the format of ``shared/data/conformance/`` (cases
extracted from math-verify's and Hendrycks' test suites) or of the corpus embedded in rlv
(``rlv/testing/grading_cases.jsonl``). Case kinds:

``verify``
    math-verify's ``verify(parse(gold, gold_config), parse(pred, pred_config), **verify_kwargs)``;
    run as ``rlv.grade(pred, gold, ...)`` with the options the case implies (below).
``answer_equiv``
    two already-extracted answers; run as ``rlv.is_equiv_status(gold, pred, ...)``.
``grade``
    a full model output (``completion``) against a gold; run as ``rlv.grade``.
``parse``
    what math-verify's ``parse()`` returns for one input; mapped to an extraction check where
    meaningful, otherwise reported as not applicable with a reason.
``sympy_expr_eq``
    two SymPy source texts; simple ones (``Rational(1, 3)``, ``Float(0.333)``, ``pi``, ``**``)
    are translated to plain math and compared with ``rlv.is_equiv_status``.

Mapping of math-verify settings to rlv options
----------------------------------------------

* ``pred_config`` with ``ExprExtractionConfig`` (alone or with LaTeX): ``mode="lenient"``
  (anchors, then the last math span, then the last bare number).
* ``pred_config`` with ``LatexExtractionConfig`` only: ``mode="lenient"``, except that an
  answer found by the bare-number fallback (rule ``last_number``) counts as no answer:
  math-verify's LaTeX extractor never reads a number outside a math environment (this is
  the ``number_fallback=False`` switch of the Rust ``ExtractConfig``).
* ``StringExtractionConfig`` (multiple-choice letters): ``rlv.extract_choice(input,
  choices=strings)`` must return the expected letter (or ``None`` when math-verify expects no
  match).
* The gold is always passed to rlv as the gold (``$...$``, a bare answer or a solution).
* ``allow_set_relation_comp`` -> ``interval_inequality``. math-verify's asymmetric default
  (``False``: an inequality gold may match an interval prediction, but an interval gold never
  matches an inequality prediction) is emulated: ``interval_inequality`` is off only when
  the flag is ``False`` and the gold contains no inequality sign.
* ``float_rounding`` other than math-verify's default 6 -> ``min_decimals`` (a decimal must
  show that many places to equal an exact value). The default is not mapped: rlv ties a
  decimal's tolerance to the digits it was written with.
* ``strict=False`` (math-verify renames the prediction's variables to the gold's):
  ``strict_vars=False``.
* ``boxed_match_priority`` other than 0/50 and ``NormalizationConfig`` flags switched off
  change which answer math-verify extracts; rlv's anchor order and normalisation are fixed,
  so ``parse`` cases that test them are not applicable.
* Lists: ``ordered_lists=False`` (math-verify compares bare lists as sets), except for the
  Hendrycks corpus (``ordered_lists=True``). A case's own ``options`` always win.
* ``percent``, ``rel_tol``: rlv defaults.

Scoring: cases with ``disabled: true`` are skipped (counted); ``review.type == "suspect"``
cases are scored against the inverted ``expected`` (the mathematically correct verdict);
``review.type == "policy"`` cases are scored but reported separately and do not affect the
exit status.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "CaseResult",
    "CategoryStats",
    "Failure",
    "NotApplicable",
    "Report",
    "add_arguments",
    "evaluate_case",
    "run",
    "run_corpus",
]


class _Readable(Protocol):
    """A file-like resource (``pathlib.Path`` or ``importlib.resources`` Traversable)."""

    @property
    def name(self) -> str: ...

    def read_text(self, encoding: str | None = ...) -> str: ...


PathLike = str | os.PathLike[str] | _Readable

# ---------------------------------------------------------------------------------------------
# Report types


@dataclasses.dataclass
class CategoryStats:
    """Pass count of one category."""

    passed: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 1.0


@dataclasses.dataclass
class Failure:
    """One scored case whose rlv verdict differs from the expectation."""

    id: str
    category: str
    kind: str
    gold: str
    pred: str
    expected: bool
    got: bool | None
    status: str
    note: str = ""
    policy: bool = False


@dataclasses.dataclass
class NotApplicable:
    """A case that rlv cannot run because its expectation depends on a math-verify option
    (or SymPy object) with no rlv equivalent."""

    id: str
    category: str
    reason: str


@dataclasses.dataclass
class CaseResult:
    """Outcome of one applicable case."""

    got: bool | None
    """rlv's verdict (``None`` if rlv raised)."""
    status: str
    """rlv's status name (or ``error: ...``)."""
    note: str = ""


@dataclasses.dataclass
class Report:
    """Result of running one corpus."""

    path: str
    categories: dict[str, CategoryStats] = dataclasses.field(default_factory=dict)
    """Enabled, applicable, non-policy cases by category."""
    policy_categories: dict[str, CategoryStats] = dataclasses.field(default_factory=dict)
    """Enabled, applicable ``policy`` cases by category."""
    failures: list[Failure] = dataclasses.field(default_factory=list)
    """Failing non-policy cases, in corpus order."""
    policy_failures: list[Failure] = dataclasses.field(default_factory=list)
    """Policy cases where rlv decides differently from the corpus."""
    disabled: list[str] = dataclasses.field(default_factory=list)
    """Ids of skipped ``disabled`` cases."""
    not_applicable: list[NotApplicable] = dataclasses.field(default_factory=list)
    suspect_inverted: list[str] = dataclasses.field(default_factory=list)
    """Ids of ``suspect`` cases scored against the inverted expectation."""
    elapsed_s: float = 0.0

    @property
    def passed(self) -> int:
        return sum(s.passed for s in self.categories.values())

    @property
    def total(self) -> int:
        return sum(s.total for s in self.categories.values())

    @property
    def policy_passed(self) -> int:
        return sum(s.passed for s in self.policy_categories.values())

    @property
    def policy_total(self) -> int:
        return sum(s.total for s in self.policy_categories.values())

    @property
    def skipped_disabled(self) -> int:
        return len(self.disabled)

    @property
    def skipped_not_applicable(self) -> int:
        return len(self.not_applicable)

    @property
    def ok(self) -> bool:
        """Whether every enabled, applicable, non-policy case passes."""
        return not self.failures

    def failing_ids(self) -> list[str]:
        return [f.id for f in self.failures]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["summary"] = {
            "passed": self.passed,
            "total": self.total,
            "policy_passed": self.policy_passed,
            "policy_total": self.policy_total,
            "skipped_disabled": self.skipped_disabled,
            "skipped_not_applicable": self.skipped_not_applicable,
            "ok": self.ok,
        }
        return d


# ---------------------------------------------------------------------------------------------
# Option mapping helpers

_INEQUALITY_RE = re.compile(r"<|>|≤|≥|\\(?:leq?|geq?|lt|gt|leqslant|geqslant)(?![A-Za-z])")
_DEFAULT_LETTERS = ("A", "B", "C", "D")
_MV_DEFAULT_FLOAT_ROUNDING = 6


def _config_types(config: object) -> set[str]:
    if not isinstance(config, list):
        return set()
    return {str(c.get("type", "")) for c in config if isinstance(c, dict)}


def _config_entry(config: object, type_name: str) -> dict[str, Any]:
    if isinstance(config, list):
        for c in config:
            if isinstance(c, dict) and c.get("type") == type_name:
                return c
    return {}


def _is_hendrycks(case: dict[str, Any]) -> bool:
    return case.get("upstream") == "hendrycks/math" or str(case.get("category", "")).startswith(
        "hendrycks/"
    )


def _base_options(case: dict[str, Any]) -> dict[str, Any]:
    """rlv keyword options implied by the case (before the case's own ``options``)."""
    opts: dict[str, Any] = {}
    if _is_hendrycks(case):
        opts["ordered_lists"] = True
    vk = case.get("verify_kwargs") or {}
    if vk.get("strict") is False:
        # math-verify renames the prediction's variables to the gold's.
        opts["strict_vars"] = False
    fr = vk.get("float_rounding")
    if isinstance(fr, int) and not isinstance(fr, bool) and fr != _MV_DEFAULT_FLOAT_ROUNDING:
        opts["min_decimals"] = fr
    if "allow_set_relation_comp" in vk:
        if vk["allow_set_relation_comp"]:
            opts["interval_inequality"] = True
        else:
            # math-verify: an inequality gold may match an interval pred, never the reverse.
            opts["interval_inequality"] = bool(_INEQUALITY_RE.search(str(case.get("gold", ""))))
    own = case.get("options")
    if isinstance(own, dict):
        opts.update(own)
    return opts


def _unsupported_latex_config(config: object) -> str | None:
    latex = _config_entry(config, "LatexExtractionConfig")
    prio = latex.get("boxed_match_priority")
    if prio is not None and prio not in (0, 50):
        return f"boxed_match_priority={prio}: rlv's anchor order is fixed (\\boxed first)"
    norm = latex.get("normalization_config")
    if isinstance(norm, dict):
        off = [
            k
            for k in ("basic_latex", "units", "malformed_operators", "nits")
            if norm.get(k) is False
        ]
        if off:
            return f"NormalizationConfig({', '.join(f'{k}=False' for k in off)}): rlv's normalisation is fixed"
    return None


# ---------------------------------------------------------------------------------------------
# SymPy source text -> plain math


_SYMPY_SUBS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Rational\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)"), r"(\\frac{\1}{\2})"),
    (re.compile(r"Float\(\s*['\"]?(-?[\d.]+(?:[eE][-+]?\d+)?)['\"]?\s*(?:,\s*\d+\s*)?\)"), r"\1"),
    (re.compile(r"Integer\(\s*(-?\d+)\s*\)"), r"\1"),
    (re.compile(r"\*\*"), "^"),
    (re.compile(r"\*"), r" \\cdot "),
    (re.compile(r"\bpi\b"), r"\\pi "),
    (re.compile(r"\bE\b"), "e"),
    (re.compile(r"\bgamma\("), r"\\Gamma("),
    (re.compile(r"\bsqrt\("), r"\\sqrt("),
    (re.compile(r"\b(sin|cos|tan|log|exp)\("), r"\\\1("),
)


def sympy_to_math(src: str) -> str | None:
    """Translate simple SymPy source text to plain math (``None`` if it is not simple).

    >>> sympy_to_math("Rational(1, 3) + 1")
    '(\\\\frac{1}{3}) + 1'
    """
    out = src
    for pattern, repl in _SYMPY_SUBS:
        out = pattern.sub(repl, out)
    # Anything left that looks like a SymPy name (EulerGamma, Symbol, oo, ...) is not simple.
    leftover = re.sub(r"\\[A-Za-z]+", "", out)
    if re.search(r"[A-Za-z_]{2,}", leftover):
        return None
    return out.strip()


# ---------------------------------------------------------------------------------------------
# Evaluating cases


def _rlv() -> Any:
    import rlv

    return rlv


def _grade(completion: str, gold: str, opts: dict[str, Any]) -> tuple[bool, str, str | None, str]:
    """``(correct, status, rule, note)`` of ``rlv.grade`` (the note shows both answer spans)."""
    v = _rlv().grade(completion, gold, **opts)
    note = f"rule={v.rule} answer={v.answer!r} gold_answer={v.gold_answer!r}"
    return bool(v.correct), str(v.status), v.rule, note


def _equiv(gold: str, pred: str, opts: dict[str, Any]) -> tuple[bool, str]:
    """``(equal, status)`` of ``rlv.is_equiv_status`` (options without ``mode``)."""
    opts = {k: v for k, v in opts.items() if k != "mode"}
    rlv = _rlv()
    fn = getattr(rlv, "is_equiv_status", None)
    if fn is not None:
        status = str(fn(gold, pred, **opts))
        return status == "equal", status
    eq = bool(rlv.is_equiv(gold, pred, **opts))
    return eq, "equal" if eq else "not_equal"


def _verify_case(case: dict[str, Any]) -> CaseResult | NotApplicable:
    gold, pred = str(case.get("gold", "")), str(case.get("pred", ""))
    types = _config_types(case.get("pred_config"))
    opts = _base_options(case)
    opts.setdefault("mode", "lenient")
    correct, status, rule, note = _grade(pred, gold, opts)
    if types and types <= {"LatexExtractionConfig"} and rule == "last_number":
        # math-verify's LaTeX extractor never reads a bare number outside a math environment.
        correct, status = False, "no_answer"
        note = f"LaTeX-only pred_config: bare-number fallback not used; {note}"
    return CaseResult(correct, status, note)


def _string_choice_case(case: dict[str, Any]) -> CaseResult | NotApplicable:
    text = str(case.get("input", ""))
    cfg = _config_entry(case.get("pred_config"), "StringExtractionConfig")
    letters = tuple(str(s) for s in cfg.get("strings", _DEFAULT_LETTERS))
    expected = case.get("expected_parse")
    if not isinstance(expected, list):
        return NotApplicable(str(case.get("id")), str(case.get("category")), "no expected_parse")
    got = _rlv().extract_choice(text, choices="".join(letters))
    want = str(expected[-1]) if expected else None
    if cfg.get("lowercase", True) and got is not None and want is not None:
        got, want = got.lower(), want.lower()
    status = "equal" if got == want else "not_equal"
    return CaseResult(got == want, status, f"extract_choice -> {got!r}, expected {want!r}")


def _parse_case(case: dict[str, Any]) -> CaseResult | NotApplicable:
    cid, cat = str(case.get("id")), str(case.get("category"))
    config = case.get("pred_config")
    types = _config_types(config)
    if "StringExtractionConfig" in types:
        return _string_choice_case(case)
    reason = _unsupported_latex_config(config)
    if reason:
        return NotApplicable(cid, cat, reason)
    text = str(case.get("input", ""))
    latex_only = bool(types) and types <= {"LatexExtractionConfig"}
    check = case.get("check")
    if check == "len":
        answer, rule = _rlv().extract_answer_rule(text, mode="lenient")
        if latex_only and rule == "last_number":
            answer = None
        found = answer is not None
        want = int(case.get("expected_len", 0)) > 0
        return CaseResult(found == want, "answer" if found else "no_answer", f"answer={answer!r}")
    if check in ("first_eq", "first_simplify_zero"):
        target = sympy_to_math(str(case.get("expected_sympy", "")))
        if target is None:
            return NotApplicable(
                cid,
                cat,
                f"expected SymPy value {case.get('expected_sympy')!r} has no plain-math form",
            )
        correct, status, rule, note = _grade(text, target, {"mode": "lenient"})
        if latex_only and rule == "last_number":
            correct, status = False, "no_answer"
        return CaseResult(correct, status, f"graded against {target!r}; {note}")
    return NotApplicable(cid, cat, f"parse check {check!r} has no rlv equivalent")


def _sympy_case(case: dict[str, Any]) -> CaseResult | NotApplicable:
    cid, cat = str(case.get("id")), str(case.get("category"))
    gold = sympy_to_math(str(case.get("gold", "")))
    pred = sympy_to_math(str(case.get("pred", "")))
    if gold is None or pred is None:
        return NotApplicable(cid, cat, "SymPy source too complex to translate")
    eq, status = _equiv(gold, pred, _base_options(case))
    return CaseResult(eq, status, f"compared {gold!r} with {pred!r}")


def _answer_equiv_case(case: dict[str, Any]) -> CaseResult | NotApplicable:
    eq, status = _equiv(str(case.get("gold", "")), str(case.get("pred", "")), _base_options(case))
    return CaseResult(eq, status)


def _grade_case(case: dict[str, Any]) -> CaseResult | NotApplicable:
    completion = case.get("completion", case.get("pred", ""))
    opts = _base_options(case)
    opts.setdefault("mode", case.get("mode", "lenient"))
    correct, status, _, note = _grade(str(completion), str(case.get("gold", "")), opts)
    return CaseResult(correct, status, note)


_HANDLERS: dict[str, Callable[[dict[str, Any]], CaseResult | NotApplicable]] = {
    "verify": _verify_case,
    "answer_equiv": _answer_equiv_case,
    "grade": _grade_case,
    "parse": _parse_case,
    "sympy_expr_eq": _sympy_case,
}


def evaluate_case(case: dict[str, Any]) -> CaseResult | NotApplicable:
    """Run one case through rlv (no scoring against ``expected``)."""
    handler = _HANDLERS.get(str(case.get("kind")))
    if handler is None:
        return NotApplicable(
            str(case.get("id")), str(case.get("category")), f"unknown kind {case.get('kind')!r}"
        )
    try:
        return handler(case)
    except Exception as e:  # a conformance run reports errors instead of stopping
        return CaseResult(None, f"error: {type(e).__name__}: {e}")


def _expected(case: dict[str, Any]) -> bool:
    """The verdict a case is scored against (``parse`` cases: "the check holds")."""
    if case.get("kind") == "parse":
        return True
    expected = bool(case.get("expected"))
    review = case.get("review") or {}
    if isinstance(review, dict) and review.get("type") == "suspect":
        expected = not expected
    return expected


def _case_texts(case: dict[str, Any]) -> tuple[str, str]:
    if case.get("kind") == "parse":
        return "", str(case.get("input", ""))
    pred = case.get("pred", case.get("completion", ""))
    return str(case.get("gold", "")), str(pred)


def _read_cases(path: PathLike) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(path, (str, os.PathLike)):
        p = Path(path)
        name, text = str(p), p.read_text(encoding="utf-8")
    else:
        name, text = str(path), path.read_text(encoding="utf-8")
    cases = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{name}:{lineno}: invalid JSON: {e}") from e
        if not isinstance(case, dict):
            raise ValueError(f"{name}:{lineno}: a case must be a JSON object")
        case.setdefault("id", f"{Path(name).name}:{lineno}")
        case.setdefault("category", str(case.get("kind", "uncategorised")))
        cases.append(case)
    return name, cases


def run_corpus(path: PathLike) -> Report:
    """Run every case of a JSONL corpus through rlv and score it."""
    name, cases = _read_cases(path)
    report = Report(path=name)
    start = time.perf_counter()
    for case in cases:
        cid, cat = str(case["id"]), str(case["category"])
        if case.get("disabled"):
            report.disabled.append(cid)
            continue
        outcome = evaluate_case(case)
        if isinstance(outcome, NotApplicable):
            report.not_applicable.append(outcome)
            continue
        review = case.get("review") or {}
        rtype = review.get("type") if isinstance(review, dict) else None
        policy = rtype == "policy"
        if rtype == "suspect":
            report.suspect_inverted.append(cid)
        expected = _expected(case)
        passed = outcome.got is not None and outcome.got == expected
        stats = (report.policy_categories if policy else report.categories).setdefault(
            cat, CategoryStats()
        )
        stats.total += 1
        stats.passed += int(passed)
        if not passed:
            gold, pred = _case_texts(case)
            note = outcome.note
            if isinstance(review, dict) and review.get("note"):
                note = f"{note}; review: {review['note']}" if note else f"review: {review['note']}"
            failure = Failure(
                id=cid,
                category=cat,
                kind=str(case.get("kind")),
                gold=gold,
                pred=pred,
                expected=expected,
                got=outcome.got,
                status=outcome.status,
                note=note,
                policy=policy,
            )
            (report.policy_failures if policy else report.failures).append(failure)
    report.elapsed_s = time.perf_counter() - start
    return report


# ---------------------------------------------------------------------------------------------
# Printing and CLI


def _short(s: str, n: int = 100) -> str:
    s = s.replace("\n", "\\n")
    return s if len(s) <= n else s[: n - 3] + "..."


def _pct(passed: int, total: int) -> str:
    return f"{100.0 * passed / total:.1f} %" if total else "-"


def format_report(report: Report, *, show_failures: int = 10) -> str:
    """A human-readable (markdown) rendering of a report."""
    lines = [
        f"## {report.path}",
        "",
        "| category | passed | total | rate |",
        "|---|---:|---:|---:|",
    ]
    for cat in sorted(report.categories):
        s = report.categories[cat]
        lines.append(f"| {cat} | {s.passed} | {s.total} | {_pct(s.passed, s.total)} |")
    for cat in sorted(report.policy_categories):
        s = report.policy_categories[cat]
        lines.append(f"| {cat} (policy) | {s.passed} | {s.total} | {_pct(s.passed, s.total)} |")
    lines += [
        "",
        f"non-policy: {report.passed}/{report.total} ({_pct(report.passed, report.total)})"
        f"   policy: {report.policy_passed}/{report.policy_total}"
        f"   disabled (skipped): {report.skipped_disabled}"
        f"   not applicable: {report.skipped_not_applicable}"
        f"   suspect (inverted): {len(report.suspect_inverted)}"
        f"   time: {report.elapsed_s:.3f} s",
    ]
    if report.not_applicable:
        lines += ["", "Not applicable:"]
        lines += [f"- {na.id}: {na.reason}" for na in report.not_applicable]
    for title, failures in (
        ("Failures", report.failures),
        ("Policy differences", report.policy_failures),
    ):
        if not failures:
            continue
        shown = failures[: max(show_failures, 0)]
        lines += ["", f"{title} ({len(failures)}, showing {len(shown)}):"]
        for f in shown:
            lines.append(
                f"- {f.id} [{f.category}] expected={f.expected} got={f.got} status={f.status}"
            )
            lines.append(f"    gold: {_short(f.gold)}")
            lines.append(f"    pred: {_short(f.pred)}")
            if f.note:
                lines.append(f"    note: {_short(f.note, 200)}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``rlv conformance``."""
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE.jsonl",
        help="conformance corpora (default: the corpus embedded in rlv)",
    )
    parser.add_argument(
        "--show-failures",
        type=int,
        default=10,
        metavar="N",
        help="list the first N failures of each corpus (default: 10)",
    )
    parser.add_argument("--json", metavar="OUT", help="write the full report as JSON to OUT")


DEFAULT_CASES = "grading_cases.jsonl"
"""File name of the embedded grading corpus run by ``rlv conformance`` with no FILE."""


def default_cases_path() -> Path:
    """Path of the embedded grading corpus (JSONL, one case per line), package data of
    :mod:`rlv.testing`.

    Each case is either ``{"id", "kind": "answer_equiv", "category", "gold", "pred",
    "expected"}`` (two already-extracted answers, compared with :func:`rlv.is_equiv`) or
    ``{"id", "kind": "grade", "category", "gold", "completion", "expected"}`` (a full model
    output graded with :func:`rlv.grade`). ``expected`` is a bool; optional ``options`` holds
    keyword arguments for the call (e.g. ``{"percent": "value"}``).
    """
    from importlib import resources

    return Path(str(resources.files("rlv.testing").joinpath(DEFAULT_CASES)))


def _default_corpus() -> PathLike:
    return default_cases_path()


def run_files(files: Sequence[PathLike] | Iterable[PathLike]) -> list[Report]:
    """Run several corpora (the embedded one if ``files`` is empty)."""
    paths = list(files) or [_default_corpus()]
    return [run_corpus(p) for p in paths]


def run(args: argparse.Namespace) -> int:
    """Entry point of ``rlv conformance``: 0 if every non-policy case passes, else 1."""
    reports = run_files(getattr(args, "files", None) or [])
    show = int(getattr(args, "show_failures", 10))
    out = sys.stdout
    for i, report in enumerate(reports):
        if i:
            out.write("\n")
        out.write(format_report(report, show_failures=show) + "\n")
    if len(reports) > 1:
        passed = sum(r.passed for r in reports)
        total = sum(r.total for r in reports)
        ppassed = sum(r.policy_passed for r in reports)
        ptotal = sum(r.policy_total for r in reports)
        out.write(
            f"\noverall non-policy: {passed}/{total} ({_pct(passed, total)})"
            f"   policy: {ppassed}/{ptotal}\n"
        )
    json_out = getattr(args, "json", None)
    if json_out:
        payload = {"reports": [r.to_dict() for r in reports]}
        Path(json_out).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0 if all(r.ok for r in reports) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rlv.testing.conformance [FILE ...]``."""
    parser = argparse.ArgumentParser(prog="python -m rlv.testing.conformance", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
