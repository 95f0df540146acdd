"""`rlv rescore` reads other tools' dumps without `--field` (format detection), never lets an
answer field silently override a completion, says so loudly when a mapping leaves nothing to
score, refuses empty input, and `rlv compare` cannot be misread.

Every dump here is hand-written in the layout its tool writes (field names checked against
the tools' sources: search-and-learn `save_dataset`, Qwen2.5-Math `math_eval.py`,
lm-evaluation-harness `--log_samples`, verl `trainer.validation_data_dir`)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlv.cli import main
from rlv.exceptions import DumpError
from rlv.scaling.rescore import rescore


def write(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def fmt(report: dict[str, Any]) -> dict[str, Any]:
    (f,) = report["settings"]["formats"]
    return dict(f)


# ---------------------------------------------------------------------------------------
# Format detection (issue 20): each tool's layout, no --field


def sal_rows() -> list[dict[str, Any]]:
    """search-and-learn `save_dataset`: the MATH-500 row (`problem`, `answer` = gold,
    `unique_id`, ...), `completions`, per-step PRM `scores`, `pred`, `agg_scores`."""
    return [
        {
            "problem": "What is 1+2?",
            "solution": "1+2=3, so \\boxed{3}.",
            "answer": "3",
            "subject": "Prealgebra",
            "level": 1,
            "unique_id": "test/prealgebra/1.json",
            "completions": ["## Step 1: \\boxed{3}", "\\boxed{4}", "so \\boxed{4}"],
            "scores": [[0.2, 0.9], [0.9, 0.1], [0.5, 0.2]],
            "pred": "\\boxed{3}",
            "completion_tokens": [12, 9, 11],
            "agg_scores": [0.9, 0.1, 0.2],
            "pred_weighted@1": "\\boxed{3}",
            "pred_maj@1": "\\boxed{3}",
            "pred_naive@1": "\\boxed{3}",
        },
        {
            "problem": "What is 2+2?",
            "solution": "\\boxed{4}",
            "answer": "4",
            "subject": "Prealgebra",
            "level": 1,
            "unique_id": "test/prealgebra/2.json",
            "completions": ["\\boxed{4}", "\\boxed{5}", "\\boxed{4}"],
            "scores": [[0.3, 0.8], [0.9, 0.95], [0.1, 0.4]],
            "pred": "\\boxed{4}",
            "completion_tokens": [5, 5, 5],
            "agg_scores": [0.8, 0.95, 0.4],
        },
    ]


def test_search_and_learn_dump_is_detected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "best_of_n_completions.jsonl.gz", sal_rows())
    rep = rescore([path], ks=[1, 3])
    f = fmt(rep)
    assert f["format"] == "search-and-learn" and f["detected"]
    assert f["fields"]["gold"] == "answer" and f["fields"]["problem_id"] == "unique_id"
    assert "answer" not in f["fields"] and "answers" not in f["fields"]  # `answer` is the gold
    assert f["score_agg"] == "last" and f["score_agg_from_format"]
    assert rep["problems"] == 2 and rep["answered"] == 6 and rep["correct_samples"] == 3
    # Problem 1: weighted by last step score: "3" 0.9 vs "4" 0.1 + 0.2 -> correct; majority
    # "4" -> wrong. Problem 2: "4" 0.8 + 0.4 vs "5" 0.95 -> correct; majority "4" correct.
    assert rep["full_pool"] == {"majority": 0.5, "weighted": 1.0, "best_of_n": 0.5}
    # An explicit --score-agg wins over the preset.
    mn = rescore([path], ks=[3], score_agg="min")
    # min: problem 1 "3" 0.2 vs "4" 0.1 + 0.2; problem 2 "4" 0.3 + 0.1 vs "5" 0.9.
    assert not fmt(mn)["score_agg_from_format"] and mn["full_pool"]["weighted"] == 0.0
    rc, out, _ = cli(capsys, "rescore", str(path), "--ks", "1,3", "--quiet")
    assert rc == 0
    first = out.splitlines()[0]
    assert "format search-and-learn (detected)" in first and "gold=answer" in first
    assert "--score-agg last" in first
    assert out.index("format search-and-learn") < out.index("pass@k")


def qwen_rows() -> list[dict[str, Any]]:
    """Qwen2.5-Math `math_eval.py` with --n_sampling: `idx`, `question`, `gt_cot`, `gt`,
    `code` (completions), `pred` (their extracted answers), `report`, `score` (their
    boolean grades: never read as verifier scores)."""
    return [
        {
            "idx": 0,
            "question": "Half of one?",
            "gt_cot": "It is \\frac{1}{2}.",
            "gt": "\\frac{1}{2}",
            "level": 1,
            "code": ["... \\boxed{0.5}", "\\boxed{2}", "\\boxed{1/2}"],
            "pred": ["0.5", "2", "2"],
            "report": [None, None, None],
            "score": [True, False, True],
        },
        {
            "idx": 1,
            "question": "Three?",
            "gt_cot": "",
            "gt": "3",
            "code": ["\\boxed{3}", "\\boxed{7}", "\\boxed{7}"],
            "pred": ["3", "7", "7"],
            "report": [None, None, None],
            "score": [True, False, False],
        },
    ]


def test_qwen_math_eval_dump_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path / "test_qwen25-math-cot_-1_seed0_t0.7_s0_e-1.jsonl", qwen_rows())
    rep = rescore([path], ks=[1, 3])
    f = fmt(rep)
    assert f["format"] == "qwen-math" and f["detected"]
    assert (f["fields"]["problem_id"], f["fields"]["gold"], f["fields"]["completions"]) == (
        "idx",
        "gt",
        "code",
    )
    assert set(rep["curves"]) == {"pass", "majority"}  # their boolean `score` is not read
    assert rep["curves"]["pass"]["1"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert rep["full_pool"]["majority"] == 0.5
    assert rep["answer_field"]["compared"] == 0 and rep["warnings"] == []


def test_qwen_math_eval_dump_voting_on_pred(tmp_path: Path) -> None:
    """docs/votes.md: `--field answers=pred` votes on their extracted answers; a mapped
    answer field wins over the completion, and their disagreement is counted and warned."""
    path = write(tmp_path / "qwen.jsonl", qwen_rows())
    rep = rescore([path], ks=[1, 3], fields={"answers": "pred"})
    assert fmt(rep)["format"] == "qwen-math" and fmt(rep)["fields"]["answers"] == "pred"
    # pred of sample 3 of problem 0 is "2" (the completion says 1/2): pass@1 drops.
    assert rep["curves"]["pass"]["1"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert rep["answer_field"]["compared"] == 6 and rep["answer_field"]["disagree"] == 1
    (w,) = rep["warnings"]
    assert w["code"] == "answer_field_disagrees" and "--field answers=pred" in w["message"]


def lm_eval_rows() -> list[dict[str, Any]]:
    """lm-eval `--log_samples` (samples_<task>_<date>.jsonl, written by the evaluation
    tracker): one row per document and filter, filters outermost; `resps` holds each
    request's generations (a repeats > 1 task: several), `filtered_resps` the filter's
    output, `arguments` sanitised to gen_args_i / arg_j, `target` as a string."""
    docs = [
        ("Janet has 3 ducks ... #### 18", ["so #### 18", "#### 18", "#### 17"], "18"),
        ("Tom has ... #### 5", ["#### 4", "The answer is 4.", "#### 5"], "4"),
    ]
    rows = []
    for filt in ("strict-match", "flexible-extract"):
        for i, (target, resps, filtered) in enumerate(docs):
            rows.append(
                {
                    "doc_id": i,
                    "doc": {"question": f"Q{i}", "answer": target},
                    "target": target,
                    "arguments": {"gen_args_0": {"arg_0": f"Q: Q{i}\nA:", "arg_1": {}}},
                    "resps": [resps],
                    "filtered_resps": [filtered],
                    "filter": filt,
                    "metrics": ["exact_match"],
                    "doc_hash": "h",
                    "prompt_hash": "p",
                    "target_hash": "t",
                    "exact_match": float(filtered in target),
                }
            )
    return rows


def test_lm_eval_log_samples_dump_is_detected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "samples_gsm8k_2026-01-01T00-00-00.jsonl", lm_eval_rows())
    rep = rescore([path], ks=[1, 3])
    f = fmt(rep)
    assert f["format"] == "lm-eval" and f["detected"]
    assert f["fields"]["completions"] == "resps.0" and f["fields"]["gold"] == "target"
    assert f["select"] == {"field": "filter", "value": "strict-match"}
    # Each document once (the second filter's rows repeat the same generations).
    assert rep["problems"] == 2 and rep["samples"] == 6 and rep["skipped"] == 2
    assert rep["correct_samples"] == 2 + 1
    assert rep["full_pool"]["majority"] == 0.5  # doc 0: 18 wins; doc 1: 4 (wrong) wins
    rc, out, _ = cli(capsys, "rescore", str(path), "--ks", "1", "--quiet")
    assert rc == 0 and "format lm-eval (detected)" in out
    assert "filter = 'strict-match' only" in out and "2 rows of other filters" in out


def verl_rows() -> list[dict[str, Any]]:
    """verl `_dump_generations` (trainer.validation_data_dir, <step>.jsonl): one row per
    sample, `input` (the decoded prompt; val_kwargs.n samples of a prompt are adjacent),
    `output`, `gts`, `score` (the reward), `step`, and the reward's extra infos."""
    rows = []
    for prompt, gold, outs in (
        ("user: 2+2?\nassistant:", "4", ["\\boxed{4}", "\\boxed{5}", "\\boxed{4}"]),
        ("user: 3*3?\nassistant:", "9", ["\\boxed{6}", "\\boxed{6}", "\\boxed{9}"]),
    ):
        for o in outs:
            ok = o == f"\\boxed{{{gold}}}"
            rows.append(
                {
                    "input": prompt,
                    "output": o,
                    "gts": gold,
                    "score": 1.0 if ok else -1.0,
                    "step": 40,
                    "acc": ok,
                    "pred": o[7:-1],
                }
            )
    return rows


