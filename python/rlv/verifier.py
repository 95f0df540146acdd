"""The generative verifier of RL^V: the model itself answers "Yes"/"No" to "is this solution
correct?" after its own solution.

One verification example is the token sequence::

    prompt  +  completion (the sampled tokens, EOS included when it stopped)  +  suffix

where ``suffix`` is the instruction (:class:`Template`). The label token (``Yes`` if the
rollout's reward is 1, else ``No``) is predicted by the logits at the *last* suffix position;
it is never part of the input. The same template is used at train and test time.

Because attention is causal, the logits over the completion tokens do not depend on the
suffix that follows them, so the trainer computes the policy loss and the verification loss
from **one** forward pass over ``prompt + completion + suffix``: the verifier costs the suffix
tokens, not a second pass.

Batches are **left-padded** with explicit ``position_ids`` (each row's positions count from
0 at its first real token), so every row's label position is the last column and the
completion windows are right-aligned (:class:`PackedBatch`).

Scores (:func:`score`): raw ``P(Yes)`` under the full-vocabulary softmax (the paper's score)
and the normalised ``P(Yes) / (P(Yes) + P(No))``, from one forward pass, batched, without
generating.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch

__all__ = [
    "CHAT_QUESTION",
    "PAPER_INSTRUCTION",
    "PackedBatch",
    "Scores",
    "Template",
    "Verifier",
    "build_verification_batch",
    "check_pairs",
    "pack",
    "score",
]

PAPER_INSTRUCTION: Final[str] = "Is this solution correct? Answer Yes or No"
"""The paper's instruction (Fig. 3)."""

CHAT_QUESTION: Final[str] = "Is this solution correct (Yes/No)?"
"""The question of the chat-template variant (a new user turn)."""

TokenIds = Sequence[int]


@dataclass(frozen=True)
class Template:
    """How a verification question follows a solution.

    ``kind="plain"``: ``text`` is appended after the completion (default: a newline, the
    paper's instruction, a newline). ``kind="chat"``: the completion's assistant turn is closed
    and a user turn asking ``text`` (default :data:`CHAT_QUESTION`) plus the assistant header
    follow, rendered by the tokenizer's chat template. ``yes``/``no``: the label strings, each
    of which must be a single token.
    """

    kind: str = "plain"
    text: str | None = None
    yes: str = "Yes"
    no: str = "No"

    @classmethod
    def from_name(cls, name: str, *, yes: str = "Yes", no: str = "No") -> Template:
        """``"plain"``, ``"chat"``, or any other string: a custom plain instruction text."""
        if name in ("plain", "chat"):
            return cls(kind=name, yes=yes, no=no)
        return cls(kind="plain", text=name, yes=yes, no=no)

    def suffix_text(self, tokenizer: Any) -> str:
        """The suffix as text for ``tokenizer``."""
        if self.kind == "plain":
            return self.text if self.text is not None else f"\n{PAPER_INSTRUCTION}\n"
        if self.kind != "chat":
            raise ValueError(f"unknown template kind {self.kind!r}; allowed: plain, chat")
        if getattr(tokenizer, "chat_template", None) is None:
            raise ValueError(
                "verify.template is 'chat' but the tokenizer has no chat template; use 'plain' "
                "or a custom instruction"
            )
        marker = "\x00RLV-COMPLETION\x00"
        question = self.text if self.text is not None else CHAT_QUESTION
        rendered: str = tokenizer.apply_chat_template(
            [
                {"role": "user", "content": "P"},
                {"role": "assistant", "content": marker},
                {"role": "user", "content": question},
            ],
            tokenize=False,
            add_generation_prompt=True,
        )
        if marker not in rendered:
            raise ValueError("the tokenizer's chat template does not render assistant content")
        return rendered.split(marker, 1)[1]


def _single_token(tokenizer: Any, text: str, what: str) -> int:
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != 1:
        raise ValueError(
            f"the verifier's {what} label {text!r} is {len(ids)} tokens ({ids}) for this "
            f"tokenizer; it must be exactly one (set verify.{what} to a single-token string)"
        )
    return int(ids[0])


