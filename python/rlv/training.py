"""RL^V training: one model trained as reasoner (value-free RL) and generative verifier.

The loop (:func:`train`) per step:

1. draw ``rl.prompts_per_step`` problems; sample ``rl.group_size`` completions each;
2. rewards with :func:`rlv.grade_batch` (strict extraction by default); advantages with the
   Rust estimators (GRPO, Dr. GRPO = GRPO without std scaling, RLOO);
3. one forward pass per micro-batch over ``prompt + completion + verification suffix``
   (:mod:`rlv.verifier`): the completion logits give the PPO-clipped policy loss, the last
   position's logits the Yes/No verification loss on the same rollouts;
   ``loss = L_RL + verify.lambda * L_verify (+ rl.kl_coef * KL)``; ``lambda = 0`` is the base
   method on the same code path;
4. AdamW step (gradient clipping; gradients accumulated over micro-batches, whose size is set
   by a token budget and does not change the update);
5. metrics (verifier AUC/Brier/accuracy are measured on this batch *before* the update) to
   ``metrics.jsonl`` (and TensorBoard / W&B when asked), checkpoints every
   ``train.save_every`` steps (:mod:`rlv.checkpoint`).

:func:`sft` is the supervised warm start (``rlv sft``). Torch and transformers are imported
by this module; ``import rlv`` does not import it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import time
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

import rlv
from rlv import advantages as adv_mod
from rlv import checkpoint as ckpt
from rlv.config import Config, ConfigError, to_dict
from rlv.generation import Completion, SamplingParams, VLLMBackend, make_backend
from rlv.losses import aggregate, entropy_from_logits, kl_penalty, policy_loss, verification_loss
from rlv.tasks import Problem
from rlv.verifier import PackedBatch, Template, Verifier, auc, brier, forward_window

__all__ = [
    "PromptSampler",
    "Rollouts",
    "TrainResult",
    "build_model",
    "collect_rollouts",
    "load_problems",
    "micro_batches",
    "rlv_loss",
    "sft",
    "token_logprobs",
    "train",
]


# ---------------------------------------------------------------------------------------------
# set-up


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


def load_problems(cfg: Config, split: str) -> list[Problem]:
    """Problems of ``split`` (``"train"`` or ``"eval"``) for ``cfg.data``.

    Raises :class:`rlv.tasks.DataError` (file, line, field) for bad rows and
    :class:`ConfigError` when a split has no problems.
    """
    from rlv import tasks

    d = cfg.data
    if d.task == "arithmetic":
        task = tasks.ArithmeticTask(
            min_steps=d.min_steps,
            max_steps=d.max_steps,
            max_operand=d.max_operand,
            error_rate=d.error_rate,
            style=d.style,
        )
        n = d.train_size if split == "train" else d.eval_size
        probs = task.sample(n, seed=d.seed, split="train" if split == "train" else "test")
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


# ---------------------------------------------------------------------------------------------
# rollouts


@dataclass
class Rollouts:
    """One step's samples, flattened (sample ``i`` belongs to prompt ``i // group_size``)."""

    problems: list[Problem]
    prompt_ids: list[list[int]]
    completions: list[Completion]
    rewards: npt.NDArray[np.float32]
    advantages: npt.NDArray[np.float32]
    adv_stats: dict[str, float]

    @property
    def completion_ids(self) -> list[list[int]]:
        return [c.token_ids for c in self.completions]


