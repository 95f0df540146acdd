"""Set-up shared by ``rlv train``, ``rlv sft``, ``rlv sample`` and ``rlv demo``: device,
seeding, the model, the problems, the verifier, the generation backend and its sampling
parameters, the prompt sampler and the learning-rate schedule.

Importing this module imports torch; ``import rlv`` does not import it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'rlv.training needs PyTorch and transformers: pip install "rlv[train]"'
    ) from exc

from rlv.exceptions import ConfigError
from rlv.generation import SamplingParams, VLLMBackend, make_backend
from rlv.tasks import ArithmeticTask, Problem
from rlv.training.config import Config
from rlv.verifier import Template, Verifier

__all__ = [
    "PromptSampler",
    "RunSetup",
    "autocast",
    "build_model",
    "build_verifier",
    "check_problems",
    "close_backend",
    "load_problems",
    "lr_schedule",
    "micro_batches",
    "make_generation_backend",
    "resolve_device",
    "sampling_params",
    "seed_everything",
    "set_up",
]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device is {name!r} but CUDA is not available")
    return dev


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - the global RNG, for user code
    torch.manual_seed(seed)


def build_model(cfg: Config, device: torch.device | None = None) -> tuple[Any, Any]:
    """The model and tokenizer of ``cfg.model``: a local HF directory, or the tiny Qwen2."""
    from rlv import models

    m = cfg.model
    model: Any
    tok: Any
    if m.path is not None:
        model, tok = models.load(m.path)
    else:
        model, tok = models.tiny(
            hidden_size=m.hidden_size,
            num_layers=m.num_layers,
            num_heads=m.num_heads,
            head_dim=m.head_dim,
            intermediate_size=m.intermediate_size,
            max_position_embeddings=m.max_position_embeddings,
            seed=m.init_seed,
        )
    if device is not None:
        model.to(device)
    return model, tok


def arithmetic_task(cfg: Config) -> ArithmeticTask:
    """The built-in arithmetic task configured by ``cfg.data``."""
    d = cfg.data
    return ArithmeticTask(
        min_steps=d.min_steps,
        max_steps=d.max_steps,
        max_operand=d.max_operand,
        error_rate=d.error_rate,
        systematic_rate=d.systematic_rate,
        hard_digit=d.hard_digit,
        style=d.style,
    )


def load_problems(cfg: Config, split: str) -> list[Problem]:
    """Problems of ``split`` (``"train"`` or ``"eval"``) for ``cfg.data``.

    Raises :class:`rlv.exceptions.DataError` (file, line, field) for bad rows and
    :class:`ConfigError` when a split has no problems.
    """
    from rlv import tasks

    d = cfg.data
    if d.task == "arithmetic":
        n = d.train_size if split == "train" else d.eval_size
        probs = arithmetic_task(cfg).sample(
            n, seed=d.seed, split="train" if split == "train" else d.eval_split
        )
    else:
        path = d.path if split == "train" else d.eval_path
        if path is None:
            return []
        probs = tasks.load_problems_file(
            path,
            prompt_field=d.prompt_field,
            gold_field=d.gold_field,
            id_field=d.id_field,
        )
    if d.prompt_template != "{prompt}":
        probs = [
            dataclasses.replace(p, prompt=d.prompt_template.format(prompt=p.prompt)) for p in probs
        ]
    if split == "train" and not probs:
        raise ConfigError("the training data has no problems")
    return probs


class PromptSampler:
    """Shuffled passes over ``n`` problems; its state (epoch, position) is checkpointed."""

    def __init__(self, n: int, seed: int) -> None:
        if n < 1:
            raise ValueError("no problems to sample from")
        self.n, self.seed, self.epoch, self.pos = n, seed, 0, 0

    def _perm(self) -> npt.NDArray[np.int64]:
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.n)

    def next(self, k: int) -> list[int]:
        out: list[int] = []
        while len(out) < k:
            perm = self._perm()
            take = min(k - len(out), self.n - self.pos)
            out.extend(int(i) for i in perm[self.pos : self.pos + take])
            self.pos += take
            if self.pos == self.n:
                self.epoch, self.pos = self.epoch + 1, 0
        return out

    def state_dict(self) -> dict[str, int]:
        return {"n": self.n, "seed": self.seed, "epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, s: dict[str, int]) -> None:
        if s["n"] != self.n:
            raise ValueError(f"checkpoint was made with {s['n']} problems, this run has {self.n}")
        self.seed, self.epoch, self.pos = s["seed"], s["epoch"], s["pos"]


def lr_schedule(warmup: int, total: int, kind: str) -> Callable[[int], float]:
    """Multiplier of the base learning rate after ``i`` optimizer steps."""

    def f(i: int) -> float:
        if warmup > 0 and i < warmup:
            return (i + 1) / warmup
        if kind == "constant" or total <= warmup:
            return 1.0
        frac = min(1.0, (i - warmup) / max(1, total - warmup))
        if kind == "linear":
            return 1.0 - frac
        return 0.5 * (1.0 + math.cos(math.pi * frac))

    return f


def make_generation_backend(
    cfg: Config,
    model: Any,
    tokenizer: Any,
    *,
    name: str | None = None,
    model_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """The generation backend of ``cfg.generation`` (or ``name``). With ``model_dir`` the
    vLLM engine loads that directory's weights itself instead of receiving ``model``'s."""
    gen = cfg.generation
    name = name or gen.backend
    if name != "vllm":
        return make_backend(name, model, tokenizer, batch_size=gen.batch_size)
    opts: dict[str, Any] = {
        "dtype": gen.vllm_dtype,
        "max_model_len": gen.vllm_max_model_len or None,
        "gpu_memory_utilization": gen.vllm_gpu_memory_utilization,
        "block_size": gen.vllm_block_size,
        "seed": cfg.train.seed,
    }
    if model_dir is not None:
        return VLLMBackend.from_pretrained(model_dir, tokenizer, **opts)
    return make_backend(name, model, tokenizer, **opts)


def close_backend(backend: Any) -> None:
    """Free a backend's engine (vLLM); a no-op for backends without one."""
    close = getattr(backend, "close", None)
    if callable(close):
        close()


