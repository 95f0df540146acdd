"""`rlv rescore`: formats and layouts round-trip to the same report, bad rows give clear
errors (or are counted), field mapping, the CLI, and classes equal to pairwise is_equiv."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import rlv
from rlv.exceptions import DumpError
from rlv.scaling.rescore import format_table, rescore

ROOT = Path(__file__).resolve().parents[1]
KS = [1, 2, 4, 8, 16]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_dump", ROOT / "benches" / "gen_dump.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def problems(gen: ModuleType, shared_file: Callable[..., Path]) -> list[dict[str, Any]]:
    # The generator draws its golds from MATH-500 (shared data; the test skips without it).
    math500 = shared_file("data", "math", "test.jsonl")
    return list(gen.generate(24, 16, seed=5, math_path=math500))


def curves(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in ("problems", "samples", "invalid", "curves", "ci", "full_pool")}


def test_round_trips_give_the_same_report(
    gen: ModuleType, problems: list[dict[str, Any]], tmp_path: Path
) -> None:
    reports = {}
    for layout in ("per-problem", "per-sample"):
        for suffix in (".jsonl", ".jsonl.gz", ".jsonl.zst", ".parquet"):
            path = tmp_path / f"{layout}{suffix}"
            gen.write(iter(problems), path, layout)
            reports[(layout, suffix)] = rescore([path], ks=KS, subsets=50, seed=1)
    first = next(iter(reports.values()))
    assert first["problems"] == 24 and first["samples"] == 24 * 16
    assert set(first["curves"]) == {"pass", "majority", "weighted", "best_of_n"}
    for key, rep in reports.items():
        assert curves(rep) == curves(first), key
    assert reports[("per-sample", ".jsonl.zst")]["settings"]["compressions"] == ["zstd"]
    assert reports[("per-problem", ".parquet")]["settings"]["layouts"] == ["per-problem"]


def test_report_contract(gen: ModuleType, problems: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    gen.write(iter(problems), path, "per-problem")
    rep = rescore([path], ks=KS, subsets=20)
    json.dumps(rep)  # serialisable
    for key in ("problems", "samples", "invalid", "curves", "ci", "settings", "full_pool"):
        assert key in rep
    for method, curve in rep["curves"].items():
        assert set(curve) == {str(k) for k in KS}, method
        assert all(0.0 <= v <= 1.0 for v in curve.values())
        for k, (lo, hi) in rep["ci"][method].items():
            assert lo <= curve[k] <= hi
    assert rep["settings"]["seed"] == 0 and rep["settings"]["subsets"] == 20
    assert "k" in format_table(rep)


def test_no_scores_omits_score_methods(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [
        {"problem_id": i, "gold": "2", "completions": ["\\boxed{2}", "\\boxed{3}"]}
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rep = rescore([path], ks=[1, 2])
    assert set(rep["curves"]) == {"pass", "majority"}
    assert rep["curves"]["pass"]["2"] == 1.0
    assert rep["curves"]["majority"]["2"] == 0.5  # a 1-1 tie: credit 1/2


def test_files_continue_problem_numbering(
    problems: list[dict[str, Any]], gen: ModuleType, tmp_path: Path
) -> None:
    whole, a, b = tmp_path / "all.jsonl", tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    gen.write(iter(problems), whole, "per-problem")
    gen.write(iter(problems[:10]), a, "per-problem")
    gen.write(iter(problems[10:]), b, "per-sample")
    ref = curves(rescore([whole], ks=KS))
    # Different chunking sums the per-problem estimates in a different order: equal to
    # rounding; the thread count changes nothing at all.
    assert_close(curves(rescore([a, b], ks=KS)), ref)
    assert_close(curves(rescore([whole], ks=KS, chunk_bytes=4096)), ref)
    assert curves(rescore([whole], ks=KS, num_threads=1)) == curves(
        rescore([whole], ks=KS, num_threads=2)
    )


def assert_close(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_close(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_close(x, y)
    else:
        assert a == pytest.approx(b, rel=1e-12, abs=1e-14)


BAD = [
    ('{"problem_id": 1, "gold": "2", "completions": ["a"]', None, "malformed JSON"),
    ('{"problem_id": 1, "completions": ["a"]}', "gold", "missing"),
    ('{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": [1.5]}', "scores", "outside"),
    ('{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": [NaN]}', None, "NaN"),
    (
        '{"problem_id": 1, "gold": "2", "completions": ["a", "b"], "scores": [0.5]}',
        "scores",
        "1 scores for 2",
    ),
    ('{"problem_id": 1, "gold": "2", "completions": "a"}', "completions", "expected a list"),
    (
        '{"problem_id": 1, "gold": "2", "completions": ["a"], "scores": ["x"]}',
        "scores",
        "got a string",
    ),
    ('{"problem_id": 1, "gold": "\\\\frac{", "completions": ["a"]}', "gold", "cannot be read"),
    ("[1, 2]", None, "JSON object"),
]


@pytest.mark.parametrize(("line", "field", "message"), BAD)
def test_bad_rows_name_file_line_and_field(
    tmp_path: Path, line: str, field: str | None, message: str
) -> None:
    good = json.dumps(
        {"problem_id": 0, "gold": "2", "completions": ["\\boxed{2}"], "scores": [0.5]}
    )
    path = tmp_path / "bad.jsonl"
    path.write_text(
        good + "\n" + line + "\n" + good.replace('"problem_id": 0', '"problem_id": 9') + "\n"
    )
    with pytest.raises(DumpError) as e:
        rescore([path], ks=[1], layout="per-problem")
    text = str(e.value)
    assert f"{path}:2:" in text and message in text
    if field is not None:
        assert f'field "{field}"' in text
    rep = rescore([path], ks=[1], layout="per-problem", skip_invalid=True)
    assert rep["problems"] == 2 and rep["invalid"] == 1
    assert rep["invalid_rows"][0]["line"] == 2 and message in rep["invalid_rows"][0]["message"]


def test_per_sample_rows_must_be_contiguous(tmp_path: Path) -> None:
    rows = [("a", "1"), ("b", "1"), ("a", "1")]
    path = tmp_path / "ps.jsonl"
    path.write_text(
        "".join(
            json.dumps({"problem_id": p, "gold": g, "completion": "\\boxed{1}"}) + "\n"
            for p, g in rows
        )
    )
    with pytest.raises(DumpError, match=r"ps.jsonl:3: .*contiguous"):
        rescore([path], ks=[1])
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        json.dumps({"problem_id": "a", "gold": "1", "completion": "x", "score": 0.5})
        + "\n"
        + json.dumps({"problem_id": "a", "gold": "1", "completion": "x"})
        + "\n"
    )
    with pytest.raises(DumpError, match="some rows of problem"):
        rescore([mixed], ks=[1])


def test_field_mapping_qwen_and_search_and_learn(tmp_path: Path) -> None:
    qwen = tmp_path / "qwen.jsonl"
    qwen.write_text(
        json.dumps(
            {
                "idx": 0,
                "gt": "\\frac{1}{2}",
                "code": ["... \\boxed{0.5}", "\\boxed{2}", "\\boxed{1/2}"],
                "pred": ["0.5", "2", "1/2"],
            }
        )
        + "\n"
    )
    for fields in (
        {"problem_id": "idx", "gold": "gt", "completions": "code"},
        {"problem_id": "idx", "gold": "gt", "answers": "pred"},
    ):
        rep = rescore([qwen], ks=[1, 3], fields=fields)
        assert rep["curves"]["majority"]["3"] == 1.0 and rep["curves"]["pass"][
            "1"
        ] == pytest.approx(2 / 3)
    sal = tmp_path / "sal.jsonl.gz"
    with gzip.open(sal, "wt") as f:
        row = {
            "problem": "p",
            "answer": "3",
            "completions": ["\\boxed{3}", "\\boxed{4}", "\\boxed{4}"],
            "scores": [[0.2, 0.9], [0.9, 0.1], [0.5, 0.2]],
        }
        f.write(json.dumps(row) + "\n")
    # Read as rlv's own format, a list score needs a rule (search-and-learn's preset says
    # `last`, see test_rescore_formats.py).
    with pytest.raises(DumpError, match="--score-agg last"):
        rescore([sal], ks=[1], fields={"gold": "answer"}, format="rlv")
    last = rescore([sal], ks=[3], fields={"gold": "answer"}, score_agg="last")
    assert last["curves"]["weighted"]["3"] == 1.0  # 0.9 vs 0.1 + 0.2
    assert last["curves"]["majority"]["3"] == 0.0
    mn = rescore([sal], ks=[3], fields={"gold": "answer"}, score_agg="min")
    assert mn["curves"]["weighted"]["3"] == 0.0  # min: 0.2 for "3" vs 0.1 + 0.2 for "4"
    nested = tmp_path / "nested.jsonl"
    nested.write_text(
        json.dumps(
            {
                "id": 1,
                "answer": "5",
                "completions": ["\\boxed{5}", "\\boxed{6}"],
                "verifier": {"p_yes": [0.9, 0.1]},
            }
        )
        + "\n"
    )
    rep = rescore(
        [nested], ks=[2], fields={"problem_id": "id", "gold": "answer", "scores": "verifier.p_yes"}
    )
    assert rep["curves"]["best_of_n"]["2"] == 1.0


def test_unknown_field_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="field"):
        rescore([tmp_path], ks=[1], fields={"nope": "x"})
    with pytest.raises(OSError):
        rescore([tmp_path / "missing.jsonl"], ks=[1])


def test_majority_class_matches_pairwise_is_equiv(
    problems: list[dict[str, Any]], tmp_path: Path
) -> None:
    """Acceptance: the majority vote's class equals grouping answers by rlv.is_equiv."""
    from test_votes import pairwise_components

    path = tmp_path / "d.jsonl"
    with open(path, "w") as f:
        for p in problems[:12]:
            f.write(json.dumps(p) + "\n")
    dec = tmp_path / "dec.jsonl"
    rescore([path], ks=[1], decisions=dec)
    decisions = [json.loads(line) for line in dec.read_text().splitlines()]
    for p, d in zip(problems[:12], decisions, strict=True):
        answers = [rlv.extract_answer(c) for c in p["completions"]]
        idx = [i for i, a in enumerate(answers) if a]
        comps = pairwise_components([answers[i] for i in idx])
        biggest = max(len(c) for c in comps)
        winners = [c for c in comps if len(c) == biggest]
        first = min(idx[min(c)] for c in winners)
        assert d["majority"]["sample"] == first, p["problem_id"]
        assert d["majority"]["support"] == biggest


