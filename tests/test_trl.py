"""rlv.integrations.trl: the grader reward and the RL^V trainers inside TRL.

Parity (issue 16, acceptance 1): on a fixed batch of rollouts, in float64, the loss and the
gradients of ``RLVGRPOTrainer.compute_loss`` equal :func:`rlv.rl.objective.rlv_objective`
configured the same way, to 1e-6, for lambda = 0 (then also TRL's own ``GRPOTrainer``) and
lambda > 0.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("trl", reason="the TRL integration needs `pip install rlv[trl]`")
torch = pytest.importorskip("torch")

from datasets import Dataset  # noqa: E402
from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer  # noqa: E402
from trl.trainer.utils import split_tensor_dict  # noqa: E402

from rlv.integrations.trl import (  # noqa: E402
    METRIC_PREFIX,
    TTS_PREFIX,
    RLVEvalCallback,
    RLVGRPOConfig,
    RLVGRPOTrainer,
    RLVRLOOConfig,
    RLVRLOOTrainer,
    accuracy_reward,
    make_accuracy_reward,
)
from rlv.models import tiny  # noqa: E402
from rlv.rl.advantages import grpo, rloo  # noqa: E402
from rlv.rl.losses import token_logprobs  # noqa: E402
from rlv.rl.objective import LossNorms, rlv_objective  # noqa: E402
from rlv.scaling import pass_at_k  # noqa: E402
from rlv.tasks import Problem  # noqa: E402
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
    with pytest.raises(ValueError, match="verify_ramp_steps"):
        RLVGRPOConfig(output_dir=str(tmp_path), use_cpu=True, verify_ramp_steps=-1)
    with pytest.raises(TypeError, match="verify_ramp_steps"):
        RLVGRPOConfig(output_dir=str(tmp_path), use_cpu=True, verify_ramp_steps=1.5)


# ---------------------------------------------------------------------------------------------
# parity with rlv's objective (float64, fixed rollouts)

G = 4
PROMPTS = ["12+7=?\n", "3*4=?\n"]
COMPLETIONS = ["19", "18", "1+2", "#### 19", "12", "7", "\\boxed{12}", ""]
REWARDS = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, float("nan"), 0.0]


def _trainer(cls: Any, config_cls: Any, tmp_path: Any, **kw: Any) -> Any:
    model, tok = tiny(seed=3, num_layers=2, hidden_size=64, head_dim=32, intermediate_size=128)
    model = model.double()
    kw.setdefault("per_device_train_batch_size", len(COMPLETIONS))
    if config_cls in (GRPOConfig, RLVGRPOConfig):
        kw.setdefault("loss_type", "dapo")
    args = config_cls(
        output_dir=str(tmp_path),
        use_cpu=True,
        num_generations=G,
        max_completion_length=8,
        report_to="none",
        save_strategy="no",
        beta=0.0,
        bf16=False,  # TRL defaults to bf16 autocast, also on the CPU
        **kw,
    )
    ds = Dataset.from_list([{"prompt": p, "solution": "0"} for p in PROMPTS])
    trainer = cls(
        model=model, reward_funcs=accuracy_reward, args=args, train_dataset=ds, processing_class=tok
    )
    trainer.current_gradient_accumulation_steps = args.gradient_accumulation_steps
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
    model: Any,
    tok: Any,
    p_ids: list[list[int]],
    c_ids: list[list[int]],
    lam: float,
    *,
    method: str = "grpo",
    **kw: Any,
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
    r = torch.tensor(REWARDS, dtype=torch.float64)
    adv = (grpo(r, sizes=G, eps=1e-4) if method == "grpo" else rloo(r, sizes=G)).float()
    # TRL's GRPO dapo loss is a token mean over the step; RLOO's a mean over sequences of the
    # sequence-level ratio times A, whose value and gradient on-policy are the token sum's.
    agg = "token-mean" if method == "grpo" else "seq-mean-token-sum"

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
            agg=agg,
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


def test_ramp_scales_the_verification_term_by_the_step(tmp_path: Any) -> None:
    """``verify_ramp_steps=4``, lambda 0.8: the loss for optimizer step ``global_step + 1`` is
    rlv's objective at ``0.8 * min(1, step / 4)`` (value and gradient, float64)."""
    trainer, tok = _trainer(
        RLVGRPOTrainer, RLVGRPOConfig, tmp_path, verify_lambda=0.8, verify_ramp_steps=4
    )
    batch, p_ids, c_ids = _batch(tok)
    inputs = trainer._rlv_add_verify_rows(
        dict(batch), torch.tensor(REWARDS, dtype=torch.float64), len(c_ids)
    )
    model = trainer.model
    for done, lam in ((0, 0.2), (2, 0.6), (3, 0.8), (9, 0.8)):
        trainer.state.global_step = done
        got = _loss_and_grads(model, lambda: trainer.compute_loss(model, inputs))
        want = _loss_and_grads(model, _rlv_reference(model, tok, p_ids, c_ids, lam))
        _assert_close(got, want, 1e-6)
        assert trainer._metrics["train"][METRIC_PREFIX + "verify/lambda"][-1] == pytest.approx(lam)
    other = _loss_and_grads(model, _rlv_reference(model, tok, p_ids, c_ids, 0.4))
    assert abs(got[0] - other[0]) > 1e-4  # the weight really changes the loss


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