def collect_rollouts(
    backend: Any,
    verifier: Verifier,
    problems: Sequence[Problem],
    cfg: Config,
    prompt_cache: dict[str, list[int]] | None = None,
) -> Rollouts:
    """Sample ``rl.group_size`` completions per problem, grade them, compute advantages."""
    g = cfg.rl.group_size
    cache = prompt_cache if prompt_cache is not None else {}
    p_ids = []
    for p in problems:
        if p.prompt not in cache:
            cache[p.prompt] = verifier.prompt_ids(p.prompt)
        p_ids.append(cache[p.prompt])
    params = sampling_params(cfg, verifier, n=g)
    groups = backend.generate(p_ids, params)
    comps = [c for grp in groups for c in grp]
    golds = [p.gold for p in problems for _ in range(g)]
    rewards, _ = rlv.grade_batch([c.text for c in comps], golds, mode=cfg.rl.reward_mode)
    algo = cfg.rl.algo
    if algo == "rloo":
        adv, stats = adv_mod.rloo(rewards, sizes=g, return_stats=True)
    else:
        adv, stats = adv_mod.grpo(
            rewards, sizes=g, scale=cfg.rl.resolved_scale, eps=cfg.rl.eps, return_stats=True
        )
    return Rollouts(
        problems=list(problems),
        prompt_ids=[p_ids[i // g] for i in range(len(comps))],
        completions=comps,
        rewards=rewards,
        advantages=np.asarray(adv, dtype=np.float32),
        adv_stats=stats.as_metrics(),
    )


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
    gen = cfg.generation
    return SamplingParams(
        n=n,
        temperature=gen.temperature,
        top_p=gen.top_p,
        max_new_tokens=gen.max_new_tokens,
        suppress_token_ids=(verifier.yes_id, verifier.no_id) if gen.suppress_label_tokens else (),
    )


# ---------------------------------------------------------------------------------------------
# losses


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


def token_logprobs(
    logits: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """``log softmax(logits / temperature)[targets]``: ``(B, C, V), (B, C) -> (B, C)``."""
    z = logits.float()
    if temperature not in (0.0, 1.0):
        z = z / temperature
    return z.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(z, dim=-1)


@dataclass(frozen=True)
class LossNorms:
    """Normalisers of one optimizer step (so micro-batching does not change the loss)."""

    num_tokens: float
    num_seqs: float
    norm_len: float
    verify_weight_total: float
    pos_weight: float | None


def verify_norms(
    labels: npt.NDArray[np.bool_], valid: npt.NDArray[np.bool_], balance: bool
) -> tuple[float, float | None]:
    """``(sum of example weights, pos_weight)`` for the verification loss over one update."""
    n_pos = float((labels & valid).sum())
    n_neg = float((~labels & valid).sum())
    if balance and n_pos > 0 and n_neg > 0:
        pw = n_neg / n_pos
        return pw * n_pos + n_neg, pw
    return n_pos + n_neg, None


def rlv_loss(
    logits: torch.Tensor,
    batch: PackedBatch,
    *,
    advantages: torch.Tensor,
    labels: torch.Tensor,
    valid: torch.Tensor,
    cfg: Config,
    verifier: Verifier,
    norms: LossNorms,
    old_logprobs: torch.Tensor | None = None,
    ref_logprobs: torch.Tensor | None = None,
    behaviour_logprobs: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    """``L_RL + lambda * L_verify (+ kl_coef * KL)`` for one micro-batch.

    ``behaviour_logprobs`` (optional, right-aligned like the completions): the generation
    backend's log-probs of the sampled tokens; their largest difference from this forward
    pass is reported as ``gen/logprob_max_abs_diff`` (pass them only while the weights are
    the ones that generated: a check that the backend samples from the trained policy).

    ``logits`` are the window :meth:`PackedBatch.logits_to_keep` of the forward pass. The
    policy and KL terms use the step's global normalisers, and the verification term is scaled
    by this micro-batch's share of the step's example weights, so summing the returned losses
    over micro-batches gives the loss of the whole batch. With ``lambda = 0`` the verification
    term is not added at all (the loss is exactly the RL loss); its metrics are still reported.

    Returns ``(loss, metrics, label_logits.detach())``.
    """
    rl = cfg.rl
    temp = cfg.generation.temperature or 1.0
    comp_logits = batch.completion_logits(logits)
    logp = token_logprobs(comp_logits, batch.completion_ids, temp)
    mask = batch.completion_mask
    old = logp.detach() if old_logprobs is None else old_logprobs
    pg, metrics = policy_loss(
        logp,
        old,
        advantages,
        mask,
        clip_low=rl.clip_low,
        clip_high=rl.clip_high,
        clip_ratio_c=rl.clip_ratio_c,
        agg=rl.resolved_agg,
        num_tokens=norms.num_tokens,
        num_seqs=norms.num_seqs,
        norm_len=norms.norm_len,
    )
    loss = pg
    if ref_logprobs is not None and rl.kl_coef > 0:
        kl = aggregate(
            kl_penalty(logp, ref_logprobs, kind=rl.kl_kind),
            mask,
            rl.resolved_agg,
            num_tokens=norms.num_tokens,
            num_seqs=norms.num_seqs,
            norm_len=norms.norm_len,
        )
        loss = loss + rl.kl_coef * kl
        metrics["loss/kl"] = kl.detach()
    z = batch.label_logits(logits)
    keep = valid.nonzero().squeeze(-1)
    ver, vmetrics = verification_loss(
        z[keep],
        labels[keep],
        yes_id=verifier.yes_id,
        no_id=verifier.no_id,
        mode=cfg.verify.mode,
        pos_weight=norms.pos_weight,
    )
    lab = labels[keep]
    w_mb = (
        float(keep.numel())
        if norms.pos_weight is None
        else float(norms.pos_weight * lab.sum().item() + (~lab).sum().item())
    )
    share = w_mb / norms.verify_weight_total if norms.verify_weight_total > 0 else 0.0
    ver_scaled = ver * share
    if cfg.verify.lam > 0:
        loss = loss + cfg.verify.lam * ver_scaled
    metrics["loss/policy"] = pg.detach()
    metrics["loss/verify"] = ver_scaled.detach()
    if behaviour_logprobs is not None:
        metrics["gen/logprob_max_abs_diff"] = _behaviour_gap(
            logp, comp_logits, batch, behaviour_logprobs, cfg, verifier
        )
    with torch.no_grad():
        ent = entropy_from_logits(comp_logits.detach().float())
        metrics["policy/entropy_sum"] = (ent * mask).sum()
    metrics.update({k: v for k, v in vmetrics.items() if k.startswith("verifier/")})
    return loss, metrics, z.detach()


def _behaviour_gap(
    logp: torch.Tensor,
    comp_logits: torch.Tensor,
    batch: PackedBatch,
    behaviour: torch.Tensor,
    cfg: Config,
    verifier: Verifier,
) -> torch.Tensor:
    """Largest ``|log pi(token) - backend log-prob|`` over the completion tokens, with ``pi``
    the distribution the backend sampled from: the policy's ``logp`` (already at the
    sampling temperature), or, when the label tokens were suppressed in sampling, the same
    recomputed without them."""
    with torch.no_grad():
        lp = logp.detach()
        if cfg.generation.suppress_label_tokens:
            z = comp_logits.detach().float().clone()
            z[..., [verifier.yes_id, verifier.no_id]] = -math.inf
            lp = token_logprobs(z, batch.completion_ids, cfg.generation.temperature or 1.0)
        d = torch.where(batch.completion_mask, (lp - behaviour).abs(), 0.0)
        return d.max() if d.numel() else d.new_zeros(())


def _yes_no_logits(z: torch.Tensor, verifier: Verifier) -> torch.Tensor:
    """``(B, 2)`` float32 CPU logits of the Yes and No tokens from ``(B, V)`` label logits."""
    return z[:, [verifier.yes_id, verifier.no_id]].float().cpu()


def _unpad_rows(
    x: torch.Tensor, idx: Sequence[int], comp_ids: Sequence[Sequence[int]], out: list[torch.Tensor]
) -> None:
    """Store row ``j`` of the right-aligned ``(B, C)`` ``x`` as ``out[idx[j]]`` (CPU, length of
    that sample's completion): the inverse of :func:`_right_aligned`."""
    for j, i in enumerate(idx):
        out[i] = x[j, x.shape[1] - len(comp_ids[i]) :].cpu()


def _right_aligned(rows: Sequence[torch.Tensor], width: int, device: Any) -> torch.Tensor:
    out = torch.zeros((len(rows), width), dtype=torch.float32, device=device)
    for i, r in enumerate(rows):
        if r.numel():
            out[i, width - r.numel() :] = r.to(device)
    return out


# ---------------------------------------------------------------------------------------------
# logging


class MetricsLogger:
    """``metrics.jsonl`` (one object per step), and TensorBoard / W&B when asked for."""

    def __init__(self, run_dir: Path, cfg: Config, *, resume_step: int = 0) -> None:
        self.path = run_dir / "metrics.jsonl"
        if resume_step and self.path.exists():
            kept = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resume_step
            ]
            self.path.write_text("".join(k + "\n" for k in kept))
        elif not resume_step:
            self.path.write_text("")
        self._f = self.path.open("a")
        self._tb: Any = None
        self._wandb: Any = None
        if cfg.train.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(run_dir / "tensorboard"))
        if cfg.train.wandb:
            import wandb

            self._wandb = wandb.init(
                project=cfg.train.wandb, config=to_dict(cfg), dir=str(run_dir), resume="allow"
            )

    def log(self, step: int, metrics: dict[str, float]) -> None:
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in metrics.items()
        }
        self._f.write(json.dumps({"step": step, **clean}) + "\n")
        self._f.flush()
        if self._tb is not None:
            for k, v in metrics.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self._tb.add_scalar(k, v, step)
        if self._wandb is not None:
            self._wandb.log(dict(metrics), step=step)

    def close(self) -> None:
        self._f.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def check_logging_available(cfg: Config) -> None:
    """Fail before any work if TensorBoard / W&B is asked for but not installed."""
    import importlib.util

    if cfg.train.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("train.tensorboard is on but tensorboard is not installed")
    if cfg.train.wandb and importlib.util.find_spec("wandb") is None:
        raise ConfigError("train.wandb is set but wandb is not installed: pip install wandb")


# ---------------------------------------------------------------------------------------------
# the RL^V loop

_NOT_AVERAGED = ("policy/n_tokens", "policy/ratio_max", "policy/ratio_min")
_MAXED = ("gen/logprob_max_abs_diff",)


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path | None
    """The final checkpoint (``None`` when no step ran)."""
    history: list[dict[str, float]]
    """Metrics of the steps run by this call."""
    model: Any
    tokenizer: Any


def _autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager[Any]:
    if bf16:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _check_run(cfg: Config, problems: Sequence[Problem]) -> None:
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
class _Run:
    """What ``train`` and ``sft`` set up the same way, before anything is written."""

    device: torch.device
    bf16: bool
    problems: list[Problem]
    model: Any
    tokenizer: Any
    verifier: Verifier


def _set_up(
    cfg: Config,
    model: Any,
    tokenizer: Any,
    problems: Sequence[Problem] | None,
    *,
    model_dir: Path | None = None,
) -> _Run:
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
    _check_run(cfg, probs)
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
    return _Run(device, bf16, probs, model, tokenizer, build_verifier(cfg, tokenizer))


def train(
    cfg: Config,
    *,
    resume: bool = False,
    overwrite: bool = False,
    model: Any = None,
    tokenizer: Any = None,
    problems: Sequence[Problem] | None = None,
) -> TrainResult:
    """Run RL^V training as configured (see the module docstring).

    Args:
        cfg: a validated :class:`Config`.
        resume: continue from the newest checkpoint of ``cfg.train.run_dir`` (its model,
            optimizer, scheduler, RNG and data position), up to ``cfg.train.steps``.
        overwrite: the run directory may hold another training run: delete its outputs
            (checkpoints, metrics, config) and start clean. Without ``resume`` or
            ``overwrite`` such a directory is refused (:class:`rlv.checkpoint.RunDirError`).
        model, tokenizer: use these instead of building ``cfg.model`` (tests, notebooks).
        problems: use these instead of loading ``cfg.data``.

    Everything that can be checked (config, data, tokenizer labels, logging backends, the
    run directory's state) is checked before the run directory is touched. The run is marked
    incomplete in ``RUN/run.json`` until its last step is saved.
    """
    cfg.validate()
    check_logging_available(cfg)
    tc = cfg.train
    run_dir = Path(tc.run_dir)
    ckpt_dir = run_dir / "checkpoints"
    ckpt.check_run_dir(run_dir, "train", resume=resume, overwrite=overwrite)
    last: Path | None = None
    if resume:  # the checkpoint's model replaces any other
        last = ckpt.latest_checkpoint(ckpt_dir)
        if last is None:
            raise ckpt.RunDirError(
                f"--resume: no complete checkpoint under {ckpt_dir} (the run stopped before "
                f"its first save); start it again with --overwrite"
            )
    run = _set_up(cfg, model, tokenizer, problems, model_dir=last)
    device, bf16, probs = run.device, run.bf16, run.problems
    model, tokenizer, verifier = run.model, run.tokenizer, run.verifier
    start = 0
    state: dict[str, Any] | None = None
    if last is not None:
        state = json.loads((last / "state.json").read_text())
        start = int(state["step"])

    model.train()
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=cfg.optim.lr,
        betas=(cfg.optim.beta1, cfg.optim.beta2),
        weight_decay=cfg.optim.weight_decay,
    )
    n_updates = cfg.rl.ppo_epochs * cfg.rl.minibatches
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_schedule(cfg.optim.warmup_steps, tc.steps * n_updates, cfg.optim.schedule)
    )
    sampler = PromptSampler(len(probs), tc.seed)
    ref_model = None
    if cfg.rl.kl_coef > 0:
        import copy

        ref_model = copy.deepcopy(model).eval()
        for p in ref_model.parameters():
            p.requires_grad_(False)
    if last is not None:
        assert state is not None
        ts = torch.load(last / "trainer_state.pt", weights_only=False, map_location=device)
        opt.load_state_dict(ts["optimizer"])
        sched.load_state_dict(ts["scheduler"])
        sampler.load_state_dict(state["sampler"])
        ckpt.load_rng_state(ts["rng"])
        if ref_model is not None and "ref_model" in ts:
            ref_model.load_state_dict(ts["ref_model"])

    # Before anything is written: an unavailable backend fails here.
    backend = make_generation_backend(cfg, model, tokenizer)
    try:
        ckpt.claim_run_dir(run_dir, "train", resume=resume, overwrite=overwrite)
    except BaseException:
        close_backend(backend)
        raise
    (run_dir / "config.json").write_text(json.dumps(to_dict(cfg), indent=2) + "\n")
    logger = MetricsLogger(run_dir, cfg, resume_step=start)
    prompt_cache: dict[str, list[int]] = {}
    history: list[dict[str, float]] = []
    final: Path | None = None

    def save(step: int) -> Path:
        ts: dict[str, Any] = {
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "rng": ckpt.rng_state(),
        }
        if ref_model is not None:
            ts["ref_model"] = ref_model.state_dict()
        return ckpt.save(
            ckpt_dir,
            step,
            model=model,
            tokenizer=tokenizer,
            trainer_state=ts,
            state={"sampler": sampler.state_dict(), "config": to_dict(cfg)},
            keep=tc.keep_checkpoints,
        )

    bar = None
    if tc.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=tc.steps, initial=start, desc="RL^V", unit="step", dynamic_ncols=True)
    try:
        for step in range(start, tc.steps):
            m = train_step(
                cfg, model, ref_model, verifier, backend, opt, sched, sampler, probs,
                prompt_cache, device=device, bf16=bf16,
            )  # fmt: skip
            backend.sync_weights(model)
            history.append(m)
            logger.log(step + 1, m)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(
                    reward=f"{m['reward/mean']:.3f}",
                    v_auc=f"{m['verifier/auc']:.3f}",
                    loss=f"{m['loss/total']:.3f}",
                    refresh=False,
                )
            done = step + 1
            if done == tc.steps or (tc.save_every and done % tc.save_every == 0):
                final = save(done)
    finally:
        if bar is not None:
            bar.close()
        logger.close()
        close_backend(backend)
    if final is None and start == tc.steps:
        final = ckpt.latest_checkpoint(ckpt_dir)
    ckpt.finish_run(
        run_dir, "train", steps=tc.steps, checkpoint=None if final is None else final.name
    )
    return TrainResult(run_dir, final, history, model, tokenizer)


