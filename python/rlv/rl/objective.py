"""THE RL^V objective: one engine-agnostic function on tensors (``docs/objective.md``).

A trainer (rlv's own loop, or an adapter for another RL library) does its forward pass over
``prompt + completion + verification suffix`` (:mod:`rlv.verifier`), takes from it

* the per-token log-probs of the sampled completion tokens, ``(B, C)``, and
* the logits at each row's label position (the last position of its verification suffix),
  ``(B, V)``, or just their Yes/No columns, ``(B, 2)``,

and calls :func:`rlv_objective` with the rollouts' advantages, the verification labels (from
the rewards: :func:`rlv.verifier.verification_labels`) and the step's normalisers
(:class:`LossNorms`). It returns the loss to backpropagate and detached metrics. No model,
no configuration object, no tokenizer: tensors and numbers in, tensors out.

Importing this module imports torch; ``import rlv`` does not import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'rlv.rl.objective needs PyTorch, which is not installed: pip install "rlv[train]"'
    ) from exc

from rlv.rl.losses import AggMode, KLKind, aggregate, kl_penalty, policy_loss
from rlv.verifier import VerifierMode, label_nll_loss, verification_loss

__all__ = [
    "LossNorms",
    "rlv_objective",
    "verification_share",
    "verification_term",
    "verification_term_from_logprobs",
]


@dataclass(frozen=True)
class LossNorms:
    """Normalisers of one optimizer step, so that splitting the step's rows into micro-batches
    (each calling :func:`rlv_objective`, gradients accumulated) does not change the loss.

    ``num_tokens``, ``num_seqs``, ``norm_len``: the policy/KL aggregation's normalisers over
    the whole step (:func:`rlv.rl.losses.aggregate`: active completion tokens, sequences,
    and Dr. GRPO's constant length). ``verify_weight_total`` and ``pos_weight``: the step's
    verification weighting, from :func:`rlv.verifier.verification_weights`.
    """

    num_tokens: float
    num_seqs: float
    norm_len: float
    verify_weight_total: float
    pos_weight: float | None


def rlv_objective(
    logprobs: torch.Tensor,
    advantages: torch.Tensor,
    completion_mask: torch.Tensor,
    label_logits: torch.Tensor,
    labels: torch.Tensor,
    valid: torch.Tensor,
    *,
    norms: LossNorms,
    lam: float,
    old_logprobs: torch.Tensor | None = None,
    ref_logprobs: torch.Tensor | None = None,
    yes_id: int | None = None,
    no_id: int | None = None,
    verify_mode: VerifierMode | str = "full",
    agg: AggMode | str = "token-mean",
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    clip_ratio_c: float | None = None,
    kl_coef: float = 0.0,
    kl_kind: KLKind | str = "k3",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The RL^V loss of one micro-batch: ``L_RL (+ kl_coef * KL) + lam * s * L_verify``.

    With ``B`` rollouts, ``C`` completion columns (right-aligned or not: only the mask
    matters), ``A_b`` the advantages and ``r = exp(logp - old_logp)`` per token::

        L_RL     = agg_t( -min(A r, A clip(r, 1 - clip_low, 1 + clip_high)) )   (PPO-clip,
                   dual clip at clip_ratio_c for A < 0)
        KL       = agg_t( k(logp, ref_logp) )                 (only with ref_logprobs and
                                                               kl_coef > 0; kind kl_kind)
        L_verify = sum_i w_i nll_i / sum_i w_i                 over the valid rows i, with
                   nll_i the cross-entropy of the Yes/No label at the label position
                   (full vocabulary or the two label tokens: verify_mode) and w_i =
                   pos_weight for positives, 1 for negatives (1 for all when None)
        s        = (sum_i w_i) / norms.verify_weight_total     this micro-batch's share of
                                                               the step's example weight

    ``agg_t`` is :func:`rlv.rl.losses.aggregate` with mode ``agg`` and ``norms.num_tokens``
    / ``num_seqs`` / ``norm_len``. Because every term is normalised over the whole step,
    the losses of a step's micro-batches add up to the loss of the step. With ``lam = 0``
    the verification term is not added at all (the loss is exactly the RL loss, the base
    method on the same code path); its value is still reported.

    The float operations are, in order, those of rlv's trainer before this function existed
    (a test holds it to that trainer's loss and gradients).

    Args:
        logprobs: ``(B, C)`` log-probs of the sampled completion tokens under the current
            policy (differentiable; e.g. :func:`rlv.rl.losses.token_logprobs`).
        advantages: ``(B,)`` per-rollout advantages (:mod:`rlv.rl.advantages`).
        completion_mask: ``(B, C)`` bool, the completion tokens.
        label_logits: ``(B, V)`` logits at the label position (differentiable), with
            ``yes_id`` / ``no_id`` the label token ids; or ``(B, 2)`` the Yes and No logits
            with ``yes_id = no_id = None`` (then only ``verify_mode="yes_no"``, which needs
            no other logit).
        labels: ``(B,)`` bool, the rollout is correct (target Yes).
        valid: ``(B,)`` bool, the reward is scorable; invalid rows carry no verification loss.
        norms: the step's normalisers.
        lam: the verification weight ``lambda >= 0``.
        old_logprobs: ``(B, C)`` log-probs under the policy that sampled (constants);
            ``None``: on-policy (``logprobs`` detached, ratio 1).
        ref_logprobs: ``(B, C)`` log-probs under the reference model, for the KL term.
        verify_mode: ``"full"`` (the paper: full-vocabulary softmax) or ``"yes_no"``.
        agg, clip_low, clip_high, clip_ratio_c: :func:`rlv.rl.losses.policy_loss`.
        kl_coef, kl_kind: the KL term's weight and estimator (:func:`rlv.rl.losses.kl_penalty`).

    Returns:
        ``(loss, metrics)``: the 0-dim loss and detached 0-dim tensors: the ``policy/...``
        metrics of :func:`rlv.rl.losses.policy_loss`, ``loss/kl`` (when the KL term is on),
        ``loss/policy`` (``L_RL``), ``loss/verify`` (``s * L_verify``) and the
        ``verifier/...`` metrics of :func:`rlv.verifier.verification_loss` over the valid
        rows.

    Raises:
        ValueError: shapes that do not match, ``(B, 2)`` logits with label ids or with
            ``verify_mode="full"``, a negative or non-finite ``lam``, and every error of the
            loss functions called.
        TypeError: ``labels`` or ``valid`` not bool.
    """
    _check_inputs(logprobs, advantages, completion_mask, label_logits, labels, valid, lam)
    if yes_id is None and no_id is None:
        if label_logits.shape[-1] != 2:
            raise ValueError(
                "without yes_id/no_id, label_logits must be the (B, 2) Yes/No logits, got "
                f"shape {tuple(label_logits.shape)}"
            )
        if verify_mode != "yes_no":
            raise ValueError(
                f"verify_mode {verify_mode!r} needs the full label-position logits with "
                "yes_id/no_id; the (B, 2) Yes/No logits only support 'yes_no'"
            )
        yes_id, no_id = 0, 1
    elif yes_id is None or no_id is None:
        raise ValueError("pass both yes_id and no_id, or neither (with (B, 2) Yes/No logits)")

    old = logprobs.detach() if old_logprobs is None else old_logprobs
    pg, metrics = policy_loss(
        logprobs,
        old,
        advantages,
        completion_mask,
        clip_low=clip_low,
        clip_high=clip_high,
        clip_ratio_c=clip_ratio_c,
        agg=agg,
        num_tokens=norms.num_tokens,
        num_seqs=norms.num_seqs,
        norm_len=norms.norm_len,
    )
    loss = pg
    if ref_logprobs is not None and kl_coef > 0:
        kl = aggregate(
            kl_penalty(logprobs, ref_logprobs, kind=kl_kind),
            completion_mask,
            agg,
            num_tokens=norms.num_tokens,
            num_seqs=norms.num_seqs,
            norm_len=norms.norm_len,
        )
        loss = loss + kl_coef * kl
        metrics["loss/kl"] = kl.detach()

    ver_scaled, vmetrics = verification_term(
        label_logits,
        labels,
        valid,
        norms=norms,
        yes_id=yes_id,
        no_id=no_id,
        verify_mode=verify_mode,
    )
    if lam > 0:
        loss = loss + lam * ver_scaled
    metrics["loss/policy"] = pg.detach()
    metrics["loss/verify"] = ver_scaled.detach()
    metrics.update({k: v for k, v in vmetrics.items() if k.startswith("verifier/")})
    return loss, metrics


def verification_term(
    label_logits: torch.Tensor,
    labels: torch.Tensor,
    valid: torch.Tensor,
    *,
    norms: LossNorms,
    yes_id: int,
    no_id: int,
    verify_mode: VerifierMode | str = "full",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``s * L_verify`` of one micro-batch (the term :func:`rlv_objective` adds times
    ``lam``) and the metrics of :func:`rlv.verifier.verification_loss` over its valid rows.

    An adapter that computes the policy loss itself (e.g. ``rlv.integrations.trl``) adds
    ``lam`` times this term to it.
    """
    keep = valid.nonzero().squeeze(-1)
    ver, vmetrics = verification_loss(
        label_logits[keep],
        labels[keep],
        yes_id=yes_id,
        no_id=no_id,
        mode=verify_mode,
        pos_weight=norms.pos_weight,
    )
    return ver * verification_share(labels[keep], norms), vmetrics


def verification_term_from_logprobs(
    label_logprobs: torch.Tensor,
    labels: torch.Tensor,
    valid: torch.Tensor,
    *,
    norms: LossNorms,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """:func:`verification_term` in ``"full"`` mode from the ``(B,)`` log-probs of the
    label tokens (:func:`rlv.verifier.label_nll_loss`) instead of the label-position logits:
    ``s * L_verify`` over the valid rows, for an engine that returns token log-probs only
    (``rlv.integrations.verl``). Metrics: ``verifier/nll`` (the unscaled ``L_verify``),
    ``verifier/p_label`` (mean probability of the label token), ``verifier/n_pos``,
    ``verifier/n_neg``.

    Raises:
        ValueError: shapes that differ; TypeError: ``labels`` or ``valid`` not bool.
    """
    b = label_logprobs.shape[0] if label_logprobs.dim() == 1 else -1
    if b < 0:
        raise ValueError(f"label_logprobs must have shape (B,), got {tuple(label_logprobs.shape)}")
    for name, t in (("labels", labels), ("valid", valid)):
        if t.shape != (b,):
            raise ValueError(f"{name} must have shape ({b},), got {tuple(t.shape)}")
        if t.dtype != torch.bool:
            raise TypeError(f"{name} must be a bool tensor, got {t.dtype}")
    keep = valid.nonzero().squeeze(-1)
    lp = label_logprobs[keep]
    kept = labels[keep]
    nll = label_nll_loss(lp, kept, pos_weight=norms.pos_weight)
    with torch.no_grad():
        n = float(kept.numel())
        metrics = {
            "verifier/nll": nll.detach(),
            "verifier/p_label": lp.detach().double().exp().sum() / max(n, 1.0),
            "verifier/n_pos": kept.sum().double(),
            "verifier/n_neg": (~kept).sum().double(),
        }
    return nll * verification_share(kept, norms), metrics


def verification_share(kept_labels: torch.Tensor, norms: LossNorms) -> float:
    """This micro-batch's share ``s`` of the step's verification example weight: the sum of
    the weights of its valid rows (``kept_labels``: their labels; ``pos_weight`` for a
    positive, 1 for a negative) over ``norms.verify_weight_total``; 0 when the step has none.

    :func:`verification_term` scales the verification loss by it.
    """
    w_mb = (
        float(kept_labels.numel())
        if norms.pos_weight is None
        else float(norms.pos_weight * kept_labels.sum().item() + (~kept_labels).sum().item())
    )
    return w_mb / norms.verify_weight_total if norms.verify_weight_total > 0 else 0.0


def _check_inputs(
    logprobs: torch.Tensor,
    advantages: torch.Tensor,
    completion_mask: torch.Tensor,
    label_logits: torch.Tensor,
    labels: torch.Tensor,
    valid: torch.Tensor,
    lam: float,
) -> None:
    if logprobs.dim() != 2:
        raise ValueError(f"logprobs must have shape (B, C), got {tuple(logprobs.shape)}")
    b = logprobs.shape[0]
    if completion_mask.shape != logprobs.shape:
        raise ValueError(
            f"completion_mask must have shape {tuple(logprobs.shape)} like logprobs, got "
            f"{tuple(completion_mask.shape)}"
        )
    if advantages.shape != (b,):
        raise ValueError(f"advantages must have shape ({b},), got {tuple(advantages.shape)}")
    if label_logits.dim() != 2 or label_logits.shape[0] != b:
        raise ValueError(
            f"label_logits must have shape ({b}, V) or ({b}, 2), got {tuple(label_logits.shape)}"
        )
    for name, t in (("labels", labels), ("valid", valid)):
        if t.shape != (b,):
            raise ValueError(f"{name} must have shape ({b},), got {tuple(t.shape)}")
        if t.dtype != torch.bool:
            raise TypeError(f"{name} must be a bool tensor, got {t.dtype}")
    if isinstance(lam, bool) or not isinstance(lam, (int, float)):
        raise TypeError(f"lam must be a number, not {type(lam).__name__}")
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"invalid value {lam!r} for lam; allowed: a finite number >= 0")
