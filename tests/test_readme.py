"""Every ```python block of README.md runs as written.

Each block runs in a fresh namespace (in a temporary working directory). A block whose first
line is ``# needs torch`` is skipped when torch is not installed; nothing else is skipped. A
top-level expression statement followed by a comment that is a Python literal
(``rlv.is_equiv("\\frac{1}{2}", "0.5")  # True``) must evaluate to that literal.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
NEEDS_TORCH = "# needs torch"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of every ```python block."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 5


def _trailing_comments(code: str) -> dict[int, str]:
    """Line number -> text of a comment that follows code on that line."""
    out: dict[int, str] = {}
    code_lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT:
            if tok.start[0] in code_lines:
                out[tok.start[0]] = tok.string[1:].strip()
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            code_lines.add(tok.start[0])
    return out


def _expected(comment: str) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(comment)
    except (ValueError, SyntaxError):
        return False, None  # prose, not a value


def run_block(code: str, name: str) -> int:
    """Run ``code`` statement by statement; returns how many ``# value`` comments it checked."""
    tree = ast.parse(code, filename=name)
    comments = _trailing_comments(code)
    ns: dict[str, Any] = {"__name__": "__readme__"}
    checked = 0
    for stmt in tree.body:
        assert stmt.end_lineno is not None
        has, want = _expected(comments.get(stmt.end_lineno, ""))
        if isinstance(stmt, ast.Expr) and has:
            got = eval(compile(ast.Expression(stmt.value), name, "eval"), ns)  # noqa: S307
            assert got == want, f"{name}, line {stmt.lineno}: got {got!r}, README says {want!r}"
            checked += 1
        else:
            exec(compile(ast.Module([stmt], type_ignores=[]), name, "exec"), ns)  # noqa: S102
    return checked


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"README.md:{n}" for n, _ in BLOCKS])
def test_readme_block_runs(
    line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if code.startswith(NEEDS_TORCH) and importlib.util.find_spec("torch") is None:
        pytest.skip("this README block needs torch")
    monkeypatch.chdir(tmp_path)
    run_block(code, f"README.md:{line}")


def test_value_comments_are_checked() -> None:
    assert run_block("x = 2\nx + 1  # 3\nx  # not a value\n", "t") == 1
    with pytest.raises(AssertionError, match="README says 4"):
        run_block("1 + 2  # 4\n", "t")


def test_train_extra_has_what_rlv_demo_needs() -> None:
    """README: `pip install ".[train]" && rlv demo` writes the plot (matplotlib) and reads
    Parquet / saved-dataset training data (pyarrow)."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    meta = tomllib.loads((README.parent / "pyproject.toml").read_text(encoding="utf-8"))
    train = {
        re.split(r"[<>=!~ \[]", r, maxsplit=1)[0]
        for r in meta["project"]["optional-dependencies"]["train"]
    }
    assert {"torch", "transformers", "pyyaml", "matplotlib", "pyarrow"} <= train