def train_step(
    cfg: Config,
    model: Any,
    ref_model: Any,
    verifier: Verifier,
    backend: Any,
    opt: torch.optim.Optimizer,
    sched: Any,
    sampler: PromptSampler,
    problems: Sequence[Problem],
    prompt_cache: dict[str, list[int]],
    *,
    device: torch.device,
    bf16: bool,
) -> dict[str, float]:
    """One RL^V step: rollouts, losses, update(s). Returns the step's metrics."""
    rl = cfg.rl
    t0 = time.perf_counter()
    batch = [problems[i] for i in sampler.next(rl.prompts_per_step)]
    roll = collect_rollouts(backend, verifier, batch, cfg, prompt_cache)
    t_gen = time.perf_counter() - t0

    n = len(roll.completions)
    rewards = roll.rewards
    valid = ~np.isnan(rewards)
    labels = np.where(valid, rewards > 0.5, False)
    comp_ids = roll.completion_ids
    suffix = len(verifier.suffix_ids)
    lengths = [len(p) + len(c) + suffix for p, c in zip(roll.prompt_ids, comp_ids, strict=True)]
    adv_t = torch.from_numpy(roll.advantages).to(device)
    lab_t = torch.from_numpy(labels).to(device)
    val_t = torch.from_numpy(valid).to(device)

    def packed(idx: Sequence[int]) -> PackedBatch:
        return verifier.pack(
            [roll.prompt_ids[i] for i in idx], [comp_ids[i] for i in idx], device=device
        )

    n_updates = rl.ppo_epochs * rl.minibatches
    old_lp: list[torch.Tensor] | None = None
    ref_lp: list[torch.Tensor] | None = None
    pre_z = torch.zeros((n, 2), dtype=torch.float32)  # (z_yes, z_no, pre-update) per sample
    maxed: dict[str, float] = {}
    gap = "gen/logprob_max_abs_diff"

    def behaviour(idx: Sequence[int], width: int) -> torch.Tensor:
        rows = [torch.tensor(roll.completions[i].logprobs) for i in idx]
        return _right_aligned(rows, width, device)

    temp = cfg.generation.temperature or 1.0
    if n_updates > 1 or ref_model is not None:
        old_lp = [torch.empty(0)] * n
        ref_lp = [torch.empty(0)] * n if ref_model is not None else None
        with torch.no_grad():
            for idx in micro_batches(lengths, cfg.optim.token_budget):
                b = packed(idx)
                with _autocast(device, bf16):
                    logits = forward_window(model, b)
                lp = token_logprobs(b.completion_logits(logits), b.completion_ids, temp)
                _unpad_rows(lp, idx, comp_ids, old_lp)
                gen_lp = behaviour(idx, b.completion_ids.shape[1])
                g_mb = _behaviour_gap(lp, b.completion_logits(logits), b, gen_lp, cfg, verifier)
                maxed[gap] = max(maxed.get(gap, 0.0), float(g_mb))
                pre_z[idx] = _yes_no_logits(b.label_logits(logits), verifier)
                if ref_model is not None and ref_lp is not None:
                    with _autocast(device, bf16):
                        rlogits = forward_window(ref_model, b)
                    rlp = token_logprobs(b.completion_logits(rlogits), b.completion_ids, temp)
                    _unpad_rows(rlp, idx, comp_ids, ref_lp)

    # minibatches: contiguous groups of prompts (a group's samples stay together)
    g = rl.group_size
    prompt_chunks = np.array_split(np.arange(len(batch)), rl.minibatches)
    mbs = [[i for p in chunk for i in range(p * g, (p + 1) * g)] for chunk in prompt_chunks]
    sums: dict[str, float] = {}
    grad_norms = []
    t1 = time.perf_counter()
    for epoch in range(rl.ppo_epochs):
        for mb_i, mb in enumerate(mbs):
            mb_len = [lengths[i] for i in mb]
            n_tok = float(sum(len(comp_ids[i]) for i in mb))
            v_total, pw = verify_norms(labels[mb], valid[mb], cfg.verify.balance)
            norms = LossNorms(
                num_tokens=n_tok,
                num_seqs=float(len(mb)),
                norm_len=float(cfg.generation.max_new_tokens),
                verify_weight_total=v_total,
                pos_weight=pw,
            )
            opt.zero_grad(set_to_none=True)
            for local in micro_batches(mb_len, cfg.optim.token_budget):
                idx = [mb[j] for j in local]
                b = packed(idx)
                width = b.completion_ids.shape[1]
                old = (
                    None
                    if old_lp is None
                    else _right_aligned([old_lp[i] for i in idx], width, device)
                )
                ref = (
                    None
                    if ref_lp is None
                    else _right_aligned([ref_lp[i] for i in idx], width, device)
                )
                # Before the first update, this pass sees the weights that generated.
                beh = None
                if old_lp is None and epoch == 0 and mb_i == 0:
                    beh = behaviour(idx, width)
                with _autocast(device, bf16):
                    logits = forward_window(model, b)
                loss, m, z = rlv_loss(
                    logits, b,
                    advantages=adv_t[idx], labels=lab_t[idx], valid=val_t[idx],
                    cfg=cfg, verifier=verifier, norms=norms,
                    old_logprobs=old, ref_logprobs=ref, behaviour_logprobs=beh,
                )  # fmt: skip
                loss.backward()
                if old_lp is None and epoch == 0:
                    pre_z[idx] = _yes_no_logits(z, verifier)
                ntok = float(b.completion_mask.sum().item())
                for k, v in m.items():
                    if k in _MAXED:
                        maxed[k] = max(maxed.get(k, 0.0), float(v.item()))
                        continue
                    if k.startswith("verifier/") or k in _NOT_AVERAGED:
                        continue  # verifier metrics come from the pre-update scores below
                    # loss terms are globally normalised already; policy stats are token means
                    scale = ntok if k.startswith("policy/") and k != "policy/entropy_sum" else 1.0
                    sums[k] = sums.get(k, 0.0) + float(v.item()) * scale
                sums["loss/total"] = sums.get("loss/total", 0.0) + float(loss.item())
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            grad_norms.append(float(gn))
            opt.step()
            sched.step()
    t_train = time.perf_counter() - t1

    # metrics
    total_tok = float(sum(len(c) for c in comp_ids)) * rl.ppo_epochs
    out: dict[str, float] = {}
    for k, total in sums.items():
        if k.startswith("loss/"):
            out[k] = total / n_updates  # mean over the updates of the step
        elif k == "policy/entropy_sum":
            out["policy/entropy"] = total / max(total_tok, 1.0)
        else:
            out[k] = total / max(total_tok, 1.0)
    zy, zn = pre_z[:, 0].numpy(), pre_z[:, 1].numpy()
    p_norm = 1.0 / (1.0 + np.exp(-(zy - zn).astype(np.float64)))
    sv, lv = p_norm[valid], labels[valid]
    lens = np.array([len(c) for c in comp_ids], dtype=np.float64)
    finished = np.array([c.finished for c in roll.completions])
    grouped = np.where(valid, rewards, 0.0).reshape(len(batch), g)
    dt = time.perf_counter() - t0
    out.update(
        {
            "reward/mean": float(np.nanmean(rewards)) if valid.any() else math.nan,
            "reward/pass_at_group": float((grouped > 0.5).any(axis=1).mean()),
            "reward/unscorable": float((~valid).mean()),
            "verifier/auc": auc(sv, lv),
            "verifier/brier": brier(sv, lv),
            "verifier/accuracy": float(((sv > 0.5) == lv).mean()) if sv.size else math.nan,
            "verifier/p_yes_pos": float(sv[lv].mean()) if lv.any() else math.nan,
            "verifier/p_yes_neg": float(sv[~lv].mean()) if (~lv).any() else math.nan,
            "length/mean": float(lens.mean()),
            "length/max": float(lens.max()),
            "length/truncated_frac": float((~finished).mean()),
            "optim/lr": float(sched.get_last_lr()[0]),
            "optim/grad_norm": float(np.mean(grad_norms)),
            "time/generate_s": t_gen,
            "time/train_s": t_train,
            "time/step_s": dt,
            "perf/samples_per_s": n / dt,
            "perf/tokens_per_s": float(lens.sum()) / dt,
        }
    )
    out.update(maxed)
    out.update(roll.adv_stats)
    return out