def test_verl_validation_dump_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path / "40.jsonl", verl_rows())
    rep = rescore([path], ks=[1, 3])
    f = fmt(rep)
    assert f["format"] == "verl" and f["detected"]
    assert (f["fields"]["problem_id"], f["fields"]["gold"], f["fields"]["completion"]) == (
        "input",
        "gts",
        "output",
    )
    # The reward (-1 / 1 here) is a grade, not a verifier probability: not read.
    assert "score" not in f["fields"] and set(rep["curves"]) == {"pass", "majority"}
    assert rep["settings"]["layouts"] == ["per-sample"]
    assert rep["problems"] == 2 and rep["correct_samples"] == 3
    assert rep["full_pool"]["majority"] == 0.5


def test_rlv_format_and_explicit_format(tmp_path: Path) -> None:
    rows = [{"problem_id": 1, "gold": "2", "completions": ["\\boxed{2}"], "scores": [0.5]}]
    path = write(tmp_path / "d.jsonl", rows)
    assert fmt(rescore([path], ks=[1]))["format"] == "rlv"
    # --format skips detection: a search-and-learn dump read as rlv's has no gold.
    sal = write(tmp_path / "sal.jsonl", sal_rows())
    rep = rescore([sal], ks=[1], format="search-and-learn")
    assert fmt(rep)["format"] == "search-and-learn" and not fmt(rep)["detected"]
    with pytest.raises(DumpError, match=r'field "gold": missing .*--field gold=NAME'):
        rescore([sal], ks=[1], format="rlv")
    with pytest.raises(ValueError, match="format"):
        rescore([sal], ks=[1], format="nope")