@pytest.mark.parametrize(
    ("config_cls", "trainer_cls"),
    [(RLVGRPOConfig, RLVGRPOTrainer), (RLVRLOOConfig, RLVRLOOTrainer)],
    ids=["grpo", "rloo"],
)
def test_two_steps_log_verifier_metrics(tmp_path: Any, config_cls: Any, trainer_cls: Any) -> None:
    model, tok = tiny(seed=0, num_layers=1, hidden_size=32, head_dim=16, intermediate_size=64)
    ds = Dataset.from_list([{"prompt": f"{i}+1=?\n", "solution": str(i + 1)} for i in range(8)])
    args = config_cls(
        output_dir=str(tmp_path),
        use_cpu=True,
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=6,
        beta=0.0,  # RLOO's default 0.05 reloads the reference model by name (none in memory)
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        verify_lambda=1.0,
        verify_ramp_steps=2,
    )
    trainer = trainer_cls(
        model=model, reward_funcs=accuracy_reward, args=args, train_dataset=ds, processing_class=tok
    )
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    assert len(logs) == 2
    assert [h[METRIC_PREFIX + "verify/lambda"] for h in logs] == [0.5, 1.0]
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


@pytest.mark.parametrize("loss_type", ["dapo", "grpo"])
def test_gradient_accumulation_adds_up_to_the_step(tmp_path: Any, loss_type: str) -> None:
    """Two accumulated micro-batches of one generation batch give the gradients of one
    micro-batch holding all of it (TRL's scaling, which the verification term follows)."""
    lam = 0.9
    one, tok = _trainer(
        RLVGRPOTrainer, RLVGRPOConfig, tmp_path / "a", verify_lambda=lam, loss_type=loss_type
    )
    two, _ = _trainer(
        RLVGRPOTrainer,
        RLVGRPOConfig,
        tmp_path / "b",
        verify_lambda=lam,
        loss_type=loss_type,
        per_device_train_batch_size=len(COMPLETIONS) // 2,
        gradient_accumulation_steps=2,
        verify_balance=True,
    )
    assert two.current_gradient_accumulation_steps == 2 and two.args.steps_per_generation == 2
    one.args.verify_balance = True
    batch, _, c_ids = _batch(tok)
    rewards = torch.tensor(REWARDS, dtype=torch.float64)
    full = one._rlv_add_verify_rows(dict(batch), rewards, len(c_ids))
    a = _loss_and_grads(one.model, lambda: one.compute_loss(one.model, full))
    halves = split_tensor_dict(two._rlv_add_verify_rows(dict(batch), rewards, len(c_ids)), 2)
    two.model.zero_grad(set_to_none=True)
    total = 0.0
    for h in halves:
        loss = two.compute_loss(two.model, h)
        loss.backward()
        total += float(loss.detach())
    grads = [p.grad.detach().clone() for p in two.model.parameters() if p.grad is not None]
    _assert_close(a, (total, grads), 1e-6)