@dataclass(frozen=True)
class PackedBatch:
    """``prompt + completion + suffix`` rows, left-padded (see the module docstring).

    Shapes: ``B`` rows, ``T`` columns, ``C`` = the longest completion. Completion token ``j``
    of row ``b`` (right-aligned) is ``completion_ids[b, C - c_b + j]``; its log-probability
    comes from the logits at column ``T - S - c_b + j - 1`` where ``S`` is the suffix length,
    i.e. from the window of the last ``C + S + 1`` logits (``logits_to_keep``) at offset
    ``C - c_b + j``. The label is predicted by the last column.
    """

    input_ids: torch.Tensor
    """``(B, T)`` long."""
    attention_mask: torch.Tensor
    """``(B, T)`` long, 0 on the left padding."""
    position_ids: torch.Tensor
    """``(B, T)`` long, counting from 0 at each row's first token."""
    completion_ids: torch.Tensor
    """``(B, C)`` long, right-aligned, pad on the left."""
    completion_mask: torch.Tensor
    """``(B, C)`` bool."""
    suffix_len: int

    @property
    def logits_to_keep(self) -> int:
        """How many final positions' logits the forward pass must return."""
        return int(self.completion_ids.shape[1]) + self.suffix_len + 1

    def completion_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """``(B, C, V)`` logits predicting the completion tokens, from the ``(B, K, V)`` logits
        of the last ``K >= logits_to_keep`` positions."""
        c = int(self.completion_ids.shape[1])
        start = logits.shape[1] - self.logits_to_keep
        return logits[:, start : start + c]

    def label_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """``(B, V)`` logits at the label position (the last column)."""
        return logits[:, -1]


def check_pairs(prompts: Sequence[Any], completions: Sequence[Any]) -> None:
    """Raise ``ValueError`` unless there is one completion per prompt."""
    if len(prompts) != len(completions):
        raise ValueError(
            f"prompts has length {len(prompts)}, but completions has length {len(completions)}"
        )


def pack(
    prompts: Sequence[TokenIds],
    completions: Sequence[TokenIds],
    suffix: TokenIds,
    *,
    pad_id: int,
    device: Any = None,
) -> PackedBatch:
    """Left-pad ``prompt + completion + suffix`` rows into a :class:`PackedBatch`."""
    import torch

    check_pairs(prompts, completions)
    if not prompts:
        raise ValueError("cannot pack an empty batch")
    s = len(suffix)
    lens = [len(p) + len(c) + s for p, c in zip(prompts, completions, strict=True)]
    t = max(lens)
    c_max = max(len(c) for c in completions)
    b = len(prompts)
    ids = np.full((b, t), pad_id, dtype=np.int64)
    att = np.zeros((b, t), dtype=np.int64)
    comp = np.full((b, max(c_max, 0)), pad_id, dtype=np.int64)
    cmask = np.zeros((b, max(c_max, 0)), dtype=bool)
    for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
        if len(p) == 0:
            raise ValueError(f"row {i}: empty prompt")
        row = [*p, *c, *suffix]
        ids[i, t - len(row) :] = row
        att[i, t - len(row) :] = 1
        if c:
            comp[i, c_max - len(c) :] = c
            cmask[i, c_max - len(c) :] = True
    pos = np.clip(np.cumsum(att, axis=1) - 1, 0, None)
    return PackedBatch(
        input_ids=torch.from_numpy(ids).to(device),
        attention_mask=torch.from_numpy(att).to(device),
        position_ids=torch.from_numpy(pos).to(device),
        completion_ids=torch.from_numpy(comp).to(device),
        completion_mask=torch.from_numpy(cmask).to(device),
        suffix_len=s,
    )


def forward_window(model: Any, batch: PackedBatch) -> torch.Tensor:
    """The model's logits for the last ``batch.logits_to_keep`` positions, ``(B, K, V)``."""
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        logits_to_keep=batch.logits_to_keep,
        use_cache=False,
    )
    logits: torch.Tensor = out.logits
    return logits


@dataclass(frozen=True)
class Scores:
    """Verifier scores for N solutions."""

    raw: npt.NDArray[np.float64]
    """``P(Yes)`` under the full-vocabulary softmax (the paper's score)."""
    normalized: npt.NDArray[np.float64]
    """``P(Yes) / (P(Yes) + P(No))``."""


