"""Configuration of ``rlv sft``, ``rlv train``, ``rlv sample`` and ``rlv demo``.

One :class:`Config` made of dataclass sections, loaded from YAML (or a dict) and overridable
from the command line::

    rlv train cfg.yaml --set rl.algo=rloo --set verify.lambda=0.5

Every key is checked before any work starts: an unknown key (with a "did you mean"), a value of
the wrong type, or an invalid value (``verify.lambda < 0``, ``rl.group_size < 2`` with a
group-relative algorithm, ...) raises :class:`ConfigError` naming the key. YAML's own key for
the verification weight is ``lambda`` (``Config.verify.lam`` in Python, ``lambda`` being a
keyword).

Defaults marked *(choice)* in ``docs/training.md`` are rlv's, not the paper's. This module
needs PyYAML only to read YAML files; it never imports torch.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from rlv.exceptions import ConfigError
from rlv.rl.losses import AGG_ALIASES, AGG_MODES, KL_KINDS

__all__ = [
    "Config",
    "DataConfig",
    "GenerationConfig",
    "ModelConfig",
    "OptimConfig",
    "RLConfig",
    "SFTConfig",
    "TrainConfig",
    "VerifyConfig",
    "apply_overrides",
    "from_dict",
    "load_config",
    "to_dict",
    "to_yaml",
]


def _key(name: str) -> Any:
    """A field whose YAML key differs from its Python name."""
    return {"key": name}


@dataclass
class ModelConfig:
    """The model: a local Hugging Face directory, or rlv's built-in tiny Qwen2."""

    path: str | None = None
    """A local causal-LM directory (``from_pretrained``); ``None``: build ``rlv.models.tiny``."""
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 2
    head_dim: int = 64
    intermediate_size: int = 512
    max_position_embeddings: int = 512
    init_seed: int = 0
    """Seed of the tiny model's initial weights."""

    def validate(self) -> None:
        for name in ("hidden_size", "num_layers", "num_heads", "head_dim", "intermediate_size"):
            _positive(f"model.{name}", getattr(self, name))
        _positive("model.max_position_embeddings", self.max_position_embeddings)


