"""Problems and data sets: JSONL loading (MATH-500, GSM8K, custom fields) and a synthetic
arithmetic task for character-level tiny models.

* :class:`Problem`: one prompt with its gold answer and, optionally, a demonstration
  solution (and whether that solution's final answer is right).
* :func:`load_jsonl`: a JSONL file of problems; MATH-500 and GSM8K are recognised by their
  fields. Malformed files raise :class:`DataError` naming the file, line and field.
* :class:`ArithmeticTask`: multi-step addition/subtraction chains (``"37+48-12=?\\n"``) with
  exact golds and step-by-step solutions, a controlled fraction of which contain one typical
  human slip (a forgotten carry or borrow)::

      from rlv.tasks import ArithmeticTask

      task = ArithmeticTask(min_steps=2, max_steps=3, error_rate=0.3)
      train = task.sample(1000, seed=0)                 # split="train"
      test = task.sample(100, seed=0, split="test")     # disjoint prompts
      train[0].prompt, train[0].solution, train[0].gold

This module needs only the standard library (it never imports torch or transformers).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

from rlv.exceptions import DataError

__all__ = [
    "SPLITS",
    "ArithmeticTask",
    "Problem",
    "load_jsonl",
    "load_problems_file",
    "split_of",
]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem: a prompt, its gold answer and an optional demonstration solution."""

    id: str
    """Unique within a data set."""
    prompt: str
    """The text given to the model."""
    gold: str
    """The reference final answer (what the grader compares against)."""
    solution: str | None = None
    """A worked solution ending in the final answer, if the data set has one."""
    solution_correct: bool | None = None
    """Whether ``solution``'s final answer equals ``gold`` (``None`` without a solution)."""


# ---------------------------------------------------------------------------------------------
# JSONL data sets


class _Format(NamedTuple):
    name: str
    prompt_field: str
    gold_field: str
    gsm8k_gold: bool  # the gold is the text after the last "####" of the gold field
    solution_field: str | None


def _detect_format(
    record: dict[str, Any],
    prompt_field: str | None,
    gold_field: str | None,
    path: Path,
    line: int,
) -> _Format:
    """The format of a file, from its first record and the explicit fields."""
    if prompt_field is not None and gold_field is not None:
        return _Format("custom", prompt_field, gold_field, False, None)
    if "problem" in record and "answer" in record:
        detected = _Format("math", "problem", "answer", False, "solution")
    elif "question" in record and "answer" in record:
        detected = _Format("gsm8k", "question", "answer", True, "answer")
    else:
        missing = "prompt_field and gold_field" if prompt_field is None else "gold_field"
        raise DataError(
            "cannot detect the data set format from the fields "
            f"{sorted(record)!r} (MATH-500: 'problem' and 'answer'; GSM8K: 'question' and "
            f"'answer'); pass {missing}",
            path=path,
            line=line,
        )
    return _Format(
        detected.name,
        prompt_field if prompt_field is not None else detected.prompt_field,
        gold_field if gold_field is not None else detected.gold_field,
        detected.gsm8k_gold and gold_field is None,
        detected.solution_field,
    )


def _gsm8k_gold(text: str, path: Path, line: int, field: str) -> str:
    if "####" not in text:
        raise DataError(
            f"gold field {field!r} has no '####' line", path=path, line=line, field=field
        )
    gold = text.rsplit("####", 1)[1].strip().replace(",", "")
    if not gold:
        raise DataError(
            f"gold field {field!r} has nothing after its last '####'",
            path=path,
            line=line,
            field=field,
        )
    return gold


def _record_id(
    record: dict[str, Any], id_field: str | None, stem: str, path: Path, line: int
) -> tuple[str, str | None]:
    """``(id, field it came from)``."""
    field = id_field if id_field is not None else ("unique_id" if "unique_id" in record else None)
    if field is None:
        return f"{stem}-{line}", None
    if field not in record:
        raise DataError(f"missing id field {field!r}", path=path, line=line, field=field)
    value = record[field]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DataError(
            f"id field {field!r} must be a string or an integer, not {type(value).__name__}",
            path=path,
            line=line,
            field=field,
        )
    text = str(value)
    if not text.strip():
        raise DataError(f"empty id field {field!r}", path=path, line=line, field=field)
    return text, field


