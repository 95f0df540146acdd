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

Everything about the verifier is here:

* the template and its label ids (:class:`Template`, :class:`Verifier`), packing
  (:func:`pack`, :class:`PackedBatch`) and, for any tokenizer or chat template, the
  verification sequences of rollouts with their labels from the rewards
  (:func:`build_verification_batch`, :func:`verification_labels`);
* its loss (:func:`verification_loss`) and the weighting of that loss over an optimizer step
  (:func:`verification_weights`);
* its score: ``P(Yes)`` from the label-position logits (:func:`verifier_score`, tensors), the
  normalised ``P(Yes) / (P(Yes) + P(No))`` from the Yes/No logits or log-probs
  (:func:`p_yes`, arrays), and batched scoring of solutions with a model (:func:`score`,
  :meth:`Verifier.score`);
* its metrics (:func:`auc`, :func:`brier`).

Importing this module does not import torch; the functions that take tensors import it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt

from rlv.rl.losses import _allowed, _compute_dtype, _safe_div

if TYPE_CHECKING:
    import torch

__all__ = [
    "CHAT_QUESTION",
    "PAPER_INSTRUCTION",
    "PackedBatch",
    "Scores",
    "VERIFIER_MODES",
    "Template",
    "VerificationBatch",
    "Verifier",
    "auc",
    "brier",
    "build_verification_batch",
    "check_pairs",
    "forward_window",
    "label_nll_loss",
    "p_yes",
    "pack",
    "score",
    "verification_labels",
    "verification_lambda",
    "verification_loss",
    "verification_weights",
    "verifier_score",
]

PAPER_INSTRUCTION: Final[str] = "Is this solution correct? Answer Yes or No"
"""The paper's instruction (Fig. 3)."""

CHAT_QUESTION: Final[str] = "Is this solution correct (Yes/No)?"
"""The question of the chat-template variant (a new user turn)."""

VERIFIER_MODES: Final[tuple[str, ...]] = ("full", "yes_no")
"""Softmax of :func:`verification_loss`: the full vocabulary, or the two label tokens."""

VerifierMode = Literal["full", "yes_no"]
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