@dataclass
class DataConfig:
    """Problems with gold answers."""

    task: Literal["arithmetic", "file", "jsonl"] = "arithmetic"
    """``arithmetic``: the built-in synthetic task; ``file`` (or its older name ``jsonl``):
    problems read from ``path`` (MATH / GSM8K style), a JSONL file, a Parquet file or a saved
    Hugging Face dataset directory (``rlv.tasks.load_problems_file``)."""
    path: str | None = None
    """Training problems (``task: file``)."""
    eval_path: str | None = None
    """Held-out problems for evaluation (``task: file``); default: none."""
    prompt_field: str | None = None
    gold_field: str | None = None
    id_field: str | None = None
    prompt_template: str = "{prompt}"
    """Format string applied to each problem text (``{prompt}``)."""
    # synthetic task knobs
    min_steps: int = 3
    max_steps: int = 4
    max_operand: int = 99
    style: Literal["chain", "rewrite"] = "chain"
    """Solution lines of the synthetic task (``rlv.tasks.ArithmeticTask.style``)."""
    error_rate: float = 0.4
    """Probability of a random slip in a demonstration (``rlv.tasks.ArithmeticTask``; the gold
    stays exact)."""
    systematic_rate: float = 0.0
    """Probability of a systematic slip at each hard step of a demonstration
    (``rlv.tasks.ArithmeticTask.systematic_rate``; 0: off)."""
    hard_digit: int = 7
    """Hard steps for systematic slips (``rlv.tasks.ArithmeticTask.hard_digit``)."""
    train_size: int = 20000
    """Problems generated for training (``task: arithmetic``)."""
    eval_size: int = 200
    """Held-out problems generated for evaluation (``task: arithmetic``)."""
    eval_split: Literal["test", "validation"] = "test"
    """The split the held-out problems come from (``task: arithmetic``): choose settings on
    ``validation``, report ``test``."""
    seed: int = 0

    def validate(self) -> None:
        if self.task != "arithmetic" and not self.path:
            raise ConfigError(f"data.path is required when data.task is {self.task!r}")
        if self.min_steps < 1 or self.max_steps < self.min_steps:
            raise ConfigError(
                f"data.min_steps/max_steps must satisfy 1 <= min_steps <= max_steps, got "
                f"{self.min_steps}/{self.max_steps}"
            )
        _positive("data.max_operand", self.max_operand)
        for name in ("error_rate", "systematic_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ConfigError(f"data.{name} must be in [0, 1], got {rate!r}")
        if not 1 <= self.hard_digit <= 9:
            raise ConfigError(f"data.hard_digit must be in [1, 9], got {self.hard_digit}")
        if self.eval_split not in ("test", "validation"):
            raise ConfigError(
                f"data.eval_split must be 'test' or 'validation', got {self.eval_split!r}"
            )
        _positive("data.train_size", self.train_size)
        if self.eval_size < 0:
            raise ConfigError(f"data.eval_size must be >= 0, got {self.eval_size}")
        if "{prompt}" not in self.prompt_template:
            raise ConfigError("data.prompt_template must contain '{prompt}'")


@dataclass
class SFTConfig:
    """Supervised warm start on the task's demonstration solutions (``rlv sft``)."""

    steps: int = 500
    batch_size: int = 128
    lr: float = 1e-3
    warmup_steps: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    verify_lambda: float = 0.0
    """Weight of a verification loss on the demonstrations' known labels (a verifier warm
    start; 0: off)."""

    def validate(self) -> None:
        if self.steps < 0:
            raise ConfigError(f"sft.steps must be >= 0, got {self.steps}")
        _positive("sft.batch_size", self.batch_size)
        _positive("sft.lr", self.lr)
        _nonneg("sft.warmup_steps", self.warmup_steps)
        _nonneg("sft.weight_decay", self.weight_decay)
        _positive("sft.grad_clip", self.grad_clip)
        _nonneg("sft.verify_lambda", self.verify_lambda)


ALGOS = ("grpo", "dr_grpo", "rloo")


@dataclass
class RLConfig:
    """The value-free RL method: GRPO, Dr. GRPO or leave-one-out PPO (RLOO baseline)."""

    algo: Literal["grpo", "dr_grpo", "rloo"] = "grpo"
    group_size: int = 8
    """Completions sampled per prompt (G)."""
    prompts_per_step: int = 32
    scale: Literal["group", "batch", "none"] | None = None
    """GRPO's std normalisation; default by algorithm (grpo: group, dr_grpo: none)."""
    eps: float = 1e-6
    clip_low: float = 0.2
    clip_high: float = 0.2
    clip_ratio_c: float | None = None
    """Dual-clip constant (> 1); ``None``: off."""
    loss_agg: str | None = None
    """Aggregation (``rlv.rl.losses.AGG_MODES`` or a TRL alias); default by algorithm
    (grpo/rloo: token-mean, dr_grpo: seq-mean-token-sum-norm)."""
    kl_coef: float = 0.0
    """Weight of a KL penalty to the initial (reference) model; 0: no reference model."""
    kl_kind: str = "k3"
    ppo_epochs: int = 1
    minibatches: int = 1
    """Optimizer steps per rollout batch = ppo_epochs x minibatches (1: on-policy)."""
    reward_mode: Literal["strict", "lenient"] = "strict"
    """Answer extraction of ``rlv.grade_batch`` for rewards."""

    def validate(self) -> None:
        if self.group_size < 2:
            raise ConfigError(
                f"rl.group_size must be >= 2 for {self.algo} (its baseline is computed within "
                f"the group of a prompt's samples), got {self.group_size}"
            )
        _positive("rl.prompts_per_step", self.prompts_per_step)
        _nonneg("rl.eps", self.eps)
        if not 0.0 <= self.clip_low < 1.0:
            raise ConfigError(f"rl.clip_low must be in [0, 1), got {self.clip_low!r}")
        _nonneg("rl.clip_high", self.clip_high)
        if self.clip_ratio_c is not None and not self.clip_ratio_c > 1.0:
            raise ConfigError(f"rl.clip_ratio_c must be > 1 or null, got {self.clip_ratio_c!r}")
        if self.loss_agg is not None and self.loss_agg not in (*AGG_MODES, *AGG_ALIASES):
            raise ConfigError(
                f"rl.loss_agg: unknown aggregation {self.loss_agg!r}; allowed: "
                + ", ".join((*AGG_MODES, *AGG_ALIASES))
            )
        if self.kl_kind not in KL_KINDS:
            raise ConfigError(
                f"rl.kl_kind: unknown KL estimator {self.kl_kind!r}; allowed: "
                + ", ".join(KL_KINDS)
            )
        _nonneg("rl.kl_coef", self.kl_coef)
        _positive("rl.ppo_epochs", self.ppo_epochs)
        _positive("rl.minibatches", self.minibatches)
        if self.minibatches > self.prompts_per_step:
            raise ConfigError(
                f"rl.minibatches ({self.minibatches}) cannot exceed rl.prompts_per_step "
                f"({self.prompts_per_step})"
            )

    @property
    def resolved_scale(self) -> Literal["group", "batch", "none"]:
        if self.scale is not None:
            return self.scale
        return "none" if self.algo == "dr_grpo" else "group"

    @property
    def resolved_agg(self) -> str:
        if self.loss_agg is not None:
            return self.loss_agg
        return "seq-mean-token-sum-norm" if self.algo == "dr_grpo" else "token-mean"


@dataclass
class VerifyConfig:
    """The generative verifier: ``lambda x`` the Yes/No loss on the same rollouts."""

    lam: float = field(default=1.0, metadata=_key("lambda"))
    """Weight of the verification loss; 0 is the base RL method (same code path)."""
    ramp_steps: int = 0
    """RL steps over which the weight rises linearly to ``lambda`` (step ``t`` uses
    ``lambda * min(1, t / ramp_steps)``); 0: the full weight from the first step."""
    template: str = "plain"
    """``plain`` (the paper's instruction after the solution), ``chat`` (a new user turn through
    the tokenizer's chat template) or any other string: a custom instruction text."""
    yes_label: str = "Yes"
    """The label text of a correct solution (must be one token)."""
    no_label: str = "No"
    mode: Literal["full", "yes_no"] = "full"
    """Softmax of the loss: full vocabulary (the paper) or the two label tokens."""
    balance: bool = False
    """Weight positives and negatives equally in the loss (class balancing)."""
    groups: Literal["all", "mixed"] = "all"
    """Which rollouts train the verifier: ``all`` (the paper) or only those of ``mixed``
    groups, whose samples are neither all right nor all wrong (the ones a weighted vote has to
    rank; a uniform group teaches how hard the problem is, not which sample is right)."""
    score: Literal["raw", "normalized"] = "raw"
    """Score written by ``rlv sample``: raw P(Yes) (the paper) or P(Yes)/(P(Yes)+P(No))."""

    def lam_at(self, step: int) -> float:
        """The weight used at RL step ``step`` (counted from 1): ``lambda`` after the ramp
        (:func:`rlv.verifier.verification_lambda`)."""
        from rlv.verifier import verification_lambda

        return verification_lambda(self.lam, self.ramp_steps, step)

    def validate(self) -> None:
        _nonneg("verify.lambda", self.lam)
        _nonneg("verify.ramp_steps", self.ramp_steps)
        if not self.template:
            raise ConfigError("verify.template must not be empty")
        if not self.yes_label or not self.no_label or self.yes_label == self.no_label:
            raise ConfigError(
                f"verify.yes_label and verify.no_label must be two different non-empty "
                f"strings, got {self.yes_label!r}/{self.no_label!r}"
            )


@dataclass
class GenerationConfig:
    """Sampling of rollouts and evaluation samples."""

    backend: Literal["transformers", "vllm"] = "transformers"
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    suppress_label_tokens: bool = False
    """Never sample the verifier's Yes/No tokens in solutions (useful when they are dedicated
    tokens, as in the tiny model; leave off for real tokenizers where "Yes" is a word)."""
    batch_size: int = 256
    """Sequences per generation call (transformers backend)."""
    vllm_gpu_memory_utilization: float = 0.5
    """vLLM backend: fraction of GPU memory the engine may take (leave room for training)."""
    vllm_max_model_len: int = 0
    """vLLM backend: longest prompt + completion (0: the model's max_position_embeddings)."""
    vllm_block_size: int = 32
    """vLLM backend: KV-cache block size (prefix caching reuses whole blocks; the CPU build
    needs a multiple of 32)."""
    vllm_dtype: str = "auto"
    """vLLM backend: dtype of the engine's weights ("auto": the model's)."""

    def validate(self) -> None:
        _nonneg("generation.temperature", self.temperature)
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"generation.top_p must be in (0, 1], got {self.top_p!r}")
        _positive("generation.max_new_tokens", self.max_new_tokens)
        _positive("generation.batch_size", self.batch_size)
        if not 0.0 < self.vllm_gpu_memory_utilization <= 1.0:
            raise ConfigError(
                "generation.vllm_gpu_memory_utilization must be in (0, 1], got "
                f"{self.vllm_gpu_memory_utilization!r}"
            )
        _nonneg("generation.vllm_max_model_len", self.vllm_max_model_len)
        _positive("generation.vllm_block_size", self.vllm_block_size)
        if self.vllm_dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise ConfigError(
                "generation.vllm_dtype must be one of auto, float32, bfloat16, float16, got "
                f"{self.vllm_dtype!r}"
            )


