"""rlv.integrations.verl against verl's own functions, on CPU tensors (marker ``verl``).

Run in the environment of ``.ci/install-verl`` (verl pins an older transformers than rlv's
main environment); skipped where verl is not installed.

* the RL^V loss: with lambda = 0 it is verl's ``ppo_loss`` (value and gradient, exactly);
  masked verification rows do not change verl's loss; with lambda > 0 it adds lambda times
  rlv's verification term (the term of rlv's own trainer on the same logits), value and
  gradient; the verification rows are rlv's own trainer's;
* ``import verl`` loads the plug-in (entry point ``verl.plugins``) and registers the reward
  manager; a composed verl config with the documented keys passes verl's validation;
* the reward function, the batched reward manager (one grading call per chunk) and verl's
  naive manager with rlv's reward agree;
* the validation metrics equal ``rlv rescore`` on the dump that verl's trainer writes;
* ``trainer.v1.trainer_mode=rlv``: the verification rows go through verl's TransferQueue
  (a local Ray instance) into the actor update, and the installed loss on each update
  mini-batch is verl's loss on the rollouts plus lambda times rlv's term (the model worker
  is mocked: verl's engines need a GPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("verl", reason="the verl plug-in needs verl (.ci/install-verl)")
torch = pytest.importorskip("torch")

with warnings.catch_warnings():
    # verl warns at import about its optional engines (torchtitan, ...) that a CPU machine lacks.
    warnings.filterwarnings("ignore", message=r".*is not available", category=UserWarning)
    from hydra import compose, initialize_config_dir  # noqa: E402
    from omegaconf import OmegaConf  # noqa: E402
    from tensordict import TensorDict  # noqa: E402
    from verl import DataProto  # noqa: E402
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls  # noqa: E402
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager  # noqa: E402
    from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER  # noqa: E402
    from verl.trainer.main_ppo import need_critic, need_reference_policy  # noqa: E402
    from verl.trainer.ppo.ray_trainer import RayPPOTrainer  # noqa: E402
    from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls  # noqa: E402
    from verl.utils import tensordict_utils as tu  # noqa: E402
    from verl.utils.config import omega_conf_to_dataclass, validate_config  # noqa: E402
    from verl.workers.utils.losses import ppo_loss  # noqa: E402

    import rlv.integrations.verl as rv  # noqa: E402
    import rlv.integrations.verl_trainer as vt  # noqa: E402
    from rlv.models import build_tokenizer  # noqa: E402
    from rlv.rl.objective import (  # noqa: E402
        LossNorms,
        verification_term,
        verification_term_from_logprobs,
    )
    from rlv.scaling.estimators import pass_at_k  # noqa: E402
    from rlv.verifier import build_verification_batch, verification_weights  # noqa: E402

pytestmark = pytest.mark.verl

VERL_CONFIG_DIR = os.path.join(os.path.dirname(__import__("verl").__file__), "trainer", "config")


# ---------------------------------------------------------------------------------------------
# plug-in discovery and config


def test_import_verl_loads_the_plugin() -> None:
    script = (
        "import sys, verl\n"
        "from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls\n"
        "assert 'rlv.integrations.verl' in sys.modules, 'plug-in not loaded'\n"
        "print(get_reward_manager_cls('rlv').__module__)\n"
    )
    env = {**os.environ, "VERL_USE_EXTERNAL_PLUGINS": "auto"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=240, env=env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "rlv.integrations.verl"
    # and verl's switch turns discovery off
    env["VERL_USE_EXTERNAL_PLUGINS"] = "none"
    off = subprocess.run(
        [sys.executable, "-c", "import sys, verl; print('rlv.integrations.verl' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert off.returncode == 0, off.stderr[-3000:]
    assert off.stdout.strip().splitlines()[-1] == "False"


GRPO_V_OVERRIDES = [
    "algorithm.adv_estimator=grpo",
    "algorithm.norm_adv_by_std_in_grpo=true",
    "critic.enable=false",
    "data.train_batch_size=8",
    "actor_rollout_ref.model.path=Qwen/Qwen2.5-0.5B-Instruct",
    "actor_rollout_ref.rollout.name=vllm",
    "actor_rollout_ref.rollout.n=4",
    "actor_rollout_ref.rollout.temperature=1.0",
    "actor_rollout_ref.actor.ppo_mini_batch_size=8",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=4",
    "actor_rollout_ref.actor.loss_agg_mode=token-mean",
    "actor_rollout_ref.actor.policy_loss.loss_mode=vanilla",
    "actor_rollout_ref.actor.use_kl_loss=false",
    "reward.reward_manager.name=rlv",
    "reward.num_workers=2",
    "trainer.n_gpus_per_node=1",
    "trainer.nnodes=1",
    "trainer.validation_data_dir=/tmp/rlv-verl-val",
]


def _compose(overrides: list[str]) -> Any:
    with initialize_config_dir(config_dir=VERL_CONFIG_DIR, version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


@pytest.mark.parametrize("estimator", ["grpo", "rloo"])
def test_composed_config_validates(estimator: str) -> None:
    overrides = [o for o in GRPO_V_OVERRIDES if not o.startswith("algorithm.adv_estimator")]
    rlv_keys = ["trainer.v1.trainer_mode=rlv", "+rlv.lambda=0.5", "+rlv.balance=true"]
    cfg = _compose([*overrides, f"algorithm.adv_estimator={estimator}", *rlv_keys])
    validate_config(
        cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg)
    )
    actor = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    assert actor.loss_agg_mode == "token-mean" and actor.policy_loss.loss_mode == "vanilla"
    # (verl 0.9.1's RewardManagerConfig cannot be instantiated: its __post_init__ calls a
    # BaseConfig.__post_init__ that does not exist; its check is that the name is registered)
    assert cfg.reward.reward_manager.name in REWARD_MANAGER
    assert resolve_reward_manager_cls(cfg) is rv.RLVRewardManager
    assert cfg.algorithm.adv_estimator == estimator
    # GRPO^V / RLOO^V: the trainer the task runner looks up, and its settings
    from verl.trainer.ppo.v1 import get_trainer_cls

    assert get_trainer_cls(cfg.trainer.v1.trainer_mode) is vt.RLVTrainer
    settings = vt.RLVSettings.from_config(cfg)
    assert (settings.lam, settings.balance) == (0.5, True)
    trainer = vt.RLVTrainer.__new__(vt.RLVTrainer)
    trainer.config = cfg
    trainer._check_supported()


def test_composed_config_loads_compute_score_by_path() -> None:
    cfg = _compose(
        [
            *[o for o in GRPO_V_OVERRIDES if not o.startswith("reward.reward_manager")],
            # by module name (a file path would execute the module a second time)
            "reward.custom_reward_function.path=pkg://rlv.integrations.verl",
            "reward.custom_reward_function.name=compute_score",
        ]
    )
    validate_config(
        cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg)
    )
    fn = get_custom_reward_fn(cfg)
    assert fn is not None
    out = fn(data_source="math", solution_str="so \\boxed{\\frac12}", ground_truth="0.5")
    assert out == {"score": 1.0, "acc": True, "pred": "\\frac12", "status": "equal"}
    # the manager refuses a custom function it would not use
    with pytest.raises(ValueError, match="custom_reward_function"):
        rv.RLVRewardManager(cfg, build_tokenizer(), None)


# ---------------------------------------------------------------------------------------------
# reward


def test_compute_score_strict_by_default() -> None:
    assert rv.compute_score("math", "so $\\boxed{3}$", "3")["score"] == 1.0
    # strict: no explicit anchor, no answer (lenient reads the last number)
    out = rv.compute_score("math", "the result is 3", "3")
    assert out == {"score": 0.0, "acc": False, "pred": "", "status": "no_answer"}
    assert rv.compute_score("math", "the result is 3", "3", mode="lenient")["score"] == 1.0
    wrong = rv.compute_score("math", "\\boxed{4}", "3")
    assert wrong["score"] == 0.0 and wrong["acc"] is False and wrong["pred"] == "4"
    assert rv.compute_score("gsm8k", "#### 72", 72)["score"] == 1.0


def test_compute_score_errors() -> None:
    with pytest.raises(ValueError, match="ground_truth is None"):
        rv.compute_score("math", "\\boxed{1}", None)
    with pytest.raises(ValueError, match="empty"):
        rv.compute_score("math", "\\boxed{1}", "  ")
    with pytest.raises(TypeError, match="ground_truth"):
        rv.compute_score("math", "\\boxed{1}", ["1"])
    with pytest.raises(TypeError, match="solution_str"):
        rv.compute_score("math", b"\\boxed{1}", "1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        rv.compute_score("math", "\\boxed{1}", "1", mode="loose")
    with pytest.raises(ValueError, match="same length"):
        rv.compute_score_batch(["m"], ["a", "b"], ["1", "2"])


def test_invalid_gold_scores_zero_and_says_so() -> None:
    out = rv.compute_score("math", "\\boxed{1}", "\\frac{")
    assert out["score"] == 0.0 and out["status"] == "invalid_gold"


COMPLETIONS = [
    ("so the answer is $\\boxed{\\frac{1}{2}}$", "0.5"),
    ("$\\boxed{0.49}$", "\\frac12"),
    ("x = 3, hence \\boxed{x=3}", "3"),
    ("#### 1,000", "1000"),
    ("no answer here", "7"),
    ("\\boxed{(1,2)}", "(1, 2)"),
    ("\\boxed{\\sqrt{8}}", "2\\sqrt{2}"),
    ("\\boxed{2\\sqrt{3}}", "2\\sqrt{2}"),
]


def test_compute_score_batch_equals_compute_score() -> None:
    texts = [c for c, _ in COMPLETIONS]
    golds = [g for _, g in COMPLETIONS]
    batch = rv.compute_score_batch(["math"] * len(texts), texts, golds, [{}] * len(texts))
    assert batch == [rv.compute_score("math", t, g) for t, g in COMPLETIONS]
    assert [b["score"] for b in batch] == [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0]


@contextlib.contextmanager
def _event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.text(max_size=60), st.sampled_from([c for c, _ in COMPLETIONS])),
            st.sampled_from(["3", "\\frac12", "(1, 2)", "2\\sqrt{2}", "x^2+1", "\\frac{"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_batch_is_per_sample_on_any_text(pairs: list[tuple[str, str]]) -> None:
    texts = [t for t, _ in pairs]
    golds = [g for _, g in pairs]
    batch = rv.compute_score_batch(["math"] * len(pairs), texts, golds)
    assert batch == [rv.compute_score("math", t, g) for t, g in pairs]
    for out in batch:
        assert out["score"] in (0.0, 1.0) and out["acc"] is (out["score"] == 1.0)
        assert out["score"] == 0.0 or out["status"] == "equal"


def _reward_batch(tokenizer: Any, pairs: list[tuple[str, str]]) -> DataProto:
    """verl's rollout batch layout: left-padded prompts, right-padded responses."""
    prompts = [tokenizer.encode("Q: what?", add_special_tokens=False)] * len(pairs)
    responses = [tokenizer.encode(c, add_special_tokens=False) for c, _ in pairs]
    p_len = max(len(p) for p in prompts)
    r_len = max(len(r) for r in responses)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    b = len(pairs)
    p_ids = torch.full((b, p_len), pad, dtype=torch.long)
    r_ids = torch.full((b, r_len), pad, dtype=torch.long)
    att = torch.zeros((b, p_len + r_len), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        p_ids[i, p_len - len(p) :] = torch.tensor(p)
        r_ids[i, : len(r)] = torch.tensor(r)
        att[i, p_len - len(p) : p_len + len(r)] = 1
    non_tensors = {
        "data_source": np.array(["math"] * b, dtype=object),
        "reward_model": np.array([{"ground_truth": g} for _, g in pairs], dtype=object),
        "extra_info": np.array([{} for _ in pairs], dtype=object),
    }
    return DataProto.from_dict(
        tensors={"prompts": p_ids, "responses": r_ids, "attention_mask": att},
        non_tensors=non_tensors,
    )


def test_reward_manager_grades_a_chunk_in_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    tok = build_tokenizer()
    data = _reward_batch(tok, COMPLETIONS)
    cfg = OmegaConf.create({"reward": {"custom_reward_function": {"path": None}}})
    calls: list[int] = []
    real = rv._scores

    def counting(texts: Any, golds: Any, mode: str, threads: Any) -> Any:
        calls.append(len(texts))
        return real(texts, golds, mode, threads)

    monkeypatch.setattr(rv, "_scores", counting)

    async def run_all(m: Any) -> list[dict[str, Any]]:
        # as verl's RewardLoopWorker.compute_score_batch: one task per sample, gathered
        tasks = [asyncio.create_task(m.run_single(data[i : i + 1])) for i in range(len(data))]
        return list(await asyncio.gather(*tasks))

    with _event_loop() as loop:  # verl's managers run on the loop they find at creation
        manager = get_reward_manager_cls("rlv")(cfg, tok, None)
        naive = NaiveRewardManager(cfg, tok, rv.compute_score)
        ours = loop.run_until_complete(run_all(manager))
        assert calls == [len(COMPLETIONS)], calls  # one grading call for the whole chunk
        theirs = loop.run_until_complete(run_all(naive))
    assert [o["reward_score"] for o in ours] == [t["reward_score"] for t in theirs]
    for o, t in zip(ours, theirs, strict=True):
        for key in ("score", "acc", "pred", "status"):
            assert o["reward_extra_info"][key] == t["reward_extra_info"][key]
    decoded = [
        tok.decode(tok.encode(c, add_special_tokens=False), skip_special_tokens=True)
        for c, _ in COMPLETIONS
    ]
    expect = [
        rv.compute_score("math", d, g)["score"]
        for d, (_, g) in zip(decoded, COMPLETIONS, strict=True)
    ]
    assert [o["reward_score"] for o in ours] == expect


def test_reward_manager_propagates_errors() -> None:
    tok = build_tokenizer()
    data = _reward_batch(tok, [("\\boxed{1}", "1")])
    data.non_tensor_batch["reward_model"][0] = {"ground_truth": None}
    cfg = OmegaConf.create({"reward": {"custom_reward_function": {"path": None}}})
    with _event_loop() as loop:
        manager = rv.RLVRewardManager(cfg, tok, None)
        with pytest.raises(ValueError, match="ground_truth is None"):
            loop.run_until_complete(manager.run_single(data[0:1]))


# ---------------------------------------------------------------------------------------------
# validation metrics


def _validation_samples(n_problems: int = 6, n: int = 8, seed: int = 0) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    inputs: list[str] = []
    outputs: list[str] = []
    gts: list[str] = []
    p_yes: list[float] = []
    for p in range(n_problems):
        gold = str(p + 2)
        for _ in range(n):
            r = rng.random()
            if r < 0.35:
                ans = gold
            elif r < 0.7:
                ans = str(p + 20)  # a popular wrong answer
            elif r < 0.9:
                ans = str(int(rng.integers(100, 110)))
            else:
                ans = None
            inputs.append(f"Problem {p}: compute it.")
            outputs.append(
                "I am not sure." if ans is None else f"so the answer is \\boxed{{{ans}}}."
            )
            gts.append(gold)
            p_yes.append(float(np.round(rng.random(), 6)))
    return {"inputs": inputs, "outputs": outputs, "gts": gts, "p_yes": p_yes}


def _cli_report(path: Path, tmp: Path, *extra: str) -> dict[str, Any]:
    out = tmp / "report.json"
    cmd = [sys.executable, "-m", "rlv", "rescore", str(path), "--format", "verl", "--quiet"]
    cmd += ["--ks", "1,2,4,8", "--out", str(out), *extra]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_validation_metrics_equal_rlv_rescore_on_verls_dump(tmp_path: Path) -> None:
    s = _validation_samples()
    scores = [
        1.0 if "\\boxed{" in o and o.split("\\boxed{")[1].split("}")[0] == g else 0.0
        for o, g in zip(s["outputs"], s["gts"], strict=True)
    ]
    # the dump verl's trainer writes to trainer.validation_data_dir (its own writer)
    RayPPOTrainer._write_generations(
        s["inputs"], s["outputs"], s["gts"], scores, {"p_yes": s["p_yes"]}, str(tmp_path), 3
    )
    dump = tmp_path / "3.jsonl"
    assert dump.exists()
    cli = _cli_report(dump, tmp_path, "--field", "score=p_yes")
    metrics, report = rv.validation_metrics(
        s["inputs"], s["outputs"], s["gts"], s["p_yes"], ks=[1, 2, 4, 8]
    )
    assert report["curves"] == cli["curves"]
    assert set(report["curves"]) == {"pass", "majority", "weighted", "best_of_n"}
    assert report["problems"] == 6 and report["samples"] == 48
    for method, name in (
        ("pass", "pass"),
        ("majority", "maj"),
        ("weighted", "weighted"),
        ("best_of_n", "best"),
    ):
        for k in ("1", "2", "4", "8"):
            assert metrics[f"val-rlv/{name}@{k}"] == cli["curves"][method][k]
    # pass@k is the unbiased estimator, averaged over problems (checked from the grades)
    per_problem = np.asarray(scores).reshape(6, 8)
    for k in (1, 2, 4, 8):
        want = float(np.mean([pass_at_k(8, int(c), k) for c in per_problem.sum(axis=1)]))
        assert math.isclose(metrics[f"val-rlv/pass@{k}"], want, rel_tol=0, abs_tol=1e-12)
    # without verifier scores: pass and majority only, still the CLI's numbers
    metrics2, report2 = rv.validation_metrics(s["inputs"], s["outputs"], s["gts"], ks=[1, 2, 4, 8])
    cli2 = _cli_report(dump, tmp_path)
    assert report2["curves"] == cli2["curves"]
    assert set(report2["curves"]) == {"pass", "majority"}
    assert not any(k.startswith("val-rlv/best@") for k in metrics2)


def test_validation_metrics_errors() -> None:
    with pytest.raises(ValueError, match="no validation samples"):
        rv.validation_metrics([], [], [])
    with pytest.raises(ValueError, match="same length"):
        rv.validation_metrics(["a"], ["b", "c"], ["1"])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rv.validation_metrics(["a"], ["\\boxed{1}"], ["1"], [1.5])


# ---------------------------------------------------------------------------------------------
# verification rows and the RL^V loss


def _rollouts(tok: Any) -> tuple[list[list[int]], list[list[int]], np.ndarray]:
    prompts = [
        tok.encode(t, add_special_tokens=True)
        for t in ("What is 1+1?", "2+2?", "Compute 3*3.", "7-2?")
    ]
    comps = [
        tok.encode(t, add_special_tokens=False) + [tok.eos_token_id]
        for t in ("\\boxed{2}", "it is \\boxed{5}", "\\boxed{9}", "hmm")
    ]
    rewards = np.array([1.0, 0.0, 1.0, math.nan])
    return prompts, comps, rewards


def test_verification_rows_are_rlv_trainers_rows() -> None:
    tok = build_tokenizer()
    prompts, comps, rewards = _rollouts(tok)
    rows = rv.verification_rows(tok, prompts, comps, rewards, num_mini_batches=2)
    vb = build_verification_batch(tok, prompts, comps, rewards)
    assert torch.equal(rows["prompts"], vb.packed.input_ids)
    assert torch.equal(rows["attention_mask"][:, :-1], vb.packed.attention_mask)
    assert torch.equal(rows["position_ids"][:, :-1], vb.packed.position_ids)
    assert torch.equal(rows["position_ids"][:, -1], vb.packed.position_ids[:, -1] + 1)
    assert torch.equal(rows["input_ids"][:, :-1], vb.packed.input_ids)
    want_label = torch.where(vb.labels, vb.yes_id, vb.no_id)
    assert torch.equal(rows["responses"][:, 0], want_label)
    assert torch.equal(rows["input_ids"][:, -1], want_label)
    assert torch.equal(rows["rlv_label"], vb.labels) and torch.equal(rows["rlv_valid"], vb.valid)
    assert rows["rlv_valid"].tolist() == [True, True, True, False]
    assert not rows["response_mask"].any() and not rows["advantages"].any()
    total, _ = verification_weights(vb.labels.numpy(), vb.valid.numpy(), False)
    assert rows["rlv_weight_total"].tolist() == [total / 2] * 4
    assert all(math.isnan(x) for x in rows["rlv_pos_weight"].tolist())
    balanced = rv.verification_rows(tok, prompts, comps, rewards, balance=True)
    assert balanced["rlv_pos_weight"].tolist() == [0.5] * 4  # 1 negative / 2 positives
    with pytest.raises(ValueError, match="num_mini_batches"):
        rv.verification_rows(tok, prompts, comps, rewards, num_mini_batches=0)


def _actor_config(loss_agg_mode: str) -> Any:
    cfg = _compose([*GRPO_V_OVERRIDES, f"actor_rollout_ref.actor.loss_agg_mode={loss_agg_mode}"])
    return omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)


