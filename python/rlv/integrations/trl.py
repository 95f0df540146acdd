"""RL^V inside TRL: ``RLVGRPOTrainer`` / ``RLVRLOOTrainer`` and a reward on rlv's grader.

A TRL user adds RL^V to a GRPO (or RLOO) script by changing two lines::

    from rlv.integrations.trl import RLVGRPOConfig as GRPOConfig
    from rlv.integrations.trl import RLVGRPOTrainer as GRPOTrainer

The same rollouts then train the policy (TRL's loss, unchanged) and the model as a
generative verifier of those rollouts: after TRL has generated and scored a batch, every
rollout becomes a verification row ``prompt + completion + instruction`` built by
:func:`rlv.verifier.build_verification_batch` (label ``Yes`` when its reward is above 0.5,
no loss when no reward function scored it), and the loss gets ``verify_lambda`` times the
verification term of :func:`rlv.rl.objective.rlv_objective` (the weighted cross-entropy of
:func:`rlv.verifier.verification_loss`, normalised over the optimizer step as TRL normalises
its ``dapo`` loss, so gradient accumulation and the number of processes do not change it).

TRL scores the completion tokens with a fused LM head (no ``logits`` tensor). The verifier
needs the Yes/No logits at one position per row: they come from a forward pass over the
verification rows through the model's original forward (``fused_lm_head`` off) with
``logits_to_keep=1``, i.e. ``(B, 1, V)`` logits, never ``(B, T, V)``.

:func:`accuracy_reward` is a TRL reward function on :func:`rlv.grade_batch` (strict mode),
a drop-in for ``trl.rewards.accuracy_reward``.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from accelerate.utils import DistributedType, broadcast_object_list, gather_object
from transformers import TrainerCallback
from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer
from trl.models import unwrap_model_for_generation

from rlv.generation import SamplingParams
from rlv.generation.hf import TransformersBackend
from rlv.grading import MODES, grade_batch
from rlv.rl.objective import LossNorms, verification_term
from rlv.scaling.dump import sample_rows, write_rows
from rlv.scaling.estimators import default_ks
from rlv.scaling.rescore import rescore
from rlv.tasks import Problem
from rlv.verifier import (
    VERIFIER_MODES,
    Template,
    Verifier,
    auc,
    brier,
    verification_labels,
    verification_lambda,
    verification_weights,
    verifier_score,
)

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "METRIC_PREFIX",
    "TTS_PREFIX",
    "RLVEvalCallback",
    "RLVGRPOConfig",
    "RLVGRPOTrainer",
    "RLVRLOOConfig",
    "RLVRLOOTrainer",
    "accuracy_reward",
    "make_accuracy_reward",
    "tts_metrics",
]

METRIC_PREFIX = "rlv/"
"""Prefix of every metric the RL^V trainers add to TRL's logs."""

RewardFunc = Callable[..., list[float | None]]


# ---------------------------------------------------------------------------------------------
# reward


