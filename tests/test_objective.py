"""The RL^V objective (``rlv.rl.objective.rlv_objective``) against the pre-redesign trainer.

``tests/data/objective_golden.json`` holds the loss and gradients that the old
``rlv.training.rlv_loss`` (what ``train_step`` computed after its forward pass, commit
4724f15) gave on a fixed batch of a float64 tiny model, for GRPO, Dr. GRPO and RLOO with
lambda 0 and > 0 (``tests/data/make_objective_golden.py`` wrote it and says how). Here the
same batch and model are rebuilt with the new code, the loss is computed the way the new
loop does (token log-probs, ``build_verification_batch``, ``verification_weights``,
``rlv_objective``) and both are compared to 1e-6.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlv import models  # noqa: E402
from rlv.rl import advantages as adv_mod  # noqa: E402
from rlv.rl.losses import aggregate, policy_loss, token_logprobs  # noqa: E402
from rlv.rl.objective import LossNorms, rlv_objective  # noqa: E402
from rlv.training.config import Config, load_config  # noqa: E402
from rlv.verifier import (  # noqa: E402
    Verifier,
    build_verification_batch,
    forward_window,
    verification_loss,
    verification_weights,
)

GOLDEN = json.loads((Path(__file__).parent / "data" / "objective_golden.json").read_text())
TOL = 1e-6


@pytest.fixture(scope="module")
def setup() -> dict[str, Any]:
    model, tok = models.tiny(**GOLDEN["model"])
    model = model.double()
    model.eval()
    assert [n for n, _ in model.named_parameters()] == GOLDEN["param_names"]
    v = Verifier(tok)
    g = GOLDEN["group"]
    prompts = [v.prompt_ids(p) for p in GOLDEN["prompts"] for _ in range(g)]
    comps = [v.completion_ids(c) for c in GOLDEN["completions"]]
    rewards = np.asarray(
        [math.nan if r is None else r for r in GOLDEN["rewards"]], dtype=np.float32
    )
    return {"model": model, "v": v, "prompts": prompts, "comps": comps, "rewards": rewards}


def _advantages(cfg: Config, rewards: np.ndarray) -> np.ndarray:
    g = GOLDEN["group"]
    if cfg.rl.algo == "rloo":
        adv, _ = adv_mod.rloo(rewards, sizes=g, return_stats=True)
    else:
        adv, _ = adv_mod.grpo(
            rewards, sizes=g, scale=cfg.rl.resolved_scale, eps=cfg.rl.eps, return_stats=True
        )
    return np.asarray(adv, dtype=np.float32)


def _run_case(
    s: dict[str, Any], cfg: Config, *, lam: float | None = None
) -> tuple[float, list[dict[str, torch.Tensor]], list[torch.Tensor]]:
    """Loss (summed over the micro-batches), per-micro-batch metrics and gradients, computed
    as the new loop does."""
    model, v = s["model"], s["v"]
    rl = cfg.rl
    rewards = s["rewards"]
    adv = torch.from_numpy(_advantages(cfg, rewards))
    labels = np.where(~np.isnan(rewards), rewards > 0.5, False)
    valid = ~np.isnan(rewards)
    total, pw = verification_weights(labels, valid, cfg.verify.balance)
    norms = LossNorms(
        num_tokens=float(sum(len(c) for c in s["comps"])),
        num_seqs=float(len(s["comps"])),
        norm_len=float(cfg.generation.max_new_tokens),
        verify_weight_total=total,
        pos_weight=pw,
    )
    old_noise = np.asarray(GOLDEN["old_noise"])
    ref_noise = np.asarray(GOLDEN["ref_noise"])
    width = old_noise.shape[1]
    temp = cfg.generation.temperature or 1.0
    model.zero_grad(set_to_none=True)
    loss_sum = 0.0
    metrics = []
    for idx in GOLDEN["micro_batches"]:
        vb = build_verification_batch(
            v, [s["prompts"][i] for i in idx], [s["comps"][i] for i in idx], rewards[idx]
        )
        b = vb.packed
        c = b.completion_ids.shape[1]
        logits = forward_window(model, b)
        logp = token_logprobs(b.completion_logits(logits), b.completion_ids, temp)
        noise = torch.tensor(old_noise[idx][:, width - c :], dtype=logp.dtype)
        old = (logp.detach() + noise) * b.completion_mask
        ref = None
        if rl.kl_coef > 0:
            rnoise = torch.tensor(ref_noise[idx][:, width - c :], dtype=logp.dtype)
            ref = (logp.detach() + rnoise) * b.completion_mask
        loss, m = rlv_objective(
            logp, adv[idx], b.completion_mask, b.label_logits(logits), vb.labels, vb.valid,
            norms=norms, lam=cfg.verify.lam if lam is None else lam,
            old_logprobs=old, ref_logprobs=ref, yes_id=vb.yes_id, no_id=vb.no_id,
            verify_mode=cfg.verify.mode, agg=rl.resolved_agg, clip_low=rl.clip_low,
            clip_high=rl.clip_high, clip_ratio_c=rl.clip_ratio_c, kl_coef=rl.kl_coef,
            kl_kind=rl.kl_kind,
        )  # fmt: skip
        loss.backward()
        loss_sum += float(loss.item())
        metrics.append(m)
    grads = [
        (p.grad if p.grad is not None else torch.zeros_like(p)).detach().clone()
        for p in model.parameters()
    ]
    return loss_sum, metrics, grads


def _projections(grads: list[torch.Tensor]) -> np.ndarray:
    """The golden file's gradient summary (see make_objective_golden.py)."""
    rows = []
    for i, g in enumerate(grads):
        flat = g.double().reshape(-1).numpy()
        row = [float(flat.sum())]
        for k in range(GOLDEN["n_proj"]):
            r = np.random.default_rng([GOLDEN["proj_seed"], i, k]).standard_normal(flat.size)
            row.append(float(flat @ r))
        rows.append(row)
    return np.asarray(rows)


