"""Import hygiene: the torch-free part of rlv never pulls a machine-learning framework.

Each module is imported in a fresh interpreter (``sys.modules`` of this test process already
holds whatever other tests imported) and must leave none of the heavy frameworks in
``sys.modules``. Grading, votes, estimators, rescoring, configs, tasks and the CLI's start-up
must stay usable with ``pip install rlv`` alone and cheap to import; the training-side modules
(models, losses, the trainer, generation backends) import torch lazily or at the top and are
not listed. ``hypothesis`` belongs to ``rlv.testing`` only.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

ML_FRAMEWORKS = ("torch", "transformers", "tokenizers", "vllm", "trl", "verl", "tensorflow", "jax")

# (module, code run after importing it): the code exercises lazily imported paths.
TORCH_FREE = [
    ("rlv", "rlv.grade('1', '1'); rlv.is_equiv('1/2', '0.5'); rlv.vote(['1', '1.0'])"),
    ("rlv.grading", ""),
    ("rlv.exceptions", ""),
    ("rlv.cli", ""),
    ("rlv.rl", "import rlv.rl.advantages; assert rlv.advantages is rlv.rl.advantages"),
    ("rlv.rl.advantages", ""),
    ("rlv.rl.losses", ""),
    ("rlv.scaling", ""),
    ("rlv.scaling.votes", ""),
    ("rlv.scaling.estimators", ""),
    ("rlv.scaling.rescore", ""),
    ("rlv.scaling.dump", ""),
    ("rlv.scaling.budgets", ""),
    ("rlv.scaling.lengths", ""),
    ("rlv.training", ""),
    ("rlv.training.config", ""),
    ("rlv.integrations", ""),
    ("rlv.integrations", "import importlib.util as u; assert u.find_spec('rlv.integrations.verl')"),
    ("rlv.tasks", ""),
    ("rlv.testing", ""),
    ("rlv.testing.strategies", ""),
    ("rlv.testing.checks", ""),
    ("rlv.testing.plugin", ""),
    ("rlv.testing.conformance", ""),
]


@pytest.mark.parametrize(("module", "code"), TORCH_FREE, ids=[m for m, _ in TORCH_FREE])
def test_module_does_not_pull_ml_frameworks(module: str, code: str) -> None:
    forbidden = ML_FRAMEWORKS
    if module != "rlv.testing" and not module.startswith("rlv.testing."):
        forbidden += ("hypothesis",)
    script = (
        f"import sys, {module}\n"
        f"{code}\n"
        f"bad = sorted(m for m in {forbidden!r} if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, f"import {module} failed:\n{out.stderr}"
    assert out.stdout.strip() == "", f"import {module} pulled in {out.stdout.strip()}"
