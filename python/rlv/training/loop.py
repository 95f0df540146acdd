"""The RL^V training loop: one model trained as reasoner (value-free RL) and generative verifier.

:func:`train_step` reads top to bottom:

1. **rollout**: draw ``rl.prompts_per_step`` problems, sample ``rl.group_size`` completions
   each (:mod:`rlv.generation`);
2. **rewards**: grade them with :func:`rlv.grade_batch` (strict extraction by default); the
   verifier's labels are the rewards (:func:`rlv.verifier.verification_labels`);
3. **advantages**: the Rust estimators (GRPO, Dr. GRPO = GRPO without std scaling, RLOO);
4. **objective**: per micro-batch, one forward pass over ``prompt + completion +
   verification suffix`` (:func:`rlv.verifier.build_verification_batch`): the completion
   logits give the log-probs, the last position's logits the Yes/No verification logits, and
   :func:`rlv.rl.objective.rlv_objective` the loss ``L_RL + lambda * L_verify (+ kl_coef *
   KL)``; ``lambda = 0`` is the base method on the same code path;
5. **step**: AdamW (gradient clipping; gradients accumulated over micro-batches, whose size
   is set by a token budget and does not change the update);
6. **metrics**: :func:`rlv.training.metrics.step_metrics` (verifier AUC/Brier/accuracy are
   measured on this batch *before* the update).

:func:`train` runs the steps, writes ``metrics.jsonl`` (and TensorBoard / W&B when asked),
and checkpoints every ``train.save_every`` steps (:mod:`rlv.training.checkpoint`). Torch and
transformers are imported by this module; ``import rlv`` does not import it.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
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

from rlv.exceptions import RunDirError
from rlv.rl.losses import entropy_from_logits, token_logprobs
from rlv.rl.objective import LossNorms, rlv_objective
from rlv.tasks import Problem
from rlv.training import checkpoint as ckpt
from rlv.training.config import Config, to_dict
from rlv.training.metrics import MetricsLogger, StepSums, check_logging_available, step_metrics
from rlv.training.rollout import Rollouts, collect_rollouts
from rlv.training.setup import (
    PromptSampler,
    autocast,
    close_backend,
    lr_schedule,
    make_generation_backend,
    micro_batches,
    set_up,
)
from rlv.verifier import (
    PackedBatch,
    VerificationBatch,
    Verifier,
    build_verification_batch,
    forward_window,
    verification_labels,
    verification_weights,
)

__all__ = ["TrainResult", "TrainState", "train", "train_step"]

GAP = "gen/logprob_max_abs_diff"
"""The largest difference between the backend's and the recomputed log-probs of a step."""


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path | None
    """The final checkpoint (``None`` when no step ran)."""
    history: list[dict[str, float]]
    """Metrics of the steps run by this call."""
    model: Any
    tokenizer: Any


@dataclass
class TrainState:
    """Everything a step reads and updates."""

    cfg: Config
    model: Any
    ref_model: Any
    """The frozen reference model of the KL term (``None`` without one)."""
    verifier: Verifier
    backend: Any
    opt: torch.optim.Optimizer
    sched: Any
    sampler: PromptSampler
    problems: Sequence[Problem]
    prompt_cache: dict[str, list[int]]
    device: torch.device
    bf16: bool
    rollout_log: Any = None
    """An open ``rollouts.jsonl`` (``train.save_rollouts``) or ``None``."""
    step: int = 0
    """The step being run (1-based)."""