def _pad(x: torch.Tensor, left: int, right: int, fill: float) -> torch.Tensor:
    b = x.shape[0]
    return torch.cat(
        [
            torch.full((b, left), fill, dtype=x.dtype),
            x,
            torch.full((b, right), fill, dtype=x.dtype),
        ],
        dim=1,
    )


def _pad_union(parts: list[dict[str, torch.Tensor]], pad: int) -> dict[str, torch.Tensor]:
    """Concatenate batches of verl's layout: prompts left-padded, responses right-padded."""
    p_len = max(p["prompts"].shape[1] for p in parts)
    r_len = max(p["responses"].shape[1] for p in parts)
    out: dict[str, list[torch.Tensor]] = {}
    for part in parts:
        lp = p_len - part["prompts"].shape[1]
        rp = r_len - part["responses"].shape[1]
        conv = {
            "prompts": _pad(part["prompts"], lp, 0, pad),
            "responses": _pad(part["responses"], 0, rp, pad),
            "input_ids": _pad(part["input_ids"], lp, rp, pad),
            "attention_mask": _pad(part["attention_mask"], lp, rp, 0),
            "position_ids": _pad(part["position_ids"], lp, rp, 0),
            "response_mask": _pad(part["response_mask"], 0, rp, 0),
            "advantages": _pad(part["advantages"], 0, rp, 0.0),
            "old_log_probs": _pad(part["old_log_probs"], 0, rp, 0.0),
        }
        for k in rv.VERIFY_FIELDS:
            conv[k] = part[k]
        for k, v in conv.items():
            out.setdefault(k, []).append(v)
    return {k: torch.cat(v, dim=0) for k, v in out.items()}


