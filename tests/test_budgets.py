"""One long generation serves every budget: cuts equal shorter generations, budget forcing
answers after ``</think>``, and ``rlv sample --budgets`` writes a dump that ``rlv lengths``
and ``rlv rescore`` read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import rlv  # noqa: E402
from rlv import models  # noqa: E402
from rlv.generation import Completion, SamplingParams, TransformersBackend  # noqa: E402
from rlv.scaling.budgets import (  # noqa: E402
    BudgetForcing,
    budget_fields,
    check_budgets,
    cut,
    inside_thinking,
)
from rlv.verifier import Verifier  # noqa: E402

#: A 1-layer Qwen2 of a few thousand parameters: fast enough to train in a test.
SMALL = {
    "hidden_size": 32, "num_layers": 1, "num_heads": 2, "head_dim": 16, "intermediate_size": 64,
    "max_position_embeddings": 256,
}  # fmt: skip


def tiny_model(tokenizer: Any = None, seed: int = 0) -> tuple[Any, Any]:
    return models.tiny(**SMALL, seed=seed, tokenizer=tokenizer)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_cutting_a_long_sample_equals_generating_with_the_shorter_budget(
    temperature: float,
) -> None:
    model, tok = tiny_model()
    # An untrained model rarely stops; make EOS likely (its row of the tied embedding /
    # output matrix scaled up) so that some samples end early.
    with torch.no_grad():
        model.model.embed_tokens.weight[tok.eos_token_id] *= 3.0
    be = TransformersBackend(model, tok, batch_size=16)
    prompts = [tok.encode("12+34=?\n"), tok.encode("7-3+9=?\n")]
    long_budget, budgets = 40, (1, 5, 12, 39)
    torch.manual_seed(123)
    long = be.generate(prompts, SamplingParams(n=6, temperature=temperature, max_new_tokens=40))
    lengths = {len(c.token_ids) for g in long for c in g}
    assert max(lengths) == long_budget and min(lengths) < long_budget, lengths
    for b in budgets:
        torch.manual_seed(123)
        short = be.generate(prompts, SamplingParams(n=6, temperature=temperature, max_new_tokens=b))
        for g_long, g_short in zip(long, short, strict=True):
            for c_long, c_short in zip(g_long, g_short, strict=True):
                c = cut(c_long, b, tok)
                assert c.token_ids == c_short.token_ids
                assert c.text == c_short.text
                assert c.finished == c_short.finished
                assert c.logprobs == pytest.approx(c_short.logprobs, abs=1e-5)


def thinking_tokenizer() -> Any:
    """The character tokenizer plus ``<think>`` and ``</think>`` as single (added, not
    special) tokens, like the thinking tags of R1-style tokenizers."""
    from tokenizers import AddedToken

    tok = models.build_tokenizer(model_max_length=256)
    tok.add_tokens(
        [AddedToken("<think>", normalized=False), AddedToken("</think>", normalized=False)]
    )
    assert len(tok.encode("<think>", add_special_tokens=False)) == 1
    assert len(tok.encode("</think>", add_special_tokens=False)) == 1
    return tok


def trained_answerer(tok: Any, cue: str) -> Any:
    """A tiny model taught that ``</think>`` + ``cue`` is followed by ``7}`` and EOS, after
    reasoning cut anywhere (a few hundred Adam steps on 1 CPU thread)."""
    model, _ = tiny_model(tokenizer=tok, seed=1)
    eos = tok.eos_token_id
    rows = []
    for n in range(24):
        ids = tok.encode(
            "3+4=?\n<think>" + "ab"[: n % 2] + "ab" * (n // 2) + "</think>" + cue + "7}",
            add_special_tokens=False,
        )
        rows.append([*ids, eos])
    width = max(len(r) for r in rows)
    x = torch.full((len(rows), width), tok.pad_token_id)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, r in enumerate(rows):
        x[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = True
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(300):
        logits = model(input_ids=x, attention_mask=mask.long()).logits[:, :-1]
        loss = torch.nn.functional.cross_entropy(logits[mask[:, 1:]], x[:, 1:][mask[:, 1:]])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return model


def test_budget_forcing_gives_a_well_formed_answer_after_think() -> None:
    tok = thinking_tokenizer()
    forcing = BudgetForcing(cue="\nFinal answer: \\boxed{", max_tokens=6)
    model = trained_answerer(tok, forcing.cue)
    be = TransformersBackend(model, tok)
    verifier = Verifier(tok)
    prompt = tok.encode("3+4=?\n", add_special_tokens=False)
    # One long sample that never closes its reasoning (truncated at the largest budget), and
    # one that ends after 5 tokens (finished: it is never forced).
    think = tok.encode("<think>abababababababababab", add_special_tokens=False)
    short = [*tok.encode("#### 7", add_special_tokens=False), tok.eos_token_id]
    long_c = Completion(think, tok.decode(think), [0.0] * len(think), finished=False)
    done = Completion(short, "#### 7", [0.0] * len(short), finished=True)
    budgets = [5, 10, len(think)]
    rows = budget_fields(be, verifier, [prompt], [[long_c, done]], budgets, forcing=forcing)
    row = rows[0]
    assert row["budgets"] == budgets and row["verify_tokens"] == len(verifier.suffix_ids)
    for j, b in enumerate(budgets):
        text = row["budget_completions"][j][0]
        head, sep, tail = text.partition("</think>")
        assert sep and "</think>" not in tail, text
        assert head == tok.decode(think[:b])  # the cut, unchanged
        assert tail.startswith(forcing.cue)
        assert rlv.extract_answer(tail, mode="strict") == "7", text
        assert row["cut_tokens"][j][0] == b
        # the closing tag and cue, then "7}" and EOS
        close = len(tok.encode("</think>" + forcing.cue, add_special_tokens=False))
        assert row["forced_tokens"][j][0] == close + 3
        # the short sample (7 tokens, finished): never forced (no open <think>); budget 5
        # truncates it, budgets 10 and the last hold all of it, the last repeating 10
        assert row["forced_tokens"][j][1] == 0
        assert row["cut_tokens"][j][1] == min(b, len(short))
        assert 0.0 <= row["budget_scores"][j][0] <= 1.0
    assert row["budget_scores"][1][1] == row["budget_scores"][2][1]
    # The forced texts are what the verifier scored: rescoring them gives the same numbers.
    j = 1
    ids = [
        *think[:10],
        *tok.encode("</think>" + forcing.cue + "7}", add_special_tokens=False),
        tok.eos_token_id,
    ]
    s = verifier.score(model, [prompt], [ids])
    assert row["budget_scores"][j][0] == pytest.approx(float(s.raw[0]), abs=1e-6)


def test_without_forcing_a_cut_without_an_answer_has_none() -> None:
    model, tok = tiny_model()
    be = TransformersBackend(model, tok)
    verifier = Verifier(tok)
    prompt = tok.encode("3+4=?\n", add_special_tokens=False)
    ids = tok.encode("3+4=7\nso #### 7", add_special_tokens=False)
    c = Completion(ids, tok.decode(ids), [0.0] * len(ids), finished=False)
    row = budget_fields(be, verifier, [prompt], [[c]], [4, len(ids)], score="normalized")[0]
    assert row["budget_scores"] == row["budget_scores_normalized"] != row["budget_scores_raw"]
    with pytest.raises(ValueError, match="score"):
        budget_fields(be, verifier, [prompt], [[c]], [4], score="logit")
    assert row["forcing"] is None and row["forced_tokens"] == [[0], [0]]
    assert row["budget_completions"] == [["3+4="], ["3+4=7\nso #### 7"]]
    assert rlv.extract_answer(row["budget_completions"][0][0], mode="strict") is None
    assert rlv.extract_answer(row["budget_completions"][1][0], mode="strict") == "7"


def test_inside_thinking_and_budget_checks() -> None:
    f = BudgetForcing()
    assert inside_thinking("q", "<think>abc", f)
    assert not inside_thinking("q", "<think>abc</think>x", f)
    assert inside_thinking("q <think>\n", "abc", f)  # the template opened it
    assert not inside_thinking("q <think>a</think>", "abc", f)
    assert not inside_thinking("q", "abc", f)
    assert check_budgets([1, 5]) == [1, 5]
    for bad in ([], [0, 4], [4, 4], [5, 3], [1.5]):
        with pytest.raises(ValueError):
            check_budgets(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        BudgetForcing(max_tokens=0)
    with pytest.raises(ValueError):
        BudgetForcing(think_end="")


def test_rlv_sample_budgets_then_lengths_and_rescore(tmp_path: Path, sample_inputs: Any) -> None:
    from rlv.cli import main
    from rlv.scaling.lengths import length_select_dump
    from rlv.scaling.rescore import rescore
    from rlv.training.config import Config, to_yaml

    model, tok = tiny_model()
    mdir, data = sample_inputs(model, tok, max_steps=1)
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text(to_yaml(Config()))
    out = tmp_path / "budgets.jsonl"
    rc = main(["sample", "--model", str(mdir), str(cfg_file), "--data", str(data), "--n", "4",
               "--out", str(out), "--budgets", "3,6,12", "--set", "train.progress=false"])  # fmt: skip
    assert rc == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 3
    for r in rows:
        assert r["budgets"] == [3, 6, 12]
        assert all(t <= 12 for t in r["tokens"])
        assert r["completions"] == r["budget_completions"][-1]
        assert r["scores"] == r["budget_scores"][-1]
        # the configuration's score kind (the default: raw P(Yes)) in both fields
        assert r["budget_scores"] == r["budget_scores_raw"] != r["budget_scores_normalized"]
        assert [[min(t, b) for t in r["tokens"]] for b in (3, 6, 12)] == r["cut_tokens"]
    rep = length_select_dump([out], ks=[2, 4], taus=[0.0, 0.5, 1.0])
    assert rep["problems"] == 3 and set(rep["selection"]) == {"2", "4"}
    toks = rep["selection"]["4"]["tokens"]
    assert toks == sorted(toks)
    assert rescore([out])["problems"] == 3  # an older reader's view: the largest budget
    assert main(["lengths", str(out), "--out", str(tmp_path / "r.json")]) == 0
    # --force-answer without budgets is refused before any work
    assert main(["sample", "--model", str(mdir), str(cfg_file), "--data", str(data),
                 "--out", str(tmp_path / "x.jsonl"), "--force-answer"]) == 2  # fmt: skip