CASES = {c["name"]: c for c in GOLDEN["cases"]}


def test_golden_covers_every_algorithm_with_and_without_lambda() -> None:
    seen = set()
    for c in GOLDEN["cases"]:
        cfg = load_config(None, list(c["set"]))
        seen.add((cfg.rl.algo, cfg.verify.lam > 0))
    assert seen == {(a, on) for a in ("grpo", "dr_grpo", "rloo") for on in (False, True)}


@pytest.mark.parametrize("name", list(CASES))
def test_objective_equals_the_pre_redesign_loss_and_gradients(
    setup: dict[str, Any], name: str
) -> None:
    case = CASES[name]
    cfg = load_config(None, list(case["set"]))
    np.testing.assert_array_equal(_advantages(cfg, setup["rewards"]), case["advantages"])
    loss, metrics, grads = _run_case(setup, cfg)
    assert abs(loss - case["loss"]) <= TOL * max(1.0, abs(case["loss"]))
    for key, want in case["terms"].items():
        got = sum(float(m[key]) for m in metrics)
        assert abs(got - want) <= TOL * max(1.0, abs(want)), key
    want = np.asarray(case["grad_projections"])
    got = _projections(grads)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)
    # the gradient is not trivially zero (the comparison has something to compare)
    assert np.abs(want).max() > 1e-3


@pytest.mark.parametrize("algo", ["grpo", "dr_grpo", "rloo"])
def test_lambda_zero_is_exactly_the_rl_loss_and_lambda_adds_its_term(
    setup: dict[str, Any], algo: str
) -> None:
    cfg = load_config(None, [f"rl.algo={algo}", "rl.kl_coef=0.1", "verify.balance=true"])
    loss0, m0, _ = _run_case(setup, cfg, lam=0.0)
    lam = 0.625
    loss1, m1, _ = _run_case(setup, cfg, lam=lam)
    for a, b in zip(m0, m1, strict=True):
        assert float(a["loss/verify"]) > 0  # measured, not added, at lambda = 0
        assert torch.equal(a["loss/verify"], b["loss/verify"])
        assert torch.equal(a["loss/policy"], b["loss/policy"])
    rl_only = sum(float(m["loss/policy"] + 0.1 * m["loss/kl"]) for m in m0)
    assert loss0 == pytest.approx(rl_only, rel=1e-12, abs=1e-12)
    ver = sum(float(m["loss/verify"]) for m in m1)
    assert loss1 - loss0 == pytest.approx(lam * ver, rel=1e-9, abs=1e-12)