# ---------------------------------------------------------------------------------------------
# the run


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
            ``overwrite`` such a directory is refused (:class:`rlv.exceptions.RunDirError`).
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
            raise RunDirError(
                f"--resume: no complete checkpoint under {ckpt_dir} (the run stopped before "
                f"its first save); start it again with --overwrite"
            )
    run = set_up(cfg, model, tokenizer, problems, model_dir=last)
    device, bf16, probs = run.device, run.bf16, run.problems
    model, tokenizer, verifier = run.model, run.tokenizer, run.verifier
    start = 0
    saved: dict[str, Any] | None = None
    if last is not None:
        saved = json.loads((last / "state.json").read_text())
        start = int(saved["step"])

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
        ref_model = copy.deepcopy(model).eval()
        for p in ref_model.parameters():
            p.requires_grad_(False)
    if last is not None:
        assert saved is not None
        ts = torch.load(last / "trainer_state.pt", weights_only=False, map_location=device)
        opt.load_state_dict(ts["optimizer"])
        sched.load_state_dict(ts["scheduler"])
        sampler.load_state_dict(saved["sampler"])
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
    rollout_log = _open_rollout_log(run_dir / "rollouts.jsonl", start) if tc.save_rollouts else None
    state = TrainState(
        cfg, model, ref_model, verifier, backend, opt, sched, sampler, probs, {}, device, bf16,
        rollout_log,
    )  # fmt: skip
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
            state.step = step + 1
            m = train_step(state)
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
        if rollout_log is not None:
            rollout_log.close()
        close_backend(backend)
    if final is None and start == tc.steps:
        final = ckpt.latest_checkpoint(ckpt_dir)
    ckpt.finish_run(
        run_dir, "train", steps=tc.steps, checkpoint=None if final is None else final.name
    )
    return TrainResult(run_dir, final, history, model, tokenizer)


def _open_rollout_log(path: Path, start: int) -> Any:
    """``rollouts.jsonl`` opened for appending; on resume, rows after step ``start`` (written
    after the checkpoint the run resumes from) are dropped first."""
    if start == 0:
        return path.open("w", encoding="utf-8")
    keep = []
    if path.exists():
        keep = [
            line
            for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
            if line.strip() and json.loads(line)["step"] <= start
        ]
    f = path.open("w", encoding="utf-8")
    f.writelines(keep)
    return f


# ---------------------------------------------------------------------------------------------
# one step


def train_step(s: TrainState) -> dict[str, float]:
    """One RL^V step: rollouts, rewards, advantages, objective, update(s). Returns its metrics."""
    cfg, rl = s.cfg, s.cfg.rl
    t0 = time.perf_counter()
    # 1-3. rollout, rewards, advantages
    problems = [s.problems[i] for i in s.sampler.next(rl.prompts_per_step)]
    roll = collect_rollouts(s.backend, s.verifier, problems, cfg, s.prompt_cache)
    t_gen = time.perf_counter() - t0
    if s.rollout_log is not None:
        s.rollout_log.write(json.dumps(roll.record(s.step)) + "\n")
    labels, valid = verification_labels(roll.rewards)
    trains = valid  # the rows that train the verifier (verify.groups)
    if cfg.verify.groups == "mixed":
        trains = valid & _in_mixed_group(labels, valid, rl.group_size)
    adv = torch.from_numpy(roll.advantages).to(s.device)

    sums = StepSums()
    pre_z = torch.zeros((len(roll.completions), 2), dtype=torch.float32)  # pre-update Yes/No
    n_updates = rl.ppo_epochs * rl.minibatches
    frozen = None
    if n_updates > 1 or s.ref_model is not None:
        frozen = _frozen_logprobs(s, roll, sums, pre_z)

    # 4-5. objective and optimizer step, per minibatch of whole groups
    grad_norms = []
    t1 = time.perf_counter()
    for epoch in range(rl.ppo_epochs):
        for mb_i, mb in enumerate(_minibatches(len(problems), rl.group_size, rl.minibatches)):
            norms = _step_norms(cfg, roll, labels, trains, mb)
            s.opt.zero_grad(set_to_none=True)
            for local in micro_batches(_lengths(s.verifier, roll, mb), cfg.optim.token_budget):
                idx = [mb[j] for j in local]
                vb = _verification_batch(s, roll, idx, trains)
                # Before the first update, this pass sees the weights that generated.
                on_policy = frozen is None and epoch == 0
                loss, m, z = _micro_batch_loss(
                    s, roll, vb, idx, adv, norms, frozen, check_gap=on_policy and mb_i == 0
                )
                loss.backward()
                if on_policy:
                    pre_z[idx] = _yes_no_logits(z, s.verifier)
                sums.add(m, loss, float(vb.packed.completion_mask.sum().item()))
            gn = torch.nn.utils.clip_grad_norm_(s.model.parameters(), cfg.optim.grad_clip)
            grad_norms.append(float(gn))
            s.opt.step()
            s.sched.step()
    t_train = time.perf_counter() - t1

    # 6. metrics
    out = step_metrics(
        roll, labels, valid, pre_z, sums,
        group_size=rl.group_size, ppo_epochs=rl.ppo_epochs, n_updates=n_updates,
        lr=float(s.sched.get_last_lr()[0]), grad_norms=grad_norms,
        t_generate=t_gen, t_train=t_train, t_step=time.perf_counter() - t0,
    )  # fmt: skip
    out["verify/lambda"] = cfg.verify.lam_at(s.step)
    return out


