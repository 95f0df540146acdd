"""Tiny Qwen2 causal LMs with a local character-level tokenizer, and loading/saving of any
local Hugging Face causal-LM directory.

Everything here is built locally: nothing is ever downloaded from a model hub.

* :func:`build_tokenizer`: a character-level tokenizer (one token per character of an
  alphabet) with ``<pad>``, ``<eos>``, ``<unk>`` and the two verifier words ``Yes`` / ``No``
  as single tokens.
* :func:`tiny`: a small, randomly initialised ``Qwen2ForCausalLM`` (deterministic in its
  seed) and its tokenizer, for tests and toy RL^V runs::

      from rlv.models import tiny, save, load

      model, tok = tiny(hidden_size=64, num_layers=2, seed=0)
      save(model, tok, "ckpt/")
      model, tok = load("ckpt/")             # or any local HF causal-LM directory

* :func:`load` / :func:`save` / :func:`num_parameters`.

Importing this module imports torch and transformers; ``import rlv`` imports neither.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

try:
    import torch
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, pre_tokenizers
    from tokenizers import models as tok_models
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        PreTrainedModel,
        PreTrainedTokenizerBase,
        PreTrainedTokenizerFast,
        Qwen2Config,
        Qwen2ForCausalLM,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "rlv.models needs PyTorch and transformers, which are not installed: "
        'pip install "rlv[train]" transformers'
    ) from exc

__all__ = [
    "DEFAULT_ALPHABET",
    "DTYPES",
    "EOS_TOKEN",
    "NO_TOKEN",
    "PAD_TOKEN",
    "UNK_TOKEN",
    "YES_TOKEN",
    "build_tokenizer",
    "load",
    "load_tokenizer",
    "num_parameters",
    "save",
    "tiny",
]

DEFAULT_ALPHABET: Final[str] = "".join(chr(c) for c in range(0x20, 0x7F)) + "\n"
"""Every printable ASCII character (space through ``~``) plus the newline: 96 characters."""

PAD_TOKEN: Final[str] = "<pad>"
"""Padding token of :func:`build_tokenizer` (id 0)."""
EOS_TOKEN: Final[str] = "<eos>"
"""End-of-sequence token of :func:`build_tokenizer` (id 1)."""
UNK_TOKEN: Final[str] = "<unk>"
"""Unknown-character token of :func:`build_tokenizer` (id 2)."""
YES_TOKEN: Final[str] = "Yes"
"""The verifier's positive word, a single token (id 3) in :func:`build_tokenizer`."""
NO_TOKEN: Final[str] = "No"
"""The verifier's negative word, a single token (id 4) in :func:`build_tokenizer`."""

DTYPES: Final[dict[str, torch.dtype | str]] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "auto": "auto",
}
"""The dtype names accepted by :func:`load` (``"auto"``: the dtype stored in the checkpoint)."""

_TOKENIZER_FILES: Final[tuple[str, ...]] = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "vocab.json",
)