def _policy_part(tok: Any, gen: torch.Generator) -> dict[str, torch.Tensor]:
    prompts, comps, rewards = _rollouts(tok)
    pad = tok.pad_token_id
    b = len(prompts)
    p_len = max(len(p) for p in prompts)
    r_len = max(len(c) for c in comps)
    p_ids = torch.full((b, p_len), pad, dtype=torch.long)
    r_ids = torch.full((b, r_len), pad, dtype=torch.long)
    att = torch.zeros((b, p_len + r_len), dtype=torch.long)
    rmask = torch.zeros((b, r_len), dtype=torch.long)
    for i, (p, c) in enumerate(zip(prompts, comps, strict=True)):
        p_ids[i, p_len - len(p) :] = torch.tensor(p)
        r_ids[i, : len(c)] = torch.tensor(c)
        att[i, p_len - len(p) : p_len + len(c)] = 1
        rmask[i, : len(c)] = 1
    pos = torch.clamp(torch.cumsum(att, 1) - 1, min=0)
    adv = torch.tensor([1.2, -0.7, 0.4, -0.9], dtype=torch.float64)[:, None].expand(b, r_len)
    old = -torch.rand((b, r_len), generator=gen, dtype=torch.float64) * 3
    return {
        "prompts": p_ids,
        "responses": r_ids,
        "input_ids": torch.cat([p_ids, r_ids], 1),
        "attention_mask": att,
        "position_ids": pos,
        "response_mask": rmask,
        "advantages": adv.clone() * rmask,
        "old_log_probs": old * rmask,
        "rlv_verify": torch.zeros(b, dtype=torch.bool),
        "rlv_label": torch.zeros(b, dtype=torch.bool),
        "rlv_valid": torch.zeros(b, dtype=torch.bool),
        "rlv_weight_total": torch.zeros(b, dtype=torch.float64),
        "rlv_pos_weight": torch.full((b,), math.nan, dtype=torch.float64),
    }