def _micro_batch_loss(
    s: TrainState,
    roll: Rollouts,
    vb: VerificationBatch,
    idx: Sequence[int],
    adv: torch.Tensor,
    norms: LossNorms,
    frozen: _Frozen | None,
    *,
    check_gap: bool,
) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    """Forward pass and RL^V objective of one micro-batch: ``(loss, metrics, label logits)``.

    With ``check_gap`` the backend's log-probs are compared with this pass's
    (``gen/logprob_max_abs_diff``; only while the weights are the ones that generated)."""
    cfg, rl, b = s.cfg, s.cfg.rl, vb.packed
    width = b.completion_ids.shape[1]
    with autocast(s.device, s.bf16):
        logits = forward_window(s.model, b)
    comp_logits = b.completion_logits(logits)
    logp = token_logprobs(comp_logits, b.completion_ids, cfg.generation.temperature or 1.0)
    z = b.label_logits(logits)
    loss, m = rlv_objective(
        logp, adv[idx], b.completion_mask, z, vb.labels, vb.valid,
        norms=norms, lam=cfg.verify.lam_at(s.step),
        old_logprobs=None if frozen is None else frozen.old(idx, width, s.device),
        ref_logprobs=None if frozen is None else frozen.ref(idx, width, s.device),
        yes_id=vb.yes_id, no_id=vb.no_id, verify_mode=cfg.verify.mode,
        agg=rl.resolved_agg, clip_low=rl.clip_low, clip_high=rl.clip_high,
        clip_ratio_c=rl.clip_ratio_c, kl_coef=rl.kl_coef, kl_kind=rl.kl_kind,
    )  # fmt: skip
    if check_gap:
        beh = _behaviour_logprobs(roll, idx, width, s.device)
        m[GAP] = _behaviour_gap(logp, comp_logits, b, beh, cfg, s.verifier)
    with torch.no_grad():
        ent = entropy_from_logits(comp_logits.detach().float())
        m["policy/entropy_sum"] = (ent * b.completion_mask).sum()
    return loss, m, z.detach()


# ---------------------------------------------------------------------------------------------
# helpers of the step


@dataclass
class _Frozen:
    """Per-sample log-probs of the weights that generated (``old``) and of the reference
    model (``ref``), unpadded, from one pass before the step's first update."""

    old_lp: list[torch.Tensor]
    ref_lp: list[torch.Tensor] | None

    def old(self, idx: Sequence[int], width: int, device: Any) -> torch.Tensor:
        return _right_aligned([self.old_lp[i] for i in idx], width, device)

    def ref(self, idx: Sequence[int], width: int, device: Any) -> torch.Tensor | None:
        if self.ref_lp is None:
            return None
        return _right_aligned([self.ref_lp[i] for i in idx], width, device)