def _parse_record(
    record: dict[str, Any], fmt: _Format, template: str, path: Path, line: int
) -> tuple[str, str, str | None]:
    """``(prompt, gold, solution)`` of one record."""
    pf, gf = fmt.prompt_field, fmt.gold_field
    if pf not in record:
        raise DataError(f"missing prompt field {pf!r}", path=path, line=line, field=pf)
    prompt = record[pf]
    if not isinstance(prompt, str):
        raise DataError(
            f"prompt field {pf!r} must be a string, not {type(prompt).__name__}",
            path=path,
            line=line,
            field=pf,
        )
    if not prompt.strip():
        raise DataError(f"empty prompt field {pf!r}", path=path, line=line, field=pf)

    if gf not in record:
        raise DataError(f"missing gold field {gf!r}", path=path, line=line, field=gf)
    raw_gold = record[gf]
    if isinstance(raw_gold, bool) or not isinstance(raw_gold, (str, int)):
        raise DataError(
            f"gold field {gf!r} must be a string or an integer, not {type(raw_gold).__name__}",
            path=path,
            line=line,
            field=gf,
        )
    gold_text = str(raw_gold)
    gold = _gsm8k_gold(gold_text, path, line, gf) if fmt.gsm8k_gold else gold_text.strip()
    if not gold:
        raise DataError(f"empty gold field {gf!r}", path=path, line=line, field=gf)

    solution: str | None = None
    if fmt.solution_field is not None:
        value = record.get(fmt.solution_field)
        if isinstance(value, str) and value.strip():
            solution = value
    return template.replace("{prompt}", prompt), gold, solution


def load_jsonl(
    path: str | os.PathLike[str],
    *,
    prompt_field: str | None = None,
    gold_field: str | None = None,
    id_field: str | None = None,
    prompt_template: str = "{prompt}",
) -> list[Problem]:
    """Read a JSONL file of problems (one JSON object per line; blank lines are skipped).

    Without explicit fields the format is recognised from the first record:

    * **MATH-500** (``problem``, ``answer``): the gold is ``answer``; ``solution`` (if
      present) is kept as the solution, with ``solution_correct=True``.
    * **GSM8K** (``question``, ``answer``): the gold is the text after the last ``####``
      of ``answer``, stripped, with thousands separators (commas) removed; the whole
      ``answer`` is the solution (``solution_correct=True``).

    ``prompt_field`` / ``gold_field`` override the detected fields (an explicit
    ``gold_field`` is taken verbatim, without ``####`` parsing); with both given, any file
    works and problems have no solution. Golds are stripped of surrounding whitespace; an
    integer gold is converted to a string.

    Ids: the value of ``id_field`` if given, else ``unique_id`` if the record has one, else
    ``"{file stem}-{line number}"`` (1-based).

    Args:
        path: the JSONL file (UTF-8).
        prompt_field, gold_field, id_field: explicit field names.
        prompt_template: the prompt is this template with ``{prompt}`` replaced by the
            record's prompt. Only ``{prompt}`` is substituted; other braces are kept (so
            ``"{prompt} Put the answer in \\\\boxed{}."`` needs no escaping).

    Returns:
        The problems, in file order (an empty file gives an empty list).

    Raises:
        DataError: invalid UTF-8 or JSON, a line that is not an object, a missing, empty or
            non-string prompt, a missing or empty gold (for GSM8K: no ``####``), a bad or
            duplicate id, or an unrecognised format; the message names the file and line.
        ValueError: a ``prompt_template`` without ``{prompt}``.
        FileNotFoundError: no such file.
    """
    _check_template(prompt_template)
    file = Path(path)
    with file.open("rb") as f:
        return _problems(
            _jsonl_records(f, file), file, file.stem, prompt_field, gold_field, id_field,
            prompt_template,
        )  # fmt: skip


