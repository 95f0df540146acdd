"""rlv.tasks: JSONL problem sets and the synthetic arithmetic task."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rlv
from rlv.exceptions import DataError
from rlv.tasks import SPLITS, ArithmeticTask, Problem, load_jsonl, split_of

LINE = re.compile(r"(-?\d+)([+-])(\d+)=(-?\d+)")
PROMPT = re.compile(r"\d+(?:[+-]\d+)+=\?\n")


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """Rows as JSONL lines; a str row is written verbatim."""
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


# ---------------------------------------------------------------------------------------------
# Problem / DataError


def test_problem_is_frozen() -> None:
    p = Problem(id="a", prompt="1+1=?\n", gold="2")
    assert (p.solution, p.solution_correct) == (None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.gold = "3"  # type: ignore[misc]


def test_data_error_location() -> None:
    err = DataError("bad field", path="x.jsonl", line=3, field="answer")
    assert str(err) == "x.jsonl:3: bad field"
    assert (err.path, err.line, err.field) == ("x.jsonl", 3, "answer")
    assert isinstance(err, ValueError) and isinstance(err, rlv.RlvError)
    assert str(DataError("plain")) == "plain"


# ---------------------------------------------------------------------------------------------
# load_jsonl on the shared data sets


def test_math500(shared_file: Callable[..., Path]) -> None:
    path = shared_file("data", "math", "test.jsonl")
    problems = load_jsonl(path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(problems) == len(rows) == 500
    assert len({p.id for p in problems}) == 500
    for p, row in zip(problems, rows, strict=True):
        assert p.id == row["unique_id"]
        assert p.prompt == row["problem"]
        assert p.gold == row["answer"].strip()
        assert p.solution == row["solution"]
        assert p.solution_correct is True
    rewards, _ = rlv.grade_batch([p.solution for p in problems], [p.gold for p in problems])
    assert rewards.mean() > 0.99


def test_gsm8k(shared_file: Callable[..., Path]) -> None:
    path = shared_file("data", "gsm8k", "test.jsonl")
    problems = load_jsonl(path, prompt_template="Q: {prompt}\nA:")
    assert len(problems) == 1319
    assert [p.id for p in problems[:2]] == ["test-1", "test-2"]
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert problems[0].prompt == f"Q: {first['question']}\nA:"
    assert problems[0].gold == "18"
    assert problems[0].solution == first["answer"]
    for p in problems:
        assert re.fullmatch(r"-?\d+(\.\d+)?", p.gold), p.gold
        assert p.solution is not None and "####" in p.solution
        assert p.solution_correct is True
    # Thousands separators are removed from the gold.
    assert any("," in p.solution.rsplit("####", 1)[1] for p in problems if p.solution)
    rewards, _ = rlv.grade_batch(
        [p.solution or "" for p in problems], [p.gold for p in problems], mode="strict"
    )
    assert rewards.min() == 1.0


# ---------------------------------------------------------------------------------------------
# load_jsonl on small files


def test_blank_lines_ids_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "toy.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"question": "q1", "answer": "so\\n#### 1,234 "}\n'
        b"\n   \n"
        b'{"question": "q2", "answer": "a #### 5 #### -7"}\n'
    )
    problems = load_jsonl(path)
    assert [(p.id, p.prompt, p.gold) for p in problems] == [
        ("toy-1", "q1", "1234"),
        ("toy-4", "q2", "-7"),
    ]


def test_math_without_solution(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [{"problem": "p", "answer": " 3 "}])
    [p] = load_jsonl(path)
    assert (p.gold, p.solution, p.solution_correct) == ("3", None, None)


def test_explicit_fields(tmp_path: Path) -> None:
    rows = [
        {"q": "one", "a": 1, "key": 10, "unique_id": "u1"},
        {"q": "two", "a": "\\frac12", "key": "k2", "unique_id": "u2"},
    ]
    path = write_jsonl(tmp_path / "c.jsonl", rows)
    problems = load_jsonl(path, prompt_field="q", gold_field="a")
    assert [(p.id, p.prompt, p.gold, p.solution) for p in problems] == [
        ("u1", "one", "1", None),
        ("u2", "two", "\\frac12", None),
    ]
    problems = load_jsonl(path, prompt_field="q", gold_field="a", id_field="key")
    assert [p.id for p in problems] == ["10", "k2"]


def test_explicit_field_overrides_detection(tmp_path: Path) -> None:
    row = {"question": "q", "alt": "other prompt", "answer": "x\n#### 4", "final": "4.0"}
    path = write_jsonl(tmp_path / "g.jsonl", [row])
    [p] = load_jsonl(path, prompt_field="alt")
    assert (p.prompt, p.gold, p.solution) == ("other prompt", "4", "x\n#### 4")
    [p] = load_jsonl(path, gold_field="final")
    assert (p.prompt, p.gold) == ("q", "4.0")
    # An explicit gold field is taken verbatim (no "####" parsing).
    [p] = load_jsonl(path, gold_field="answer")
    assert p.gold == "x\n#### 4"


def test_template_keeps_other_braces(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [{"problem": "1+{x}", "answer": "2"}])
    [p] = load_jsonl(path, prompt_template="{prompt} Put it in \\boxed{}.")
    assert p.prompt == "1+{x} Put it in \\boxed{}."
    with pytest.raises(ValueError, match="prompt_template"):
        load_jsonl(path, prompt_template="no placeholder")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    assert load_jsonl(path) == []


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_jsonl(tmp_path / "nope.jsonl")


GOOD_MATH = {"problem": "p", "answer": "1"}


@pytest.mark.parametrize(
    ("rows", "line", "field", "message"),
    [
        ([GOOD_MATH, "{not json"], 2, None, "invalid JSON"),
        ([GOOD_MATH, "[1, 2]"], 2, None, "expected a JSON object"),
        ([{"x": 1}], 1, None, "cannot detect the data set format"),
        ([GOOD_MATH, {"answer": "1", "other": 2}], 2, "problem", "missing prompt field"),
        ([GOOD_MATH, {"problem": "  ", "answer": "1"}], 2, "problem", "empty prompt field"),
        ([GOOD_MATH, {"problem": 5, "answer": "1"}], 2, "problem", "must be a string"),
        ([GOOD_MATH, GOOD_MATH, {"problem": "p"}], 3, "answer", "missing gold field"),
        ([{"problem": "p", "answer": ""}], 1, "answer", "empty gold field"),
        ([{"problem": "p", "answer": None}], 1, "answer", "must be a string"),
        ([{"question": "q", "answer": "no hashes"}], 1, "answer", "no '####'"),
        ([{"question": "q", "answer": "x ####  "}], 1, "answer", "nothing after"),
        (
            [{**GOOD_MATH, "unique_id": "a"}, {**GOOD_MATH, "unique_id": "a"}],
            2,
            "unique_id",
            r"duplicate id 'a' \(first on line 1\)",
        ),
        ([{**GOOD_MATH, "unique_id": ["a"]}], 1, "unique_id", "must be a string or an integer"),
    ],
)
def test_bad_files(
    tmp_path: Path, rows: list[Any], line: int, field: str | None, message: str
) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DataError, match=message) as info:
        load_jsonl(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert (info.value.path, info.value.line, info.value.field) == (str(path), line, field)


def test_bad_id_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "ids.jsonl", [{**GOOD_MATH, "k": 1}, GOOD_MATH])
    with pytest.raises(DataError, match="missing id field 'k'") as info:
        load_jsonl(path, id_field="k")
    assert info.value.line == 2
    path = write_jsonl(tmp_path / "dup.jsonl", [{**GOOD_MATH, "k": 1}, {**GOOD_MATH, "k": "1"}])
    with pytest.raises(DataError, match="duplicate id '1'"):
        load_jsonl(path, id_field="k")


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    path.write_bytes(b'{"problem": "p", "answer": "1"}\n{"problem": "\xff", "answer": "1"}\n')
    with pytest.raises(DataError, match=r"u\.jsonl:2: invalid UTF-8"):
        load_jsonl(path)


# ---------------------------------------------------------------------------------------------
# ArithmeticTask: reference checks written independently of rlv.tasks


def parse_prompt(prompt: str) -> tuple[list[str], list[int]]:
    """``(ops, operands)`` of a prompt; ``ops[0]`` is ``"+"`` for the first operand."""
    assert PROMPT.fullmatch(prompt), prompt
    tokens = re.findall(r"([+-]?)(\d+)", prompt[: -len("=?\n")])
    return [op or "+" for op, _ in tokens], [int(x) for _, x in tokens]


def evaluate(prompt: str) -> int:
    ops, operands = parse_prompt(prompt)
    return sum(x if op == "+" else -x for op, x in zip(ops, operands, strict=True))


def parse_solution(solution: str) -> tuple[list[tuple[int, str, int, int]], int]:
    *lines, last = solution.split("\n")
    steps = []
    for line in lines:
        m = LINE.fullmatch(line)
        assert m, line
        steps.append((int(m[1]), m[2], int(m[3]), int(m[4])))
    m = re.fullmatch(r"#### (-?\d+)", last)
    assert m, last
    return steps, int(m[1])


def slips(left: int, op: str, x: int) -> list[int]:
    """Results a forgotten carry/borrow can give (column arithmetic on non-negatives)."""
    if left < 0 or (op == "-" and left < x):
        return []
    out = []
    for k in range(len(str(max(left, x))) + 1):
        mod = 10 ** (k + 1)
        if op == "+" and left % mod + x % mod >= mod:
            out.append(left + x - mod)
        if op == "-" and left % mod < x % mod:
            out.append(left - x + mod)
    return out


def has_eligible_step(prompt: str, allow_negative: bool) -> bool:
    ops, operands = parse_prompt(prompt)
    value = operands[0]
    for i, (op, x) in enumerate(zip(ops[1:], operands[1:], strict=True), start=1):
        for wrong in slips(value, op, x):
            chain = [wrong]
            for op2, y in zip(ops[i + 1 :], operands[i + 1 :], strict=True):
                chain.append(chain[-1] + (y if op2 == "+" else -y))
            if allow_negative or min(chain) >= 0:
                return True
        value += x if op == "+" else -x
    return False


def check_problem(task: ArithmeticTask, p: Problem) -> None:
    """Everything that must hold for one sampled problem."""
    ops, operands = parse_prompt(p.prompt)
    assert task.min_steps <= len(operands) - 1 <= task.max_steps
    assert all(1 <= x <= task.max_operand for x in operands)
    assert p.gold == str(evaluate(p.prompt))
    assert p.solution is not None
    steps, final = parse_solution(p.solution)
    assert len(steps) == len(operands) - 1
    assert [(op, x) for _, op, x, _ in steps] == list(zip(ops[1:], operands[1:], strict=True))
    assert steps[0][0] == operands[0]
    for (_, _, _, result), (left, _, _, _) in pairwise(steps):
        assert left == result  # the running result carries over
    assert final == steps[-1][3]
    wrong = [
        (left, op, x, r) for left, op, x, r in steps if r != (left + x if op == "+" else left - x)
    ]
    assert p.solution_correct is (final == int(p.gold))
    if p.solution_correct:
        assert wrong == []
    else:
        [(left, op, x, r)] = wrong  # exactly one slip
        assert r in slips(left, op, x)
    if not task.allow_negative:
        assert all(v >= 0 for s in steps for v in (s[0], s[3]))
    assert len(p.solution) <= task.max_solution_chars()
    assert len(p.prompt) <= task.max_prompt_chars()


def test_format_and_example() -> None:
    task = ArithmeticTask()
    problems = task.sample(50, seed=1)
    for p in problems:
        check_problem(task, p)
    assert any(p.solution_correct for p in problems)
    assert any(not p.solution_correct for p in problems)
    # The documented example, checked with the same reference functions.
    steps, final = parse_solution("37+48=85\n85-12=73\n#### 73")
    assert evaluate("37+48-12=?\n") == final == 73 and len(steps) == 2
    assert 75 in slips(37, "+", 48) and 76 in slips(85, "-", 19)


def test_sample_is_deterministic() -> None:
    task = ArithmeticTask(min_steps=1, max_steps=2)
    a = task.sample(40, seed=5)
    assert a == task.sample(40, seed=5)
    assert a[:10] == task.sample(10, seed=5)  # prefix-stable
    assert a != task.sample(40, seed=6)
    assert task.sample(40, seed=5, split="test") != task.sample(40, seed=5, split="validation")
    assert [p.id for p in a[:2]] == ["arith-train-5-0", "arith-train-5-1"]
    assert task.sample(2, seed=-3, split="test")[1].id == "arith-test--3-1"
    assert task.sample(0, seed=0) == []


def test_splits_are_disjoint() -> None:
    task = ArithmeticTask(min_steps=1, max_steps=2, max_operand=20)
    prompts = {
        split: {p.prompt for seed in (0, 1) for p in task.sample(300, seed=seed, split=split)}
        for split in SPLITS
    }
    for split, found in prompts.items():
        assert all(split_of(prompt) == split for prompt in found)
    assert not prompts["train"] & prompts["test"]
    assert not prompts["train"] & prompts["validation"]
    assert not prompts["validation"] & prompts["test"]
    # The rule is a fixed hash of the text: about 3/4 of all prompts are train.
    all_prompts = [f"{a}+{b}=?\n" for a in range(1, 60) for b in range(1, 60)]
    train = sum(split_of(p) == "train" for p in all_prompts) / len(all_prompts)
    assert 0.70 < train < 0.80


def test_grader_agrees_with_solution_correct() -> None:
    for task in (ArithmeticTask(), ArithmeticTask(allow_negative=True, max_operand=50)):
        problems = task.sample(300, seed=11)
        solutions = [p.solution or "" for p in problems]
        rewards, _ = rlv.grade_batch(solutions, [p.gold for p in problems], mode="strict")
        for p, reward in zip(problems, rewards, strict=True):
            assert rlv.grade(p.solution or "", p.gold, mode="strict").correct is p.solution_correct
            assert reward == (1.0 if p.solution_correct else 0.0)
        assert 50 < sum(not p.solution_correct for p in problems) < 250


@pytest.mark.parametrize("allow_negative", [False, True])
def test_error_fraction(allow_negative: bool) -> None:
    task = ArithmeticTask(error_rate=0.4, max_operand=30, allow_negative=allow_negative)
    problems = task.sample(2000, seed=2)
    eligible = [has_eligible_step(p.prompt, allow_negative) for p in problems]
    assert all(p.solution_correct for p, ok in zip(problems, eligible, strict=True) if not ok)
    expected = 0.4 * sum(eligible) / len(problems)
    observed = sum(not p.solution_correct for p in problems) / len(problems)
    assert 0.2 < expected < 0.4
    assert abs(observed - expected) < 0.05


def test_error_rate_extremes() -> None:
    never = ArithmeticTask(error_rate=0.0).sample(300, seed=0)
    assert all(p.solution_correct for p in never)
    task = ArithmeticTask(error_rate=1.0, max_operand=9, min_steps=1, max_steps=3)
    always = task.sample(300, seed=0)
    for p in always:
        check_problem(task, p)
        # Wrong exactly when a slip is possible.
        assert p.solution_correct is not has_eligible_step(p.prompt, False)
    assert 0 < sum(p.solution_correct is False for p in always) < 300


def test_no_negatives_unless_allowed() -> None:
    task = ArithmeticTask(min_steps=4, max_steps=6, max_operand=20, allow_negative=True)
    problems = task.sample(200, seed=4)
    for p in problems:
        check_problem(task, p)
    assert any(int(p.gold) < 0 for p in problems)
    strict = ArithmeticTask(min_steps=4, max_steps=6, max_operand=20)
    for p in strict.sample(200, seed=4):
        check_problem(strict, p)
        assert int(p.gold) >= 0
    assert any("-" in p.prompt for p in strict.sample(50, seed=4))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"min_steps": 1, "max_steps": 1, "max_operand": 9},
        {"min_steps": 6, "max_steps": 8, "max_operand": 999, "error_rate": 1.0},
        {"min_steps": 5, "max_steps": 5, "max_operand": 99, "allow_negative": True},
    ],
)
def test_max_solution_chars_bounds_samples(kwargs: dict[str, Any]) -> None:
    task = ArithmeticTask(**kwargs)
    problems = task.sample(300, seed=9)
    longest = max(len(p.solution or "") for p in problems)
    assert longest <= task.max_solution_chars()
    assert max(len(p.prompt) for p in problems) <= task.max_prompt_chars()
    assert task.max_solution_chars() < 3 * longest  # a bound, but not a silly one


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"min_steps": 0}, ValueError, "min_steps"),
        ({"min_steps": 3, "max_steps": 2}, ValueError, "max_steps"),
        ({"max_operand": 0}, ValueError, "max_operand"),
        ({"error_rate": 1.5}, ValueError, "error_rate"),
        ({"error_rate": float("nan")}, ValueError, "error_rate"),
        ({"error_rate": "0.1"}, TypeError, "error_rate"),
        ({"min_steps": 2.0}, TypeError, "min_steps"),
        ({"max_steps": True}, TypeError, "max_steps"),
        ({"allow_negative": 1}, TypeError, "allow_negative"),
        ({"systematic_rate": -0.1}, ValueError, "systematic_rate"),
        ({"systematic_rate": None}, TypeError, "systematic_rate"),
        ({"hard_digit": 0}, ValueError, "hard_digit"),
        ({"hard_digit": 7.0}, TypeError, "hard_digit"),
    ],
)
def test_task_validation(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        ArithmeticTask(**kwargs)


def test_task_is_frozen_and_keyword_only() -> None:
    task = ArithmeticTask()
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.max_steps = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        ArithmeticTask(3, 4)  # type: ignore[misc]


def test_sample_arguments() -> None:
    task = ArithmeticTask()
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        task.sample(1, seed=0, split="dev")
    with pytest.raises(ValueError, match="n must be"):
        task.sample(-1, seed=0)
    with pytest.raises(TypeError, match="seed"):
        task.sample(1, seed=1.0)  # type: ignore[arg-type]


def test_tiny_configuration_without_test_prompts() -> None:
    # Only "1+1=?\n" and "1-1=?\n" exist; a split holding neither cannot be sampled.
    task = ArithmeticTask(min_steps=1, max_steps=1, max_operand=1)
    splits = {split_of("1+1=?\n"), split_of("1-1=?\n")}
    missing = next(s for s in SPLITS if s not in splits)
    with pytest.raises(ValueError, match="too few distinct problems"):
        task.sample(1, seed=0, split=missing)
    present = next(iter(splits))
    assert len(task.sample(5, seed=0, split=present)) == 5


@settings(max_examples=40)
@given(
    seed=st.integers(-(2**31), 2**31),
    min_steps=st.integers(1, 4),
    extra_steps=st.integers(0, 3),
    max_operand=st.integers(1, 500),
    error_rate=st.floats(0.0, 1.0),
    allow_negative=st.booleans(),
    split=st.sampled_from(SPLITS),
)
def test_arithmetic_properties(
    seed: int,
    min_steps: int,
    extra_steps: int,
    max_operand: int,
    error_rate: float,
    allow_negative: bool,
    split: str,
) -> None:
    task = ArithmeticTask(
        min_steps=min_steps,
        max_steps=min_steps + extra_steps,
        max_operand=max_operand,
        error_rate=error_rate,
        allow_negative=allow_negative,
    )
    try:
        problems = task.sample(15, seed=seed, split=split)
    except ValueError as exc:  # only a tiny problem space may lack a split
        assert "too few distinct problems" in str(exc)
        steps = range(min_steps, min_steps + extra_steps + 1)
        assert sum(max_operand ** (s + 1) * 2**s for s in steps) < 200
        return
    for i, p in enumerate(problems):
        assert p.id == f"arith-{split}-{seed}-{i}"
        assert split_of(p.prompt) == split
        check_problem(task, p)


def is_hard(left: int, op: str, x: int, hard_digit: int) -> bool:
    """Reference: the operand's units digit is >= hard_digit and the units column carries
    (``+``) or borrows (``-``), on a non-negative left side."""
    if left < 0 or x % 10 < hard_digit:
        return False
    return left % 10 + x % 10 >= 10 if op == "+" else (left >= x and left % 10 < x % 10)


@settings(max_examples=40)
@given(
    seed=st.integers(0, 2**31),
    rate=st.floats(0.0, 1.0),
    hard_digit=st.integers(1, 9),
    max_operand=st.integers(5, 60),
)
def test_systematic_slips(seed: int, rate: float, hard_digit: int, max_operand: int) -> None:
    task = ArithmeticTask(
        min_steps=2, max_steps=4, max_operand=max_operand, error_rate=0.0,
        systematic_rate=rate, hard_digit=hard_digit,
    )  # fmt: skip
    for p in task.sample(20, seed=seed):
        steps, final = parse_solution(p.solution or "")
        assert p.gold == str(evaluate(p.prompt)) and final == steps[-1][3]
        assert p.solution_correct is (final == int(p.gold))
        for left, op, x, result in steps:
            right = left + x if op == "+" else left - x
            if result != right:  # a slip happens only at a hard step: the carry forgotten
                assert is_hard(left, op, x, hard_digit)
                assert result == (right - 10 if op == "+" else right + 10)
            assert result >= 0
        assert len(p.solution or "") <= task.max_solution_chars()


def test_systematic_slips_are_systematic() -> None:
    # rate 1: every hard step is slipped, so the demonstration is a function of the problem
    task = ArithmeticTask(min_steps=2, max_steps=3, max_operand=9, error_rate=0.0,
                          systematic_rate=1.0)  # fmt: skip
    problems = task.sample(400, seed=0)
    for p in problems:
        steps, _ = parse_solution(p.solution or "")
        for j, (left, op, x, result) in enumerate(steps):
            right = left + x if op == "+" else left - x
            wrong = right - 10 if op == "+" else right + 10
            rest = [wrong]
            for _, op2, y, _ in steps[j + 1 :]:
                rest.append(rest[-1] + (y if op2 == "+" else -y))
            # slipped exactly at the hard steps whose rest of the chain stays non-negative
            assert (result != right) is (is_hard(left, op, x, 7) and min(rest) >= 0)
    hard_share = sum(not p.solution_correct for p in problems) / len(problems)
    assert 0.3 < hard_share < 0.7  # a sizeable share of problems, not all of them
    # rate 0 leaves the random-slip task exactly as it was (same stream, same problems)
    off = ArithmeticTask(min_steps=2, max_steps=3, max_operand=9, systematic_rate=0.0)
    assert off.sample(200, seed=5) == ArithmeticTask(
        min_steps=2, max_steps=3, max_operand=9
    ).sample(200, seed=5)


def test_rewrite_style() -> None:
    task = ArithmeticTask(max_operand=9, min_steps=2, max_steps=3, style="rewrite")
    problems = task.sample(300, seed=2)
    bound = task.max_solution_chars()
    for p in problems:
        assert p.solution is not None and len(p.solution) <= bound
        ops, operands = parse_prompt(p.prompt)
        terms = [f"{op}{x}" for op, x in zip(ops[1:], operands[1:], strict=True)]
        *lines, last = p.solution.split("\n")
        assert len(lines) == len(terms)
        shown = int(re.fullmatch(r"#### (-?\d+)", last)[1])  # type: ignore[index]
        for j, line in enumerate(lines):
            m = re.fullmatch(r"=(-?\d+)(.*)", line)
            assert m is not None and m[2] == "".join(terms[j + 1 :])
        assert int(re.fullmatch(r"=(-?\d+)", lines[-1])[1]) == shown  # type: ignore[index]
        assert (shown == evaluate(p.prompt)) == p.solution_correct
        assert rlv.grade(p.solution, p.gold, mode="strict").correct == p.solution_correct
    assert any(not p.solution_correct for p in problems)
    with pytest.raises(ValueError, match="style"):
        ArithmeticTask(style="prose")


# ---------------------------------------------------------------------------------------------
# Parquet files and saved Hugging Face dataset directories (rlv train's data.path)

ROWS = [
    {
        "problem": "What is $1+1$?",
        "answer": "2",
        "solution": "It is $\\boxed{2}$.",
        "unique_id": "a",
    },
    {"problem": "What is $2\\cdot 3$?", "answer": "6", "solution": "", "unique_id": "b"},
    {"problem": "Solve $x+1=3$.", "answer": "x=2", "solution": "So $x=2$.", "unique_id": "c"},
]


def _arrow_dir(root: Path, tables: list[Any]) -> Path:
    """The layout ``Dataset.save_to_disk`` writes: Arrow stream shards listed in state.json."""
    import pyarrow as pa

    root.mkdir()
    names = []
    for i, t in enumerate(tables):
        name = f"data-{i:05d}-of-{len(tables):05d}.arrow"
        with pa.OSFile(str(root / name), "wb") as sink, pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        names.append({"filename": name})
    (root / "state.json").write_text(json.dumps({"_data_files": names, "_split": None}))
    return root


def test_parquet_and_arrow_dir_read_like_jsonl(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from rlv.tasks import load_problems_file

    want = load_jsonl(write_jsonl(tmp_path / "p.jsonl", ROWS), prompt_template="Q: {prompt}")
    table = pa.Table.from_pylist(ROWS)
    pq.write_table(table, tmp_path / "p.parquet")
    got_pq = load_problems_file(tmp_path / "p.parquet", prompt_template="Q: {prompt}")
    # two shards, read in state.json's order
    d = _arrow_dir(tmp_path / "ds", [table.slice(0, 2), table.slice(2)])
    got_dir = load_problems_file(d, prompt_template="Q: {prompt}")
    assert got_pq == want == got_dir
    assert [p.id for p in want] == ["a", "b", "c"] and want[1].solution is None
    # explicit fields and default ids (name-row) work the same way
    got = load_problems_file(tmp_path / "p.parquet", prompt_field="problem", gold_field="answer")
    assert [(p.id, p.gold) for p in got] == [("a", "2"), ("b", "6"), ("c", "x=2")]
    pq.write_table(pa.Table.from_pylist([{"question": "1+1?", "answer": "so\n#### 1,002"}]),
                   tmp_path / "g.parquet")  # fmt: skip
    (g,) = load_problems_file(tmp_path / "g.parquet")
    assert (g.id, g.gold) == ("g-1", "1002")
    assert load_problems_file(tmp_path / "p.jsonl") == load_jsonl(tmp_path / "p.jsonl")


def test_saved_hf_dataset_directory(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    from rlv.tasks import load_problems_file

    ds = datasets.Dataset.from_list(ROWS)
    ds.save_to_disk(str(tmp_path / "ds"))
    assert load_problems_file(tmp_path / "ds") == load_jsonl(
        write_jsonl(tmp_path / "p.jsonl", ROWS)
    )
    # a selection (an indices mapping) is saved flattened, in the selected order
    ds.select([2, 0]).save_to_disk(str(tmp_path / "sel"))
    assert [p.id for p in load_problems_file(tmp_path / "sel")] == ["c", "a"]
    datasets.DatasetDict({"train": ds, "test": ds}).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(DataError, match="DatasetDict.*dd/train"):
        load_problems_file(tmp_path / "dd")
    assert len(load_problems_file(tmp_path / "dd" / "train")) == 3


def test_bad_parquet_and_dataset_dirs_are_data_errors(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from rlv.tasks import load_problems_file

    rows = [ROWS[0], {"problem": "No gold here", "answer": None, "unique_id": "z"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=r"bad\.parquet:2: gold field 'answer'"):
        load_problems_file(tmp_path / "bad.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        load_problems_file(tmp_path / "junk.parquet")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="no state.json"):
        load_problems_file(tmp_path / "plain")
    d = _arrow_dir(tmp_path / "ds", [pa.Table.from_pylist(ROWS)])
    (d / "data-00000-of-00001.arrow").unlink()
    with pytest.raises(DataError, match="missing"):
        load_problems_file(d)
    with pytest.raises(FileNotFoundError):
        load_problems_file(tmp_path / "nope.parquet")
