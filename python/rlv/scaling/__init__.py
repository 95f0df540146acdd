"""The test-time-scaling wing: votes over N samples, the exact scaling estimators, rescoring
of sample dumps, and the writer of ``rlv sample`` dumps.

* :mod:`rlv.scaling.votes`: answer classes by math equivalence and votes over one pool
  (majority, verifier-weighted, Best-of-N); ``rlv.vote`` / ``rlv.vote_batch`` /
  ``rlv.cluster`` at the top level.
* :mod:`rlv.scaling.estimators`: pass@k, Best-of-k, majority@k, weighted@k per problem, their
  summaries with confidence intervals, and the efficiency ratio (re-exported here, so
  ``rlv.scaling.pass_at_k`` etc. work).
* :mod:`rlv.scaling.rescore`: ``rlv rescore``, the report of one or more sample dumps, its
  table and plot.
* :mod:`rlv.scaling.dump`: ``rlv sample``, the writer of sample dumps (imports the training
  stack; not imported here).
"""

from __future__ import annotations

from rlv.scaling.estimators import (
    ESTIMATORS,
    CiMethod,
    Efficiency,
    default_ks,
    efficiency_ratio,
    estimate,
    pass_at_k,
    summarize,
    summarize_moments,
)

__all__ = [
    "ESTIMATORS",
    "CiMethod",
    "Efficiency",
    "default_ks",
    "efficiency_ratio",
    "estimate",
    "pass_at_k",
    "summarize",
    "summarize_moments",
]