def _verify_part(tok: Any, balance: bool) -> dict[str, torch.Tensor]:
    prompts, comps, rewards = _rollouts(tok)
    rows = rv.verification_rows(tok, prompts, comps, rewards, balance=balance)
    rows["advantages"] = rows["advantages"].double()
    rows["old_log_probs"] = torch.zeros_like(rows["advantages"])
    return rows


class _Policy:
    """Per-token logits as free parameters (float64): verl's log-probs of the valid tokens in
    its no-padding (flattened) layout, shifted by one as a causal LM's."""

    def __init__(self, batch: dict[str, torch.Tensor], vocab: int, gen: torch.Generator) -> None:
        att = batch["attention_mask"].bool()
        self.tokens = [batch["input_ids"][i][att[i]] for i in range(att.shape[0])]
        n = sum(len(t) for t in self.tokens)
        self.logits = torch.randn(
            (n, vocab), generator=gen, dtype=torch.float64, requires_grad=True
        )

    def log_probs(self, logits: torch.Tensor) -> torch.Tensor:
        lp = torch.log_softmax(logits, dim=-1)
        out = []
        start = 0
        for t in self.tokens:
            nxt = torch.cat([t[1:], t[:1]])  # the last position's value is never used
            out.append(lp[start : start + len(t)].gather(1, nxt[:, None]).squeeze(1))
            start += len(t)
        return torch.cat(out)