def verification_labels(
    rewards: Sequence[float] | npt.NDArray[Any],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """``(labels, valid)`` of rollouts from their rewards: ``labels[i] = rewards[i] > 0.5``
    (target ``Yes``), and a NaN reward (unscorable: invalid gold) is not valid (label
    ``False``, no loss)."""
    r = np.asarray(rewards)
    if r.ndim != 1:
        raise ValueError(f"rewards must be one-dimensional, got shape {r.shape}")
    valid = ~np.isnan(r)
    labels = np.where(valid, r > 0.5, False)
    return labels, valid


def build_verification_batch(
    tokenizer: Any,
    prompts: Sequence[str | TokenIds],
    completions: Sequence[str | TokenIds],
    rewards: Sequence[float] | npt.NDArray[Any],
    *,
    template: Template | str = "plain",
    device: Any = None,
) -> VerificationBatch:
    """The verification sequences of rollouts, ``prompt + completion + instruction``, packed,
    with their labels: the one way rlv builds them (its trainer calls it every micro-batch).

    ``tokenizer`` is any Hugging Face tokenizer (its chat template is used with
    ``template="chat"``), or a :class:`Verifier` (whose template is used; ``template`` must
    then be left at its default). Prompts and completions are text or token ids: text
    prompts are encoded with the tokenizer's special tokens, text completions get its EOS
    appended, token-id completions are used as sampled. Labels come from the rewards as in
    :func:`verification_labels` (``reward > 0.5`` is ``Yes``; NaN rows are invalid).

    Raises:
        ValueError: lengths differ, an empty batch or prompt, labels that are not single
            tokens, or a ``template`` passed together with a :class:`Verifier`.
    """
    import torch

    labels, valid = verification_labels(rewards)
    if labels.shape != (len(prompts),):
        raise ValueError(f"rewards must have shape ({len(prompts)},), got {labels.shape}")
    if isinstance(tokenizer, Verifier):
        if template != "plain":
            raise ValueError("pass either a Verifier or a template, not both")
        v = tokenizer
    else:
        v = Verifier(tokenizer, template)
    packed = v.pack(prompts, completions, device=device)
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
# score and loss


def p_yes(z_yes: npt.ArrayLike, z_no: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The normalised verifier score ``P(Yes) / (P(Yes) + P(No)) = sigmoid(z_yes - z_no)``.

    ``z_yes``, ``z_no``: the Yes and No logits at the label position, or their log-probs
    (the same difference). The difference is taken in the inputs' dtype, then the sigmoid in
    float64 (``1 / (1 + exp(-(z_yes - z_no)))``, its argument clipped to ``[-700, 700]`` so
    that ``exp`` cannot overflow). Arrays of any matching shape; the tensor version is
    :func:`verifier_score` (``normalize=True``).
    """
    d = np.asarray(z_yes) - np.asarray(z_no)
    return np.asarray(1.0 / (1.0 + np.exp(np.clip(-d.astype(np.float64), -700.0, 700.0))))


def verification_lambda(lam: float, ramp_steps: int, step: int) -> float:
    """The verification loss's weight at training step ``step`` (counted from 1): ``lam``,
    raised linearly over the first ``ramp_steps`` steps (``lam * min(1, step /
    ramp_steps)``; ``ramp_steps = 0``: ``lam`` from the first step). rlv's trainer
    (``verify.ramp_steps``, RL steps), the TRL trainers (``verify_ramp_steps``, optimizer
    steps) and verl's trainer mode ``rlv`` (``rlv.ramp_steps``, training steps) use it.

    At full weight from the first step, the verification term's gradient can dominate the
    policy's while the learning rate peaks and pull the policy down (docs/demo.md measures
    ~10x on the demo); the ramp lets the policy move first.

    Raises:
        ValueError: a negative ``lam`` or ``ramp_steps``, or ``step < 1``.
    """
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be finite and >= 0, got {lam!r}")
    if ramp_steps < 0:
        raise ValueError(f"ramp_steps must be >= 0, got {ramp_steps!r}")
    if step < 1:
        raise ValueError(f"step counts from 1, got {step!r}")
    if ramp_steps == 0:
        return lam
    return lam * min(1.0, step / ramp_steps)


def verification_weights(
    labels: npt.NDArray[np.bool_], valid: npt.NDArray[np.bool_], balance: bool
) -> tuple[float, float | None]:
    """How the verification loss is weighted over one optimizer step:
    ``(weight_total, pos_weight)``.

    Over the valid rows of the step (all its micro-batches): ``pos_weight`` is ``None``
    (every example weighs 1) or, with ``balance`` and both classes present,
    ``n_neg / n_pos`` (positives and negatives weigh the same in total); ``weight_total``
    is the sum of the example weights. A micro-batch's verification loss (a weighted mean
    over its own rows) is scaled by its share of ``weight_total`` (see
    :func:`rlv.rl.objective.rlv_objective`), so the micro-batches add up to the step's loss.
    """
    n_pos = float((labels & valid).sum())
    n_neg = float((~labels & valid).sum())
    if balance and n_pos > 0 and n_neg > 0:
        pw = n_neg / n_pos
        return pw * n_pos + n_neg, pw
    return n_pos + n_neg, None


def _check_label_ids(logits: torch.Tensor, yes_id: int, no_id: int) -> None:
    vocab = logits.shape[-1] if logits.dim() else 0
    for name, value in (("yes_id", yes_id), ("no_id", no_id)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if not 0 <= value < vocab:
            raise ValueError(f"{name}={value} is out of range for a vocabulary of size {vocab}")
    if yes_id == no_id:
        raise ValueError(f"yes_id and no_id must differ, both are {yes_id}")


def verifier_score(
    logits_at_label: torch.Tensor, *, yes_id: int, no_id: int, normalize: bool = True
) -> torch.Tensor:
    """The verifier's test-time score ``P(Yes)`` from the logits at the label position.

    ``normalize=True``: ``P(Yes) / (P(Yes) + P(No)) = sigmoid(z_yes - z_no)`` (the two-token
    softmax, what ``mode="yes_no"`` of :func:`verification_loss` trains);
    ``normalize=False``: the raw full-vocabulary ``softmax(z)[yes_id]`` (the paper's score,
    what ``mode="full"`` trains). Temperature 1.

    Args:
        logits_at_label: ``(N, V)`` (any leading shape) logits at the position that predicts
            the label token.
        yes_id, no_id: token ids of the two labels.
        normalize: see above.

    Returns:
        ``(N,)`` scores in ``[0, 1]``, dtype at least float32.
    """
    import torch

    _check_label_ids(logits_at_label, yes_id, no_id)
    dtype = _compute_dtype(logits_at_label.dtype)
    z = logits_at_label.to(dtype)
    if normalize:
        return torch.sigmoid(z[..., yes_id] - z[..., no_id])
    return torch.exp(z[..., yes_id] - torch.logsumexp(z, dim=-1))


def verification_loss(
    logits_at_label: torch.Tensor,
    labels: torch.Tensor,
    *,
    yes_id: int,
    no_id: int,
    mode: VerifierMode | str = "full",
    pos_weight: Literal["balanced"] | float | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Generative-verifier loss: cross-entropy on the single Yes/No label token.

    Target ``t_i = yes_id`` if ``labels[i]`` (the rollout was correct) else ``no_id``. With
    ``z`` the logits at the position that predicts the label token::

        full:    nll_i = logsumexp_v(z_i) - z_i[t_i]              (full-vocabulary softmax)
        yes_no:  nll_i = softplus(-(z_yes - z_no))  if positive   (two-token softmax,
                         softplus(+(z_yes - z_no))  if negative    binary CE on z_yes - z_no)

        loss = sum_i w_i * nll_i / sum_i w_i                       (weighted mean)

    Weights (``pos_weight``): ``None`` -> ``w_i = 1`` (plain mean); a float ``p > 0`` ->
    ``w_i = p`` for positives and 1 for negatives; ``"balanced"`` -> ``w_i = 1 / n_pos`` for
    positives and ``1 / n_neg`` for negatives, i.e. ``0.5 * mean_pos(nll) + 0.5 *
    mean_neg(nll)`` (positives and negatives contribute equally; with one class absent, the
    mean of the present class). Because the weighted mean is renormalised, a weight changes
    the balance but not the scale of the loss (unlike ``torch.nn.BCEWithLogitsLoss``'s
    ``pos_weight``).

    ``full`` also pushes down every other token at that position; ``nll_full >= nll_yes_no``
    always, with equality when all other tokens have ``-inf`` logits.

    An empty batch (``N = 0``) gives a loss of 0 (attached to the graph) and zero metrics.

    Args:
        logits_at_label: ``(N, V)`` logits at the label-predicting position (differentiable).
        labels: ``(N,)`` bool, or 0/1 int/float (positive iff ``> 0.5``; NaN is negative, so
            drop unscorable rollouts before).
        yes_id, no_id: token ids of ``"Yes"`` and ``"No"`` (single tokens, resolved once per
            tokenizer).
        mode: ``"full"`` or ``"yes_no"``.
        pos_weight: ``None``, ``"balanced"`` or a float > 0.

    Returns:
        ``(loss, metrics)`` with detached 0-dim tensors:

        - ``verifier/accuracy``: mean of ``[z_yes > z_no] == label`` (argmax over the two
          tokens; a tie predicts "No"); unweighted;
        - ``verifier/p_yes_pos``, ``verifier/p_yes_neg``: mean ``P(Yes)`` over positives /
          negatives, in the trained mode's probability (full-vocabulary for ``"full"``,
          two-token for ``"yes_no"``);
        - ``verifier/p_yes_pos_norm``, ``verifier/p_yes_neg_norm``: the same with the two-token
          normalised ``P(Yes)`` (equal to the above in ``"yes_no"`` mode);
        - ``verifier/label_mass``: mean ``P(Yes) + P(No)`` under the full softmax (how much
          probability the two label tokens hold);
        - ``verifier/n_pos``, ``verifier/n_neg``: counts.

        Means over an empty set are 0.

    Raises:
        ValueError: bad shapes, ids, ``mode`` or ``pos_weight``.
    """
    import torch

    if mode not in VERIFIER_MODES:
        raise ValueError(f"invalid verifier mode {mode!r}; allowed: {_allowed(VERIFIER_MODES)}")
    if logits_at_label.dim() != 2:
        raise ValueError(
            f"logits_at_label must have shape (N, V), got {tuple(logits_at_label.shape)}"
        )
    n = logits_at_label.shape[0]
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
    _check_label_ids(logits_at_label, yes_id, no_id)
    balanced, p_weight = _parse_pos_weight(pos_weight)

    dtype = _compute_dtype(logits_at_label.dtype)
    z = logits_at_label.to(dtype)
    pos = labels if labels.dtype == torch.bool else labels > 0.5
    pos = pos.to(z.device)
    posf = pos.to(dtype)
    negf = 1.0 - posf

    z_yes = z[:, yes_id]
    z_no = z[:, no_id]
    margin = z_yes - z_no
    if mode == "full":
        lse = torch.logsumexp(z, dim=-1)  # (N,)
        nll = lse - torch.where(pos, z_yes, z_no)
    else:
        with torch.no_grad():  # only needed for the metrics
            lse = torch.logsumexp(z, dim=-1)
        # softplus(x) = log(1 + e^x) via logaddexp: exact for all x (torch's softplus
        # switches to the identity above x = 20, dropping the e^-x term).
        x = torch.where(pos, -margin, margin)
        nll = torch.logaddexp(torch.zeros_like(x), x)

    n_pos = posf.sum()
    n_neg = negf.sum()
    loss = _weighted_nll(nll, posf, negf, n_pos, n_neg, balanced, p_weight)

    with torch.no_grad():
        p_norm = torch.sigmoid(margin.detach())
        p_full = torch.exp(z_yes.detach() - lse.detach())
        p_no_full = torch.exp(z_no.detach() - lse.detach())
        p_mode = p_full if mode == "full" else p_norm
        correct = ((margin.detach() > 0) == pos).to(dtype)
        metrics = {
            "verifier/accuracy": _safe_div(
                correct.sum(), torch.tensor(float(n), dtype=dtype, device=z.device)
            ),
            "verifier/p_yes_pos": _safe_div((p_mode * posf).sum(), n_pos),
            "verifier/p_yes_neg": _safe_div((p_mode * negf).sum(), n_neg),
            "verifier/p_yes_pos_norm": _safe_div((p_norm * posf).sum(), n_pos),
            "verifier/p_yes_neg_norm": _safe_div((p_norm * negf).sum(), n_neg),
            "verifier/label_mass": _safe_div(
                (p_full + p_no_full).sum(), torch.tensor(float(n), dtype=dtype, device=z.device)
            ),
            "verifier/n_pos": n_pos.detach(),
            "verifier/n_neg": n_neg.detach(),
        }
    return loss, metrics


