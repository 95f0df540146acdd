"""Tests of ``rlv.rl.losses`` (and the verifier loss of ``rlv.verifier``): policy loss, aggregation, KL, entropy, verifier loss.

* Gradients: ``torch.autograd.gradcheck`` in float64, with inputs kept away from the clip
  kinks.
* Aggregation: hand-built batches whose expected values are written out as numbers.
* Clipping: ratios exactly on, just inside and just outside each bound (found as float64
  values whose ``exp`` is exactly the bound), for A > 0 and A < 0, with the gradient checked
  to be exactly zero where clipped.
* Invariants with hypothesis (profiles in ``conftest.py``).
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rlv.rl.losses import (  # noqa: E402
    AGG_ALIASES,
    AGG_MODES,
    KL_KINDS,
    LOG_RATIO_CLAMP,
    aggregate,
    entropy_from_logits,
    kl_penalty,
    policy_loss,
)
from rlv.verifier import verification_loss, verifier_score  # noqa: E402

F64 = torch.float64
ALL_AGG = (*AGG_MODES, *AGG_ALIASES)


def t64(data: Any, *, grad: bool = False) -> Any:
    return torch.tensor(data, dtype=F64, requires_grad=grad)


def exact_log(target: float) -> float:
    """A float64 ``x`` with ``torch.exp(x) == target`` exactly (walks ulps around log)."""
    x = torch.tensor(math.log(target), dtype=F64)
    for _ in range(64):
        y = torch.exp(x).item()
        if y == target:
            return x.item()
        direction = math.inf if y < target else -math.inf
        x = torch.nextafter(x, torch.tensor(direction, dtype=F64))
    raise AssertionError(f"no float64 x with exp(x) == {target}")


def one_token(log_ratio: float, adv: float, **kwargs: Any) -> tuple[float, float, dict[str, float]]:
    """Loss, d loss / d logp and metrics for a single active token (token-sum)."""
    logp = t64([[log_ratio]], grad=True)
    loss, metrics = policy_loss(
        logp,
        t64([[0.0]]),
        t64([adv]),
        torch.ones(1, 1, dtype=torch.bool),
        agg="token-sum",
        **kwargs,
    )
    loss.backward()
    return loss.item(), logp.grad.item(), {k: v.item() for k, v in metrics.items()}


# ---------------------------------------------------------------------------------------------
# import hygiene


def test_missing_torch_gives_install_hint() -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "import rlv.rl.losses\n"  # the option names need no torch
        "assert 'token-mean' in rlv.rl.losses.AGG_MODES\n"
        "try:\n"
        "    import rlv.rl.objective\n"
        "except ImportError as e:\n"
        "    assert 'pip install \"rlv[train]\"' in str(e), str(e)\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ---------------------------------------------------------------------------------------------
# aggregation: hand-built batch

# L (3, 4) with NaN at a masked position; M: 3 + 1 + 0 active tokens.
L = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [math.nan, 10.0, 11.0, 12.0]]
M = [[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
# sum(L*M) = 1+2+3+5 = 11; sum(M) = 4; per-seq sums 6, 5, 0; per-seq means 2, 5, 0.
HAND = {
    "token-mean": 11 / 4,
    "token-sum": 11.0,
    "seq-mean-token-sum": 11 / 3,
    "seq-mean-token-mean": (2 + 5 + 0) / 3,
    "seq-mean-token-sum-norm": 11 / (3 * 4),
    "grpo": 7 / 3,
    "bnpo": 11 / 4,
    "dr_grpo": 11 / 12,
    "dapo": 11 / 4,
}


@pytest.mark.parametrize("mode", ALL_AGG)
@pytest.mark.parametrize("mask_dtype", [torch.bool, F64, torch.float32, torch.int64])
def test_aggregate_hand_values(mode: str, mask_dtype: torch.dtype) -> None:
    out = aggregate(t64(L), torch.tensor(M).to(mask_dtype), mode)
    assert out.shape == ()
    assert out.item() == pytest.approx(HAND[mode], rel=1e-12)


@pytest.mark.parametrize(
    ("mode", "kwargs", "expected"),
    [
        ("token-mean", {"num_tokens": 8}, 11 / 8),
        ("dapo", {"num_tokens": 8}, 11 / 8),
        ("dapo", {"num_tokens": torch.tensor(8.0)}, 11 / 8),
        ("bnpo", {"num_tokens": 8}, 11 / 4),  # bnpo is always the local token mean
        ("token-sum", {"num_tokens": 8, "num_seqs": 9, "norm_len": 7}, 11.0),  # unused: ignored
        ("seq-mean-token-sum", {"num_seqs": 2}, 11 / 2),
        ("seq-mean-token-mean", {"num_seqs": 2}, 7 / 2),  # verl: empty sequences dropped
        ("grpo", {"num_seqs": 2}, 7 / 2),
        ("seq-mean-token-sum-norm", {"norm_len": 10}, 11 / 30),
        ("dr_grpo", {"norm_len": 10, "num_seqs": 2}, 11 / 20),
        ("token-mean", {"num_tokens": 0}, 11.0),  # zero normaliser -> 1, never inf/NaN
    ],
)
def test_aggregate_normalisers(mode: str, kwargs: dict[str, Any], expected: float) -> None:
    assert aggregate(t64(L), torch.tensor(M).bool(), mode, **kwargs).item() == pytest.approx(
        expected, rel=1e-12
    )


def test_aggregate_fractional_mask_weights() -> None:
    mask = t64([[0.5, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    # token-mean: (0.5*1 + 2 + 3 + 5) / 3.5 = 3; seq-mean-token-mean: (5.5/2.5 + 5 + 0) / 3
    assert aggregate(t64(L), mask, "token-mean").item() == pytest.approx(3.0)
    assert aggregate(t64(L), mask, "seq-mean-token-mean").item() == pytest.approx(
        (5.5 / 2.5 + 5) / 3
    )


@pytest.mark.parametrize("mode", ALL_AGG)
def test_aggregate_all_masked_is_zero_and_finite_grad(mode: str) -> None:
    x = t64([[math.inf, -1.0], [2.0, math.nan]], grad=True)
    out = aggregate(x, torch.zeros(2, 2, dtype=torch.bool), mode)
    assert out.item() == 0.0
    out.backward()
    assert torch.equal(x.grad, torch.zeros(2, 2, dtype=F64))


@pytest.mark.parametrize("mode", ALL_AGG)
def test_aggregate_empty_batch(mode: str) -> None:
    assert aggregate(torch.zeros(0, 5), torch.zeros(0, 5, dtype=torch.bool), mode).item() == 0.0


def test_aggregate_errors() -> None:
    with pytest.raises(ValueError, match="token-mean.*seq-mean-token-sum-norm.*dapo"):
        aggregate(t64(L), torch.tensor(M), "mean")
    with pytest.raises(ValueError, match="shape"):
        aggregate(t64(L), torch.ones(3, 5), "token-mean")
    with pytest.raises(ValueError, match="shape"):
        aggregate(t64([1.0, 2.0]), torch.ones(2), "token-mean")
    with pytest.raises(ValueError, match="num_tokens"):
        aggregate(t64(L), torch.tensor(M), "token-mean", num_tokens=-1)
    with pytest.raises(ValueError, match="norm_len"):
        aggregate(t64(L), torch.tensor(M), "dr_grpo", norm_len=math.nan)
    with pytest.raises(ValueError, match="num_seqs"):
        aggregate(t64(L), torch.tensor(M), "grpo", num_seqs=torch.ones(2))
    with pytest.raises(TypeError, match="num_tokens"):
        aggregate(t64(L), torch.tensor(M), "dapo", num_tokens="4")  # type: ignore[arg-type]


_FLOATS = st.floats(-100, 100, allow_nan=False, width=64)


@st.composite
def batches(draw: st.DrawFn) -> tuple[Any, Any]:
    b = draw(st.integers(1, 4))
    t = draw(st.integers(1, 6))
    vals = draw(st.lists(_FLOATS, min_size=b * t, max_size=b * t))
    bits = draw(st.lists(st.booleans(), min_size=b * t, max_size=b * t))
    return t64(vals).reshape(b, t), torch.tensor(bits).reshape(b, t)


@given(batches(), st.floats(-10, 10, allow_nan=False))
def test_aggregate_is_linear(batch: tuple[Any, Any], c: float) -> None:
    x, mask = batch
    for mode in ALL_AGG:
        assert aggregate(c * x, mask, mode).item() == pytest.approx(
            c * aggregate(x, mask, mode).item(), rel=1e-9, abs=1e-9
        )


@given(st.integers(1, 4), st.integers(1, 6), st.data())
def test_token_mean_equals_seq_mean_with_equal_lengths(b: int, t: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, t))
    x = t64(data.draw(st.lists(_FLOATS, min_size=b * t, max_size=b * t))).reshape(b, t)
    mask = torch.zeros(b, t, dtype=torch.bool)
    mask[:, :n] = True  # every sequence has n active tokens
    assert aggregate(x, mask, "token-mean").item() == pytest.approx(
        aggregate(x, mask, "seq-mean-token-mean").item(), rel=1e-9, abs=1e-9
    )
    # and Dr. GRPO with norm_len = n is the same thing
    assert aggregate(x, mask, "dr_grpo", norm_len=n).item() == pytest.approx(
        aggregate(x, mask, "token-mean").item(), rel=1e-9, abs=1e-9
    )


# ---------------------------------------------------------------------------------------------
# policy loss: values


def test_policy_loss_hand_values() -> None:
    # ratios: row 0 (A=+1): 1.1 (inside), 1.5 (clipped to 1.2); row 1 (A=-2): 0.5 (clipped
    # to 0.8), 1.5 (not clipped: A < 0 above the upper bound); last column masked.
    logp = t64([[math.log(1.1), math.log(1.5), 7.0], [math.log(0.5), math.log(1.5), 7.0]])
    old = torch.zeros(2, 3, dtype=F64)
    mask = torch.tensor([[1, 1, 0], [1, 1, 0]], dtype=torch.bool)
    adv = t64([1.0, -2.0])
    per_token = [-1.1, -1.2, 2 * 0.8, 2 * 1.5]  # -1.1, -1.2, 1.6, 3.0
    loss, m = policy_loss(logp, old, adv, mask)
    assert loss.item() == pytest.approx(sum(per_token) / 4)
    loss, _ = policy_loss(logp, old, adv, mask, agg="seq-mean-token-sum")
    assert loss.item() == pytest.approx((-2.3 + 4.6) / 2)
    assert m["policy/clip_frac"].item() == pytest.approx(0.5)
    assert m["policy/clip_frac_high"].item() == pytest.approx(0.25)
    assert m["policy/clip_frac_low"].item() == pytest.approx(0.25)
    assert m["policy/dual_clip_frac"].item() == 0.0
    assert m["policy/ratio_mean"].item() == pytest.approx((1.1 + 1.5 + 0.5 + 1.5) / 4)
    assert m["policy/ratio_max"].item() == pytest.approx(1.5)  # not exp(7) of the masked token
    assert m["policy/ratio_min"].item() == pytest.approx(0.5)
    assert m["policy/n_tokens"].item() == 4.0
    k3 = [r - 1 - math.log(r) for r in (1.1, 1.5, 0.5, 1.5)]
    assert m["policy/approx_kl"].item() == pytest.approx(sum(k3) / 4)
    k1 = [-math.log(r) for r in (1.1, 1.5, 0.5, 1.5)]
    assert m["policy/approx_kl_k1"].item() == pytest.approx(sum(k1) / 4)
    # dual clip with c = 1.4: the A < 0 token at r = 1.5 is capped at 2 * 1.4
    loss, m = policy_loss(logp, old, adv, mask, clip_ratio_c=1.4)
    assert loss.item() == pytest.approx((-1.1 - 1.2 + 1.6 + 2.8) / 4)
    assert m["policy/dual_clip_frac"].item() == pytest.approx(0.25)


def test_policy_metrics_are_detached_tensors() -> None:
    logp = t64([[0.1, -0.1]], grad=True)
    _, m = policy_loss(logp, t64([[0.0, 0.0]]), t64([1.0]), torch.ones(1, 2))
    expected = {
        "policy/clip_frac",
        "policy/clip_frac_low",
        "policy/clip_frac_high",
        "policy/dual_clip_frac",
        "policy/approx_kl",
        "policy/approx_kl_k1",
        "policy/ratio_mean",
        "policy/ratio_max",
        "policy/ratio_min",
        "policy/n_tokens",
    }
    assert set(m) == expected
    for v in m.values():
        assert isinstance(v, torch.Tensor) and v.shape == () and not v.requires_grad
        assert v.dtype == F64


@pytest.mark.parametrize("agg", ALL_AGG)
def test_policy_loss_aliases(agg: str) -> None:
    g = torch.Generator().manual_seed(0)
    logp = torch.randn(4, 6, dtype=F64, generator=g) * 0.3
    old = torch.randn(4, 6, dtype=F64, generator=g) * 0.3
    adv = torch.randn(4, dtype=F64, generator=g)
    mask = torch.rand(4, 6, generator=g) > 0.3
    target = AGG_ALIASES.get(agg, agg)
    a, ma = policy_loss(logp, old, adv, mask, agg=agg, norm_len=9)
    b, mb = policy_loss(logp, old, adv, mask, agg=target, norm_len=9)
    assert a.item() == b.item()
    assert {k: v.item() for k, v in ma.items()} == {k: v.item() for k, v in mb.items()}


def test_policy_loss_dapo_uses_global_token_count() -> None:
    logp = t64([[0.0, 0.0], [0.0, 0.0]])
    adv = t64([1.0, 3.0])
    mask = torch.tensor([[1, 1], [1, 0]], dtype=torch.bool)
    # ratio 1: per-token loss -A -> sum = -(1 + 1 + 3) = -5
    loss, _ = policy_loss(logp, logp, adv, mask, agg="dapo")
    assert loss.item() == pytest.approx(-5 / 3)  # no num_tokens: the local count
    loss, _ = policy_loss(logp, logp, adv, mask, agg="dapo", num_tokens=10)
    assert loss.item() == pytest.approx(-0.5)
    loss, _ = policy_loss(logp, logp, adv, mask, agg="bnpo", num_tokens=10)
    assert loss.item() == pytest.approx(-5 / 3)
    loss, _ = policy_loss(logp, logp, adv, mask, agg="grpo")
    assert loss.item() == pytest.approx((-1 + -3) / 2)
    loss, _ = policy_loss(logp, logp, adv, mask, agg="dr_grpo", norm_len=5)
    assert loss.item() == pytest.approx(-5 / (2 * 5))


def test_policy_loss_advantage_shapes_broadcast() -> None:
    g = torch.Generator().manual_seed(1)
    logp = torch.randn(3, 5, dtype=F64, generator=g) * 0.2
    old = torch.randn(3, 5, dtype=F64, generator=g) * 0.2
    adv = torch.randn(3, dtype=F64, generator=g)
    mask = torch.ones(3, 5)
    a, _ = policy_loss(logp, old, adv, mask)
    b, _ = policy_loss(logp, old, adv[:, None], mask)
    c, _ = policy_loss(logp, old, adv[:, None].expand(3, 5).clone(), mask)
    assert a.item() == b.item() == c.item()


def test_old_logprobs_get_no_gradient() -> None:
    logp = t64([[0.1, 0.2]], grad=True)
    old = t64([[0.0, 0.3]], grad=True)
    loss, _ = policy_loss(logp, old, t64([1.0]), torch.ones(1, 2))
    loss.backward()
    assert old.grad is None
    assert logp.grad is not None


def test_low_precision_inputs_are_upcast() -> None:
    logp = torch.zeros(2, 3, dtype=torch.bfloat16, requires_grad=True)
    loss, m = policy_loss(
        logp, logp.detach(), torch.ones(2, dtype=torch.bfloat16), torch.ones(2, 3)
    )
    assert loss.dtype == torch.float32 and m["policy/ratio_mean"].dtype == torch.float32
    loss.backward()
    assert logp.grad is not None and logp.grad.dtype == torch.bfloat16


# ---------------------------------------------------------------------------------------------
# policy loss: clipping at the boundaries

CLIP_LOW, CLIP_HIGH = 0.2, 0.28
LO, HI = 1.0 - CLIP_LOW, 1.0 + CLIP_HIGH
C = torch.exp(torch.tensor(math.log(3.0), dtype=F64)).item()
"""A dual-clip constant next to 3.0 that ``exp`` hits exactly (3.0 itself is skipped by exp
of float64 values: the slope 3 exceeds the ulp ratio)."""


def _neighbours(target: float) -> tuple[float, float, float]:
    """Log-ratios whose ratio is just below, exactly on and just above a bound (the nearest
    float64 log-ratios whose ``exp`` differs from the bound)."""
    x = exact_log(target)

    def step(direction: float) -> float:
        y = x
        while torch.exp(torch.tensor(y, dtype=F64)).item() == target:
            y = math.nextafter(y, direction)
        return y

    below, above = step(-math.inf), step(math.inf)
    assert torch.exp(t64(below)).item() < target < torch.exp(t64(above)).item()
    return below, x, above


def test_clip_high_boundary_positive_advantage() -> None:
    below, on, above = _neighbours(HI)
    kw = {"clip_low": CLIP_LOW, "clip_high": CLIP_HIGH}
    # on the bound: inside (unclipped), gradient -A * r
    loss, grad, m = one_token(on, 2.0, **kw)
    assert loss == -2.0 * HI and grad == pytest.approx(-2.0 * HI, rel=1e-15)
    assert m["policy/clip_frac_high"] == 0.0
    # just inside
    loss, grad, m = one_token(below, 2.0, **kw)
    assert loss == pytest.approx(-2.0 * HI) and grad == pytest.approx(-2.0 * HI)
    assert grad != 0.0 and m["policy/clip_frac"] == 0.0
    # just outside: constant bound value, gradient exactly zero
    loss, grad, m = one_token(above, 2.0, **kw)
    assert loss == -2.0 * HI and grad == 0.0
    assert m["policy/clip_frac_high"] == 1.0 and m["policy/clip_frac"] == 1.0
    # far outside
    loss, grad, _ = one_token(math.log(5.0), 2.0, **kw)
    assert loss == -2.0 * HI and grad == 0.0


def test_clip_low_boundary_negative_advantage() -> None:
    below, on, above = _neighbours(LO)
    kw = {"clip_low": CLIP_LOW, "clip_high": CLIP_HIGH}
    loss, grad, m = one_token(on, -3.0, **kw)
    assert loss == 3.0 * LO and grad == pytest.approx(3.0 * LO, rel=1e-15)
    assert m["policy/clip_frac_low"] == 0.0
    loss, grad, m = one_token(above, -3.0, **kw)  # just inside (ratio above the lower bound)
    assert grad == pytest.approx(3.0 * LO) and m["policy/clip_frac"] == 0.0
    loss, grad, m = one_token(below, -3.0, **kw)  # just outside
    assert loss == 3.0 * LO and grad == 0.0
    assert m["policy/clip_frac_low"] == 1.0 and m["policy/clip_frac_high"] == 0.0
    loss, grad, _ = one_token(math.log(0.01), -3.0, **kw)
    assert loss == 3.0 * LO and grad == 0.0


def test_other_side_of_trust_region_is_not_clipped() -> None:
    kw = {"clip_low": CLIP_LOW, "clip_high": CLIP_HIGH}
    # A > 0 with a small ratio: PPO keeps the gradient (min picks the unclipped term)
    loss, grad, m = one_token(math.log(0.5), 1.0, **kw)
    assert loss == pytest.approx(-0.5) and grad == pytest.approx(-0.5)
    assert m["policy/clip_frac"] == 0.0
    # A < 0 with a large ratio and no dual clip: unbounded
    loss, grad, m = one_token(math.log(10.0), -1.0, **kw)
    assert loss == pytest.approx(10.0) and grad == pytest.approx(10.0)
    assert m["policy/clip_frac"] == 0.0 and m["policy/dual_clip_frac"] == 0.0


def test_asymmetric_clip() -> None:
    # ratio 1.25: inside with clip_high = 0.28, clipped with the symmetric 0.2
    _, grad, _ = one_token(math.log(1.25), 1.0, clip_low=0.2, clip_high=0.28)
    assert grad == pytest.approx(-1.25)
    _, grad, m = one_token(math.log(1.25), 1.0, clip_low=0.2, clip_high=0.2)
    assert grad == 0.0 and m["policy/clip_frac_high"] == 1.0
    # ratio 0.78 with A < 0: clipped below 0.8, inside with clip_low = 0.25
    _, grad, _ = one_token(math.log(0.78), -1.0, clip_low=0.2, clip_high=0.28)
    assert grad == 0.0
    _, grad, _ = one_token(math.log(0.78), -1.0, clip_low=0.25, clip_high=0.28)
    assert grad == pytest.approx(0.78)


def test_dual_clip_boundary() -> None:
    below, on, above = _neighbours(C)
    kw = {"clip_low": CLIP_LOW, "clip_high": CLIP_HIGH, "clip_ratio_c": C}
    loss, grad, m = one_token(on, -2.0, **kw)
    assert loss == 2.0 * C and grad == pytest.approx(2.0 * C, rel=1e-15)
    assert m["policy/dual_clip_frac"] == 0.0
    loss, grad, m = one_token(below, -2.0, **kw)
    assert grad == pytest.approx(2.0 * C) and m["policy/dual_clip_frac"] == 0.0
    loss, grad, m = one_token(above, -2.0, **kw)
    assert loss == 2.0 * C and grad == 0.0 and m["policy/dual_clip_frac"] == 1.0
    loss, grad, _ = one_token(math.log(1e4), -2.0, **kw)
    assert loss == 2.0 * C and grad == 0.0
    # dual clip never touches A > 0 tokens (those are capped at 1 + clip_high)
    loss, grad, m = one_token(math.log(1e4), 2.0, **kw)
    assert loss == -2.0 * HI and grad == 0.0 and m["policy/dual_clip_frac"] == 0.0


def test_zero_advantage_is_zero() -> None:
    for lr in (math.log(0.1), 0.0, math.log(10.0)):
        loss, grad, m = one_token(lr, 0.0, clip_ratio_c=3.0)
        assert loss == 0.0 and grad == 0.0 and m["policy/clip_frac"] == 0.0


def test_log_ratio_is_clamped() -> None:
    loss, grad, m = one_token(100.0, -1.0)
    assert loss == pytest.approx(math.exp(LOG_RATIO_CLAMP)) and grad == 0.0
    assert math.isfinite(m["policy/approx_kl"])
    loss, grad, m = one_token(-100.0, 1.0)
    assert loss == pytest.approx(-math.exp(-LOG_RATIO_CLAMP)) and grad == 0.0


# ---------------------------------------------------------------------------------------------
# policy loss: masking and NaN safety


@pytest.mark.parametrize("agg", ALL_AGG)
def test_padding_junk_and_all_masked_rows_stay_finite(agg: str) -> None:
    logp = t64([[-0.5, -math.inf, -math.inf], [-math.inf, -math.inf, -math.inf]], grad=True)
    old = t64([[-0.4, -math.inf, -math.inf], [-math.inf, -math.inf, -math.inf]])
    adv = t64([[1.0, math.nan, math.nan], [math.nan, math.nan, math.nan]])
    mask = torch.tensor([[1, 0, 0], [0, 0, 0]], dtype=torch.bool)
    loss, m = policy_loss(logp, old, adv, mask, agg=agg, clip_ratio_c=3.0)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(logp.grad).all()
    assert logp.grad[0, 1:].eq(0).all() and logp.grad[1].eq(0).all()
    assert all(math.isfinite(v.item()) for v in m.values())


def test_all_masked_batch() -> None:
    logp = t64([[0.3, -0.3]], grad=True)
    loss, m = policy_loss(logp, t64([[0.0, 0.0]]), t64([1.0]), torch.zeros(1, 2))
    assert loss.item() == 0.0
    loss.backward()
    assert logp.grad.eq(0).all()
    assert m["policy/n_tokens"].item() == 0.0
    assert m["policy/clip_frac"].item() == 0.0 and m["policy/approx_kl"].item() == 0.0
    assert m["policy/ratio_mean"].item() == m["policy/ratio_min"].item() == 1.0
    assert m["policy/ratio_max"].item() == 1.0


def test_empty_batch() -> None:
    z = torch.zeros(0, 4, dtype=F64)
    loss, m = policy_loss(z, z, torch.zeros(0, dtype=F64), torch.zeros(0, 4))
    assert loss.item() == 0.0
    assert all(math.isfinite(v.item()) for v in m.values())


def test_policy_loss_errors() -> None:
    x = torch.zeros(2, 3)
    ok = {"logprobs": x, "old_logprobs": x, "advantages": torch.zeros(2), "mask": torch.ones(2, 3)}
    with pytest.raises(ValueError, match="invalid aggregation mode 'sum'.*token-mean.*grpo"):
        policy_loss(**ok, agg="sum")
    with pytest.raises(ValueError, match="old_logprobs"):
        policy_loss(**{**ok, "old_logprobs": torch.zeros(2, 4)})
    with pytest.raises(ValueError, match="mask"):
        policy_loss(**{**ok, "mask": torch.ones(3, 2)})
    with pytest.raises(ValueError, match="advantages"):
        policy_loss(**{**ok, "advantages": torch.zeros(3)})
    with pytest.raises(ValueError, match="advantages"):
        policy_loss(**{**ok, "advantages": torch.zeros(2, 2)})
    with pytest.raises(ValueError, match="logprobs"):
        policy_loss(**{**ok, "logprobs": torch.zeros(2, 3, 1)})
    with pytest.raises(ValueError, match="clip_low"):
        policy_loss(**ok, clip_low=1.0)
    with pytest.raises(ValueError, match="clip_low"):
        policy_loss(**ok, clip_low=-0.1)
    with pytest.raises(ValueError, match="clip_high"):
        policy_loss(**ok, clip_high=-0.1)
    with pytest.raises(ValueError, match="clip_ratio_c"):
        policy_loss(**ok, clip_ratio_c=1.0)


# ---------------------------------------------------------------------------------------------
# policy loss: properties


@given(batches(), st.floats(0.0, 0.9), st.floats(0.0, 2.0))
def test_on_policy_loss_is_minus_mean_advantage(
    batch: tuple[Any, Any], clip_low: float, clip_high: float
) -> None:
    adv_mat, mask = batch
    logp = torch.zeros_like(adv_mat).uniform_(-3, 0).requires_grad_(True)
    loss, m = policy_loss(
        logp, logp.detach(), adv_mat, mask, clip_low=clip_low, clip_high=clip_high
    )
    n = int(mask.sum())
    expected = -(adv_mat * mask).sum().item() / max(n, 1)
    assert loss.item() == pytest.approx(expected, rel=1e-9, abs=1e-9)
    loss.backward()
    # the vanilla policy gradient: d loss / d logp = -A * M / N
    assert torch.allclose(logp.grad, -(adv_mat * mask) / max(n, 1), rtol=1e-9, atol=1e-12)
    assert m["policy/clip_frac"].item() == 0.0
    assert m["policy/approx_kl"].item() == 0.0


@given(
    st.floats(-5, 5),
    st.floats(-5, 5),
    st.floats(0.0, 0.9),
    st.floats(0.0, 2.0),
    st.one_of(st.none(), st.floats(1.01, 10)),
)
def test_clipped_objective_is_a_pessimistic_bound(
    log_ratio: float, adv: float, clip_low: float, clip_high: float, c: float | None
) -> None:
    loss, grad, m = one_token(
        log_ratio, adv, clip_low=clip_low, clip_high=clip_high, clip_ratio_c=c
    )
    r = math.exp(log_ratio)
    if c is None:
        assert loss >= -adv * r - 1e-9 * abs(adv * r)  # min(A r, A clip r) <= A r
    if adv < 0 and c is not None:
        assert loss <= -adv * c * (1 + 1e-12)
    assert grad == 0.0 or grad == pytest.approx(-adv * r)  # clipped or vanilla PG
    assert 0.0 <= m["policy/clip_frac"] <= 1.0


# ---------------------------------------------------------------------------------------------
# gradcheck (float64)

# log-ratios at least 0.03 away from log(0.8) = -0.223, log(1.2) = 0.182, log(3) = 1.099
_LR = [[-0.6, -0.3, -0.1, 0.05, 0.15], [0.4, 1.3, -0.15, 0.0, 0.25], [0.1, -0.5, 1.5, 0.3, -0.05]]


@pytest.mark.parametrize("agg", ALL_AGG)
@pytest.mark.parametrize("dual", [None, 3.0])
def test_policy_loss_gradcheck(agg: str, dual: float | None) -> None:
    old = torch.linspace(-2.0, -0.5, 15, dtype=F64).reshape(3, 5)
    logp = (old + t64(_LR)).requires_grad_(True)
    adv = t64([[1.5], [-0.7], [-2.0]])
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)

    def fn(lp: Any) -> Any:
        return policy_loss(lp, old, adv, mask, agg=agg, clip_ratio_c=dual, norm_len=7)[0]

    assert torch.autograd.gradcheck(fn, (logp,))
    assert torch.autograd.gradgradcheck(fn, (logp,))


@pytest.mark.parametrize("kind", KL_KINDS)
def test_kl_gradcheck(kind: str) -> None:
    ref = torch.linspace(-2.0, -0.5, 12, dtype=F64).reshape(3, 4)
    logp = (ref + torch.linspace(-0.9, 0.8, 12, dtype=F64).reshape(3, 4) + 0.01).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: kl_penalty(x, ref, kind=kind), (logp,))


@pytest.mark.parametrize("chunk", [None, 1, 4])
def test_entropy_gradcheck(chunk: int | None) -> None:
    g = torch.Generator().manual_seed(2)
    logits = (torch.randn(2, 3, 7, dtype=F64, generator=g) * 2).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: entropy_from_logits(x, chunk_size=chunk), (logits,))


@pytest.mark.parametrize("mode", ["full", "yes_no"])
@pytest.mark.parametrize("pos_weight", [None, "balanced", 2.5])
def test_verification_loss_gradcheck(mode: str, pos_weight: Any) -> None:
    g = torch.Generator().manual_seed(3)
    logits = (torch.randn(5, 6, dtype=F64, generator=g) * 2).requires_grad_()
    labels = torch.tensor([1, 0, 1, 1, 0])

    def fn(z: Any) -> Any:
        return verification_loss(z, labels, yes_id=1, no_id=4, mode=mode, pos_weight=pos_weight)[0]

    assert torch.autograd.gradcheck(fn, (logits,))


# ---------------------------------------------------------------------------------------------
# KL penalty


def test_kl_hand_values() -> None:
    logp, ref = t64([[0.0, -1.0]]), t64([[0.0, -1.5]])  # d = 0, 0.5
    assert kl_penalty(logp, ref, kind="k1").tolist() == [[0.0, 0.5]]
    assert kl_penalty(logp, ref, kind="abs").tolist() == [[0.0, 0.5]]
    assert kl_penalty(t64([[-1.5]]), t64([[-1.0]]), kind="abs").tolist() == [[0.5]]
    assert kl_penalty(logp, ref, kind="k2").tolist() == [[0.0, 0.125]]
    k3 = kl_penalty(logp, ref, kind="k3")
    assert k3[0, 0].item() == 0.0 and k3[0, 1].item() == pytest.approx(math.exp(-0.5) + 0.5 - 1)
    for a, b in (("kl", "k1"), ("mse", "k2"), ("low_var_kl", "k3")):
        assert torch.equal(kl_penalty(logp, ref, kind=a), kl_penalty(logp, ref, kind=b))


def test_k3_is_clamped_like_verl() -> None:
    # d = -30: -d clamped to 20, exp(20) - 20 - 1 clamped to 10
    logp = t64([[-31.0]], grad=True)
    out = kl_penalty(logp, t64([[-1.0]]), kind="k3")
    assert out.item() == 10.0
    out.sum().backward()
    assert logp.grad.item() == 0.0


def test_kl_aggregated_with_mask() -> None:
    kl = kl_penalty(t64([[0.0, -1.0, 0.0]]), t64([[0.0, -1.5, 0.0]]), kind="k2")
    assert aggregate(kl, torch.tensor([[1, 1, 0]]), "token-mean").item() == pytest.approx(0.0625)


def test_kl_errors() -> None:
    with pytest.raises(ValueError, match="invalid KL kind 'k4'.*'k1'.*'low_var_kl'"):
        kl_penalty(torch.zeros(1, 2), torch.zeros(1, 2), kind="k4")
    with pytest.raises(ValueError, match="shape"):
        kl_penalty(torch.zeros(1, 2), torch.zeros(2, 1))


@given(st.floats(-15, 15), st.floats(-15, 0))
def test_kl_estimators_nonnegative(d: float, ref: float) -> None:
    logp, r = t64([[ref + d]]), t64([[ref]])
    for kind in ("abs", "k2", "mse", "k3", "low_var_kl"):
        assert kl_penalty(logp, r, kind=kind).item() >= 0.0
    assert kl_penalty(logp, r, kind="k1").item() == pytest.approx(d, abs=1e-12)


def test_k3_is_unbiased_for_kl() -> None:
    # E_{x~p}[k3] = KL(p || q) for two explicit categorical distributions.
    p = t64([0.5, 0.3, 0.2])
    q = t64([0.2, 0.2, 0.6])
    k3 = kl_penalty(p.log()[None], q.log()[None], kind="k3")[0]
    assert (p * k3).sum().item() == pytest.approx((p * (p / q).log()).sum().item())


# ---------------------------------------------------------------------------------------------
# entropy


def test_entropy_hand_values() -> None:
    logits = t64(
        [[[0.0, 0.0, 0.0, 0.0], [1000.0, 0.0, 0.0, 0.0], [0.0, 0.0, -math.inf, -math.inf]]]
    )
    h = entropy_from_logits(logits)
    assert h.shape == (1, 3)
    assert h[0, 0].item() == pytest.approx(math.log(4))
    assert h[0, 1].item() == pytest.approx(0.0, abs=1e-12)
    assert h[0, 2].item() == pytest.approx(math.log(2))
    assert torch.isfinite(h).all()


def test_entropy_chunking_is_identical_and_shapes() -> None:
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(3, 5, 11, generator=g)
    full = entropy_from_logits(logits)
    for chunk in (1, 2, 7, 15, 100):
        assert torch.allclose(
            entropy_from_logits(logits, chunk_size=chunk), full, atol=0, rtol=1e-6
        )
    assert entropy_from_logits(torch.zeros(0, 4, 3), chunk_size=2).shape == (0, 4)
    assert entropy_from_logits(torch.zeros(4, 3, dtype=torch.bfloat16)).dtype == torch.float32
    with pytest.raises(ValueError, match="chunk_size"):
        entropy_from_logits(logits, chunk_size=0)
    with pytest.raises(ValueError, match="vocabulary"):
        entropy_from_logits(torch.zeros(2, 0))


def test_entropy_with_masked_vocab_has_finite_gradient() -> None:
    logits = t64([[0.3, -math.inf, 1.2]], grad=True)
    entropy_from_logits(logits).sum().backward()
    assert torch.isfinite(logits.grad).all() and logits.grad[0, 1].item() == 0.0


@given(
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=40),
    st.floats(0.01, 100),
)
def test_entropy_bounds(vals: list[float], scale: float) -> None:
    h = entropy_from_logits(t64(vals) * scale).item()
    assert -1e-9 <= h <= math.log(len(vals)) + 1e-9


# ---------------------------------------------------------------------------------------------
# verifier loss

YES, NO = 0, 1
# positive rows: z = (log 2, 0, 0): full P(Yes) = 1/2, two-token P(Yes) = 2/3
# negative row:  z = (0, log 3, 0): full P(Yes) = 1/5, P(No) = 3/5, two-token P(Yes) = 1/4
POS = [math.log(2), 0.0, 0.0]
NEG = [0.0, math.log(3), 0.0]
Z = [POS, POS, POS, NEG]
LABELS = [True, True, True, False]


@pytest.mark.parametrize(
    ("mode", "pos_weight", "expected"),
    [
        ("full", None, (3 * math.log(2) + math.log(5 / 3)) / 4),
        ("full", "balanced", 0.5 * math.log(2) + 0.5 * math.log(5 / 3)),
        ("full", 2.0, (6 * math.log(2) + math.log(5 / 3)) / 7),
        ("yes_no", None, (3 * math.log(3 / 2) + math.log(4 / 3)) / 4),
        ("yes_no", "balanced", 0.5 * math.log(3 / 2) + 0.5 * math.log(4 / 3)),
        ("yes_no", 0.5, (1.5 * math.log(3 / 2) + math.log(4 / 3)) / 2.5),
    ],
)
def test_verification_loss_hand_values(mode: str, pos_weight: Any, expected: float) -> None:
    loss, _ = verification_loss(
        t64(Z), torch.tensor(LABELS), yes_id=YES, no_id=NO, mode=mode, pos_weight=pos_weight
    )
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_verification_metrics() -> None:
    _, m = verification_loss(t64(Z), torch.tensor(LABELS), yes_id=YES, no_id=NO, mode="full")
    got = {k: v.item() for k, v in m.items()}
    assert got == pytest.approx(
        {
            "verifier/accuracy": 1.0,
            "verifier/p_yes_pos": 0.5,
            "verifier/p_yes_neg": 0.2,
            "verifier/p_yes_pos_norm": 2 / 3,
            "verifier/p_yes_neg_norm": 0.25,
            "verifier/label_mass": (3 * 0.75 + 0.8) / 4,
            "verifier/n_pos": 3.0,
            "verifier/n_neg": 1.0,
        }
    )
    _, m = verification_loss(t64(Z), torch.tensor(LABELS), yes_id=YES, no_id=NO, mode="yes_no")
    assert m["verifier/p_yes_pos"].item() == pytest.approx(2 / 3)
    assert m["verifier/p_yes_neg"].item() == pytest.approx(0.25)
    # flip the labels: every prediction is now wrong; a tie (z_yes == z_no) predicts "No"
    _, m = verification_loss(t64(Z), torch.tensor([0, 0, 0, 1]), yes_id=YES, no_id=NO)
    assert m["verifier/accuracy"].item() == 0.0
    _, m = verification_loss(t64([[1.0, 1.0], [1.0, 1.0]]), torch.tensor([0, 1]), yes_id=0, no_id=1)
    assert m["verifier/accuracy"].item() == 0.5
    for v in m.values():
        assert v.shape == () and not v.requires_grad


@pytest.mark.parametrize(
    "labels",
    [
        torch.tensor(LABELS),
        torch.tensor([1, 1, 1, 0]),
        torch.tensor([1.0, 1.0, 1.0, 0.0]),
        torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.bfloat16),
    ],
)
def test_verification_label_dtypes(labels: Any) -> None:
    ref, _ = verification_loss(t64(Z), torch.tensor(LABELS), yes_id=YES, no_id=NO)
    loss, _ = verification_loss(t64(Z), labels, yes_id=YES, no_id=NO)
    assert loss.item() == ref.item()


@pytest.mark.parametrize("mode", ["full", "yes_no"])
@pytest.mark.parametrize("pos_weight", [None, "balanced", 3.0])
def test_verification_empty_batch(mode: str, pos_weight: Any) -> None:
    logits = torch.zeros(0, 5, dtype=F64, requires_grad=True)
    loss, m = verification_loss(
        logits,
        torch.zeros(0, dtype=torch.bool),
        yes_id=1,
        no_id=2,
        mode=mode,
        pos_weight=pos_weight,
    )
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert all(v.item() == 0.0 for v in m.values())


def test_balanced_with_a_single_class_is_the_class_mean() -> None:
    pos_only = torch.ones(3, dtype=torch.bool)
    a, _ = verification_loss(t64(Z[:3]), pos_only, yes_id=YES, no_id=NO, pos_weight="balanced")
    b, _ = verification_loss(t64(Z[:3]), pos_only, yes_id=YES, no_id=NO)
    assert a.item() == pytest.approx(b.item()) == pytest.approx(math.log(2))


def test_balanced_is_invariant_to_duplicating_a_class() -> None:
    a, _ = verification_loss(
        t64(Z), torch.tensor(LABELS), yes_id=YES, no_id=NO, pos_weight="balanced"
    )
    b, _ = verification_loss(
        t64(Z[3:] + Z[3:] + Z[:1]), torch.tensor([False, False, True]), yes_id=YES, no_id=NO,
        pos_weight="balanced",
    )  # fmt: skip
    assert a.item() == pytest.approx(b.item())


def test_yes_no_equals_full_when_other_tokens_are_impossible() -> None:
    z = t64([[0.7, -0.2, -math.inf, -math.inf], [-1.0, 2.0, -math.inf, -math.inf]], grad=True)
    labels = torch.tensor([True, False])
    full, _ = verification_loss(z, labels, yes_id=0, no_id=1, mode="full")
    two, _ = verification_loss(z, labels, yes_id=0, no_id=1, mode="yes_no")
    assert full.item() == pytest.approx(two.item())
    full.backward()
    assert torch.isfinite(z.grad).all()


def test_verifier_score_matches_the_loss() -> None:
    z = t64(Z)
    assert verifier_score(z, yes_id=YES, no_id=NO).tolist() == pytest.approx([2 / 3] * 3 + [0.25])
    assert verifier_score(z, yes_id=YES, no_id=NO, normalize=False).tolist() == pytest.approx(
        [0.5] * 3 + [0.2]
    )
    assert verifier_score(z[:, None], yes_id=YES, no_id=NO).shape == (4, 1)
    assert verifier_score(z.to(torch.bfloat16), yes_id=YES, no_id=NO).dtype == torch.float32


@given(
    st.lists(st.floats(-30, 30, allow_nan=False), min_size=2, max_size=12),
    st.booleans(),
    st.data(),
)
def test_verification_properties(vals: list[float], label: bool, data: st.DataObject) -> None:
    v = len(vals)
    yes = data.draw(st.integers(0, v - 1))
    no = data.draw(st.integers(0, v - 2))
    no = no if no < yes else no + 1
    z = t64([vals])
    lab = torch.tensor([label])
    full, _ = verification_loss(z, lab, yes_id=yes, no_id=no, mode="full")
    two, _ = verification_loss(z, lab, yes_id=yes, no_id=no, mode="yes_no")
    assert full.item() >= two.item() - 1e-9 >= -1e-9
    # exp(-nll) is the probability of the target label: the score for a positive, the
    # score of "No" (ids swapped) for a negative
    s_norm = verifier_score(z, yes_id=yes, no_id=no).item()
    s_raw = verifier_score(z, yes_id=yes, no_id=no, normalize=False).item()
    s_target = s_norm if label else verifier_score(z, yes_id=no, no_id=yes).item()
    assert math.exp(-two.item()) == pytest.approx(s_target, rel=1e-9, abs=1e-300)
    if label:
        assert math.exp(-full.item()) == pytest.approx(s_raw, rel=1e-9, abs=1e-300)
    assert 0.0 <= s_raw <= s_norm + 1e-12 <= 1.0 + 1e-12


def test_verification_errors() -> None:
    z = torch.zeros(2, 5)
    lab = torch.tensor([1, 0])
    with pytest.raises(ValueError, match="invalid verifier mode 'bce'.*'full'.*'yes_no'"):
        verification_loss(z, lab, yes_id=0, no_id=1, mode="bce")
    with pytest.raises(ValueError, match="out of range"):
        verification_loss(z, lab, yes_id=5, no_id=1)
    with pytest.raises(ValueError, match="out of range"):
        verifier_score(z, yes_id=0, no_id=-1)
    with pytest.raises(ValueError, match="differ"):
        verification_loss(z, lab, yes_id=2, no_id=2)
    with pytest.raises(TypeError, match="yes_id"):
        verification_loss(z, lab, yes_id=1.0, no_id=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="labels"):
        verification_loss(z, torch.tensor([1, 0, 1]), yes_id=0, no_id=1)
    with pytest.raises(ValueError, match="logits_at_label"):
        verification_loss(torch.zeros(2, 3, 5), lab, yes_id=0, no_id=1)
    with pytest.raises(ValueError, match="pos_weight"):
        verification_loss(z, lab, yes_id=0, no_id=1, pos_weight="balance")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pos_weight"):
        verification_loss(z, lab, yes_id=0, no_id=1, pos_weight=0.0)
    with pytest.raises(TypeError, match="pos_weight"):
        verification_loss(z, lab, yes_id=0, no_id=1, pos_weight=True)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# composition: the RL^V objective


def test_rlv_objective_backpropagates_through_one_model() -> None:
    torch.manual_seed(0)
    vocab, b, t = 7, 3, 4
    head = torch.nn.Linear(5, vocab).double()
    h = torch.randn(b, t + 1, 5, dtype=F64)
    logits = head(h)  # (B, T+1, V): T response positions + the label position
    tokens = torch.randint(0, vocab, (b, t))
    logp = torch.log_softmax(logits[:, :t], -1).gather(-1, tokens[..., None])[..., 0]
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    pg, _ = policy_loss(logp, logp.detach(), t64([1.0, -0.5, -0.5]), mask, agg="grpo")
    kl = aggregate(kl_penalty(logp, logp.detach() - 0.1, kind="k3"), mask, "token-mean")
    ent = aggregate(entropy_from_logits(logits[:, :t]), mask, "token-mean")
    ver, _ = verification_loss(logits[:, t], torch.tensor([1, 0, 0]), yes_id=2, no_id=3)
    total = pg + 0.01 * kl - 0.001 * ent + 1.0 * ver
    total.backward()
    assert head.weight.grad is not None and torch.isfinite(head.weight.grad).all()