def _small_inputs(seed: int) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    b, c, v = 6, 5, 11
    mask = torch.rand((b, c), generator=g) > 0.2
    return {
        "logp": -torch.rand((b, c), generator=g, dtype=torch.float64).requires_grad_(),
        "old": -torch.rand((b, c), generator=g, dtype=torch.float64),
        "adv": torch.randn((b,), generator=g, dtype=torch.float64),
        "mask": mask,
        "z": torch.randn((b, v), generator=g, dtype=torch.float64).requires_grad_(),
        "labels": torch.tensor([True, False, True, True, False, False]),
        "valid": torch.tensor([True, True, False, True, True, True]),
    }


def test_lambda_zero_gives_policy_loss_bit_for_bit() -> None:
    x = _small_inputs(0)
    norms = LossNorms(
        num_tokens=float(x["mask"].sum()),
        num_seqs=6.0,
        norm_len=8.0,
        verify_weight_total=5.0,
        pos_weight=None,
    )
    for agg in ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"):
        loss, m = rlv_objective(
            x["logp"], x["adv"], x["mask"], x["z"], x["labels"], x["valid"],
            norms=norms, lam=0.0, old_logprobs=x["old"], yes_id=3, no_id=7, agg=agg,
        )  # fmt: skip
        ref, _ = policy_loss(
            x["logp"], x["old"], x["adv"], x["mask"], agg=agg,
            num_tokens=norms.num_tokens, num_seqs=norms.num_seqs, norm_len=norms.norm_len,
        )  # fmt: skip
        assert torch.equal(loss, ref)
        assert torch.equal(m["loss/policy"], ref.detach())
        # with the whole step in this call, the verification term is the plain weighted mean
        keep = x["valid"].nonzero().squeeze(-1)
        ver, _ = verification_loss(x["z"][keep], x["labels"][keep], yes_id=3, no_id=7)
        assert torch.equal(m["loss/verify"], ver.detach())
        loss2, _ = rlv_objective(
            x["logp"], x["adv"], x["mask"], x["z"], x["labels"], x["valid"],
            norms=norms, lam=2.0, old_logprobs=x["old"], yes_id=3, no_id=7, agg=agg,
        )  # fmt: skip
        assert torch.equal(loss2, ref + 2.0 * ver)


def test_yes_no_logits_form_equals_full_logits_in_yes_no_mode() -> None:
    x = _small_inputs(1)
    norms = LossNorms(10.0, 6.0, 8.0, 5.0, 1.5)
    kw: dict[str, Any] = {"norms": norms, "lam": 0.5, "old_logprobs": x["old"]}
    full, mf = rlv_objective(
        x["logp"], x["adv"], x["mask"], x["z"], x["labels"], x["valid"],
        yes_id=3, no_id=7, verify_mode="yes_no", **kw,
    )  # fmt: skip
    two, m2 = rlv_objective(
        x["logp"], x["adv"], x["mask"], x["z"][:, [3, 7]], x["labels"], x["valid"],
        verify_mode="yes_no", **kw,
    )  # fmt: skip
    torch.testing.assert_close(full, two, rtol=0, atol=1e-12)
    torch.testing.assert_close(mf["loss/verify"], m2["loss/verify"], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="only support 'yes_no'"):
        rlv_objective(
            x["logp"], x["adv"], x["mask"], x["z"][:, [3, 7]], x["labels"], x["valid"], **kw
        )


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"adv": torch.zeros(5)}, ValueError, "advantages must have shape"),
        ({"mask": torch.ones((6, 4), dtype=torch.bool)}, ValueError, "completion_mask"),
        ({"labels": torch.ones(6)}, TypeError, "labels must be a bool tensor"),
        ({"valid": torch.ones(5, dtype=torch.bool)}, ValueError, "valid must have shape"),
        ({"z": torch.zeros((5, 11))}, ValueError, "label_logits must have shape"),
        ({"lam": -1.0}, ValueError, "invalid value -1.0 for lam"),
        ({"lam": math.nan}, ValueError, "for lam"),
        ({"yes_id": None}, ValueError, "both yes_id and no_id"),
    ],
)
def test_bad_inputs_are_clear_errors(change: dict[str, Any], error: type, match: str) -> None:
    x = _small_inputs(2)
    args = {"yes_id": 3, "no_id": 7, "lam": 1.0, **x, **change}
    with pytest.raises(error, match=match):
        rlv_objective(
            args["logp"], args["adv"], args["mask"], args["z"], args["labels"], args["valid"],
            norms=LossNorms(1.0, 1.0, 1.0, 1.0, None), lam=args["lam"],
            yes_id=args["yes_id"], no_id=args["no_id"],
        )  # fmt: skip


