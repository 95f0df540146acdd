"""rlv.advantages (rlv.rl.advantages): plain NumPy references, the worked examples of docs/advantages.md,
hypothesis properties, Rust vs torch-path equality, dtype/kind round-trips and errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rlv import advantages as adv

NAN = float("nan")

# --------------------------------------------------------------------------------------------
# Independent NumPy references, straight from the formulas (one group at a time).


def _groups(ids: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(ids == g) for g in np.unique(ids)]


def _scorable(r: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scorable members and their rewards; both empty if the group has no comparison."""
    keep = members[~np.isnan(r[members])]
    v = r[keep]
    if len(v) < 2 or np.all(v == v[0]):
        return keep[:0], v[:0]
    return keep, v


def ref_grpo(r: Any, ids: Any, scale: str = "group", eps: float = 1e-6) -> np.ndarray:
    r, ids = np.asarray(r, dtype=np.float64), np.asarray(ids)
    out = np.zeros_like(r)
    ok = r[~np.isnan(r)]
    batch_sd = ok.std(ddof=1) if len(ok) > 1 else 0.0
    for members in _groups(ids):
        keep, v = _scorable(r, members)
        if len(v):
            sd = {"group": v.std(ddof=1), "batch": batch_sd, "none": 1.0 - eps}[scale]
            if sd + eps > 0:  # distinct values whose deviations underflow, eps = 0: stay 0
                out[keep] = (v - v.mean()) / (sd + eps)
    return out


def ref_rloo(r: Any, ids: Any) -> np.ndarray:
    r, ids = np.asarray(r, dtype=np.float64), np.asarray(ids)
    out = np.zeros_like(r)
    for members in _groups(ids):
        keep, v = _scorable(r, members)
        if len(v):
            out[keep] = v - (v.sum() - v) / (len(v) - 1)
    return out


def ref_rpp(r: Any, ids: Any, eps: float = 1e-8, weights: Any = None) -> np.ndarray:
    r, ids = np.asarray(r, dtype=np.float64), np.asarray(ids)
    w = np.ones_like(r) if weights is None else np.asarray(weights, dtype=np.float64)
    a, informative = np.zeros_like(r), np.zeros(len(r), dtype=bool)
    for members in _groups(ids):
        keep, v = _scorable(r, members)
        if len(v):
            a[keep], informative[keep] = v - v.mean(), True
    s = ~np.isnan(r)
    if w[s].sum() <= 1:
        return np.zeros_like(r)
    mu = np.sum(w[s] * a[s]) / w[s].sum()
    var = np.sum(w[s] * (a[s] - mu) ** 2) / (w[s].sum() - 1)
    return np.where(informative, (a - mu) / np.sqrt(var + eps), 0.0)


# --------------------------------------------------------------------------------------------
# The worked example of docs/advantages.md (ragged, interleaved ids, a NaN, a zero-variance
# group and a singleton): A (id 10) = [1, 0, 0, 1], B (id -4) = [1, NaN, 0], C (id 7) = [1, 1],
# D (id 99) = [0.3].

IDS = [10, -4, 10, 7, -4, 99, 10, -4, 7, 10]
R = [1.0, 1.0, 0.0, 1.0, NAN, 0.3, 0.0, 0.0, 1.0, 1.0]


def _pattern(a: float, b: float) -> list[float]:
    """Advantages of the example: ``a`` for group A, ``b`` for group B (signs as rewards)."""
    return [a, b, -a, 0.0, 0.0, 0.0, -a, -b, 0.0, a]


_BATCH = np.array([1, 1, 0, 1, 0.3, 0, 0, 1, 1])  # the 9 scorable rewards
_BATCH_SD = math.sqrt(np.sum((_BATCH - _BATCH.mean()) ** 2) / 8)

