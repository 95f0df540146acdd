"""Length selection by verifier confidence (``rlv.scaling.lengths`` over the Rust core):
a hand-computed example, the monotone tau sweep (hypothesis), the equal-token ratio, typed
errors for bad dumps and arguments, the CLI and the plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlv.exceptions import DumpError
from rlv.grading import GradeOptions
from rlv.scaling.lengths import (
    BudgetProblem,
    equal_token_ratio,
    format_length_table,
    length_select,
    length_select_dump,
    read_budget_dump,
)

# Three samples, budgets 10 and 20, one verification costs 2 tokens (the example of
# docs/scaling-length.md and of rust/rlv-core/tests/lengths.rs). At 10: sample 0 is still
# reasoning (no answer, score 0.5), sample 1 answers 5 (wrong, 0.25), sample 2 answers 7
# (right, 0.25) and has ended after 5 tokens. At 20: samples 0 and 1 answer 7 (0.75, 0.5).
EXAMPLE = {
    "problem_id": "p0",
    "prompt": "3+4=?",
    "gold": "7",
    "budgets": [10, 20],
    "budget_completions": [["3+4 is", "#### 5", "#### 7"], ["#### 7", "so #### 7", "#### 7"]],
    "budget_scores": [[0.5, 0.25, 0.25], [0.75, 0.5, 0.25]],
    "cut_tokens": [[10, 10, 5], [18, 20, 5]],
    "forced_tokens": [[0, 0, 0], [0, 0, 0]],
    "verify_tokens": 2,
}


def write(path: Path, *rows: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_hand_computed_example(tmp_path: Path) -> None:
    rep = length_select_dump(
        [write(tmp_path / "d.jsonl", EXAMPLE)], ks=[2, 3], taus=[0.2, 0.4, 0.6]
    )
    # k = 3, the whole pool: at 10 the answers 5 and 7 tie at 0.25 of a total 1.0 (confidence
    # 0.25, credit 1/2); at 20 everything is 7 (confidence 1). Tokens per sample: up to 10,
    # cut + one verification (12, 12, 7); up to 20, 22, 24 and 7 (sample 2 ended).
    s3 = rep["selection"]["3"]
    assert s3["accuracy"] == pytest.approx([0.5, 1.0, 1.0])
    assert s3["tokens"] == pytest.approx([31 / 3, 53 / 3, 53 / 3])
    assert s3["stop_budget"] == pytest.approx([10, 20, 20])
    # k = 2: the three pairs, enumerated (exact): {0,1} confidence 1/3 at 10, wrong;
    # {0,2} 1/3, right; {1,2} 1/2, a tie.
    s2 = rep["selection"]["2"]
    assert s2["exact_problems"] == 1 and s2["mc_se"] == [0.0, 0.0, 0.0]
    assert s2["accuracy"] == pytest.approx([0.5, 2.5 / 3, 1.0])
    assert s2["tokens"] == pytest.approx([62 / 6, 94 / 6, 106 / 6])
    fx = rep["fixed"]["3"]
    assert fx["majority"]["tokens"] == pytest.approx([25 / 3, 43 / 3])
    # weighted: one verification per answered sample (2 of 3 at budget 10)
    assert fx["weighted"]["tokens"] == pytest.approx([29 / 3, 49 / 3])
    assert fx["weighted"]["accuracy"] == pytest.approx([0.5, 1.0])
    assert fx["pass"]["accuracy"] == pytest.approx([1.0, 1.0])  # pass@3: one of 3 is right
    # Mass never reads the score of a sample without an answer: sample 0 is not verified at
    # 10 (spent 10, 12, 7 up to 10; 20, 24, 7 up to 20). With k = 3 the mass at 10 is
    # 0.25/3: tau 0.05 stops there, tau 0.2 goes on to 20.
    mass = length_select_dump([tmp_path / "d.jsonl"], ks=[3], taus=[0.05, 0.2], confidence="mass")
    assert mass["selection"]["3"]["tokens"] == pytest.approx([29 / 3, 51 / 3])
    assert mass["selection"]["3"]["accuracy"] == pytest.approx([0.5, 1.0])
    # Generation tokens only: the verifications (2 tokens each) drop out.
    gen = length_select_dump([tmp_path / "d.jsonl"], ks=[3], taus=[0.2, 0.4], verify_tokens=0)
    assert gen["selection"]["3"]["tokens"] == pytest.approx([25 / 3, 43 / 3])
    assert gen["fixed"]["3"]["weighted"]["tokens"] == pytest.approx([25 / 3, 43 / 3])
    table = format_length_table(rep, k=2)
    assert "83.3" in table and "exact on 1 of 1" in table


def test_lenient_extraction_reads_the_last_number_of_a_cut(tmp_path: Path) -> None:
    # Why strict is the default: in lenient mode the unfinished "3+4 is" has the answer 4.
    d = write(tmp_path / "d.jsonl", EXAMPLE)
    strict = length_select_dump([d], ks=[3], taus=[0.3])
    lenient = length_select_dump([d], ks=[3], taus=[0.3], options=GradeOptions(mode="lenient"))
    assert strict["selection"]["3"]["accuracy"] != lenient["selection"]["3"]["accuracy"]


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[int], list[BudgetProblem]]:
    m = draw(st.integers(1, 4))
    budgets = sorted(draw(st.sets(st.integers(1, 60), min_size=m, max_size=m)))
    out = []
    for p in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 7))
        lengths = draw(st.lists(st.integers(0, budgets[-1]), min_size=n, max_size=n))
        answers = st.sampled_from([None, "#### 1", "#### 2", "#### 3", "thinking"])
        out.append(
            BudgetProblem(
                id=f"p{p}",
                gold="2",
                completions=[draw(st.lists(answers, min_size=n, max_size=n)) for _ in budgets],
                scores=[
                    draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=n, max_size=n))
                    for _ in budgets
                ],
                cut_tokens=[[min(x, b) for x in lengths] for b in budgets],
                forced_tokens=[
                    draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)) for _ in budgets
                ],
                verify_tokens=draw(st.integers(0, 5)),
            )
        )
    return budgets, out


@given(
    problems(),
    st.lists(st.floats(0, 1), min_size=1, max_size=6),
    st.sampled_from(["share", "mass"]),
)
def test_tau_sweep_is_monotone_in_tokens_spent(
    case: tuple[list[int], list[BudgetProblem]], taus: list[float], confidence: Any
) -> None:
    budgets, probs = case
    taus = sorted(taus)
    rep = length_select(probs, budgets, ks=[1, 2, 3], taus=taus, subsets=5, confidence=confidence)
    for sel in rep["selection"].values():
        assert all(b >= a - 1e-9 for a, b in zip(sel["tokens"], sel["tokens"][1:], strict=False))
        assert all(
            b >= a - 1e-9 for a, b in zip(sel["stop_budget"], sel["stop_budget"][1:], strict=False)
        )
        assert all(0 <= a <= 1 for a in sel["accuracy"])
        assert all(se >= 0 for se in sel["mc_se"])


def test_equal_token_ratio() -> None:
    got = equal_token_ratio([5, 15, 30, 40], [0.5, 0.6, 0.9, 0.9], [10, 20, 30], [0.2, 0.4, 0.6])
    assert [g["baseline"] for g in got] == [None, pytest.approx(0.3), pytest.approx(0.6), None]
    assert got[1]["ratio"] == pytest.approx(2.0) and got[2]["ratio"] == pytest.approx(1.5)
    assert got[0]["ratio"] is None and got[3]["ratio"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"budgets": None}, "budgets"),
        ({"budgets": [20, 10]}, "budgets"),
        ({"budget_scores": [[0.5, 0.25, 1.5], [0.75, 0.5, 0.25]]}, "budget_scores"),
        ({"budget_scores": [[0.5, 0.25], [0.75, 0.5, 0.25]]}, "budget_scores"),
        ({"cut_tokens": [[10, 10, 5], [9, 20, 5]]}, "cut_tokens"),
        ({"cut_tokens": [[11, 10, 5], [18, 20, 5]]}, "cut_tokens"),
        ({"forced_tokens": [[0, 0, -1], [0, 0, 0]]}, "forced_tokens"),
        ({"budget_completions": [["a", "b", "c"]]}, "budget_completions"),
        ({"verify_tokens": "2"}, "verify_tokens"),
        ({"gold": ""}, "gold"),
    ],
)
def test_malformed_dumps_are_dump_errors(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    row = {**EXAMPLE, **change}
    if change.get("budgets", 0) is None:
        del row["budgets"]
    with pytest.raises(DumpError, match=rf"d\.jsonl:1: field '{field}'"):
        read_budget_dump(write(tmp_path / "d.jsonl", row))


def test_other_dump_errors(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match="differs from the first row"):
        read_budget_dump(write(tmp_path / "a.jsonl", EXAMPLE, {**EXAMPLE, "budgets": [10, 30]}))
    with pytest.raises(DumpError, match="no rows"):
        read_budget_dump(write(tmp_path / "b.jsonl"))
    (tmp_path / "c.jsonl").write_text("{not json\n")
    with pytest.raises(DumpError, match="c.jsonl:1: not JSON"):
        read_budget_dump(tmp_path / "c.jsonl")
    plain = {k: EXAMPLE[k] for k in ("problem_id", "prompt", "gold")}
    with pytest.raises(DumpError, match="not a budget dump"):
        read_budget_dump(write(tmp_path / "d.jsonl", plain))


def test_bad_arguments_are_value_errors(tmp_path: Path) -> None:
    _, probs = read_budget_dump(write(tmp_path / "d.jsonl", EXAMPLE))
    for kwargs in (
        {"taus": [1.5]},
        {"taus": [-0.1]},
        {"ks": [0]},
        {"subsets": 0},
        {"confidence": "max"},
        {"verify_tokens": -1},
    ):
        with pytest.raises(ValueError):
            length_select(probs, [10, 20], **kwargs)
    with pytest.raises(ValueError, match="budgets"):
        length_select(probs, [20, 10])
    with pytest.raises(ValueError, match="problem 0"):
        length_select(probs, [10])
    with pytest.raises(ValueError, match="no problems"):
        length_select([], [10])


def test_cli_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rlv.cli import main

    d = write(tmp_path / "d.jsonl", EXAMPLE)
    out = tmp_path / "r.json"
    assert main(["lengths", str(d), "--taus", "0.2,0.4", "--k", "2", "--out", str(out)]) == 0
    assert "length selection by confidence" in capsys.readouterr().out
    rep = json.loads(out.read_text())
    assert rep["taus"] == [0.2, 0.4] and rep["selection"]["2"]["accuracy"][1] == pytest.approx(
        2.5 / 3
    )
    assert main(["lengths", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["lengths", str(d), "--k", "9"]) == 2
    assert "not in the report" in capsys.readouterr().err
    pytest.importorskip("matplotlib")
    png = tmp_path / "p.png"
    assert main(["lengths", str(d), "--plot", str(png)]) == 0
    assert png.stat().st_size > 0
    from rlv.scaling.lengths import plot_lengths

    overlay = tmp_path / "o.png"
    plot_lengths(rep, overlay, k=2, baseline=rep)
    assert overlay.stat().st_size > 0
