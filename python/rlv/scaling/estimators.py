"""Test-time-scaling estimators and the efficiency ratio.

For each k in 1, 2, 4, ... up to N (the samples of a problem):

* ``pass``: unbiased pass@k, ``1 - C(N-c, k) / C(N, k)``;
* ``best_of_n``: Best-of-k, exact closed form over the samples sorted by verifier score (ties
  in score count as a uniform choice among the tied samples);
* ``majority`` / ``weighted``: mean over R random k-subsets (default R = 100, seeded by
  ``(seed, problem index, k)``, so the numbers are the same for any thread count). A tie
  between t classes earns c/t when c of them are correct. k = 1 and k = N are exact.

Per-problem estimates are averaged over problems; confidence intervals are across problems
(normal approximation by default, or a percentile bootstrap). See ``docs/votes.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rlv import _core

__all__ = [
    "ESTIMATORS",
    "Efficiency",
    "default_ks",
    "efficiency_ratio",
    "estimate",
    "pass_at_k",
    "summarize",
    "summarize_moments",
]

#: Order of the estimator axis of :func:`estimate`'s result.
ESTIMATORS: tuple[str, ...] = ("pass", "majority", "weighted", "best_of_n")

CiMethod = Literal["normal", "bootstrap"]


def default_ks(n: int) -> list[int]:
    """1, 2, 4, ... up to ``n``, plus ``n`` itself when it is not a power of two."""
    if n < 1:
        return []
    ks = [1 << i for i in range(n.bit_length()) if (1 << i) <= n]
    if ks[-1] != n:
        ks.append(n)
    return ks


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples with ``c`` correct (NaN when ``k > n``)."""
    if k < 1 or c < 0 or c > n:
        raise ValueError(f"need 1 <= k and 0 <= c <= n, got n={n}, c={c}, k={k}")
    if k > n:
        return math.nan
    r = 1.0
    for i in range(k):
        if n - c - i <= 0:
            return 1.0
        r *= (n - c - i) / (n - i)
    return 1.0 - r


def estimate(
    class_of: Sequence[npt.ArrayLike],
    class_correct: Sequence[npt.ArrayLike],
    sample_correct: Sequence[npt.ArrayLike],
    scores: Sequence[npt.ArrayLike] | None = None,
    *,
    ks: Sequence[int],
    subsets: int = 100,
    seed: int = 0,
    first_index: int = 0,
    num_threads: int | None = None,
) -> npt.NDArray[np.float64]:
    """Per-problem estimates, shape ``(problems, 4, len(ks))`` in :data:`ESTIMATORS` order.

    Args:
        class_of: per problem, the class of each sample (``-1``: no readable answer), e.g.
            from :func:`rlv.cluster`.
        class_correct: per problem, whether each class is correct.
        sample_correct: per problem, whether each sample is correct (pass@k, Best-of-k).
        scores: per problem, verifier scores in [0, 1]; without them the weighted and
            Best-of-k rows are NaN.
        ks: the k values; NaN where k exceeds a problem's sample count.
        subsets: R, random subsets per k for majority@k / weighted@k.
        seed: seed of the subsets; problem ``i`` uses stream ``(seed, first_index + i, k)``.
    """
    return _core.estimate(
        [np.ascontiguousarray(c, dtype=np.int32).reshape(-1) for c in class_of],
        [np.ascontiguousarray(c, dtype=np.bool_).reshape(-1) for c in class_correct],
        [np.ascontiguousarray(c, dtype=np.bool_).reshape(-1) for c in sample_correct],
        None
        if scores is None
        else [np.ascontiguousarray(s, dtype=np.float64).reshape(-1) for s in scores],
        ks=[int(k) for k in ks],
        subsets=int(subsets),
        seed=int(seed),
        first_index=int(first_index),
        num_threads=num_threads,
    )


def _z(level: float) -> float:
    # Inverse normal CDF by bisection on erf (no scipy dependency).
    target = 0.5 + level / 2
    lo, hi = 0.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _point(
    out: dict[str, Any], name: str, k: int, mean: float, lo: float, hi: float, n: int
) -> None:
    out["curves"].setdefault(name, {})[str(k)] = float(mean)
    out["ci"].setdefault(name, {})[str(k)] = [float(lo), float(hi)]
    out["counts"].setdefault(name, {})[str(k)] = int(n)


