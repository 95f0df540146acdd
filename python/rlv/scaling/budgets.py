"""One long generation serves every budget: cuts, budget forcing, and the budget fields of a
dump.

A sample limited to ``L`` tokens is distributed as the first ``L`` tokens of a longer sample
(the tokens are drawn one at a time from the same conditionals), so ``rlv sample --budgets``
generates once at the largest budget and cuts (:func:`cut`). The transformers backend makes
this exact, not only in distribution: under the same random stream, the cut *is* the shorter
generation, token for token (tested).

A cut that falls inside the reasoning of a thinking model has no answer. Two modes:

* **budget forcing** (:class:`BudgetForcing`, s1-style): close the reasoning with
  ``</think>``, append an answer cue, and let the model finish the answer with a small extra
  budget; the verifier scores the cut plus the forced answer;
* **without forcing** (the offline mode, or a model that does not think in tags): the cut is
  scored as it is, and a cut without an answer is a sample without an answer.

:func:`budget_fields` returns what the dump holds per budget (``docs/scaling-length.md``):
the text the verifier scored, its score, the cut's tokens and the forced tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlv.generation.base import Completion, SamplingParams

if TYPE_CHECKING:
    from rlv.verifier import Verifier

__all__ = ["BudgetForcing", "budget_fields", "check_budgets", "cut", "inside_thinking"]


@dataclass(frozen=True)
class BudgetForcing:
    """s1-style budget forcing for thinking models.

    A cut counts as inside the reasoning when its text has no ``think_end`` and either the
    cut opens a ``think_start`` or the prompt ends inside an open ``think_start`` (chat
    templates that put ``<think>`` in the prompt). Such a cut gets ``think_end + cue``
    appended and the model continues for at most ``max_tokens`` tokens (greedy at
    ``temperature = 0``).
    """

    think_start: str = "<think>"
    think_end: str = "</think>"
    cue: str = "\nFinal answer: \\boxed{"
    max_tokens: int = 16
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if not self.think_end:
            raise ValueError("think_end must not be empty")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if not (self.temperature >= 0 and math.isfinite(self.temperature)):
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")


def check_budgets(budgets: Sequence[int]) -> list[int]:
    """The budgets as a list, checked: at least one, integers >= 1, strictly increasing.

    Raises:
        ValueError: anything else.
    """
    out = list(budgets)
    if not out:
        raise ValueError("budgets must not be empty")
    for b in out:
        if isinstance(b, bool) or not isinstance(b, int) or b < 1:
            raise ValueError(f"budgets must be integers >= 1, got {out}")
    if any(b <= a for a, b in zip(out, out[1:], strict=False)):
        raise ValueError(f"budgets must be strictly increasing, got {out}")
    return out


def cut(completion: Completion, budget: int, tokenizer: Any) -> Completion:
    """The first ``budget`` tokens of ``completion``, as a completion: what generating with
    ``max_new_tokens = budget`` gives under the same random stream. ``finished`` stays true
    only when the stopping token is within the cut."""
    if budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    if len(completion.token_ids) <= budget:
        return completion
    ids = completion.token_ids[:budget]
    return Completion(
        token_ids=ids,
        text=tokenizer.decode(ids, skip_special_tokens=True),
        logprobs=completion.logprobs[:budget],
        finished=False,
    )


def inside_thinking(prompt_text: str, text: str, forcing: BudgetForcing) -> bool:
    """Whether a cut with text ``text`` stops inside the reasoning (see
    :class:`BudgetForcing`)."""
    if forcing.think_end in text:
        return False
    if forcing.think_start and forcing.think_start in text:
        return True
    if not forcing.think_start:
        return False
    opened = prompt_text.rfind(forcing.think_start)
    return opened >= 0 and forcing.think_end not in prompt_text[opened:]


@dataclass
class _Entry:
    ids: list[int]
    cut_tokens: int
    forced_tokens: int
    reuse: int | None  # index of the budget whose entry this one repeats


def budget_fields(
    backend: Any,
    verifier: Verifier,
    prompt_ids: Sequence[Sequence[int]],
    groups: Sequence[Sequence[Completion]],
    budgets: Sequence[int],
    *,
    forcing: BudgetForcing | None = None,
    suppress_token_ids: Sequence[int] = (),
    score_batch_size: int = 64,
    score: str = "raw",
) -> list[dict[str, Any]]:
    """The budget fields of each problem's dump row, from its samples generated at the
    largest budget.

    Every sample is cut at every budget. A cut that equals the previous budget's (the sample
    ended before) repeats that budget's text, score and forced tokens; it is not scored
    again. With ``forcing``, a cut that was truncated inside the reasoning gets a forced
    answer (one batched ``backend.generate`` call per chunk). The verifier scores every new
    cut in one batched ``backend.score`` call.

    Returns, per problem: ``budgets``, ``budget_completions``, ``budget_scores`` (the raw
    P(Yes) when ``score`` is ``"raw"``, the normalised one when ``"normalized"``, as the
    dump's ``scores``), ``budget_scores_raw``, ``budget_scores_normalized``, ``cut_tokens``,
    ``forced_tokens``, ``verify_tokens`` (the verification suffix's length) and ``forcing``
    (its settings, or ``None``).
    """
    if score not in ("raw", "normalized"):
        raise ValueError(f"score must be 'raw' or 'normalized', got {score!r}")
    bud = check_budgets(budgets)
    tok = verifier.tokenizer
    if len(prompt_ids) != len(groups):
        raise ValueError(f"{len(prompt_ids)} prompts but {len(groups)} groups of samples")
    for g in groups:
        for c in g:
            if len(c.token_ids) > bud[-1]:
                raise ValueError(
                    f"a sample has {len(c.token_ids)} tokens, more than the largest budget "
                    f"{bud[-1]}: generate with max_new_tokens = the largest budget"
                )
    close_ids: list[int] = []
    if forcing is not None:
        close_ids = list(tok.encode(forcing.think_end + forcing.cue, add_special_tokens=False))
    entries: list[list[list[_Entry]]] = []  # [problem][sample][budget]
    to_force: list[tuple[int, int, int]] = []
    for p, (pids, group) in enumerate(zip(prompt_ids, groups, strict=True)):
        prompt_text = tok.decode(list(pids), skip_special_tokens=False)
        per_sample: list[list[_Entry]] = []
        for i, c in enumerate(group):
            row: list[_Entry] = []
            for j, b in enumerate(bud):
                ids = c.token_ids[:b]
                if j and len(ids) == row[j - 1].cut_tokens:
                    prev = row[j - 1]
                    src = prev.reuse if prev.reuse is not None else j - 1
                    row.append(_Entry([], prev.cut_tokens, 0, src))
                    continue
                truncated = len(c.token_ids) > b or not c.finished
                entry = _Entry(list(ids), len(ids), 0, None)
                if (
                    forcing is not None
                    and truncated
                    and inside_thinking(
                        prompt_text, tok.decode(ids, skip_special_tokens=False), forcing
                    )
                ):
                    to_force.append((p, i, j))
                row.append(entry)
            per_sample.append(row)
        entries.append(per_sample)
    if forcing is not None and to_force:
        heads = [[*prompt_ids[p], *entries[p][i][j].ids, *close_ids] for p, i, j in to_force]
        params = SamplingParams(
            n=1,
            temperature=forcing.temperature,
            max_new_tokens=forcing.max_tokens,
            suppress_token_ids=tuple(suppress_token_ids),
        )
        answers = backend.generate(heads, params)
        for (p, i, j), ans in zip(to_force, answers, strict=True):
            e = entries[p][i][j]
            e.ids = [*e.ids, *close_ids, *ans[0].token_ids]
            e.forced_tokens = len(close_ids) + len(ans[0].token_ids)
    # Score every entry that is not a repeat.
    flat = [
        (p, i, j)
        for p, per_sample in enumerate(entries)
        for i, row in enumerate(per_sample)
        for j, e in enumerate(row)
        if e.reuse is None
    ]
    sc = backend.score(
        verifier,
        [list(prompt_ids[p]) for p, _, _ in flat],
        [entries[p][i][j].ids for p, i, j in flat],
        batch_size=score_batch_size,
    )
    raw: dict[tuple[int, int, int], float] = {}
    norm: dict[tuple[int, int, int], float] = {}
    for t, key in enumerate(flat):
        raw[key] = float(sc.raw[t])
        norm[key] = float(sc.normalized[t])
    out: list[dict[str, Any]] = []
    for p, per_sample in enumerate(entries):
        n = len(per_sample)
        # A repeat stands for the entry it repeats (forced answer and score included).
        sources = [
            [j if e.reuse is None else e.reuse for j, e in enumerate(row)] for row in per_sample
        ]
        resolved = [[row[s] for s in srow] for row, srow in zip(per_sample, sources, strict=True)]

        def at(
            i: int,
            j: int,
            d: dict[tuple[int, int, int], float],
            p: int = p,
            sources: list[list[int]] = sources,
        ) -> float:
            return d[(p, i, sources[i][j])]

        out.append(
            {
                "budgets": bud,
                "budget_completions": [
                    [tok.decode(resolved[i][j].ids, skip_special_tokens=True) for i in range(n)]
                    for j in range(len(bud))
                ],
                "budget_scores": [
                    [at(i, j, raw if score == "raw" else norm) for i in range(n)]
                    for j in range(len(bud))
                ],
                "budget_scores_raw": [[at(i, j, raw) for i in range(n)] for j in range(len(bud))],
                "budget_scores_normalized": [
                    [at(i, j, norm) for i in range(n)] for j in range(len(bud))
                ],
                "cut_tokens": [
                    [resolved[i][j].cut_tokens for i in range(n)] for j in range(len(bud))
                ],
                "forced_tokens": [
                    [resolved[i][j].forced_tokens for i in range(n)] for j in range(len(bud))
                ],
                "verify_tokens": len(verifier.suffix_ids),
                "forcing": None
                if forcing is None
                else {
                    "think_start": forcing.think_start,
                    "think_end": forcing.think_end,
                    "cue": forcing.cue,
                    "max_tokens": forcing.max_tokens,
                    "temperature": forcing.temperature,
                },
            }
        )
    return out