def _tensordict(batch: dict[str, torch.Tensor], n_tokens: float, n_seqs: int) -> TensorDict:
    td = TensorDict({k: v.clone() for k, v in batch.items()}, batch_size=batch["prompts"].shape[0])
    tu.assign_non_tensor_data(td, "dp_size", 1)
    tu.assign_non_tensor_data(td, "batch_num_tokens", n_tokens)
    tu.assign_non_tensor_data(td, "global_batch_size", n_seqs)
    return td


def _loss_and_grad(
    fn: Any, policy: _Policy, logits: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    x = logits.detach().clone().requires_grad_(True)
    loss, _ = fn({"log_probs": policy.log_probs(x)})
    (g,) = torch.autograd.grad(loss, x)
    return loss.detach(), g


@pytest.mark.parametrize(
    "agg", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"]
)
@pytest.mark.parametrize("balance", [False, True])
def test_rlv_loss_is_verl_ppo_loss_plus_lambda_verification_term(agg: str, balance: bool) -> None:
    tok = build_tokenizer()
    gen = torch.Generator().manual_seed(7)
    pad = tok.pad_token_id
    policy_rows = _policy_part(tok, gen)
    verify_rows = _verify_part(tok, balance)
    only_policy = _pad_union([policy_rows], pad)
    both = _pad_union([policy_rows, verify_rows], pad)
    n_tokens = float(policy_rows["response_mask"].sum())
    n_seqs = policy_rows["prompts"].shape[0]
    vocab = len(tok)
    pol_both = _Policy(both, vocab, gen)
    pol_only = _Policy(only_policy, vocab, gen)
    n_policy_tokens = sum(len(t) for t in pol_only.tokens)
    # the same parameters for the policy rows in both batches
    shared = pol_both.logits.detach()
    cfg = _actor_config(agg)

    def verl_only(out: dict[str, Any]) -> Any:
        return ppo_loss(cfg, out, _tensordict(only_policy, n_tokens, n_seqs))

    def verl_both(out: dict[str, Any]) -> Any:
        return ppo_loss(cfg, out, _tensordict(both, n_tokens, n_seqs))

    def ours(lam: float) -> Any:
        return lambda out: rv.rlv_ppo_loss(cfg, out, _tensordict(both, n_tokens, n_seqs), lam=lam)

    l_verl, g_verl = _loss_and_grad(verl_both, pol_both, shared)
    l0, g0 = _loss_and_grad(ours(0.0), pol_both, shared)
    # lambda = 0: verl's loss itself, bit for bit
    assert torch.equal(l0, l_verl) and torch.equal(g0, g_verl)
    # masked verification rows change nothing in verl's loss (policy rows only)
    l_only, g_only = _loss_and_grad(verl_only, pol_only, shared[:n_policy_tokens])
    torch.testing.assert_close(l_only, l_verl, rtol=0, atol=1e-14)
    torch.testing.assert_close(g_only, g_verl[:n_policy_tokens], rtol=0, atol=1e-14)
    assert not g_verl[n_policy_tokens:].any()
    # lambda > 0: + lambda x rlv's verification term on the label-position logits
    lam = 0.37
    l1, g1 = _loss_and_grad(ours(lam), pol_both, shared)
    starts = np.cumsum([0] + [len(t) for t in pol_both.tokens])
    b_pol = policy_rows["prompts"].shape[0]
    label_pos = torch.tensor([int(starts[b_pol + i + 1]) - 2 for i in range(4)])
    vb = build_verification_batch(tok, *_rollouts(tok))
    total, pw = verification_weights(vb.labels.numpy(), vb.valid.numpy(), balance)
    norms = LossNorms(1.0, 1.0, 1.0, verify_weight_total=total, pos_weight=pw)
    z = shared.clone().requires_grad_(True)
    term, _ = verification_term(
        z[label_pos], vb.labels, vb.valid, norms=norms, yes_id=vb.yes_id, no_id=vb.no_id,
        verify_mode="full",
    )  # fmt: skip
    (g_term,) = torch.autograd.grad(term, z)
    assert float(term.detach()) > 0
    torch.testing.assert_close(l1 - l0, lam * term.detach(), rtol=0, atol=1e-12)
    torch.testing.assert_close(g1 - g0, lam * g_term, rtol=0, atol=1e-12)


def test_rlv_loss_errors() -> None:
    cfg = _actor_config("token-mean")
    td = TensorDict({"prompts": torch.zeros((1, 2), dtype=torch.long)}, batch_size=1)
    with pytest.raises(ValueError, match="lam"):
        rv.rlv_ppo_loss(cfg, {}, td, lam=-1.0)
    with pytest.raises(KeyError, match="rlv_verify"):
        rv.rlv_ppo_loss(cfg, {}, td, lam=1.0)


# ---------------------------------------------------------------------------------------------
# RL^V training in verl's V1 trainer (trainer.v1.trainer_mode=rlv): the verification rows go
# through verl's real TransferQueue (local Ray, CPU) into the actor update.


def _nested(rows: list[torch.Tensor]) -> torch.Tensor:
    return torch.nested.as_nested_tensor(rows, layout=torch.jagged)


QUEUE_REWARDS = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0]