HAND = {
    "grpo_group": (
        lambda r, g: adv.grpo(r, g),
        _pattern(0.5 / (math.sqrt(1 / 3) + 1e-6), 0.5 / (math.sqrt(1 / 2) + 1e-6)),
    ),
    "grpo_batch": (
        lambda r, g: adv.grpo(r, g, scale="batch"),
        _pattern(0.5 / (_BATCH_SD + 1e-6), 0.5 / (_BATCH_SD + 1e-6)),
    ),
    "grpo_none": (lambda r, g: adv.grpo(r, g, scale="none"), _pattern(0.5, 0.5)),
    "rloo": (lambda r, g: adv.rloo(r, g), _pattern(2 / 3, 1.0)),
    "reinforce_pp": (
        lambda r, g: adv.reinforce_pp_baseline(r, g),
        _pattern(0.5 / math.sqrt(0.1875 + 1e-8), 0.5 / math.sqrt(0.1875 + 1e-8)),
    ),
}

TOL = {np.float32: 1e-6, np.float64: 1e-12}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(HAND))
def test_worked_example(name: str, dtype: type) -> None:
    f, want = HAND[name]
    out = f(np.array(R, dtype=dtype), np.array(IDS))
    assert out.dtype == dtype
    np.testing.assert_allclose(out, want, rtol=0, atol=TOL[dtype])
    # The degenerate samples are exactly +0.0.
    assert all(math.copysign(1.0, out[i]) == 1.0 and out[i] == 0 for i in (3, 4, 5, 8))


def test_worked_example_numbers() -> None:
    """The rounded numbers printed in docs/advantages.md."""
    np.testing.assert_allclose(adv.grpo(np.array(R), IDS)[:2], [0.866024, 0.707106], atol=1e-6)
    assert round(_BATCH_SD, 6) == 0.496096
    np.testing.assert_allclose(adv.grpo(np.array(R), IDS, scale="batch")[0], 1.007868, atol=1e-6)
    np.testing.assert_allclose(adv.reinforce_pp_baseline(np.array(R), IDS)[0], 1.154700, atol=1e-6)


def test_worked_example_stats() -> None:
    for f in (adv.grpo, adv.rloo, adv.reinforce_pp_baseline):
        _, stats = f(np.array(R), IDS, return_stats=True)
        assert stats == adv.AdvantageStats(
            n_samples=10,
            n_groups=4,
            n_unscorable=1,
            n_singleton_groups=1,
            n_zero_variance_groups=1,
            n_empty_groups=0,
        )
    assert stats.as_metrics()["advantages/unscorable_frac"] == 0.1
    assert stats.as_metrics(prefix="a/")["a/zero_variance_frac"] == 0.25


