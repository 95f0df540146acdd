"""The Python binding surface of rlv: types, shapes, errors, GIL release, thread invariance, CLI.

Grading *correctness* is tested elsewhere (conformance tables, properties); these tests only
pin the contract of the API and the extension module.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import rlv
from rlv import _core

# A mixed batch that exercises every path that does not depend on the grader's maths.
COMPLETIONS = [
    "so the answer is $\\boxed{3}$",
    "we conclude \\boxed{\\frac{1}{2}}",
    "no answer here at all",
    "\\boxed{4}",
    "#### 1,234",
    "\\boxed{\ud800}",
    "",
    "\\boxed{2}",
]
GOLDS = ["3", "0.5", "7", "5", "1234", "1", "1", "   "]


def _run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rlv", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --------------------------------------------------------------------------------------------
# module surface


def test_public_names() -> None:
    for name in rlv.__all__:
        assert hasattr(rlv, name), name
    assert isinstance(rlv.__version__, str) and rlv.__version__
    assert rlv.__version__ == _core.__version__


def test_statuses_match_core_codes() -> None:
    assert rlv.STATUSES == (
        "equal",
        "not_equal",
        "no_answer",
        "unparseable",
        "budget_exceeded",
        "invalid_gold",
    )
    assert tuple(_core.status_names()) == rlv.STATUSES
    assert {rlv.STATUSES[c]: c for c in range(6)} == rlv.STATUS_CODES


def test_exceptions_tree() -> None:
    from rlv.exceptions import InternalError, RlvError

    assert issubclass(RlvError, Exception)
    assert issubclass(InternalError, RlvError)
    assert RlvError.__module__ == "rlv.exceptions"
    assert rlv.RlvError is RlvError


# --------------------------------------------------------------------------------------------
# extract_answer / is_equiv / grade


def test_extract_answer_types() -> None:
    assert rlv.extract_answer("blah \\boxed{42}") == "42"
    assert rlv.extract_answer("blah \\boxed{42}", return_rule=True) == ("42", "boxed")
    assert rlv.extract_answer_rule("blah \\boxed{42}", mode="strict") == ("42", "boxed")
    assert rlv.extract_answer("") is None
    assert rlv.extract_answer("", return_rule=True) == (None, None)


def test_is_equiv_returns_bool() -> None:
    assert rlv.is_equiv("42", "42") is True
    assert rlv.is_equiv("42", "43") is False
    assert rlv.is_equiv_status("42", "42") == "equal"
    assert rlv.is_equiv_status("42", "43") in rlv.STATUSES


def test_grade_returns_frozen_verdict() -> None:
    v = rlv.grade("so \\boxed{42}", "42")
    assert isinstance(v, rlv.Verdict)
    assert v == rlv.Verdict(
        correct=True, status="equal", answer="42", rule="boxed", gold_answer="42"
    )
    assert v.to_dict() == {
        "correct": True,
        "status": "equal",
        "answer": "42",
        "rule": "boxed",
        "gold_answer": "42",
    }
    json.dumps(v.to_dict())
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.status = "not_equal"  # type: ignore[misc]


def test_grade_no_answer_and_invalid_gold() -> None:
    v = rlv.grade("nothing to see", "42", mode="strict")
    assert (v.correct, v.status, v.answer, v.rule, v.gold_answer) == (
        False,
        "no_answer",
        None,
        None,
        "42",
    )
    v = rlv.grade("\\boxed{1}", "   ")
    assert v.status == "invalid_gold" and not v.correct and v.gold_answer is None


@pytest.mark.parametrize(
    "text", ["\ud800", "\\boxed{\udfff}", "x \udc80 #### 5", "\\boxed{é\ud83d}"]
)
def test_lone_surrogates_get_a_status(text: str) -> None:
    v = rlv.grade(text, "5")
    assert v.status in rlv.STATUSES
    assert rlv.is_equiv_status(text, "5") in rlv.STATUSES
    assert rlv.is_equiv_status("5", text) in rlv.STATUSES
    rlv.extract_answer(text)
    rewards, codes = rlv.grade_batch([text, "\\boxed{5}"], ["5", text])
    assert rewards.shape == codes.shape == (2,)


def test_surrogate_is_replaced_not_dropped() -> None:
    answer = rlv.extract_answer("\\boxed{a\ud800b}")
    assert answer == "a\ufffdb"


# --------------------------------------------------------------------------------------------
# grade_batch


def test_grade_batch_types_shapes_dtypes() -> None:
    rewards, codes = rlv.grade_batch(COMPLETIONS, GOLDS)
    assert isinstance(rewards, np.ndarray) and isinstance(codes, np.ndarray)
    assert rewards.dtype == np.float32 and codes.dtype == np.int8
    assert rewards.shape == codes.shape == (len(COMPLETIONS),)
    assert rewards.flags.writeable and rewards.flags.c_contiguous
    assert set(codes.tolist()) <= set(range(len(rlv.STATUSES)))


def test_grade_batch_matches_grade() -> None:
    rewards, codes = rlv.grade_batch(COMPLETIONS, GOLDS, mode="strict")
    for i, (c, g) in enumerate(zip(COMPLETIONS, GOLDS, strict=True)):
        v = rlv.grade(c, g, mode="strict")
        assert rlv.STATUSES[codes[i]] == v.status
        if v.status == "equal":
            assert rewards[i] == 1.0
        elif v.status == "invalid_gold":
            assert math.isnan(rewards[i])
        else:
            assert rewards[i] == 0.0


def test_grade_batch_status_names() -> None:
    _, codes = rlv.grade_batch(COMPLETIONS, GOLDS)
    _, names = rlv.grade_batch(COMPLETIONS, GOLDS, return_status_names=True)
    assert names.shape == codes.shape
    assert names.tolist() == [rlv.STATUSES[c] for c in codes]
    assert names[-1] == "invalid_gold"


def test_grade_batch_empty() -> None:
    rewards, codes = rlv.grade_batch([], [])
    assert rewards.shape == codes.shape == (0,)
    assert rewards.dtype == np.float32 and codes.dtype == np.int8


def test_grade_batch_accepts_tuples_arrays_iterables() -> None:
    ref = rlv.grade_batch(COMPLETIONS[:5], GOLDS[:5])
    for comps, golds in [
        (tuple(COMPLETIONS[:5]), tuple(GOLDS[:5])),
        (np.array(COMPLETIONS[:5]), np.array(GOLDS[:5])),
        (iter(COMPLETIONS[:5]), (g for g in GOLDS[:5])),
    ]:
        got = rlv.grade_batch(comps, golds)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])


def test_grade_batch_length_mismatch() -> None:
    with pytest.raises(ValueError, match="completions has length 2, but golds has length 3"):
        rlv.grade_batch(["a", "b"], ["a", "b", "c"])
    with pytest.raises(ValueError, match="completions has length 2, but golds has length 3"):
        _core.grade_batch(["a", "b"], ["a", "b", "c"])


def test_grade_batch_type_errors() -> None:
    with pytest.raises(TypeError, match=r"completions\[1\] must be str, not int"):
        rlv.grade_batch(["a", 1], ["a", "b"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a single str"):
        rlv.grade_batch("abc", ["a", "b", "c"])


def test_thread_count_invariance() -> None:
    comps = [c for _ in range(300) for c in COMPLETIONS]
    golds = [g for _ in range(300) for g in GOLDS]
    r1, s1 = rlv.grade_batch(comps, golds, num_threads=1)
    r2, s2 = rlv.grade_batch(comps, golds, num_threads=2)
    r4, s4 = rlv.grade_batch(comps, golds, num_threads=4)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(s1, s4)
    np.testing.assert_array_equal(r1, r2)  # NaN == NaN for assert_array_equal
    np.testing.assert_array_equal(r1, r4)


def test_parallelism_env_gives_identical_results() -> None:
    code = (
        "import rlv, sys, json\n"
        "from tests_api_payload import C, G\n"
        "r, s = rlv.grade_batch(C * 50, G * 50)\n"
        "print(json.dumps(s.tolist()))\n"
    )
    outs = []
    for env in ({"RLV_PARALLELISM": "0"}, {"RLV_PARALLELISM": "1", "RLV_NUM_THREADS": "3"}):
        payload = f"C = {COMPLETIONS!r}\nG = {GOLDS!r}\n"
        full = code.replace("from tests_api_payload import C, G\n", payload)
        res = subprocess.run(
            [sys.executable, "-c", full],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        outs.append(json.loads(res.stdout))
    assert outs[0] == outs[1]


def test_gil_released_during_grade_batch() -> None:
    """A second Python thread keeps running while grade_batch works on a big batch."""
    filler = "Let us think step by step about this problem. " * 40
    progress = 0
    n = 20_000
    for _ in range(6):
        comps = [f"{filler} so the answer is \\boxed{{{i % 97}}}" for i in range(n)]
        golds = [str(i % 89) for i in range(n)]
        stop = threading.Event()
        counter = [0]

        def spin(counter: list[int] = counter, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                counter[0] += 1

        t = threading.Thread(target=spin, daemon=True)
        t.start()
        time.sleep(0.02)  # let the counter thread get going
        before = counter[0]
        t0 = time.perf_counter()
        rlv.grade_batch(comps, golds, num_threads=1)
        elapsed = time.perf_counter() - t0
        progress = counter[0] - before
        stop.set()
        t.join()
        if elapsed >= 0.25:
            break
        n *= 2
    # While the GIL is held by a C call, the counter thread cannot run a single bytecode.
    assert progress > 1_000, (progress, elapsed, n)


_SIGINT_SCRIPT = r"""
import os, signal, threading, time
import rlv