@pytest.mark.parametrize("lam", [0.0, 0.8])
def test_rloo_parity_float64(tmp_path: Any, lam: float) -> None:
    """RLOO's loss is a mean over sequences of ``-A * exp(sum_t logp - sum_t old)``: on-policy
    its gradient is the token sum's (rlv's ``seq-mean-token-sum``) but its value is
    ``-mean(A)``, not ``-mean(A * len)``. So the gradients are compared whole, and the
    values through the verification term: ``loss - plain RLOO loss`` against
    ``rlv(lambda) - rlv(0)``."""
    trainer, tok = _trainer(RLVRLOOTrainer, RLVRLOOConfig, tmp_path / "a", verify_lambda=lam)
    plain, _ = _trainer(RLOOTrainer, RLOOConfig, tmp_path / "b")
    batch, p_ids, c_ids = _batch(tok)
    batch["advantages"] = rloo(torch.tensor(REWARDS, dtype=torch.float64), sizes=G).float()
    model = trainer.model
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], 1)
    att = torch.cat([batch["prompt_mask"], batch["completion_mask"]], 1)
    with torch.no_grad():
        lp, _, _ = trainer._get_per_token_logps_and_entropies(
            model, ids, att, batch["completion_ids"].size(1)
        )
    batch["old_logps"] = (lp * batch["completion_mask"]).sum(1)
    inputs = trainer._rlv_add_verify_rows(
        dict(batch), torch.tensor(REWARDS, dtype=torch.float64), len(c_ids)
    )
    got = _loss_and_grads(model, lambda: trainer.compute_loss(model, inputs))
    base = _loss_and_grads(plain.model, lambda: plain.compute_loss(plain.model, dict(batch)))
    want = _loss_and_grads(model, _rlv_reference(model, tok, p_ids, c_ids, lam, method="rloo"))
    want0 = _loss_and_grads(model, _rlv_reference(model, tok, p_ids, c_ids, 0.0, method="rloo"))
    _assert_close((got[0] - base[0], got[1]), (want[0] - want0[0], want[1]), 1e-6)
    if lam == 0.0:  # then exactly TRL's RLOOTrainer
        assert _assert_close(got, base, 0.0) == 0.0
    else:
        assert got[0] - base[0] > 1e-3


# ---------------------------------------------------------------------------------------------
# distributed (issue 16, acceptance 2)

WORKER = Path(__file__).with_name("trl_ddp_worker.py")