def _completion_text(completion: Any, index: int) -> str:
    """A plain completion (``str``) or a conversational one (a list of messages: the
    assistant messages' contents, joined)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        parts: list[str] = []
        for m in completion:
            if not isinstance(m, dict) or "content" not in m:
                raise TypeError(
                    f"completion {index}: a conversational completion is a list of messages "
                    f"with a 'content' key, got an item of type {type(m).__name__}"
                )
            if m.get("role", "assistant") == "assistant":
                content = m["content"]
                if not isinstance(content, str):
                    raise TypeError(
                        f"completion {index}: message content must be str, not "
                        f"{type(content).__name__}"
                    )
                parts.append(content)
        return "".join(parts)
    raise TypeError(
        f"completion {index}: expected str or a list of messages, not {type(completion).__name__}"
    )


def make_accuracy_reward(
    gold_column: str = "solution",
    *,
    mode: str = "strict",
    name: str = "rlv_accuracy",
    num_threads: int | None = None,
    log_statuses: bool = True,
) -> RewardFunc:
    """A TRL reward function grading completions against the dataset column ``gold_column``
    with :func:`rlv.grade_batch`.

    The function returns 1.0 (``equal``), 0.0 (anything else) or ``None`` for a row whose
    gold is missing (``None``, empty) or unscorable (the grader's ``invalid_gold``): TRL
    leaves such rows out of that reward (its multi-task convention). With ``log_statuses``
    and TRL's ``log_metric`` it logs the count of each grading status per batch as
    ``rlv/grade/<status>``.

    Raises (when called): ``KeyError`` naming ``gold_column`` if TRL did not pass that
    column, ``TypeError``/``ValueError`` for malformed completions or golds.
    """
    if mode not in MODES:
        raise ValueError(f"invalid mode {mode!r}; allowed: {', '.join(MODES)}")

    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        if gold_column not in kwargs:
            raise KeyError(
                f"the reward needs the dataset column {gold_column!r} (TRL passes every "
                f"column as a keyword); got {sorted(k for k in kwargs if k != 'trainer_state')}"
            )
        golds = list(kwargs[gold_column])
        if len(golds) != len(completions):
            raise ValueError(
                f"{len(completions)} completions but {len(golds)} values of {gold_column!r}"
            )
        texts = [_completion_text(c, i) for i, c in enumerate(completions)]
        rows = [i for i, g in enumerate(golds) if g is not None and str(g).strip() != ""]
        out: list[float | None] = [None] * len(texts)
        if rows:
            scores, statuses = grade_batch(
                [texts[i] for i in rows],
                [str(golds[i]) for i in rows],
                mode=mode,  # type: ignore[arg-type]
                num_threads=num_threads,
                return_status_names=True,
            )
            for i, s in zip(rows, scores.tolist(), strict=True):
                out[i] = None if math.isnan(s) else float(s)
            log_metric = kwargs.get("log_metric")
            if log_statuses and callable(log_metric):
                for status, n in Counter(str(s) for s in statuses.tolist()).items():
                    log_metric(f"{METRIC_PREFIX}grade/{status}", float(n))
        return out

    reward.__name__ = name
    reward.__qualname__ = name
    return reward


accuracy_reward: RewardFunc = make_accuracy_reward()
"""Drop-in for ``trl.rewards.accuracy_reward``: grades against the ``solution`` column with
rlv's grader in strict mode (see :func:`make_accuracy_reward`)."""


# ---------------------------------------------------------------------------------------------
# configs


@dataclass
class _RLVFields:
    verify_lambda: float = field(
        default=1.0,
        metadata={"help": "Weight of the verification loss (0: plain TRL, metrics only)."},
    )
    verify_ramp_steps: int = field(
        default=0,
        metadata={
            "help": "Optimizer steps over which the verification weight rises linearly to "
            "verify_lambda (0: the full weight from the first step)."
        },
    )
    verify_template: str = field(
        default="plain",
        metadata={
            "help": "'plain' (the paper's instruction after the completion), 'chat' (a new "
            "user turn via the chat template) or a custom instruction text."
        },
    )
    verify_mode: str = field(
        default="full",
        metadata={"help": "'full' (full-vocabulary softmax, the paper) or 'yes_no'."},
    )
    verify_balance: bool = field(
        default=False,
        metadata={"help": "Weigh positives and negatives equally in the verification loss."},
    )
    verify_normalize_score: bool = field(
        default=True,
        metadata={
            "help": "Log and score with P(Yes)/(P(Yes)+P(No)) (True) or the full-vocabulary "
            "P(Yes) (False)."
        },
    )
    verify_reward_index: int | None = field(
        default=None,
        metadata={
            "help": "Which reward function's output labels the rollouts (None: TRL's weighted "
            "sum of all of them)."
        },
    )

    def _check_rlv(self) -> None:
        if not (math.isfinite(self.verify_lambda) and self.verify_lambda >= 0):
            raise ValueError(f"verify_lambda must be finite and >= 0, got {self.verify_lambda}")
        if isinstance(self.verify_ramp_steps, bool) or not isinstance(self.verify_ramp_steps, int):
            raise TypeError(
                f"verify_ramp_steps must be an int, not {type(self.verify_ramp_steps).__name__}"
            )
        if self.verify_ramp_steps < 0:
            raise ValueError(f"verify_ramp_steps must be >= 0, got {self.verify_ramp_steps}")
        if self.verify_mode not in VERIFIER_MODES:
            raise ValueError(
                f"invalid verify_mode {self.verify_mode!r}; allowed: {', '.join(VERIFIER_MODES)}"
            )
        if self.verify_reward_index is not None and self.verify_reward_index < 0:
            raise ValueError(f"verify_reward_index must be >= 0, got {self.verify_reward_index}")


@dataclass
class RLVGRPOConfig(GRPOConfig, _RLVFields):  # type: ignore[misc]
    """TRL's ``GRPOConfig`` plus the RL^V fields ``verify_lambda``, ``verify_ramp_steps``,
    ``verify_template``, ``verify_mode``, ``verify_balance``, ``verify_normalize_score``,
    ``verify_reward_index``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_rlv()


@dataclass
class RLVRLOOConfig(RLOOConfig, _RLVFields):  # type: ignore[misc]
    """TRL's ``RLOOConfig`` plus the RL^V fields (see :class:`RLVGRPOConfig`)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_rlv()


# ---------------------------------------------------------------------------------------------
# trainers

_P = "rlv_verify_"


def _row(ids: torch.Tensor, mask: torch.Tensor) -> list[int]:
    return [int(t) for t in ids[mask.bool()].tolist()]


class _RLVMixin:
    """The RL^V additions shared by the GRPO and RLOO trainers (TRL ``Trainer`` attributes
    are reached through ``self``)."""

    args: Any
    accelerator: Any
    processing_class: Any
    model: Any
    state: Any
    reward_weights: torch.Tensor
    _metrics: dict[str, dict[str, list[float]]]
    loss_is_scaled_for_ga: bool | None
    current_gradient_accumulation_steps: int

    def _rlv_init(self) -> None:
        tok = getattr(self.processing_class, "tokenizer", self.processing_class)
        self._rlv_verifier = Verifier(tok, Template.from_name(self.args.verify_template))
        self._rlv_rewards_per_func: torch.Tensor | None = None
        self._rlv_buffer: dict[str, list[npt.NDArray[Any]]] = {"train": [], "eval": []}

    # -- rollouts ----------------------------------------------------------------------------

    def _calculate_rewards(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        out: torch.Tensor = super()._calculate_rewards(*args, **kwargs)  # type: ignore[misc]
        self._rlv_rewards_per_func = out
        return out

    def _rlv_rewards(self) -> torch.Tensor:
        """The gathered (all processes) reward that labels each rollout; NaN if unscored."""
        rpf = self._rlv_rewards_per_func
        if rpf is None:
            raise RuntimeError("no rewards were computed for this batch")
        idx = self.args.verify_reward_index
        if idx is not None:
            if idx >= rpf.shape[1]:
                raise ValueError(
                    f"verify_reward_index={idx} but there are {rpf.shape[1]} reward functions"
                )
            return rpf[:, idx]
        w = self.reward_weights.to(rpf.device)
        r = (rpf * w.unsqueeze(0)).nansum(dim=1)
        r[torch.isnan(rpf).all(dim=1)] = torch.nan
        return r

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = super()._generate_and_score_completions(inputs)  # type: ignore[misc]
        return self._rlv_add_verify_rows(out, self._rlv_rewards(), len(inputs))

    def _rlv_add_verify_rows(
        self, out: dict[str, Any], rewards: torch.Tensor, n_local: int
    ) -> dict[str, Any]:
        """Add the verification rows of this process's rollouts in ``out`` (TRL's batch dict)
        as ``rlv_verify_*`` tensors; ``rewards`` are the gathered labelling rewards of all
        processes (NaN: unscored)."""
        device = self.accelerator.device
        labels_all, valid_all = verification_labels(rewards.detach().cpu().double().numpy())
        lo = self.accelerator.process_index * n_local
        labels = labels_all[lo : lo + n_local]
        valid = valid_all[lo : lo + n_local]
        prompts = [_row(i, m) for i, m in zip(out["prompt_ids"], out["prompt_mask"], strict=True)]
        # The sampled tokens up to the pad (with mask_truncated_completions TRL masks a
        # truncated row entirely; its verification row is then prompt + suffix).
        comps = [
            _row(i, m) for i, m in zip(out["completion_ids"], out["completion_mask"], strict=True)
        ]
        packed = self._rlv_verifier.pack(prompts, comps, device=device)
        # Step-level weighting over the whole generation batch (all processes), rescaled to one
        # accumulation window in compute_loss as TRL rescales `num_items_in_batch` (dapo).
        total, pos_weight = verification_weights(labels_all, valid_all, self.args.verify_balance)
        out[_P + "input_ids"] = packed.input_ids
        out[_P + "attention_mask"] = packed.attention_mask
        out[_P + "position_ids"] = packed.position_ids
        out[_P + "labels"] = torch.from_numpy(labels).to(device)
        out[_P + "valid"] = torch.from_numpy(valid).to(device)
        out[_P + "weight_total"] = torch.tensor(total, dtype=torch.float64, device=device)
        out[_P + "pos_weight"] = torch.tensor(
            math.nan if pos_weight is None else pos_weight, dtype=torch.float64, device=device
        )
        return out

    # -- loss --------------------------------------------------------------------------------

    def _rlv_norms(self, inputs: dict[str, Any], train: bool) -> LossNorms:
        total = float(inputs[_P + "weight_total"].item()) / self.accelerator.num_processes
        if train:
            total = (
                total * self.current_gradient_accumulation_steps / self.args.steps_per_generation
            )
        pw = float(inputs[_P + "pos_weight"].item())
        return LossNorms(
            num_tokens=1.0,
            num_seqs=1.0,
            norm_len=1.0,
            verify_weight_total=total,
            pos_weight=None if math.isnan(pw) else pw,
        )

    def _rlv_verify_term(self, model: Any, inputs: dict[str, Any]) -> torch.Tensor:
        """``s * L_verify`` of :func:`rlv.rl.objective.rlv_objective` for this micro-batch,
        scaled as TRL scales its own loss under gradient accumulation."""
        train = bool(self.model.training)
        mode = "train" if train else "eval"
        with self.accelerator.autocast():  # as TRL's own forward passes
            out = model(
                input_ids=inputs[_P + "input_ids"],
                attention_mask=inputs[_P + "attention_mask"],
                position_ids=inputs[_P + "position_ids"],
                logits_to_keep=1,
                use_cache=False,
            )
        z = out.logits[:, -1]
        labels = inputs[_P + "labels"]
        valid = inputs[_P + "valid"]
        norms = self._rlv_norms(inputs, train)
        v = self._rlv_verifier
        term, vmetrics = verification_term(
            z, labels, valid, norms=norms, yes_id=v.yes_id, no_id=v.no_id,
            verify_mode=self.args.verify_mode,
        )  # fmt: skip
        with torch.no_grad():
            score = verifier_score(
                z.detach(),
                yes_id=v.yes_id,
                no_id=v.no_id,
                normalize=bool(self.args.verify_normalize_score),
            )
            packed = torch.stack([score.double(), labels.double(), valid.double()], dim=1)
            self._rlv_buffer[mode].append(self.accelerator.gather(packed).cpu().numpy())
            self._metrics[mode][METRIC_PREFIX + "verifier/loss"].append(
                float(self.accelerator.gather(term.detach().reshape(1)).mean().item())
            )
            self._metrics[mode][METRIC_PREFIX + "verifier/label_mass"].append(
                float(self.accelerator.gather(vmetrics["verifier/label_mass"].reshape(1)).mean())
            )
        if train and self.loss_is_scaled_for_ga is False:
            # The HF Trainer divides this trainer's loss by the accumulation steps.
            term = term * self.current_gradient_accumulation_steps
        return term

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> torch.Tensor:
        loss: torch.Tensor = super().compute_loss(  # type: ignore[misc]
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )
        term = self._rlv_verify_term(model, inputs)
        # the optimizer step this loss is for, counted from 1 (global_step counts finished ones)
        lam = verification_lambda(
            float(self.args.verify_lambda), int(self.args.verify_ramp_steps),
            int(self.state.global_step) + 1,
        )  # fmt: skip
        mode = "train" if self.model.training else "eval"
        self._metrics[mode][METRIC_PREFIX + "verify/lambda"].append(lam)
        if lam > 0:
            loss = loss + lam * term.to(loss.dtype)
        return loss

    # -- logs --------------------------------------------------------------------------------

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        mode = "train" if self.model.training else "eval"
        rows = self._rlv_buffer[mode]
        if rows:
            a = np.concatenate(rows, axis=0)
            self._rlv_buffer[mode] = []
            v = a[:, 2] > 0.5
            s, y = a[v, 0], a[v, 1] > 0.5
            m = self._metrics[mode]
            m[METRIC_PREFIX + "verifier/accuracy"].append(
                float(np.mean((s > 0.5) == y)) if s.size else math.nan
            )
            m[METRIC_PREFIX + "verifier/auc"].append(auc(s, y))
            m[METRIC_PREFIX + "verifier/brier"].append(brier(s, y))
            m[METRIC_PREFIX + "verifier/pos_frac"].append(float(y.mean()) if y.size else math.nan)
            m[METRIC_PREFIX + "verifier/n_rows"].append(float(y.size))
        super().log(logs, start_time)  # type: ignore[misc]


class RLVGRPOTrainer(_RLVMixin, GRPOTrainer):  # type: ignore[misc]
    """TRL's ``GRPOTrainer`` training the verifier on its own rollouts (RL^V); takes an
    :class:`RLVGRPOConfig` as ``args``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.args, RLVGRPOConfig):
            raise TypeError(f"args must be an RLVGRPOConfig, got {type(self.args).__name__}")
        self._rlv_init()


class RLVRLOOTrainer(_RLVMixin, RLOOTrainer):  # type: ignore[misc]
    """TRL's ``RLOOTrainer`` training the verifier on its own rollouts (RL^V); takes an
    :class:`RLVRLOOConfig` as ``args``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.args, RLVRLOOConfig):
            raise TypeError(f"args must be an RLVRLOOConfig, got {type(self.args).__name__}")
        self._rlv_init()


# ---------------------------------------------------------------------------------------------
# test-time scaling during training

TTS_PREFIX = METRIC_PREFIX + "tts/"
"""Prefix of the metrics :class:`RLVEvalCallback` adds to TRL's logs."""


def _eval_items(
    problems: Iterable[Problem | Mapping[str, Any]], tokenizer: Any, gold_column: str
) -> list[tuple[Problem, list[int] | None]]:
    """Each evaluation problem with its prompt's token ids (``None``: encode the text as TRL
    does, with the tokenizer's special tokens); a conversational prompt goes through the
    chat template with the generation prompt, as TRL renders it."""
    items: list[tuple[Problem, list[int] | None]] = []
    for i, p in enumerate(problems):
        if isinstance(p, Problem):
            items.append((p, None))
            continue
        if not isinstance(p, Mapping):
            raise TypeError(
                f"problem {i}: expected rlv.tasks.Problem or a mapping (a dataset row), "
                f"not {type(p).__name__}"
            )
        if "prompt" not in p or gold_column not in p:
            raise KeyError(
                f"problem {i}: a row needs 'prompt' and {gold_column!r}; got {sorted(p)}"
            )
        gold = p[gold_column]
        if gold is None or str(gold).strip() == "":
            raise ValueError(f"problem {i}: no gold answer in {gold_column!r}")
        prompt = p["prompt"]
        pid = str(p.get("id", p.get("problem_id", i)))
        if isinstance(prompt, str):
            items.append((Problem(id=pid, prompt=prompt, gold=str(gold)), None))
            continue
        if not isinstance(prompt, list):
            raise TypeError(
                f"problem {i}: prompt must be str or a list of messages, not "
                f"{type(prompt).__name__}"
            )
        text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        enc = tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True)
        ids = enc["input_ids"] if isinstance(enc, Mapping) else enc
        items.append((Problem(id=pid, prompt=str(text), gold=str(gold)), [int(t) for t in ids]))
    if not items:
        raise ValueError("no evaluation problems")
    return items


