#!/usr/bin/env python3
"""`rlv rescore` vs plain Python `json.loads` of every line of the same dump.

Generates (once, under --dir) the benchmark dump of the rescore issue: 2,000 problems x 512
samples of ~300-byte MATH-style completions (``benches/gen_dump.py``), in both layouts (one
row per problem, one row per sample). For each layout it times, in this one run:

* the baseline: ``for line in open(path, "rb"): json.loads(line)`` (best of --repeats);
* ``rlv.scaling.rescore.rescore`` with every estimator for k = 1 ... 512 and R = 100 subsets (best of
  --repeats), in a child process whose peak RSS is measured.

The ratio is rescore time / baseline time (target: <= 1.0; peak memory target: < 1 GiB).
``--check-classes N`` also checks, on N problems of the dump, that the majority vote's class
is the largest connected component of pairwise ``rlv.is_equiv`` over the answers.

    python benches/bench_rescore.py --dir /tmp/dumps --repeats 3
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KS = "1,2,4,8,16,32,64,128,256,512"

CHILD = """
import json, resource, sys, time
from rlv.scaling.rescore import rescore
t = time.perf_counter()
rep = rescore([sys.argv[1]], ks=[int(k) for k in sys.argv[2].split(",")], subsets=100,
              num_threads=int(sys.argv[3]) if sys.argv[3] != "0" else None)
el = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"elapsed": el, "rss": rss, "problems": rep["problems"],
                  "samples": rep["samples"], "majority_512": rep["curves"]["majority"]["512"]}))
"""


def gen_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_dump", HERE / "gen_dump.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def baseline(path: Path) -> float:
    t = time.perf_counter()
    with open(path, "rb") as f:
        for line in f:
            json.loads(line)
    return time.perf_counter() - t


def rescore_child(path: Path, threads: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), KS, str(threads)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def check_classes(path: Path, n: int) -> tuple[int, int]:
    import rlv

    ok = 0
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as dec:
        from rlv.scaling.rescore import rescore

        rows = []
        with open(path) as f:
            for _ in range(n):
                rows.append(json.loads(f.readline()))
        small = Path(dec.name + ".in.jsonl")
        small.write_text("".join(json.dumps(r) + "\n" for r in rows))
        rescore([small], ks=[1], decisions=dec.name)
        decisions = [json.loads(x) for x in Path(dec.name).read_text().splitlines()]
        small.unlink()
    for row, d in zip(rows, decisions, strict=True):
        answers = [rlv.extract_answer(c) for c in row["completions"]]
        idx = [i for i, a in enumerate(answers) if a]
        parent = list(range(len(idx)))

        def find(x: int, parent: list[int] = parent) -> int:
            while parent[x] != x:
                x = parent[x]
            return x

        for i in range(len(idx)):
            for j in range(i + 1, len(idx)):
                if find(i) != find(j) and rlv.is_equiv(answers[idx[i]], answers[idx[j]]):
                    parent[find(j)] = find(i)
        comps: dict[int, list[int]] = {}
        for i in range(len(idx)):
            comps.setdefault(find(i), []).append(idx[i])
        big = max(len(c) for c in comps.values())
        first = min(min(c) for c in comps.values() if len(c) == big)
        ok += d["majority"]["sample"] == first and d["majority"]["support"] == big
    return ok, len(rows)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--dir", default="/tmp/dumps", help="where the dumps are (generated if missing)"
    )
    ap.add_argument("--problems", type=int, default=2000)
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="rescore threads (0: all cores)")
    ap.add_argument("--check-classes", type=int, default=0, metavar="N")
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    gd = gen_module()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )
    rows = []
    for layout in ("per-problem", "per-sample"):
        path = d / f"{layout}.jsonl"
        if not path.exists():
            print(f"generating {path} ...", file=sys.stderr)
            gd.write(gd.generate(args.problems, args.samples, seed=0), path, layout)
        base = min(baseline(path) for _ in range(args.repeats))
        runs = [rescore_child(path, args.threads) for _ in range(args.repeats)]
        best = min(runs, key=lambda r: r["elapsed"])
        rows.append(
            (
                layout,
                path.stat().st_size,
                best["samples"],
                base,
                best["elapsed"],
                max(r["rss"] for r in runs),
            )
        )
    print()
    print("| layout | file | samples | json.loads (s) | rlv rescore (s) | ratio | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for layout, size, samples, base, el, rss in rows:
        print(
            f"| {layout} | {size / 1e6:.0f} MB | {samples:,} | {base:.2f} | {el:.2f} | "
            f"{el / base:.2f} | {rss / 2**20:.0f} MiB |"
        )
    if args.check_classes:
        t = time.perf_counter()
        ok, n = check_classes(d / "per-problem.jsonl", args.check_classes)
        print(
            f"\nmajority class == pairwise is_equiv grouping: {ok}/{n} problems "
            f"({time.perf_counter() - t:.0f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
