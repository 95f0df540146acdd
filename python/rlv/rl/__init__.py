"""The RL wing: advantage estimators (:mod:`rlv.rl.advantages`), the policy-side losses
(:mod:`rlv.rl.losses`) and the RL^V objective (:mod:`rlv.rl.objective`), the one function a
trainer calls after its forward pass.

Importing this package (and :mod:`rlv.rl.advantages`, :mod:`rlv.rl.losses`) does not import
torch; :mod:`rlv.rl.objective` does.
"""