def _shard(n: int, rank: int, world: int) -> range:
    """Process ``rank``'s contiguous share of ``n`` items (the first ``n % world`` processes
    get one more), so that gathering the shards in rank order restores the order."""
    per, extra = divmod(n, world)
    start = rank * per + min(rank, extra)
    return range(start, start + per + (1 if rank < extra else 0))


def tts_metrics(report: Mapping[str, Any], prefix: str = TTS_PREFIX) -> dict[str, float]:
    """The logged metrics of an ``rlv rescore`` report: ``<prefix><method>@<k>`` for every
    point of its curves (``pass``, ``majority``, ``weighted``, ``best_of_n``), plus
    ``problems``, ``samples`` and ``answered`` (the share of samples with an answer)."""
    out: dict[str, float] = {}
    for method, curve in report["curves"].items():
        for k, v in curve.items():
            out[f"{prefix}{method}@{k}"] = float(v)
    out[prefix + "problems"] = float(report["problems"])
    out[prefix + "samples"] = float(report["samples"])
    out[prefix + "answered"] = report["answered"] / max(int(report["samples"]), 1)
    return out


class RLVEvalCallback(TrainerCallback):  # type: ignore[misc]
    """Test-time scaling of the policy during training, in TRL's logs.

    At each evaluation (``on_evaluate``), every ``every_n_steps`` optimizer steps, and before
    training with ``at_start``: samples ``n`` completions per evaluation problem with the
    current policy (transformers ``generate``), scores each with the model's own P(Yes)
    (:class:`rlv.verifier.Verifier`, the trainer's ``verify_template``), grades and votes
    with rlv's grader, and logs pass@k, majority@k, weighted@k and Best-of-k (rlv's exact
    estimators, :func:`rlv.scaling.rescore.rescore`) under ``prefix`` (``rlv/tts/``):
    ``rlv/tts/pass@1``, ``rlv/tts/majority@4``, ``rlv/tts/weighted@4``,
    ``rlv/tts/best_of_n@4``, ..., plus ``reward`` (the share of samples graded correct),
    ``verifier_auc`` (score vs correctness over all samples), ``problems``, ``samples``,
    ``answered``, ``generate_s`` and ``score_s`` (the slowest process's times).

    The problems are split over the processes (contiguous shards); the rows are gathered in
    order and the main process rescores them, so every process logs the same numbers.
    Problem ``i`` is sampled from the torch seed ``seed + 1_000_003 * step + i`` inside a
    forked RNG state, so the numbers do not depend on the number of processes and the
    training's own random stream is left as it was. With ``dump_dir`` the main process
    writes the rows as an ``rlv rescore`` dump, ``dump_dir/step-<step>.jsonl``, and
    ``rlv rescore DUMP --mode <mode> --seed <seed> --subsets <subsets> --ks <ks>``
    reproduces the logged curves.

    Usage (TRL's callback convention)::

        trainer = RLVGRPOTrainer(...)
        trainer.add_callback(RLVEvalCallback(trainer, eval_problems, n=16, every_n_steps=50))

    Args:
        trainer: the TRL trainer (any ``transformers.Trainer`` with ``processing_class``).
        problems: :class:`rlv.tasks.Problem` objects, or dataset rows with a ``prompt``
            (text, or a conversation rendered with the chat template) and ``gold_column``.
        n: samples per problem.
        ks: the k values (default: 1, 2, 4, ... up to ``n``).
        every_n_steps: also evaluate every this many optimizer steps (None: only at
            evaluations and with ``at_start``).
        on_evaluate: evaluate when the trainer evaluates.
        at_start: evaluate once before the first step.
        max_new_tokens: default ``trainer.args.max_completion_length``.
        temperature: default ``trainer.args.temperature`` (1.0 without one).
        top_p: nucleus sampling.
        template: the verification template (default: ``trainer.args.verify_template``, or
            ``"plain"``).
        score: ``"raw"`` (the full-vocabulary P(Yes)) or ``"normalized"``
            (P(Yes)/(P(Yes)+P(No))); default: ``"normalized"`` if the trainer's
            ``verify_normalize_score`` is set, else ``"raw"``.
        mode: answer extraction mode of the grading (``"strict"``, like
            :func:`accuracy_reward`, or ``"lenient"``).
        subsets: R, the random subsets of majority@k / weighted@k.
        seed: seed of the sampling and of the subsets.
        gold_column: the gold column of dataset rows.
        suppress_label_tokens: never sample the Yes/No label tokens (for tokenizers where
            they are also ordinary characters, like the tiny model's).
        batch_size: sequences per ``generate`` call and rows per scoring pass.
        dump_dir: write each evaluation's dump here.
        prefix: the metrics' prefix.

    Raises:
        NotImplementedError: under FSDP with several processes (each process samples its own
            shard with ``generate``, and FSDP's sharded forward would need every process to
            run the same number of forward passes).
    """

    def __init__(
        self,
        trainer: Any,
        problems: Iterable[Problem | Mapping[str, Any]],
        *,
        n: int = 8,
        ks: Sequence[int] | None = None,
        every_n_steps: int | None = None,
        on_evaluate: bool = True,
        at_start: bool = False,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float = 1.0,
        template: str | None = None,
        score: str | None = None,
        mode: str = "strict",
        subsets: int = 100,
        seed: int = 0,
        gold_column: str = "solution",
        suppress_label_tokens: bool = False,
        batch_size: int = 64,
        dump_dir: str | os.PathLike[str] | None = None,
        prefix: str = TTS_PREFIX,
    ) -> None:
        args = trainer.args
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.ks = list(default_ks(n) if ks is None else ks)
        if not self.ks or any(k < 1 or k > n for k in self.ks):
            raise ValueError(f"ks must be in [1, n={n}], got {self.ks}")
        if every_n_steps is not None and every_n_steps < 1:
            raise ValueError(f"every_n_steps must be >= 1, got {every_n_steps}")
        if mode not in MODES:
            raise ValueError(f"invalid mode {mode!r}; allowed: {', '.join(MODES)}")
        if score is None:
            score = "normalized" if getattr(args, "verify_normalize_score", False) else "raw"
        if score not in ("raw", "normalized"):
            raise ValueError(f"score must be 'raw' or 'normalized', got {score!r}")
        if subsets < 1:
            raise ValueError(f"subsets must be >= 1, got {subsets}")
        acc = trainer.accelerator
        if acc.distributed_type == DistributedType.FSDP and acc.num_processes > 1:
            raise NotImplementedError(
                "RLVEvalCallback samples with transformers generate on each process's shard; "
                "under FSDP the processes would run different numbers of sharded forward "
                "passes. Evaluate in a separate single-process run (or with DDP/DeepSpeed)."
            )
        tok = trainer.processing_class
        tok = getattr(tok, "tokenizer", tok)
        self.trainer = trainer
        self.tokenizer = tok
        self.items = _eval_items(problems, tok, gold_column)
        self.n = n
        self.every_n_steps = every_n_steps
        self.run_on_evaluate = on_evaluate
        self.at_start = at_start
        name = template if template is not None else getattr(args, "verify_template", "plain")
        self.verifier = Verifier(tok, Template.from_name(str(name)))
        temp = getattr(args, "temperature", 1.0) if temperature is None else temperature
        self.params = SamplingParams(
            n=n,
            temperature=float(temp),
            top_p=top_p,
            max_new_tokens=int(max_new_tokens or args.max_completion_length),
            suppress_token_ids=(self.verifier.yes_id, self.verifier.no_id)
            if suppress_label_tokens
            else (),
        )
        self.score = score
        self.mode = mode
        self.subsets = subsets
        self.seed = seed
        self.batch_size = batch_size
        self.dump_dir = None if dump_dir is None else Path(dump_dir)
        self.prefix = prefix
        self._last_step: int | None = None

    def rescore_command(self, dump: str | os.PathLike[str]) -> list[str]:
        """The ``rlv rescore`` command line that reproduces the curves logged for ``dump``."""
        return [
            "rlv", "rescore", str(dump), "--mode", self.mode, "--seed", str(self.seed),
            "--subsets", str(self.subsets), "--ks", ",".join(map(str, self.ks)),
        ]  # fmt: skip

    # -- the evaluation ----------------------------------------------------------------------

    def _sample_shard(self, step: int) -> tuple[list[dict[str, Any]], float, float]:
        t = self.trainer
        acc = t.accelerator
        shard = _shard(len(self.items), acc.process_index, acc.num_processes)
        rows: list[dict[str, Any]] = []
        gen_s = score_s = 0.0
        devices = [acc.device.index or 0] if acc.device.type == "cuda" else []
        with (
            torch.random.fork_rng(devices=devices),
            unwrap_model_for_generation(
                t.model_wrapped,
                acc,
                gradient_checkpointing_kwargs=getattr(
                    t.args, "gradient_checkpointing_kwargs", None
                ),
            ) as model,
            acc.autocast(),
        ):
            backend = TransformersBackend(model, self.tokenizer, batch_size=self.batch_size)
            for i in shard:
                prob, ids = self.items[i]
                torch.manual_seed(self.seed + 1_000_003 * step + i)
                out, st = sample_rows(
                    backend,
                    self.verifier,
                    [prob],
                    params=self.params,
                    score=self.score,
                    prompt_ids=None if ids is None else [ids],
                    score_batch_size=self.batch_size,
                )
                rows.extend(out)
                gen_s += st.generate_s
                score_s += st.score_s
        return rows, gen_s, score_s

    def _report(self, rows: list[dict[str, Any]], step: int) -> dict[str, float]:
        """Main process: write the dump, rescore it, the metrics to log."""
        with tempfile.TemporaryDirectory(prefix="rlv_tts_") as tmp:
            if self.dump_dir is not None:
                path = self.dump_dir / f"step-{step}.jsonl"
            else:
                path = Path(tmp) / "samples.jsonl"
            write_rows(rows, path)
            report = rescore(
                [path], ks=self.ks, subsets=self.subsets, seed=self.seed, mode=self.mode
            )
        metrics = tts_metrics(report, self.prefix)
        comps = [c for r in rows for c in r["completions"]]
        golds = [r["gold"] for r in rows for _ in r["completions"]]
        graded, _ = grade_batch(comps, golds, mode=self.mode)  # type: ignore[arg-type]
        correct = np.asarray(graded) == 1.0
        scores = np.array([s for r in rows for s in r["scores"]], dtype=np.float64)
        metrics[self.prefix + "reward"] = float(correct.mean())
        metrics[self.prefix + "verifier_auc"] = auc(scores, correct)  # NaN: one class only
        return metrics

    def evaluate(self) -> dict[str, float]:
        """Sample, score, grade and rescore now (on every process), log the metrics with
        ``trainer.log`` and return them."""
        t = self.trainer
        acc = t.accelerator
        step = int(t.state.global_step)
        rows, gen_s, score_s = self._sample_shard(step)
        all_rows: list[dict[str, Any]] = gather_object(rows)
        times: list[tuple[float, float]] = gather_object([(gen_s, score_s)])
        payload: list[Any] = [self._report(all_rows, step) if acc.is_main_process else None]
        metrics: dict[str, float] = broadcast_object_list(payload, from_process=0)[0]
        metrics[self.prefix + "generate_s"] = max(g for g, _ in times)
        metrics[self.prefix + "score_s"] = max(s for _, s in times)
        self._last_step = step
        # NaN (an AUC without both classes) is logged as None, as TRL logs its own metrics
        # (JSON loggers reject NaN).
        logs = {k: (None if math.isnan(v) else v) for k, v in metrics.items()}
        # TRL's `log` flushes its metrics of the current mode ("train" when the model is in
        # training mode); logging in eval mode leaves the training window's metrics alone.
        # The Trainer's `log` also clears `control.should_log`, which the step's own log
        # (after `on_step_end`) still needs.
        model = t.model
        was_training = bool(model.training)
        should_log = bool(t.control.should_log)
        model.eval()
        try:
            t.log(logs)
        finally:
            if was_training:
                model.train()
            t.control.should_log = should_log
        return metrics

    # -- hooks -------------------------------------------------------------------------------

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.at_start:
            self.evaluate()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        every = self.every_n_steps
        if every is not None and state.global_step % every == 0:
            if state.global_step != self._last_step:
                self.evaluate()

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.run_on_evaluate and state.global_step != self._last_step:
            self.evaluate()
