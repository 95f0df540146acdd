"""rlv.integrations.trl: the grader reward and the RL^V trainers inside TRL.

Parity (issue 16, acceptance 1): on a fixed batch of rollouts, in float64, the loss and the
gradients of ``RLVGRPOTrainer.compute_loss`` equal :func:`rlv.rl.objective.rlv_objective`
configured the same way, to 1e-6, for lambda = 0 (then also TRL's own ``GRPOTrainer``) and
lambda > 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

pytest.importorskip("trl", reason="the TRL integration needs `pip install rlv[trl]`")
torch = pytest.importorskip("torch")

from datasets import Dataset  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

from rlv.integrations.trl import (  # noqa: E402
    METRIC_PREFIX,
    RLVGRPOConfig,
    RLVGRPOTrainer,
    accuracy_reward,
    make_accuracy_reward,
)
from rlv.models import tiny  # noqa: E402
from rlv.rl.advantages import grpo  # noqa: E402
from rlv.rl.losses import token_logprobs  # noqa: E402
from rlv.rl.objective import LossNorms, rlv_objective  # noqa: E402
from rlv.verifier import build_verification_batch, forward_window, verification_weights  # noqa: E402

# TRL 1.16's configs default `gradient_checkpointing`, which transformers 5.25 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`gradient_checkpointing.*is deprecated:FutureWarning",
    "ignore:`is_gradient_checkpointing` is deprecated:FutureWarning",
)

# ---------------------------------------------------------------------------------------------
# reward


def test_reward_plain_and_conversational() -> None:
    comps = ["so the answer is \\boxed{4}", "\\boxed{5}"]
    assert accuracy_reward(comps, solution=["4", "4"]) == [1.0, 0.0]
    conv = [[{"role": "assistant", "content": c}] for c in comps]
    assert accuracy_reward(conv, solution=["4", "4"]) == [1.0, 0.0]


def test_reward_none_without_gold_and_for_invalid_gold() -> None:
    out = accuracy_reward(["\\boxed{4}"] * 3, solution=[None, "", "4"])
    assert out == [None, None, 1.0]
    # an unparsable gold is unscorable: None (left out of TRL's baseline), never 0 or 1
    bad = accuracy_reward(["\\boxed{4}"], solution=["\\frac{"])
    assert bad == [None]


def test_reward_strict_by_default() -> None:
    # strict mode grades only a marked final answer; a bare trailing number is no answer
    assert accuracy_reward(["I think it is 4"], solution=["4"]) == [0.0]
    lenient = make_accuracy_reward(mode="lenient")
    assert lenient(["I think it is 4"], solution=["4"]) == [1.0]


def test_reward_column_name_statuses_and_errors() -> None:
    logged: dict[str, float] = {}
    r = make_accuracy_reward("answer", name="acc")
    assert r.__name__ == "acc"
    out = r(
        ["\\boxed{1}", "\\boxed{2}"],
        answer=["1", "1"],
        log_metric=lambda k, v: logged.__setitem__(k, v),
        trainer_state=None,
    )
    assert out == [1.0, 0.0]
    assert logged[METRIC_PREFIX + "grade/equal"] == 1.0
    assert sum(logged.values()) == 2.0
    with pytest.raises(KeyError, match="answer"):
        r(["\\boxed{1}"], solution=["1"])
    with pytest.raises(ValueError, match="completions"):
        r(["\\boxed{1}"], answer=["1", "2"])
    with pytest.raises(TypeError, match="completion 0"):
        r([3], answer=["1"])
    with pytest.raises(ValueError, match="mode"):
        make_accuracy_reward(mode="fuzzy")


# ---------------------------------------------------------------------------------------------
# config


def test_config_checks_the_verify_fields(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="verify_lambda"):
        RLVGRPOConfig(output_dir=str(tmp_path), use_cpu=True, verify_lambda=-1.0)
    with pytest.raises(ValueError, match="verify_mode"):
        RLVGRPOConfig(output_dir=str(tmp_path), use_cpu=True, verify_mode="soft")


# ---------------------------------------------------------------------------------------------
# parity with rlv's objective (float64, fixed rollouts)

G = 4
PROMPTS = ["12+7=?\n", "3*4=?\n"]
COMPLETIONS = ["19", "18", "1+2", "#### 19", "12", "7", "\\boxed{12}", ""]
REWARDS = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, float("nan"), 0.0]


def _trainer(cls: Any, config_cls: Any, tmp_path: Any, **kw: Any) -> Any:
    model, tok = tiny(seed=3, num_layers=2, hidden_size=64, head_dim=32, intermediate_size=128)
    model = model.double()
    args = config_cls(
        output_dir=str(tmp_path),
        use_cpu=True,
        per_device_train_batch_size=len(COMPLETIONS),
        num_generations=G,
        max_completion_length=8,
        report_to="none",
        save_strategy="no",
        loss_type="dapo",
        beta=0.0,
        bf16=False,  # TRL defaults to bf16 autocast, also on the CPU
        **kw,
    )
    ds = Dataset.from_list([{"prompt": p, "solution": "0"} for p in PROMPTS])
    trainer = cls(
        model=model, reward_funcs=accuracy_reward, args=args, train_dataset=ds, processing_class=tok
    )
    trainer.current_gradient_accumulation_steps = 1
    trainer.model.train()
    return trainer, tok


def _batch(tok: Any) -> tuple[dict[str, Any], list[list[int]], list[list[int]]]:
    """TRL's batch dict for the fixed rollouts: prompts left-padded, completions right-padded
    (each ending in EOS except the empty one's, which is only EOS)."""
    p_ids = [tok.encode(p, add_special_tokens=False) for p in PROMPTS for _ in range(G)]
    c_ids = [tok.encode(c, add_special_tokens=False) + [tok.eos_token_id] for c in COMPLETIONS]
    pl, cl = max(map(len, p_ids)), max(map(len, c_ids))
    pad = tok.pad_token_id
    prompt_ids = torch.tensor([[pad] * (pl - len(p)) + p for p in p_ids])
    prompt_mask = torch.tensor([[0] * (pl - len(p)) + [1] * len(p) for p in p_ids])
    completion_ids = torch.tensor([c + [pad] * (cl - len(c)) for c in c_ids])
    completion_mask = torch.tensor([[1] * len(c) + [0] * (cl - len(c)) for c in c_ids])
    adv = grpo(torch.tensor(REWARDS, dtype=torch.float64), sizes=G, eps=1e-4)
    out = {
        "prompt_ids": prompt_ids,
        "prompt_mask": prompt_mask,
        "completion_ids": completion_ids,
        "completion_mask": completion_mask,
        "advantages": adv.float(),
        "num_items_in_batch": completion_mask.sum(),
    }
    return out, p_ids, c_ids


def _loss_and_grads(model: Any, fn: Any) -> tuple[float, list[Any]]:
    model.zero_grad(set_to_none=True)
    loss = fn()
    loss.backward()
    grads = [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]
    return float(loss.detach()), grads


def _rlv_reference(
    model: Any, tok: Any, p_ids: list[list[int]], c_ids: list[list[int]], lam: float, **kw: Any
) -> Any:
    """rlv's own objective on the same rollouts: one forward pass over the verification
    rows gives the completion log-probs and the label logits (rlv's trainer's layout)."""
    balance = bool(kw.pop("balance", False))
    mode = kw.pop("verify_mode", "full")
    rewards = np.array(REWARDS)
    vb = build_verification_batch(tok, p_ids, c_ids, rewards)
    total, pos_weight = verification_weights(vb.labels.numpy(), vb.valid.numpy(), balance)
    mask = vb.packed.completion_mask
    norms = LossNorms(
        num_tokens=float(mask.sum()),
        num_seqs=float(len(c_ids)),
        norm_len=8.0,
        verify_weight_total=total,
        pos_weight=pos_weight,
    )
    adv = grpo(torch.tensor(REWARDS, dtype=torch.float64), sizes=G, eps=1e-4).float()

    def run() -> Any:
        logits = forward_window(model, vb.packed)
        logp = token_logprobs(vb.packed.completion_logits(logits), vb.packed.completion_ids)
        loss, _ = rlv_objective(
            logp,
            adv,
            mask,
            vb.packed.label_logits(logits),
            vb.labels,
            vb.valid,
            norms=norms,
            lam=lam,
            yes_id=vb.yes_id,
            no_id=vb.no_id,
            verify_mode=mode,
            agg="token-mean",
        )
        return loss

    return run


def _assert_close(a: tuple[float, list[Any]], b: tuple[float, list[Any]], tol: float) -> float:
    assert len(a[1]) == len(b[1])
    worst = abs(a[0] - b[0])
    for ga, gb in zip(a[1], b[1], strict=True):
        worst = max(worst, float((ga - gb).abs().max()))
    assert worst <= tol, worst
    return worst


@pytest.mark.parametrize(
    ("lam", "extra"),
    [
        (0.0, {}),
        (0.7, {}),
        (0.7, {"verify_balance": True}),
        (1.3, {"verify_mode": "yes_no"}),
    ],
)
def test_parity_with_rlv_objective_float64(
    tmp_path: Any, lam: float, extra: dict[str, Any]
) -> None:
    trainer, tok = _trainer(RLVGRPOTrainer, RLVGRPOConfig, tmp_path, verify_lambda=lam, **extra)
    batch, p_ids, c_ids = _batch(tok)
    inputs = trainer._rlv_add_verify_rows(
        dict(batch), torch.tensor(REWARDS, dtype=torch.float64), len(c_ids)
    )
    model = trainer.model
    assert next(model.parameters()).dtype == torch.float64
    got = _loss_and_grads(model, lambda: trainer.compute_loss(model, inputs))
    ref_kw = {"balance": extra.get("verify_balance", False)}
    if "verify_mode" in extra:
        ref_kw["verify_mode"] = extra["verify_mode"]
    want = _loss_and_grads(model, _rlv_reference(model, tok, p_ids, c_ids, lam, **ref_kw))
    _assert_close(got, want, 1e-6)
    if lam > 0:  # the verification term is really there
        plain = _rlv_reference(model, tok, p_ids, c_ids, 0.0)
        assert abs(got[0] - float(plain().detach())) > 1e-3
    log = trainer._metrics["train"]
    assert math.isfinite(log[METRIC_PREFIX + "verifier/loss"][-1])


def test_lambda_zero_equals_plain_grpo_trainer(tmp_path: Any) -> None:
    rlv_t, tok = _trainer(RLVGRPOTrainer, RLVGRPOConfig, tmp_path / "a", verify_lambda=0.0)
    plain_t, _ = _trainer(GRPOTrainer, GRPOConfig, tmp_path / "b")
    batch, _, c_ids = _batch(tok)
    inputs = rlv_t._rlv_add_verify_rows(
        dict(batch), torch.tensor(REWARDS, dtype=torch.float64), len(c_ids)
    )
    a = _loss_and_grads(rlv_t.model, lambda: rlv_t.compute_loss(rlv_t.model, inputs))
    b = _loss_and_grads(plain_t.model, lambda: plain_t.compute_loss(plain_t.model, dict(batch)))
    assert _assert_close(a, b, 0.0) == 0.0


# ---------------------------------------------------------------------------------------------
# end to end


def test_two_steps_log_verifier_metrics(tmp_path: Any) -> None:
    model, tok = tiny(seed=0, num_layers=1, hidden_size=32, head_dim=16, intermediate_size=64)
    ds = Dataset.from_list([{"prompt": f"{i}+1=?\n", "solution": str(i + 1)} for i in range(8)])
    args = RLVGRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=6,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        verify_lambda=1.0,
    )
    trainer = RLVGRPOTrainer(
        model=model, reward_funcs=accuracy_reward, args=args, train_dataset=ds, processing_class=tok
    )
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    assert len(logs) == 2
    for h in logs:
        for k in ("verifier/loss", "verifier/accuracy", "verifier/brier", "verifier/auc"):
            assert METRIC_PREFIX + k in h
        assert 0.0 <= h[METRIC_PREFIX + "verifier/accuracy"] <= 1.0
    after = list(trainer.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_rejects_a_plain_config(tmp_path: Any) -> None:
    model, tok = tiny(seed=0, num_layers=1, hidden_size=32, head_dim=16, intermediate_size=64)
    ds = Dataset.from_list([{"prompt": "1+1=?\n", "solution": "2"}])
    args = GRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        report_to="none",
        num_generations=2,
        per_device_train_batch_size=2,
    )
    with pytest.raises(TypeError, match="RLVGRPOConfig"):
        RLVGRPOTrainer(
            model=model,
            reward_funcs=accuracy_reward,
            args=args,
            train_dataset=ds,
            processing_class=tok,
        )