@dataclass
class OptimConfig:
    """AdamW and the learning-rate schedule of RL training."""

    lr: float = 1e-4
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    warmup_steps: int = 10
    schedule: Literal["constant", "linear", "cosine"] = "constant"
    """After warm-up: constant, or decay to 0 at the last step."""
    grad_clip: float = 1.0
    token_budget: int = 16384
    """Micro-batching: at most this many (padded) tokens per forward pass; gradients are
    accumulated so the update does not depend on it."""

    def validate(self) -> None:
        _positive("optim.lr", self.lr)
        _nonneg("optim.weight_decay", self.weight_decay)
        for name in ("beta1", "beta2"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ConfigError(f"optim.{name} must be in [0, 1), got {v!r}")
        _nonneg("optim.warmup_steps", self.warmup_steps)
        _positive("optim.grad_clip", self.grad_clip)
        _positive("optim.token_budget", self.token_budget)


@dataclass
class TrainConfig:
    """The run: steps, seed, checkpoints, logging, device."""

    steps: int = 100
    seed: int = 0
    run_dir: str = "runs/rlv"
    save_every: int = 50
    """Checkpoint every N steps (and at the end); 0: only at the end."""
    keep_checkpoints: int = 2
    device: str = "auto"
    """``auto`` (CUDA if available), ``cpu``, ``cuda``, ``cuda:1``, ..."""
    bf16: bool | None = None
    """bf16 autocast; ``None``: on for CUDA, off on CPU."""
    threads: int | None = None
    """torch CPU threads (``None``: torch's default)."""
    tensorboard: bool = False
    wandb: str | None = None
    """A Weights & Biases project name to log to (``None``: off)."""
    progress: bool = True
    save_rollouts: bool = False
    """Write every step's rollouts (prompt and completion token ids, rewards) to
    ``RUN/rollouts.jsonl`` (e.g. to train a separate verifier on them:
    :func:`rlv.training.verifier_train.train_verifier`)."""

    def validate(self) -> None:
        _nonneg("train.steps", self.steps)
        _nonneg("train.save_every", self.save_every)
        _positive("train.keep_checkpoints", self.keep_checkpoints)
        if self.threads is not None:
            _positive("train.threads", self.threads)
        dev = self.device
        if not (dev in ("auto", "cpu", "cuda", "mps") or dev.startswith("cuda:")):
            raise ConfigError(f"train.device must be auto, cpu, cuda, cuda:N or mps, got {dev!r}")


@dataclass
class Config:
    """Everything ``rlv sft`` / ``rlv train`` / ``rlv demo`` need."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> Config:
        """Check every section; returns ``self``. Raises :class:`ConfigError`."""
        for f in dataclasses.fields(self):
            getattr(self, f.name).validate()
        return self


# ---------------------------------------------------------------------------------------------
# checks


def _positive(key: str, v: float) -> None:
    if not v > 0:
        raise ConfigError(f"{key} must be > 0, got {v!r}")


def _nonneg(key: str, v: float) -> None:
    if not v >= 0:
        raise ConfigError(f"{key} must be >= 0, got {v!r}")


# ---------------------------------------------------------------------------------------------
# dict <-> dataclass

T = TypeVar("T")


def _yaml_key(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("key", f.name))


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _convert(key: str, tp: Any, value: Any) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(key, a, value)
            except ConfigError as e:
                errors.append(e)
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise ConfigError(f"{key}: invalid value {value!r}; allowed: {_type_name(tp)}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        return from_dict(tp, value, prefix=f"{key}.")  # type: ignore[arg-type]
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # PyYAML (YAML 1.1) reads 1e-3 as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            raise ConfigError(
                f"{key}: expected a string, got the boolean {value!r} (YAML 1.1 reads "
                f'yes/no/on/off as booleans: quote the value, e.g. "No")'
            )
    else:  # pragma: no cover - a field type this loader does not know
        raise TypeError(f"{key}: unsupported config field type {tp!r}")
    raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")


def from_dict(cls: type[T], data: Mapping[str, Any], *, prefix: str = "") -> T:
    """Build the dataclass ``cls`` from a (YAML) mapping, checking keys and types.

    Missing keys keep their defaults. Values are not range-checked here (call
    ``.validate()``, as :func:`load_config` does).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {_yaml_key(f): f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for k, v in data.items():
        if k not in fields:
            close = difflib.get_close_matches(str(k), list(fields), n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            raise ConfigError(
                f"unknown config key {prefix}{k}{hint}; allowed in "
                f"{prefix.rstrip('.') or 'the top level'}: {', '.join(fields)}"
            )
        f = fields[k]
        kwargs[f.name] = _convert(f"{prefix}{k}", hints[f.name], v)
    return cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """The YAML-ready mapping of a config dataclass (YAML key names)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        out[_yaml_key(f)] = to_dict(v) if dataclasses.is_dataclass(v) else v
    return out


def to_yaml(cfg: Config) -> str:
    """The full configuration as YAML, every key with its value (``rlv config``,
    ``rlv train --print-config``); :func:`load_config` of this text gives ``cfg`` back."""
    import yaml

    data = to_dict(cfg)
    text = str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    if yaml.safe_load(text) != data:
        # Unicode line breaks (U+0085, U+2028, ...) written raw are folded by a YAML reader;
        # escaped (ASCII-only output) every string reads back exactly.
        text = str(yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=100))
    return text


_YAML11_BOOL_WORDS = {"yes", "no", "on", "off", "y", "n"}


def _parse_value(text: str) -> Any:
    """A --set value as YAML, except that yes/no/on/off stay strings (``verify.no_label=No``).

    Text that is not valid YAML (``{prompt}: x``, an unbalanced quote) is taken verbatim as a
    string: for a string key that is the text the user typed, and for any other key the type
    check of :func:`from_dict` reports it (``expected int, got '...'``)."""
    import yaml

    if text.strip().lower() in _YAML11_BOOL_WORDS:
        return text.strip()

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (values parsed as YAML scalars) to a mapping."""
    out: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE (e.g. rl.algo=rloo), got {item!r}")
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {key}: {p} is not a section")
            node = child
        node[parts[-1]] = _parse_value(raw)
    return out


def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    *,
    base: Mapping[str, Any] | None = None,
) -> Config:
    """Load and validate a :class:`Config`.

    Args:
        path: a YAML file (``None``: defaults only).
        overrides: ``section.key=value`` strings applied after the file.
        base: a mapping applied before the file (presets, e.g. the demo's).

    Raises:
        ConfigError: unknown keys, wrong types, invalid values, unreadable YAML.
        FileNotFoundError: ``path`` does not exist.
    """
    data: dict[str, Any] = {}
    if base:
        data = apply_overrides({}, [])
        data.update({k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()})
    if path is not None:
        import yaml

        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"config file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML: {e}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, Mapping):
            raise ConfigError(f"{p}: the top level must be a mapping of sections")
        for k, v in loaded.items():
            if isinstance(v, Mapping) and isinstance(data.get(k), dict):
                data[k] = {**data[k], **v}
            else:
                data[k] = v
    data = apply_overrides(data, overrides)
    return from_dict(Config, data).validate()
