"""The ``>>>`` examples in rlv's docstrings run and print what they say.

Modules are found by their source text (every module of the installed package that holds a
``>>>`` line), so a module that moves or gains an example is picked up without a list here.
A module whose import needs torch / transformers is skipped when they are not installed.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import rlv

PACKAGE_DIR = Path(rlv.__file__).parent
OPTIONAL = {"torch", "transformers", "vllm"}


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def test_examples_are_found() -> None:
    assert "rlv.grading" in MODULES, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name not in OPTIONAL:
            raise
        pytest.skip(f"{name} needs {e.name}")
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has a '>>>' line but no example doctest can find"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
