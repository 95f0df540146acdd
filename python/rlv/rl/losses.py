"""Policy-side losses of RL^V: the PPO-clip policy loss, KL penalties, aggregation, entropy,
and the names of their options.

The RL^V objective (:func:`rlv.rl.objective.rlv_objective`, ``docs/objective.md``) is
``J = J_RL + lambda * J_Verify``; this module holds the pieces of ``J_RL`` as **pure
functions**: tensors in, ``(loss, metrics)`` out; no module state, no optimiser, no model.
The verification loss is in :mod:`rlv.verifier`::

    from rlv.rl.losses import aggregate, kl_penalty, policy_loss

    pg, pg_metrics = policy_loss(logp, old_logp, adv, mask, agg="seq-mean-token-sum-norm",
                                 norm_len=max_completion_length)      # Dr. GRPO
    kl = aggregate(kl_penalty(logp, ref_logp, kind="k3"), mask, "token-mean")
    loss = pg + beta * kl

Shapes: ``B`` sequences, ``T`` (padded) response tokens, ``V`` vocabulary. Token masks are
``(B, T)``, bool or 0/1 float (a fractional float mask acts as a per-token weight).
Log-probabilities are those of the *sampled* tokens.

Metrics are dicts of **detached 0-dim float tensors** on the input's device (no host sync
inside the loss; call ``.item()`` or stack them when logging), under namespaced keys
(``policy/...``). A mean over an empty set is reported as ``0.0`` (the ratio statistics as
the neutral ``1.0``); ``policy/n_tokens`` lets the caller weight or drop such values. Losses
are never NaN for empty inputs: an all-masked batch gives a loss of ``0`` that still
backpropagates (zero gradients).

Computation happens in at least float32: bf16/fp16 inputs are upcast (float64 stays float64,
which is what the gradient checks use).

The option names (:data:`AGG_MODES`, :data:`AGG_ALIASES`, :data:`KL_KINDS`) are plain
tuples, so importing this module does not import torch (configuration is checked without
it); the functions import torch when called. ``import rlv`` does not import this module.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    import torch

__all__ = [
    "AGG_ALIASES",
    "AGG_MODES",
    "KL_KINDS",
    "LOG_RATIO_CLAMP",
    "aggregate",
    "entropy_from_logits",
    "kl_penalty",
    "policy_loss",
    "token_logprobs",
]

AggMode = Literal[
    "token-mean",
    "token-sum",
    "seq-mean-token-sum",
    "seq-mean-token-mean",
    "seq-mean-token-sum-norm",
    "grpo",
    "bnpo",
    "dr_grpo",
    "dapo",
]
KLKind = Literal["k1", "kl", "abs", "k2", "mse", "k3", "low_var_kl"]
Number = int | float

AGG_MODES: Final[tuple[str, ...]] = (
    "token-mean",
    "token-sum",
    "seq-mean-token-sum",
    "seq-mean-token-mean",
    "seq-mean-token-sum-norm",
)
"""Aggregation modes, with verl's names (``actor.loss_agg_mode``)."""

AGG_ALIASES: Final[Mapping[str, str]] = {
    "grpo": "seq-mean-token-mean",
    "bnpo": "token-mean",
    "dr_grpo": "seq-mean-token-sum-norm",
    "dapo": "token-mean",
}
"""TRL ``GRPOConfig.loss_type`` names -> the verl mode they compute. ``bnpo`` always
normalises by the *local* active-token count (it ignores ``num_tokens``); ``dapo`` uses
``num_tokens`` (the global count) when given."""

KL_KINDS: Final[tuple[str, ...]] = ("k1", "kl", "abs", "k2", "mse", "k3", "low_var_kl")
"""Per-token KL estimators of :func:`kl_penalty` (``kl`` = ``k1``, ``mse`` = ``k2``,
``low_var_kl`` = ``k3``, as in verl)."""

LOG_RATIO_CLAMP: Final[float] = 20.0
"""Log-ratios (``logp - old_logp`` in :func:`policy_loss`, ``ref - logp`` in the ``k3`` KL)
are clamped to ``[-20, 20]`` before ``exp`` (as verl does), so the ratio stays within
``[2e-9, 4.9e8]``; beyond the clamp the gradient is zero."""

