"""The ``rlv`` command line (also ``python -m rlv``).

Subcommands:

* ``rlv grade --gold G [options] TEXT``: grade one completion (``-`` reads it from stdin) and
  print the verdict as JSON.
* ``rlv conformance [FILE.jsonl ...]``: run grading conformance corpora (default: the corpus
  embedded in the package, ``rlv/testing/grading_cases.jsonl``) and report the pass rate.
* ``rlv rescore DUMP...``: votes and scaling curves from sample dumps (``rlv.scaling.rescore``).
* ``rlv compare REPORT_A REPORT_B``: efficiency ratio between two rescore reports.
* ``rlv lengths DUMP...``: length selection by verifier confidence from budget dumps
  (``rlv sample --budgets``; :mod:`rlv.scaling.lengths`).
* ``rlv sft`` / ``rlv train`` / ``rlv sample`` / ``rlv demo``: RL^V training and evaluation
  (:mod:`rlv.training`; need ``rlv[train]``).
* ``rlv config [CONFIG.yaml] [--set K=V]``: print the full effective training configuration.

This module imports only the standard library at start-up; rlv's compiled core, numpy and
torch are imported by the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

from rlv.exceptions import BackendUnavailableError

__all__ = ["build_parser", "main"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rlv")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


# ---------------------------------------------------------------------------------------------
# rlv grade


def _add_grading_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mode",
        choices=("lenient", "strict"),
        default="lenient",
        help="extraction mode for the completion (default: %(default)s)",
    )
    p.add_argument(
        "--ordered-lists",
        action="store_true",
        help="compare bare comma lists in order (Hendrycks MATH) instead of as sets",
    )
    p.add_argument(
        "--percent",
        choices=("strip", "value", "either"),
        default="strip",
        help="read 28%% as 28 (strip), 0.28 (value) or both (either) (default: %(default)s)",
    )
    p.add_argument(
        "--no-interval-inequality",
        dest="interval_inequality",
        action="store_false",
        help="do not let an inequality (x > 3) equal the matching interval",
    )
    p.add_argument(
        "--loose-vars",
        dest="strict_vars",
        action="store_false",
        help="rename the answer's variables to the gold's (f(y) equals f(x))",
    )
    p.add_argument(
        "--min-decimals",
        type=int,
        default=None,
        metavar="N",
        help="a decimal must show at least N places to equal an exact value (0.333 != 1/3 at 4)",
    )
    p.add_argument(
        "--rel-tol", type=float, default=1e-9, help="relative tolerance (default: %(default)s)"
    )
    p.add_argument("--fuel", type=int, default=None, help="work budget per comparison")


def _grading_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        "mode": args.mode,
        "ordered_lists": args.ordered_lists,
        "percent": args.percent,
        "interval_inequality": args.interval_inequality,
        "strict_vars": args.strict_vars,
        "min_decimals": args.min_decimals,
        "rel_tol": args.rel_tol,
    }
    if args.fuel is not None:
        options["fuel"] = args.fuel
    return options


def _run_grade(args: argparse.Namespace) -> int:
    import rlv

    text = sys.stdin.read() if args.text == "-" else args.text
    gold = sys.stdin.read() if args.gold == "-" and args.text != "-" else args.gold
    options = _grading_options(args)
    try:
        verdict = rlv.grade(text, gold, **options)
    except ValueError as e:
        print(f"rlv grade: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=args.indent))
    return 0


# ---------------------------------------------------------------------------------------------
# rlv conformance (implemented in rlv.testing.conformance; imported only for this subcommand)


def _conformance_module() -> ModuleType | None:
    try:
        return importlib.import_module("rlv.testing.conformance")
    except ModuleNotFoundError as e:
        if e.name != "rlv.testing.conformance":
            raise
        return None


def _add_conformance_arguments(p: argparse.ArgumentParser, module: ModuleType | None) -> None:
    if module is not None and hasattr(module, "add_arguments"):
        module.add_arguments(p)
        return
    # Documented interface, used for --help when rlv.testing.conformance is unavailable.
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE.jsonl",
        help="conformance corpora (default: the corpus embedded in rlv)",
    )
    p.add_argument("--show-failures", type=int, default=10, metavar="N")
    p.add_argument("--json", metavar="OUT", help="write the full report as JSON")


def _run_conformance(args: argparse.Namespace, module: ModuleType | None) -> int:
    if module is None:
        print(
            "rlv conformance: error: the rlv.testing.conformance module is not available",
            file=sys.stderr,
        )
        return 2
    if getattr(args, "files", None) == []:
        args.files = [str(module.default_cases_path())]
    runner = getattr(module, "run", None) or module.main_conformance
    return int(runner(args))


# ---------------------------------------------------------------------------------------------
# rlv rescore / rlv compare (implemented in rlv.scaling.rescore and rlv.scaling.estimators)


def _numbers(
    flag: str, example: str, kind: Callable[[str], Any], ok: Callable[[list[Any]], bool], want: str
) -> Callable[[str], list[Any]]:
    """An argparse type for a comma list of numbers (``kind`` each) that ``ok`` accepts."""

    def parse(text: str) -> list[Any]:
        try:
            values = [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} wants numbers like {example}, got {text!r}"
            ) from None
        if not values or not ok(values):
            raise argparse.ArgumentTypeError(f"{flag} wants {want}, got {text!r}")
        return values

    return parse


_ks = _numbers("--ks", "1,2,4,8", int, lambda v: all(k >= 1 for k in v), "positive integers")
_budgets = _numbers(
    "--budgets",
    "64,128,256",
    int,
    lambda v: v[0] >= 1 and v == sorted(set(v)),
    "strictly increasing positive integers",
)
_taus = _numbers(
    "--taus", "0,0.5,0.9", float, lambda v: all(0 <= t <= 1 for t in v), "numbers in [0, 1]"
)


def _field(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(
            f"--field wants NAME=PATH (e.g. completions=code), got {text!r}"
        )
    return name, path


def _add_subset_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--subsets", type=int, default=100, help="random subsets per k (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the subsets (default: 0)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all)")


def _add_rescore_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dumps", nargs="+", metavar="DUMP", help="JSONL (.gz/.zst) or Parquet dumps")
    p.add_argument("--out", metavar="REPORT.json", help="write the JSON report here")
    p.add_argument("--plot", metavar="CURVES.png", help="plot accuracy vs N (needs matplotlib)")
    p.add_argument(
        "--ks", type=_ks, default=None, help="k values, e.g. 1,2,4,8 (default: powers of two)"
    )
    _add_subset_arguments(p)
    p.add_argument(
        "--field",
        type=_field,
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="map a field: problem_id, gold, completions, completion, scores, score, answers, "
        "answer (dotted paths reach into objects: scores=verifier.p_yes); repeatable; wins "
        "over the detected format's mapping. A mapped answer/answers field wins over the "
        "completion's own answer",
    )
    p.add_argument(
        "--format",
        choices=("auto", "rlv", "search-and-learn", "qwen-math", "lm-eval", "verl"),
        default="auto",
        help="the tool that wrote the dump (default: detected from its first row's fields)",
    )
    p.add_argument(
        "--layout",
        choices=("auto", "per-problem", "per-sample"),
        default="auto",
        help="one row per problem or per sample (default: decided by the first row)",
    )
    p.add_argument(
        "--score-agg",
        choices=("last", "min", "prod", "mean"),
        default=None,
        help="combine a list of step scores (search-and-learn PRM scores) into one",
    )
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="count and report invalid rows instead of stopping at the first one",
    )
    p.add_argument(
        "--ci",
        choices=("normal", "bootstrap"),
        default="normal",
        help="confidence intervals across problems (default: %(default)s)",
    )
    p.add_argument(
        "--decisions", metavar="OUT.jsonl", help="write each problem's full-pool votes here"
    )
    p.add_argument(
        "--max-comparisons",
        type=int,
        default=50_000,
        help="cap on full equivalence checks per problem (default: %(default)s)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_grading_options(p)


def _run_rescore(args: argparse.Namespace) -> int:
    from rlv.exceptions import DumpError
    from rlv.scaling.rescore import describe_input, format_table, plot_report, rescore

    try:
        report = rescore(
            args.dumps,
            ks=args.ks,
            subsets=args.subsets,
            seed=args.seed,
            num_threads=args.threads,
            fields=dict(args.field),
            format=args.format,
            layout=args.layout,
            score_agg=args.score_agg,
            skip_invalid=args.skip_invalid,
            ci=args.ci,
            decisions=args.decisions,
            max_comparisons=args.max_comparisons,
            progress=not args.quiet,
            **_grading_options(args),
        )
    except KeyboardInterrupt:
        print("rlv rescore: interrupted; no report written", file=sys.stderr)
        return 130
    except (DumpError, OSError, ValueError, ImportError) as e:
        print(f"rlv rescore: error: {e}", file=sys.stderr)
        return 2
    names, rc = _write_outputs(
        "rescore",
        report,
        args.out,
        args.plot,
        lambda path: plot_report(report, path, title=", ".join(args.dumps)),
    )
    for line in describe_input(report):
        print(line)
    print(
        f"{report['problems']:,} problems, {report['samples']:,} samples "
        f"({report['answered']:,} with an answer), {report['invalid']:,} invalid rows, "
        f"{report['elapsed_s']:.2f} s ({report['samples_per_s']:,.0f} samples/s)"
    )
    print(format_table(report))
    fp = ", ".join(f"{m} {100 * v:.1f}%" for m, v in report["full_pool"].items())
    print(f"full pool: {fp}")
    for line in names:
        print(line)
    return rc


def _write_outputs(
    command: str,
    report: Any,
    out: str | None,
    plot: str | None,
    draw: Callable[[str], None],
) -> tuple[list[str], int]:
    """Write ``--out`` (the JSON report) and ``--plot`` (``draw(path)``) before anything
    goes to stdout, so that a reader that closes the pipe early (``rlv rescore ... | head``)
    cannot cost the files. Returns the lines that name them and the exit code (2 where the
    plot needs matplotlib and it is missing: said on stderr, the report is still written)."""
    names: list[str] = []
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
        names.append(f"report: {out}")
    if plot:
        try:
            draw(plot)
        except ImportError as e:
            print(f"rlv {command}: error: {e}", file=sys.stderr)
            return names, 2
        names.append(f"plot: {plot}")
    return names, 0


def _add_lengths_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dumps", nargs="+", metavar="DUMP", help="budget dumps (rlv sample --budgets)")
    p.add_argument("--out", metavar="REPORT.json", help="write the JSON report here")
    p.add_argument(
        "--plot", metavar="LENGTHS.png", help="plot accuracy vs tokens (needs matplotlib)"
    )
    p.add_argument(
        "--ks", type=_ks, default=None, help="pool sizes, e.g. 4,8 (default: powers of two)"
    )
    p.add_argument(
        "--k", type=int, default=None, help="pool size of the table and plot (default: largest)"
    )
    p.add_argument("--taus", type=_taus, default=None, help="thresholds (default: 0, 0.05, ..., 1)")
    p.add_argument(
        "--confidence",
        choices=("share", "mass"),
        default="share",
        help="winning class's share of the pool's total score, or its score sum over the pool "
        "size (default: %(default)s)",
    )
    p.add_argument(
        "--verify-tokens",
        type=int,
        default=None,
        metavar="N",
        help="tokens one verification costs (default: the dump's; 0: generation only)",
    )
    _add_subset_arguments(p)
    p.add_argument(
        "--mode",
        choices=("strict", "lenient"),
        default="strict",
        help="answer extraction (default: %(default)s: a cut inside the reasoning has no answer)",
    )


def _run_lengths(args: argparse.Namespace) -> int:
    from rlv.exceptions import DumpError
    from rlv.grading import GradeOptions
    from rlv.scaling.lengths import (
        DEFAULT_TAUS,
        format_length_table,
        length_select_dump,
        plot_lengths,
    )

    try:
        report = length_select_dump(
            args.dumps,
            ks=args.ks,
            taus=args.taus if args.taus is not None else DEFAULT_TAUS,
            subsets=args.subsets,
            seed=args.seed,
            confidence=args.confidence,
            verify_tokens=args.verify_tokens,
            num_threads=args.threads,
            options=GradeOptions(mode=args.mode),
        )
        table = format_length_table(report, k=args.k)
    except KeyboardInterrupt:
        print("rlv lengths: interrupted; no report written", file=sys.stderr)
        return 130
    except (DumpError, OSError, ValueError) as e:
        print(f"rlv lengths: error: {e}", file=sys.stderr)
        return 2
    names, rc = _write_outputs(
        "lengths", report, args.out, args.plot, lambda path: plot_lengths(report, path, k=args.k)
    )
    print(table)
    for line in names:
        print(line)
    return rc


def _add_compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("baseline", metavar="REPORT_A", help="report of the baseline run")
    p.add_argument("target", metavar="REPORT_B", help="report of the run to compare")
    curves = "pass, majority, weighted, best_of_n"
    p.add_argument(
        "--method-a", default="majority", help=f"baseline curve: {curves} (default: %(default)s)"
    )
    p.add_argument(
        "--method-b", default="weighted", help=f"target curve: {curves} (default: %(default)s)"
    )
    p.add_argument("--plot", metavar="OUT.png", help="overlay both runs' curves")


class _ReportError(Exception):
    """A file given to ``rlv compare`` that is not a usable rescore report."""


def _load_report(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise _ReportError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        rep = json.loads(text)
    except ValueError:
        first = text.lstrip().split("\n", 1)[0]
        try:
            json.loads(first)
            is_jsonl = True
        except ValueError:
            is_jsonl = False
        if is_jsonl:
            raise _ReportError(
                f"{path} holds JSON lines (a sample dump or a --decisions file?), not a "
                f"report: rescore it first with `rlv rescore {path} --out REPORT.json` and "
                f"compare the reports"
            ) from None
        raise _ReportError(
            f"{path} is not JSON: expected a report of `rlv rescore --out`"
        ) from None
    if not isinstance(rep, dict) or not isinstance(rep.get("curves"), dict):
        raise _ReportError(
            f'{path} is JSON but not a rescore report (no "curves"): write one with '
            f"`rlv rescore DUMP --out REPORT.json`"
        )
    return rep


def _curve(rep: Mapping[str, Any], path: str, method: str, flag: str) -> dict[str, float]:
    curves = rep["curves"]
    if method not in curves:
        have = ", ".join(curves) or "none"
        hint = (
            " (weighted and best_of_n need verifier scores in the dump)"
            if method in ("weighted", "best_of_n")
            else ""
        )
        raise _ReportError(
            f"{flag} {method}: {path} has no such curve; its curves are: {have}{hint}"
        )
    curve: dict[str, float] = curves[method]
    return curve


def _run_compare(args: argparse.Namespace) -> int:
    from rlv.scaling.estimators import efficiency_ratio

    try:
        reports = [_load_report(args.baseline), _load_report(args.target)]
        a = _curve(reports[0], args.baseline, args.method_a, "--method-a")
        b = _curve(reports[1], args.target, args.method_b, "--method-b")
    except _ReportError as e:
        print(f"rlv compare: error: {e}", file=sys.stderr)
        return 2
    try:
        eff = efficiency_ratio(a, b)
    except ValueError as e:
        print(f"rlv compare: error: {e}", file=sys.stderr)
        return 2
    from rlv.scaling.rescore import plot_report

    names, rc = _write_outputs(
        "compare",
        None,
        None,
        args.plot,
        lambda path: plot_report({"A": reports[0], "B": reports[1]}, path),
    )
    name_a = f"A = {args.baseline} [{args.method_a}]"
    name_b = f"B = {args.target} [{args.method_b}]"
    print(f"{name_a}   {name_b}")
    rows = [("k", "A (%)", "B (%)", "B - A", "A needs, to match B at k")]
    for k in sorted({int(x) for x in a} | {int(x) for x in b}):
        va, vb = a.get(str(k)), b.get(str(k))
        fa = f"{100 * va:.1f}" if va is not None else "-"
        fb = f"{100 * vb:.1f}" if vb is not None else "-"
        gap = f"{100 * (vb - va):+.1f}" if va is not None and vb is not None else "-"
        r = eff.per_k.get(k, "n/a")
        if r is None:
            ratio = f"more than {eff.at_least[k]:.1f}x k samples"
        elif r == "n/a":
            ratio = "-"
        else:
            ratio = f"{r:.1f}x k = {r * k:.0f} samples"
        rows.append((str(k), fa, fb, gap, ratio))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    print(_efficiency_sentence(eff, args.method_a, args.method_b))
    for line in names:
        print(line)
    return rc


def _efficiency_sentence(eff: Any, method_a: str, method_b: str) -> str:
    """The headline, worded so that it cannot be read backwards, with the larger k where
    the baseline never catches up (a ratio read at a small k is not the whole story)."""
    if eff.headline is None:
        k = max(eff.at_least, default=None)
        if k is None:
            return "efficiency: no k where the two curves can be compared"
        return (
            f"efficiency: the baseline A ({method_a}) never reaches B's ({method_b}) accuracy "
            f"within its largest N: at k = {k} it would need more than {eff.at_least[k]:.1f}x "
            f"the samples"
        )
    k, r = eff.headline_k, eff.headline
    if r >= 1:
        text = (
            f"efficiency: the baseline A ({method_a}) needs {r:.1f}x the samples of B "
            f"({method_b}) to match B's accuracy at k = {k} (about {r * k:.0f} samples "
            f"instead of {k}); B is the more sample-efficient"
        )
    else:
        text = (
            f"efficiency: the baseline A ({method_a}) matches B's ({method_b}) accuracy at "
            f"k = {k} with {r:.2f}x the samples (about {r * k:.1f} instead of {k}); A is the "
            f"more sample-efficient"
        )
    beyond = sorted(x for x, v in eff.per_k.items() if v is None and x > k)
    if beyond:
        lo, hi = beyond[0], beyond[-1]
        span = f"k = {lo}" if lo == hi else f"k = {lo} to {hi}"
        text += (
            f"; at {span} A never reaches B within its largest N (at k = {lo} it would need "
            f"more than {eff.at_least[lo]:.1f}x the samples)"
        )
    return text


# ---------------------------------------------------------------------------------------------
# rlv sft / train / sample / demo (torch + transformers, imported when run)


def _add_config_arguments(
    p: argparse.ArgumentParser, *, config_required: bool, print_config: bool = True
) -> None:
    p.add_argument(
        "config",
        metavar="CONFIG.yaml",
        nargs=None if config_required else "?",
        default=None,
        help="YAML configuration (sections: model, data, sft, rl, verify, generation, optim, "
        "train; see docs/training.md)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set rl.algo=rloo --set verify.lambda=0.5 "
        "(repeatable; VALUE is read as YAML)",
    )
    if print_config:
        p.add_argument(
            "--print-config",
            action="store_true",
            help="print the full effective configuration (YAML, every key) and exit; feeding "
            "it back as CONFIG.yaml gives the same configuration",
        )


def _add_run_dir_arguments(p: argparse.ArgumentParser, *, resume: bool = True) -> None:
    g = p.add_mutually_exclusive_group()
    if resume:
        g.add_argument(
            "--resume", action="store_true", help="continue the run already in the directory"
        )
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="the directory holds an earlier run of this command: delete its outputs and "
        "start clean (without --resume or --overwrite such a directory is refused)",
    )


def _load_cfg(args: argparse.Namespace, command: str, base: Any = None) -> Any:
    from rlv.exceptions import ConfigError
    from rlv.training.config import load_config

    try:
        return load_config(args.config, args.overrides, base=base)
    except (ConfigError, FileNotFoundError) as e:
        print(f"rlv {command}: config error: {e}", file=sys.stderr)
        return None


def _print_config(cfg: Any) -> int:
    from rlv.training.config import to_yaml

    sys.stdout.write(to_yaml(cfg))
    return 0


def _run_config(args: argparse.Namespace) -> int:
    cfg = _load_cfg(args, "config")
    return 2 if cfg is None else _print_config(cfg)


def _guarded(command: str, work: Callable[[], int], interrupted: str = "interrupted") -> int:
    """Run a training-side command: a bad config, data file or argument (``ValueError``,
    which ``ConfigError`` and ``DataError`` are), a missing file or an unavailable backend
    is a one-line error and exit code 2; Ctrl-C is exit code 130."""
    try:
        return work()
    except (ValueError, FileNotFoundError, NotImplementedError, BackendUnavailableError) as e:
        print(f"rlv {command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rlv {command}: {interrupted}", file=sys.stderr)
        return 130


def _run_sft(args: argparse.Namespace) -> int:
    cfg = _load_cfg(args, "sft")
    if cfg is None:
        return 2
    if args.print_config:
        return _print_config(cfg)

    def work() -> int:
        from rlv.training.sft import sft

        _, _, out, hist = sft(cfg, overwrite=args.overwrite)
        print(
            f"SFT: {len(hist)} steps, final loss {hist[-1]['loss/sft']:.4f}"
            if hist
            else "SFT: 0 steps"
        )
        print(f"model: {out}")
        return 0

    return _guarded("sft", work)


def _run_train(args: argparse.Namespace) -> int:
    cfg = _load_cfg(args, "train")
    if cfg is None:
        return 2
    if args.print_config:
        return _print_config(cfg)

    def work() -> int:
        from rlv.training.loop import train

        res = train(cfg, resume=args.resume, overwrite=args.overwrite)
        if res.history:
            last = res.history[-1]
            print(
                f"step {cfg.train.steps}: reward {last['reward/mean']:.3f}, verifier AUC "
                f"{last['verifier/auc']:.3f}"
            )
        print(f"run: {res.run_dir}  checkpoint: {res.checkpoint}")
        return 0

    return _guarded("train", work, "interrupted (the last complete checkpoint is kept)")


def _run_sample(args: argparse.Namespace) -> int:
    from rlv.training.checkpoint import saved_config

    try:
        saved = saved_config(args.model)
    except (ValueError, FileNotFoundError) as e:
        print(f"rlv sample: error: {e}", file=sys.stderr)
        return 2
    if saved is None and args.config is None:
        print(
            f"rlv sample: error: {args.model} holds no saved rlv configuration (state.json of "
            "a checkpoint, rlv_config.json of an SFT model), so the task, prompt template, "
            "verifier template, labels and score mode are unknown; pass them as a CONFIG.yaml "
            "(`rlv config > cfg.yaml` writes the defaults to edit)",
            file=sys.stderr,
        )
        return 2
    cfg = _load_cfg(args, "sample", base=saved)
    if cfg is None:
        return 2
    if args.print_config:
        return _print_config(cfg)
    if saved is not None:
        told = " with " + " ".join(args.overrides) if args.overrides else ""
        told = f" and {args.config}{told}" if args.config else told
        print(f"rlv sample: configuration from {args.model}{told}", file=sys.stderr)

    def work() -> int:
        from rlv import models
        from rlv.scaling.dump import sample_dump
        from rlv.tasks import load_problems_file
        from rlv.training.setup import (
            build_verifier,
            close_backend,
            load_problems,
            make_generation_backend,
            resolve_device,
            sampling_params,
            seed_everything,
        )

        if args.n < 1:
            raise ValueError(f"--n must be >= 1, got {args.n}")
        if args.force_answer and args.budgets is None:
            raise ValueError("--force-answer needs --budgets")
        device = resolve_device(cfg.train.device)
        seed_everything(args.seed)
        if args.data is not None:
            problems = load_problems_file(
                args.data,
                prompt_field=cfg.data.prompt_field,
                gold_field=cfg.data.gold_field,
                id_field=cfg.data.id_field,
                prompt_template=cfg.data.prompt_template,
            )
        else:
            problems = load_problems(cfg, "eval")
        if args.limit is not None:
            problems = problems[: args.limit]
        name = args.backend or cfg.generation.backend
        if name == "vllm":  # vLLM reads the weights itself: no transformers copy
            model, tok = None, models.load_tokenizer(args.model)
            backend = make_generation_backend(cfg, None, tok, name=name, model_dir=args.model)
        else:
            model, tok = models.load(args.model, device=device)
            backend = make_generation_backend(cfg, model, tok, name=name)
        verifier = build_verifier(cfg, tok)
        forcing = None
        if args.force_answer:
            from rlv.scaling.budgets import BudgetForcing

            given = {
                "think_start": args.think_start,
                "think_end": args.think_end,
                "cue": args.force_cue,
                "max_tokens": args.force_tokens,
            }
            forcing = BudgetForcing(**{k: v for k, v in given.items() if v is not None})
        try:
            stats = sample_dump(
                backend,
                verifier,
                problems,
                args.out,
                params=sampling_params(cfg, verifier, n=args.n),
                score=cfg.verify.score,
                progress=cfg.train.progress,
                budgets=args.budgets,
                forcing=forcing,
            )
        finally:
            close_backend(backend)
        print(
            f"{stats.samples} samples for {stats.problems} problems -> {args.out} "
            f"({stats.samples_per_s:.1f} samples/s; verifier scoring = "
            f"{100 * stats.score_overhead:.1f}% of generation time)"
        )
        return 0

    return _guarded("sample", work, "interrupted (no partial dump written)")


def _run_demo(args: argparse.Namespace) -> int:
    if args.print_config:
        from rlv.demo import demo_config
        from rlv.exceptions import ConfigError

        try:
            return _print_config(demo_config(args.overrides, seed=args.seed))
        except ConfigError as e:
            print(f"rlv demo: config error: {e}", file=sys.stderr)
            return 2

    def work() -> int:
        from rlv.demo import format_summary, run_demo

        try:
            rep = run_demo(
                args.out,
                seed=args.seed,
                baseline=args.baseline,
                overrides=args.overrides,
                resume=args.resume,
                overwrite=args.overwrite,
            )
        except ImportError as e:
            print(f"rlv demo: error: {e}", file=sys.stderr)
            return 2
        print(format_summary(rep))
        print(f"report: {args.out}/report.json  plot: {args.out}/curves.png")
        return 0

    return _guarded("demo", work, "interrupted (the output directory stays marked incomplete)")


def _add_training_commands(sub: Any) -> None:
    s = sub.add_parser(
        "sft",
        help="supervised warm start on the task's demonstration solutions",
        description="Fine-tune the model on the problems' demonstration solutions (optionally "
        "with a verifier warm start, sft.verify_lambda). Writes RUN_DIR/model.",
    )
    _add_config_arguments(s, config_required=False)
    _add_run_dir_arguments(s, resume=False)
    t = sub.add_parser(
        "train",
        help="RL^V training (GRPO / Dr. GRPO / RLOO + generative verifier)",
        description="Train one model as reasoner and verifier: value-free RL plus lambda x the "
        "Yes/No verification loss on the same rollouts. Metrics go to RUN_DIR/metrics.jsonl, "
        "checkpoints to RUN_DIR/checkpoints.",
    )
    _add_config_arguments(t, config_required=False)
    _add_run_dir_arguments(t)
    sm = sub.add_parser(
        "sample",
        help="sample N completions per problem with verifier scores (a rescore dump)",
        description="Sample N completions per problem from a model directory, score each with "
        "the model's own P(Yes), and write an `rlv rescore` dump (one row per problem). The "
        "task, prompt template, verifier settings, score mode and generation settings come "
        "from the configuration saved with the model (a checkpoint's state.json, an SFT "
        "model's rlv_config.json); CONFIG.yaml and --set override them. A model without a "
        "saved configuration needs CONFIG.yaml.",
    )
    sm.add_argument(
        "--model", required=True, help="a checkpoint or model directory (Hugging Face format)"
    )
    sm.add_argument(
        "--data",
        default=None,
        help="problems (JSONL, Parquet or a saved HF dataset directory; MATH/GSM8K style); "
        "default: the config's held-out problems",
    )
    sm.add_argument("--n", type=int, default=64, help="samples per problem (default: %(default)s)")
    sm.add_argument("--out", required=True, help="output dump (.jsonl)")
    sm.add_argument("--limit", type=int, default=None, help="only the first N problems")
    sm.add_argument("--seed", type=int, default=0, help="sampling seed (default: %(default)s)")
    sm.add_argument(
        "--backend",
        choices=("transformers", "vllm"),
        default=None,
        help="generation backend (default: the config's generation.backend)",
    )
    sm.add_argument(
        "--budgets",
        type=_budgets,
        default=None,
        metavar="L1,L2,...",
        help="token budgets: generate once at the largest, cut at every budget, score every "
        "cut (a budget dump for `rlv lengths`)",
    )
    sm.add_argument(
        "--force-answer",
        action="store_true",
        help="budget forcing: a cut inside <think> gets </think> + --force-cue and the model "
        "finishes the answer in at most --force-tokens tokens",
    )
    sm.add_argument(
        "--force-cue",
        default="\nFinal answer: \\boxed{",
        help="answer cue after the closing tag (default: %(default)r)",
    )
    sm.add_argument("--force-tokens", type=int, default=16, help="extra budget of a forced answer")
    sm.add_argument("--think-start", default="<think>", help="opening reasoning tag")
    sm.add_argument("--think-end", default="</think>", help="closing reasoning tag")
    _add_config_arguments(sm, config_required=False)
    sm.set_defaults(config=None)
    d = sub.add_parser(
        "demo",
        help="the whole RL^V pipeline on CPU on a built-in task (no downloads)",
        description="Build a tiny model, SFT warm start, then from the same SFT model: RL^V "
        "(GRPO^V) and base RL (lambda = 0, same budget) plus a separately trained verifier on "
        "base RL's rollouts; sample 32 per held-out problem, score each with the verifiers, "
        "print the scaling tables, the comparison in plain words, and the plot (accuracy vs "
        "samples and vs tokens).",
    )
    d.add_argument("--out", default="rlv-demo", help="output directory (default: %(default)s)")
    d.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    d.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train the base RL (lambda = 0) and separate-verifier baselines (default: on; "
        "--no-baseline runs RL^V alone, about half the time)",
    )
    _add_run_dir_arguments(d)
    d.add_argument(
        "--print-config",
        action="store_true",
        help="print the demo's full configuration (YAML) and exit",
    )
    d.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a demo setting (see rlv.demo.DEMO_PRESET)",
    )
    cf = sub.add_parser(
        "config",
        help="print the full effective training configuration (YAML)",
        description="Print every configuration key with its effective value: the defaults, "
        "then CONFIG.yaml, then --set. The output is a valid CONFIG.yaml giving the same run "
        "configuration.",
    )
    _add_config_arguments(cf, config_required=False, print_config=False)


# ---------------------------------------------------------------------------------------------
# entry point


def build_parser(*, conformance: ModuleType | None = None) -> argparse.ArgumentParser:
    """The argument parser (``conformance``: the module providing that subcommand's options)."""
    parser = argparse.ArgumentParser(
        prog="rlv", description="RL^V tooling: fast math-answer grading with a Rust core."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    g = sub.add_parser(
        "grade",
        help="grade one completion against a gold answer, print the verdict as JSON",
        description="Grade one completion against a gold answer and print the verdict as JSON.",
    )
    g.add_argument("text", metavar="TEXT", help="the completion, or - to read it from stdin")
    g.add_argument("--gold", required=True, help="the gold answer (bare, \\boxed{} or #### N)")
    _add_grading_options(g)
    g.add_argument("--indent", type=int, default=None, help="pretty-print the JSON")

    c = sub.add_parser(
        "conformance",
        help="run grading conformance corpora (default: the embedded corpus)",
        description="Run grading conformance corpora (JSONL) and report the pass rate. "
        "With no FILE, runs the corpus embedded in rlv.",
    )
    _add_conformance_arguments(c, conformance)

    r = sub.add_parser(
        "rescore",
        help="votes and test-time-scaling curves from sample dumps",
        description="Read sample dumps, grade and cluster the answers, vote (majority, "
        "verifier-weighted, Best-of-N) and print pass@k / majority@k / weighted@k / "
        "Best-of-k curves; optionally write a JSON report, a plot and per-problem decisions.",
    )
    _add_rescore_arguments(r)
    cmp = sub.add_parser(
        "compare",
        help="efficiency ratio and accuracy gaps between two rescore reports",
        description="How many times more samples run A needs to match run B (read on the "
        "log2(N) axis), and the accuracy gap per k.",
    )
    _add_compare_arguments(cmp)
    ln = sub.add_parser(
        "lengths",
        help="length selection by verifier confidence from budget dumps",
        description="Read budget dumps (rlv sample --budgets), and for each pool size k: "
        "fixed-budget majority and weighted voting, and the confidence-selected length "
        "(stop at the first budget whose weighted vote reaches confidence tau) for a sweep of "
        "tau, as accuracy vs mean tokens per sample (generation + verification). See "
        "docs/scaling-length.md.",
    )
    _add_lengths_arguments(ln)
    _add_training_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (141 where the reader of stdout went away
    early, as for a tool killed by a closed pipe: ``rlv rescore ... | head``; every file the
    command writes is written before its first line of output)."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's last flush cannot raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13  # SIGPIPE


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    wants_conformance = "conformance" in args_list[:1]
    module = _conformance_module() if wants_conformance else None
    args = build_parser(conformance=module).parse_args(args_list)
    if args.command == "grade":
        return _run_grade(args)
    if args.command == "conformance":
        return _run_conformance(args, module)
    if args.command == "rescore":
        return _run_rescore(args)
    if args.command == "compare":
        return _run_compare(args)
    if args.command == "lengths":
        return _run_lengths(args)
    runners = {
        "sft": _run_sft,
        "train": _run_train,
        "sample": _run_sample,
        "demo": _run_demo,
        "config": _run_config,
    }
    if args.command in runners:
        return runners[args.command](args)
    raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
