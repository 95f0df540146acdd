"""Votes and answer classes: ties, errors, and classes equal to pairwise is_equiv grouping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rlv

# Answers whose equivalence is known: same letter = same class.
POOL = {
    "a": ["\\frac12", "0.5", "\\dfrac{1}{2}", "1/2", "\\left(\\frac{1}{2}\\right)"],
    "b": ["3", "3.0", "{3}", "\\frac{6}{2}"],
    "c": ["x+1", "1+x", "\\left(x+1\\right)"],
    "d": ["(1,2)", "(1, 2)", "\\left(1,2\\right)"],
    "e": ["\\sqrt{2}", "\\sqrt2", "2^{1/2}"],
    "f": ["x = 7", "7"],
    "g": ["\\text{Paris}", "Paris"],
}


def test_vote_majority_classes_by_equivalence() -> None:
    v = rlv.vote(["\\frac12", "0.5", "3", None, "1/2", "", "3.0"])
    assert v.answer == "\\frac12"
    assert v.members == (0, 1, 4)
    assert v.support == 3.0
    assert v.classes == 2
    assert v.class_of.tolist() == [0, 0, 1, -1, 0, -1, 1]
    assert v.tied == 1 and not v.truncated


def test_majority_tie_first_appearance_ignores_scores() -> None:
    v = rlv.vote(["4", "5", "5", "4"], [0.1, 0.9, 0.9, 0.1])
    assert v.answer == "4" and v.tied == 2


def test_weighted_and_best_of_n() -> None:
    answers = ["a", "b", "b", "a", "c"]
    scores = [0.9, 0.2, 0.3, 0.1, 0.95]
    w = rlv.vote(answers, scores, method="weighted")
    assert w.answer == "a" and w.support == pytest.approx(1.0)
    b = rlv.vote(answers, scores, method="best_of_n")
    assert b.answer == "c" and b.index == 4 and b.support == 0.95
    # Weighted tie (0.5 + 0.5 vs 1.0): first appearance.
    t = rlv.vote(["x", "y", "x"], [0.5, 1.0, 0.5], method="weighted")
    assert t.answer == "x" and t.tied == 2


def test_no_answers() -> None:
    v = rlv.vote([None, "", "   "])
    assert v.answer is None and v.index is None and v.members == () and v.classes == 0


def test_unreadable_answers_form_no_class() -> None:
    v = rlv.vote(["\\frac{", "\\frac{", "2"])
    assert v.answer == "2" and v.class_of.tolist() == [-1, -1, 0]


@pytest.mark.parametrize(
    ("scores", "method", "match"),
    [
        (None, "weighted", "scores"),
        ([0.5, 0.5], "weighted", "length"),
        ([0.5, float("nan"), 0.5], "weighted", r"\[0, 1\]"),
        ([0.5, 1.5, 0.5], "best_of_n", r"\[0, 1\]"),
        ([0.5, -0.1, 0.5], "best_of_n", r"\[0, 1\]"),
        (None, "plurality", "method"),
    ],
)
def test_bad_input_raises(scores: list[float] | None, method: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rlv.vote(["1", "2", "1"], scores, method=method)  # type: ignore[arg-type]


def test_batch_equals_single() -> None:
    pools = [["1", "2", "2"], ["\\frac12", "0.5", "x"], [None], ["3"] * 5]
    scores = [np.linspace(0, 1, len(p)) for p in pools]
    for method in ("majority", "weighted", "best_of_n"):
        batch = rlv.vote_batch(pools, scores, method=method, num_threads=2)  # type: ignore[arg-type]
        for p, s, b in zip(pools, scores, batch, strict=True):
            single = rlv.vote(p, s, method=method)  # type: ignore[arg-type]
            assert (single.answer, single.members, single.support) == (
                b.answer,
                b.members,
                b.support,
            )


def partition(class_of: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for i, c in enumerate(class_of.tolist()):
        if c >= 0:
            groups.setdefault(c, set()).add(i)
    return {frozenset(g) for g in groups.values()}


def pairwise_components(answers: list[str]) -> set[frozenset[int]]:
    """Connected components of rlv.is_equiv over the samples (the reference grouping)."""
    n = len(answers)
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i in range(n):
        for j in range(i + 1, n):
            if rlv.is_equiv(answers[i], answers[j]):
                parent[find(j)] = find(i)
    comps: dict[int, set[int]] = {}
    for i in range(n):
        comps.setdefault(find(i), set()).add(i)
    return {frozenset(c) for c in comps.values()}


@given(st.lists(st.sampled_from([a for v in POOL.values() for a in v]), min_size=1, max_size=14))
def test_classes_equal_pairwise_is_equiv(answers: list[str]) -> None:
    assert partition(rlv.cluster(answers)) == pairwise_components(answers)


@given(
    st.lists(st.sampled_from([a for v in POOL.values() for a in v]), min_size=1, max_size=12),
    st.randoms(use_true_random=False),
)
def test_classes_permutation_invariant(answers: list[str], rnd: object) -> None:
    perm = list(range(len(answers)))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    shuffled = [answers[i] for i in perm]
    a = partition(rlv.cluster(answers))
    b = {frozenset(perm[i] for i in g) for g in partition(rlv.cluster(shuffled))}
    assert a == b


def test_known_classes() -> None:
    answers = [a for v in POOL.values() for a in v]
    labels = [k for k, v in POOL.items() for _ in v]
    expected = {frozenset(i for i, lab in enumerate(labels) if lab == k) for k in POOL}
    assert partition(rlv.cluster(answers)) == expected


def test_comparison_cap_is_reported() -> None:
    answers = [f"x + {i}y" for i in range(60)]
    v = rlv.vote(answers, max_comparisons=10)
    assert v.truncated
    assert v.classes == 60
