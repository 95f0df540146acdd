"""Adapters that put RL^V into other trainers (TRL, verl): to come.

Each adapter turns its trainer's batch into the tensors of
:func:`rlv.rl.objective.rlv_objective` (log-probs, advantages, masks, the label-position
logits of sequences built by :func:`rlv.verifier.build_verification_batch`) and returns its
loss; none reimplements the objective.
"""