def build_tokenizer(
    alphabet: str = DEFAULT_ALPHABET, *, model_max_length: int = 512
) -> PreTrainedTokenizerFast:
    """A character-level fast tokenizer over ``alphabet``.

    Vocabulary: ``<pad>`` (0), ``<eos>`` (1), ``<unk>`` (2), ``Yes`` (3), ``No`` (4), then
    one token per character of ``alphabet`` in order. ``Yes`` and ``No`` are *added* (not
    special) tokens: the text ``"Yes"`` / ``"No"`` always encodes to that single token,
    wherever it occurs (also inside a longer word: ``"Nope"`` is ``No``, ``p``, ``e``). Any
    other text encodes to one id per character; characters outside the alphabet map to
    ``<unk>``. Decoding concatenates the tokens (a fuse decoder, no spaces inserted and no
    clean-up of spaces), so ``decode(encode(text))`` is ``text`` for text over the alphabet.
    No special tokens are added on encoding (there is no post-processor); padding is on
    the right.

    Args:
        alphabet: the characters, each at most once.
        model_max_length: the tokenizer's ``model_max_length``.

    Raises:
        ValueError: an empty alphabet or a repeated character.
    """
    if not isinstance(alphabet, str) or not alphabet:
        raise ValueError("alphabet must be a non-empty string")
    if len(set(alphabet)) != len(alphabet):
        repeated = sorted({c for c in alphabet if alphabet.count(c) > 1})
        raise ValueError(f"alphabet has repeated characters: {repeated!r}")
    if isinstance(model_max_length, bool) or not isinstance(model_max_length, int):
        raise TypeError("model_max_length must be an int")
    if model_max_length < 1:
        raise ValueError(f"model_max_length must be >= 1, got {model_max_length}")

    specials = [PAD_TOKEN, EOS_TOKEN, UNK_TOKEN]
    words = [YES_TOKEN, NO_TOKEN]
    vocab: dict[str, int] = {}
    for token in [*specials, *words, *alphabet]:
        vocab[token] = len(vocab)

    backend = Tokenizer(tok_models.WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
    # Every character is its own pre-token. Oniguruma: `.` does not match "\n", so use a
    # class that matches any single code point.
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    backend.decoder = decoders.Fuse()
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    backend.add_tokens([AddedToken(t, special=False, normalized=False) for t in words])

    # The constructor is untyped in transformers 5 (an alias of TokenizersBackend).
    fast_tokenizer_class: Any = PreTrainedTokenizerFast
    tokenizer: PreTrainedTokenizerFast = fast_tokenizer_class(
        tokenizer_object=backend,
        pad_token=PAD_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=UNK_TOKEN,
        padding_side="right",
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
    )
    return tokenizer


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def tiny(
    *,
    hidden_size: int = 128,
    num_layers: int = 4,
    num_heads: int = 2,
    head_dim: int = 64,
    intermediate_size: int = 512,
    max_position_embeddings: int = 512,
    tie_word_embeddings: bool = True,
    seed: int = 0,
    tokenizer: PreTrainedTokenizerBase | None = None,
) -> tuple[Qwen2ForCausalLM, PreTrainedTokenizerBase]:
    """A small randomly initialised ``Qwen2ForCausalLM`` and its tokenizer.

    The weights depend only on the configuration and ``seed`` (the global torch RNG is
    neither used nor changed). The model is float32, in training mode, on the CPU; its
    ``generation_config`` has the tokenizer's eos and pad ids. With the defaults and the
    default tokenizer it has about 1.06 M parameters.

    Args:
        hidden_size, num_layers, num_heads, head_dim, intermediate_size,
            max_position_embeddings, tie_word_embeddings: the ``Qwen2Config`` (``num_heads``
            attention heads, as many key/value heads, explicit ``head_dim``).
        seed: the initialisation seed.
        tokenizer: the tokenizer; :func:`build_tokenizer` (with ``model_max_length =
            max_position_embeddings``) when ``None``. It needs an eos token.

    Returns:
        ``(model, tokenizer)``.
    """
    sizes = {
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "num_heads": num_heads,
        "head_dim": head_dim,
        "intermediate_size": intermediate_size,
        "max_position_embeddings": max_position_embeddings,
    }
    for name, value in sizes.items():
        _check_positive(name, value)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, not {type(seed).__name__}")
    if tokenizer is None:
        tokenizer = build_tokenizer(model_max_length=max_position_embeddings)
    eos_id = tokenizer.eos_token_id
    if eos_id is None:
        raise ValueError("the tokenizer needs an eos token")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id
    bos_id = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos_id

    # `head_dim` is accepted (and honoured) by Qwen2Config but missing from its typed
    # signature in transformers 5, hence the keyword dict.
    config_kwargs: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "hidden_size": hidden_size,
        "intermediate_size": intermediate_size,
        "num_hidden_layers": num_layers,
        "num_attention_heads": num_heads,
        "num_key_value_heads": num_heads,
        "head_dim": head_dim,
        "max_position_embeddings": max_position_embeddings,
        "tie_word_embeddings": bool(tie_word_embeddings),
        "bos_token_id": bos_id,
        "eos_token_id": eos_id,
        "pad_token_id": pad_id,
        "dtype": torch.float32,
    }
    config = Qwen2Config(**config_kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)
    # (PreTrainedModel.to is a decorated method whose typed signature rejects a dtype.)
    torch.nn.Module.to(model, torch.float32)
    model.train()
    model.generation_config.bos_token_id = bos_id
    model.generation_config.eos_token_id = eos_id
    model.generation_config.pad_token_id = pad_id
    return model, tokenizer


def _resolve_dtype(dtype: torch.dtype | str | None) -> torch.dtype | str | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            allowed = ", ".join(repr(k) for k in DTYPES)
            raise ValueError(f"invalid dtype {dtype!r}; allowed: None, a torch.dtype, {allowed}")
        return DTYPES[dtype]
    raise TypeError(f"dtype must be None, a torch.dtype or a str, not {type(dtype).__name__}")


