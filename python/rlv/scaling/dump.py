"""``rlv sample``: N completions per problem, scored by the model's own verifier, written as
an ``rlv rescore`` dump (one JSON row per problem)::

    {"problem_id": ..., "prompt": ..., "gold": ..., "completions": [...], "scores": [...],
     "scores_raw": [...], "scores_normalized": [...], "finished": [...], "tokens": [...]}

``scores`` is the raw P(Yes) by default (the paper's score) or the normalised one; ``tokens``
is each completion's generated token count (EOS included when it stopped). With ``budgets``
the row also holds the budget fields of :func:`rlv.scaling.budgets.budget_fields` (one long
generation cut at every budget; ``docs/scaling-length.md``), and ``completions`` / ``scores``
are then those of the largest budget (with its forced answers, if any), so ``rlv rescore``
reads such a dump as the fixed largest budget. The file is written to a temporary name and
renamed when complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlv.generation import SamplingParams
from rlv.scaling.budgets import BudgetForcing, budget_fields, check_budgets
from rlv.tasks import Problem
from rlv.verifier import Verifier

__all__ = ["SampleStats", "sample_dump", "sample_rows", "write_rows"]


@dataclass(frozen=True)
class SampleStats:
    """What :func:`sample_dump` did, with its timings."""

    problems: int
    samples: int
    generate_s: float
    score_s: float
    tokens: int

    @property
    def samples_per_s(self) -> float:
        return self.samples / max(self.generate_s + self.score_s, 1e-9)

    @property
    def score_overhead(self) -> float:
        """Verifier scoring time as a fraction of generation time."""
        return self.score_s / max(self.generate_s, 1e-9)

    def as_dict(self) -> dict[str, float]:
        return {
            "problems": self.problems,
            "samples": self.samples,
            "generate_s": self.generate_s,
            "score_s": self.score_s,
            "tokens": self.tokens,
            "samples_per_s": self.samples_per_s,
            "score_overhead": self.score_overhead,
        }


def sample_rows(
    backend: Any,
    verifier: Verifier,
    problems: Sequence[Problem],
    *,
    params: SamplingParams,
    score: str = "raw",
    prompt_ids: Sequence[Sequence[int]] | None = None,
    score_batch_size: int = 64,
    budgets: Sequence[int] | None = None,
    forcing: BudgetForcing | None = None,
) -> tuple[list[dict[str, Any]], SampleStats]:
    """Sample ``params.n`` completions per problem with ``backend`` and score them with the
    model's own verifier: the dump rows of ``problems`` (in order) and what it took.

    ``prompt_ids``: the prompts' token ids (default: ``verifier.prompt_ids(p.prompt)``), e.g.
    a chat template already applied. ``budgets`` / ``forcing``: as in :func:`sample_dump`
    (``params.max_new_tokens`` must then be the largest budget)."""
    if score not in ("raw", "normalized"):
        raise ValueError(f"score must be 'raw' or 'normalized', got {score!r}")
    if forcing is not None and budgets is None:
        raise ValueError("budget forcing needs budgets")
    bud = check_budgets(budgets) if budgets is not None else None
    if bud is not None and params.max_new_tokens != bud[-1]:
        raise ValueError(
            f"params.max_new_tokens ({params.max_new_tokens}) must be the largest budget "
            f"({bud[-1]})"
        )
    if prompt_ids is None:
        p_ids = [verifier.prompt_ids(p.prompt) for p in problems]
    else:
        if len(prompt_ids) != len(problems):
            raise ValueError(f"{len(problems)} problems but {len(prompt_ids)} prompt_ids")
        p_ids = [[int(t) for t in ids] for ids in prompt_ids]
    t0 = time.perf_counter()
    groups = backend.generate(p_ids, params)
    t1 = time.perf_counter()
    extras = (
        _plain_rows(backend, verifier, p_ids, groups, score_batch_size)
        if bud is None
        else _budget_rows(
            backend, verifier, p_ids, groups, bud, forcing, params, score_batch_size, score
        )
    )
    t2 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    n_tok = n_samples = 0
    for prob, grp, extra in zip(problems, groups, extras, strict=True):
        n_tok += sum(len(c.token_ids) for c in grp)
        n_samples += len(grp)
        raw, norm = extra.pop("_raw"), extra.pop("_norm")
        rows.append(
            {
                "problem_id": prob.id,
                "prompt": prob.prompt,
                "gold": prob.gold,
                "completions": extra.pop("_texts"),
                "scores": raw if score == "raw" else norm,
                "scores_raw": raw,
                "scores_normalized": norm,
                "finished": [c.finished for c in grp],
                "tokens": [len(c.token_ids) for c in grp],
                **extra,
            }
        )
    stats = SampleStats(
        problems=len(problems),
        samples=n_samples,
        generate_s=t1 - t0,
        score_s=t2 - t1,
        tokens=n_tok,
    )
    return rows, stats


def write_rows(rows: Iterable[dict[str, Any]], out: str | Path) -> None:
    """Write dump rows to ``out`` as JSONL, atomically (a temporary name, then renamed)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sample_dump(
    backend: Any,
    verifier: Verifier,
    problems: Sequence[Problem],
    out: str | Path,
    *,
    params: SamplingParams,
    score: str = "raw",
    problems_per_chunk: int = 8,
    score_batch_size: int = 64,
    progress: bool = True,
    budgets: Sequence[int] | None = None,
    forcing: BudgetForcing | None = None,
) -> SampleStats:
    """Sample ``params.n`` completions per problem with ``backend``, score them with the
    model's own verifier (``backend.score``), write the dump to ``out`` (atomically).

    With ``budgets`` (tokens, strictly increasing) the samples are generated once at the
    largest budget (``params.max_new_tokens`` is replaced by it), cut at every budget, forced
    to answer where ``forcing`` says so, and every new cut is scored
    (:func:`rlv.scaling.budgets.budget_fields`); ``score_s`` then includes the forced
    answers' generation."""
    if forcing is not None and budgets is None:
        raise ValueError("budget forcing needs budgets")
    bud = check_budgets(budgets) if budgets is not None else None
    if bud is not None:
        params = dataclasses.replace(params, max_new_tokens=bud[-1])
    if score not in ("raw", "normalized"):
        raise ValueError(f"score must be 'raw' or 'normalized', got {score!r}")
    if not problems:
        raise ValueError("no problems to sample")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(problems) * params.n, desc="sample", unit="sample", dynamic_ncols=True)
    t_gen = t_score = 0.0
    n_tok = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal t_gen, t_score, n_tok
        for start in range(0, len(problems), problems_per_chunk):
            chunk = problems[start : start + problems_per_chunk]
            chunk_rows, st = sample_rows(
                backend,
                verifier,
                chunk,
                params=params,
                score=score,
                score_batch_size=score_batch_size,
                budgets=bud,
                forcing=forcing,
            )
            t_gen += st.generate_s
            t_score += st.score_s
            n_tok += st.tokens
            yield from chunk_rows
            if bar is not None:
                bar.update(st.samples)

    try:
        write_rows(rows(), out)
    finally:
        if bar is not None:
            bar.close()
    return SampleStats(
        problems=len(problems),
        samples=len(problems) * params.n,
        generate_s=t_gen,
        score_s=t_score,
        tokens=n_tok,
    )