def test_kl_term_is_added_with_its_coefficient() -> None:
    x = _small_inputs(3)
    ref = x["old"] - 0.1
    norms = LossNorms(float(x["mask"].sum()), 6.0, 8.0, 5.0, None)
    base, _ = rlv_objective(
        x["logp"], x["adv"], x["mask"], x["z"], x["labels"], x["valid"],
        norms=norms, lam=0.0, old_logprobs=x["old"], yes_id=3, no_id=7,
    )  # fmt: skip
    loss, m = rlv_objective(
        x["logp"], x["adv"], x["mask"], x["z"], x["labels"], x["valid"],
        norms=norms, lam=0.0, old_logprobs=x["old"], ref_logprobs=ref, yes_id=3, no_id=7,
        kl_coef=0.25, kl_kind="k2",
    )  # fmt: skip
    from rlv.rl.losses import kl_penalty

    kl = aggregate(kl_penalty(x["logp"], ref, kind="k2"), x["mask"], "token-mean",
                   num_tokens=norms.num_tokens)  # fmt: skip
    assert torch.equal(m["loss/kl"], kl.detach())
    assert torch.equal(loss, base + 0.25 * kl)


# ---------------------------------------------------------------------------------------------
# properties: micro-batching, labels, weights, P(Yes)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rlv.rl.losses import AGG_MODES  # noqa: E402
from rlv.verifier import p_yes, verification_labels  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    b=st.integers(1, 7),
    agg=st.sampled_from(AGG_MODES),
    mode=st.sampled_from(["full", "yes_no"]),
    balance=st.booleans(),
    lam=st.sampled_from([0.0, 0.3, 1.0]),
    cuts=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_micro_batches_add_up_to_the_step(
    seed: int, b: int, agg: str, mode: str, balance: bool, lam: float, cuts: list[bool]
) -> None:
    """Split a step's rows into micro-batches anywhere: with the step's normalisers the
    losses and the gradients add up to those of the whole step."""
    g = torch.Generator().manual_seed(seed)
    c, v = 4, 9
    logp = -torch.rand((b, c), generator=g, dtype=torch.float64)
    old = logp + 0.3 * torch.randn((b, c), generator=g, dtype=torch.float64)
    ref = logp + 0.3 * torch.randn((b, c), generator=g, dtype=torch.float64)
    mask = torch.rand((b, c), generator=g) > 0.3
    adv = torch.randn((b,), generator=g, dtype=torch.float64)
    z = torch.randn((b, v), generator=g, dtype=torch.float64)
    rewards = torch.randint(0, 3, (b,), generator=g).double().numpy()
    rewards[rewards == 2] = np.nan
    labels, valid = verification_labels(rewards)
    total, pw = verification_weights(labels, valid, balance)
    norms = LossNorms(float(mask.sum()), float(b), 6.0, total, pw)

    def run(parts: list[list[int]]) -> tuple[float, torch.Tensor, torch.Tensor]:
        lp, zz = logp.clone().requires_grad_(), z.clone().requires_grad_()
        loss_sum = 0.0
        for idx in parts:
            loss, _ = rlv_objective(
                lp[idx], adv[idx], mask[idx], zz[idx],
                torch.from_numpy(labels[idx]), torch.from_numpy(valid[idx]),
                norms=norms, lam=lam, old_logprobs=old[idx], ref_logprobs=ref[idx],
                yes_id=2, no_id=5, verify_mode=mode, agg=agg, kl_coef=0.2,
            )  # fmt: skip
            loss.backward()
            loss_sum += float(loss.detach())
        assert lp.grad is not None
        # the label logits get no gradient when the verification term is not added
        z_grad = torch.zeros_like(z) if zz.grad is None else zz.grad
        assert (zz.grad is None) == (lam == 0)
        return loss_sum, lp.grad, z_grad

    parts: list[list[int]] = [[0]]
    for i in range(1, b):
        if cuts[i - 1]:
            parts.append([])
        parts[-1].append(i)
    whole = run([list(range(b))])
    split = run(parts)
    assert split[0] == pytest.approx(whole[0], rel=1e-10, abs=1e-12)
    torch.testing.assert_close(split[1], whole[1], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(split[2], whole[2], rtol=1e-10, atol=1e-12)


def test_verification_labels_from_rewards() -> None:
    labels, valid = verification_labels([1.0, 0.0, math.nan, 0.5, 0.75])
    assert labels.tolist() == [True, False, False, False, True]
    assert valid.tolist() == [True, True, False, True, True]
    with pytest.raises(ValueError, match="one-dimensional"):
        verification_labels([[1.0]])


@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=20), st.booleans())
def test_verification_weights_balance_the_classes(rows: list[tuple[bool, bool]], bal: bool) -> None:
    labels = np.array([r[0] for r in rows], dtype=bool)
    valid = np.array([r[1] for r in rows], dtype=bool)
    total, pw = verification_weights(labels, valid, bal)
    n_pos = int((labels & valid).sum())
    n_neg = int((~labels & valid).sum())
    if bal and n_pos and n_neg:
        assert pw == n_neg / n_pos
        assert total == pytest.approx(2 * n_neg)  # positives weigh as much as negatives
    else:
        assert pw is None and total == n_pos + n_neg


