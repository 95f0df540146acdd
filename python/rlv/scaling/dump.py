"""``rlv sample``: N completions per problem, scored by the model's own verifier, written as
an ``rlv rescore`` dump (one JSON row per problem)::

    {"problem_id": ..., "prompt": ..., "gold": ..., "completions": [...], "scores": [...],
     "scores_raw": [...], "scores_normalized": [...], "finished": [...]}

``scores`` is the raw P(Yes) by default (the paper's score) or the normalised one. The file is
written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlv.generation import SamplingParams
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
) -> tuple[list[dict[str, Any]], SampleStats]:
    """Sample ``params.n`` completions per problem with ``backend`` and score them with the
    model's own verifier: the dump rows of ``problems`` (in order) and what it took.

    ``prompt_ids``: the prompts' token ids (default: ``verifier.prompt_ids(p.prompt)``), e.g.
    a chat template already applied."""
    if score not in ("raw", "normalized"):
        raise ValueError(f"score must be 'raw' or 'normalized', got {score!r}")
    if prompt_ids is None:
        p_ids = [verifier.prompt_ids(p.prompt) for p in problems]
    else:
        if len(prompt_ids) != len(problems):
            raise ValueError(f"{len(problems)} problems but {len(prompt_ids)} prompt_ids")
        p_ids = [[int(t) for t in ids] for ids in prompt_ids]
    t0 = time.perf_counter()
    groups = backend.generate(p_ids, params)
    t1 = time.perf_counter()
    flat_p = [p_ids[i] for i, g in enumerate(groups) for _ in g]
    flat_c = [c.token_ids for g in groups for c in g]
    sc = backend.score(verifier, flat_p, flat_c, batch_size=score_batch_size)
    t2 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    k = n_tok = 0
    for prob, grp in zip(problems, groups, strict=True):
        raw = sc.raw[k : k + len(grp)].tolist()
        norm = sc.normalized[k : k + len(grp)].tolist()
        k += len(grp)
        n_tok += sum(len(c.token_ids) for c in grp)
        rows.append(
            {
                "problem_id": prob.id,
                "prompt": prob.prompt,
                "gold": prob.gold,
                "completions": [c.text for c in grp],
                "scores": raw if score == "raw" else norm,
                "scores_raw": raw,
                "scores_normalized": norm,
                "finished": [c.finished for c in grp],
            }
        )
    stats = SampleStats(
        problems=len(problems),
        samples=len(flat_c),
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
) -> SampleStats:
    """Sample ``params.n`` completions per problem with ``backend``, score them with the
    model's own verifier (``backend.score``), write the dump to ``out`` (atomically)."""
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