def test_explicit_field_overrides_detection(tmp_path: Path) -> None:
    rows = sal_rows()
    for r in rows:
        r["gold_boxed"] = r.pop("solution")
    path = write(tmp_path / "sal.jsonl", rows)
    rep = rescore([path], ks=[1], fields={"gold": "gold_boxed", "problem_id": "problem"})
    f = fmt(rep)
    assert f["format"] == "search-and-learn"
    assert f["fields"]["gold"] == "gold_boxed" and f["fields"]["problem_id"] == "problem"
    assert rep["correct_samples"] == 3


# ---------------------------------------------------------------------------------------
# Empty input (issue 20)


@pytest.mark.parametrize(
    ("text", "what"), [("", "the file is empty"), ("\n  \n\n", "the file has only blank lines")]
)
def test_empty_dump_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, what: str
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(text)
    with pytest.raises(DumpError, match=f"no rows to rescore: {what}"):
        rescore([path], ks=[1])
    gz = tmp_path / "empty.jsonl.gz"
    with gzip.open(gz, "wt") as f:
        f.write(text)
    with pytest.raises(DumpError, match="no rows to rescore"):
        rescore([gz], ks=[1])
    rc, out, err = cli(capsys, "rescore", str(path), "--quiet")
    assert rc == 2 and out == ""
    assert "no rows to rescore" in err and "empty.jsonl" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------
