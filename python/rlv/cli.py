"""The ``rlv`` command line (also ``python -m rlv``).

Subcommands:

* ``rlv grade --gold G [options] TEXT``: grade one completion (``-`` reads it from stdin) and
  print the verdict as JSON.
* ``rlv conformance [FILE.jsonl ...]``: run grading conformance corpora (default: the corpus
  embedded in the package, ``rlv/data/grading_cases.jsonl``) and report the pass rate.

This module imports only the standard library at start-up; rlv's compiled core (and numpy) is
imported by the subcommand that needs it, and torch/vLLM never.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from types import ModuleType

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


def _run_grade(args: argparse.Namespace) -> int:
    import rlv

    text = sys.stdin.read() if args.text == "-" else args.text
    gold = sys.stdin.read() if args.gold == "-" and args.text != "-" else args.gold
    options = {
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
    try:
        verdict = rlv.grade(text, gold, **options)
    except ValueError as e:
        print(f"rlv grade: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=args.indent))
    return 0


# ---------------------------------------------------------------------------------------------
# rlv conformance (implemented in rlv.conformance; imported only for this subcommand)


def _conformance_module() -> ModuleType | None:
    try:
        return importlib.import_module("rlv.conformance")
    except ModuleNotFoundError as e:
        if e.name != "rlv.conformance":
            raise
        return None


def _add_conformance_arguments(p: argparse.ArgumentParser, module: ModuleType | None) -> None:
    if module is not None and hasattr(module, "add_arguments"):
        module.add_arguments(p)
        return
    # Documented interface, used for --help when rlv.conformance is unavailable.
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
            "rlv conformance: error: the rlv.conformance module is not available", file=sys.stderr
        )
        return 2
    if getattr(args, "files", None) == []:
        from rlv.data import default_cases_path

        args.files = [str(default_cases_path())]
    runner = getattr(module, "run", None) or module.main_conformance
    return int(runner(args))


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    wants_conformance = "conformance" in args_list[:1]
    module = _conformance_module() if wants_conformance else None
    args = build_parser(conformance=module).parse_args(args_list)
    if args.command == "grade":
        return _run_grade(args)
    if args.command == "conformance":
        return _run_conformance(args, module)
    raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