def _check_template(prompt_template: str) -> None:
    if not isinstance(prompt_template, str) or "{prompt}" not in prompt_template:
        raise ValueError(f"prompt_template must contain '{{prompt}}', got {prompt_template!r}")


def _jsonl_records(f: Any, file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for line_no, raw in enumerate(f, start=1):
        try:
            text = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"invalid UTF-8: {exc.reason}", path=file, line=line_no) from exc
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"invalid JSON: {exc.msg} (column {exc.colno})", path=file, line=line_no
            ) from exc
        if not isinstance(record, dict):
            raise DataError(
                f"expected a JSON object, got {type(record).__name__}", path=file, line=line_no
            )
        yield line_no, record


def _problems(
    records: Iterable[tuple[int, dict[str, Any]]],
    file: Path,
    stem: str,
    prompt_field: str | None,
    gold_field: str | None,
    id_field: str | None,
    prompt_template: str,
) -> list[Problem]:
    """Problems of ``(line or row number, record)`` pairs (see :func:`load_jsonl`)."""
    problems: list[Problem] = []
    first_line_of: dict[str, int] = {}
    fmt: _Format | None = None
    for line_no, record in records:
        if fmt is None:
            fmt = _detect_format(record, prompt_field, gold_field, file, line_no)
        prompt, gold, solution = _parse_record(record, fmt, prompt_template, file, line_no)
        pid, id_from = _record_id(record, id_field, stem, file, line_no)
        if pid in first_line_of:
            raise DataError(
                f"duplicate id {pid!r} (first on line {first_line_of[pid]})",
                path=file,
                line=line_no,
                field=id_from,
            )
        first_line_of[pid] = line_no
        problems.append(
            Problem(
                id=pid,
                prompt=prompt,
                gold=gold,
                solution=solution,
                solution_correct=None if solution is None else True,
            )
        )
    return problems


def load_problems_file(
    path: str | os.PathLike[str],
    *,
    prompt_field: str | None = None,
    gold_field: str | None = None,
    id_field: str | None = None,
    prompt_template: str = "{prompt}",
) -> list[Problem]:
    """Read problems from JSONL, Parquet or a saved Hugging Face dataset directory.

    * a directory: a ``datasets.Dataset.save_to_disk`` directory, read with pyarrow (the
      ``datasets`` package is not needed): the Arrow stream files listed in its
      ``state.json`` (``_data_files``), in order. A ``DatasetDict`` directory (with
      ``dataset_dict.json``) is a :class:`DataError` naming its splits: point at one split's
      directory (``DIR/train``);
    * a ``.parquet`` file: read with pyarrow;
    * anything else: JSONL (:func:`load_jsonl`).

    Records are read exactly as JSONL objects are (same format detection, fields, ids and
    errors); for Parquet and Arrow the "line" in error messages is the 1-based row number,
    and the default id is ``"{name}-{row}"``. pyarrow is in the ``train`` extra; without it
    reading Parquet or Arrow raises an ``ImportError`` saying so.
    """
    _check_template(prompt_template)
    p = Path(path)
    if p.is_dir():
        return _problems(
            _rows(_arrow_dir_tables(p)), p, p.name, prompt_field, gold_field, id_field,
            prompt_template,
        )  # fmt: skip
    if p.suffix.lower() == ".parquet":
        if not p.is_file():
            raise FileNotFoundError(f"no such file: {p}")
        pq = _pyarrow("parquet")
        try:
            table = pq.read_table(p)
        except _pyarrow().ArrowException as e:  # ArrowInvalid, ArrowIOError, ...
            raise DataError(f"not a readable Parquet file: {e}", path=p) from e
        return _problems(
            _rows([table]), p, p.stem, prompt_field, gold_field, id_field, prompt_template
        )
    return load_jsonl(
        p,
        prompt_field=prompt_field,
        gold_field=gold_field,
        id_field=id_field,
        prompt_template=prompt_template,
    )