def test_sizes_example() -> None:
    """Consecutive groups by sizes (docs, second example): [1, 0, 1 | 0.5, 0.5 | 2]."""
    r = np.array([1.0, 0.0, 1.0, 0.5, 0.5, 2.0])
    m, sd = 2 / 3, math.sqrt(1 / 3)
    want = [(1 - m) / (sd + 1e-6), -m / (sd + 1e-6), (1 - m) / (sd + 1e-6), 0, 0, 0]
    np.testing.assert_allclose(adv.grpo(r, sizes=[3, 2, 1]), want, atol=1e-12)
    np.testing.assert_allclose(adv.rloo(r, sizes=[3, 2, 1]), [0.5, -1, 0.5, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(
        adv.grpo(r, sizes=[3, 2, 1], scale="none"), [1 / 3, -2 / 3, 1 / 3, 0, 0, 0], atol=1e-12
    )
    # Ids, sizes and a uniform int agree.
    r4 = np.array([1.0, 0.0, 0.25, 0.75])
    a = adv.grpo(r4, [0, 0, 1, 1])
    np.testing.assert_array_equal(a, adv.grpo(r4, sizes=[2, 2]))
    np.testing.assert_array_equal(a, adv.grpo(r4, sizes=2))
    np.testing.assert_array_equal(a, adv.grpo(r4, sizes=np.int32(2)))


def test_weights_reproduce_token_level_whitening() -> None:
    r = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    tokens = np.array([3, 1, 2, 2, 5, 1])
    got = adv.reinforce_pp_baseline(r, sizes=3, weights=tokens)
    # Token-level reference: each sequence's centred value repeated over its tokens.
    a = r - np.repeat([2 / 3, 1 / 3], 3)
    tok = np.repeat(a, tokens)
    mu, var = tok.mean(), tok.var(ddof=1)
    np.testing.assert_allclose(got, (a - mu) / np.sqrt(var + 1e-8), atol=1e-12)
    np.testing.assert_allclose(got, ref_rpp(r, np.repeat([0, 1], 3), weights=tokens), atol=1e-12)


def test_degenerate_batches() -> None:
    empty = adv.grpo(np.zeros(0, np.float32), [], return_stats=True)
    assert empty[0].shape == (0,) and empty[0].dtype == np.float32
    assert empty[1].n_groups == 0
    out, st_ = adv.grpo(np.array([NAN, NAN, 4.0]), sizes=[2, 0, 1], return_stats=True)
    np.testing.assert_array_equal(out, [0, 0, 0])
    assert (st_.n_groups, st_.n_empty_groups, st_.n_singleton_groups) == (3, 2, 1)
    for scale in adv.SCALES:
        np.testing.assert_array_equal(adv.grpo(np.full(4, 0.1), sizes=2, scale=scale, eps=0), 0)
    np.testing.assert_array_equal(adv.reinforce_pp_baseline(np.array([5.0]), [1], eps=0), [0])


# --------------------------------------------------------------------------------------------
# Hypothesis: random ragged batches with NaNs, shuffled ids


reward = st.one_of(
    st.just(NAN),
    st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0]),
    st.floats(-10, 10, allow_nan=False),
)