def test_p_yes_is_the_two_token_softmax() -> None:
    zy = np.array([0.0, 2.0, -3.0, 1000.0, -1000.0], dtype=np.float32)
    zn = np.array([0.0, -1.0, 1.5, -1000.0, 1000.0], dtype=np.float32)
    p = p_yes(zy, zn)
    assert p.dtype == np.float64
    e = np.exp(zy[:3].astype(np.float64)), np.exp(zn[:3].astype(np.float64))
    np.testing.assert_allclose(p[:3], e[0] / (e[0] + e[1]), rtol=1e-12)
    assert p[3] == 1.0 and 0.0 <= p[4] < 1e-300  # no overflow at extreme margins
    # the tensor path of the verifier gives the same score
    from rlv.verifier import verifier_score

    zt = torch.tensor(np.stack([zy, zn], axis=1)[:3], dtype=torch.float64)
    np.testing.assert_allclose(
        verifier_score(zt, yes_id=0, no_id=1).numpy(), p[:3], rtol=1e-12, atol=0
    )


# The verification term from the label tokens' log-probs (rlv.integrations.verl: verl's actor
# returns token log-probs, not logits) is the "full" term on the logits, up to rounding.
from rlv.rl.objective import verification_term, verification_term_from_logprobs  # noqa: E402
from rlv.verifier import label_nll_loss  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=12),
    pos_weight=st.sampled_from([None, 0.5, 3.0]),
    seed=st.integers(0, 2**16),
)
def test_verification_term_from_logprobs_is_the_full_term(
    rows: list[tuple[bool, bool]], pos_weight: float | None, seed: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    labels = torch.tensor([r[0] for r in rows])
    valid = torch.tensor([r[1] for r in rows])
    z = (torch.randn((len(rows), 9), generator=g, dtype=torch.float64) * 4).requires_grad_(True)
    yes_id, no_id = 2, 5
    total = float(valid.sum()) + 1.5
    norms = LossNorms(1.0, 1.0, 1.0, verify_weight_total=total, pos_weight=pos_weight)
    want, _ = verification_term(
        z, labels, valid, norms=norms, yes_id=yes_id, no_id=no_id, verify_mode="full"
    )
    target = torch.where(labels, yes_id, no_id)
    lp = torch.log_softmax(z, dim=-1).gather(1, target[:, None]).squeeze(1)
    got, metrics = verification_term_from_logprobs(lp, labels, valid, norms=norms)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    (g_want,) = torch.autograd.grad(want, z, retain_graph=True)
    (g_got,) = torch.autograd.grad(got, z)
    torch.testing.assert_close(g_got, g_want, rtol=0, atol=1e-12)
    assert float(metrics["verifier/n_pos"]) == float((labels & valid).sum())
    assert float(metrics["verifier/n_neg"]) == float((~labels & valid).sum())


def test_label_nll_loss_errors() -> None:
    with pytest.raises(ValueError, match=r"\(N,\)"):
        label_nll_loss(torch.zeros((2, 2)), torch.tensor([True, False]))
    with pytest.raises(ValueError, match="labels"):
        label_nll_loss(torch.zeros(2), torch.tensor([True]))
    with pytest.raises(ValueError, match="pos_weight"):
        label_nll_loss(torch.zeros(1), torch.tensor([True]), pos_weight=-1.0)
    with pytest.raises(TypeError, match="bool"):
        verification_term_from_logprobs(
            torch.zeros(1),
            torch.tensor([1]),
            torch.tensor([True]),
            norms=LossNorms(1, 1, 1, 1, None),
        )