def _pyarrow(sub: str = "") -> Any:
    import importlib

    name = f"pyarrow.{sub}" if sub else "pyarrow"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        raise ImportError(
            f'reading Parquet files and saved datasets needs pyarrow: pip install "rlv[train]" '
            f"({e})"
        ) from e


def _arrow_dir_tables(root: Path) -> list[Any]:
    if (root / "dataset_dict.json").is_file():
        try:
            splits = json.loads((root / "dataset_dict.json").read_text(encoding="utf-8"))["splits"]
        except (ValueError, KeyError, TypeError) as e:
            raise DataError(f"unreadable dataset_dict.json ({e})", path=root) from e
        raise DataError(
            "a saved DatasetDict, not one dataset: use one split's directory, e.g. "
            + ", ".join(str(root / str(s)) for s in splits),
            path=root,
        )
    state_file = root / "state.json"
    if not state_file.is_file():
        raise DataError(
            "a directory, but not a saved Hugging Face dataset (no state.json; "
            "Dataset.save_to_disk writes one)",
            path=root,
        )
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        names = [str(f["filename"]) for f in state["_data_files"]]
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"state.json does not list the data files ({e})", path=root) from e
    if not names:
        raise DataError("state.json lists no data files", path=root)
    pa = _pyarrow()
    tables = []
    for name in names:
        f = root / name
        if not f.is_file():
            raise DataError(f"data file {name} listed in state.json is missing", path=root)
        try:
            with pa.memory_map(str(f)) as source:
                tables.append(pa.ipc.open_stream(source).read_all())
        except pa.ArrowException as e:
            raise DataError(f"{name}: not an Arrow stream file ({e})", path=root) from e
    return tables