def summarize_moments(
    n: npt.ArrayLike,
    s1: npt.ArrayLike,
    s2: npt.ArrayLike,
    ks: Sequence[int],
    *,
    level: float = 0.95,
) -> dict[str, Any]:
    """Normal-approximation summary from running moments over problems: ``n`` (count), ``s1``
    (sum) and ``s2`` (sum of squares) of the defined estimates, each of shape
    ``(4, len(ks))``. Streaming callers (``rlv rescore``) keep only these. Same result shape
    as :func:`summarize`."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    nn, m1, m2 = (np.asarray(x, dtype=np.float64) for x in (n, s1, s2))
    z = _z(level)
    out: dict[str, Any] = {"curves": {}, "ci": {}, "counts": {}}
    for m, name in enumerate(ESTIMATORS):
        for j, k in enumerate(ks):
            cnt = int(nn[m, j])
            if cnt == 0:
                continue
            mean = m1[m, j] / cnt
            var = max(0.0, (m2[m, j] - cnt * mean * mean) / (cnt - 1)) if cnt > 1 else 0.0
            half = z * math.sqrt(var / cnt)
            _point(out, name, k, mean, max(0.0, mean - half), min(1.0, mean + half), cnt)
    return {**out, "ci_method": "normal", "ci_level": level}


def summarize(
    estimates: npt.ArrayLike,
    ks: Sequence[int],
    *,
    ci: CiMethod = "normal",
    level: float = 0.95,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Mean curves and confidence intervals across problems.

    ``estimates`` is :func:`estimate`'s ``(problems, 4, len(ks))`` array. Problems where an
    estimate is NaN (k larger than their sample count, or no scores) are left out of that
    point, and ``counts`` says how many problems each point averages. Methods with no
    defined point at all are omitted.

    Returns ``{"curves": {method: {str(k): acc}}, "ci": {method: {str(k): [lo, hi]}},
    "counts": {method: {str(k): n}}, "ci_method": ..., "ci_level": ...}``.
    """
    est = np.asarray(estimates, dtype=np.float64)
    if est.ndim != 3 or est.shape[1] != len(ESTIMATORS) or est.shape[2] != len(ks):
        raise ValueError(f"estimates must have shape (problems, 4, {len(ks)}), got {est.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    ok = ~np.isnan(est)
    v = np.where(ok, est, 0.0)
    if ci == "normal":
        return summarize_moments(
            ok.sum(axis=0), v.sum(axis=0), (v * v).sum(axis=0), ks, level=level
        )
    if ci != "bootstrap":
        raise ValueError(f"ci must be 'normal' or 'bootstrap', got {ci!r}")
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"curves": {}, "ci": {}, "counts": {}}
    for m, name in enumerate(ESTIMATORS):
        for j, k in enumerate(ks):
            col = est[:, m, j][ok[:, m, j]]
            if col.size == 0:
                continue
            idx = rng.integers(0, col.size, size=(bootstrap, col.size))
            lo, hi = np.quantile(col[idx].mean(axis=1), [(1 - level) / 2, (1 + level) / 2])
            _point(out, name, k, col.mean(), lo, hi, col.size)
    return {**out, "ci_method": "bootstrap", "ci_level": level}


@dataclass(frozen=True)
class Efficiency:
    """How many times more samples the baseline needs to match the target's accuracy.

    Attributes:
        per_k: for each k of the target: the ratio ``N_baseline / k`` (``N_baseline`` read
            by linear interpolation of the baseline curve on the log2(N) axis), or ``None``
            when the baseline never reaches the target's accuracy.
        at_least: for the ``None`` entries, the lower bound ``max baseline N / k``.
        headline: the ratio at the largest k where it is defined (``None`` if none).
        headline_k: that k.
    """

    per_k: dict[int, float | None]
    at_least: dict[int, float]
    headline: float | None
    headline_k: int | None


def _points(curve: Mapping[Any, float]) -> list[tuple[int, float]]:
    pts = sorted((int(k), float(v)) for k, v in curve.items())
    if not pts:
        raise ValueError("empty curve")
    return pts


def efficiency_ratio(baseline: Mapping[Any, float], target: Mapping[Any, float]) -> Efficiency:
    """The paper's "x-times more efficient": for each k of ``target``, the samples the
    ``baseline`` curve needs to reach ``target[k]``, divided by k.

    Curves map k (int or str, as in reports) to accuracy. The baseline is made monotone (its
    running maximum) before it is read, so a dip does not create a spurious crossing.
    """
    base = _points(baseline)
    xs = [math.log2(k) for k, _ in base]
    ys = [float(y) for y in np.maximum.accumulate([a for _, a in base])]
    per_k: dict[int, float | None] = {}
    at_least: dict[int, float] = {}
    for k, acc in _points(target):
        if acc > ys[-1]:
            per_k[k] = None
            at_least[k] = base[-1][0] / k
            continue
        i = next(i for i, y in enumerate(ys) if y >= acc)
        if i == 0:
            n = 2.0 ** xs[0]
        else:
            x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
            n = 2.0 ** (x0 + (acc - y0) / (y1 - y0) * (x1 - x0))
        per_k[k] = float(n / k)
    defined = [k for k, r in per_k.items() if r is not None]
    hk = max(defined) if defined else None
    return Efficiency(
        per_k=per_k,
        at_least=at_least,
        headline=per_k[hk] if hk is not None else None,
        headline_k=hk,
    )