def _queue_rollouts(tok: Any, seed: int = 0) -> tuple[TensorDict, list[dict[str, Any]]]:
    """8 rollouts (2 prompts x n = 4) in the layout verl's agent loop writes to the queue;
    the last one is a padding row."""
    gen = torch.Generator().manual_seed(seed)
    prompts, comps, _ = _rollouts(tok)
    prompts, comps = prompts * 2, comps * 2
    seqs = [torch.tensor(p + c) for p, c in zip(prompts, comps, strict=True)]
    r_len = [len(c) for c in comps]
    rm = []
    for r, n in zip(QUEUE_REWARDS, r_len, strict=True):
        row = torch.zeros(n)
        row[-1] = r
        rm.append(row)
    td = TensorDict(
        {
            "prompts": _nested([torch.tensor(p) for p in prompts]),
            "responses": _nested([torch.tensor(c) for c in comps]),
            "input_ids": _nested(seqs),
            "attention_mask": _nested([torch.ones(len(s), dtype=torch.long) for s in seqs]),
            "position_ids": _nested([torch.arange(len(s)) for s in seqs]),
            "response_mask": _nested([torch.ones(n, dtype=torch.long) for n in r_len]),
            "loss_mask": _nested([torch.ones(n, dtype=torch.long) for n in r_len]),
            "rm_scores": _nested(rm),
            "old_log_probs": _nested([-torch.rand(n, generator=gen) for n in r_len]),
            "advantages": _nested([torch.randn(n, generator=gen) for n in r_len]),
            "reward_flag": torch.tensor(QUEUE_REWARDS),
        },
        batch_size=[8],
    )
    tags: list[dict[str, Any]] = [
        {"status": "success", "prompt_len": len(p), "response_len": len(c),
         "seq_len": len(p) + len(c), "global_steps": 1}
        for p, c in zip(prompts, comps, strict=True)
    ]  # fmt: skip
    tags[-1]["is_padding"] = True
    return td, tags


def test_queue_verification_rows_are_rlv_trainers_rows() -> None:
    tok = build_tokenizer()
    policy, tags = _queue_rollouts(tok)
    rows, vtags = vt.queue_verification_rows(tok, policy, tags, num_mini_batches=2)
    prompts, comps, _ = _rollouts(tok)
    rewards = np.array(QUEUE_REWARDS[:-1] + [math.nan])
    vb = build_verification_batch(tok, prompts * 2, comps * 2, rewards)
    att = vb.packed.attention_mask.bool()
    label = torch.where(vb.labels, vb.yes_id, vb.no_id)
    for i in range(8):
        ctx = vb.packed.input_ids[i][att[i]]
        assert torch.equal(rows["prompts"][i], ctx)
        assert rows["responses"][i].tolist() == [int(label[i])]
        assert torch.equal(rows["input_ids"][i], torch.cat([ctx, label[i : i + 1]]))
        assert rows["position_ids"][i].tolist() == list(range(len(ctx) + 1))
        assert rows["attention_mask"][i].tolist() == [1] * (len(ctx) + 1)
        for name in ("response_mask", "loss_mask", "rm_scores", "old_log_probs", "advantages"):
            assert rows[name][i].tolist() == [0], name
        assert vtags[i]["seq_len"] == len(ctx) + 1 and vtags[i]["response_len"] == 1
        assert vtags[i]["rlv_verify"] and vtags[i]["global_steps"] == 1
    assert torch.equal(rows["reward_flag"], policy["reward_flag"])  # other fields: copied
    assert torch.equal(rows["rlv_label"], vb.labels)
    assert rows["rlv_valid"].tolist() == [True] * 7 + [False]  # the padding row: no loss
    assert vtags[-1]["is_padding"]
    total, _ = verification_weights(vb.labels.numpy(), vb.valid.numpy(), False)
    assert rows["rlv_weight_total"].tolist() == [total / 2] * 8
    # fields it cannot rebuild are refused, not copied with the wrong length
    bad = policy.clone()
    bad["token_extra"] = _nested([torch.zeros(len(s)) for s in policy["input_ids"].unbind(0)])
    with pytest.raises(ValueError, match="sequence-length token field 'token_extra'"):
        vt.queue_verification_rows(tok, bad, tags)
    no_scores = policy.exclude("rm_scores")
    with pytest.raises(ValueError, match="rm_scores"):
        vt.queue_verification_rows(tok, no_scores, tags)
    with pytest.raises(ValueError, match="tags"):
        vt.queue_verification_rows(tok, policy, tags[:3])