def _frozen_logprobs(s: TrainState, roll: Rollouts, sums: StepSums, pre_z: torch.Tensor) -> _Frozen:
    """The pass before the first update (needed with several updates per step or a KL term):
    old (and reference) log-probs, the backend check and the pre-update verifier logits."""
    cfg, comp_ids = s.cfg, roll.completion_ids
    temp = cfg.generation.temperature or 1.0
    n = len(comp_ids)
    old_lp = [torch.empty(0)] * n
    ref_lp = [torch.empty(0)] * n if s.ref_model is not None else None
    all_rows = list(range(n))
    with torch.no_grad():
        for idx in micro_batches(_lengths(s.verifier, roll, all_rows), cfg.optim.token_budget):
            b = _verification_batch(s, roll, idx).packed
            with autocast(s.device, s.bf16):
                logits = forward_window(s.model, b)
            lp = token_logprobs(b.completion_logits(logits), b.completion_ids, temp)
            _unpad_rows(lp, idx, comp_ids, old_lp)
            gen_lp = _behaviour_logprobs(roll, idx, b.completion_ids.shape[1], s.device)
            g_mb = _behaviour_gap(lp, b.completion_logits(logits), b, gen_lp, cfg, s.verifier)
            sums.max(GAP, float(g_mb))
            pre_z[idx] = _yes_no_logits(b.label_logits(logits), s.verifier)
            if s.ref_model is not None and ref_lp is not None:
                with autocast(s.device, s.bf16):
                    rlogits = forward_window(s.ref_model, b)
                rlp = token_logprobs(b.completion_logits(rlogits), b.completion_ids, temp)
                _unpad_rows(rlp, idx, comp_ids, ref_lp)
    return _Frozen(old_lp, ref_lp)


def _verification_batch(
    s: TrainState, roll: Rollouts, idx: Sequence[int], trains: npt.NDArray[np.bool_] | None = None
) -> VerificationBatch:
    """The packed verification rows of samples ``idx`` with their labels; with ``trains``
    (the step's rows that train the verifier, ``verify.groups``) the others carry no loss."""
    vb = build_verification_batch(
        s.verifier,
        [roll.prompt_ids[i] for i in idx],
        [roll.completions[i].token_ids for i in idx],
        roll.rewards[idx],
        device=s.device,
    )
    if trains is None:
        return vb
    keep = torch.from_numpy(trains[list(idx)]).to(vb.valid.device)
    return replace(vb, valid=vb.valid & keep)


def _in_mixed_group(
    labels: npt.NDArray[np.bool_], valid: npt.NDArray[np.bool_], group_size: int
) -> npt.NDArray[np.bool_]:
    """Per rollout: its group (``group_size`` consecutive rollouts) has a right and a wrong
    valid sample."""
    right = (labels & valid).reshape(-1, group_size).any(axis=1)
    wrong = (~labels & valid).reshape(-1, group_size).any(axis=1)
    return np.repeat(right & wrong, group_size)


def _minibatches(n_prompts: int, group_size: int, k: int) -> list[list[int]]:
    """``k`` minibatches of contiguous prompts (a group's samples stay together)."""
    chunks = np.array_split(np.arange(n_prompts), k)
    return [[i for p in c for i in range(p * group_size, (p + 1) * group_size)] for c in chunks]


def _lengths(verifier: Verifier, roll: Rollouts, rows: Sequence[int]) -> list[int]:
    """Packed lengths (prompt + completion + suffix) of samples ``rows``."""
    suffix = len(verifier.suffix_ids)
    return [len(roll.prompt_ids[i]) + len(roll.completions[i].token_ids) + suffix for i in rows]


def _step_norms(
    cfg: Config,
    roll: Rollouts,
    labels: npt.NDArray[np.bool_],
    valid: npt.NDArray[np.bool_],
    mb: list[int],
) -> LossNorms:
    """The normalisers of one optimizer step over the samples ``mb``."""
    v_total, pw = verification_weights(labels[mb], valid[mb], cfg.verify.balance)
    return LossNorms(
        num_tokens=float(sum(len(roll.completions[i].token_ids) for i in mb)),
        num_seqs=float(len(mb)),
        norm_len=float(cfg.generation.max_new_tokens),
        verify_weight_total=v_total,
        pos_weight=pw,
    )


def _behaviour_logprobs(
    roll: Rollouts, idx: Sequence[int], width: int, device: Any
) -> torch.Tensor:
    """The backend's log-probs of samples ``idx``, right-aligned to ``width``."""
    rows = [torch.tensor(roll.completions[i].logprobs) for i in idx]
    return _right_aligned(rows, width, device)


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