def _parse_pos_weight(pos_weight: object) -> tuple[bool, float | None]:
    """``(balanced, p_weight)`` of a ``pos_weight`` argument of :func:`verification_loss`."""
    if isinstance(pos_weight, str):
        if pos_weight != "balanced":
            raise ValueError(
                f"invalid value {pos_weight!r} for pos_weight; allowed: None, 'balanced' or a float > 0"
            )
        return True, None
    if pos_weight is None:
        return False, None
    if isinstance(pos_weight, bool) or not isinstance(pos_weight, (int, float)):
        raise TypeError(
            f"pos_weight must be None, 'balanced' or a float, not {type(pos_weight).__name__}"
        )
    if not (math.isfinite(pos_weight) and pos_weight > 0):
        raise ValueError(
            f"invalid value {pos_weight!r} for pos_weight; allowed: None, 'balanced' or a float > 0"
        )
    return False, float(pos_weight)


def _weighted_nll(
    nll: torch.Tensor,
    posf: torch.Tensor,
    negf: torch.Tensor,
    n_pos: torch.Tensor,
    n_neg: torch.Tensor,
    balanced: bool,
    p_weight: float | None,
) -> torch.Tensor:
    """``sum_i w_i nll_i / sum_i w_i`` with the weights of :func:`verification_loss`."""
    import torch

    if balanced:
        weights = _safe_div(posf, n_pos.detach()) + _safe_div(negf, n_neg.detach())
    elif p_weight is not None:
        weights = p_weight * posf + negf
    else:
        weights = torch.ones_like(posf)
    return _safe_div((weights * nll).sum(), weights.sum())