def test_trainer_mode_rlv_is_registered_and_checks_its_settings() -> None:
    from verl.trainer.ppo.v1 import get_trainer_cls

    assert get_trainer_cls("rlv") is vt.RLVTrainer
    s = vt.RLVSettings.from_config(OmegaConf.create({"rlv": {"lambda": 0.5, "balance": True}}))
    assert (s.lam, s.balance, s.template) == (0.5, True, "plain")
    assert vt.RLVSettings.from_config(OmegaConf.create({})).lam == 1.0
    with pytest.raises(ValueError, match="unknown key"):
        vt.RLVSettings.from_config(OmegaConf.create({"rlv": {"lam": 0.5}}))
    with pytest.raises(ValueError, match="rlv.lambda"):
        vt.RLVSettings(lam=-1.0)
    trainer = vt.RLVTrainer.__new__(vt.RLVTrainer)
    trainer.config = _compose(
        [*GRPO_V_OVERRIDES, "actor_rollout_ref.actor.shuffle=true",
         "actor_rollout_ref.rollout.temperature=0.7"]
    )  # fmt: skip
    with pytest.raises(ValueError, match="shuffle must be false.*temperature must be 1.0"):
        trainer._check_supported()


def test_rlv_trainer_ramps_lambda_over_training_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """``+rlv.ramp_steps=4``, lambda 0.8: the loss installed for verl step t has weight
    ``0.8 * min(1, t / 4)``, re-installed only when it changes, logged as ``rlv/lambda``."""
    from transfer_queue import KVBatchMeta

    with pytest.raises(ValueError, match="rlv.ramp_steps"):
        vt.RLVSettings(ramp_steps=-1)
    cfg = _compose(
        [*GRPO_V_OVERRIDES, "trainer.v1.trainer_mode=rlv", "+rlv.lambda=0.8", "+rlv.ramp_steps=4"]
    )
    installed: list[float] = []

    class Workers:
        def set_loss_fn(self, loss_fn: Any) -> None:
            assert loss_fn.func is rv.rlv_ppo_loss
            installed.append(loss_fn.keywords["lam"])

        def update_actor(self, meta: Any) -> dict[str, Any]:
            return {"metrics": {"loss": [0.0]}}

    trainer = vt.RLVTrainer.__new__(vt.RLVTrainer)
    trainer.config = cfg
    trainer.tokenizer = build_tokenizer()
    trainer.actor_rollout_wg = Workers()
    monkeypatch.setattr(vt.PPOTrainerSync, "init", lambda self: None)
    trainer.init()
    # the queue is not under test here: the batch goes to the workers as it is
    monkeypatch.setattr(trainer, "_add_verification_rows", lambda b: b)
    monkeypatch.setattr(vt.tq, "kv_clear", lambda **kw: None)
    logged = []
    for step in range(1, 7):
        trainer.global_steps = step
        metrics: dict[str, Any] = {}
        batch = KVBatchMeta(keys=["k"], tags=[{}], partition_id="p", extra_info={})
        trainer._update_actor(batch, metrics)
        logged.append(metrics["rlv/lambda"])
    assert logged == pytest.approx([0.2, 0.4, 0.6, 0.8, 0.8, 0.8], abs=1e-12)
    assert installed == pytest.approx([0.2, 0.4, 0.6, 0.8], abs=1e-12)


