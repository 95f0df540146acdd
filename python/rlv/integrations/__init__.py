"""Adapters that put RL^V into other trainers.

* :mod:`rlv.integrations.trl` (``pip install "rlv[trl]"``): ``RLVGRPOTrainer`` /
  ``RLVRLOOTrainer`` and a TRL reward function on rlv's grader (docs/trl.md).
* :mod:`rlv.integrations.verl` (``pip install "rlv[verl]"``): a verl plug-in (``verl.plugins``
  entry point): reward function and batched reward manager on rlv's grader, exact validation
  metrics, verification rows and the RL^V actor loss (docs/verl.md).

Each adapter turns its trainer's batch into the tensors of rlv's objective (log-probs,
advantages, masks, the label-position logits of sequences built by
:func:`rlv.verifier.build_verification_batch`) and adds its verification term; none
reimplements the objective. Importing this package imports no framework.
"""