def load(
    path: str | os.PathLike[str],
    *,
    dtype: torch.dtype | str | None = None,
    device: str | torch.device | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer from a local Hugging Face directory.

    Only local files are read (``local_files_only=True``). The model is in eval mode (as
    ``from_pretrained`` leaves it). The tokenizer comes from ``AutoTokenizer``, except that a
    generic fast tokenizer (such as :func:`build_tokenizer`'s) is loaded verbatim from its
    ``tokenizer.json``: for ``qwen2`` directories transformers 5's ``AutoTokenizer`` would
    rebuild it as a byte-level ``Qwen2Tokenizer`` and lose its pre-tokenizer and decoder. A tokenizer without a pad token gets its eos token as
    pad (and the generation config's missing pad id is set accordingly).

    Args:
        path: a directory with ``config.json``, the weights and the tokenizer files (as
            written by :func:`save` or ``save_pretrained``).
        dtype: ``None`` (transformers' default), a ``torch.dtype``, or one of
            ``"float32"``, ``"bfloat16"``, ``"float16"``, ``"auto"`` (the stored dtype).
        device: where to move the model (``None``: stays on the CPU).

    Returns:
        ``(model, tokenizer)``.

    Raises:
        FileNotFoundError: ``path`` is not a directory with ``config.json`` and tokenizer
            files.
        ValueError / TypeError: an invalid ``dtype``.
    """
    resolved = _resolve_dtype(dtype)
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"model directory not found: {str(directory)!r} is not a directory")
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(
            f"not a Hugging Face model directory: {str(directory)!r} has no config.json"
        )
    if not any((directory / name).is_file() for name in _TOKENIZER_FILES):
        raise FileNotFoundError(
            f"no tokenizer in {str(directory)!r}: expected one of {', '.join(_TOKENIZER_FILES)}"
        )

    kwargs: dict[str, Any] = {"local_files_only": True}
    if resolved is not None:
        kwargs["dtype"] = resolved
    model: PreTrainedModel = AutoModelForCausalLM.from_pretrained(directory, **kwargs)
    tokenizer = load_tokenizer(directory)
    generation_config = getattr(model, "generation_config", None)
    if generation_config is not None and generation_config.pad_token_id is None:
        generation_config.pad_token_id = tokenizer.pad_token_id
    if device is not None:
        torch.nn.Module.to(model, device)
    return model, tokenizer


def load_tokenizer(path: str | os.PathLike[str]) -> PreTrainedTokenizerBase:
    """The tokenizer of a local model directory, as :func:`load` gives it (without loading
    the model): see :func:`load` for the generic-tokenizer rule and the pad token.

    Raises:
        FileNotFoundError: ``path`` has no tokenizer files.
    """
    directory = Path(path)
    if not any((directory / name).is_file() for name in _TOKENIZER_FILES):
        raise FileNotFoundError(
            f"no tokenizer in {str(directory)!r}: expected one of {', '.join(_TOKENIZER_FILES)}"
        )
    tokenizer = _load_tokenizer(directory)
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


_GENERIC_TOKENIZER_CLASSES: Final[tuple[str, ...]] = (
    "TokenizersBackend",
    "PreTrainedTokenizerFast",
)


def _load_tokenizer(directory: Path) -> PreTrainedTokenizerBase:
    """The tokenizer of a model directory.

    A generic fast tokenizer (``tokenizer_class`` ``TokenizersBackend`` or
    ``PreTrainedTokenizerFast`` in ``tokenizer_config.json``, with a ``tokenizer.json``) is
    loaded verbatim from ``tokenizer.json``. ``AutoTokenizer`` cannot be trusted for that
    case: in transformers 5 it ignores the declared class for some model types (``qwen2``
    among them) and builds the model type's own tokenizer (``Qwen2Tokenizer``, with a
    hard-coded byte-level pipeline) from the vocabulary, which silently breaks
    :func:`build_tokenizer`'s character tokenizer (spaces and newlines vanish). Anything
    else goes through ``AutoTokenizer``.
    """
    declared: object = None
    config_file = directory / "tokenizer_config.json"
    if config_file.is_file():
        try:
            meta = json.loads(config_file.read_text(encoding="utf-8"))
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
            raise ValueError(f"{config_file}: not a readable JSON file: {e}") from e
        if not isinstance(meta, dict):
            raise ValueError(f"{config_file}: expected a JSON object, got {type(meta).__name__}")
        declared = meta.get("tokenizer_class")
    if declared in _GENERIC_TOKENIZER_CLASSES and (directory / "tokenizer.json").is_file():
        generic: PreTrainedTokenizerBase = PreTrainedTokenizerFast.from_pretrained(
            directory, local_files_only=True
        )
        return generic
    tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(
        directory, local_files_only=True
    )
    return tokenizer


def save(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, path: str | os.PathLike[str]
) -> None:
    """Save ``model`` (safetensors weights, config, generation config) and ``tokenizer``
    into the directory ``path`` (created if needed), loadable by :func:`load`."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def num_parameters(model: torch.nn.Module) -> int:
    """The number of parameters of ``model`` (tied weights counted once)."""
    return sum(p.numel() for p in model.parameters())