signal.signal(signal.SIGINT, signal.default_int_handler)
comp, gold = "so $x = \boxed{\frac{3}{7}}$", "\frac{6}{14}"
t0 = time.perf_counter()
rlv.grade_batch([comp] * 20_000, [gold] * 20_000, num_threads=1)
per_item = (time.perf_counter() - t0) / 20_000
n = min(3_000_000, max(100_000, int(3.0 / per_item)))  # about 3 s of work
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
t0 = time.perf_counter()
try:
    rlv.grade_batch([comp] * n, [gold] * n, num_threads=1)
    print("finished", time.perf_counter() - t0)
except KeyboardInterrupt:
    print("interrupted", time.perf_counter() - t0)
"""


def test_ctrl_c_interrupts_grade_batch() -> None:
    """SIGINT during a long batch raises KeyboardInterrupt promptly (signals checked per chunk)."""
    res = subprocess.run(
        [sys.executable, "-c", _SIGINT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    verdict, seconds = res.stdout.split()
    assert verdict == "interrupted", res.stdout
    assert float(seconds) < 2.0, res.stdout


# --------------------------------------------------------------------------------------------
# option validation


@pytest.mark.parametrize(
    "call",
    [
        lambda: rlv.grade("a", "b", mode="loose"),  # type: ignore[arg-type]
        lambda: rlv.grade_batch(["a"], ["b"], mode="loose"),  # type: ignore[arg-type]
        lambda: rlv.extract_answer("a", mode="loose"),  # type: ignore[call-overload]
    ],
)
def test_bad_mode_lists_allowed_values(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        ValueError, match="invalid value 'loose' for option mode; allowed: 'lenient', 'strict'"
    ):
        call()


def test_bad_percent_lists_allowed_values() -> None:
    with pytest.raises(ValueError, match="allowed: 'strip', 'value', 'either'"):
        rlv.is_equiv("1", "1", percent="fraction")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="allowed: 'strip', 'value', 'either'"):
        rlv.grade_batch(["1"], ["1"], percent="fraction")  # type: ignore[arg-type]


def test_core_validates_options_too() -> None:
    with pytest.raises(ValueError, match="option mode"):
        _core.grade("a", "b", mode="loose")
    with pytest.raises(ValueError, match="option percent"):
        _core.is_equiv("a", "b", percent="x")
    with pytest.raises(ValueError, match="option rel_tol"):
        _core.grade_batch(["a"], ["b"], rel_tol=float("nan"))
    with pytest.raises(ValueError, match="option num_threads"):
        _core.grade_batch(["a"], ["b"], num_threads=0)


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"num_threads": 0}, ValueError),
        ({"rel_tol": -1.0}, ValueError),
        ({"rel_tol": float("inf")}, ValueError),
        ({"fuel": 0}, ValueError),
        ({"fuel": 2**64}, ValueError),
        ({"fuel": 1.5}, TypeError),
        ({"ordered_lists": "yes"}, TypeError),
    ],
)
def test_bad_numeric_options(kwargs: dict[str, object], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        rlv.grade_batch(["a"], ["b"], **kwargs)  # type: ignore[arg-type]


def test_non_str_scalar_inputs() -> None:
    with pytest.raises(TypeError):
        rlv.grade(b"\\boxed{1}", "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rlv.is_equiv("1", 1)  # type: ignore[arg-type]


def test_small_fuel_is_a_status_not_an_error() -> None:
    v = rlv.grade("\\boxed{2^{2^{2^{2}}}}", "65536", fuel=1)
    assert v.status in rlv.STATUSES


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_grade_json() -> None:
    res = _run_cli("grade", "--gold", "42", "so the answer is \\boxed{42}")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {
        "correct": True,
        "status": "equal",
        "answer": "42",
        "rule": "boxed",
        "gold_answer": "42",
    }


def test_cli_grade_stdin_and_options() -> None:
    res = _run_cli(
        "grade", "--gold", "7", "--mode", "strict", "--percent", "value", "-", stdin="x\n#### 8\n"
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["correct"] is False and out["answer"] == "8" and out["rule"] == "gsm8k"


def test_cli_grade_bad_choice_exits_2() -> None:
    res = _run_cli("grade", "--gold", "7", "--mode", "loose", "x")
    assert res.returncode == 2
    assert "invalid choice" in res.stderr


def test_cli_help_and_version() -> None:
    res = _run_cli("--help")
    assert res.returncode == 0 and "conformance" in res.stdout and "grade" in res.stdout
    res = _run_cli("--version")
    assert res.returncode == 0 and rlv.__version__ in res.stdout


def test_embedded_corpus_is_shipped_and_well_formed() -> None:
    from rlv.testing.conformance import default_cases_path

    path = default_cases_path()
    assert path.is_file()
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(cases) >= 60
    assert len({c["id"] for c in cases}) == len(cases)
    for c in cases:
        assert c["kind"] in ("answer_equiv", "grade"), c
        assert isinstance(c["expected"], bool), c
        assert isinstance(c["gold"], str), c
        assert isinstance(c["pred" if c["kind"] == "answer_equiv" else "completion"], str), c
        # every case must run without raising (the verdicts are the conformance suite's job)
        opts = c.get("options", {})
        if c["kind"] == "answer_equiv":
            assert rlv.is_equiv_status(c["gold"], c["pred"], **opts) in rlv.STATUSES
        else:
            assert rlv.grade(c["completion"], c["gold"], **opts).status in rlv.STATUSES


def test_cli_conformance_default_corpus() -> None:
    res = _run_cli("conformance")
    # The exit status reports the pass rate: every case of the embedded corpus passes.
    assert res.returncode == 0, res.stdout + res.stderr
    assert "non-policy:" in res.stdout and "(100.0 %)" in res.stdout, res.stdout


def test_min_decimals_option() -> None:
    assert rlv.is_equiv("1/3", "0.333")
    assert not rlv.is_equiv("1/3", "0.333", min_decimals=4)
    assert rlv.is_equiv("1/3", "0.3333", min_decimals=4)
    assert rlv.grade(r"\boxed{0.333}", "1/3", min_decimals=4).status == "not_equal"
    with pytest.raises(ValueError, match="min_decimals"):
        rlv.is_equiv("1", "1", min_decimals=65)


def test_core_rejects_unknown_options() -> None:
    with pytest.raises(TypeError, match="unexpected option"):
        rlv._core.is_equiv("1", "1", bogus=True)


def test_forked_child_can_grade_after_parent_used_the_pool() -> None:
    """A child created by fork() after the parent used rlv's thread pool (DataLoader workers,
    multiprocessing "fork") must build its own pool instead of waiting on threads that do not
    exist in the child (this used to hang)."""
    code = textwrap.dedent(
        """
        import multiprocessing as mp, sys, rlv

        def child(q):
            r, _ = rlv.grade_batch(["\\\\boxed{1}"] * 5000, ["1"] * 5000, num_threads=2)
            q.put(float(r.sum()))

        if __name__ == "__main__":
            rlv.grade_batch(["\\\\boxed{1}"] * 5000, ["1"] * 5000, num_threads=2)
            ctx = mp.get_context("fork")
            q = ctx.Queue()
            p = ctx.Process(target=child, args=(q,))
            p.start()
            p.join(30)
            if p.is_alive():
                p.kill()
                sys.exit("forked child hung")
            print(q.get(timeout=5))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=90, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "5000.0"