def _label_logprob(tokens: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """A fake model: log P(token p+1 | prefix) = -scale * (0.05 + 0.01 (t mod 7) + 0.002 p)."""
    nxt = tokens[1:].to(torch.float64)
    pos = torch.arange(len(nxt), dtype=torch.float64)
    lp = -scale * (0.05 + 0.01 * torch.remainder(nxt, 7) + 0.002 * pos)
    return torch.cat([lp, torch.zeros(1, dtype=torch.float64)])


def _flat_logprobs(data: TensorDict, scale: torch.Tensor) -> torch.Tensor:
    return torch.cat([_label_logprob(t, scale) for t in data["input_ids"].unbind(0)])


@pytest.fixture(scope="module")
def transfer_queue() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    tq = pytest.importorskip("transfer_queue")
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    try:
        tq.init()
        yield tq
    finally:
        with contextlib.suppress(Exception):
            tq.close()
        ray.shutdown()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("lam", [0.0, 0.6])
def test_rlv_trainer_updates_the_actor_on_rollouts_and_their_verification_rows(
    transfer_queue: Any, lam: float
) -> None:
    from transfer_queue import KVBatchMeta
    from verl.single_controller.base.decorator import _split_args_kwargs_data_proto
    from verl.utils.transferqueue_utils import _meta_to_realdata, batch_meta2kv_batch_meta

    tq = transfer_queue
    tok = build_tokenizer()
    policy, tags = _queue_rollouts(tok)
    part = f"train-{lam}"
    keys = [f"u{i // 4}_{i % 4}_0" for i in range(8)]
    tq.kv_batch_put(keys=keys, partition_id=part, fields=policy, tags=tags)
    batch = KVBatchMeta(keys=list(keys), tags=[dict(t) for t in tags], partition_id=part)

    overrides = [o for o in GRPO_V_OVERRIDES if "ppo_mini_batch_size" not in o]
    cfg = _compose(
        [*overrides, "actor_rollout_ref.actor.ppo_mini_batch_size=1", "trainer.v1.trainer_mode=rlv",
         f"+rlv.lambda={lam}"]
    )  # fmt: skip
    actor_cfg = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    seen: dict[str, Any] = {}

    class Workers:
        """The actor worker group: receives the batch the way verl's dispatch does (shards per
        data-parallel rank, the worker fetches its data from the queue) and runs the loss that
        the trainer installed on each update mini-batch."""

        def set_loss_fn(self, loss_fn: Any) -> None:
            seen["loss_fn"] = loss_fn

        def update_actor(self, meta: Any) -> dict[str, Any]:
            seen["keys"] = list(meta.keys)
            seen["extra"] = dict(meta.extra_info)
            (shards,), _ = _split_args_kwargs_data_proto(2, meta)
            seen["shards"] = [list(batch_meta2kv_batch_meta(s).keys) for s in shards]
            data = _meta_to_realdata(meta)
            mb = tu.pop(data, key="mini_batch_size")
            kwargs = tu.pop(data, key="dataloader_kwargs")
            seen["minibatches"] = []
            for mini in tu.make_iterator(
                data, mini_batch_size=mb, epochs=1, dataloader_kwargs=kwargs
            ):
                tu.assign_non_tensor(mini, dp_size=1)
                tu.assign_non_tensor(mini, batch_num_tokens=float(mini["loss_mask"].values().sum()))
                scale = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
                loss, metrics = seen["loss_fn"](
                    model_output={"log_probs": _flat_logprobs(mini, scale)}, data=mini
                )
                (grad,) = torch.autograd.grad(loss, scale)
                seen["minibatches"].append((mini, loss.detach(), grad, metrics))
            return {"metrics": {"loss": [float(m[1]) for m in seen["minibatches"]]}}

    # the trainer as verl's task runner makes it (workers mocked: no GPU here)
    trainer = vt.RLVTrainer.__new__(vt.RLVTrainer)
    trainer.config = cfg
    trainer.tokenizer = tok
    trainer.actor_rollout_wg = Workers()
    original = vt.PPOTrainerSync.init
    vt.PPOTrainerSync.init = lambda self: None
    try:
        trainer.init()
    finally:
        vt.PPOTrainerSync.init = original
    assert seen["loss_fn"].keywords["lam"] == lam

    metrics: dict[str, Any] = {}
    trainer.global_steps = 1  # as verl's fit sets it before the first step
    out = trainer._update_actor(batch, metrics)
    assert out is batch and "actor/loss" in metrics
    vkeys = [k + vt.VERIFY_KEY_SUFFIX for k in keys]
    assert seen["keys"] == [k for pair in zip(keys, vkeys, strict=True) for k in pair]
    # mini-batches: ppo_mini_batch_size (1 prompt) x n (4) rollouts + their 4 rows; verl's
    # loss normalises by the 4 policy rows
    assert seen["extra"]["mini_batch_size"] == 8 and seen["extra"]["global_batch_size"] == 4
    assert seen["extra"]["dataloader_kwargs"] == {"shuffle": False}
    for shard in seen["shards"]:  # each data-parallel rank: rollouts with their own rows
        assert [k + vt.VERIFY_KEY_SUFFIX for k in shard[::2]] == shard[1::2]
    # the verification rows are gone from the queue afterwards, the rollouts are intact
    left = tq.kv_list(part)[part]
    assert sorted(left) == sorted(keys)
    again = tq.kv_batch_get(keys=keys, partition_id=part)
    assert torch.equal(again["old_log_probs"].values(), policy["old_log_probs"].values())

    # the loss on each mini-batch: verl's ppo_loss on the rollouts alone + lam x rlv's term
    prompts, comps, _ = _rollouts(tok)
    vb = build_verification_batch(
        tok, prompts * 2, comps * 2, np.array(QUEUE_REWARDS[:-1] + [math.nan])
    )
    total, _ = verification_weights(vb.labels.numpy(), vb.valid.numpy(), False)
    att = vb.packed.attention_mask.bool()
    for j, (mini, loss, grad, mmetrics) in enumerate(seen["minibatches"]):
        assert mini["rlv_verify"].tolist() == [False, True] * 4
        rollouts = [4 * j + i for i in range(4)]
        alone = tq.kv_batch_get(keys=[keys[i] for i in rollouts], partition_id=part)
        alone = alone.exclude(*rv.VERIFY_FIELDS)
        tu.assign_non_tensor(alone, dp_size=1, global_batch_size=4)
        tu.assign_non_tensor(alone, batch_num_tokens=float(alone["loss_mask"].values().sum()))
        scale = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        want, _ = ppo_loss(actor_cfg, {"log_probs": _flat_logprobs(alone, scale)}, alone)
        (want_grad,) = torch.autograd.grad(want, scale)
        s2 = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        label_lp = []
        for i in rollouts:
            ctx = vb.packed.input_ids[i][att[i]]
            lab = torch.where(vb.labels[i], vb.yes_id, vb.no_id).reshape(1)
            label_lp.append(_label_logprob(torch.cat([ctx, lab]), s2)[len(ctx) - 1])
        term, _ = verification_term_from_logprobs(
            torch.stack(label_lp), vb.labels[rollouts], vb.valid[rollouts],
            norms=LossNorms(1.0, 1.0, 1.0, verify_weight_total=total / 2, pos_weight=None),
        )  # fmt: skip
        (term_grad,) = torch.autograd.grad(term, s2)
        torch.testing.assert_close(loss, want.detach() + lam * term.detach(), rtol=0, atol=1e-6)
        torch.testing.assert_close(grad, want_grad + lam * term_grad, rtol=0, atol=1e-6)
        assert mmetrics["rlv/verify_rows"] == 4.0
        assert mmetrics["rlv/verify_loss"] == pytest.approx(float(term.detach()), abs=1e-6)
    tq.kv_clear(keys=keys, partition_id=part)


def test_rlv_loss_scales_the_term_by_data_parallel_size() -> None:
    """Two data-parallel ranks, each with half the rows: verl averages their gradients, so
    each rank's term is scaled by dp_size (as verl scales its own loss)."""
    tok = build_tokenizer()
    cfg = _actor_config("token-mean")
    policy, tags = _queue_rollouts(tok)
    rows, _ = vt.queue_verification_rows(tok, policy, tags)

    def loss_of(idx: list[int], dp: int) -> tuple[float, float]:
        sub = tu.index_select_tensor_dict(rows, idx)
        tu.assign_non_tensor(sub, dp_size=dp, global_batch_size=8, batch_num_tokens=1.0)
        scale = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        loss, _ = rv.rlv_ppo_loss(cfg, {"log_probs": _flat_logprobs(sub, scale)}, sub, lam=1.0)
        (g,) = torch.autograd.grad(loss, scale)
        return float(loss.detach()), float(g)

    whole = loss_of(list(range(8)), 1)
    a, b = loss_of(list(range(4)), 2), loss_of(list(range(4, 8)), 2)
    assert (a[0] + b[0]) / 2 == pytest.approx(whole[0], abs=1e-9)
    assert (a[1] + b[1]) / 2 == pytest.approx(whole[1], abs=1e-9)