def label_nll_loss(
    label_logprobs: torch.Tensor,
    labels: torch.Tensor,
    *,
    pos_weight: Literal["balanced"] | float | None = None,
) -> torch.Tensor:
    """The ``"full"`` verification loss of :func:`verification_loss` from the log-probs of
    the label tokens instead of the label-position logits.

    ``label_logprobs[i]`` is ``log softmax(z_i)[t_i]``, the full-vocabulary log-probability
    of row ``i``'s label token (``Yes`` if ``labels[i]``, else ``No``), as an engine that
    only returns the log-probs of given tokens computes it (e.g. verl's actor, for a
    verification row whose response is the label token). Then ``nll_i = -label_logprobs[i]``
    is the ``"full"`` mode's ``logsumexp(z_i) - z_i[t_i]`` (the same number up to rounding)
    and the loss is the same weighted mean (``pos_weight`` as in :func:`verification_loss`).
    An empty batch gives 0 (attached to the graph).

    Raises:
        ValueError: shapes that differ, or a bad ``pos_weight``.
    """
    import torch

    if label_logprobs.dim() != 1:
        raise ValueError(f"label_logprobs must have shape (N,), got {tuple(label_logprobs.shape)}")
    n = label_logprobs.shape[0]
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
    balanced, p_weight = _parse_pos_weight(pos_weight)
    dtype = _compute_dtype(label_logprobs.dtype)
    nll = -label_logprobs.to(dtype)
    pos = labels if labels.dtype == torch.bool else labels > 0.5
    posf = pos.to(device=nll.device, dtype=dtype)
    negf = 1.0 - posf
    return _weighted_nll(nll, posf, negf, posf.sum(), negf.sum(), balanced, p_weight)


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