def sampling_params(cfg: Config, verifier: Verifier, *, n: int) -> SamplingParams:
    """``n`` samples per prompt as ``cfg.generation`` says (the label tokens suppressed when
    ``generation.suppress_label_tokens``)."""
    gen = cfg.generation
    return SamplingParams(
        n=n,
        temperature=gen.temperature,
        top_p=gen.top_p,
        max_new_tokens=gen.max_new_tokens,
        suppress_token_ids=(verifier.yes_id, verifier.no_id) if gen.suppress_label_tokens else (),
    )


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on ``device`` when ``bf16``, else a no-op context."""
    if bf16:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def check_problems(problems: Sequence[Problem]) -> None:
    """Raise :class:`ConfigError` for a problem without a prompt or a gold answer."""
    for p in problems:
        if not p.prompt:
            raise ConfigError(f"problem {p.id}: empty prompt")
        if not p.gold:
            raise ConfigError(f"problem {p.id}: missing gold answer")


def build_verifier(cfg: Config, tokenizer: Any) -> Verifier:
    """The verifier of ``cfg.verify`` (template and label strings) for ``tokenizer``."""
    v = cfg.verify
    return Verifier(tokenizer, Template.from_name(v.template, yes=v.yes_label, no=v.no_label))


@dataclass
class RunSetup:
    """What ``train`` and ``sft`` set up the same way, before anything is written."""

    device: torch.device
    bf16: bool
    problems: list[Problem]
    model: Any
    tokenizer: Any
    verifier: Verifier


def set_up(
    cfg: Config,
    model: Any,
    tokenizer: Any,
    problems: Sequence[Problem] | None,
    *,
    model_dir: Path | None = None,
) -> RunSetup:
    """Validate, seed, load and check the problems, then the model (``model_dir``: load it
    from there instead; else the given model, else ``cfg.model``) and its verifier."""
    cfg.validate()
    tc = cfg.train
    device = resolve_device(tc.device)
    if tc.threads is not None:
        torch.set_num_threads(tc.threads)
    bf16 = device.type == "cuda" if tc.bf16 is None else tc.bf16
    seed_everything(tc.seed)
    probs = list(problems) if problems is not None else load_problems(cfg, "train")
    check_problems(probs)
    if model_dir is not None:
        from rlv import models

        model, tokenizer = models.load(model_dir)
        model.to(device)
    elif model is None:
        model, tokenizer = build_model(cfg, device)
    elif tokenizer is None:
        raise ValueError("pass the tokenizer with the model")
    else:
        model.to(device)
    return RunSetup(device, bf16, probs, model, tokenizer, build_verifier(cfg, tokenizer))


def micro_batches(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Split rows into micro-batches of at most ``budget`` padded tokens (rows x longest).

    Rows are taken longest first (so padding is small); a row longer than the budget forms a
    micro-batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    out: list[list[int]] = []
    cur: list[int] = []
    cur_max = 0
    for i in order:
        new_max = max(cur_max, lengths[i])
        if cur and new_max * (len(cur) + 1) > budget:
            out.append(cur)
            cur, new_max = [], lengths[i]
        cur.append(i)
        cur_max = new_max
    if cur:
        out.append(cur)
    return out
