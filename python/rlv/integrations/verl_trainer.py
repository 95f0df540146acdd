"""RL^V training inside verl's trainer: ``trainer.v1.trainer_mode=rlv``.

verl 0.9's V1 trainer keeps each step's rollouts in its TransferQueue (one key per rollout,
token fields stored without padding) and runs reward, log-probs, advantages and the actor
update on those keys. :class:`RLVTrainer` is verl's synchronous trainer with one step
changed: before the actor update it writes one verification row per rollout into the queue
(:func:`queue_verification_rows`: rlv's own rows, ``prompt + response + instruction`` with the
label token as the one-token response, ``response_mask = loss_mask = 0``), updates the actor
on policy and verification rows together with :func:`rlv.integrations.verl.rlv_ppo_loss`
installed as the actor's loss (verl's PPO loss + ``lambda`` x the verification term), and
removes the verification rows afterwards, so verl's metrics, checkpoints and replay buffer
only see the rollouts.

Registered by the plug-in at ``import verl``; settings under ``rlv`` in the verl config::

    trainer.v1.trainer_mode=rlv +rlv.lambda=1.0 +rlv.ramp_steps=0 \
        +rlv.balance=false +rlv.template=plain

Mini-batches keep the user's meaning: ``actor.ppo_mini_batch_size`` counts prompts of
rollouts, and every update mini-batch carries those rollouts' verification rows besides
them (rows are interleaved rollout, verification, rollout, ..., so data-parallel shards and
unshuffled mini-batches split them evenly); verl's ``global_batch_size`` counts policy rows
only. Requirements, checked at start: ``actor.shuffle=false`` (shuffled mini-batches would
hold unequal numbers of policy rows), rollout temperature 1 (verl computes the label's
log-prob at that temperature), no distillation, text-only models (one position-id row).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import torch
import transfer_queue as tq
from tensordict import TensorDict
from transfer_queue import KVBatchMeta
from verl.trainer.ppo.v1.trainer_base import register_trainer
from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync
from verl.utils.config import omega_conf_to_dataclass
from verl.utils.metric import reduce_metrics
from verl.utils.py_functional import rename_dict

from rlv.integrations.verl import VERIFY_FIELDS, rlv_ppo_loss, verification_rows
from rlv.verifier import Template, verification_lambda

__all__ = ["VERIFY_KEY_SUFFIX", "RLVSettings", "RLVTrainer", "queue_verification_rows"]

VERIFY_KEY_SUFFIX = "::rlv-verify"
"""Suffix of a verification row's queue key: ``<rollout key>::rlv-verify``."""


class RLVSettings:
    """The ``rlv`` block of a verl config: ``lambda`` (default 1.0, rlv's ``verify.lambda``),
    ``ramp_steps`` (0: rlv's ``verify.ramp_steps``, counted in verl's training steps),
    ``balance`` (False) and ``template`` (``"plain"``), as in rlv's own trainer."""

    def __init__(
        self, lam: float = 1.0, balance: bool = False, template: str = "plain", ramp_steps: int = 0
    ) -> None:
        if isinstance(lam, bool) or not isinstance(lam, (int, float)):
            raise TypeError(f"rlv.lambda must be a number, not {type(lam).__name__}")
        if not (math.isfinite(lam) and lam >= 0):
            raise ValueError(f"invalid value {lam!r} for rlv.lambda; allowed: a finite number >= 0")
        if isinstance(ramp_steps, bool) or not isinstance(ramp_steps, int) or ramp_steps < 0:
            raise ValueError(f"rlv.ramp_steps must be an integer >= 0, got {ramp_steps!r}")
        if not isinstance(balance, bool):
            raise TypeError(f"rlv.balance must be true or false, not {balance!r}")
        if not isinstance(template, str) or not template:
            raise ValueError("rlv.template must be a non-empty string")
        self.lam = float(lam)
        self.ramp_steps = ramp_steps
        self.balance = balance
        self.template = template

    @classmethod
    def from_config(cls, config: Any) -> RLVSettings:
        block = config.get("rlv") if hasattr(config, "get") else None
        if block is None:
            return cls()
        known = {"lambda", "ramp_steps", "balance", "template"}
        unknown = sorted(set(block.keys()) - known)
        if unknown:
            raise ValueError(
                f"unknown key(s) under rlv: {', '.join(unknown)}; allowed: {', '.join(sorted(known))}"
            )
        return cls(
            lam=block.get("lambda", 1.0),
            balance=block.get("balance", False),
            template=block.get("template", "plain"),
            ramp_steps=block.get("ramp_steps", 0),
        )

    def lam_at(self, step: int) -> float:
        """The weight at verl training step ``step`` (counted from 1), after the ramp."""
        return verification_lambda(self.lam, self.ramp_steps, step)


