"""The shared grading table, ``tests/grading_table.jsonl``, through the Python API.

The same file is read by the Rust core's ``rust/rlv-core/tests/grading_table.rs`` (``cargo
test``), so the core and the binding are held to one set of hand-checked verdicts. One row per
line, in the format of a ``rlv conformance`` corpus (``rlv conformance
tests/grading_table.jsonl`` runs it too):

* ``kind``: ``answer_equiv`` (two extracted answers, :func:`rlv.is_equiv_status`) or ``grade``
  (a full ``completion`` against the gold, :func:`rlv.grade`);
* ``category``: the class of inputs (one per former table group and per issue-20 class of
  false positives);
* ``expected``: whether the verdict is ``equal``; ``options``: keyword options of the call;
  ``note``: why the row is there, where that is not obvious.

Every expectation is the mathematically correct verdict under rlv's documented policies
(nothing is marked xfail: a failing row is a grader bug to fix):

* a decimal written with d decimals equals an exact value iff it is that value correctly
  rounded, i.e. ``|exact - decimal| <= 0.5 * 10**-d`` (``0.33`` = 1/3, ``0.34`` != 1/3);
  two decimals, or a decimal and an integer/fraction that it represents exactly, compare
  exactly (``1e-30`` != ``2e-30``);
* ``percent="strip"`` by default: ``50\\%`` is 50; ``"value"``: 0.5; ``"either"``: both;
* bare comma lists are unordered by default (``ordered_lists=True``: ordered); tuples are
  ordered; sets are unordered;
* units, ``\\text{}`` wrappers, currency signs and degree signs are dropped;
* an equation ``x = 3`` equals its right-hand side ``3``; equations are equal when one is a
  non-zero multiple of the other;
* an inequality may equal the matching interval (``interval_inequality=True``).

The corpus shipped inside the package for ``rlv conformance`` with no FILE is a subset of this
table (checked below): it has to live in the wheel, the table does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rlv

TABLE_PATH = Path(__file__).with_name("grading_table.jsonl")
KINDS = {"answer_equiv": "pred", "grade": "completion"}


def _load(path: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


ROWS = _load(TABLE_PATH)


def _key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """What a row asks: kind, gold, answer or completion, options (not its id or category)."""
    kind = row["kind"]
    return (kind, row["gold"], row[KINDS[kind]], json.dumps(row.get("options", {}), sort_keys=True))


def test_table_is_well_formed() -> None:
    assert len(ROWS) >= 677, "rows were lost from grading_table.jsonl"
    assert len({r["id"] for r in ROWS}) == len(ROWS), "duplicate ids"
    assert len({_key(r) for r in ROWS}) == len(ROWS), "duplicate rows"
    allowed = {"id", "kind", "category", "gold", "expected", "options", "note", *KINDS.values()}
    for r in ROWS:
        assert r["kind"] in KINDS, r
        assert set(r) <= allowed, r
        assert isinstance(r["expected"], bool), r
        assert isinstance(r["gold"], str) and isinstance(r[KINDS[r["kind"]]], str), r
        assert isinstance(r["category"], str) and r["category"], r
        assert isinstance(r.get("options", {}), dict), r


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r["kind"] == "answer_equiv"], ids=lambda r: r["id"]
)
def test_is_equiv_table(row: dict[str, Any]) -> None:
    gold, pred, opts = row["gold"], row["pred"], row.get("options", {})
    status = rlv.is_equiv_status(gold, pred, **opts)
    assert (status == "equal") is row["expected"], (
        f"is_equiv({gold!r}, {pred!r}, {opts}) -> {status}, expected {row['expected']}"
    )
    # Equality is symmetric: the swapped pair gets the same verdict.
    swapped = rlv.is_equiv_status(pred, gold, **opts)
    assert (swapped == "equal") is (status == "equal"), (
        f"asymmetric: {gold!r} vs {pred!r} ({opts}): {status} / {swapped}"
    )


@pytest.mark.parametrize("row", [r for r in ROWS if r["kind"] == "grade"], ids=lambda r: r["id"])
def test_grade_table(row: dict[str, Any]) -> None:
    completion, gold, opts = row["completion"], row["gold"], row.get("options", {})
    v = rlv.grade(completion, gold, **opts)
    assert v.correct is row["expected"], f"grade({completion!r}, {gold!r}, {opts}) -> {v}"


def test_shipped_corpus_is_part_of_the_table() -> None:
    """Every case of the corpus shipped in the package is a table row with the same verdict."""
    from rlv.testing.conformance import default_cases_path

    shipped = _load(default_cases_path())
    assert shipped
    table = {_key(r): r["expected"] for r in ROWS}
    missing = [c["id"] for c in shipped if _key(c) not in table]
    assert not missing, f"shipped cases missing from grading_table.jsonl: {missing}"
    differ = [c["id"] for c in shipped if table[_key(c)] is not c["expected"]]
    assert not differ, f"shipped cases whose verdict differs from the table: {differ}"
