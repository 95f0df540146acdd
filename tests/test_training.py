"""RL^V trainer: verification batches, scores, losses, generation, the loop, resume, configs.

Everything runs on CPU with a very small Qwen2 (``rlv.models.tiny`` with hidden size 32).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rlv import models  # noqa: E402
from rlv.exceptions import ConfigError, RunDirError  # noqa: E402
from rlv.generation import SamplingParams, TransformersBackend  # noqa: E402
from rlv.rl.losses import policy_loss, token_logprobs  # noqa: E402
from rlv.rl.objective import LossNorms, rlv_objective  # noqa: E402
from rlv.tasks import Problem  # noqa: E402
from rlv.training import checkpoint as ckpt  # noqa: E402
from rlv.training.config import Config, load_config  # noqa: E402
from rlv.training.loop import train  # noqa: E402
from rlv.training.setup import PromptSampler, lr_schedule, micro_batches  # noqa: E402
from rlv.training.sft import sft  # noqa: E402
from rlv.verifier import (  # noqa: E402
    PackedBatch,
    Verifier,
    auc,
    build_verification_batch,
    forward_window,
    pack,
    score,
    verification_labels,
    verification_weights,
)

SMALL = [
    "model.hidden_size=32",
    "model.num_layers=1",
    "model.num_heads=2",
    "model.head_dim=16",
    "model.intermediate_size=64",
    "model.max_position_embeddings=256",
]


def tiny_model(seed: int = 0) -> tuple[Any, Any]:
    return models.tiny(
        hidden_size=32,
        num_layers=1,
        num_heads=2,
        head_dim=16,
        intermediate_size=64,
        max_position_embeddings=256,
        seed=seed,
    )


def small_config(tmp: Path, *extra: str) -> Config:
    return load_config(
        None,
        [
            *SMALL,
            "data.train_size=64",
            "data.eval_size=8",
            "data.min_steps=1",
            "data.max_steps=2",
            "rl.group_size=4",
            "rl.prompts_per_step=4",
            "generation.max_new_tokens=24",
            "generation.suppress_label_tokens=true",
            "train.steps=2",
            "train.progress=false",
            "train.threads=1",
            f"train.run_dir={tmp / 'run'}",
            "optim.lr=1e-3",
            "optim.warmup_steps=0",
            "sft.steps=2",
            "sft.batch_size=8",
            *extra,
        ],
    )


@pytest.fixture(scope="module")
def tiny() -> tuple[Any, Any]:
    return tiny_model()


# ---------------------------------------------------------------------------------------------
# verification batches and scores


def test_verification_batch_layout(tiny: tuple[Any, Any]) -> None:
    _, tok = tiny
    v = Verifier(tok)
    prompts = ["1+2=?\n", "10+20-5=?\n", "7=?\n"]
    comps = ["1+2=3\n#### 3", "#### 25", ""]
    rewards = [1.0, 0.0, float("nan")]
    b = build_verification_batch(tok, prompts, comps, rewards)
    assert b.yes_id == v.yes_id and b.no_id == v.no_id
    assert b.labels.tolist() == [True, False, False]
    assert b.valid.tolist() == [True, True, False]
    eos = tok.eos_token_id
    t = b.input_ids.shape[1]
    for i, (p, c) in enumerate(zip(prompts, comps, strict=True)):
        row = [*tok.encode(p), *tok.encode(c), eos, *v.suffix_ids]
        got = b.input_ids[i].tolist()
        assert got[t - len(row) :] == row  # left padding, then the example
        assert b.attention_mask[i].tolist() == [0] * (t - len(row)) + [1] * len(row)
        assert set(got[: t - len(row)]) <= {v.pad_id}
        # positions count from 0 at the first real token
        assert b.packed.position_ids[i, t - len(row) :].tolist() == list(range(len(row)))
        # completion window: right-aligned, masked on the left
        c_ids = [*tok.encode(c), eos]
        cw = b.packed.completion_ids.shape[1]
        assert b.packed.completion_ids[i, cw - len(c_ids) :].tolist() == c_ids
        assert b.packed.completion_mask[i].tolist() == [False] * (cw - len(c_ids)) + [True] * len(
            c_ids
        )
    # the label token is never an input: the last column predicts it
    assert b.label_positions.tolist() == [t - 1] * 3
    assert (b.input_ids[:, -1] == v.suffix_ids[-1]).all()
    assert v.suffix_ids[-1] not in (v.yes_id, v.no_id)


def test_completion_window_matches_unpadded_forward(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    v = Verifier(tok)
    prompts = [v.prompt_ids("12+7=?\n"), v.prompt_ids("3+4-1+9=?\n")]
    comps = [v.completion_ids("12+7=19\n#### 19"), v.completion_ids("#### 1")]
    b = v.pack(prompts, comps)
    with torch.no_grad():
        lp = token_logprobs(b.completion_logits(forward_window(model, b)), b.completion_ids)
        for i in range(2):
            ids = torch.tensor([prompts[i] + comps[i]])
            full = torch.log_softmax(model(ids).logits[0].float(), -1)
            ref = full[len(prompts[i]) - 1 : -1].gather(-1, torch.tensor(comps[i])[:, None])[:, 0]
            got = lp[i, lp.shape[1] - len(comps[i]) :]
            torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_p_yes_equals_manual_softmax(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    v = Verifier(tok)
    prompts = ["1+1=?\n", "25+17-3=?\n", "9-4=?\n", "50+50=?\n"]
    comps = ["1+1=2\n#### 2", "25+17=42\n42-3=39\n#### 39", "#### 5", "#### 90"]
    s = score(model, tok, prompts, comps, batch_size=3)
    for i, (p, c) in enumerate(zip(prompts, comps, strict=True)):
        ids = tok.encode(p) + tok.encode(c) + [tok.eos_token_id] + v.suffix_ids
        with torch.no_grad():
            z = model(torch.tensor([ids])).logits[0, -1].double()
        probs = torch.softmax(z, -1)
        assert s.raw[i] == pytest.approx(float(probs[v.yes_id]), abs=1e-6)
        norm = probs[v.yes_id] / (probs[v.yes_id] + probs[v.no_id])
        assert s.normalized[i] == pytest.approx(float(norm), abs=1e-6)


def test_row_ids_are_the_unpadded_packed_rows(tiny: tuple[Any, Any]) -> None:
    _, tok = tiny
    ver = Verifier(tok)
    prompts = ["1+2=?\n", [7, 8, 9, 10]]
    comps = ["3", [11, 12, 1]]
    b = ver.pack(prompts, comps)
    for i, (p, c) in enumerate(zip(prompts, comps, strict=True)):
        row = b.input_ids[i][b.attention_mask[i].bool()].tolist()
        assert ver.row_ids(p, c) == row


def test_verifier_rejects_multi_token_labels(tiny: tuple[Any, Any]) -> None:
    from rlv.verifier import Template

    _, tok = tiny
    with pytest.raises(ValueError, match="must be exactly one"):
        Verifier(tok, Template(yes="Yes!"))
    with pytest.raises(ValueError, match="no chat template"):
        Verifier(tok, "chat")


def test_auc_matches_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, 60).astype(float)  # many ties
    y = rng.random(60) < 0.4
    pos, neg = s[y], s[~y]
    ref = np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg])
    assert auc(s, y) == pytest.approx(ref, abs=1e-12)
    assert math.isnan(auc(s, np.ones(60, bool)))


# ---------------------------------------------------------------------------------------------
# losses


def _rollout_batch(tok: Any) -> tuple[Verifier, Any, torch.Tensor, torch.Tensor, torch.Tensor]:
    v = Verifier(tok)
    prompts = [v.prompt_ids(p) for p in ["1+2=?\n", "1+2=?\n", "30-4=?\n", "30-4=?\n"]]
    comps = [v.completion_ids(c) for c in ["1+2=3\n#### 3", "#### 4", "30-4=26\n#### 26", "#### 4"]]
    b = v.pack(prompts, comps)
    adv = torch.tensor([1.0, -1.0, 0.5, -0.5])
    labels = torch.tensor([True, False, True, False])
    valid = torch.tensor([True, True, True, True])
    return v, b, adv, labels, valid


def objective_of(
    logits: torch.Tensor,
    b: PackedBatch,
    *,
    advantages: torch.Tensor,
    labels: torch.Tensor,
    valid: torch.Tensor,
    cfg: Config,
    verifier: Verifier,
    norms: LossNorms,
    old_logprobs: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The RL^V objective of one micro-batch from its forward pass, as the loop computes it."""
    rl = cfg.rl
    logp = token_logprobs(b.completion_logits(logits), b.completion_ids, cfg.generation.temperature)
    return rlv_objective(
        logp, advantages, b.completion_mask, b.label_logits(logits), labels, valid,
        norms=norms, lam=cfg.verify.lam, old_logprobs=old_logprobs,
        yes_id=verifier.yes_id, no_id=verifier.no_id, verify_mode=cfg.verify.mode,
        agg=rl.resolved_agg, clip_low=rl.clip_low, clip_high=rl.clip_high,
        clip_ratio_c=rl.clip_ratio_c, kl_coef=rl.kl_coef, kl_kind=rl.kl_kind,
    )  # fmt: skip