class Verifier:
    """A tokenizer's verification template with its Yes/No token ids resolved once.

    Raises ``ValueError`` at construction if either label is not exactly one token.
    """

    def __init__(self, tokenizer: Any, template: Template | str = "plain") -> None:
        if isinstance(template, str):
            template = Template.from_name(template)
        self.tokenizer = tokenizer
        self.template = template
        self.yes_id = _single_token(tokenizer, template.yes, "yes")
        self.no_id = _single_token(tokenizer, template.no, "no")
        if self.yes_id == self.no_id:
            raise ValueError(f"the yes and no labels are the same token ({self.yes_id})")
        text = template.suffix_text(tokenizer)
        self.suffix_ids: list[int] = list(tokenizer.encode(text, add_special_tokens=False))
        if not self.suffix_ids:
            raise ValueError("the verification suffix is empty")
        self._chat = template.kind == "chat"
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = tokenizer.eos_token_id
        if pad is None:
            raise ValueError("the tokenizer has neither a pad nor an EOS token")
        self.pad_id = int(pad)
        self.eos_id = None if tokenizer.eos_token_id is None else int(tokenizer.eos_token_id)

    # -- token ids ---------------------------------------------------------------------------

    def prompt_ids(self, prompt: str | TokenIds) -> list[int]:
        """Token ids of a prompt (text is encoded with the tokenizer's special tokens)."""
        if isinstance(prompt, str):
            if not prompt:
                raise ValueError("empty prompt")
            return list(self.tokenizer.encode(prompt, add_special_tokens=True))
        return [int(t) for t in prompt]

    def completion_ids(self, completion: str | TokenIds) -> list[int]:
        """Token ids of a completion; a text completion gets its EOS appended."""
        if isinstance(completion, str):
            ids = list(self.tokenizer.encode(completion, add_special_tokens=False))
            if self.eos_id is not None:
                ids.append(self.eos_id)
            return ids
        return [int(t) for t in completion]

    def suffix_for(self, completion: TokenIds) -> list[int]:
        """The suffix after ``completion`` (the chat variant drops an end-of-turn token that
        the completion already ends with)."""
        if self._chat and completion and self.suffix_ids and completion[-1] == self.suffix_ids[0]:
            return self.suffix_ids[1:]
        return self.suffix_ids

    def row_ids(self, prompt: str | TokenIds, completion: str | TokenIds) -> list[int]:
        """One verification row, ``prompt + completion + suffix`` (the label position is its
        last token): the same tokens as a row of :meth:`pack`, without padding."""
        c = self.completion_ids(completion)
        return [*self.prompt_ids(prompt), *c, *self.suffix_for(c)]

    # -- batches -----------------------------------------------------------------------------

    def pack(
        self,
        prompts: Sequence[str | TokenIds],
        completions: Sequence[str | TokenIds],
        *,
        device: Any = None,
    ) -> PackedBatch:
        """Pack verification rows (see :func:`pack`)."""
        p_ids = [self.prompt_ids(p) for p in prompts]
        c_ids = [self.completion_ids(c) for c in completions]
        if self._chat:
            # One suffix per batch keeps the layout simple: strip a shared leading end-of-turn
            # token from the completions instead.
            first = self.suffix_ids[0]
            c_ids = [c[:-1] if c and c[-1] == first else c for c in c_ids]
        return pack(p_ids, c_ids, self.suffix_ids, pad_id=self.pad_id, device=device)

    def score(
        self,
        model: Any,
        prompts: Sequence[str | TokenIds],
        completions: Sequence[str | TokenIds],
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> Scores:
        """Score solutions with the model's own P(Yes) (one forward pass per batch).

        Rows are scored in batches of ``batch_size``, longest first, under ``torch.no_grad``
        (the model is put in eval mode and restored).
        """
        import torch

        from rlv.losses import verifier_score

        check_pairs(prompts, completions)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(prompts)
        raw = np.zeros(n, dtype=np.float64)
        norm = np.zeros(n, dtype=np.float64)
        if n == 0:
            return Scores(raw, norm)
        p_ids = [self.prompt_ids(p) for p in prompts]
        c_ids = [self.completion_ids(c) for c in completions]
        order = sorted(range(n), key=lambda i: -(len(p_ids[i]) + len(c_ids[i])))
        device = _model_device(model)
        was_training = bool(getattr(model, "training", False))
        model.eval()
        bar = _progress(n, "verifier", progress)
        try:
            with torch.no_grad():
                for idx in _chunks(order, batch_size):
                    batch = self.pack(
                        [p_ids[i] for i in idx], [c_ids[i] for i in idx], device=device
                    )
                    z = batch.label_logits(forward_window(model, batch)).float()
                    r = verifier_score(z, yes_id=self.yes_id, no_id=self.no_id, normalize=False)
                    q = verifier_score(z, yes_id=self.yes_id, no_id=self.no_id, normalize=True)
                    raw[idx] = r.double().cpu().numpy()
                    norm[idx] = q.double().cpu().numpy()
                    if bar is not None:
                        bar.update(len(idx))
        finally:
            if bar is not None:
                bar.close()
            if was_training:
                model.train()
        return Scores(raw, norm)


# ---------------------------------------------------------------------------------------------
# module-level API


@dataclass(frozen=True)
class VerificationBatch:
    """Inputs of the verification loss (see :func:`build_verification_batch`)."""

    packed: PackedBatch
    labels: torch.Tensor
    """``(B,)`` bool: the rollout was correct (target ``Yes``)."""
    valid: torch.Tensor
    """``(B,)`` bool: the reward was scorable (not NaN); invalid rows carry no loss."""
    yes_id: int
    no_id: int

    @property
    def input_ids(self) -> torch.Tensor:
        return self.packed.input_ids

    @property
    def attention_mask(self) -> torch.Tensor:
        return self.packed.attention_mask

    @property
    def label_positions(self) -> torch.Tensor:
        """``(B,)`` column of the logits that predict the label (always the last)."""
        import torch

        b, t = self.packed.input_ids.shape
        return torch.full((b,), t - 1, dtype=torch.long, device=self.packed.input_ids.device)


def build_verification_batch(
    tokenizer: Any,
    prompts: Sequence[str | TokenIds],
    completions: Sequence[str | TokenIds],
    rewards: Sequence[float] | npt.NDArray[Any],
    *,
    template: Template | str = "plain",
    device: Any = None,
) -> VerificationBatch:
    """Verification examples for rollouts: ``prompt + completion (+ EOS) + instruction``.

    ``labels[i]`` is ``rewards[i] > 0.5``; NaN rewards (unscorable) are marked invalid. Text
    completions get the tokenizer's EOS appended; token-id completions are used as sampled.
    """
    import torch

    r = np.asarray(rewards, dtype=np.float64)
    if r.shape != (len(prompts),):
        raise ValueError(f"rewards must have shape ({len(prompts)},), got {r.shape}")
    v = Verifier(tokenizer, template)
    packed = v.pack(prompts, completions, device=device)
    valid = ~np.isnan(r)
    labels = np.where(valid, r > 0.5, False)
    return VerificationBatch(
        packed=packed,
        labels=torch.from_numpy(labels).to(device),
        valid=torch.from_numpy(valid).to(device),
        yes_id=v.yes_id,
        no_id=v.no_id,
    )


def score(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str | TokenIds],
    completions: Sequence[str | TokenIds],
    *,
    template: Template | str = "plain",
    batch_size: int = 64,
    progress: bool = False,
) -> Scores:
    """Raw and normalised P(Yes) for each (prompt, completion); see :meth:`Verifier.score`."""
    return Verifier(tokenizer, template).score(
        model, prompts, completions, batch_size=batch_size, progress=progress
    )


# ---------------------------------------------------------------------------------------------
# metrics


def auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """ROC AUC (Mann-Whitney U with ties counted 1/2); NaN when a class is absent."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_s = s[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def brier(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Mean squared error of the scores as probabilities of the labels (NaN if empty)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if s.size == 0:
        return math.nan
    return float(np.mean((s - y) ** 2))


# ---------------------------------------------------------------------------------------------
# helpers


def _model_device(model: Any) -> Any:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return None


def _chunks(seq: Sequence[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(seq), size):
        yield list(seq[i : i + size])


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="seq", dynamic_ncols=True)