def test_cli_rescore_and_compare(
    gen: ModuleType,
    problems: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rlv.cli import main

    path = tmp_path / "d.jsonl.gz"
    gen.write(iter(problems), path, "per-sample")
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    assert (
        main(
            [
                "rescore",
                str(path),
                "--ks",
                "1,2,4,8,16",
                "--out",
                str(out),
                "--plot",
                str(png),
                "--quiet",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "majority" in text and "24 problems" in text
    assert png.stat().st_size > 1000
    assert json.loads(out.read_text())["problems"] == 24
    assert main(["compare", str(out), str(out)]) == 0
    text = capsys.readouterr().out
    assert "efficiency" in text
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{\n")
    assert main(["rescore", str(bad), "--quiet"]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err


def test_cli_closed_pipe_keeps_the_report(tmp_path: Path) -> None:
    """``rlv rescore ... --out r.json | head``: the reader is gone before the first line; the
    report is on disk, the exit code is the closed pipe's (141), and no traceback."""
    path = tmp_path / "d.jsonl"
    rows = [
        {"problem_id": i, "gold": str(i), "completions": [f"\\boxed{{{i}}}", "\\boxed{0}"]}
        for i in range(2_000)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "rlv", "rescore", str(path), "--out", str(out), "--quiet"]
    with (tmp_path / "err.txt").open("w+") as errf:
        env = {**os.environ, "PYTHONPATH": str(Path(rlv.__file__).parents[1])}  # this rlv
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, env=env)
        assert proc.stdout is not None
        proc.stdout.close()  # before the command has read its dump, let alone printed
        rc = proc.wait(timeout=120)
        errf.seek(0)
        err = errf.read()
    assert rc == 141, err
    assert "Traceback" not in err
    assert json.loads(out.read_text())["problems"] == 2_000


def test_cli_plot_without_matplotlib_keeps_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rlv.cli import main

    path = tmp_path / "d.jsonl"
    row = {"problem_id": 0, "gold": "2", "completions": ["2", "3"], "scores": [0.9, 0.1]}
    path.write_text(json.dumps(row) + "\n")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "r.json"
    args = ["rescore", str(path), "--quiet", "--out", str(out), "--plot", str(tmp_path / "p.png")]
    assert main(args) == 2
    cap = capsys.readouterr()
    assert "matplotlib" in cap.err and "full pool" in cap.out
    assert json.loads(out.read_text())["problems"] == 1
    assert not (tmp_path / "p.png").exists()
    assert main(["compare", str(out), str(out), "--plot", str(tmp_path / "c.png")]) == 2
    cap = capsys.readouterr()
    assert "rlv compare: error" in cap.err and "matplotlib" in cap.err and "efficiency" in cap.out


def test_hedged_answers_never_win(tmp_path: Path) -> None:
    # `\boxed{2} or \boxed{3}` offers two values: in a dump it has no answer (as `rlv.grade`
    # never rewards it), while two forms of one value count as that value.
    path = tmp_path / "d.jsonl"
    rows = [
        {"problem_id": 0, "gold": "3", "completions": ["\\boxed{2} or \\boxed{3}"]},
        {"problem_id": 1, "gold": "2, 3", "completions": ["\\boxed{2} or \\boxed{3}"]},
        {"problem_id": 2, "gold": "0.5", "completions": ["\\boxed{\\frac12} or \\boxed{0.5}"]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rep = rescore([path], ks=[1])
    assert rep["curves"]["pass"]["1"] == pytest.approx(1 / 3)
    assert rep["curves"]["majority"]["1"] == pytest.approx(1 / 3)
    for row in rows:
        assert rlv.grade(row["completions"][0], row["gold"]).correct == (row["problem_id"] == 2)


@pytest.mark.parametrize("layout", ["per-problem", "per-sample"])
def test_parquet_codecs_give_the_jsonl_report(
    problems: list[dict[str, Any]], tmp_path: Path, layout: str
) -> None:
    """Parquet is read by the Rust core (no temporary file, no Python reader): every codec
    gives exactly the report of the JSONL dump with the same rows (all but timing and the
    file's own name and compression)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    if layout == "per-problem":
        rows: list[dict[str, Any]] = list(problems)
    else:
        rows = [
            {"problem_id": p["problem_id"], "gold": p["gold"], "completion": c, "score": s}
            for p in problems
            for c, s in zip(p["completions"], p["scores"], strict=True)
        ]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    def comparable(report: dict[str, Any]) -> dict[str, Any]:
        report = json.loads(json.dumps(report))
        for key in ("elapsed_s", "samples_per_s"):
            report.pop(key)
        settings = report["settings"]
        settings.pop("files")
        settings.pop("compressions")
        for f in settings["formats"]:
            f.pop("file")
        return report

    want = rescore([jsonl], ks=KS, subsets=30, seed=3)
    assert want["settings"]["compressions"] == ["none"]
    table = pa.Table.from_pylist(rows)
    for codec in ("snappy", "zstd", "gzip", "none"):
        path = tmp_path / f"d-{codec}.parquet"
        # Small row groups: chunks and row numbers cross row-group boundaries.
        pq.write_table(table, path, compression=codec, row_group_size=37)
        got = rescore([path], ks=KS, subsets=30, seed=3)
        assert got["settings"]["compressions"] == ["parquet"], codec
        assert comparable(got) == comparable(want), codec
    # Small chunks (one or a few rows each) change nothing either.
    got = rescore([tmp_path / "d-snappy.parquet"], ks=KS, subsets=30, seed=3, chunk_bytes=1)
    assert comparable(got) == comparable(want)


def test_parquet_errors_name_the_file_and_row(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [
        {"problem_id": "a", "gold": "1", "completions": ["\\boxed{1}"], "scores": [0.5]},
        {"problem_id": "b", "gold": "2", "completions": ["\\boxed{2}"], "scores": [1.5]},
    ]
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    with pytest.raises(DumpError, match=r"bad\.parquet:2: field \"scores\""):
        rescore([path])
    rep = rescore([path], skip_invalid=True)
    assert rep["problems"] == 1 and rep["invalid"] == 1
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DumpError, match="not a readable Parquet file"):
        rescore([broken])


@pytest.mark.parametrize("subsets", [0, -1])
def test_subsets_must_be_positive(tmp_path: Path, subsets: int) -> None:
    """No silent clamp: R < 1 random subsets is an error, not a report that says 0."""
    path = tmp_path / "pp.jsonl"
    row = {"problem_id": "p", "gold": "1", "completions": ["\\boxed{1}", "\\boxed{2}"]}
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises((ValueError, OverflowError), match="subsets|negative|unsigned"):
        rescore([path], ks=[1, 2], subsets=subsets, progress=False)
