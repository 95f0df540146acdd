"""Every error class of rlv lives in ``rlv.exceptions`` and is an ``RlvError``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rlv
from rlv import exceptions

PACKAGE = Path(rlv.__file__).resolve().parent


def test_every_error_is_an_rlv_error_with_its_builtin_base() -> None:
    assert set(exceptions.__all__) == {
        "BackendUnavailableError",
        "ConfigError",
        "DataError",
        "DumpError",
        "InternalError",
        "RlvError",
        "RunDirError",
    }
    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), exceptions.RlvError), name
    for name in ("ConfigError", "DataError", "RunDirError"):
        assert issubclass(getattr(exceptions, name), ValueError), name
    # callers that catch ImportError for a missing backend keep working
    with pytest.raises(ImportError):
        raise exceptions.BackendUnavailableError("vLLM is not installed")


def test_no_module_defines_its_own_error_class() -> None:
    """A public error class defined anywhere in the package but ``exceptions.py`` (a private
    one that never leaves its module, such as the CLI's report-loading signal, is allowed)."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "exceptions.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ClassDef)
                and node.name.endswith("Error")
                and not node.name.startswith("_")
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert found == []


def test_data_error_names_its_location() -> None:
    err = exceptions.DataError("bad field", path="x.jsonl", line=3, field="answer")
    assert str(err) == "x.jsonl:3: bad field"
    assert (err.path, err.line, err.field) == ("x.jsonl", 3, "answer")
