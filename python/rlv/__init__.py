"""rlv: RL^V tooling with a Rust core.

The grading API (fast, budget-bounded math-answer extraction and equivalence) is available
at the top level::

    import rlv

    rlv.grade("... so the answer is $\\boxed{\\frac12}$", "0.5").correct      # True
    rewards, status = rlv.grade_batch(completions, golds, mode="strict")

Advantage estimators (GRPO / Dr. GRPO, RLOO, REINFORCE++-baseline; numpy or torch in, the
same kind out) are in :mod:`rlv.rl.advantages`, also ``rlv.advantages``::

    adv = rlv.advantages.grpo(rewards, group_ids)          # (B,) -> (B,)

Votes over N samples (answer classes by math equivalence) and the test-time-scaling
estimators are :func:`rlv.vote` and :mod:`rlv.scaling`; ``rlv rescore`` (:mod:`rlv.scaling.rescore`)
turns sample dumps into scaling curves.

Importing rlv never imports torch, vLLM or transformers.
"""

from rlv import scaling
from rlv._core import __version__
from rlv.exceptions import DumpError, InternalError, RlvError
from rlv.grading import (
    DEFAULT_FUEL,
    MODES,
    PERCENT_POLICIES,
    STATUS_CODES,
    STATUSES,
    Verdict,
    extract_answer,
    extract_answer_rule,
    extract_choice,
    grade,
    grade_batch,
    is_equiv,
    is_equiv_status,
)
from rlv.rl import advantages
from rlv.scaling.votes import Vote, cluster, vote, vote_batch

__all__ = [
    "DEFAULT_FUEL",
    "MODES",
    "PERCENT_POLICIES",
    "STATUSES",
    "STATUS_CODES",
    "DumpError",
    "InternalError",
    "RlvError",
    "Verdict",
    "Vote",
    "__version__",
    "advantages",
    "cluster",
    "extract_answer",
    "extract_answer_rule",
    "extract_choice",
    "grade",
    "grade_batch",
    "is_equiv",
    "is_equiv_status",
    "scaling",
    "vote",
    "vote_batch",
]