# Issue 21, case 1: one row per sample, gold in `answer`, --field gold=answer


def per_sample_gold_in_answer() -> list[dict[str, Any]]:
    return [
        {"problem_id": "p1", "answer": "0.5", "completion": "so \\boxed{0.5}"},
        {"problem_id": "p1", "answer": "0.5", "completion": "\\boxed{1/2}"},
        {"problem_id": "p1", "answer": "0.5", "completion": "\\boxed{2}"},
        {"problem_id": "p2", "answer": "3", "completion": "\\boxed{4}"},
    ]


def test_case1_per_sample_gold_in_answer_is_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fails on the code before this change: answered 0, 0 % everywhere, exit 0."""
    path = write(tmp_path / "hf.jsonl", per_sample_gold_in_answer())
    rep = rescore([path], ks=[1], fields={"gold": "answer"})
    assert rep["answered"] == 4 and rep["correct_samples"] == 2
    assert rep["curves"]["pass"]["1"] == pytest.approx((2 / 3 + 0) / 2)
    assert rep["full_pool"]["majority"] == 0.5
    assert "answer" not in fmt(rep)["fields"]  # the gold is never also a sample's answer
    assert rep["warnings"] == []
    rc, out, _ = cli(capsys, "rescore", str(path), "--field", "gold=answer", "--quiet")
    assert rc == 0 and "4 samples (4 with an answer)" in out
    assert "full pool: majority 50.0%" in out


def test_case1_per_problem_gold_in_answer(tmp_path: Path) -> None:
    """The same mapping on one row per problem (it always worked there)."""
    rows = [
        {"problem_id": "p1", "answer": "0.5", "completions": ["\\boxed{0.5}", "\\boxed{2}"]},
        {"problem_id": "p2", "answer": "3", "completions": ["\\boxed{4}", "\\boxed{3}"]},
    ]
    path = write(tmp_path / "pp.jsonl", rows)
    rep = rescore([path], ks=[1], fields={"gold": "answer"})
    assert rep["answered"] == 4 and rep["correct_samples"] == 2 and rep["warnings"] == []


def test_a_field_cannot_be_both_gold_and_answer(tmp_path: Path) -> None:
    path = write(tmp_path / "hf.jsonl", per_sample_gold_in_answer())
    with pytest.raises(ValueError, match="already gold=answer"):
        rescore([path], ks=[1], fields={"gold": "answer", "answer": "answer"})


def test_zero_answered_is_a_loud_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mapping that leaves nothing to score says so above the table and in the report."""
    rows = [
        {"problem_id": "p", "gold": "1", "text": "\\boxed{1}", "completion": "no answer here"},
        {"problem_id": "p", "gold": "1", "text": "\\boxed{1}", "completion": "still none"},
    ]
    path = write(tmp_path / "d.jsonl", rows)
    rep = rescore([path], ks=[1])
    (w,) = rep["warnings"]
    assert w["code"] == "no_answers" and w["count"] == 2
    assert "--field completion=NAME" in w["message"]
    rc, out, _ = cli(capsys, "rescore", str(path), "--quiet")
    assert rc == 0
    assert out.index("WARNING: no sample has an answer") < out.index("pass@k")


# ---------------------------------------------------------------------------------------
# Issue 21, case 2: a stray `answer` field never wins silently