def _plain_rows(
    backend: Any,
    verifier: Verifier,
    p_ids: list[list[int]],
    groups: Sequence[Sequence[Any]],
    score_batch_size: int,
) -> list[dict[str, Any]]:
    """Texts and scores of each problem's samples as generated."""
    flat_p = [p_ids[i] for i, g in enumerate(groups) for _ in g]
    flat_c = [c.token_ids for g in groups for c in g]
    sc = backend.score(verifier, flat_p, flat_c, batch_size=score_batch_size)
    out = []
    k = 0
    for grp in groups:
        out.append(
            {
                "_texts": [c.text for c in grp],
                "_raw": sc.raw[k : k + len(grp)].tolist(),
                "_norm": sc.normalized[k : k + len(grp)].tolist(),
            }
        )
        k += len(grp)
    return out


def _budget_rows(
    backend: Any,
    verifier: Verifier,
    p_ids: list[list[int]],
    groups: Sequence[Sequence[Any]],
    budgets: list[int],
    forcing: BudgetForcing | None,
    params: SamplingParams,
    score_batch_size: int,
    score: str,
) -> list[dict[str, Any]]:
    """The budget fields of each problem; its completions and scores are the largest
    budget's."""
    out = budget_fields(
        backend,
        verifier,
        p_ids,
        groups,
        budgets,
        forcing=forcing,
        suppress_token_ids=params.suppress_token_ids,
        score_batch_size=score_batch_size,
        score=score,
    )
    for row in out:
        row["_texts"] = list(row["budget_completions"][-1])
        row["_raw"] = list(row["budget_scores_raw"][-1])
        row["_norm"] = list(row["budget_scores_normalized"][-1])
    return out
