"""Training losses of RL^V: the PPO-clip policy loss, KL penalties, entropy, and the
generative-verifier (Yes/No) loss.

The RL^V objective is ``J = J_RL + lambda * J_Verify`` (``docs/losses.md``). This module
provides its pieces as **pure functions**: tensors in, ``(loss, metrics)`` out; no module
state, no optimiser, no model. The training loop combines them::

    from rlv.losses import aggregate, kl_penalty, policy_loss, verification_loss

    pg, pg_metrics = policy_loss(logp, old_logp, adv, mask, agg="seq-mean-token-sum-norm",
                                 norm_len=max_completion_length)      # Dr. GRPO
    kl = aggregate(kl_penalty(logp, ref_logp, kind="k3"), mask, "token-mean")
    ver, ver_metrics = verification_loss(label_logits, rewards > 0, yes_id=yes, no_id=no)
    loss = pg + beta * kl + lam * ver

Shapes: ``B`` sequences, ``T`` (padded) response tokens, ``V`` vocabulary, ``N`` verification
examples. Token masks are ``(B, T)``, bool or 0/1 float (a fractional float mask acts as a
per-token weight). Log-probabilities are those of the *sampled* tokens.

Metrics are dicts of **detached 0-dim float tensors** on the input's device (no host sync
inside the loss; call ``.item()`` or stack them when logging), under namespaced keys
(``policy/...``, ``verifier/...``). A mean over an empty set is reported as ``0.0`` (the
ratio statistics as the neutral ``1.0``); count metrics (``policy/n_tokens``,
``verifier/n_pos``, ``verifier/n_neg``) let the caller weight or drop such values. Losses are
never NaN for empty inputs: an all-masked batch gives a loss of ``0`` that still backpropagates
(zero gradients).

Computation happens in at least float32: bf16/fp16 inputs are upcast (float64 stays float64,
which is what the gradient checks use).

Importing this module imports torch; ``import rlv`` does not import it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final, Literal

from rlv._names import AGG_ALIASES, AGG_MODES, KL_KINDS, VERIFIER_MODES

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'rlv.losses needs PyTorch, which is not installed: pip install "rlv[train]"'
    ) from exc

__all__ = [
    "AGG_ALIASES",
    "AGG_MODES",
    "KL_KINDS",
    "LOG_RATIO_CLAMP",
    "VERIFIER_MODES",
    "aggregate",
    "entropy_from_logits",
    "kl_penalty",
    "policy_loss",
    "verification_loss",
    "verifier_score",
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
VerifierMode = Literal["full", "yes_no"]
Number = int | float

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
    return torch.promote_types(dtype, torch.float32)


def _check_mask(mask: torch.Tensor, shape: torch.Size, name: str = "mask") -> None:
    if mask.shape != shape:
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(mask.shape)}")
    if mask.is_complex():
        raise TypeError(f"{name} must be a bool or real tensor, got {mask.dtype}")


def _as_weights(mask: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``(active, weights)``: ``active = mask > 0`` (bool) and the mask as ``dtype`` weights
    (zero where inactive, so NaN/negative junk in an inactive float mask cannot leak)."""
    active = mask if mask.dtype == torch.bool else mask > 0
    weights = torch.where(active, mask.to(dtype), torch.zeros((), dtype=dtype, device=mask.device))
    return active, weights


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den`` with a zero denominator replaced by 1 (so 0 / 0 = 0, never NaN)."""
    return num / torch.where(den > 0, den, torch.ones_like(den))


def _normaliser(
    value: Number | torch.Tensor | None, default: torch.Tensor, name: str
) -> torch.Tensor:
    """A user-supplied normaliser (``num_tokens``/``num_seqs``/``norm_len``) or ``default``."""
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


# ---------------------------------------------------------------------------------------------
# verifier


def _check_label_ids(logits: torch.Tensor, yes_id: int, no_id: int) -> None:
    vocab = logits.shape[-1] if logits.dim() else 0
    for name, value in (("yes_id", yes_id), ("no_id", no_id)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if not 0 <= value < vocab:
            raise ValueError(f"{name}={value} is out of range for a vocabulary of size {vocab}")
    if yes_id == no_id:
        raise ValueError(f"yes_id and no_id must differ, both are {yes_id}")


def verifier_score(
    logits_at_label: torch.Tensor, *, yes_id: int, no_id: int, normalize: bool = True
) -> torch.Tensor:
    """The verifier's test-time score ``P(Yes)`` from the logits at the label position.

    ``normalize=True``: ``P(Yes) / (P(Yes) + P(No)) = sigmoid(z_yes - z_no)`` (the two-token
    softmax, what ``mode="yes_no"`` of :func:`verification_loss` trains);
    ``normalize=False``: the raw full-vocabulary ``softmax(z)[yes_id]`` (the paper's score,
    what ``mode="full"`` trains). Temperature 1.

    Args:
        logits_at_label: ``(N, V)`` (any leading shape) logits at the position that predicts
            the label token.
        yes_id, no_id: token ids of the two labels.
        normalize: see above.

    Returns:
        ``(N,)`` scores in ``[0, 1]``, dtype at least float32.
    """
    _check_label_ids(logits_at_label, yes_id, no_id)
    dtype = _compute_dtype(logits_at_label.dtype)
    z = logits_at_label.to(dtype)
    if normalize:
        return torch.sigmoid(z[..., yes_id] - z[..., no_id])
    return torch.exp(z[..., yes_id] - torch.logsumexp(z, dim=-1))


def verification_loss(
    logits_at_label: torch.Tensor,
    labels: torch.Tensor,
    *,
    yes_id: int,
    no_id: int,
    mode: VerifierMode | str = "full",
    pos_weight: Literal["balanced"] | float | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Generative-verifier loss: cross-entropy on the single Yes/No label token.

    Target ``t_i = yes_id`` if ``labels[i]`` (the rollout was correct) else ``no_id``. With
    ``z`` the logits at the position that predicts the label token::

        full:    nll_i = logsumexp_v(z_i) - z_i[t_i]              (full-vocabulary softmax)
        yes_no:  nll_i = softplus(-(z_yes - z_no))  if positive   (two-token softmax,
                         softplus(+(z_yes - z_no))  if negative    binary CE on z_yes - z_no)

        loss = sum_i w_i * nll_i / sum_i w_i                       (weighted mean)

    Weights (``pos_weight``): ``None`` -> ``w_i = 1`` (plain mean); a float ``p > 0`` ->
    ``w_i = p`` for positives and 1 for negatives; ``"balanced"`` -> ``w_i = 1 / n_pos`` for
    positives and ``1 / n_neg`` for negatives, i.e. ``0.5 * mean_pos(nll) + 0.5 *
    mean_neg(nll)`` (positives and negatives contribute equally; with one class absent, the
    mean of the present class). Because the weighted mean is renormalised, a weight changes
    the balance but not the scale of the loss (unlike ``torch.nn.BCEWithLogitsLoss``'s
    ``pos_weight``).

    ``full`` also pushes down every other token at that position; ``nll_full >= nll_yes_no``
    always, with equality when all other tokens have ``-inf`` logits.

    An empty batch (``N = 0``) gives a loss of 0 (attached to the graph) and zero metrics.

    Args:
        logits_at_label: ``(N, V)`` logits at the label-predicting position (differentiable).
        labels: ``(N,)`` bool, or 0/1 int/float (positive iff ``> 0.5``; NaN is negative, so
            drop unscorable rollouts before).
        yes_id, no_id: token ids of ``"Yes"`` and ``"No"`` (single tokens, resolved once per
            tokenizer).
        mode: ``"full"`` or ``"yes_no"``.
        pos_weight: ``None``, ``"balanced"`` or a float > 0.

    Returns:
        ``(loss, metrics)`` with detached 0-dim tensors:

        - ``verifier/accuracy``: mean of ``[z_yes > z_no] == label`` (argmax over the two
          tokens; a tie predicts "No"); unweighted;
        - ``verifier/p_yes_pos``, ``verifier/p_yes_neg``: mean ``P(Yes)`` over positives /
          negatives, in the trained mode's probability (full-vocabulary for ``"full"``,
          two-token for ``"yes_no"``);
        - ``verifier/p_yes_pos_norm``, ``verifier/p_yes_neg_norm``: the same with the two-token
          normalised ``P(Yes)`` (equal to the above in ``"yes_no"`` mode);
        - ``verifier/label_mass``: mean ``P(Yes) + P(No)`` under the full softmax (how much
          probability the two label tokens hold);
        - ``verifier/n_pos``, ``verifier/n_neg``: counts.

        Means over an empty set are 0.

    Raises:
        ValueError: bad shapes, ids, ``mode`` or ``pos_weight``.
    """
    if mode not in VERIFIER_MODES:
        raise ValueError(f"invalid verifier mode {mode!r}; allowed: {_allowed(VERIFIER_MODES)}")
    if logits_at_label.dim() != 2:
        raise ValueError(
            f"logits_at_label must have shape (N, V), got {tuple(logits_at_label.shape)}"
        )
    n = logits_at_label.shape[0]
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
    _check_label_ids(logits_at_label, yes_id, no_id)
    balanced = False
    p_weight: float | None = None
    if isinstance(pos_weight, str):
        if pos_weight != "balanced":
            raise ValueError(
                f"invalid value {pos_weight!r} for pos_weight; allowed: None, 'balanced' or a float > 0"
            )
        balanced = True
    elif pos_weight is not None:
        if isinstance(pos_weight, bool) or not isinstance(pos_weight, (int, float)):
            raise TypeError(
                f"pos_weight must be None, 'balanced' or a float, not {type(pos_weight).__name__}"
            )
        if not (math.isfinite(pos_weight) and pos_weight > 0):
            raise ValueError(
                f"invalid value {pos_weight!r} for pos_weight; allowed: None, 'balanced' or a float > 0"
            )
        p_weight = float(pos_weight)

    dtype = _compute_dtype(logits_at_label.dtype)
    z = logits_at_label.to(dtype)
    pos = labels if labels.dtype == torch.bool else labels > 0.5
    pos = pos.to(z.device)
    posf = pos.to(dtype)
    negf = 1.0 - posf

    z_yes = z[:, yes_id]
    z_no = z[:, no_id]
    margin = z_yes - z_no
    if mode == "full":
        lse = torch.logsumexp(z, dim=-1)  # (N,)
        nll = lse - torch.where(pos, z_yes, z_no)
    else:
        with torch.no_grad():  # only needed for the metrics
            lse = torch.logsumexp(z, dim=-1)
        # softplus(x) = log(1 + e^x) via logaddexp: exact for all x (torch's softplus
        # switches to the identity above x = 20, dropping the e^-x term).
        x = torch.where(pos, -margin, margin)
        nll = torch.logaddexp(torch.zeros_like(x), x)

    n_pos = posf.sum()
    n_neg = negf.sum()
    if balanced:
        weights = _safe_div(posf, n_pos.detach()) + _safe_div(negf, n_neg.detach())
    elif p_weight is not None:
        weights = p_weight * posf + negf
    else:
        weights = torch.ones_like(posf)
    loss = _safe_div((weights * nll).sum(), weights.sum())

    with torch.no_grad():
        p_norm = torch.sigmoid(margin.detach())
        p_full = torch.exp(z_yes.detach() - lse.detach())
        p_no_full = torch.exp(z_no.detach() - lse.detach())
        p_mode = p_full if mode == "full" else p_norm
        correct = ((margin.detach() > 0) == pos).to(dtype)
        metrics = {
            "verifier/accuracy": _safe_div(
                correct.sum(), torch.tensor(float(n), dtype=dtype, device=z.device)
            ),
            "verifier/p_yes_pos": _safe_div((p_mode * posf).sum(), n_pos),
            "verifier/p_yes_neg": _safe_div((p_mode * negf).sum(), n_neg),
            "verifier/p_yes_pos_norm": _safe_div((p_norm * posf).sum(), n_pos),
            "verifier/p_yes_neg_norm": _safe_div((p_norm * negf).sum(), n_neg),
            "verifier/label_mass": _safe_div(
                (p_full + p_no_full).sum(), torch.tensor(float(n), dtype=dtype, device=z.device)
            ),
            "verifier/n_pos": n_pos.detach(),
            "verifier/n_neg": n_neg.detach(),
        }
    return loss, metrics