@st.composite
def batches(draw: st.DrawFn, max_groups: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``(rewards, ids)``: 1..8 groups of 1..7 rewards, distinct int64 ids, shuffled."""
    groups = draw(
        st.lists(st.lists(reward, min_size=1, max_size=7), min_size=1, max_size=max_groups)
    )
    ids = draw(
        st.lists(
            st.integers(-(2**63), 2**63 - 1),
            min_size=len(groups),
            max_size=len(groups),
            unique=True,
        )
    )
    r = [x for g in groups for x in g]
    i = [gid for gid, g in zip(ids, groups, strict=True) for _ in g]
    perm = draw(st.permutations(range(len(r))))
    return np.array([r[p] for p in perm]), np.array([i[p] for p in perm], dtype=np.int64)


def _close(a: np.ndarray, b: np.ndarray, tol: float = 1e-9) -> None:
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@given(batches(), st.sampled_from(adv.SCALES), st.sampled_from([0.0, 1e-6, 1e-4]))
@example((np.array([1.0, 1.0, NAN]), np.array([3, 3, 3])), "group", 0.0)
def test_grpo_matches_reference(b: tuple[np.ndarray, np.ndarray], scale: str, eps: float) -> None:
    r, ids = b
    _close(adv.grpo(r, ids, scale=scale, eps=eps), ref_grpo(r, ids, scale, eps))
    _close(
        adv.grpo(r.astype(np.float32), ids, scale=scale, eps=eps),
        ref_grpo(r.astype(np.float32), ids, scale, eps),
        1e-4,
    )


@given(batches())
def test_rloo_matches_reference(b: tuple[np.ndarray, np.ndarray]) -> None:
    r, ids = b
    _close(adv.rloo(r, ids), ref_rloo(r, ids), 1e-12)


@given(batches(), st.booleans())
def test_reinforce_pp_matches_reference(b: tuple[np.ndarray, np.ndarray], weighted: bool) -> None:
    r, ids = b
    w = np.arange(len(r)) % 5 + 1.0 if weighted else None
    _close(adv.reinforce_pp_baseline(r, ids, weights=w), ref_rpp(r, ids, weights=w))


def _group_sums(v: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return np.array([v[m].sum() for m in _groups(ids)])


@given(batches())
def test_zero_sum_per_group(b: tuple[np.ndarray, np.ndarray]) -> None:
    r, ids = b
    for out in (adv.grpo(r, ids), adv.grpo(r, ids, scale="none"), adv.rloo(r, ids)):
        np.testing.assert_allclose(_group_sums(out, ids), 0.0, atol=1e-9)


@given(batches(), st.floats(-100, 100), st.data())
def test_shift_of_one_group_is_invariant(
    b: tuple[np.ndarray, np.ndarray], c: float, data: st.DataObject
) -> None:
    r, ids = b
    target = data.draw(st.sampled_from(sorted(set(ids.tolist()))))
    shifted = np.where(ids == target, r + c, r)
    fs: list[Callable[[np.ndarray], np.ndarray]] = [
        lambda x: adv.grpo(x, ids),
        lambda x: adv.grpo(x, ids, scale="none"),
        lambda x: adv.rloo(x, ids),
        lambda x: adv.reinforce_pp_baseline(x, ids),
    ]
    for f in fs:
        _close(f(r), f(shifted), 1e-6)


@given(batches(), st.floats(0.01, 100))
def test_grpo_positive_scaling_is_invariant(b: tuple[np.ndarray, np.ndarray], s: float) -> None:
    r, ids = b
    for scale in ("group", "batch"):
        _close(adv.grpo(r, ids, scale=scale, eps=0.0), adv.grpo(r * s, ids, scale=scale, eps=0.0))


@given(batches(), st.data())
def test_permutation_equivariance(b: tuple[np.ndarray, np.ndarray], data: st.DataObject) -> None:
    r, ids = b
    perm = np.array(data.draw(st.permutations(range(len(r)))))
    for f in (
        lambda x, g: adv.grpo(x, g),
        lambda x, g: adv.grpo(x, g, scale="batch"),
        lambda x, g: adv.rloo(x, g),
        lambda x, g: adv.reinforce_pp_baseline(x, g),
    ):
        _close(f(r, ids)[perm], f(r[perm], ids[perm]), 1e-12)


# --------------------------------------------------------------------------------------------
# torch: Rust path on CPU tensors, the pure-torch path, kinds and dtypes


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


ESTIMATORS: dict[str, Callable[..., Any]] = {
    "grpo_group": lambda r, g=None, **k: adv.grpo(r, g, **k),
    "grpo_batch": lambda r, g=None, **k: adv.grpo(r, g, scale="batch", **k),
    "grpo_none": lambda r, g=None, **k: adv.grpo(r, g, scale="none", **k),
    "rloo": lambda r, g=None, **k: adv.rloo(r, g, **k),
    "reinforce_pp": lambda r, g=None, **k: adv.reinforce_pp_baseline(r, g, **k),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@given(b=batches())
def test_numpy_rust_tensor_and_torch_path_agree(
    torch: Any, name: str, b: tuple[np.ndarray, np.ndarray]
) -> None:
    f = ESTIMATORS[name]
    r, ids = b
    a_np, s_np = f(r, ids, return_stats=True)
    a_rust, s_rust = f(torch.from_numpy(r), torch.from_numpy(ids), return_stats=True)
    a_torch, s_torch = f(
        torch.from_numpy(r), torch.from_numpy(ids), backend="torch", return_stats=True
    )
    assert isinstance(a_rust, torch.Tensor) and isinstance(a_torch, torch.Tensor)
    np.testing.assert_array_equal(a_np, a_rust.numpy())
    _close(a_np, a_torch.numpy(), 1e-12)
    assert s_np == s_rust == s_torch
    # float32 and sizes on the torch path.
    r32 = torch.from_numpy(r.astype(np.float32))
    _close(f(r32, ids).numpy(), f(r32, ids, backend="torch").numpy(), 1e-6)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_torch_path_does_not_cancel(torch: Any, name: str) -> None:
    # Rewards large relative to their spread (found by hypothesis: [2, 2.00001]): both paths
    # shift each group before averaging, so they agree to float64 precision, and symmetric
    # pairs get exactly opposite advantages on the Rust path.
    f = ESTIMATORS[name]
    for r in ([2.0, 2.00001], [1e6, 1e6 + 1e-3, 1e6 + 2e-3], [-3.0, -3.0 + 1e-9]):
        x = np.array(r)
        ids = np.zeros(len(r), dtype=np.int64)
        a_np = f(x, ids)
        _close(a_np, f(torch.from_numpy(x), torch.from_numpy(ids), backend="torch").numpy(), 1e-12)
        if len(r) == 2 and name != "reinforce_pp":
            assert a_np[0] == -a_np[1]


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_torch_path_worked_example_and_sizes(torch: Any, name: str) -> None:
    f = ESTIMATORS[name]
    for dtype in (torch.float32, torch.float64):
        r = torch.tensor(R, dtype=dtype)
        np.testing.assert_allclose(
            f(r, IDS, backend="torch").numpy(), f(r, IDS).numpy(), atol=1e-6, rtol=0
        )
    r = torch.tensor([1.0, 0.0, 1.0, 0.5, 0.5, 2.0, NAN, 3.0], dtype=torch.float64)
    for sizes in ([3, 2, 1, 0, 2], torch.tensor([3, 2, 1, 0, 2])):
        got = f(r, sizes=sizes, backend="torch", return_stats=True)
        want = f(r.numpy(), sizes=[3, 2, 1, 0, 2], return_stats=True)
        _close(got[0].numpy(), want[0], 1e-12)
        assert got[1] == want[1]
    _close(f(r[:6], sizes=2, backend="torch").numpy(), f(r[:6].numpy(), sizes=2), 1e-12)


def test_torch_path_weights(torch: Any) -> None:
    r = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    w = torch.tensor([3, 1, 2, 2, 5, 1])
    _close(
        adv.reinforce_pp_baseline(r, sizes=3, weights=w, backend="torch").numpy(),
        adv.reinforce_pp_baseline(r.numpy(), sizes=3, weights=w.numpy()),
        1e-12,
    )
    with pytest.raises(ValueError, match=r"weights\[1\] is -1.0; expected a finite number >= 0"):
        adv.reinforce_pp_baseline(r, sizes=3, weights=w - 2 * (w == 1), backend="torch")


@pytest.mark.parametrize(
    ("dtype", "out"),
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.float16, np.float16),
        (np.int64, np.float64),
        (np.bool_, np.float64),
    ],
)
def test_numpy_dtypes(dtype: type, out: type) -> None:
    r = np.array([1, 0, 1, 1], dtype=dtype)
    a = adv.grpo(r, sizes=2)
    assert isinstance(a, np.ndarray) and a.dtype == out
    np.testing.assert_allclose(a.astype(np.float64), [0.707106, -0.707106, 0, 0], atol=1e-3)
    # Non-contiguous input.
    wide = np.array([1.0, 9.0, 0.0, 9.0, 1.0, 9.0, 1.0, 9.0])[::2]
    np.testing.assert_array_equal(adv.rloo(wide, sizes=2), [1, -1, 0, 0])


def test_lists_give_float64() -> None:
    a = adv.rloo([1, 0, 0.5, 0.5], [0, 0, 1, 1])
    assert isinstance(a, np.ndarray) and a.dtype == np.float64


@pytest.mark.parametrize("backend", ["auto", "torch", "rust"])
def test_torch_dtypes(torch: Any, backend: str) -> None:
    for dtype, out in [
        (torch.float32, torch.float32),
        (torch.float64, torch.float64),
        (torch.float16, torch.float16),
        (torch.bfloat16, torch.bfloat16),
        (torch.int64, torch.float64),
    ]:
        r = torch.tensor([1, 0, 1, 1], dtype=dtype, requires_grad=dtype.is_floating_point)
        a = adv.grpo(r, sizes=2, backend=backend)
        assert isinstance(a, torch.Tensor)
        assert a.dtype == out and a.device == r.device and not a.requires_grad
        np.testing.assert_allclose(a.double().numpy(), [0.707106, -0.707106, 0, 0], atol=1e-2)


# --------------------------------------------------------------------------------------------
# to_tokens


def test_to_tokens_numpy() -> None:
    a = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    mask = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]])
    out = adv.to_tokens(a, mask)
    assert out.dtype == np.float32 and out.shape == (3, 3)
    np.testing.assert_array_equal(out, [[0.5, 0.5, 0], [-1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(adv.to_tokens(a, mask.astype(bool)), out)


def test_to_tokens_torch(torch: Any) -> None:
    a = torch.tensor([0.5, -1.0], dtype=torch.bfloat16)
    mask = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    out = adv.to_tokens(a, mask)
    assert out.dtype == torch.bfloat16 and tuple(out.shape) == (2, 2)
    assert out.tolist() == [[0.5, 0.0], [-1.0, -1.0]]
    assert adv.to_tokens(a, mask.bool()).tolist() == out.tolist()
    assert adv.to_tokens(a, mask.numpy()).tolist() == out.tolist()
    # A numpy adv with a torch mask gives numpy.
    assert isinstance(adv.to_tokens(a.float().numpy(), mask), np.ndarray)


def test_to_tokens_errors() -> None:
    with pytest.raises(ValueError, match=r"adv must be 1-D \(B,\), got shape \(2, 1\)"):
        adv.to_tokens(np.zeros((2, 1)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"response_mask must be 2-D \(B, T\), got shape \(2,\)"):
        adv.to_tokens(np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="adv has 2 sequences, but response_mask has 3 rows"):
        adv.to_tokens(np.zeros(2), np.ones((3, 4)))


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_error_messages(backend: str) -> None:
    if backend == "torch":
        torch = pytest.importorskip("torch")

        def as_input(x: Any) -> Any:
            return torch.tensor(x, dtype=torch.float64)
    else:

        def as_input(x: Any) -> Any:
            return np.array(x, dtype=np.float64)

    r = as_input([1.0, 2.0, 3.0])
    kw: dict[str, Any] = {"backend": backend}
    with pytest.raises(ValueError, match="rewards has length 3, but groups has length 2"):
        adv.grpo(r, [1, 2], **kw)
    with pytest.raises(ValueError, match="sizes sum to 2, but rewards has length 3"):
        adv.rloo(r, sizes=[1, 1], **kw)
    with pytest.raises(ValueError, match=r"sizes\[1\] is -1; sizes must be >= 0"):
        adv.rloo(r, sizes=[4, -1], **kw)
    with pytest.raises(ValueError, match="not divisible by group_size=2"):
        adv.rloo(r, sizes=2, **kw)
    with pytest.raises(ValueError, match="group_size=0"):
        adv.rloo(r, sizes=0, **kw)
    with pytest.raises(ValueError, match="give exactly one of groups"):
        adv.rloo(r, **kw)
    with pytest.raises(ValueError, match="give exactly one of groups"):
        adv.rloo(r, [0, 0, 0], sizes=3, **kw)
    with pytest.raises(ValueError, match=r"rewards\[1\] is -inf; expected a finite number"):
        adv.grpo(as_input([1.0, -math.inf]), sizes=2, **kw)
    with pytest.raises(TypeError, match="groups must hold integers, got dtype"):
        adv.grpo(r, np.array([0.0, 0.0, 1.0]), **kw)
    with pytest.raises(ValueError, match="invalid value 'Group' for option scale"):
        adv.grpo(r, sizes=3, scale="Group", **kw)  # type: ignore[arg-type]
    for eps in (math.nan, -1.0, math.inf):
        with pytest.raises(ValueError, match="option eps; allowed: a finite number >= 0"):
            adv.grpo(r, sizes=3, eps=eps, **kw)
    with pytest.raises(TypeError, match="eps must be a float"):
        adv.grpo(r, sizes=3, eps="0.1", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"rewards must be 1-D \(one reward per sample\)"):
        adv.grpo(as_input([[1.0, 2.0]]), sizes=2, **kw)


def test_error_messages_rust_only() -> None:
    r = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="invalid value 'cuda' for option backend"):
        adv.grpo(r, sizes=3, backend="cuda")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backend='torch' needs torch tensor rewards"):
        adv.grpo(r, sizes=3, backend="torch")
    with pytest.raises(TypeError, match="rewards must be real numbers, got dtype <U1"):
        adv.grpo(np.array(["a", "b"]), sizes=2)
    with pytest.raises(ValueError, match=r"weights\[0\] is NaN; expected a finite number >= 0"):
        adv.reinforce_pp_baseline(r, sizes=3, weights=[NAN, 1, 1])
    with pytest.raises(ValueError, match="rewards has length 3, but weights has length 2"):
        adv.reinforce_pp_baseline(r, sizes=3, weights=[1, 1])
    with pytest.raises(ValueError, match=r"groups must be 1-D, got shape \(3, 1\)"):
        adv.grpo(r, np.zeros((3, 1), dtype=np.int64))


def test_core_type_errors() -> None:
    from rlv import _core

    with pytest.raises(TypeError, match="rewards must be a 1-D numpy array of float32 or float64"):
        _core.grpo_advantages(np.zeros(3, np.int64), group_size=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="groups must be a 1-D numpy array of int64"):
        _core.rloo_advantages(np.zeros(3), groups=np.zeros(3, np.int32))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Large batches (GIL-released path), sparse ids, and import hygiene


def test_large_batch_matches_reference_and_sparse_ids() -> None:
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 16, size=16_000)
    ids = np.repeat(np.arange(len(sizes)), sizes)
    r = rng.integers(0, 3, size=len(ids)) / 2.0 + 1e3  # an offset: shifts must not cancel
    r[rng.random(len(r)) < 0.05] = NAN
    perm = rng.permutation(len(r))
    r, ids = r[perm], ids[perm]
    # GIL released (> 50k); accumulated in two halves merged after, threads (>= 100k).
    assert len(r) >= 100_000
    a = adv.grpo(r, ids)
    _close(a, ref_grpo(r, ids), 1e-12)
    _close(adv.rloo(r, ids), ref_rloo(r, ids), 1e-12)
    _close(adv.reinforce_pp_baseline(r, ids), ref_rpp(r, ids), 1e-12)
    _close(adv.grpo(r, ids, scale="batch"), ref_grpo(r, ids, scale="batch"), 1e-12)
    labels = rng.integers(-(2**62), 2**62, size=len(sizes))  # hashed ids
    np.testing.assert_array_equal(adv.grpo(r, labels[ids]), a)
    # Strided ids and rewards (read through a copy) give the same bits.
    r2, ids2 = np.repeat(r, 2)[::2], np.repeat(ids + 5, 2)[::2]
    assert not ids2.flags.c_contiguous
    np.testing.assert_array_equal(adv.grpo(r2, ids2), a)


def test_large_batches_are_bit_identical_for_any_thread_count() -> None:
    """Above 100k rewards the element-wise passes run on several threads; the result must
    not change by a single bit (RLV_NUM_THREADS is read once per process, hence subprocesses)."""
    import os
    import subprocess
    import sys

    code = (
        "import hashlib, numpy as np, rlv\n"
        "rng = np.random.default_rng(0)\n"
        "n = 150_000\n"
        "r = rng.random(n).astype(np.float32); r[rng.random(n) < 0.02] = np.nan\n"
        "g = rng.permutation(np.repeat(np.arange(n // 6), 6))\n"
        "h = hashlib.sha256()\n"
        "for f in (rlv.advantages.grpo, rlv.advantages.rloo, rlv.advantages.reinforce_pp_baseline):\n"
        "    h.update(f(r, g).tobytes())\n"
        "h.update(rlv.advantages.grpo(r, g, scale='batch').tobytes())\n"
        "print(h.hexdigest())\n"
    )
    digests = set()
    for threads in ("1", "2"):
        env = {**os.environ, "RLV_NUM_THREADS": threads}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1, digests