_K3_CLAMP: Final[float] = 10.0
"""The ``k3`` value is clamped to ``[-10, 10]`` (verl's ``low_var_kl``; k3 >= 0, so only the
upper bound acts)."""


# ---------------------------------------------------------------------------------------------
# helpers


def _allowed(values: Iterable[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """At least float32 (bf16/fp16 are upcast; float64 stays float64)."""
    import torch

    return torch.promote_types(dtype, torch.float32)


def _check_mask(mask: torch.Tensor, shape: torch.Size, name: str = "mask") -> None:
    if mask.shape != shape:
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(mask.shape)}")
    if mask.is_complex():
        raise TypeError(f"{name} must be a bool or real tensor, got {mask.dtype}")


def _as_weights(mask: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``(active, weights)``: ``active = mask > 0`` (bool) and the mask as ``dtype`` weights
    (zero where inactive, so NaN/negative junk in an inactive float mask cannot leak)."""
    import torch

    active = mask if mask.dtype == torch.bool else mask > 0
    weights = torch.where(active, mask.to(dtype), torch.zeros((), dtype=dtype, device=mask.device))
    return active, weights


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den`` with a zero denominator replaced by 1 (so 0 / 0 = 0, never NaN)."""
    import torch

    return num / torch.where(den > 0, den, torch.ones_like(den))


def _normaliser(
    value: Number | torch.Tensor | None, default: torch.Tensor, name: str
) -> torch.Tensor:
    """A user-supplied normaliser (``num_tokens``/``num_seqs``/``norm_len``) or ``default``."""
    import torch

    if value is None:
        return default
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got shape {tuple(value.shape)}")
        return value.detach().to(dtype=default.dtype, device=default.device).reshape(())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number or a scalar tensor, not {type(value).__name__}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"invalid value {value!r} for {name}; allowed: a finite number >= 0")
    return torch.tensor(float(value), dtype=default.dtype, device=default.device)


def _masked_mean(x: torch.Tensor, weights: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    return _safe_div((x * weights).sum(), count)


# ---------------------------------------------------------------------------------------------
# aggregation


def aggregate(
    loss_mat: torch.Tensor,
    mask: torch.Tensor,
    mode: AggMode | str = "token-mean",
    *,
    num_tokens: Number | torch.Tensor | None = None,
    num_seqs: Number | torch.Tensor | None = None,
    norm_len: Number | torch.Tensor | None = None,
) -> torch.Tensor:
    """Reduce a per-token loss ``(B, T)`` to a scalar under a mask ``(B, T)``.

    With ``L`` the per-token loss, ``M`` the mask (as float), ``B`` = ``num_seqs`` (default
    ``mask.shape[0]``), ``N`` = ``num_tokens`` (default ``sum(M)``) and
    ``T_norm`` = ``norm_len`` (default ``mask.shape[1]``)::

        token-mean               sum(L*M) / N
        token-sum                sum(L*M)
        seq-mean-token-sum       sum_b sum_t(L*M) / B
        seq-mean-token-mean      sum_b [sum_t(L*M) / sum_t(M)] / B
        seq-mean-token-sum-norm  sum(L*M) / (B * T_norm)                (Dr. GRPO)

    TRL's loss types are aliases: ``grpo`` = seq-mean-token-mean, ``bnpo`` = token-mean over
    the *local* batch (``num_tokens`` ignored), ``dr_grpo`` = seq-mean-token-sum-norm (pass
    ``norm_len=max_completion_length``), ``dapo`` = token-mean with ``num_tokens`` the
    active-token count of the global (accumulated, all-rank) batch.

    Normalisers for gradient accumulation / data parallelism: ``num_tokens`` replaces the
    local ``sum(M)`` of token-mean/dapo and ``num_seqs`` the local ``B`` of the seq-mean
    modes. With DDP averaging gradients over ``W`` ranks, pass the global count divided by
    ``W`` (TRL's ``num_items_in_batch / num_processes``). Arguments a mode does not use are
    ignored, so one call site can pass all of them.

    Zero denominators are replaced by 1: an all-masked batch gives 0, and an all-masked
    sequence contributes 0 to the seq-mean modes while still counting in ``B`` (as TRL's
    ``grpo``; recent verl drops such sequences from the mean: pass ``num_seqs`` to match).
    Values of ``loss_mat`` at masked positions are ignored (even NaN/inf, in the forward).

    Args:
        loss_mat: ``(B, T)`` per-token loss.
        mask: ``(B, T)`` bool or 0/1 float (fractional values weight tokens).
        mode: one of :data:`AGG_MODES` or a key of :data:`AGG_ALIASES`.
        num_tokens: token-mean/dapo normaliser (number or scalar tensor).
        num_seqs: seq-mean-* normaliser (number or scalar tensor).
        norm_len: the constant length of seq-mean-token-sum-norm/dr_grpo.

    Returns:
        A 0-dim tensor (dtype of ``loss_mat``, at least float32).

    Raises:
        ValueError: unknown ``mode``, shape mismatch, or a negative/non-finite normaliser.
    """
    import torch

    if mode in AGG_ALIASES:
        alias = mode
        mode = AGG_ALIASES[mode]
        if alias == "bnpo":
            num_tokens = None
    if mode not in AGG_MODES:
        raise ValueError(
            f"invalid aggregation mode {mode!r}; allowed: {_allowed((*AGG_MODES, *AGG_ALIASES))}"
        )
    if loss_mat.dim() != 2:
        raise ValueError(f"loss_mat must have shape (B, T), got {tuple(loss_mat.shape)}")
    _check_mask(mask, loss_mat.shape)
    dtype = _compute_dtype(loss_mat.dtype)
    loss_mat = loss_mat.to(dtype)
    active, weights = _as_weights(mask, dtype)
    # torch.where (not a product) so that junk at masked positions never reaches the sum.
    masked = torch.where(
        active, loss_mat * weights, torch.zeros((), dtype=dtype, device=loss_mat.device)
    )
    n_seqs = float(mask.shape[0])
    n_cols = float(mask.shape[1])
    if mode == "token-sum":
        return masked.sum()
    if mode == "token-mean":
        den = _normaliser(num_tokens, weights.sum(), "num_tokens")
        return _safe_div(masked.sum(), den)
    den_b = _normaliser(
        num_seqs, torch.tensor(n_seqs, dtype=dtype, device=loss_mat.device), "num_seqs"
    )
    if mode == "seq-mean-token-sum":
        return _safe_div(masked.sum(), den_b)
    if mode == "seq-mean-token-mean":
        per_seq = _safe_div(masked.sum(dim=-1), weights.sum(dim=-1))
        return _safe_div(per_seq.sum(), den_b)
    # seq-mean-token-sum-norm
    den_t = _normaliser(
        norm_len, torch.tensor(n_cols, dtype=dtype, device=loss_mat.device), "norm_len"
    )
    return _safe_div(masked.sum(), den_b * den_t)


# ---------------------------------------------------------------------------------------------
# policy loss


def policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    clip_ratio_c: float | None = None,
    agg: AggMode | str = "token-mean",
    num_tokens: Number | torch.Tensor | None = None,
    num_seqs: Number | torch.Tensor | None = None,
    norm_len: Number | torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO clipped-surrogate loss with asymmetric (DAPO clip-higher) and optional dual clip.

    Per token, with ``r = exp(clamp(logp - old_logp, -20, 20))`` and advantage ``A``::

        L = -min(A * r, A * clip(r, 1 - clip_low, 1 + clip_high))
        L = min(L, -A * clip_ratio_c)    for A < 0, when clip_ratio_c is set (dual clip)

    which is, case by case (this is how it is computed, so the boundaries are exact)::

        A > 0:  L = -A * min(r, 1 + clip_high)
        A < 0:  L = -A * max(r, 1 - clip_low)        (dual clip: -A * clip_ratio_c if r > c)
        A = 0:  L = 0

    **Boundaries.** A bound is *inside*: at ``r == 1 + clip_high`` (A > 0), at
    ``r == 1 - clip_low`` (A < 0) and at ``r == clip_ratio_c`` (A < 0) the token is unclipped
    and its gradient is the plain ``-A * r * d(logp)``. Strictly beyond a bound the loss is
    the constant bound value and the gradient with respect to ``logprobs`` is exactly zero.
    On the other side of the trust region (A > 0 with r < 1 - clip_low, A < 0 with
    r > 1 + clip_high) PPO does not clip and neither does this function.

    The per-token losses are reduced by :func:`aggregate` with mode ``agg`` (and its
    ``num_tokens``/``num_seqs``/``norm_len``).

    Args:
        logprobs: ``(B, T)`` log-probabilities of the sampled tokens under the current
            policy (differentiable).
        old_logprobs: ``(B, T)`` the same under the behaviour policy (treated as constants).
        advantages: ``(B,)`` per-sequence (broadcast over tokens), ``(B, 1)`` or ``(B, T)``.
        mask: ``(B, T)`` bool or 0/1 float response mask. Values of the other inputs at
            masked positions are ignored, even ``-inf`` padding (the gradient stays finite).
        clip_low: ``epsilon_low``, in ``[0, 1)``; the ratio's lower bound is ``1 - clip_low``.
        clip_high: ``epsilon_high`` (``>= 0``); DAPO uses 0.28.
        clip_ratio_c: dual-clip constant ``c > 1`` (verl's default is 3.0); ``None``: off.
        agg: aggregation mode (:data:`AGG_MODES` or a TRL alias from :data:`AGG_ALIASES`).
        num_tokens, num_seqs, norm_len: normalisers, see :func:`aggregate`.

    Returns:
        ``(loss, metrics)``: the 0-dim loss and detached 0-dim tensors, averaged over the
        active tokens (mask-weighted):

        - ``policy/clip_frac``: fraction of tokens clipped (low or high);
        - ``policy/clip_frac_low``: A < 0 and r < 1 - clip_low;
        - ``policy/clip_frac_high``: A > 0 and r > 1 + clip_high;
        - ``policy/dual_clip_frac``: A < 0 and r > clip_ratio_c (0 when dual clip is off);
        - ``policy/approx_kl``: mean of ``(r - 1) - log r``, the k3 estimate of
          KL(old || current) (>= 0);
        - ``policy/approx_kl_k1``: mean of ``-log r`` (verl's ``ppo_kl``);
        - ``policy/ratio_mean``, ``policy/ratio_max``, ``policy/ratio_min``: over active
          tokens (1.0 when there are none);
        - ``policy/n_tokens``: the (local) sum of the mask.

    Raises:
        ValueError: shape mismatch, invalid clip values, or unknown ``agg``.
    """
    import torch

    if logprobs.dim() != 2:
        raise ValueError(f"logprobs must have shape (B, T), got {tuple(logprobs.shape)}")
    shape = logprobs.shape
    if old_logprobs.shape != shape:
        raise ValueError(
            f"old_logprobs must have shape {tuple(shape)} like logprobs, got "
            f"{tuple(old_logprobs.shape)}"
        )
    _check_mask(mask, shape)
    if advantages.dim() == 1:
        if advantages.shape[0] != shape[0]:
            raise ValueError(
                f"advantages of shape (B,) must have B = {shape[0]}, got {tuple(advantages.shape)}"
            )
        advantages = advantages.unsqueeze(-1)
    elif (
        advantages.dim() != 2
        or advantages.shape[0] != shape[0]
        or advantages.shape[1]
        not in (
            1,
            shape[1],
        )
    ):
        raise ValueError(
            f"advantages must have shape (B,), (B, 1) or (B, T) = {tuple(shape)}, got "
            f"{tuple(advantages.shape)}"
        )
    if not (0.0 <= clip_low < 1.0):
        raise ValueError(f"invalid value {clip_low!r} for clip_low; allowed: 0 <= clip_low < 1")
    if not (clip_high >= 0.0 and math.isfinite(clip_high)):
        raise ValueError(
            f"invalid value {clip_high!r} for clip_high; allowed: a finite number >= 0"
        )
    if clip_ratio_c is not None and not (clip_ratio_c > 1.0 and math.isfinite(clip_ratio_c)):
        raise ValueError(
            f"invalid value {clip_ratio_c!r} for clip_ratio_c; allowed: None or a finite number > 1"
        )
    # Fail on a bad mode before any work (aggregate checks it again).
    if agg not in AGG_MODES and agg not in AGG_ALIASES:
        raise ValueError(
            f"invalid aggregation mode {agg!r}; allowed: {_allowed((*AGG_MODES, *AGG_ALIASES))}"
        )

    dtype = _compute_dtype(logprobs.dtype)
    zero = torch.zeros((), dtype=dtype, device=logprobs.device)
    active, weights = _as_weights(mask, dtype)
    adv = torch.where(active, advantages.to(dtype).expand(shape), zero)
    # where() before the clamp: junk (-inf - -inf = NaN) at masked positions gets no gradient.
    log_ratio = torch.where(active, logprobs.to(dtype) - old_logprobs.to(dtype).detach(), zero)
    log_ratio = log_ratio.clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
    ratio = torch.exp(log_ratio)

    lo, hi = 1.0 - clip_low, 1.0 + clip_high
    clipped_high = (adv > 0) & (ratio > hi)
    clipped_low = (adv < 0) & (ratio < lo)
    surrogate = torch.where(clipped_high, hi, torch.where(clipped_low, lo, ratio))
    per_token = -adv * surrogate
    if clip_ratio_c is not None:
        dual = (adv < 0) & (ratio > clip_ratio_c)
        per_token = torch.where(dual, -adv * clip_ratio_c, per_token)
    else:
        dual = torch.zeros_like(active)

    loss = aggregate(
        per_token, mask, agg, num_tokens=num_tokens, num_seqs=num_seqs, norm_len=norm_len
    )

    with torch.no_grad():
        n_tokens = weights.sum()
        lr = log_ratio.detach()
        r = ratio.detach()
        one = torch.ones((), dtype=dtype, device=logprobs.device)
        has_any = active.any()
        metrics = {
            "policy/clip_frac": _masked_mean(
                (clipped_high | clipped_low).to(dtype), weights, n_tokens
            ),
            "policy/clip_frac_low": _masked_mean(clipped_low.to(dtype), weights, n_tokens),
            "policy/clip_frac_high": _masked_mean(clipped_high.to(dtype), weights, n_tokens),
            "policy/dual_clip_frac": _masked_mean(dual.to(dtype), weights, n_tokens),
            "policy/approx_kl": _masked_mean(torch.expm1(lr) - lr, weights, n_tokens),
            "policy/approx_kl_k1": _masked_mean(-lr, weights, n_tokens),
            "policy/ratio_mean": torch.where(has_any, _masked_mean(r, weights, n_tokens), one),
            "policy/ratio_max": torch.where(
                has_any, torch.where(active, r, -math.inf).max() if r.numel() else one, one
            ),
            "policy/ratio_min": torch.where(
                has_any, torch.where(active, r, math.inf).min() if r.numel() else one, one
            ),
            "policy/n_tokens": n_tokens,
        }
    return loss, metrics


def token_logprobs(
    logits: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """``log softmax(logits / temperature)[targets]``: ``(B, C, V), (B, C) -> (B, C)``.

    Computed in float32 (``logits.float()``, also for float64 logits), the log-probs rlv's
    trainer feeds to :func:`policy_loss` and :func:`rlv.rl.objective.rlv_objective`.
    ``temperature`` 0 or 1 leaves the logits unscaled.
    """
    z = logits.float()
    if temperature not in (0.0, 1.0):
        z = z / temperature
    import torch

    return z.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(z, dim=-1)


# ---------------------------------------------------------------------------------------------
# KL penalty and entropy


def kl_penalty(
    logprobs: torch.Tensor, ref_logprobs: torch.Tensor, *, kind: KLKind | str = "k3"
) -> torch.Tensor:
    """Per-token estimate of KL(current || reference) from sampled-token log-probabilities.

    With ``d = logp - ref_logp`` (samples drawn from the current policy)::

        k1 / kl           d
        abs               |d|
        k2 / mse          0.5 * d^2
        k3 / low_var_kl   exp(-d) + d - 1     (Schulman's estimator; >= 0)

    ``k3`` follows verl's ``low_var_kl``: ``-d`` is clamped to ``[-20, 20]`` before ``exp``
    and the result to ``[-10, 10]`` (only the upper bound can act); beyond either clamp the
    gradient is zero.

    As a *loss* (gradient with respect to ``logp``, on-policy samples): ``k1`` has an expected
    gradient of zero, ``k2`` gives the gradient of KL(current || ref), ``k3`` the gradient of
    KL(ref || current). Reduce the result with :func:`aggregate` (it ignores masked positions
    in the forward; keep padding finite, e.g. 0, for a NaN-free backward).

    Args:
        logprobs: ``(B, T)`` (any shape) current log-probabilities (differentiable).
        ref_logprobs: same shape, reference log-probabilities (treated as constants).
        kind: one of :data:`KL_KINDS`.

    Returns:
        A tensor of the input shape (at least float32).

    Raises:
        ValueError: unknown ``kind`` or mismatched shapes.
    """
    import torch

    if kind not in KL_KINDS:
        raise ValueError(f"invalid KL kind {kind!r}; allowed: {_allowed(KL_KINDS)}")
    if logprobs.shape != ref_logprobs.shape:
        raise ValueError(
            f"ref_logprobs must have shape {tuple(logprobs.shape)} like logprobs, got "
            f"{tuple(ref_logprobs.shape)}"
        )
    dtype = _compute_dtype(logprobs.dtype)
    d = logprobs.to(dtype) - ref_logprobs.to(dtype).detach()
    if kind in ("k1", "kl"):
        return d
    if kind == "abs":
        return d.abs()
    if kind in ("k2", "mse"):
        return 0.5 * d.square()
    neg = (-d).clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
    return (torch.expm1(neg) - neg).clamp(-_K3_CLAMP, _K3_CLAMP)


def _entropy_rows(logits: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    import torch

    z = logits.to(dtype)
    # H is invariant to shifting a row; shifting by its max first keeps lse and sum p * z
    # small, so their difference does not cancel (equal logits of 4136 gave log 4 + 1.4e-9
    # unshifted). The shift is a constant for autograd: the gradient is unchanged.
    m = z.detach().amax(dim=-1, keepdim=True)
    z = z - torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    lse = torch.logsumexp(z, dim=-1, keepdim=True)
    p = torch.exp(z - lse)
    # -inf logits (masked vocabulary) have p = 0; clamping them to the most negative finite
    # value keeps 0 * z = 0 instead of NaN (and clamp passes no gradient there).
    z_finite = z.clamp(min=torch.finfo(dtype).min)
    return lse.squeeze(-1) - (p * z_finite).sum(dim=-1)


def entropy_from_logits(logits: torch.Tensor, *, chunk_size: int | None = None) -> torch.Tensor:
    """Entropy of the softmax over the last dimension: ``(..., V) -> (...)``.

    ``H = logsumexp(z) - sum_v softmax(z)_v * z_v``, which is stable for large logits and
    exact for ``-inf`` logits (masked vocabulary entries contribute 0). ``0 <= H <= log V``.

    Memory: the unchunked form makes a few ``(..., V)`` temporaries in at least float32 (bf16
    logits are upcast). ``chunk_size`` processes the flattened rows ``chunk_size`` at a time,
    so the temporaries are ``(chunk_size, V)``; the result is identical. Under autograd the
    per-chunk softmax is still saved for the backward, so for a logged-only metric call it
    inside ``torch.no_grad()`` (as verl does) to get the memory benefit.

    Args:
        logits: ``(B, T, V)`` (any leading shape) unnormalised logits.
        chunk_size: rows per chunk (``> 0``), or ``None`` for one pass.

    Returns:
        ``(B, T)`` entropies in nats, dtype at least float32.
    """
    import torch

    if logits.dim() < 1 or logits.shape[-1] == 0:
        raise ValueError(
            f"logits must have a non-empty last (vocabulary) dimension, got {tuple(logits.shape)}"
        )
    dtype = _compute_dtype(logits.dtype)
    if chunk_size is None:
        return _entropy_rows(logits, dtype)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(
            f"invalid value {chunk_size!r} for chunk_size; allowed: None or an int > 0"
        )
    lead = logits.shape[:-1]
    flat = logits.reshape(-1, logits.shape[-1])
    if flat.shape[0] == 0:
        return _entropy_rows(flat, dtype).reshape(lead)
    parts = [_entropy_rows(chunk, dtype) for chunk in torch.split(flat, chunk_size, dim=0)]
    return torch.cat(parts).reshape(lead)
