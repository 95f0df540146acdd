"""Names of the loss options (aggregation modes, KL estimators, verifier softmax modes), in a
module without torch so that configuration can be checked before torch is imported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

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

VERIFIER_MODES: Final[tuple[str, ...]] = ("full", "yes_no")
"""Softmax of :func:`verification_loss`: the full vocabulary, or the two label tokens."""
