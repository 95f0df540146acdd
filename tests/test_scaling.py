"""Scaling estimators against plain NumPy/Python references, and their properties."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlv import scaling

KS = [1, 2, 3, 4, 8, 16]


def ref_pass(n: int, c: int, k: int) -> float:
    if k > n:
        return math.nan
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


def ref_best_of(scores: list[float], correct: list[bool], has_class: list[bool], k: int) -> float:
    """Exact expectation over every k-subset, ties in score as a uniform choice."""
    n = len(scores)
    total = Fraction(0)
    subsets = list(itertools.combinations(range(n), k))
    for sub in subsets:
        cand = [i for i in sub if has_class[i]]
        if not cand:
            continue
        best = max(scores[i] for i in cand)
        tied = [i for i in cand if scores[i] == best]
        total += Fraction(sum(correct[i] for i in tied), len(tied))
    return float(total / len(subsets))


def ref_vote(cls: list[int], w: list[float] | None, class_correct: list[bool], k: int) -> float:
    """Exact mean credit of majority (w None) or weighted vote over every k-subset."""
    n = len(cls)
    total = Fraction(0)
    subsets = list(itertools.combinations(range(n), k))
    for sub in subsets:
        tally: dict[int, Fraction] = {}
        for i in sub:
            if cls[i] >= 0:
                tally[cls[i]] = tally.get(cls[i], Fraction(0)) + (
                    Fraction(w[i]) if w is not None else 1
                )
        if not tally:
            continue
        best = max(tally.values())
        tied = [c for c, v in tally.items() if v == best]
        total += Fraction(sum(class_correct[c] for c in tied), len(tied))
    return float(total / len(subsets))


@st.composite
def problems(draw: st.DrawFn, max_n: int = 9) -> dict[str, list]:
    n = draw(st.integers(1, max_n))
    n_classes = draw(st.integers(1, 4))
    cls = draw(st.lists(st.integers(-1, n_classes - 1), min_size=n, max_size=n))
    used = sorted({c for c in cls if c >= 0})
    remap = {c: i for i, c in enumerate(used)}
    cls = [remap.get(c, -1) for c in cls]
    class_correct = draw(st.lists(st.booleans(), min_size=len(used), max_size=len(used)))
    sample_correct = [c >= 0 and class_correct[c] for c in cls]
    scores = draw(
        st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 0.3]), min_size=n, max_size=n)
    )
    return {"cls": cls, "cc": class_correct, "sc": sample_correct, "scores": scores}


def run(
    p: dict[str, list], ks: list[int], subsets: int = 100, seed: int = 0, threads: int | None = None
) -> np.ndarray:
    return scaling.estimate(
        [p["cls"]],
        [p["cc"]],
        [p["sc"]],
        [p["scores"]],
        ks=ks,
        subsets=subsets,
        seed=seed,
        num_threads=threads,
    )[0]


@given(problems())
def test_pass_and_best_of_match_reference(p: dict[str, list]) -> None:
    est = run(p, KS)
    n, c = len(p["cls"]), sum(p["sc"])
    has = [x >= 0 for x in p["cls"]]
    for j, k in enumerate(KS):
        if k > n:
            assert np.isnan(est[:, j]).all()
            continue
        assert est[0, j] == pytest.approx(ref_pass(n, c, k), abs=1e-9)
        assert est[0, j] == pytest.approx(scaling.pass_at_k(n, c, k), abs=1e-12)
        assert est[3, j] == pytest.approx(ref_best_of(p["scores"], p["sc"], has, k), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(problems(max_n=8))
def test_majority_weighted_within_monte_carlo_error(p: dict[str, list]) -> None:
    subsets = 4000
    est = run(p, KS, subsets=subsets)
    n = len(p["cls"])
    for j, k in enumerate(KS):
        if k > n:
            continue
        for row, w in ((1, None), (2, p["scores"])):
            exact = ref_vote(p["cls"], w, p["cc"], k)
            if k in (1, n):  # computed exactly
                assert est[row, j] == pytest.approx(exact, abs=1e-12)
            else:  # credit in [0, 1]: sd <= 0.5; 5 sigma
                assert abs(est[row, j] - exact) <= 5 * 0.5 / math.sqrt(subsets)


@given(problems(), st.randoms(use_true_random=False))
def test_permutation_invariance(p: dict[str, list], rnd: object) -> None:
    n = len(p["cls"])
    perm = list(range(n))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    q = {k: ([v[i] for i in perm] if k != "cc" else v) for k, v in p.items()}
    a, b = run(p, KS, subsets=3000), run(q, KS, subsets=3000)
    # Closed forms and the exact points are invariant exactly; subsets within MC error.
    np.testing.assert_allclose(a[[0, 3]], b[[0, 3]], atol=1e-12)
    for j, k in enumerate(KS):
        if k > n:
            continue
        tol = 1e-12 if k in (1, n) else 10 * 0.5 / math.sqrt(3000)
        assert abs(a[1, j] - b[1, j]) <= tol and abs(a[2, j] - b[2, j]) <= tol


@given(problems())
def test_k_equals_n_is_the_full_pool_vote(p: dict[str, list]) -> None:
    n = len(p["cls"])
    est = run(p, [n])
    assert est[1, 0] == pytest.approx(ref_vote(p["cls"], None, p["cc"], n), abs=1e-12)
    assert est[2, 0] == pytest.approx(ref_vote(p["cls"], p["scores"], p["cc"], n), abs=1e-12)


@given(problems(), st.sampled_from([0.3, 0.5, 1.0, 0.001]))
def test_equal_weights_make_weighted_equal_majority(p: dict[str, list], w: float) -> None:
    p = {**p, "scores": [w] * len(p["cls"])}
    est = run(p, KS)
    np.testing.assert_array_equal(est[1], est[2])


def test_thread_count_and_batch_split_invariance() -> None:
    rng = np.random.default_rng(0)
    probs = []
    for _ in range(40):
        n = int(rng.integers(1, 64))
        cls = rng.integers(-1, 5, n)
        cc = rng.random(5) < 0.4
        probs.append((cls, cc, np.array([c >= 0 and cc[c] for c in cls]), rng.random(n)))
    cols = [list(x) for x in zip(*probs, strict=True)]
    ks = [1, 2, 4, 8, 16, 32, 64]
    one = scaling.estimate(*cols, ks=ks, seed=3, num_threads=1)
    two = scaling.estimate(*cols, ks=ks, seed=3, num_threads=2)
    np.testing.assert_array_equal(one, two)
    # Split in two batches: the second continues the problem numbering.
    head = scaling.estimate(*[c[:15] for c in cols], ks=ks, seed=3)
    tail = scaling.estimate(*[c[15:] for c in cols], ks=ks, seed=3, first_index=15)
    np.testing.assert_array_equal(np.concatenate([head, tail]), one)
    other_seed = scaling.estimate(*cols, ks=ks, seed=4)
    assert not np.array_equal(np.nan_to_num(one), np.nan_to_num(other_seed))


def test_no_scores_gives_nan_rows_and_validation() -> None:
    est = scaling.estimate([[0, 1]], [[True, False]], [[True, False]], ks=[1, 2])
    assert np.isnan(est[0, 2:]).all() and not np.isnan(est[0, :2]).any()
    with pytest.raises(ValueError, match="k >= 1"):
        scaling.estimate([[0]], [[True]], [[True]], ks=[0])
    with pytest.raises(ValueError, match="class"):
        scaling.estimate([[3]], [[True]], [[True]], ks=[1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        scaling.estimate([[0]], [[True]], [[True]], [[2.0]], ks=[1])


def test_default_ks_and_pass_at_k() -> None:
    assert scaling.default_ks(512) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert scaling.default_ks(100) == [1, 2, 4, 8, 16, 32, 64, 100]
    assert scaling.pass_at_k(10, 0, 3) == 0.0
    assert scaling.pass_at_k(10, 10, 1) == 1.0
    assert scaling.pass_at_k(4, 1, 2) == pytest.approx(0.5)
    assert math.isnan(scaling.pass_at_k(2, 1, 3))


def test_summarize_normal_and_bootstrap() -> None:
    est = np.full((4, 4, 2), np.nan)
    est[:, 0, 0] = [0.0, 1.0, 1.0, 0.0]
    est[:2, 1, 1] = [0.5, 0.5]
    s = scaling.summarize(est, [1, 2])
    assert s["curves"] == {"pass": {"1": 0.5}, "majority": {"2": 0.5}}
    assert s["counts"] == {"pass": {"1": 4}, "majority": {"2": 2}}
    est[:, 0, 1] = [0.5, 0.6, 0.7, 0.6]
    s = scaling.summarize(est, [1, 2])
    half = 1.959964 * np.std([0.5, 0.6, 0.7, 0.6], ddof=1) / 2
    assert s["ci"]["pass"]["2"] == pytest.approx([0.6 - half, 0.6 + half], abs=1e-5)
    assert s["ci"]["pass"]["1"] == [0.0, 1.0]  # clipped to [0, 1]
    b = scaling.summarize(est, [1, 2], ci="bootstrap", seed=1)
    lo, hi = b["ci"]["pass"]["1"]
    assert 0.0 <= lo <= 0.5 <= hi <= 1.0


def test_efficiency_ratio() -> None:
    base = {"1": 0.5, "2": 0.6, "4": 0.7, "8": 0.75}
    eff = scaling.efficiency_ratio(base, {1: 0.6, 2: 0.65, 4: 0.8})
    assert eff.per_k[1] == pytest.approx(2.0)  # base reaches 0.6 at N = 2
    # 0.65 lies halfway between log2 N = 1 and 2: N = 2^1.5, over k = 2.
    assert eff.per_k[2] == pytest.approx(2**1.5 / 2)
    assert eff.per_k[4] is None and eff.at_least[4] == 2.0
    assert eff.headline_k == 2 and eff.headline == pytest.approx(2**0.5)
    # A dip in the baseline does not create a crossing.
    dip = scaling.efficiency_ratio({1: 0.5, 2: 0.4, 4: 0.6}, {1: 0.55})
    assert dip.per_k[1] == pytest.approx(2 ** (1 + 0.5))
