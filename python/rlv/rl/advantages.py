"""Sequence-level advantages for value-free RL: GRPO (and Dr. GRPO), RLOO, REINFORCE++.

Every estimator takes one reward per sample, shape ``(B,)``, and the groups (one group = the
samples of one prompt), and returns one advantage per sample, shape ``(B,)``, of the same
kind (numpy array or torch tensor), dtype and device as the rewards:

* :func:`grpo`: ``(r - mean_g) / (std_g + eps)``; ``scale="batch"`` divides by the std of the
  whole batch instead, ``scale="none"`` does not divide (Dr. GRPO);
* :func:`rloo`: ``r_i - mean of the other samples of the group`` (leave-one-out PPO);
* :func:`reinforce_pp_baseline`: ``r - mean_g``, then whitened over the batch (REINFORCE++
  with a group baseline), optionally weighted by token counts;
* :func:`to_tokens` broadcasts ``(B,)`` advantages to ``(B, T)`` tokens under a response mask.

Groups are either ``groups=`` ids (any integers, any order, ragged sizes) or ``sizes=``
(sizes of consecutive groups, or one ``int`` for equal consecutive groups).

Conventions (details, formulas and worked examples: ``docs/advantages.md``):

* a **NaN reward** marks an unscorable sample: it is left out of its group's statistics and
  gets advantage 0 (``±inf`` raises ``ValueError``);
* a group with a single scorable sample, or whose scorable rewards are all equal, gets
  advantage **0** (no division by zero); :class:`AdvantageStats` counts them;
* stds are unbiased (Bessel-corrected), as in TRL and verl.

Backends: numpy arrays and CPU tensors go to the Rust core (f64 arithmetic, GIL released for
large batches); tensors on another device (CUDA) use an equivalent pure-torch implementation
(``index_add`` / ``scatter_reduce``, float64) on that device. ``backend="torch"`` forces the
torch path (tests compare both), ``backend="rust"`` the Rust one (non-CPU tensors are copied
to the CPU and back). Float32/float64 keep their dtype; float16/bfloat16 are computed in
float32 and cast back; integer or bool rewards give float64.

Importing this module never imports torch.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload

import numpy as np
import numpy.typing as npt

from rlv import _core

if TYPE_CHECKING:
    import torch

__all__ = [
    "BACKENDS",
    "SCALES",
    "AdvantageStats",
    "grpo",
    "reinforce_pp_baseline",
    "rloo",
    "to_tokens",
]

Scale = Literal["group", "batch", "none"]
Backend = Literal["auto", "rust", "torch"]

SCALES: Final[tuple[str, ...]] = ("group", "batch", "none")
"""GRPO scalings: per-group std (GRPO), batch std, none (Dr. GRPO)."""

BACKENDS: Final[tuple[str, ...]] = ("auto", "rust", "torch")
"""``"auto"``: Rust for numpy and CPU tensors, torch for tensors on other devices."""

ArrayT = TypeVar("ArrayT", "npt.NDArray[Any]", "torch.Tensor")
"""numpy array in, numpy array out; torch tensor in, torch tensor out."""

GroupIds = Any
"""Group ids: a 1-D integer numpy array, torch tensor or sequence of ints."""

Sizes = Any
"""Sizes of consecutive groups (1-D integer array/tensor/sequence), or one ``int``."""


@dataclasses.dataclass(frozen=True)
class AdvantageStats:
    """Counts describing a batch of rewards (returned with ``return_stats=True``)."""

    n_samples: int
    """Number of rewards."""
    n_groups: int
    """Number of groups (distinct ids, or entries of ``sizes``, empty ones included)."""
    n_unscorable: int
    """Rewards that are NaN (advantage 0, left out of every statistic)."""
    n_singleton_groups: int
    """Groups with exactly one scorable sample (advantage 0)."""
    n_zero_variance_groups: int
    """Groups with at least two scorable samples, all with the same reward (advantages 0)."""
    n_empty_groups: int
    """Groups without any scorable sample (empty, or all rewards NaN)."""

    def as_metrics(self, prefix: str = "advantages/") -> dict[str, float]:
        """Fractions for logging: ``unscorable_frac`` (of samples) and ``singleton_frac``,
        ``zero_variance_frac``, ``empty_frac`` (of groups); 0 for an empty batch."""
        ns, ng = max(self.n_samples, 1), max(self.n_groups, 1)
        return {
            f"{prefix}unscorable_frac": self.n_unscorable / ns,
            f"{prefix}singleton_frac": self.n_singleton_groups / ng,
            f"{prefix}zero_variance_frac": self.n_zero_variance_groups / ng,
            f"{prefix}empty_frac": self.n_empty_groups / ng,
        }


# ---------------------------------------------------------------------------------------------
# Argument checks shared by both backends


def _is_torch(x: object) -> bool:
    """A torch tensor, detected without importing torch."""
    return type(x).__module__.split(".", 1)[0] == "torch"


def _check_choice(option: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"invalid value {value!r} for option {option}; allowed: "
            + ", ".join(repr(v) for v in allowed)
        )
    return value


def _check_eps(eps: object) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a float, not {type(eps).__name__}")
    value = float(eps)
    if not (np.isfinite(value) and value >= 0.0):
        raise ValueError(f"invalid value {value!r} for option eps; allowed: a finite number >= 0")
    return value


def _int_scalar(x: object) -> int | None:
    """``x`` as an ``int`` if it is an integer scalar (not a bool), else ``None``."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return int(x)
    return None


