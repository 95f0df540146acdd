"""rlv.models: the character tokenizer, tiny Qwen2 models, save/load."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from transformers import AutoTokenizer, Qwen2ForCausalLM  # noqa: E402

from rlv import models  # noqa: E402
from rlv.models import (  # noqa: E402
    DEFAULT_ALPHABET,
    build_tokenizer,
    load,
    num_parameters,
    save,
    tiny,
)

# A small configuration keeps every test fast (a few thousand parameters per layer).
SMALL: dict[str, Any] = {
    "hidden_size": 32,
    "num_layers": 2,
    "num_heads": 2,
    "head_dim": 16,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}

SPECIAL_STRINGS = ("<pad>", "<eos>", "<unk>")
# Text over the alphabet. The literal strings of the special tokens are excluded: like every
# Hugging Face tokenizer, this one reads "<eos>" in the text as the eos token (tested below).
alphabet_text = st.text(alphabet=DEFAULT_ALPHABET, max_size=80).filter(
    lambda t: not any(s in t for s in SPECIAL_STRINGS)
)


@pytest.fixture(scope="module")
def tok() -> Any:
    return build_tokenizer()


@pytest.fixture(scope="module")
def reloaded_tok(tok: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("tokenizer")
    tok.save_pretrained(directory)
    return AutoTokenizer.from_pretrained(directory, local_files_only=True)


@pytest.fixture(scope="module")
def saved_small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any, Any]]:
    """A small model saved once: (directory, model, tokenizer)."""
    model, tokenizer = tiny(**SMALL, seed=3)
    directory = tmp_path_factory.mktemp("model")
    save(model, tokenizer, directory)
    yield directory, model, tokenizer


def expected_ids(text: str) -> list[int]:
    """Reference encoding: "Yes"/"No" are single tokens, every other character is one."""
    ids: list[int] = []
    for piece in re.split(r"(Yes|No)", text):
        if piece == "Yes":
            ids.append(3)
        elif piece == "No":
            ids.append(4)
        else:
            ids.extend(5 + DEFAULT_ALPHABET.index(c) for c in piece)
    return ids


def state_equal(a: Any, b: Any) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ---------------------------------------------------------------------------------------------
# Tokenizer


def test_default_alphabet() -> None:
    assert len(DEFAULT_ALPHABET) == 96
    assert DEFAULT_ALPHABET[0] == " " and DEFAULT_ALPHABET[-2:] == "~\n"
    assert len(set(DEFAULT_ALPHABET)) == 96
    assert all(c.isprintable() or c == "\n" for c in DEFAULT_ALPHABET)


def test_vocabulary_layout(tok: Any) -> None:
    assert len(tok) == 5 + len(DEFAULT_ALPHABET)
    assert (tok.pad_token, tok.pad_token_id) == ("<pad>", 0)
    assert (tok.eos_token, tok.eos_token_id) == ("<eos>", 1)
    assert (tok.unk_token, tok.unk_token_id) == ("<unk>", 2)
    assert tok.convert_tokens_to_ids(["Yes", "No"]) == [3, 4]
    assert tok.convert_tokens_to_ids(list("a\n ")) == [
        5 + DEFAULT_ALPHABET.index(c) for c in "a\n "
    ]
    assert tok.padding_side == "right"
    assert tok.model_max_length == 512


@given(alphabet_text)
def test_round_trip(tok: Any, text: str) -> None:
    ids = tok.encode(text, add_special_tokens=False)
    assert ids == expected_ids(text)
    assert tok.decode(ids, skip_special_tokens=True) == text
    assert tok.decode(ids) == text


@pytest.fixture(scope="module")
def loaded_tok(saved_small: tuple[Path, Any, Any]) -> Any:
    """The tokenizer of a saved model directory, through :func:`rlv.models.load`."""
    return load(saved_small[0])[1]


@given(alphabet_text)
def test_round_trip_after_save_and_reload(
    tok: Any, reloaded_tok: Any, loaded_tok: Any, text: str
) -> None:
    expected = tok.encode(text, add_special_tokens=False)
    for other in (reloaded_tok, loaded_tok):
        ids = other.encode(text, add_special_tokens=False)
        assert ids == expected
        assert other.decode(ids, skip_special_tokens=True) == text


def test_whitespace_and_punctuation_round_trip(tok: Any) -> None:
    for text in ["  a  b ", "\n\nx\n", "hello , world . ' s", "a\n \n b", "1+2=3\n#### 3"]:
        ids = tok.encode(text, add_special_tokens=False)
        assert len(ids) == len(text)
        assert tok.decode(ids, skip_special_tokens=True) == text


def test_yes_no_single_tokens(tok: Any) -> None:
    assert tok.encode("Yes", add_special_tokens=False) == [3]
    assert tok.encode("No", add_special_tokens=False) == [4]
    assert tok.encode("Answer: Yes", add_special_tokens=False)[-1] == 3
    assert tok.encode(" No\n", add_special_tokens=False)[1] == 4
    # The words are added tokens, not special ones: decoding keeps them.
    assert tok.decode([3, 5, 4], skip_special_tokens=True) == "Yes No"
    # Other capitalisations are plain characters.
    assert tok.encode("yes", add_special_tokens=False) == expected_ids("yes")
    assert len(tok.encode("YES", add_special_tokens=False)) == 3


def test_unknown_characters(tok: Any) -> None:
    ids = tok.encode("a\tb\u00e9\u4e2d", add_special_tokens=False)
    assert ids == [expected_ids("a")[0], 2, expected_ids("b")[0], 2, 2]
    assert tok.decode(ids, skip_special_tokens=True) == "ab"
    assert tok.decode(ids) == "a<unk>b<unk><unk>"


def test_special_tokens_skipped_and_not_added(tok: Any) -> None:
    assert tok("ab")["input_ids"] == expected_ids("ab")  # no bos/eos added
    assert tok.decode([0, 1, 2, *expected_ids("x y")], skip_special_tokens=True) == "x y"
    # Special-token strings in the text are read as those tokens (the HF convention).
    assert tok.encode("a<eos>", add_special_tokens=False) == [*expected_ids("a"), 1]
    assert tok.encode("<pad><unk>", add_special_tokens=False) == [0, 2]


def test_padding_is_right(tok: Any) -> None:
    batch = tok(["ab", "abcd"], padding=True)
    assert batch["input_ids"][0] == [*expected_ids("ab"), 0, 0]
    assert batch["attention_mask"] == [[1, 1, 0, 0], [1, 1, 1, 1]]


def test_reloaded_tokenizer_settings(reloaded_tok: Any) -> None:
    assert (reloaded_tok.pad_token_id, reloaded_tok.eos_token_id) == (0, 1)
    assert reloaded_tok.unk_token_id == 2
    assert reloaded_tok.padding_side == "right"
    assert reloaded_tok.model_max_length == 512
    assert reloaded_tok.encode("Yes No", add_special_tokens=False) == [3, 5, 4]
    assert reloaded_tok.encode("\u00e9", add_special_tokens=False) == [2]


def test_custom_alphabet() -> None:
    tok = build_tokenizer("0123456789+-=?#\n ", model_max_length=64)
    assert len(tok) == 5 + 17
    assert tok.model_max_length == 64
    text = "37+48=85\n#### 85"
    ids = tok.encode(text, add_special_tokens=False)
    assert len(ids) == len(text) and 2 not in ids
    assert tok.decode(ids) == text
    assert tok.encode("x", add_special_tokens=False) == [2]


@pytest.mark.parametrize(
    ("alphabet", "message"), [("", "non-empty"), ("abca", "repeated"), ("aa", "repeated")]
)
def test_bad_alphabet(alphabet: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_tokenizer(alphabet)


# ---------------------------------------------------------------------------------------------
# tiny()


def test_tiny_defaults() -> None:
    model, tok = tiny()
    assert isinstance(model, Qwen2ForCausalLM)
    cfg = model.config
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size) == (128, 4, 512)
    assert (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim) == (2, 2, 64)
    assert cfg.vocab_size == len(tok) == 101
    assert cfg.max_position_embeddings == 512
    assert (cfg.eos_token_id, cfg.pad_token_id, cfg.bos_token_id) == (1, 0, 1)
    assert model.generation_config.eos_token_id == 1
    assert model.generation_config.pad_token_id == 0
    assert model.training
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert model.lm_head.weight is model.model.embed_tokens.weight  # tied


def expected_param_count(v: int, h: int, layers: int, heads: int, hd: int, inter: int) -> int:
    attn = h * heads * hd * 3 + heads * hd * 3 + heads * hd * h  # q/k/v (+bias), o (no bias)
    mlp = 3 * h * inter
    return v * h + layers * (attn + mlp + 2 * h) + h


def test_parameter_count_and_head_dim() -> None:
    model, tok = tiny(**SMALL)
    expected = expected_param_count(len(tok), 32, 2, 2, 16, 64)
    assert num_parameters(model) == expected
    untied, _ = tiny(**SMALL, tie_word_embeddings=False)
    assert num_parameters(untied) == expected + len(tok) * 32
    # head_dim is honoured even when it differs from hidden_size / num_heads.
    odd, _ = tiny(**{**SMALL, "head_dim": 24})
    assert odd.model.layers[0].self_attn.q_proj.out_features == 48
    assert odd.config.head_dim == 24
    assert num_parameters(tiny()[0]) == expected_param_count(101, 128, 4, 2, 64, 512)


def test_forward_shape() -> None:
    model, tok = tiny(**SMALL)
    batch = tok(["1+2=?\n", "Yes"], padding=True, return_tensors="pt")
    out = model(**batch)
    assert out.logits.shape == (2, batch["input_ids"].shape[1], len(tok))
    assert out.logits.dtype == torch.float32
    assert torch.isfinite(out.logits).all()


def test_seed_determinism_and_global_rng_untouched() -> None:
    state = torch.get_rng_state()
    a, _ = tiny(**SMALL, seed=7)
    b, _ = tiny(**SMALL, seed=7)
    c, _ = tiny(**SMALL, seed=8)
    assert torch.equal(torch.get_rng_state(), state)
    assert state_equal(a, b)
    assert not state_equal(a, c)


def test_tiny_with_given_tokenizer() -> None:
    tok = build_tokenizer("01+-=?\n")
    model, same = tiny(**SMALL, tokenizer=tok)
    assert same is tok
    assert model.config.vocab_size == 5 + 7


def test_tiny_generates() -> None:
    model, tok = tiny(**SMALL)
    model.eval()
    batch = tok(["12+3=?\n"], return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=4, do_sample=False)
    assert out.shape[0] == 1 and batch["input_ids"].shape[1] < out.shape[1] <= 7 + 4
    assert torch.equal(out[0, :7], batch["input_ids"][0])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"hidden_size": 0}, ValueError),
        ({"num_layers": -1}, ValueError),
        ({"num_heads": 1.5}, TypeError),
        ({"seed": "0"}, TypeError),
    ],
)
def test_tiny_rejects_bad_arguments(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        tiny(**{**SMALL, **kwargs})


# ---------------------------------------------------------------------------------------------
# save / load


def test_save_writes_safetensors(saved_small: tuple[Path, Any, Any]) -> None:
    directory, _, _ = saved_small
    names = {p.name for p in directory.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    assert not any(name.endswith(".bin") for name in names)


def test_save_load_round_trip(saved_small: tuple[Path, Any, Any]) -> None:
    directory, model, tok = saved_small
    loaded, loaded_tok = load(directory)
    assert not loaded.training
    assert state_equal(model, loaded)
    model.eval()
    ids = tok(["37+48=?\n", "Is it right? Yes"], padding=True, return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(model(**ids).logits, loaded(**ids).logits)
    model.train()
    text = "85-19=66\n#### 66 No\u00e9"
    assert loaded_tok.encode(text, add_special_tokens=False) == tok.encode(
        text, add_special_tokens=False
    )
    assert (loaded_tok.pad_token_id, loaded_tok.eos_token_id) == (0, 1)
    assert loaded.generation_config.eos_token_id == 1
    assert loaded.generation_config.pad_token_id == 0


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        ("bfloat16", "bfloat16"),
        ("float16", "float16"),
        ("float32", "float32"),
        ("auto", "float32"),
        (None, "float32"),
        ("torch.bfloat16", "bfloat16"),
    ],
)
def test_load_dtype(saved_small: tuple[Path, Any, Any], dtype: Any, expected: str) -> None:
    if dtype == "torch.bfloat16":
        dtype = torch.bfloat16
    model, _ = load(saved_small[0], dtype=dtype, device="cpu")
    assert {p.dtype for p in model.parameters()} == {getattr(torch, expected)}
    assert next(model.parameters()).device.type == "cpu"


def test_load_bad_dtype(saved_small: tuple[Path, Any, Any]) -> None:
    with pytest.raises(ValueError, match="invalid dtype 'fp8'"):
        load(saved_small[0], dtype="fp8")
    with pytest.raises(TypeError, match="dtype"):
        load(saved_small[0], dtype=16)


def test_load_errors(tmp_path: Path, saved_small: tuple[Path, Any, Any]) -> None:
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load(tmp_path / "missing")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load(a_file)
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load(tmp_path)
    no_tok = tmp_path / "no_tokenizer"
    no_tok.mkdir()
    (no_tok / "config.json").write_text((saved_small[0] / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="no tokenizer"):
        load(no_tok)


def test_load_tokenizer_class_choice(tmp_path: Path, saved_small: tuple[Path, Any, Any]) -> None:
    """A generic fast tokenizer is read verbatim from tokenizer.json even in a qwen2
    directory; a tokenizer declaring a specific class goes through AutoTokenizer."""
    _, model, tok = saved_small
    save(model, tok, tmp_path)
    declared = json.loads((tmp_path / "tokenizer_config.json").read_text())["tokenizer_class"]
    assert declared in ("TokenizersBackend", "PreTrainedTokenizerFast")
    loaded = load(tmp_path)[1]
    assert loaded.encode(" \n", add_special_tokens=False) == expected_ids(" \n")
    cfg_path = tmp_path / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["tokenizer_class"] = "Qwen2Tokenizer"
    cfg_path.write_text(json.dumps(cfg))
    assert type(load(tmp_path)[1]).__name__ == "Qwen2Tokenizer"


def test_load_uses_eos_as_missing_pad(tmp_path: Path, saved_small: tuple[Path, Any, Any]) -> None:
    _, model, tok = saved_small
    save(model, tok, tmp_path)
    cfg_path = tmp_path / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    del cfg["pad_token"]
    cfg_path.write_text(json.dumps(cfg))
    gen_path = tmp_path / "generation_config.json"
    gen = json.loads(gen_path.read_text())
    del gen["pad_token_id"]
    gen_path.write_text(json.dumps(gen))
    loaded, loaded_tok = load(tmp_path)
    assert loaded_tok.pad_token == "<eos>"
    assert loaded_tok.pad_token_id == 1
    assert loaded.generation_config.pad_token_id == 1


# ---------------------------------------------------------------------------------------------
# Exports


def test_module_exports() -> None:
    for name in models.__all__:
        assert hasattr(models, name)