def _norms(b: Any, labels: torch.Tensor, valid: torch.Tensor, cfg: Config) -> LossNorms:
    total, pw = verification_weights(labels.numpy(), valid.numpy(), cfg.verify.balance)
    return LossNorms(
        num_tokens=float(b.completion_mask.sum()),
        num_seqs=float(b.completion_mask.shape[0]),
        norm_len=float(cfg.generation.max_new_tokens),
        verify_weight_total=total,
        pos_weight=pw,
    )


def test_lambda_zero_is_exactly_the_rl_loss(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    cfg = load_config(None, ["verify.lambda=0"])
    v, b, adv, labels, valid = _rollout_batch(tok)
    old = torch.zeros_like(b.completion_mask, dtype=torch.float32) - 2.0
    logits = forward_window(model, b)
    loss, m = objective_of(
        logits, b, advantages=adv, labels=labels, valid=valid, cfg=cfg, verifier=v,
        norms=_norms(b, labels, valid, cfg), old_logprobs=old,
    )  # fmt: skip
    assert torch.equal(loss.detach(), m["loss/policy"])
    assert float(m["loss/verify"]) > 0  # measured, not added
    # the same policy loss from a forward pass without the verification suffix
    prompts = [v.prompt_ids(p) for p in ["1+2=?\n", "1+2=?\n", "30-4=?\n", "30-4=?\n"]]
    comps = [v.completion_ids(c) for c in ["1+2=3\n#### 3", "#### 4", "30-4=26\n#### 26", "#### 4"]]
    plain = pack(prompts, comps, [], pad_id=v.pad_id)
    lp = token_logprobs(plain.completion_logits(forward_window(model, plain)), plain.completion_ids)
    ref, _ = policy_loss(lp, old, adv, plain.completion_mask, agg=cfg.rl.resolved_agg)
    torch.testing.assert_close(loss, ref, atol=1e-6, rtol=1e-6)
    # and lambda > 0 adds exactly lambda x the verification term
    cfg1 = load_config(None, ["verify.lambda=0.5"])
    loss1, m1 = objective_of(
        logits, b, advantages=adv, labels=labels, valid=valid, cfg=cfg1, verifier=v,
        norms=_norms(b, labels, valid, cfg1), old_logprobs=old,
    )  # fmt: skip
    torch.testing.assert_close(loss1, m1["loss/policy"] + 0.5 * m1["loss/verify"])


def test_single_batch_can_be_overfit() -> None:
    torch.manual_seed(0)
    model, tok = tiny_model(seed=1)
    cfg = load_config(None, ["verify.lambda=1.0", "verify.mode=yes_no", "rl.clip_high=100"])
    v, b, adv, labels, valid = _rollout_batch(tok)
    norms = _norms(b, labels, valid, cfg)
    with torch.no_grad():
        logits = forward_window(model, b)
        old = token_logprobs(b.completion_logits(logits), b.completion_ids)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = last = None
    for _ in range(40):
        opt.zero_grad()
        loss, m = objective_of(
            forward_window(model, b), b, advantages=adv, labels=labels, valid=valid, cfg=cfg,
            verifier=v, norms=norms, old_logprobs=old,
        )  # fmt: skip
        loss.backward()
        opt.step()
        cur = (float(m["loss/policy"]), float(m["loss/verify"]))
        first = first or cur
        last = cur
    assert first is not None and last is not None
    assert last[1] < 0.1 * first[1]  # the verifier fits its four labels
    assert last[0] < first[0] - 0.5  # the surrogate improves (ratios move with the advantages)


def test_micro_batching_does_not_change_the_gradient(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    cfg = load_config(None, ["verify.lambda=0.7", "verify.balance=true"])
    v, b_all, adv, labels, valid = _rollout_batch(tok)
    labels = torch.tensor([True, False, False, False])  # unbalanced, to exercise weights
    norms = _norms(b_all, labels, valid, cfg)
    prompts = [v.prompt_ids(p) for p in ["1+2=?\n", "1+2=?\n", "30-4=?\n", "30-4=?\n"]]
    comps = [v.completion_ids(c) for c in ["1+2=3\n#### 3", "#### 4", "30-4=26\n#### 26", "#### 4"]]

    def grads(groups: list[list[int]]) -> list[torch.Tensor]:
        model.zero_grad()
        for idx in groups:
            b = v.pack([prompts[i] for i in idx], [comps[i] for i in idx])
            loss, _ = objective_of(
                forward_window(model, b), b, advantages=adv[idx], labels=labels[idx],
                valid=valid[idx], cfg=cfg, verifier=v, norms=norms,
            )  # fmt: skip
            loss.backward()
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    whole = grads([[0, 1, 2, 3]])
    split = grads([[2], [0, 3], [1]])
    for a, c in zip(whole, split, strict=True):
        torch.testing.assert_close(a, c, atol=1e-6, rtol=1e-5)


@given(st.lists(st.integers(1, 50), min_size=1, max_size=40), st.integers(1, 200))
def test_micro_batches_partition_within_budget(lengths: list[int], budget: int) -> None:
    mbs = micro_batches(lengths, budget)
    assert sorted(i for mb in mbs for i in mb) == list(range(len(lengths)))
    for mb in mbs:
        assert len(mb) == 1 or max(lengths[i] for i in mb) * len(mb) <= budget


def test_prompt_sampler_and_schedule() -> None:
    s = PromptSampler(10, seed=3)
    first = s.next(7) + s.next(7)
    assert sorted(first[:10]) == list(range(10))  # one full pass before repeating
    state = s.state_dict()
    a = s.next(5)
    s2 = PromptSampler(10, seed=0)
    s2.load_state_dict(state)
    assert s2.next(5) == a
    f = lr_schedule(4, 20, "cosine")
    assert [f(i) for i in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(20) == pytest.approx(0.0, abs=1e-12)
    assert lr_schedule(0, 10, "linear")(5) == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------------
# generation


def test_transformers_backend_logprobs_and_stopping(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    v = Verifier(tok)
    be = TransformersBackend(model, tok, batch_size=5)
    prompts = [v.prompt_ids("12+7=?\n"), v.prompt_ids("3=?\n")]
    torch.manual_seed(0)
    params = SamplingParams(n=3, max_new_tokens=12, suppress_token_ids=(v.yes_id, v.no_id))
    groups = be.generate(prompts, params)
    assert [len(g) for g in groups] == [3, 3]
    for p, g in zip(prompts, groups, strict=True):
        for c in g:
            assert len(c.token_ids) == len(c.logprobs) <= 12
            assert c.finished == (c.token_ids[-1] == tok.eos_token_id)
            assert tok.eos_token_id not in c.token_ids[:-1]
            assert v.yes_id not in c.token_ids and v.no_id not in c.token_ids
            assert c.text == tok.decode(c.token_ids, skip_special_tokens=True)
            # sampled log-probs equal the trainer's recomputation (no suppression in the
            # recomputation: compare only when the suppressed mass is renormalised away)
            b = v.pack([p], [c.token_ids])
            with torch.no_grad():
                z = b.completion_logits(forward_window(model, b)).float()
                z[..., [v.yes_id, v.no_id]] = -math.inf
                lp = torch.log_softmax(z, -1).gather(-1, b.completion_ids[..., None])[0, :, 0]
            torch.testing.assert_close(lp, torch.tensor(c.logprobs), atol=1e-4, rtol=1e-4)
    torch.manual_seed(1)
    g1 = be.generate(prompts, SamplingParams(n=2, temperature=0, max_new_tokens=8))
    g2 = be.generate(prompts, SamplingParams(n=2, temperature=0, max_new_tokens=8))
    assert [c.token_ids for g in g1 for c in g] == [c.token_ids for g in g2 for c in g]
    # generation runs in eval mode and gives the model back in the mode it was in
    for training in (True, False):
        model.train(training)
        be.generate(prompts[:1], SamplingParams(n=1, temperature=0, max_new_tokens=2))
        assert model.training is training


# ---------------------------------------------------------------------------------------------
# the loop


def test_two_step_training_smoke(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, "verify.lambda=1.0", "verify.ramp_steps=2", "train.save_every=1")
    res = train(cfg)
    assert len(res.history) == 2
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2]
    assert [x["verify/lambda"] for x in lines] == [0.5, 1.0]
    for key in (
        "reward/mean", "verifier/auc", "verifier/brier", "loss/policy", "loss/verify",
        "policy/clip_frac", "policy/entropy", "length/mean", "perf/samples_per_s",
        "perf/tokens_per_s", "optim/grad_norm",
    ):  # fmt: skip
        assert key in lines[-1], key
    assert 0 <= lines[-1]["reward/mean"] <= 1
    assert lines[-1]["policy/entropy"] > 0
    # the backend samples from the trained policy: its log-probs are the recomputed ones
    assert all(x["gen/logprob_max_abs_diff"] < 1e-4 for x in lines)
    cks = ckpt.list_checkpoints(tmp_path / "run" / "checkpoints")
    assert [p.name for p in cks] == ["step-000001", "step-000002"]
    assert res.checkpoint == cks[-1]
    # the checkpoint is a Hugging Face model directory
    from transformers import AutoModelForCausalLM

    m2 = AutoModelForCausalLM.from_pretrained(cks[-1], local_files_only=True)
    for (n1, p1), (n2, p2) in zip(
        res.model.state_dict().items(), m2.state_dict().items(), strict=True
    ):
        assert n1 == n2 and torch.equal(p1, p2)


@given(
    rows=st.lists(
        st.lists(st.sampled_from([0.0, 1.0, math.nan]), min_size=3, max_size=3),
        min_size=1,
        max_size=6,
    )
)
def test_in_mixed_group(rows: list[list[float]]) -> None:
    """``verify.groups=mixed`` keeps exactly the rollouts of groups with a right and a wrong
    gradable sample, all of a group or none of it."""
    from rlv.training.loop import _in_mixed_group

    labels, valid = verification_labels(np.array([r for g in rows for r in g]))
    got = _in_mixed_group(labels, valid, 3).reshape(len(rows), 3)
    for g, keep in zip(rows, got, strict=True):
        assert keep.all() == (1.0 in g and 0.0 in g) and keep.all() == keep.any()


@pytest.mark.parametrize("pattern", ["uniform", "one_mixed"])
def test_verify_groups_mixed_trains_on_mixed_groups_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str
) -> None:
    """With rewards forced (4 groups of 4): uniform groups carry no verification loss under
    ``verify.groups=mixed`` (then lambda 1 leaves the weights exactly as lambda 0: no policy
    gradient either, all advantages are 0), while ``all`` trains on them; one mixed group
    trains the verifier under both."""
    import rlv.training.loop as loop_mod
    from rlv.training.rollout import collect_rollouts, compute_advantages

    rewards = {
        "uniform": [1.0] * 4 + [0.0] * 4 + [1.0] * 4 + [0.0] * 4,
        "one_mixed": [1.0, 0.0, 0.0, 0.0] + [0.0] * 12,
    }[pattern]

    def forced(*args: Any, **kwargs: Any) -> Any:
        roll = collect_rollouts(*args, **kwargs)
        r = np.array(rewards, dtype=np.float32)
        adv, stats = compute_advantages(r, args[3])
        return dataclasses.replace(roll, rewards=r, advantages=adv, adv_stats=stats)

    monkeypatch.setattr(loop_mod, "collect_rollouts", forced)
    runs = {}
    for name, extra in {
        "lam0": ["verify.lambda=0.0"],
        "mixed": ["verify.lambda=1.0", "verify.groups=mixed"],
        "all": ["verify.lambda=1.0", "verify.groups=all"],
    }.items():
        cfg = small_config(tmp_path / name, "train.steps=1", "verify.balance=true", *extra)
        res = train(cfg)
        runs[name] = (_weights(res.model), res.history[-1])
    w0 = runs["lam0"][0]
    changed = {k: any(not torch.equal(w0[n], w) for n, w in runs[k][0].items()) for k in runs}
    assert runs["all"][1]["loss/verify"] > 0 and changed["all"]
    if pattern == "uniform":
        assert runs["mixed"][1]["loss/verify"] == 0.0 and not changed["mixed"]
    else:
        assert runs["mixed"][1]["loss/verify"] > 0 and changed["mixed"]


def test_saved_rollouts_train_a_separate_verifier(tmp_path: Path) -> None:
    from rlv.training.rollout import read_rollouts
    from rlv.training.verifier_train import train_verifier

    cfg = small_config(tmp_path, "verify.lambda=0.0", "train.save_rollouts=true")
    train(cfg)
    rows = read_rollouts(tmp_path / "run" / "rollouts.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    assert all(len(r["completion_ids"]) == len(r["rewards"]) == 16 for r in rows)

    # Labelled rows the verifier can learn: right and wrong demonstrations, many updates.
    from rlv.tasks import ArithmeticTask

    model, tok = tiny_model(seed=1)
    v = Verifier(tok, cfg.verify.template)
    probs = ArithmeticTask(min_steps=1, max_steps=1, max_operand=9, error_rate=0.5).sample(
        64, seed=0
    )
    row = {
        "step": 1,
        "prompt_ids": [v.prompt_ids(p.prompt) for p in probs],
        "completion_ids": [v.completion_ids(p.solution or "") for p in probs],
        "rewards": np.array([float(bool(p.solution_correct)) for p in probs], dtype=np.float32),
    }
    labels = row["rewards"] > 0.5
    assert 0 < labels.sum() < len(labels)

    def fit_auc() -> float:
        s = v.score(model, row["prompt_ids"], row["completion_ids"])
        return auc(s.raw, labels)

    before = _weights(model)
    c = small_config(tmp_path / "v", "optim.lr=3e-3", "verify.balance=true", "rl.minibatches=2")
    _, hist = train_verifier(c, [row] * 30, model=model, tokenizer=tok, progress=False)
    assert len(hist) == 30 * 2  # minibatches x recorded steps
    assert any(not torch.equal(before[k], w) for k, w in _weights(model).items())
    first = float(np.mean([h["loss/verify"] for h in hist[:4]]))
    last = float(np.mean([h["loss/verify"] for h in hist[-4:]]))
    assert last < first
    assert fit_auc() > 0.6


def test_read_rollouts_rejects_malformed_rows(tmp_path: Path) -> None:
    from rlv.exceptions import DataError
    from rlv.training.rollout import read_rollouts

    f = tmp_path / "r.jsonl"
    f.write_text('{"step": 1, "prompt_ids": [[1]], "completion_ids": [[2]], "rewards": [null]}\n')
    (row,) = read_rollouts(f)
    assert math.isnan(row["rewards"][0])
    f.write_text('{"step": 1, "prompt_ids": [[1]], "completion_ids": [], "rewards": [1.0]}\n')
    with pytest.raises(DataError, match="differ in length"):
        read_rollouts(f)
    f.write_text("{not json\n")
    with pytest.raises(DataError, match="malformed"):
        read_rollouts(f)


def _weights(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("algo", ["grpo", "rloo"])
def test_resume_gives_the_same_weights(tmp_path: Path, algo: str) -> None:
    extra = [f"rl.algo={algo}", "verify.lambda=0.5", "train.steps=4", "optim.warmup_steps=2"]
    extra.append("verify.ramp_steps=3")  # the weight depends on the step: resumed at step 3
    straight = train(small_config(tmp_path / "a", *extra, "train.save_every=0"))
    part = small_config(tmp_path / "b", *extra, "train.steps=2", "train.save_every=2")
    train(part)
    resumed = train(small_config(tmp_path / "b", *extra, "train.save_every=2"), resume=True)
    assert len(resumed.history) == 2
    wa, wb = _weights(straight.model), _weights(resumed.model)
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=0)
    steps = [
        json.loads(x)["step"] for x in (tmp_path / "b/run/metrics.jsonl").read_text().splitlines()
    ]
    assert steps == [1, 2, 3, 4]


def test_kl_and_ppo_epochs_path(tmp_path: Path) -> None:
    cfg = small_config(
        tmp_path, "rl.kl_coef=0.1", "rl.ppo_epochs=2", "rl.minibatches=2", "train.steps=1"
    )
    res = train(cfg)
    m = res.history[0]
    assert "loss/kl" in m and m["loss/kl"] >= 0
    # The AUC is undefined (NaN) exactly when the step's labels hold one class only.
    one_class = math.isnan(m["verifier/p_yes_pos"]) or math.isnan(m["verifier/p_yes_neg"])
    assert math.isnan(m["verifier/auc"]) is one_class, m
    if not one_class:
        assert 0.0 <= m["verifier/auc"] <= 1.0, m
    assert m["gen/logprob_max_abs_diff"] < 1e-4  # from the pre-update (old log-prob) pass


def test_sft_learns_and_writes_a_model(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, "sft.steps=30", "sft.lr=3e-3", "sft.verify_lambda=0.5")
    model, tok, out, hist = sft(cfg)
    assert hist[-1]["loss/sft"] < 0.8 * hist[0]["loss/sft"]
    assert hist[-1]["loss/verify"] > 0
    m2, _ = models.load(out)
    torch.testing.assert_close(_weights(m2)["lm_head.weight"], _weights(model)["lm_head.weight"])


def test_checkpoint_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, tok = tiny_model()
    root = tmp_path / "ck"
    ckpt.save(root, 1, model=model, tokenizer=tok, trainer_state={}, state={})

    def boom(*a: Any, **k: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(tok, "save_pretrained", boom)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(root, 2, model=model, tokenizer=tok, trainer_state={}, state={})
    assert [p.name for p in ckpt.list_checkpoints(root)] == ["step-000001"]
    assert (root / "latest").read_text().strip() == "step-000001"
    assert not list(root.glob(".tmp-step-*"))


# ---------------------------------------------------------------------------------------------
# bad configs and data fail early


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("rl.algo=ppo", "rl.algo"),
        ("verify.lambda=-0.1", "verify.lambda"),
        ("rl.group_size=1", "group_size"),
        ("rl.nope=1", "unknown config key rl.nope"),
        ("optim.lr=fast", "optim.lr"),
        ("data.task=jsonl", "data.path"),
    ],
)
def test_bad_config_fails_before_any_work(tmp_path: Path, override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        small_config(tmp_path, override)
    from rlv.cli import main

    assert main(["train", "--set", override, "--set", f"train.run_dir={tmp_path / 'r'}"]) == 2
    assert not (tmp_path / "r").exists()


def test_unavailable_backend_fails_before_any_work(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here (tests/test_vllm.py covers the backend)")
    from rlv.exceptions import BackendUnavailableError

    cfg = small_config(tmp_path, "generation.backend=vllm")
    with pytest.raises(BackendUnavailableError, match="needs vLLM.*pip install"):
        train(cfg)
    assert not (tmp_path / "run").exists()
    from rlv.cli import main

    rc = main(
        ["train", "--set", "generation.backend=vllm", "--set", f"train.run_dir={tmp_path / 'r'}"]
    )
    assert rc == 2 and not (tmp_path / "r").exists()


def test_bad_data_fails_before_any_work(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    for bad, match in (
        (Problem(id="x", prompt="1+1=?\n", gold=""), "missing gold"),
        (Problem(id="y", prompt="", gold="2"), "empty prompt"),
    ):
        with pytest.raises(ConfigError, match=match):
            train(cfg, problems=[Problem(id="ok", prompt="1=?\n", gold="1"), bad])
        assert not (tmp_path / "run").exists()
    data = tmp_path / "d.jsonl"
    data.write_text('{"problem": "2+2?", "answer": "4"}\n{"problem": "3+3?"}\n')
    from rlv.cli import main

    rc = main(["train", "--set", "data.task=jsonl", "--set", f"data.path={data}",
               "--set", f"train.run_dir={tmp_path / 'r2'}"])  # fmt: skip
    assert rc == 2
    assert not (tmp_path / "r2").exists()


# ---------------------------------------------------------------------------------------------
# sampling for evaluation


def test_rlv_sample_writes_a_rescore_dump(tmp_path: Path, sample_inputs: Any) -> None:
    model, tok = tiny_model()
    mdir, data = sample_inputs(model, tok, max_steps=1)
    out = tmp_path / "dump.jsonl"
    from rlv.cli import main
    from rlv.training.config import to_yaml

    cfg_file = tmp_path / "cfg.yaml"  # the model has no saved config: the defaults, explicitly
    cfg_file.write_text(to_yaml(Config()))
    rc = main(["sample", "--model", str(mdir), str(cfg_file), "--data", str(data), "--n", "4",
               "--out", str(out), "--set", "generation.max_new_tokens=8",
               "--set", "train.progress=false"])  # fmt: skip
    assert rc == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 3 and all(len(r["completions"]) == 4 == len(r["scores"]) for r in rows)
    assert all(0 <= s <= 1 for r in rows for s in r["scores"])
    # scores are the model's own raw P(Yes) (of the finished completions: a truncated one is
    # scored from its token ids, which its decoded text need not reproduce)
    finished = [(r["prompt"], c, sc) for r in rows for c, sc, f in zip(r["completions"], r["scores"], r["finished"], strict=True) if f]  # fmt: skip
    assert finished, "no finished completion to compare"
    s = score(model, tok, [p for p, _, _ in finished], [c for _, c, _ in finished])
    assert [sc for _, _, sc in finished] == pytest.approx(s.raw.tolist(), abs=1e-5)
    from rlv.scaling.rescore import rescore

    rep = rescore([out])
    assert rep["problems"] == 3 and rep["samples"] == 12
    assert set(rep["curves"]) >= {"pass", "majority", "weighted", "best_of_n"}


def test_demo_end_to_end_small(tmp_path: Path) -> None:
    from rlv.demo import format_summary, run_demo

    rep = run_demo(
        tmp_path / "demo",
        baseline=True,
        overrides=[
            *SMALL, "sft.steps=3", "sft.batch_size=8", "train.steps=1", "data.eval_size=2",
            "data.train_size=32", "rl.prompts_per_step=2", "rl.group_size=2",
            "generation.max_new_tokens=16", "train.progress=false", "train.threads=1",
        ],
        plot=False,
    )  # fmt: skip
    saved = json.loads((tmp_path / "demo" / "report.json").read_text())
    for r in (saved, saved["baseline"]):
        assert r["problems"] == 2 and r["samples"] == 64
        assert set(r["curves"]) >= {"pass", "majority", "weighted", "best_of_n"}
        assert "verifier_auc" in r and "reward_before_rl" in r and "reward_after_rl" in r
    assert saved["baseline"]["lambda"] == 0.0
    vs = saved["vs_baseline"]
    assert vs["problems"] == 2 and vs["n"] == 32
    assert vs["weighted_wins"] + vs["majority_wins"] <= 2
    assert -1.0 <= vs["weighted_minus_majority"] <= 1.0
    sep = saved["separate_verifier"]
    assert sep["problems"] == 2 and sep["samples"] == 64 and "verifier_auc" in sep
    # the separate verifier scored the base RL model's samples: the same completions
    base_rows = _rows(tmp_path / "demo" / "baseline" / "eval" / "samples.jsonl")
    sep_rows = _rows(tmp_path / "demo" / "separate-verifier" / "samples.jsonl")
    assert [r["completions"] for r in base_rows] == [r["completions"] for r in sep_rows]
    assert [r["scores"] for r in base_rows] != [r["scores"] for r in sep_rows]
    # base RL recorded its rollouts (1 step x 2 prompts x 2 samples) for that verifier
    (row,) = _rows(tmp_path / "demo" / "baseline" / "rollouts.jsonl")
    assert row["step"] == 1 and len(row["completion_ids"]) == len(row["rewards"]) == 4
    assert not (tmp_path / "demo" / "rlv" / "rollouts.jsonl").exists()
    for key in ("vs_baseline", "vs_separate_verifier"):
        lo, hi = saved[key]["ci95"]
        assert lo <= saved[key]["weighted_minus_majority" if key == "vs_baseline" else
                               "weighted_minus_weighted"] <= hi  # fmt: skip
    assert set(saved["efficiency"]) == {"samples", "tokens", "tokens_uncached"}
    t = saved["tokens"]
    assert t["verify_per_sample"] == len("\nCorrect?\n")  # the demo's template, 1 char/token
    assert t["verify_per_sample_uncached"] > t["generated_per_sample"] > 0
    assert 0 <= saved["premise"]["majority_wrong_pass_right"] <= 2
    summary = format_summary(rep)
    assert "base RL (lambda=0), majority vote" in summary
    assert "RL^V's weighted vote vs base RL's majority vote" in summary
    assert "base RL + separately trained verifier" in summary


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_demo_reading_helpers() -> None:
    from rlv.demo import bootstrap_ci, compute_matched, premise

    # a constant difference has a degenerate interval; pooled groups weigh by size
    assert bootstrap_ci([np.ones(10)]) == [1.0, 1.0]
    lo, hi = bootstrap_ci([np.array([1.0, 0.0, 0.0, 1.0]), np.array([0.0, -1.0])], seed=3)
    assert -1 / 6 <= lo <= hi <= 1.0
    assert all(math.isnan(x) for x in bootstrap_ci([]))
    # compute-matched: k samples cost k * generated (+ k * verify for scored methods)
    rep = {
        "curves": {"majority": {"1": 0.5, "4": 0.6}, "weighted": {"1": 0.5, "4": 0.7}},
        "tokens": {
            "generated_per_sample": 20.0,
            "verify_per_sample": 5.0,
            "verify_per_sample_uncached": 31.0,
        },
    }
    assert compute_matched(rep) == {
        "majority": {"20": 0.5, "80": 0.6},
        "weighted": {"25": 0.5, "100": 0.7},
    }
    assert compute_matched(rep, ("weighted",), cached=False) == {
        "weighted": {"51": 0.5, "204": 0.7}
    }
    # premise: problem a (majority wrong, one right sample), b (majority right), c (no right)
    rows = [{"problem_id": x, "completions": ["", "", ""]} for x in "abc"]
    dec = {
        "a": {"majority": {"correct": False}, "correct_samples": 1},
        "b": {"majority": {"correct": True}, "correct_samples": 2},
        "c": {"majority": {"correct": False}, "correct_samples": 0},
    }
    problem = np.repeat(np.arange(3), 3)
    rewards = np.array([1, 0, 0, 1, 1, 0, 0, 0, np.nan], dtype=float)
    scores = np.array([0.9, 0.2, 0.4, 0.1, 0.1, 0.1, 0.5, 0.5, 0.5])
    pr = premise(rows, dec, problem, scores, rewards)
    assert pr["majority_wrong_pass_right"] == 1 and pr["share"] == pytest.approx(1 / 3)
    assert pr["verifier_auc_there"] == 1.0  # on problem a the right sample scores highest


def test_demo_paired_comparison() -> None:
    from rlv.demo import paired

    def dec(*correct: bool) -> dict[str, dict[str, Any]]:
        return {
            f"p{i}": {"weighted": {"correct": c}, "majority": {"correct": c}}
            for i, c in enumerate(correct)
        }

    a = dec(True, True, False, True)
    b = dec(False, True, True, True)
    b["extra"] = {"majority": {"correct": True}}  # only problems both sides have are paired
    r = paired(a, "weighted", b, "majority")
    # differences over p0..p3: +1, 0, -1, 0
    assert r["problems"] == 4 and r["weighted_wins"] == 1 and r["majority_wins"] == 1
    assert r["weighted_minus_majority"] == 0.0
    assert abs(r["stderr"] - np.std([1, 0, -1, 0], ddof=1) / 2) < 1e-12
    assert math.isnan(paired({}, "weighted", b, "majority")["weighted_minus_majority"])


# ---------------------------------------------------------------------------------------------
# run directories (issue 21, cases 3 and 5), sampling from a checkpoint's config (case 4)


def _metric_steps(run: Path) -> list[int]:
    return [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_train_refuses_a_directory_holding_another_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    old = small_config(tmp_path, "train.steps=3", "train.save_every=1", "train.keep_checkpoints=2")
    train(old)
    assert ckpt.run_status(run, "train") == "complete"
    before = (run / "metrics.jsonl").read_text()
    new = small_config(tmp_path, "train.steps=1", "train.save_every=1", "train.keep_checkpoints=2")
    with pytest.raises(RunDirError, match="--resume.*--overwrite"):
        train(new)
    # nothing of the old run was touched
    assert (run / "metrics.jsonl").read_text() == before
    assert [p.name for p in ckpt.list_checkpoints(run / "checkpoints")] == [
        "step-000002",
        "step-000003",
    ]
    from rlv.cli import main

    args = ["train", "--set", f"train.run_dir={run}", *(f"--set={o}" for o in SMALL)]
    assert main(args) == 2  # the CLI says so with exit code 2
    res = train(new, overwrite=True)
    cks = ckpt.list_checkpoints(run / "checkpoints")
    assert [p.name for p in cks] == ["step-000001"]
    assert res.checkpoint == cks[0] and res.checkpoint.is_dir()
    assert (run / "checkpoints" / "latest").read_text().strip() == "step-000001"
    assert _metric_steps(run) == [1]
    assert ckpt.run_status(run, "train") == "complete"


def test_pruning_never_deletes_the_checkpoint_just_saved(tmp_path: Path) -> None:
    model, tok = tiny_model()
    root = tmp_path / "ck"
    for step in (4, 5):  # a stale run's checkpoints with larger step numbers
        ckpt.save(root, step, model=model, tokenizer=tok, trainer_state={}, state={})
    final = ckpt.save(root, 1, model=model, tokenizer=tok, trainer_state={}, state={}, keep=1)
    assert final.is_dir()
    latest = (root / "latest").read_text().strip()
    assert latest == "step-000001" and (root / latest).is_dir()


def test_interrupted_train_is_marked_incomplete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rlv.training.loop as training

    real = training.train_step
    calls = {"n": 0}

    def flaky(*a: Any, **k: Any) -> dict[str, float]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(training, "train_step", flaky)
    cfg = small_config(tmp_path, "train.steps=3", "train.save_every=1")
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    run = tmp_path / "run"
    assert ckpt.run_status(run, "train") == "incomplete"
    with pytest.raises(RunDirError, match="incomplete train run"):
        train(cfg)
    monkeypatch.setattr(training, "train_step", real)
    res = train(cfg, resume=True)
    assert len(res.history) == 2 and _metric_steps(run) == [1, 2, 3]
    assert ckpt.run_status(run, "train") == "complete"
    with pytest.raises(RunDirError, match="no sft run to continue|holds no"):
        ckpt.check_run_dir(tmp_path / "empty", "train", resume=True)


def test_sft_refuses_its_own_earlier_run(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    sft(cfg)
    with pytest.raises(RunDirError, match="sft run"):
        sft(cfg)
    _, _, out, _ = sft(cfg, overwrite=True)
    assert ckpt.run_status(tmp_path / "run", "sft") == "complete"
    # the SFT model carries its configuration (for rlv sample)
    assert ckpt.saved_config(out) == json.loads(json.dumps(to_dict_of(cfg)))
    # an SFT stage does not block RL training in the same run directory
    assert ckpt.check_run_dir(tmp_path / "run", "train") is None


def to_dict_of(cfg: Config) -> dict[str, Any]:
    from rlv.training.config import to_dict

    return to_dict(cfg)


def test_sample_uses_the_checkpoints_config(tmp_path: Path) -> None:
    from rlv.cli import main

    cfg = small_config(tmp_path, "train.steps=1", "train.save_every=1")
    cfg.verify.template = "\nCorrect?\n"
    cfg.verify.score = "normalized"
    res = train(cfg)
    assert res.checkpoint is not None
    out = tmp_path / "dump.jsonl"
    rc = main(["sample", "--model", str(res.checkpoint), "--n", "2", "--limit", "2",
               "--out", str(out)])  # fmt: skip
    assert rc == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 2
    # the held-out problems of the saved task, scored with the saved template and score mode
    from rlv.training.setup import load_problems

    eval_probs = load_problems(cfg, "eval")[:2]
    assert [r["prompt"] for r in rows] == [p.prompt for p in eval_probs]
    model, tok = models.load(res.checkpoint)
    assert all(r["scores"] == r["scores_normalized"] for r in rows)
    # (the finished completions: a truncated one is scored from its token ids)
    finished = [(r["prompt"], c, sc) for r in rows for c, sc, f in zip(r["completions"], r["scores"], r["finished"], strict=True) if f]  # fmt: skip
    assert finished, "no finished completion to compare"
    s = score(
        model,
        tok,
        [p for p, _, _ in finished],
        [c for _, c, _ in finished],
        template=cfg.verify.template,
    )
    assert [sc for _, _, sc in finished] == pytest.approx(s.normalized.tolist(), abs=1e-5)
    # explicit flags override the saved config
    out2 = tmp_path / "dump2.jsonl"
    rc = main(["sample", "--model", str(res.checkpoint), "--n", "2", "--limit", "1",
               "--out", str(out2), "--set", "verify.score=raw"])  # fmt: skip
    assert rc == 0
    row = json.loads(out2.read_text().splitlines()[0])
    assert row["scores"] == row["scores_raw"]


def test_sample_without_a_saved_config_needs_one(
    tmp_path: Path, sample_inputs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from rlv.cli import main

    model, tok = tiny_model()
    mdir, data = sample_inputs(model, tok, max_steps=1)
    out = tmp_path / "dump.jsonl"
    rc = main(["sample", "--model", str(mdir), "--data", str(data), "--n", "2", "--out", str(out)])
    assert rc == 2 and not out.exists()
    assert "no saved rlv configuration" in capsys.readouterr().err
    rc = main(["sample", "--model", str(tmp_path / "nope"), "--n", "2", "--out", str(out)])
    assert rc == 2 and "model directory not found" in capsys.readouterr().err


DEMO_SMALL = [
    *SMALL, "sft.steps=3", "sft.batch_size=8", "train.steps=1", "data.eval_size=2",
    "data.train_size=32", "rl.prompts_per_step=2", "rl.group_size=2",
    "generation.max_new_tokens=16", "train.progress=false", "train.threads=1",
]  # fmt: skip


def test_interrupted_demo_is_marked_and_not_silently_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rlv.training.loop as training
    from rlv.demo import run_demo

    out = tmp_path / "demo"
    real = training.train_step

    def stop(*a: Any, **k: Any) -> dict[str, float]:
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train_step", stop)
    with pytest.raises(KeyboardInterrupt):
        run_demo(out, overrides=DEMO_SMALL, plot=False)
    # SFT finished, then the RL stage was interrupted: the demo is marked incomplete
    assert (out / "config.json").is_file() and (out / "sft" / "sft_metrics.jsonl").is_file()
    assert ckpt.run_status(out, "demo") == "incomplete"
    assert ckpt.run_status(out / "sft", "sft") == "complete"
    assert ckpt.run_status(out / "rlv", "train") == "incomplete"
    monkeypatch.setattr(training, "train_step", real)
    with pytest.raises(RunDirError, match="incomplete demo run"):
        run_demo(out, overrides=DEMO_SMALL, plot=False)
    with pytest.raises(RunDirError, match="differs"):
        run_demo(out, overrides=DEMO_SMALL, plot=False, resume=True, seed=1)
    sft_model = (out / "sft" / "model" / "model.safetensors").stat().st_mtime_ns
    rep = run_demo(out, overrides=DEMO_SMALL, plot=False, resume=True)
    assert ckpt.run_status(out, "demo") == "complete"
    assert (out / "sft" / "model" / "model.safetensors").stat().st_mtime_ns == sft_model
    assert rep["problems"] == 2 and (out / "report.json").is_file()
    rep2 = run_demo(out, overrides=DEMO_SMALL, plot=False, overwrite=True)
    assert rep2["problems"] == 2 and ckpt.run_status(out, "demo") == "complete"


def test_demo_needs_matplotlib_for_its_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from rlv.demo import run_demo

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "matplotlib" else real(n, *a)
    )
    with pytest.raises(ImportError, match="matplotlib"):
        run_demo(tmp_path / "d", overrides=DEMO_SMALL)
    assert not (tmp_path / "d").exists()  # failed before any work


@pytest.mark.parametrize(
    "argv",
    [
        ["train"],
        ["train", "--set", "rl.algo=rloo", "--set", "verify.lambda=0.5", "--set",
         "verify.template=\nCorrect?\n", "--set", "verify.no_label=No"],
        ["sft", "--set", "model.path=/models/x", "--set", "optim.lr=3e-5"],
        ["config", "--set", "train.bf16=true", "--set", "data.prompt_template={prompt} Go."],
    ],
)  # fmt: skip
def test_print_config_round_trips(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from rlv.cli import main

    cmd = argv if argv[0] == "config" else [*argv, "--print-config"]
    assert main(cmd) == 0
    text = capsys.readouterr().out
    overrides = [argv[i + 1] for i in range(len(argv)) if argv[i] == "--set"]
    expected = load_config(None, overrides)
    f = tmp_path / "printed.yaml"
    f.write_text(text)
    assert load_config(f) == expected
    assert main(["config", str(f)]) == 0
    assert capsys.readouterr().out == text  # and printing it again gives the same text


def test_demo_print_config_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rlv.cli import main
    from rlv.demo import demo_config

    assert main(["demo", "--seed", "3", "--print-config"]) == 0
    f = tmp_path / "demo.yaml"
    f.write_text(capsys.readouterr().out)
    assert load_config(f) == demo_config(seed=3)


@pytest.mark.parametrize("kind", ["parquet", "dataset_dir"])
def test_train_reads_parquet_and_saved_datasets(tmp_path: Path, kind: str) -> None:
    pa = pytest.importorskip("pyarrow")
    from rlv.cli import main
    from rlv.tasks import ArithmeticTask

    probs = ArithmeticTask(min_steps=1, max_steps=1).sample(8, seed=0, split="train")
    table = pa.Table.from_pylist([{"problem": p.prompt, "answer": p.gold} for p in probs])
    if kind == "parquet":
        import pyarrow.parquet as pq

        data = tmp_path / "train.parquet"
        pq.write_table(table, data)
    else:
        datasets = pytest.importorskip("datasets")
        data = tmp_path / "train_ds"
        datasets.Dataset(table).save_to_disk(str(data))
    run = tmp_path / "run"
    args = [f"--set={o}" for o in SMALL]
    rc = main(["train", *args, "--set", "data.task=file", "--set", f"data.path={data}",
               "--set", f"train.run_dir={run}", "--set", "train.steps=1",
               "--set", "rl.group_size=2", "--set", "rl.prompts_per_step=2",
               "--set", "generation.max_new_tokens=8", "--set", "train.progress=false"])  # fmt: skip
    assert rc == 0
    assert _metric_steps(run) == [1]
    from rlv.training.setup import load_problems

    cfg = load_config(None, ["data.task=file", f"data.path={data}"])
    assert [(p.prompt, p.gold) for p in load_problems(cfg, "train")] == [
        (p.prompt, p.gold) for p in probs
    ]


def test_unreadable_tokenizer_config_is_an_error(tmp_path: Path) -> None:
    model, tok = tiny_model()
    d = tmp_path / "m"
    models.save(model, tok, d)
    (d / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="tokenizer_config.json: not a readable JSON file"):
        models.load(d)
    (d / "tokenizer_config.json").write_text("[]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        models.load(d)


def test_vllm_close_warns_when_the_engine_does_not_shut_down() -> None:
    from rlv.generation import VLLMBackend

    class Core:
        def shutdown(self) -> None:
            raise RuntimeError("worker gone")

    b = VLLMBackend.__new__(VLLMBackend)  # no engine: only close() is exercised
    b.llm = type("LLM", (), {"llm_engine": type("E", (), {"engine_core": Core()})()})()
    b._tmp = None
    with pytest.warns(RuntimeWarning, match="shutdown failed.*worker gone"):
        b.close()
    assert not hasattr(b, "llm")


def test_run_status_of_directories_without_run_json(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "config.json").write_text("{}")  # e.g. a user's own file: not a run
    assert ckpt.run_status(d, "train") is None and ckpt.run_status(d, "demo") is None
    assert ckpt.check_run_dir(d, "train", overwrite=True) is None
    (d / "metrics.jsonl").write_text("")  # an older rlv's training run
    assert ckpt.run_status(d, "train") == "incomplete"
    with pytest.raises(RunDirError, match="incomplete train run"):
        ckpt.check_run_dir(d, "train")
    (d / "sft").mkdir()
    assert ckpt.run_status(d, "demo") == "incomplete"
    assert ckpt.run_status(d, "sft") is None
    with pytest.raises(RunDirError, match="exclude"):
        ckpt.check_run_dir(d, "train", resume=True, overwrite=True)
    (d / "run.json").write_text("[]")
    with pytest.raises(RunDirError, match="not an rlv run file"):
        ckpt.run_status(d, "train")


def test_demo_interrupted_during_sft(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21, case 5 as reported: Ctrl-C during the SFT stage leaves config.json and a
    partial sft_metrics.jsonl; both are now marked incomplete and a rerun is refused."""
    import rlv.training.sft as training
    from rlv.demo import run_demo

    out = tmp_path / "demo"
    real = training.micro_batches
    calls = {"n": 0}

    def flaky(*a: Any, **k: Any) -> list[list[int]]:
        calls["n"] += 1
        if calls["n"] == 2:  # the second SFT step
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(training, "micro_batches", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_demo(out, overrides=DEMO_SMALL, plot=False)
    assert (out / "config.json").is_file()
    assert len((out / "sft" / "sft_metrics.jsonl").read_text().splitlines()) == 1
    assert ckpt.run_status(out, "demo") == "incomplete"
    assert ckpt.run_status(out / "sft", "sft") == "incomplete"
    assert not (out / "sft" / "model").exists()
    monkeypatch.setattr(training, "micro_batches", real)
    with pytest.raises(RunDirError, match="incomplete demo run"):
        run_demo(out, overrides=DEMO_SMALL, plot=False)
    run_demo(out, overrides=DEMO_SMALL, plot=False, resume=True)  # SFT is run again
    assert len((out / "sft" / "sft_metrics.jsonl").read_text().splitlines()) == 3
    assert ckpt.run_status(out, "demo") == "complete"
