"""rlv.training.config: YAML + --set overrides, with every key checked before any work."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlv.exceptions import ConfigError
from rlv.training.config import Config, apply_overrides, from_dict, load_config, to_dict


def test_defaults_and_overrides() -> None:
    cfg = load_config(None, ["rl.algo=rloo", "verify.lambda=0.5", "optim.lr=1e-3"])
    assert cfg.rl.algo == "rloo" and cfg.verify.lam == 0.5 and cfg.optim.lr == 1e-3
    assert load_config().rl.resolved_scale == "group"
    dr = load_config(None, ["rl.algo=dr_grpo"]).rl
    assert dr.resolved_scale == "none" and dr.resolved_agg == "seq-mean-token-sum-norm"


def test_yaml_file_then_overrides(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(
        "rl:\n  algo: dr_grpo\n  group_size: 4\nverify:\n  lambda: 0.2\noptim:\n  lr: 3e-4\n"
    )
    cfg = load_config(p, ["rl.group_size=16"])
    assert (cfg.rl.algo, cfg.rl.group_size, cfg.verify.lam, cfg.optim.lr) == (
        "dr_grpo",
        16,
        0.2,
        3e-4,
    )


def test_round_trip_through_dict() -> None:
    cfg = load_config(None, ["verify.lambda=0.3", "rl.clip_ratio_c=3.0", "train.bf16=false"])
    d = to_dict(cfg)
    assert d["verify"]["lambda"] == 0.3 and "lam" not in d["verify"]
    assert from_dict(Config, d) == cfg


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["rl.algoo=grpo"], r"unknown config key rl.algoo \(did you mean rl.algo\?\)"),
        (["nope.x=1"], "unknown config key nope"),
        (["rl.group_size=1"], "group_size must be >= 2"),
        (["rl.group_size=2.5"], "rl.group_size: expected int"),
        (["rl.group_size=true"], "rl.group_size: expected int"),
        (["verify.lambda=-1"], "verify.lambda must be >= 0"),
        (["verify.ramp_steps=-1"], "verify.ramp_steps must be >= 0"),
        (["verify.ramp_steps=1.5"], "verify.ramp_steps: expected int"),
        (["rl.algo=ppo"], "rl.algo: invalid value 'ppo'"),
        (["rl.clip_low=1.0"], "clip_low"),
        (["rl.loss_agg=mean"], "unknown aggregation"),
        (["rl.kl_kind=k9"], "unknown KL estimator"),
        (["generation.top_p=0"], "top_p"),
        (["train.device=tpu"], "train.device"),
        (["data.task=jsonl"], "data.path is required"),
        (["rl.minibatches=64"], "cannot exceed"),
        (["verify.yes_label=No"], "two different"),
        (["train.progress=maybe"], "train.progress: expected bool"),
        (["rl"], "KEY=VALUE"),
    ],
)
def test_invalid_values_name_the_key(overrides: list[str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(None, overrides)


def test_yes_no_words_stay_strings(tmp_path: Path) -> None:
    cfg = load_config(None, ["verify.yes_label=Yes", "verify.no_label=No"])
    assert (cfg.verify.yes_label, cfg.verify.no_label) == ("Yes", "No")
    p = tmp_path / "c.yaml"
    p.write_text("verify:\n  no_label: No\n")
    with pytest.raises(ConfigError, match="quote the value"):
        load_config(p)


def test_bad_yaml(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("rl: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(p)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.yaml")


def test_overrides_do_not_mutate_their_input() -> None:
    base = {"rl": {"algo": "grpo"}}
    out = apply_overrides(base, ["rl.algo=rloo"])
    assert base == {"rl": {"algo": "grpo"}} and out["rl"]["algo"] == "rloo"


def test_config_error_is_a_value_error_and_an_rlv_error() -> None:
    import rlv

    err = ConfigError("x")
    assert isinstance(err, ValueError) and isinstance(err, rlv.RlvError)


def test_docs_training_shows_every_key_with_its_default(tmp_path: Path) -> None:
    """docs/training.md's configuration block is exactly ``rlv config``'s output."""
    from rlv.training.config import to_yaml

    doc = (Path(__file__).resolve().parent.parent / "docs" / "training.md").read_text()
    m = re.search(
        r"<!-- rlv config: begin -->\n```yaml\n(.*?)```\n<!-- rlv config: end -->", doc, re.S
    )
    assert m is not None, "docs/training.md lost its generated configuration block"
    assert m.group(1) == to_yaml(Config()), (
        "docs/training.md is out of date: replace the block with the output of `rlv config`"
    )
    f = tmp_path / "c.yaml"
    f.write_text(m.group(1))
    assert load_config(f) == Config()
    # every key of every section is in the block
    for section in dataclasses.fields(Config):
        for key in to_dict(getattr(Config(), section.name)):
            assert re.search(rf"^{section.name}:\n(?:  .*\n)*?  {key}:", m.group(1), re.M), key


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    template=_TEXT,
    prompt=_TEXT,
    yes=_TEXT.filter(bool),
    lr=st.floats(min_value=1e-12, max_value=10.0),
    steps=st.integers(0, 10**9),
    wandb=st.none() | _TEXT,
)
def test_yaml_output_round_trips(
    tmp_path_factory: pytest.TempPathFactory,
    template: str,
    prompt: str,
    yes: str,
    lr: float,
    steps: int,
    wandb: str | None,
) -> None:
    """``to_yaml`` then ``load_config`` gives the same Config for awkward strings ("No",
    "null", "1e3", newlines, unicode line breaks such as U+0085) and numbers."""
    from rlv.training.config import to_yaml

    cfg = Config()
    cfg.verify.template = template or "plain"
    cfg.verify.yes_label = yes
    cfg.verify.no_label = yes + "x"
    cfg.data.prompt_template = prompt + "{prompt}"
    cfg.optim.lr = lr
    cfg.train.steps = steps
    cfg.train.wandb = wandb
    if wandb is not None and "\x85" not in wandb:
        cfg.train.run_dir = wandb + "\x85\u2028 é"  # always one raw-unsafe string, one readable
    f = tmp_path_factory.mktemp("rt") / "c.yaml"
    f.write_text(to_yaml(cfg), encoding="utf-8")
    assert load_config(f) == cfg


def test_set_value_that_is_not_yaml_is_a_string_or_a_type_error() -> None:
    cfg = load_config(None, ["data.prompt_template={prompt}: 'x"])
    assert cfg.data.prompt_template == "{prompt}: 'x"
    with pytest.raises(ConfigError, match="train.steps: expected int"):
        load_config(None, ["train.steps=[1"])


@given(
    lam=st.floats(0, 10, allow_nan=False),
    ramp=st.integers(0, 50),
    steps=st.lists(st.integers(1, 200), min_size=2, max_size=10),
)
def test_lambda_ramp(lam: float, ramp: int, steps: list[int]) -> None:
    """``verify.ramp_steps``: linear from ``lambda / R`` at step 1 to ``lambda`` at step R,
    never above it, never decreasing; 0 is the full weight from step 1."""
    v = load_config(None, [f"verify.lambda={lam!r}", f"verify.ramp_steps={ramp}"]).verify
    got = [v.lam_at(t) for t in sorted(steps)]
    assert all(0 <= a <= b <= lam for a, b in zip(got, got[1:], strict=False))
    for t in steps:
        want = lam if ramp == 0 or t >= ramp else lam * t / ramp
        assert v.lam_at(t) == pytest.approx(want, rel=1e-12, abs=0)


def test_verification_lambda_rejects_bad_arguments() -> None:
    from rlv.verifier import verification_lambda

    assert verification_lambda(0.6, 3, 1) == pytest.approx(0.2)
    assert verification_lambda(0.6, 0, 1) == 0.6
    for args, match in (
        ((-0.1, 3, 1), "lam"),
        ((math.nan, 3, 1), "lam"),
        ((0.5, -1, 1), "ramp_steps"),
        ((0.5, 3, 0), "step counts from 1"),
    ):
        with pytest.raises(ValueError, match=match):
            verification_lambda(*args)