def _int_array(x: object, name: str) -> npt.NDArray[np.int64]:
    """A 1-D int64 numpy array from an integer array, tensor or sequence."""
    if _is_torch(x):
        x = x.detach().cpu().numpy()  # type: ignore[attr-defined]
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    # uint64 ids above 2**63 wrap around: still one id per group.
    return np.ascontiguousarray(arr.astype(np.int64, copy=False))


def _group_kwargs(groups: GroupIds | None, sizes: Sizes | None) -> dict[str, Any]:
    """Keyword arguments of the ``_core`` functions for the group description."""
    if (groups is None) == (sizes is None):
        raise ValueError("give exactly one of groups (ids) or sizes")
    if groups is not None:
        return {"groups": _int_array(groups, "groups")}
    size = _int_scalar(sizes)
    if size is not None:
        if size < 1:
            raise ValueError(f"invalid groups: group_size={size}; it must be >= 1")
        return {"group_size": size}
    return {"sizes": _int_array(sizes, "sizes")}


_NUMPY_WORK: dict[np.dtype[Any], np.dtype[Any]] = {
    np.dtype(np.float32): np.dtype(np.float32),
    np.dtype(np.float64): np.dtype(np.float64),
    np.dtype(np.float16): np.dtype(np.float32),
}


def _numpy_rewards(rewards: object) -> tuple[npt.NDArray[Any], np.dtype[Any]]:
    """``(work array, output dtype)``: float32/float64 1-D array to hand to Rust."""
    arr = np.asarray(rewards)
    work: np.dtype[Any]
    out: np.dtype[Any]
    if arr.ndim != 1:
        raise ValueError(f"rewards must be 1-D (one reward per sample), got shape {arr.shape}")
    if arr.dtype in _NUMPY_WORK:
        out = arr.dtype
        work = _NUMPY_WORK[arr.dtype]
    elif arr.dtype.kind in "biu" or arr.size == 0:
        out = work = np.dtype(np.float64)
    else:
        raise TypeError(f"rewards must be real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=work), out


def _stats(n: int, t: tuple[int, int, int, int, int]) -> AdvantageStats:
    return AdvantageStats(n, *t)


# ---------------------------------------------------------------------------------------------
# Dispatch


def _estimate(
    kind: str,
    rewards: Any,
    groups: GroupIds | None,
    sizes: Sizes | None,
    backend: str,
    opts: dict[str, Any],
) -> tuple[Any, AdvantageStats | None]:
    """Run estimator ``kind`` on the chosen backend: ``(advantages, stats)``; ``stats`` may be
    ``None`` on the torch path, which computes them lazily (see ``_torch_estimate``)."""
    _check_choice("backend", backend, BACKENDS)
    if _is_torch(rewards):
        if rewards.ndim != 1:
            raise ValueError(
                f"rewards must be 1-D (one reward per sample), got shape {tuple(rewards.shape)}"
            )
        if backend == "torch" or (backend == "auto" and rewards.device.type != "cpu"):
            return _torch_estimate(kind, rewards, groups, sizes, opts)
        return _rust_on_tensor(kind, rewards, groups, sizes, opts)
    if backend == "torch":
        raise ValueError("backend='torch' needs torch tensor rewards; numpy input uses Rust")
    work, out_dtype = _numpy_rewards(rewards)
    adv, stats = _rust(kind, work, groups, sizes, opts)
    return adv.astype(out_dtype, copy=False), stats


def _rust(
    kind: str,
    work: npt.NDArray[Any],
    groups: GroupIds | None,
    sizes: Sizes | None,
    opts: dict[str, Any],
) -> tuple[npt.NDArray[Any], AdvantageStats]:
    gk = _group_kwargs(groups, sizes)
    if kind == "grpo":
        adv, t = _core.grpo_advantages(work, scale=opts["scale"], eps=opts["eps"], **gk)
    elif kind == "rloo":
        adv, t = _core.rloo_advantages(work, **gk)
    else:
        weights = opts["weights"]
        if weights is not None:
            if _is_torch(weights):
                weights = weights.detach().cpu().numpy()
            weights = np.ascontiguousarray(weights, dtype=np.float64)
            if weights.ndim != 1:
                raise ValueError(f"weights must be 1-D, got shape {weights.shape}")
        adv, t = _core.reinforce_pp_baseline_advantages(
            work, weights=weights, eps=opts["eps"], **gk
        )
    return adv, _stats(work.shape[0], t)


def _rust_on_tensor(
    kind: str,
    rewards: torch.Tensor,
    groups: GroupIds | None,
    sizes: Sizes | None,
    opts: dict[str, Any],
) -> tuple[torch.Tensor, AdvantageStats]:
    import torch

    x = rewards.detach()
    if x.dtype in (torch.float32, torch.float64):
        out_dtype = x.dtype
    elif x.dtype in (torch.float16, torch.bfloat16):
        out_dtype, x = x.dtype, x.float()
    elif not x.dtype.is_floating_point and not x.dtype.is_complex:
        out_dtype, x = torch.float64, x.double()
    else:
        raise TypeError(f"rewards must be real numbers, got dtype {x.dtype}")
    adv, stats = _rust(kind, x.cpu().numpy(), groups, sizes, opts)
    return torch.from_numpy(adv).to(device=rewards.device, dtype=out_dtype), stats


# ---------------------------------------------------------------------------------------------
# The torch implementation (CUDA, or forced with backend="torch")


class _LazyStats:
    """Stats of the torch path, read from the device only when asked for (a sync)."""

    def __init__(self, n: int, cnt: torch.Tensor, informative: torch.Tensor) -> None:
        self.n, self.cnt, self.informative = n, cnt, informative

    def get(self, n_unscorable: torch.Tensor) -> AdvantageStats:
        cnt, inf = self.cnt, self.informative
        return AdvantageStats(
            n_samples=self.n,
            n_groups=int(cnt.numel()),
            n_unscorable=int(n_unscorable.item()),
            n_singleton_groups=int((cnt == 1).sum().item()),
            n_zero_variance_groups=int(((cnt >= 2) & ~inf).sum().item()),
            n_empty_groups=int((cnt == 0).sum().item()),
        )


def _torch_group_index(
    groups: GroupIds | None, sizes: Sizes | None, n: int, device: torch.device
) -> tuple[torch.Tensor, int]:
    """``(index, n_groups)``: the group (0..n_groups-1) of each sample, on ``device``."""
    import torch

    if (groups is None) == (sizes is None):
        raise ValueError("give exactly one of groups (ids) or sizes")
    if groups is not None:
        ids = torch.as_tensor(groups, device=device) if not _is_torch(groups) else groups
        ids = ids.to(device)
        if ids.ndim != 1:
            raise ValueError(f"groups must be 1-D, got shape {tuple(ids.shape)}")
        if ids.numel() and (ids.dtype.is_floating_point or ids.dtype in (torch.bool,)):
            raise TypeError(f"groups must hold integers, got dtype {ids.dtype}")
        if ids.numel() != n:
            raise ValueError(f"rewards has length {n}, but groups has length {ids.numel()}")
        uniq, inv = torch.unique(ids, return_inverse=True)
        return inv, int(uniq.numel())
    size = _int_scalar(sizes)
    if size is not None:
        if size < 1 or n % size:
            raise ValueError(
                f"invalid groups: rewards has length {n}, which is not divisible by "
                f"group_size={size}"
            )
        return torch.arange(n, device=device) // size, n // size
    s = torch.as_tensor(_int_array(sizes, "sizes"), device=device)
    neg = (s < 0).nonzero()
    if neg.numel():
        i = int(neg[0, 0])
        raise ValueError(f"invalid groups: sizes[{i}] is {int(s[i])}; sizes must be >= 0")
    total = int(s.sum().item())
    if total != n:
        raise ValueError(f"invalid groups: sizes sum to {total}, but rewards has length {n}")
    return torch.repeat_interleave(torch.arange(s.numel(), device=device), s), int(s.numel())


def _torch_estimate(
    kind: str,
    rewards: torch.Tensor,
    groups: GroupIds | None,
    sizes: Sizes | None,
    opts: dict[str, Any],
) -> tuple[torch.Tensor, Any]:
    import torch

    dev = rewards.device
    if rewards.dtype.is_complex:
        raise TypeError(f"rewards must be real numbers, got dtype {rewards.dtype}")
    out_dtype = rewards.dtype if rewards.dtype.is_floating_point else torch.float64
    work = torch.float32 if dev.type == "mps" else torch.float64  # MPS has no float64
    x = rewards.detach().to(work)
    n = x.numel()
    inv, n_groups = _torch_group_index(groups, sizes, n, dev)
    inf_at = torch.isinf(x).nonzero()
    if inf_at.numel():
        i = int(inf_at[0, 0])
        raise ValueError(
            f"rewards[{i}] is {float(x[i])}; expected a finite number, or NaN for an "
            "unscorable sample"
        )
    mask = ~torch.isnan(x)
    zeros = x.new_zeros(n_groups)
    cnt = zeros.index_add(0, inv, mask.to(work))
    hi = torch.full_like(zeros, -torch.inf).scatter_reduce(
        0, inv, torch.where(mask, x, -torch.inf), "amax"
    )
    lo = torch.full_like(zeros, torch.inf).scatter_reduce(
        0, inv, torch.where(mask, x, torch.inf), "amin"
    )
    informative = (cnt >= 2) & (hi > lo)
    # Shift each group by its smallest reward before averaging (as the Rust core shifts by
    # the first): rewards that are large relative to their spread do not cancel.
    xs = torch.where(mask, x - torch.where(cnt > 0, lo, 0.0)[inv], 0.0)
    mean = zeros.index_add(0, inv, xs) / cnt.clamp(min=1)
    d = torch.where(mask, xs - mean[inv], 0.0)
    ss = zeros.index_add(0, inv, d * d)

    if kind == "grpo":
        eps, scale = opts["eps"], opts["scale"]
        if scale == "group":
            denom = (ss / (cnt - 1).clamp(min=1)).sqrt() + eps
        elif scale == "batch":
            total = mask.sum()
            m = torch.where(mask, x, 0.0).sum() / total.clamp(min=1)
            dev2 = torch.where(mask, (x - m) ** 2, 0.0).sum()
            sd = torch.where(total >= 2, (dev2 / (total - 1).clamp(min=1)).sqrt(), 0.0)
            denom = (sd + eps).expand(n_groups)
        else:
            denom = torch.ones_like(zeros)
        informative = informative & (denom > 0)
        adv = d / denom[inv]
    elif kind == "rloo":
        adv = d * (cnt / (cnt - 1).clamp(min=1))[inv]
    else:
        a = torch.where(mask & informative[inv], d, 0.0)
        w_in = opts["weights"]
        if w_in is None:
            w = torch.ones_like(x)
        else:
            w = torch.as_tensor(w_in, device=dev).to(work)
            if w.ndim != 1 or w.numel() != n:
                raise ValueError(f"rewards has length {n}, but weights has shape {tuple(w.shape)}")
            bad = (~(torch.isfinite(w) & (w >= 0))).nonzero()
            if bad.numel():
                i = int(bad[0, 0])
                raise ValueError(f"weights[{i}] is {float(w[i])}; expected a finite number >= 0")
        w = torch.where(mask, w, 0.0)
        sw = w.sum()
        mu = (w * a).sum() / sw
        var = (w * (a - mu) ** 2).sum() / (sw - 1)
        denom = (var + opts["eps"]).sqrt()
        ok = (sw > 1) & (denom > 0)
        adv = torch.where(ok, (a - mu) / denom, 0.0)
    keep = mask & informative[inv]
    adv = torch.where(keep, adv, 0.0).to(out_dtype)
    lazy = _LazyStats(n, cnt, informative)
    return adv, (lazy, n - mask.sum())


def _finish(result: tuple[Any, Any], return_stats: bool) -> Any:
    adv, stats = result
    if not return_stats:
        return adv
    if isinstance(stats, tuple):  # torch path: read the counts now
        lazy, n_unscorable = stats
        stats = lazy.get(n_unscorable)
    return adv, stats


# ---------------------------------------------------------------------------------------------
# Public estimators


@overload
def grpo(
    rewards: ArrayT,
    groups: GroupIds | None = ...,
    *,
    sizes: Sizes | None = ...,
    scale: Scale = ...,
    eps: float = ...,
    backend: Backend = ...,
    return_stats: Literal[False] = ...,
) -> ArrayT: ...
@overload
def grpo(
    rewards: ArrayT,
    groups: GroupIds | None = ...,
    *,
    sizes: Sizes | None = ...,
    scale: Scale = ...,
    eps: float = ...,
    backend: Backend = ...,
    return_stats: Literal[True],
) -> tuple[ArrayT, AdvantageStats]: ...
def grpo(
    rewards: Any,
    groups: GroupIds | None = None,
    *,
    sizes: Sizes | None = None,
    scale: Scale = "group",
    eps: float = 1e-6,
    backend: Backend = "auto",
    return_stats: bool = False,
) -> Any:
    """GRPO advantages, shape ``(B,)``: ``(r - mean_g) / (std_g + eps)``.

    Args:
        rewards: ``(B,)`` rewards (numpy array or torch tensor); NaN = unscorable.
        groups: ``(B,)`` integer group ids, any order, ragged sizes. Give this or ``sizes``.
        sizes: sizes of consecutive groups (summing to ``B``), or one ``int`` dividing ``B``.
        scale: ``"group"`` (std of the group, GRPO), ``"batch"`` (std of all scorable rewards
            of the batch) or ``"none"`` (no division: Dr. GRPO).
        eps: added to the std (ignored by ``"none"``); finite, >= 0.
        backend: ``"auto"``, ``"rust"`` or ``"torch"`` (see the module docstring).
        return_stats: also return an :class:`AdvantageStats`.

    Returns:
        ``(B,)`` advantages of the rewards' kind, dtype and device (and the stats). Unscorable
        samples, singleton groups and zero-variance groups get exactly 0. Stds are unbiased.

    Raises:
        ValueError: bad ``scale``/``eps``/``backend``, a length mismatch, bad sizes, ``±inf``.
        TypeError: non-numeric rewards or non-integer ids.
    """
    opts = {"scale": _check_choice("scale", scale, SCALES), "eps": _check_eps(eps)}
    return _finish(_estimate("grpo", rewards, groups, sizes, backend, opts), return_stats)


@overload
def rloo(
    rewards: ArrayT,
    groups: GroupIds | None = ...,
    *,
    sizes: Sizes | None = ...,
    backend: Backend = ...,
    return_stats: Literal[False] = ...,
) -> ArrayT: ...
@overload
def rloo(
    rewards: ArrayT,
    groups: GroupIds | None = ...,
    *,
    sizes: Sizes | None = ...,
    backend: Backend = ...,
    return_stats: Literal[True],
) -> tuple[ArrayT, AdvantageStats]: ...
def rloo(
    rewards: Any,
    groups: GroupIds | None = None,
    *,
    sizes: Sizes | None = None,
    backend: Backend = "auto",
    return_stats: bool = False,
) -> Any:
    """RLOO (leave-one-out) advantages, shape ``(B,)``: ``r_i - (sum_g - r_i) / (n_g - 1)``.

    The baseline of a sample is the mean reward of the *other* scorable samples of its group
    (``n_g`` counts scorable samples only), as in TRL's ``RLOOTrainer``. Equivalent to
    ``(r_i - mean_g) * n_g / (n_g - 1)``, so each group's advantages sum to 0.

    Args:
        rewards: ``(B,)`` rewards (numpy array or torch tensor); NaN = unscorable.
        groups: ``(B,)`` integer group ids, any order, ragged sizes. Give this or ``sizes``.
        sizes: sizes of consecutive groups (summing to ``B``), or one ``int`` dividing ``B``.
        backend: ``"auto"``, ``"rust"`` or ``"torch"`` (see the module docstring).
        return_stats: also return an :class:`AdvantageStats`.

    Returns:
        ``(B,)`` advantages of the rewards' kind, dtype and device (and the stats). Unscorable
        samples, singleton groups and zero-variance groups get exactly 0.
    """
    return _finish(_estimate("rloo", rewards, groups, sizes, backend, {}), return_stats)


@overload
def reinforce_pp_baseline(
    rewards: ArrayT,
    groups: GroupIds | None = ...,
    *,
    sizes: Sizes | None = ...,
    weights: Any | None = ...,
    eps: float = ...,
    backend: Backend = ...,
    return_stats: Literal[False] = ...,
) -> ArrayT: ...
@overload
def reinforce_pp_baseline(
    rewards: ArrayT,
    groups: GroupIds | None = ...,
    *,
    sizes: Sizes | None = ...,
    weights: Any | None = ...,
    eps: float = ...,
    backend: Backend = ...,
    return_stats: Literal[True],
) -> tuple[ArrayT, AdvantageStats]: ...
def reinforce_pp_baseline(
    rewards: Any,
    groups: GroupIds | None = None,
    *,
    sizes: Sizes | None = None,
    weights: Any | None = None,
    eps: float = 1e-8,
    backend: Backend = "auto",
    return_stats: bool = False,
) -> Any:
    """REINFORCE++ with a group baseline, shape ``(B,)``.

    ``a = r - mean_g``, then whitened over the scorable samples of the batch:
    ``(a - mu) / sqrt(var + eps)`` with ``mu = sum w a / sum w`` and the unbiased
    ``var = sum w (a - mu)^2 / (sum w - 1)``. With ``weights=None`` every sample weighs 1
    (sequence-level whitening); pass the response token counts to reproduce verl's
    token-level whitening exactly.

    Args:
        rewards: ``(B,)`` rewards (numpy array or torch tensor); NaN = unscorable.
        groups: ``(B,)`` integer group ids, any order, ragged sizes. Give this or ``sizes``.
        sizes: sizes of consecutive groups (summing to ``B``), or one ``int`` dividing ``B``.
        weights: optional ``(B,)`` non-negative weights of the whitening statistics.
        eps: added to the variance under the square root (verl: 1e-8); finite, >= 0.
        backend: ``"auto"``, ``"rust"`` or ``"torch"`` (see the module docstring).
        return_stats: also return an :class:`AdvantageStats`.

    Returns:
        ``(B,)`` advantages of the rewards' kind, dtype and device (and the stats). Unscorable
        samples, singleton and zero-variance groups get exactly 0 (the latter two still count
        in ``mu`` and ``var`` with ``a = 0``); if the scorable weight is at most 1, all are 0.
    """
    opts = {"weights": weights, "eps": _check_eps(eps)}
    return _finish(_estimate("reinforce_pp", rewards, groups, sizes, backend, opts), return_stats)


# ---------------------------------------------------------------------------------------------
# Broadcasting to tokens


@overload
def to_tokens(adv: ArrayT, response_mask: Any) -> ArrayT: ...
@overload
def to_tokens(adv: Sequence[float], response_mask: Any) -> npt.NDArray[np.float64]: ...
def to_tokens(adv: Any, response_mask: Any) -> Any:
    """Broadcast sequence advantages ``(B,)`` to tokens ``(B, T)`` under a response mask.

    Positions where ``response_mask`` is 0/False get exactly 0, every other position gets its
    sequence's advantage (the mask is a selector, not a multiplier). The result has the kind,
    dtype and device of ``adv``; the mask may be a numpy array, a torch tensor or a nested
    sequence, of any numeric or bool dtype.

    Raises:
        ValueError: ``adv`` is not 1-D, the mask is not 2-D, or their first dimensions differ.
    """
    if _is_torch(adv):
        import torch

        t = adv
        if t.ndim != 1:
            raise ValueError(f"adv must be 1-D (B,), got shape {tuple(t.shape)}")
        m = response_mask if _is_torch(response_mask) else torch.as_tensor(response_mask)
        m = m.to(t.device)
        _check_mask(tuple(t.shape), tuple(m.shape))
        sel = m if m.dtype == torch.bool else m != 0
        return torch.where(sel, t.unsqueeze(-1), t.new_zeros(()))
    a = np.asarray(adv)
    if a.ndim != 1:
        raise ValueError(f"adv must be 1-D (B,), got shape {a.shape}")
    if _is_torch(response_mask):
        response_mask = response_mask.detach().cpu().numpy()
    m_np = np.asarray(response_mask)
    _check_mask(a.shape, m_np.shape)
    return np.where(m_np != 0, a[:, None], a.dtype.type(0)).astype(a.dtype, copy=False)


def _check_mask(adv_shape: Sequence[int], mask_shape: Sequence[int]) -> None:
    if len(mask_shape) != 2:
        raise ValueError(f"response_mask must be 2-D (B, T), got shape {tuple(mask_shape)}")
    if mask_shape[0] != adv_shape[0]:
        raise ValueError(
            f"adv has {adv_shape[0]} sequences, but response_mask has {mask_shape[0]} rows"
        )