def _run_worker(out: Path, nproc: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    out.mkdir()
    cmd = [sys.executable, str(WORKER), str(out), "8"]
    if nproc > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += ["--nproc_per_node", str(nproc), str(WORKER), str(out), "8"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    weights = torch.load(out / "weights.pt")
    log = [h for h in json.loads((out / "log.json").read_text()) if "loss" in h]
    return weights, log


@pytest.mark.timeout(600)
def test_two_gloo_ranks_match_one_process(tmp_path: Path) -> None:
    """Same global batch (8 fixed rollouts, 2 groups), same seed: 2 optimizer steps under
    ``torchrun --nproc_per_node 2`` (gloo, 4 rollouts per rank) end with the weights of one
    process within 1e-5, and the verifier metrics (gathered over ranks) agree."""
    w1, log1 = _run_worker(tmp_path / "one", 1)
    w2, log2 = _run_worker(tmp_path / "two", 2)
    assert w1.keys() == w2.keys()
    diff = max(float((w1[k] - w2[k]).abs().max()) for k in w1)
    assert diff <= 1e-5, diff
    assert len(log1) == len(log2) == 2
    for a, b in zip(log1, log2, strict=True):
        for k in ("loss", "verifier/loss", "verifier/accuracy", "verifier/auc", "verifier/brier"):
            key = k if k == "loss" else METRIC_PREFIX + k
            assert a[key] == pytest.approx(b[key], abs=1e-5), key
        # computed on the rows of both ranks (8 per step), not on one rank's 4
        assert a[METRIC_PREFIX + "verifier/n_rows"] == b[METRIC_PREFIX + "verifier/n_rows"] == 8
    # RLVEvalCallback: the 5 problems sampled on 2 ranks (3 + 2) are gathered in order and
    # sampled from per-problem seeds, so the dump and the logged curves are one process's
    dumps = [
        [json.loads(x) for x in (d / "dumps" / "step-2.jsonl").read_text().splitlines()]
        for d in (tmp_path / "one", tmp_path / "two")
    ]
    assert [r["problem_id"] for r in dumps[1]] == [str(i) for i in range(5)]
    for r1, r2 in zip(*dumps, strict=True):
        assert r1["completions"] == r2["completions"]
        assert r1["scores"] == pytest.approx(r2["scores"], abs=1e-5)
    t1, t2 = ([h for h in json.loads((tmp_path / d / "log.json").read_text())
               if TTS_PREFIX + "pass@1" in h] for d in ("one", "two"))  # fmt: skip
    assert len(t1) == len(t2) == 1
    for k, v in t1[0].items():
        if k.startswith(TTS_PREFIX) and not k.endswith("_s"):
            assert t2[0][k] == pytest.approx(v, abs=1e-9, nan_ok=True), k


# ---------------------------------------------------------------------------------------------
# test-time scaling during training (RLVEvalCallback)

EVAL_ROWS = [{"prompt": f"{i}+2=?\n", "solution": str(i + 2)} for i in range(5)]


def _tiny_grpo(tmp_path: Path, steps: int = 2, peft_config: Any = None, **kw: Any) -> Any:
    model, tok = tiny(seed=0, num_layers=1, hidden_size=32, head_dim=16, intermediate_size=64)
    ds = Dataset.from_list([{"prompt": f"{i}+1=?\n", "solution": str(i + 1)} for i in range(8)])
    args = RLVGRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        bf16=False,
        max_steps=steps,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=6,
        beta=0.0,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=0,
        **kw,
    )
    return RLVGRPOTrainer(
        model=model,
        reward_funcs=accuracy_reward,
        args=args,
        train_dataset=ds,
        processing_class=tok,
        peft_config=peft_config,
    )


def test_eval_callback_logs_curves_that_rlv_rescore_reproduces(tmp_path: Path) -> None:
    from rlv.cli import main as rlv_main

    trainer = _tiny_grpo(tmp_path / "a")
    # lenient extraction: the untrained model's random digits are read as answers, so the
    # curves compared with `rlv rescore` are not all zero
    cb = RLVEvalCallback(
        trainer,
        EVAL_ROWS,
        n=4,
        at_start=True,
        every_n_steps=2,
        dump_dir=tmp_path / "dumps",
        mode="lenient",
    )
    assert cb.score == "normalized"  # the trainer's verify_normalize_score
    trainer.add_callback(cb)
    trainer.train()
    hist = trainer.state.log_history
    tts = [h for h in hist if TTS_PREFIX + "pass@1" in h]
    assert [h["step"] for h in tts] == [0, 2]
    for h in tts:
        for m in ("pass", "majority", "weighted", "best_of_n"):
            for k in (1, 2, 4):
                assert 0.0 <= h[f"{TTS_PREFIX}{m}@{k}"] <= 1.0
        assert h[TTS_PREFIX + "problems"] == 5 and h[TTS_PREFIX + "samples"] == 20
        assert h[TTS_PREFIX + "generate_s"] > 0
        assert h[TTS_PREFIX + "answered"] > 0
    # TRL's training metrics stay in their own entries (the callback logs in eval mode)
    train = [h for h in hist if "loss" in h]
    assert [h["step"] for h in train] == [1, 2]
    assert all("reward" in h and METRIC_PREFIX + "verifier/auc" in h for h in train)
    assert not any(TTS_PREFIX + "pass@1" in h for h in train)
    # `rlv rescore` on the written dump reproduces the logged curves exactly
    for h in tts:
        dump = tmp_path / "dumps" / f"step-{h['step']}.jsonl"
        rows = [json.loads(x) for x in dump.read_text().splitlines()]
        assert [r["gold"] for r in rows] == [r["solution"] for r in EVAL_ROWS]
        assert all(len(r["completions"]) == len(r["scores"]) == 4 for r in rows)
        assert all(r["scores"] == r["scores_normalized"] for r in rows)
        out = tmp_path / f"report-{h['step']}.json"
        assert rlv_main([*cb.rescore_command(dump)[1:], "--quiet", "--out", str(out)]) == 0
        report = json.loads(out.read_text())
        for m, curve in report["curves"].items():
            for k, v in curve.items():
                assert h[f"{TTS_PREFIX}{m}@{k}"] == v, (m, k)
        assert len(report["curves"]) == 4


def test_eval_callback_leaves_the_training_rng_alone(tmp_path: Path) -> None:
    """Sampling for the evaluation runs in a forked RNG state: the run with the callback ends
    with the weights of the run without it."""
    plain = _tiny_grpo(tmp_path / "a")
    plain.train()
    with_cb = _tiny_grpo(tmp_path / "b")
    with_cb.add_callback(RLVEvalCallback(with_cb, EVAL_ROWS[:2], n=2, every_n_steps=1))
    with_cb.train()
    for a, b in zip(plain.model.parameters(), with_cb.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert sum(TTS_PREFIX + "pass@1" in h for h in with_cb.state.log_history) == 2


def test_eval_callback_metrics_on_known_samples(tmp_path: Path) -> None:
    """The logged numbers of fixed samples: pass@k is the unbiased estimator of each
    problem's correct count, Best-of-k follows the scores, the AUC is score vs grade."""
    trainer = _tiny_grpo(tmp_path)
    cb = RLVEvalCallback(trainer, EVAL_ROWS[:2], n=4, subsets=50, seed=3)
    rows = [
        {
            "problem_id": "0",
            "prompt": "p",
            "gold": "4",
            "completions": ["#### 4", "#### 5", "#### 5", "no answer"],
            "scores": [0.9, 0.2, 0.3, 0.1],
        },
        {
            "problem_id": "1",
            "prompt": "q",
            "gold": "\\frac{1}{2}",
            "completions": ["\\boxed{0.5}", "\\boxed{1/2}", "#### 3", "#### 3"],
            "scores": [0.4, 0.6, 0.7, 0.8],
        },
    ]
    m = cb._report(rows, step=0)
    for k in (1, 2, 4):
        want = (pass_at_k(4, 1, k) + pass_at_k(4, 2, k)) / 2
        assert m[f"{TTS_PREFIX}pass@{k}"] == pytest.approx(want, abs=1e-12)
    # Best-of-4 picks the top score: right on problem 0, wrong (#### 3) on problem 1
    assert m[TTS_PREFIX + "best_of_n@4"] == pytest.approx(0.5)
    # majority of 4: problem 0 votes 5 (2 of 3 answers), problem 1 ties 1/2 vs 3 (2 each)
    assert m[TTS_PREFIX + "majority@4"] == pytest.approx((0.0 + 0.5) / 2)
    # weighted of 4: problem 1's class 3 (1.5) beats 1/2 (1.0); problem 0: 4 (0.9) vs 5 (0.5)
    assert m[TTS_PREFIX + "weighted@4"] == pytest.approx(0.5)
    assert m[TTS_PREFIX + "reward"] == pytest.approx(3 / 8)
    scores = np.array([0.9, 0.2, 0.3, 0.1, 0.4, 0.6, 0.7, 0.8])
    y = np.array([1, 0, 0, 0, 1, 1, 0, 0], dtype=bool)
    pairs = [(a > b) + 0.5 * (a == b) for a in scores[y] for b in scores[~y]]
    assert m[TTS_PREFIX + "verifier_auc"] == pytest.approx(float(np.mean(pairs)))


def test_eval_callback_inputs(tmp_path: Path) -> None:
    trainer = _tiny_grpo(tmp_path)
    problems = [Problem(id="a", prompt="1+1=?\n", gold="2")]
    cb = RLVEvalCallback(trainer, problems, n=3, score="raw", template="\nOk?\n")
    assert cb.ks == [1, 2, 3] and cb.params.max_new_tokens == 6 and cb.score == "raw"
    # a conversational prompt is rendered with the chat template, as TRL renders it
    tok = cb.tokenizer
    tok.chat_template = (
        "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}A:{% endif %}"
    )
    conv = RLVEvalCallback(
        trainer, [{"prompt": [{"role": "user", "content": "1+1=?"}], "answer": "2"}],
        n=2, gold_column="answer",
    )  # fmt: skip
    ((prob, ids),) = conv.items
    assert prob.prompt == "1+1=?\nA:" and ids == tok.encode("1+1=?\nA:", add_special_tokens=False)
    metrics = conv.evaluate()
    assert metrics[TTS_PREFIX + "samples"] == 2
    with pytest.raises(ValueError, match="n must be"):
        RLVEvalCallback(trainer, problems, n=0)
    with pytest.raises(ValueError, match="ks"):
        RLVEvalCallback(trainer, problems, n=2, ks=[4])
    with pytest.raises(ValueError, match="mode"):
        RLVEvalCallback(trainer, problems, mode="fuzzy")
    with pytest.raises(ValueError, match="score"):
        RLVEvalCallback(trainer, problems, score="logit")
    with pytest.raises(KeyError, match="solution"):
        RLVEvalCallback(trainer, [{"prompt": "x"}])
    with pytest.raises(ValueError, match="gold"):
        RLVEvalCallback(trainer, [{"prompt": "x", "solution": ""}])
    with pytest.raises(ValueError, match="no evaluation problems"):
        RLVEvalCallback(trainer, [])


# ---------------------------------------------------------------------------------------------
# examples/trl/math_jsonl.py: argument parsing and data loading, one step on the CPU

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "trl"


def _example(name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"rlv_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_math_jsonl_example_one_cpu_step(tmp_path: Path) -> None:
    from rlv.models import save

    model, tok = tiny(seed=0, num_layers=1, hidden_size=32, head_dim=16, intermediate_size=64)
    save(model, tok, tmp_path / "model")
    data = tmp_path / "math.jsonl"
    recs = [{"problem": f"What is {i}+{i}?", "answer": str(2 * i)} for i in range(6)]
    data.write_text("".join(json.dumps(r) + "\n" for r in recs))
    ex = _example("math_jsonl")
    argv = [
        "--model", str(tmp_path / "model"), "--train", str(data), "--eval", str(data),
        "--output-dir", str(tmp_path / "out"), "--cpu", "--max-steps", "1",
        "--per-device-batch", "4", "--num-generations", "4", "--max-completion-length", "8",
        "--eval-problems", "3", "--eval-n", "2", "--eval-every", "1",
        "--eval-dump-dir", str(tmp_path / "dumps"), "--verify-lambda", "0.5",
    ]  # fmt: skip
    a = ex.parse_args(argv)
    cfg = ex.build_config(a)
    assert cfg.use_cpu and not cfg.bf16 and cfg.verify_lambda == 0.5 and not cfg.use_vllm
    problems = ex.load_problems(a.train, a, None)
    assert len(problems) == 6 and problems[1].gold == "2"
    assert problems[1].prompt == "What is 1+1?" + ex.DEFAULT_INSTRUCTION
    assert ex.rows(problems[:1], chat=True)[0]["prompt"] == [
        {"role": "user", "content": problems[0].prompt}
    ]
    vcfg = ex.build_config(ex.parse_args([*argv, "--use-vllm", "--vllm-mode", "server"]))
    assert vcfg.use_vllm and vcfg.vllm_mode == "server"
    trainer = ex.main(argv)
    hist = trainer.state.log_history
    assert [h["step"] for h in hist if "loss" in h] == [1]
    assert [h["step"] for h in hist if TTS_PREFIX + "pass@2" in h] == [0, 1]
    assert (tmp_path / "dumps" / "step-1.jsonl").is_file()


# ---------------------------------------------------------------------------------------------
# accelerate config files of examples/trl (loaded as `accelerate launch` loads them; CPU)

CONFIGS = {
    "multi_gpu.yaml": ("MULTI_GPU", {}),
    "zero2.yaml": ("DEEPSPEED", {"zero_stage": 2, "zero3_init": False}),
    "zero3.yaml": ("DEEPSPEED", {"zero_stage": 3, "zero3_init": True}),
    "fsdp2.yaml": ("FSDP", {"fsdp_version": 2}),
    "multi_node.yaml": ("MULTI_GPU", {"num_machines": 2, "num_processes": 16}),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_accelerate_configs_load(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each file has only keys accelerate knows (its config class rejects unknown top-level
    keys), goes through `accelerate launch`'s own merging of a config file into its
    arguments and environment, and builds the DeepSpeed / FSDP plugin the training
    processes would build from that environment."""
    import os

    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import DeepSpeedPlugin, FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    path = EXAMPLES / name
    dist, want = CONFIGS[name]
    cfg = ClusterConfig.from_yaml_file(str(path))
    assert cfg.distributed_type == dist
    launcher = launch_command_parser()
    known = {a.dest for a in launcher._actions}
    for section in (cfg.deepspeed_config, cfg.fsdp_config):
        for key in section:  # the launcher copies them onto its arguments (fsdp_ prefixed)
            assert key in known or f"fsdp_{key}" in known, key
    args, defaults, _ = _validate_launch_command(
        launcher.parse_args(["--config_file", str(path), "x.py"])
    )
    if dist == "DEEPSPEED":
        args.deepspeed_fields_from_accelerate_config = list(defaults.deepspeed_config)
        _, env = prepare_deepspeed_cmd_env(args)
        for k, v in env.items():
            monkeypatch.setitem(os.environ, k, v)
        ds = DeepSpeedPlugin()
        assert ds.zero_stage == want["zero_stage"]
        assert ds.zero3_init_flag == want["zero3_init"]
    else:
        env = prepare_multi_gpu_env(args)
        for k, v in env.items():
            monkeypatch.setitem(os.environ, k, v)
        if dist == "FSDP":
            fsdp = FullyShardedDataParallelPlugin()
            assert fsdp.fsdp_version == want["fsdp_version"]
            assert fsdp.reshard_after_forward is True
    assert args.mixed_precision == "bf16"
    assert args.num_machines == want.get("num_machines", 1)
    assert args.num_processes == want.get("num_processes", 8)


# ---------------------------------------------------------------------------------------------
# PEFT (LoRA)


def test_lora_step_trains_adapters_and_verifier(tmp_path: Path) -> None:
    """With a LoRA ``peft_config`` the RL^V trainer runs (TRL wraps the policy in a
    ``PeftModel``): the verification forward goes through the adapters, only adapter weights
    move, the verifier metrics are logged, and the evaluation callback samples from the
    wrapped model."""
    peft = pytest.importorskip("peft")
    lora = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    trainer = _tiny_grpo(tmp_path, peft_config=lora, learning_rate=1e-2)
    assert isinstance(trainer.model, peft.PeftModel)
    trainer.add_callback(RLVEvalCallback(trainer, EVAL_ROWS[:2], n=2, every_n_steps=2))
    named = dict(trainer.model.named_parameters())
    before = {k: v.detach().clone() for k, v in named.items()}
    trainer.train()
    moved = {k for k, v in named.items() if not torch.equal(v, before[k])}
    assert moved and all("lora_" in k for k in moved)
    logs = [h for h in trainer.state.log_history if "loss" in h]
    assert len(logs) == 2 and all(METRIC_PREFIX + "verifier/loss" in h for h in logs)
    assert any(TTS_PREFIX + "pass@2" in h for h in trainer.state.log_history)