def _rows(tables: Sequence[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    row = 0
    for table in tables:
        for record in table.to_pylist():
            row += 1
            yield row, record


# ---------------------------------------------------------------------------------------------
# Synthetic arithmetic chains

SPLITS: Final[tuple[str, ...]] = ("train", "validation", "test")
"""Split names of :meth:`ArithmeticTask.sample`."""

_SPLIT_BUCKETS: Final[dict[str, range]] = {
    "train": range(6),
    "validation": range(6, 7),
    "test": range(7, 8),
}
_NUM_BUCKETS: Final[int] = 8
_MAX_REJECTIONS: Final[int] = 100_000


def split_of(prompt: str) -> str:
    """The split a prompt belongs to: bucket ``sha256(prompt) mod 8`` (first 8 bytes, big
    endian): 0-5 ``"train"``, 6 ``"validation"``, 7 ``"test"``."""
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % _NUM_BUCKETS
    for name, buckets in _SPLIT_BUCKETS.items():
        if bucket in buckets:
            return name
    raise AssertionError("unreachable")  # pragma: no cover


def _slip_columns(left: int, op: str, operand: int) -> list[int]:
    """Columns ``k`` (0 = units) whose carry (``+``) / borrow (``-``) goes into column
    ``k+1`` in the pencil-and-paper algorithm. Only for non-negative operands with a
    non-negative result; otherwise no column (the step is not eligible for a slip)."""
    if left < 0 or operand < 0 or (op == "-" and left < operand):
        return []
    columns: list[int] = []
    carry = 0
    a, b, k = left, operand, 0
    while a > 0 or b > 0:
        da, db = a % 10, b % 10
        if op == "+":
            carry = 1 if da + db + carry >= 10 else 0
        else:
            carry = 1 if da - db - carry < 0 else 0
        if carry:
            columns.append(k)
        a, b, k = a // 10, b // 10, k + 1
    return columns


def _apply(left: int, op: str, operand: int) -> int:
    return left + operand if op == "+" else left - operand


def _chain(first: int, ops: list[str], operands: list[int]) -> list[int]:
    """Running results ``[first, after step 1, ..., after step s]``."""
    values = [first]
    for op, x in zip(ops, operands, strict=True):
        values.append(_apply(values[-1], op, x))
    return values


@dataclasses.dataclass(frozen=True, kw_only=True)
class ArithmeticTask:
    """Multi-step addition/subtraction chains with step-by-step demonstration solutions.

    A problem with ``s`` steps has ``s + 1`` operands in ``[1, max_operand]``; the prompt is
    the expression, ``=?`` and a newline. The solution has one line per step (running result
    on the left) and a final ``#### answer`` line without trailing newline::

        prompt   "37+48-12=?\\n"
        solution "37+48=85\\n85-12=73\\n#### 73"
        gold     "73"

    With ``allow_negative=False`` a subtraction whose operand exceeds the running result is
    turned into an addition, so no intermediate result is negative.

    **Slips.** With probability ``error_rate`` per problem the demonstration solution
    contains exactly one typical human slip: a forgotten carry in an addition (``37+48=75``:
    the result is ``10**(k+1)`` too small, ``k`` the column of the carry) or a forgotten
    borrow in a subtraction (``85-19=76``: ``10**(k+1)`` too large). A step is eligible only
    if it really carries/borrows (its left side and result non-negative, column arithmetic);
    with ``allow_negative=False`` also only if the wrong running results stay non-negative.
    The step is chosen uniformly among eligible steps, then the column among its
    carries/borrows. Later steps are computed exactly from the wrong value, so the error
    propagates to the ``####`` line. Without an eligible step the solution stays correct, so
    the expected fraction of wrong solutions is ``error_rate`` times the fraction of problems
    with an eligible step. The gold is always exact; ``Problem.solution_correct`` says
    whether the solution's final answer equals it.

    **Systematic slips** (``systematic_rate > 0``). The slips above are random per problem:
    a model trained on them makes them at random, so its most common answer is still right.
    A systematic slip depends on the problem: at every *hard* step (the operand's units digit
    is at least ``hard_digit`` and the step carries / borrows out of the units column, e.g.
    ``17+8`` or ``23-9``) the demonstration forgets that carry / borrow with probability
    ``systematic_rate``, independently per hard step, working from the running result it
    wrote so far (with ``allow_negative=False``, only where the rest of the chain stays
    non-negative). A model imitating such demonstrations is wrong *most of the time* on
    problems with hard steps (majority voting fails there) yet still samples the right
    answer sometimes, and a verifier trained on the true labels learns to catch exactly
    these lines: the setting RL^V's verifier-weighted voting is built for. A problem whose
    demonstration got no systematic slip can still get a random one (``error_rate``).

    **Splits.** A prompt belongs to exactly one split by :func:`split_of` (a stable hash of
    its text: 6/8 ``"train"``, 1/8 ``"validation"``, 1/8 ``"test"``), and ``sample`` only
    keeps problems of the requested split, so the splits never share a prompt (for any
    seeds). Problems within one sample may repeat when the configuration has few distinct
    prompts.
    """

    min_steps: int = 3
    """Fewest steps (operations) per problem, >= 1."""
    max_steps: int = 4
    """Most steps per problem, >= ``min_steps``."""
    max_operand: int = 99
    """Operands are drawn uniformly from ``[1, max_operand]``."""
    error_rate: float = 0.4
    """Probability that a problem's demonstration solution gets one slip (if eligible)."""
    allow_negative: bool = False
    """Allow negative intermediate and final results."""
    systematic_rate: float = 0.0
    """Probability that a demonstration forgets the carry / borrow at each hard step (see
    *Systematic slips*; 0: off)."""
    hard_digit: int = 7
    """A step is hard when its operand's units digit is ``>= hard_digit`` and it carries /
    borrows out of the units column."""
    style: str = "chain"
    """Solution lines: ``"chain"`` (``37+48=85``, then ``85-12=73``: the running result and
    the next operand) or ``"rewrite"`` (``=85-12``, then ``=73``: the expression rewritten
    with its first two terms replaced by their result). ``rewrite`` is easier for a tiny
    model: it copies the rest of the previous line instead of finding the next operand in
    the prompt."""

    def __post_init__(self) -> None:
        for name in ("min_steps", "max_steps", "max_operand"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if self.min_steps < 1:
            raise ValueError(f"min_steps must be >= 1, got {self.min_steps}")
        if self.max_steps < self.min_steps:
            raise ValueError(
                f"max_steps ({self.max_steps}) must be >= min_steps ({self.min_steps})"
            )
        if self.max_operand < 1:
            raise ValueError(f"max_operand must be >= 1, got {self.max_operand}")
        for name in ("error_rate", "systematic_rate"):
            rate = getattr(self, name)
            if isinstance(rate, bool) or not isinstance(rate, (int, float)):
                raise TypeError(f"{name} must be a float, not {type(rate).__name__}")
            if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
                raise ValueError(f"{name} must be in [0, 1], got {rate!r}")
        hard = self.hard_digit
        if isinstance(hard, bool) or not isinstance(hard, int):
            raise TypeError(f"hard_digit must be an int, not {type(hard).__name__}")
        if not 1 <= hard <= 9:
            raise ValueError(f"hard_digit must be in [1, 9], got {hard}")
        if self.style not in ("chain", "rewrite"):
            raise ValueError(f"style must be 'chain' or 'rewrite', got {self.style!r}")
        if not isinstance(self.allow_negative, bool):
            raise TypeError(
                f"allow_negative must be a bool, not {type(self.allow_negative).__name__}"
            )

    # -- sizes ----------------------------------------------------------------------------

    def _value_width(self) -> int:
        """Most characters of any running result, right or wrong (sign included)."""
        bound = (self.max_steps + 1) * self.max_operand  # |true running result|
        # A slip moves a result by 10**(k+1) <= 10**len(str(left)) <= 10**len(str(bound)).
        bound += 10 ** len(str(bound))
        return len(str(bound)) + (1 if self.allow_negative else 0)

    def max_prompt_chars(self) -> int:
        """An upper bound on the prompt length in characters (trailing newline included)."""
        operands = (self.max_steps + 1) * len(str(self.max_operand))
        return operands + self.max_steps + len("=?\n")

    def max_solution_chars(self) -> int:
        """An upper bound on the solution length in characters, slips included (for
        generation limits; one character is one token with :mod:`rlv.models`' tokenizer)."""
        width = self._value_width()
        if self.style == "rewrite":
            # "=" + result + the remaining terms, one line per step
            term = 1 + len(str(self.max_operand))
            lines = sum(
                1 + width + (self.max_steps - j) * term + 1 for j in range(1, self.max_steps + 1)
            )
            return lines + len("#### ") + width
        line = width + 1 + len(str(self.max_operand)) + 1 + width + 1
        return self.max_steps * line + len("#### ") + width

    # -- sampling -------------------------------------------------------------------------

    def _draw_expression(self, rng: random.Random) -> tuple[int, list[str], list[int]]:
        steps = rng.randint(self.min_steps, self.max_steps)
        first = rng.randint(1, self.max_operand)
        value = first
        ops: list[str] = []
        operands: list[int] = []
        for _ in range(steps):
            x = rng.randint(1, self.max_operand)
            op = rng.choice("+-")
            if op == "-" and not self.allow_negative and x > value:
                op = "+"
            ops.append(op)
            operands.append(x)
            value = _apply(value, op, x)
        return first, ops, operands

    def is_hard_step(self, left: int, op: str, operand: int) -> bool:
        """Whether ``left op operand`` is a hard step (see *Systematic slips*)."""
        return operand % 10 >= self.hard_digit and 0 in _slip_columns(left, op, operand)

    def _systematic(
        self, rng: random.Random, first: int, ops: list[str], operands: list[int]
    ) -> list[int]:
        """The running results of a demonstration that forgets the units carry / borrow at
        each hard step with probability ``systematic_rate``."""
        shown = [first]
        for j, (op, x) in enumerate(zip(ops, operands, strict=True)):
            left = shown[-1]
            right = _apply(left, op, x)
            if self.is_hard_step(left, op, x) and rng.random() < self.systematic_rate:
                wrong = right - 10 if op == "+" else right + 10
                # without negatives, only if the rest of the chain stays non-negative
                if self.allow_negative or min(_chain(wrong, ops[j + 1 :], operands[j + 1 :])) >= 0:
                    right = wrong
            shown.append(right)
        return shown

    def _slip(
        self, rng: random.Random, values: list[int], ops: list[str], operands: list[int]
    ) -> list[int]:
        """The running results of the demonstration solution (with at most one random slip,
        and systematic slips when ``systematic_rate > 0``)."""
        if self.systematic_rate > 0.0:
            shown = self._systematic(rng, values[0], ops, operands)
            if shown != values:
                return shown
        if not rng.random() < self.error_rate:
            return values
        candidates: dict[int, list[list[int]]] = {}
        for step, (op, x) in enumerate(zip(ops, operands, strict=True)):
            for k in _slip_columns(values[step], op, x):
                wrong = values[step + 1] + (-(10 ** (k + 1)) if op == "+" else 10 ** (k + 1))
                chain = values[: step + 1] + _chain(wrong, ops[step + 1 :], operands[step + 1 :])
                if self.allow_negative or min(chain) >= 0:
                    candidates.setdefault(step, []).append(chain)
        if not candidates:
            return values
        step = rng.choice(sorted(candidates))
        return rng.choice(candidates[step])

    def sample(self, n: int, *, seed: int, split: str = "train") -> list[Problem]:
        """``n`` problems of ``split`` (one of :data:`SPLITS`), deterministic in
        ``(seed, split)``: ``sample(n)`` is a prefix of ``sample(n + m)``.

        Ids are ``"arith-{split}-{seed}-{i}"``. See the class docstring for slips and splits.

        Raises:
            ValueError: a negative ``n``, an unknown split, or a configuration with no prompt
                in the split (only for tiny ``max_operand`` / ``max_steps``).
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, not {type(n).__name__}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; allowed: {', '.join(map(repr, SPLITS))}")
        rng = random.Random(f"rlv.tasks.ArithmeticTask:{seed}:{split}")
        problems: list[Problem] = []
        rejected = 0
        while len(problems) < n:
            first, ops, operands = self._draw_expression(rng)
            expression = str(first) + "".join(
                f"{op}{x}" for op, x in zip(ops, operands, strict=True)
            )
            prompt = f"{expression}=?\n"
            if split_of(prompt) != split:
                rejected += 1
                if rejected > _MAX_REJECTIONS:
                    raise ValueError(
                        f"no problem of split {split!r} found in {_MAX_REJECTIONS} draws: "
                        "the configuration has too few distinct problems"
                    )
                continue
            rejected = 0
            values = _chain(first, ops, operands)
            shown = self._slip(rng, values, ops, operands)
            if self.style == "rewrite":
                terms = [f"{op}{x}" for op, x in zip(ops, operands, strict=True)]
                lines = [f"={shown[j + 1]}{''.join(terms[j + 1 :])}\n" for j in range(len(ops))]
            else:
                lines = [
                    f"{shown[j]}{op}{x}={shown[j + 1]}\n"
                    for j, (op, x) in enumerate(zip(ops, operands, strict=True))
                ]
            solution = "".join(lines) + f"#### {shown[-1]}"
            problems.append(
                Problem(
                    id=f"arith-{split}-{seed}-{len(problems)}",
                    prompt=prompt,
                    gold=str(values[-1]),
                    solution=solution,
                    solution_correct=shown[-1] == values[-1],
                )
            )
        return problems