def test_case2_stray_answer_field_does_not_override_the_completion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fails on the code before this change: the row below scored correct (100 %)."""
    rows = [{"problem_id": "p1", "gold": "0.5", "answer": "0.5", "completion": "\\boxed{0.25}"}]
    path = write(tmp_path / "hf.jsonl", rows)
    rep = rescore([path], ks=[1])
    assert rep["correct_samples"] == 0 and rep["full_pool"]["majority"] == 0.0
    assert rep["answer_field"]["compared"] == 1 and rep["answer_field"]["disagree"] == 1
    assert rep["answer_field"]["example"]["line"] == 1
    (w,) = rep["warnings"]
    assert w["code"] == "answer_field_disagrees"
    assert "--field gold=answer" in w["message"]
    rc, out, _ = cli(capsys, "rescore", str(path), "--quiet")
    assert rc == 0
    assert out.index("WARNING: field 'answer' disagrees") < out.index("pass@k")
    assert "full pool: majority 0.0%" in out


def test_explicit_answer_mapping_wins_and_is_checked(tmp_path: Path) -> None:
    rows = [
        {"problem_id": "p1", "gold": "0.5", "pred": "0.5", "completion": "\\boxed{0.25}"},
        {"problem_id": "p1", "gold": "0.5", "pred": "1/2", "completion": "\\boxed{0.5}"},
    ]
    path = write(tmp_path / "d.jsonl", rows)
    rep = rescore([path], ks=[1], fields={"answer": "pred"})
    assert rep["correct_samples"] == 2  # the mapped field is what is scored
    assert rep["answer_field"] == {
        "compared": 2,
        "disagree": 1,
        "example": {
            "file": str(path),
            "line": 1,
            "answer_field": "0.5",
            "completion_answer": "0.25",
        },
    }
    (w,) = rep["warnings"]
    assert "the answer field was used (mapped with --field answer=pred)" in w["message"]


def test_answer_field_alone_is_used(tmp_path: Path) -> None:
    """Pre-extracted answers without completions (docs/votes.md) still work."""
    rows = [
        {"problem_id": "p", "gold": "2", "answer": "2", "score": 0.9},
        {"problem_id": "p", "gold": "2", "answer": "3", "score": 0.1},
    ]
    rep = rescore([write(tmp_path / "a.jsonl", rows)], ks=[1, 2])
    assert rep["correct_samples"] == 1 and rep["full_pool"]["best_of_n"] == 1.0
    assert rep["answer_field"]["compared"] == 0 and rep["warnings"] == []


@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # problem
            st.sampled_from(["1", "2", "1/2", "0.5", "x+1"]),  # completion's answer
            st.sampled_from(["1", "2", "0.5", "junk", None]),  # stray answer field
        ),
        min_size=1,
        max_size=20,
    )
)
def test_a_stray_answer_field_never_changes_the_scores(
    tmp_path_factory: pytest.TempPathFactory, samples: list[tuple[int, str, str | None]]
) -> None:
    """Property: adding any `answer` field to rows that have a completion leaves every
    number of the report unchanged (it is only compared, and counted)."""
    samples.sort(key=lambda s: s[0])
    d = tmp_path_factory.mktemp("stray")
    plain, stray = [], []
    for pid, ans, extra in samples:
        row = {"problem_id": pid, "gold": "1/2", "completion": f"so \\boxed{{{ans}}}"}
        plain.append(row)
        stray.append({**row, "answer": extra})
    keys = ("problems", "samples", "answered", "correct_samples", "curves", "full_pool")
    a = rescore([write(d / "plain.jsonl", plain)], ks=[1, 2], num_threads=1, chunk_bytes=1 << 12)
    b = rescore([write(d / "stray.jsonl", stray)], ks=[1, 2], num_threads=1, chunk_bytes=1 << 12)
    assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
    assert b["answer_field"]["compared"] == sum(e is not None for *_, e in samples)


# ---------------------------------------------------------------------------------------
# Hints name the CLI flags (issue 21)


def test_hints_name_cli_flags(tmp_path: Path) -> None:
    missing_gold = write(tmp_path / "g.jsonl", [{"problem_id": 1, "completions": ["a"]}])
    with pytest.raises(DumpError) as e:
        rescore([missing_gold], ks=[1])
    assert "--field gold=NAME" in str(e.value) and "field gold=NAME" not in str(e.value).replace(
        "--field gold=NAME", ""
    )
    hf = write(tmp_path / "hf.jsonl", per_sample_gold_in_answer())
    with pytest.raises(DumpError, match=r'the first row has "answer": .* --field gold=answer'):
        rescore([hf], ks=[1])
    no_text = write(tmp_path / "c.jsonl", [{"problem_id": 1, "gold": "1", "x": 2}])
    with pytest.raises(DumpError, match="--field completion=NAME"):
        rescore([no_text], ks=[1], layout="per-sample")
    with pytest.raises(DumpError, match="--field completions=NAME"):
        rescore([no_text], ks=[1], layout="per-problem")
    no_id = write(tmp_path / "i.jsonl", [{"gold": "1", "completion": "x"}])
    with pytest.raises(DumpError, match="--field problem_id=NAME"):
        rescore([no_id], ks=[1])
    steps = write(
        tmp_path / "s.jsonl",
        [{"problem_id": 1, "gold": "1", "completions": ["a"], "scores": [[0.1, 0.2]]}],
    )
    with pytest.raises(DumpError, match=r"--score-agg last\|min\|prod\|mean"):
        rescore([steps], ks=[1])


# ---------------------------------------------------------------------------------------
# docs/votes.md mappings, each on a dump in its layout (issue 21, acceptance 2)


@pytest.mark.parametrize("layout", ["per-problem", "per-sample"])
def test_docs_mapping_recommended_verifier_scores(tmp_path: Path, layout: str) -> None:
    """`--field scores=verifier.p_yes` (per problem) / `--field score=verifier.p_yes`."""
    comps, p = ["\\boxed{5}", "\\boxed{6}", "\\boxed{6}"], [0.4, 0.3, 0.3]
    if layout == "per-problem":
        rows: list[dict[str, Any]] = [
            {"id": 1, "problem": "q", "gold": "5", "completions": comps, "verifier": {"p_yes": p}}
        ]
        fields = {"problem_id": "id", "scores": "verifier.p_yes"}
    else:
        rows = [
            {"id": 1, "gold": "5", "completion": c, "verifier": {"p_yes": s}}
            for c, s in zip(comps, p, strict=True)
        ]
        fields = {"problem_id": "id", "score": "verifier.p_yes"}
    rep = rescore([write(tmp_path / "d.jsonl", rows)], ks=[3], fields=fields)
    assert rep["settings"]["layouts"] == [layout]
    assert rep["full_pool"] == {"majority": 0.0, "weighted": 0.0, "best_of_n": 1.0}


@pytest.mark.parametrize("layout", ["per-problem", "per-sample"])
def test_docs_mapping_gold_in_answer(tmp_path: Path, layout: str) -> None:
    """`--field gold=answer` for exports whose gold is called `answer`, both layouts."""
    comps = ["\\boxed{3}", "\\boxed{4}", "\\boxed{3}"]
    if layout == "per-problem":
        rows: list[dict[str, Any]] = [{"problem_id": "a", "answer": "3", "completions": comps}]
    else:
        rows = [{"problem_id": "a", "answer": "3", "completion": c} for c in comps]
    rep = rescore([write(tmp_path / "d.jsonl", rows)], ks=[3], fields={"gold": "answer"})
    assert rep["settings"]["layouts"] == [layout]
    assert rep["correct_samples"] == 2 and rep["full_pool"]["majority"] == 1.0
    assert rep["warnings"] == []


def test_docs_mapping_qwen_explicit(tmp_path: Path) -> None:
    """The explicit Qwen mapping of docs/votes.md gives what detection gives."""
    path = write(tmp_path / "q.jsonl", qwen_rows())
    explicit = rescore(
        [path], ks=[1, 3], fields={"problem_id": "idx", "gold": "gt", "completions": "code"}
    )
    detected = rescore([path], ks=[1, 3])
    assert explicit["curves"] == detected["curves"]


def test_docs_mapping_search_and_learn_explicit(tmp_path: Path) -> None:
    """`--field gold=answer --score-agg last` gives what detection gives."""
    path = write(tmp_path / "s.jsonl", sal_rows())
    explicit = rescore([path], ks=[1, 3], fields={"gold": "answer"}, score_agg="last")
    assert explicit["curves"] == rescore([path], ks=[1, 3])["curves"]


def test_describe_input_lists_each_file(tmp_path: Path) -> None:
    from rlv.scaling.rescore import describe_input

    a = write(tmp_path / "a.jsonl", qwen_rows())
    b = write(tmp_path / "b.jsonl", verl_rows())
    lines = describe_input(rescore([a, b], ks=[1]))
    assert lines[0].startswith(f"{a}: format qwen-math (detected), per-problem")
    assert lines[1].startswith(f"{b}: format verl (detected), per-sample")


# ---------------------------------------------------------------------------------------
# rlv compare (issue 21)


def report_with(tmp_path: Path, name: str, curves: dict[str, dict[str, float]]) -> Path:
    rep = {"report_version": 1, "curves": curves, "ci": {}}
    path = tmp_path / name
    path.write_text(json.dumps(rep))
    return path


def test_compare_wording_cannot_be_misread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"1": 0.4, "2": 0.5, "4": 0.6, "8": 0.7, "16": 0.8}
    a = report_with(tmp_path, "a.json", {"majority": base})
    b = report_with(tmp_path, "b.json", {"weighted": {"1": 0.5, "2": 0.6, "4": 0.7}})
    rc, out, _ = cli(capsys, "compare", str(a), str(b))
    assert rc == 0
    # B at k = 4 has 0.7, which A reaches at N = 8 (2x) ... and at k = 2, N = 4 (2x).
    assert (
        "the baseline A (majority) needs 2.0x the samples of B (weighted) to match B's "
        "accuracy at k = 4 (about 8 samples instead of 4); B is the more sample-efficient"
    ) in out
    assert "2.0x k = 8 samples" in out
    # The other way round: A is the better one.
    rc, out, _ = cli(
        capsys, "compare", str(b), str(a), "--method-a", "weighted", "--method-b", "majority"
    )
    assert rc == 0
    assert (
        "the baseline A (weighted) matches B's (majority) accuracy at k = 8 with 0.50x the "
        "samples (about 4.0 instead of 8); A is the more sample-efficient"
    ) in out
    assert "more than 0.2x k samples" in out  # k = 16: A never gets to 0.8 within N = 4
    assert (
        "; at k = 16 A never reaches B within its largest N (at k = 16 it would need more "
        "than 0.2x the samples)"
    ) in out


def test_compare_lists_curves_on_bad_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = report_with(tmp_path, "a.json", {"pass": {"1": 0.5}, "majority": {"1": 0.4}})
    rc, _, err = cli(capsys, "compare", str(a), str(a), "--method-b", "weighted")
    assert rc == 2 and "Traceback" not in err
    assert "--method-b weighted" in err and "its curves are: pass, majority" in err
    assert "need verifier scores" in err
    rc, _, err = cli(capsys, "compare", str(a), str(a), "--method-a", "best-of-n")
    assert rc == 2 and "its curves are: pass, majority" in err


def test_compare_names_a_jsonl_dump_given_as_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = write(tmp_path / "dump.jsonl", qwen_rows())
    good = report_with(tmp_path, "a.json", {"majority": {"1": 0.4}, "weighted": {"1": 0.5}})
    rc, _, err = cli(capsys, "compare", str(dump), str(good))
    assert rc == 2 and "KeyError" not in err and "Traceback" not in err
    assert "holds JSON lines" in err and f"rlv rescore {dump} --out REPORT.json" in err
    single = write(tmp_path / "one.jsonl", qwen_rows()[:1])  # one line: valid JSON
    rc, _, err = cli(capsys, "compare", str(good), str(single))
    assert rc == 2 and "not a rescore report" in err
    rc, _, err = cli(capsys, "compare", str(good), str(tmp_path / "missing.json"))
    assert rc == 2 and "cannot read" in err


def test_hub_parquet_export_of_search_and_learn_is_detected(tmp_path: Path) -> None:
    """search-and-learn pushes the same rows to the Hub; their Parquet files read the same."""
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(sal_rows()), path)
    rep = rescore([path], ks=[1, 3])
    assert fmt(rep)["format"] == "search-and-learn"
    assert rep["full_pool"] == {"majority": 0.5, "weighted": 1.0, "best_of_n": 0.5}
