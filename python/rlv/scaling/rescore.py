"""Offline rescoring of sample dumps: answers, grades, classes, votes and scaling curves.

:func:`rescore` streams one or more dumps through rlv's Rust core (JSON parsing, answer
extraction, grading, clustering and every estimator run there, on a thread pool with the GIL
released) and returns the report, a JSON-serialisable dict whose shape is a contract::

    {"problems": int, "samples": int, "invalid": int,
     "curves": {"pass": {"1": acc, ...}, "majority": {...}, "weighted": {...},
                "best_of_n": {...}},
     "ci": {...same keys, [lo, hi]...}, "counts": {...}, "ci_method": "normal",
     "ci_level": 0.95, "full_pool": {"majority": acc, ...}, "settings": {...}, ...}

Accuracies are in [0, 1], keyed by k as a string; methods that need verifier scores are
omitted when the dump has none. Input formats (JSONL, ``.gz``, ``.zst``, Parquet; one row per
problem or per sample; field mapping) are described in ``docs/votes.md``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlv import _core
from rlv.grading import GradeOptions
from rlv.scaling.estimators import ESTIMATORS, CiMethod, summarize, summarize_moments

__all__ = [
    "DEFAULT_KS",
    "REPORT_VERSION",
    "describe_input",
    "format_table",
    "plot_report",
    "rescore",
]

#: Default k values: powers of two up to 2^16 (points with no problem that large are dropped).
DEFAULT_KS: tuple[int, ...] = tuple(1 << i for i in range(17))
#: Version of the report's shape.
REPORT_VERSION = 1
_VOTES = ("majority", "weighted", "best_of_n")


def _decision_rows(b: _core.RescoreBatch) -> Iterator[dict[str, Any]]:
    samples, answered, correct, classes = b.samples, b.answered, b.correct, b.classes
    has_scores = b.has_scores
    votes = {m: b.decisions(m) for m in _VOTES}
    for i, (pid, gold) in enumerate(zip(b.ids, b.golds, strict=True)):
        row: dict[str, Any] = {
            "problem_id": pid,
            "gold": gold,
            "samples": int(samples[i]),
            "answered": int(answered[i]),
            "correct_samples": int(correct[i]),
            "classes": int(classes[i]),
        }
        for m in _VOTES:
            if m != "majority" and not has_scores[i]:
                continue
            answers, sample, ok, support, tied = votes[m]
            row[m] = {
                "answer": answers[i],
                "sample": int(sample[i]) if sample[i] >= 0 else None,
                "correct": bool(ok[i]),
                "support": float(support[i]),
                "tied": int(tied[i]),
            }
        yield row


def rescore(
    paths: Sequence[str | os.PathLike[str]],
    *,
    ks: Sequence[int] | None = None,
    subsets: int = 100,
    seed: int = 0,
    num_threads: int | None = None,
    fields: Mapping[str, str] | None = None,
    format: str = "auto",
    layout: str = "auto",
    score_agg: str | None = None,
    skip_invalid: bool = False,
    mode: str | None = None,
    max_comparisons: int = 50_000,
    ci: CiMethod = "normal",
    ci_level: float = 0.95,
    decisions: str | os.PathLike[str] | None = None,
    progress: bool | Callable[[int, int, int], None] = False,
    chunk_bytes: int = 16 << 20,
    options: GradeOptions | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Rescore sample dumps and return the report (see the module docs for its shape).

    Args:
        paths: dump files: JSONL (plain, gzip or zstd, detected from the bytes) or
            ``.parquet``. Problems are numbered across files in order (the number seeds each
            problem's random subsets).
        ks: k values of the curves (default: powers of two; points larger than every
            problem's sample count are dropped).
        subsets: R, random subsets per k for majority@k / weighted@k.
        seed: seed of the subsets (results do not depend on ``num_threads``).
        fields: field mapping, e.g. ``{"completions": "code", "gold": "gt"}``; dotted paths
            reach into objects (``{"scores": "verifier.p_yes"}``). It wins over the preset of
            the detected dump format; mapping ``answer`` / ``answers`` makes that field win
            over the completion's own answer (see ``docs/votes.md``, "Precedence").
        format: the tool that wrote the dump: ``"auto"`` (detected from each file's first
            row), ``"rlv"``, ``"search-and-learn"``, ``"qwen-math"``, ``"lm-eval"`` or
            ``"verl"``; the report's ``settings.formats`` says which was used.
        layout: ``"auto"`` (from the first row), ``"per-problem"`` or ``"per-sample"``.
        score_agg: how a list of step scores becomes one score (``"last"``, ``"min"``,
            ``"prod"``, ``"mean"``); without it a list score is an error.
        skip_invalid: count and list invalid rows instead of raising on the first one.
        mode: answer extraction mode (``"lenient"``, the default, or ``"strict"``).
        max_comparisons: cap on full equivalence checks per problem when clustering.
        ci: ``"normal"`` (running moments; memory independent of the dump) or
            ``"bootstrap"`` (percentile bootstrap; keeps 4 x len(ks) floats per problem).
        decisions: write one JSON line per problem (the full-pool votes) to this path.
        progress: ``True`` for a progress bar on stderr (tqdm), or a callback
            ``(bytes_done, bytes_total, samples_done)``.
        options: the grading options (``mode`` included) as one
            :class:`rlv.grading.GradeOptions`; not together with ``mode`` or ``**kwargs``.
        **kwargs: grading options of :func:`rlv.is_equiv` as keywords.

    Raises:
        rlv.exceptions.DumpError: a malformed row (file, line and field in the message),
            unless ``skip_invalid``.
        OSError: a file that cannot be read.
    """
    t0 = time.perf_counter()
    files = [Path(p) for p in paths]
    if not files:
        raise ValueError("no dump given")
    kk = [int(k) for k in (ks if ks is not None else DEFAULT_KS)]
    if not kk or any(k < 1 for k in kk):
        raise ValueError(f"ks must be positive integers, got {kk}")
    if options is None:
        grade_options = GradeOptions(mode="lenient" if mode is None else mode, **kwargs)
        settings_options = dict(kwargs)
    elif mode is not None or kwargs:
        raise TypeError("pass either options=GradeOptions(...) or keyword options, not both")
    else:
        grade_options = options
        settings_options = {k: v for k, v in options.to_dict().items() if k != "mode"}
    totals = _core.RescoreTotals(len(kk), keep=ci == "bootstrap")
    total_bytes = sum(f.stat().st_size for f in files)
    cfg: dict[str, Any] = {
        "fields": dict(fields or {}),
        "format": format,
        "layout": layout,
        "score_agg": score_agg,
        "ks": kk,
        "subsets": subsets,
        "seed": seed,
        "skip_invalid": skip_invalid,
        "max_comparisons": max_comparisons,
        "num_threads": num_threads,
        "chunk_bytes": chunk_bytes,
        "options": grade_options,
    }
    bar: Any = None
    report_progress: Callable[[int, int, int], None] | None = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total_bytes, unit="B", unit_scale=True, desc="rescore", file=sys.stderr)

        def report_progress(done: int, total: int, samples: int) -> None:
            bar.update(done - bar.n)
            el = max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix(samples=samples, per_s=f"{samples / el:,.0f}", refresh=False)

    elif callable(progress):
        report_progress = progress
    out = open(decisions, "w", encoding="utf-8") if decisions is not None else None  # noqa: SIM115
    layouts: list[str] = []
    compressions: list[str] = []
    formats: list[dict[str, Any]] = []
    first_index = 0
    done_before = 0
    try:
        for f in files:
            size_f = f.stat().st_size
            r = _core.Rescorer(str(f), first_index=first_index, **cfg)
            while (b := r.next_batch()) is not None:
                totals.add(b, str(f))
                if out is not None:
                    for row in _decision_rows(b):
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")
                if report_progress is not None:
                    done, _size = r.progress()
                    report_progress(done_before + done, total_bytes, totals.samples)
            first_index = r.next_index
            layouts.append(r.layout)
            agg, agg_preset = r.score_agg
            sel = r.select
            formats.append(
                {
                    "file": str(f),
                    "format": r.format,
                    "detected": format == "auto",
                    "fields": dict(r.fields),
                    "score_agg": agg,
                    "score_agg_from_format": agg_preset,
                    "select": None if sel is None else {"field": sel[0], "value": sel[1]},
                }
            )
            compressions.append(r.compression)
            done_before += size_f
    finally:
        if out is not None:
            out.close()
        if bar is not None:
            bar.close()
    if ci == "bootstrap":
        kept = totals.kept
        est = kept if kept is not None else np.zeros((0, 4, len(kk)))
        summary = summarize(est, kk, ci="bootstrap", level=ci_level, seed=seed)
    else:
        summary = summarize_moments(totals.n, totals.s1, totals.s2, kk, level=ci_level)
    elapsed = time.perf_counter() - t0
    warnings = _warnings(totals, formats, layouts, fields or {})
    p = max(totals.problems, 1)
    votes = dict(totals.votes)
    full_pool = {"majority": votes["majority"] / p}
    if totals.with_scores:
        for m in ("weighted", "best_of_n"):
            full_pool[m] = votes[m] / totals.with_scores
    return {
        "report_version": REPORT_VERSION,
        "rlv_version": _core.__version__,
        "problems": totals.problems,
        "samples": totals.samples,
        "invalid": totals.invalid_count,
        "invalid_rows": [
            {"file": file, "line": line, "field": field, "message": message}
            for file, line, field, message in totals.invalid
        ],
        "skipped": totals.skipped,
        "answer_field": {
            "compared": totals.compared,
            "disagree": totals.disagree,
            "example": None
            if totals.example is None
            else dict(
                zip(
                    ("file", "line", "answer_field", "completion_answer"),
                    totals.example,
                    strict=True,
                )
            ),
        },
        "warnings": warnings,
        **summary,
        "full_pool": full_pool,
        "answered": totals.answered,
        "correct_samples": totals.correct,
        "problems_with_scores": totals.with_scores,
        "clustering": {
            "mean_classes": totals.classes / p,
            "comparisons": totals.comparisons,
            "truncated_problems": totals.truncated,
            "mixed_classes": totals.mixed,
        },
        "settings": {
            "files": [str(f) for f in files],
            "layouts": layouts,
            "formats": formats,
            "compressions": compressions,
            "ks": kk,
            "subsets": subsets,
            "seed": seed,
            "mode": grade_options.mode,
            "fields": dict(fields or {}),
            "score_agg": score_agg,
            "skip_invalid": skip_invalid,
            "max_comparisons": max_comparisons,
            "grade_options": settings_options,
        },
        "elapsed_s": elapsed,
        "samples_per_s": totals.samples / elapsed if elapsed > 0 else 0.0,
    }