def _lengths(x: torch.Tensor) -> list[int]:
    offsets: torch.Tensor = x.offsets()  # type: ignore[attr-defined]  # a jagged nested tensor
    return [int(n) for n in offsets.diff().tolist()]


def _nested(rows: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.nested.as_nested_tensor(list(rows), layout=torch.jagged)


def queue_verification_rows(
    tokenizer: Any,
    policy: TensorDict,
    tags: Sequence[Mapping[str, Any]],
    *,
    template: Template | str = "plain",
    balance: bool = False,
    num_mini_batches: int = 1,
) -> tuple[TensorDict, list[dict[str, Any]]]:
    """The verification rows of a step's rollouts, in the layout of verl's TransferQueue.

    ``policy``: the rollouts' fields as ``tq.kv_batch_get`` returns them (token fields as
    jagged nested tensors: ``prompts``, ``responses``, ``input_ids``, ``position_ids``,
    ``response_mask`` and per-response-token fields such as ``rm_scores``,
    ``old_log_probs``, ``advantages``); ``tags``: their queue tags (``is_padding`` rows get
    invalid verification rows). The reward of a rollout is the sum of its ``rm_scores``
    (``> 0.5``: label ``Yes``, as everywhere in rlv).

    Returns the rows (same fields as ``policy``, plus :data:`VERIFY_FIELDS`) and their tags.
    Row ``i`` is :func:`rlv.integrations.verl.verification_rows`'s row ``i`` (rlv's own
    trainer's row) without padding: ``prompts`` = ``prompt + response + instruction``,
    ``responses`` = the label token, ``input_ids`` = both, ``position_ids`` = ``0..len-1``;
    every per-response-token field is one 0 (``response_mask`` and ``loss_mask`` included, so
    verl's policy loss, entropy, KL and token counts skip the rows); other fields (``uid``,
    non-tensor fields) are copied.
    ``rlv_weight_total`` is the step's verification weight total over ``num_mini_batches``.

    Raises:
        ValueError: a token field this function does not know how to rebuild (multi-modal
            position ids, an unknown per-token field), missing ``prompts`` / ``responses`` /
            ``rm_scores``, ``num_mini_batches < 1`` (from :func:`verification_rows`).
    """
    for need in ("prompts", "responses", "rm_scores"):
        if need not in policy.keys():
            raise ValueError(f"the rollouts have no field {need!r}; cannot build verification rows")
    b = policy.batch_size[0]
    if len(tags) != b:
        raise ValueError(f"{len(tags)} tags for {b} rollouts")
    r_len = _lengths(policy["responses"])
    p_len = _lengths(policy["prompts"])
    rewards = [
        math.nan if tag.get("is_padding", False) else float(s.sum())
        for s, tag in zip(policy["rm_scores"].unbind(0), tags, strict=True)
    ]
    # rlv's rows in verl's padded layout (left-padded context, one label token), unpadded here
    padded = verification_rows(
        tokenizer,
        [p.tolist() for p in policy["prompts"].unbind(0)],
        [r.tolist() for r in policy["responses"].unbind(0)],
        rewards,
        template=template,
        balance=balance,
        num_mini_batches=num_mini_batches,
    )
    att = padded["attention_mask"].bool()
    seqs = [padded["input_ids"][i][att[i]] for i in range(b)]
    ctx = [s[:-1] for s in seqs]
    label = padded["responses"][:, 0]

    out: dict[str, Any] = {}
    for name, value in policy.items():
        if not (isinstance(value, torch.Tensor) and value.is_nested):
            out[name] = value
            continue
        if value.dim() != 2:
            raise ValueError(
                f"field {name!r} has {value.dim()} dimensions per batch; rlv's verl trainer "
                "supports text models only (one token row per sample)"
            )
        lens = _lengths(value)
        dtype = value.dtype
        if name == "prompts":
            out[name] = _nested([c.to(dtype) for c in ctx])
        elif name == "responses":
            out[name] = _nested([label[i : i + 1].to(dtype) for i in range(b)])
        elif name == "input_ids":
            out[name] = _nested([s.to(dtype) for s in seqs])
        elif name == "attention_mask":
            out[name] = _nested([torch.ones(len(s), dtype=dtype) for s in seqs])
        elif name == "position_ids":
            out[name] = _nested([torch.arange(len(s), dtype=dtype) for s in seqs])
        elif lens == r_len:
            out[name] = _nested([torch.zeros(1, dtype=dtype) for _ in range(b)])
        else:
            full = [p + r for p, r in zip(p_len, r_len, strict=True)]
            what = "sequence" if lens == full else "unknown"
            raise ValueError(
                f"cannot build verification rows for the {what}-length token field {name!r}; "
                "rlv rebuilds prompts, responses, input_ids, attention_mask, position_ids and "
                "per-response-token fields"
            )
    for name in VERIFY_FIELDS:
        out[name] = padded[name]
    rows = TensorDict(out, batch_size=[b])
    new_tags = []
    for i, tag in enumerate(tags):
        t = dict(tag)
        t.update(prompt_len=len(ctx[i]), response_len=1, seq_len=len(seqs[i]), rlv_verify=True)
        new_tags.append(t)
    return rows, new_tags


def _policy_flags(b: int) -> TensorDict:
    """The fields of ``rlv.integrations.verl.VERIFY_FIELDS`` for rollout rows."""
    return TensorDict(
        {
            "rlv_verify": torch.zeros(b, dtype=torch.bool),
            "rlv_label": torch.zeros(b, dtype=torch.bool),
            "rlv_valid": torch.zeros(b, dtype=torch.bool),
            "rlv_weight_total": torch.zeros(b, dtype=torch.float64),
            "rlv_pos_weight": torch.full((b,), math.nan, dtype=torch.float64),
        },
        batch_size=[b],
    )


@register_trainer("rlv")
class RLVTrainer(PPOTrainerSync):  # type: ignore[misc]
    """verl's synchronous PPO trainer, training the actor as its own verifier (RL^V).

    See the module docstring. ``lambda = 0`` trains exactly as verl's ``sync`` trainer
    (the verification rows are masked out of verl's loss and add nothing) while logging the
    verifier's loss under ``actor/rlv/``.
    """

    def init(self) -> None:
        self.rlv = RLVSettings.from_config(self.config)
        self._check_supported()
        super().init()
        self._rlv_actor_config = omega_conf_to_dataclass(self.config.actor_rollout_ref.actor)
        self._rlv_lam = math.nan
        self._install_loss(self.rlv.lam_at(1))

    def _install_loss(self, lam: float) -> None:
        """Install rlv's loss with weight ``lam`` on the actor workers (once per change)."""
        if lam != self._rlv_lam:
            self.actor_rollout_wg.set_loss_fn(
                partial(rlv_ppo_loss, config=self._rlv_actor_config, lam=lam)
            )
            self._rlv_lam = lam

    def _check_supported(self) -> None:
        ar = self.config.actor_rollout_ref
        problems = []
        if ar.actor.get("shuffle", False):
            problems.append("actor_rollout_ref.actor.shuffle must be false")
        if float(ar.rollout.temperature) != 1.0:
            problems.append(
                "actor_rollout_ref.rollout.temperature must be 1.0 (verl computes the "
                "verifier's label log-prob at the rollout temperature)"
            )
        distill = self.config.get("distillation")
        if distill is not None and bool(distill.get("enabled", False)):
            problems.append("distillation is not supported with trainer_mode=rlv")
        if problems:
            raise ValueError("trainer.v1.trainer_mode=rlv: " + "; ".join(problems))

    def _policy_mini_batch(self) -> int:
        ar = self.config.actor_rollout_ref
        return int(ar.actor.ppo_mini_batch_size) * int(ar.rollout.n)

    def _add_verification_rows(self, batch: KVBatchMeta) -> KVBatchMeta:
        """Write the verification rows of ``batch`` into the queue; the batch of both, the
        rows interleaved (rollout, its verification row, ...)."""
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id)
        n = len(batch.keys)
        mini = self._policy_mini_batch()
        rows, tags = queue_verification_rows(
            self.tokenizer,
            data,
            batch.tags,
            template=self.rlv.template,
            balance=self.rlv.balance,
            num_mini_batches=max(1, n // mini),
        )
        tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id, fields=_policy_flags(n))
        vkeys = [k + VERIFY_KEY_SUFFIX for k in batch.keys]
        tq.kv_batch_put(keys=vkeys, partition_id=batch.partition_id, fields=rows, tags=tags)
        keys: list[str] = []
        all_tags: list[dict[str, Any]] = []
        for k, vk, t, vt in zip(batch.keys, vkeys, batch.tags, tags, strict=True):
            keys += [k, vk]
            all_tags += [dict(t), vt]
        return KVBatchMeta(
            keys=keys,
            tags=all_tags,
            partition_id=batch.partition_id,
            extra_info=dict(batch.extra_info or {}),
        )

    def _update_actor(self, batch: KVBatchMeta, metrics: dict[str, Any]) -> KVBatchMeta:
        """verl's actor update on the rollouts plus their verification rows: each update
        mini-batch holds ``ppo_mini_batch_size x n`` rollouts and their rows."""
        # the step's weight (rlv.ramp_steps; verl's fit counts global_steps from 1)
        self._install_loss(self.rlv.lam_at(int(self.global_steps)))
        metrics["rlv/lambda"] = self._rlv_lam
        both = self._add_verification_rows(batch)
        actor = self.config.actor_rollout_ref.actor
        mini = self._policy_mini_batch()
        both.extra_info.update(
            {
                "calculate_entropy": bool(actor.calculate_entropy or actor.entropy_coeff != 0.0),
                "distillation_use_topk": False,
                "distillation_only": False,
                # verl's loss normalises by policy rows (seq-mean modes); the update splits
                # the interleaved rows into mini-batches of rollouts + their rows.
                "global_batch_size": mini,
                "mini_batch_size": 2 * mini,
                "epochs": actor.ppo_epochs,
                "seed": actor.data_loader_seed,
                "dataloader_kwargs": {"shuffle": False},
                "temperature": self.config.actor_rollout_ref.rollout.temperature,
            }
        )
        try:
            output = self.actor_rollout_wg.update_actor(both)
        finally:
            tq.kv_clear(
                keys=[k for k in both.keys if k.endswith(VERIFY_KEY_SUFFIX)],
                partition_id=batch.partition_id,
            )
        out = rename_dict(output["metrics"], "actor/")
        if "actor/mfu" in out:
            out["perf/mfu/actor"] = out.pop("actor/mfu")
        metrics.update(reduce_metrics(out))
        return batch