# ---------------------------------------------------------------------------------------------
# supervised warm start


def sft(
    cfg: Config,
    *,
    model: Any = None,
    tokenizer: Any = None,
    problems: Sequence[Problem] | None = None,
    out_dir: str | Path | None = None,
    overwrite: bool = False,
) -> tuple[Any, Any, Path, list[dict[str, float]]]:
    """Supervised fine-tuning on the problems' demonstration solutions (``rlv sft``).

    Cross-entropy on the solution tokens (and EOS). With ``sft.verify_lambda > 0`` the
    demonstrations' known correctness also trains the verifier (same template as RL). Writes
    the model to ``out_dir`` (default ``RUN_DIR/model``) and ``sft_metrics.jsonl``.

    The directory holding the model (``RUN_DIR``) is claimed for the ``sft`` stage in
    ``run.json`` (marked incomplete until the model is written): one that already holds an SFT
    run is refused unless ``overwrite`` (SFT has no checkpoints to resume from).

    Returns ``(model, tokenizer, model_dir, history)``.
    """
    sc = cfg.sft
    tc = cfg.train
    out = Path(out_dir) if out_dir is not None else Path(tc.run_dir) / "model"
    ckpt.check_run_dir(out.parent, "sft", overwrite=overwrite)
    if out_dir is not None and out.exists() and not overwrite:
        raise ckpt.RunDirError(f"{out} exists; pass overwrite to replace it")
    run = _set_up(cfg, model, tokenizer, problems)
    device, bf16 = run.device, run.bf16
    model, tokenizer, verifier = run.model, run.tokenizer, run.verifier
    demos = [p for p in run.problems if p.solution]
    if not demos:
        raise ConfigError("rlv sft needs problems with demonstration solutions")
    ckpt.claim_run_dir(out.parent, "sft", overwrite=overwrite)
    opt = torch.optim.AdamW(model.parameters(), lr=sc.lr, weight_decay=sc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_schedule(sc.warmup_steps, sc.steps, "cosine"))
    sampler = PromptSampler(len(demos), tc.seed)
    p_cache: dict[str, list[int]] = {}
    s_cache: dict[str, list[int]] = {}
    history: list[dict[str, float]] = []
    model.train()
    bar = None
    if tc.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sc.steps, desc="SFT", unit="step", dynamic_ncols=True)
    log = (out.parent / "sft_metrics.jsonl").open("w")
    try:
        for step in range(sc.steps):
            idx = sampler.next(sc.batch_size)
            rows = [demos[i] for i in idx]
            p_ids = [p_cache.setdefault(p.prompt, verifier.prompt_ids(p.prompt)) for p in rows]
            c_ids = [
                s_cache.setdefault(p.solution or "", verifier.completion_ids(p.solution or ""))
                for p in rows
            ]
            labels = np.array([bool(p.solution_correct) for p in rows])
            known = np.array([p.solution_correct is not None for p in rows])
            lengths = [
                len(a) + len(b) + len(verifier.suffix_ids)
                for a, b in zip(p_ids, c_ids, strict=True)
            ]
            n_tok = float(sum(len(c) for c in c_ids))
            v_total = float(known.sum())
            opt.zero_grad(set_to_none=True)
            tot = {"loss/sft": 0.0, "loss/verify": 0.0}
            for mb in micro_batches(lengths, cfg.optim.token_budget):
                b = verifier.pack([p_ids[i] for i in mb], [c_ids[i] for i in mb], device=device)
                with _autocast(device, bf16):
                    logits = forward_window(model, b)
                lp = token_logprobs(b.completion_logits(logits), b.completion_ids)
                ce = -(lp * b.completion_mask).sum() / n_tok
                loss = ce
                kmask = torch.from_numpy(known[mb]).to(device)
                keep = kmask.nonzero().squeeze(-1)
                if sc.verify_lambda > 0 and keep.numel():
                    z = b.label_logits(logits)
                    ver, _ = verification_loss(
                        z[keep],
                        torch.from_numpy(labels[mb]).to(device)[keep],
                        yes_id=verifier.yes_id,
                        no_id=verifier.no_id,
                        mode=cfg.verify.mode,
                    )
                    ver = ver * (keep.numel() / v_total)
                    loss = loss + sc.verify_lambda * ver
                    tot["loss/verify"] += float(ver.item())
                loss.backward()
                tot["loss/sft"] += float(ce.item())
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), sc.grad_clip)
            opt.step()
            sched.step()
            m = {**tot, "optim/grad_norm": float(gn), "optim/lr": float(sched.get_last_lr()[0])}
            history.append(m)
            log.write(json.dumps({"step": step + 1, **m}) + "\n")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{tot['loss/sft']:.3f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
        log.close()
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    from rlv import models

    models.save(model, tokenizer, tmp)
    (tmp / ckpt.MODEL_CONFIG_FILE).write_text(json.dumps(to_dict(cfg), indent=2) + "\n")
    if out.exists():
        import shutil

        shutil.rmtree(out)
    os.replace(tmp, out)
    ckpt.finish_run(out.parent, "sft", steps=sc.steps, model=out.name)
    return model, tokenizer, out, history