#: An answer field that disagrees with the completions on at least this share of the
#: samples that have both is reported as a warning.
DISAGREE_WARN_SHARE = 0.05


_ROLES = {
    "per-problem": ("problem_id", "gold", "completions", "answers", "scores"),
    "per-sample": ("problem_id", "gold", "completion", "answer", "score"),
}


def _warnings(
    totals: _core.RescoreTotals,
    formats: Sequence[Mapping[str, Any]],
    layouts: Sequence[str],
    explicit: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Conditions under which the numbers are probably not what the user meant."""
    out: list[dict[str, Any]] = []
    fields: Mapping[str, str] = formats[0]["fields"] if formats else {}
    per_sample = bool(layouts) and all(x == "per-sample" for x in layouts)
    own = "completion" if per_sample else "completions"
    given = "answer" if per_sample else "answers"
    if totals.samples and totals.answered == 0:
        source = (
            f"--field {given}={fields[given]}"
            if given in explicit
            else f"the completions' field {fields.get(own, own)!r} (--field {own}=NAME)"
        )
        out.append(
            {
                "code": "no_answers",
                "count": totals.samples,
                "message": f"no sample has an answer ({totals.samples:,} samples): every "
                f"accuracy below is 0 because nothing was read as an answer, not because "
                f"the answers are wrong. Answers were read from {source}; check the mapping "
                f"with the first rows of the dump.",
            }
        )
    if totals.disagree and totals.disagree >= DISAGREE_WARN_SHARE * totals.compared:
        path = fields.get(given, given)
        used = (
            f"the answer field was used (mapped with --field {given}={path})"
            if given in explicit
            else f"the completion's own answer was used; the answer field counts only with "
            f"--field {given}={path}"
        )
        eg = ""
        if totals.example is not None:
            file, line, a, c = totals.example
            eg = f" (e.g. {file}:{line}: {path} {a!r}, completion's answer {c!r})"
        out.append(
            {
                "code": "answer_field_disagrees",
                "count": totals.disagree,
                "message": f"field {path!r} disagrees with the completion's own answer on "
                f"{totals.disagree:,} of {totals.compared:,} samples{eg}; {used}. If "
                f"{path!r} holds the gold answer, map it with --field gold={path}.",
            }
        )
    return out


#: What a format's preset leaves unread on purpose, said next to the detected format.
_FORMAT_NOTES = {
    "qwen-math": "their `score` (booleans from their own grader) and `pred` are not read",
    "verl": "its `score` (the training reward, a grade, not a verifier probability) is not "
    "read: map it with --field score=NAME to use a verifier's score",
}


def describe_input(report: Mapping[str, Any]) -> list[str]:
    """Lines saying how each dump was read: the format (detected or given), the field
    mapping, a preset score aggregation, rows left out, and every warning (a tool that
    prints the table should print these above it)."""
    lines = []
    settings = report["settings"]
    for i, f in enumerate(settings.get("formats", [])):
        how = "detected" if f["detected"] else "given"
        layout = settings["layouts"][i]
        roles = _ROLES.get(layout, tuple(f["fields"]))
        mapping = ", ".join(f"{k}={f['fields'][k]}" for k in roles if k in f["fields"])
        extra = ""
        if f["score_agg_from_format"]:
            extra += f"; step scores combined with --score-agg {f['score_agg']}"
        note = _FORMAT_NOTES.get(f["format"])
        if note and f["detected"]:
            extra += f"; {note}"
        if f["select"] is not None:
            extra += f"; rows with {f['select']['field']} = {f['select']['value']!r} only"
        lines.append(f"{f['file']}: format {f['format']} ({how}), {layout}: {mapping}{extra}")
    if report.get("skipped"):
        lines.append(f"{report['skipped']:,} rows of other filters were left out")
    for w in report.get("warnings", []):
        lines.append(f"WARNING: {w['message']}")
    return lines


_LABELS = {
    "pass": "pass@k",
    "majority": "majority",
    "weighted": "weighted",
    "best_of_n": "best-of-k",
}


def format_table(report: Mapping[str, Any]) -> str:
    """A plain-text table of the curves (accuracy in %, +- half the confidence interval)."""
    curves: Mapping[str, Mapping[str, float]] = report["curves"]
    methods = [m for m in ESTIMATORS if m in curves]
    ks = sorted({int(k) for m in methods for k in curves[m]})
    head = ["k"] + [_LABELS[m] for m in methods]
    rows = [head]
    for k in ks:
        row = [str(k)]
        for m in methods:
            v = curves[m].get(str(k))
            if v is None:
                row.append("-")
                continue
            lo, hi = report["ci"][m][str(k)]
            row.append(f"{100 * v:.1f} +- {100 * (hi - lo) / 2:.1f}")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot_report(
    reports: Mapping[str, Mapping[str, Any]] | Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> None:
    """Accuracy vs N on a log2 axis, one line per method, with confidence bands.

    ``reports`` is one report, or ``{label: report}`` to overlay several runs.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'rlv[plot]'") from e
    many = "curves" not in reports
    runs: Mapping[str, Mapping[str, Any]] = reports if many else {"": reports}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    styles = ["-", "--", ":", "-."]
    for r_i, (label, rep) in enumerate(runs.items()):
        for m_i, m in enumerate(ESTIMATORS):
            if m not in rep["curves"]:
                continue
            ks = sorted(int(k) for k in rep["curves"][m])
            ys = [100 * rep["curves"][m][str(k)] for k in ks]
            lo = [100 * rep["ci"][m][str(k)][0] for k in ks]
            hi = [100 * rep["ci"][m][str(k)][1] for k in ks]
            name = _LABELS[m] if not label else f"{label}: {_LABELS[m]}"
            (line,) = ax.plot(
                ks, ys, styles[r_i % len(styles)], marker="o", ms=3, label=name, color=f"C{m_i}"
            )
            ax.fill_between(ks, lo, hi, alpha=0.15, color=line.get_color())
    ax.set_xscale("log", base=2)
    ax.set_xlabel("samples per problem N (log2)")
    ax.set_ylabel("accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
