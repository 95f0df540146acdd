"""rlv as a verl plug-in: the reward, exact validation metrics and the RL^V loss.

``pip install "rlv[verl]"`` (tested with verl 0.9.x; docs/verl.md). ``import verl`` loads this
module through the ``verl.plugins`` entry point (in the driver and in every Ray worker), which
registers rlv's reward manager ``rlv`` in verl's reward-loop registry.

* **Reward.** :func:`compute_score` has verl's reward-function signature and returns
  ``{"score", "acc", "pred", "status"}`` (``pred`` makes verl log ``maj@N``):
  ``reward.custom_reward_function.path=pkg://rlv.integrations.verl`` / ``.name=compute_score``
  (by module name: loading this file by path would run it a second time).
  :class:`RLVRewardManager` (``reward.reward_manager.name=rlv``) grades every sample that a
  reward-loop worker holds in one :func:`rlv.grade_batch` call (Rust, GIL released, no
  signals: safe in threads and Ray actors) instead of one call per sample;
  :func:`compute_score_batch` is the list version for verl's ``batch`` reward manager.
* **Validation metrics.** :func:`validation_metrics` turns verl's validation samples (the
  ``input`` / ``output`` / ``gts`` lists that verl dumps to ``trainer.validation_data_dir``)
  into unbiased pass@k, majority@k, weighted@k and Best-of-k: the numbers of ``rlv rescore``
  on that dump (it runs the same code), where verl logs bootstrap ``best@N`` / ``maj@N``.
* **RL^V loss.** :func:`verification_rows` builds one verification row per rollout in verl's
  batch layout from :func:`rlv.verifier.build_verification_batch` (the rows of rlv's own
  trainer): the context ``prompt + completion + instruction`` as the row's prompt and the
  label token (``Yes`` / ``No``) as its one-token response. :func:`rlv_ppo_loss` is a loss for
  verl's actor hook ``actor_rollout_wg.set_loss_fn``: verl's own ``ppo_loss`` (policy +
  entropy + KL, unchanged) plus ``lam`` times rlv's verification term
  (:func:`rlv.rl.objective.verification_term_from_logprobs`) on the rows flagged
  ``rlv_verify``, whose response mask is 0 so that verl's loss and its token counts ignore
  them.
* **RL^V training.** ``trainer.v1.trainer_mode=rlv`` (:mod:`rlv.integrations.verl_trainer`,
  registered when this module loads, if verl's V1 trainer and its ``TransferQueue``
  dependency import): verl's synchronous trainer that adds the verification rows of every
  step's rollouts to the actor update and installs :func:`rlv_ppo_loss`.

Importing this module imports verl and torch; ``import rlv`` and ``import rlv.integrations``
do not.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import torch
from verl.experimental.reward_loop.reward_manager import register as _register_reward_manager
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase
from verl.workers.utils.losses import ppo_loss as _verl_ppo_loss
from verl.workers.utils.padding import no_padding_2_padding

from rlv.grading import MODES, Mode, extract_answer, grade_batch
from rlv.rl.objective import LossNorms, verification_term_from_logprobs
from rlv.scaling.rescore import rescore
from rlv.verifier import (
    Template,
    build_verification_batch,
    verification_weights,
)

__all__ = [
    "REWARD_MANAGER_NAME",
    "VERIFY_FIELDS",
    "RLVRewardManager",
    "compute_score",
    "compute_score_batch",
    "rlv_ppo_loss",
    "validation_metrics",
    "verification_rows",
]

REWARD_MANAGER_NAME = "rlv"
"""``reward.reward_manager.name`` of :class:`RLVRewardManager`."""

VERIFY_FIELDS = ("rlv_verify", "rlv_label", "rlv_valid", "rlv_weight_total", "rlv_pos_weight")
"""The per-row fields that :func:`rlv_ppo_loss` reads (written by :func:`verification_rows`)."""


# ---------------------------------------------------------------------------------------------
# reward


def _gold(ground_truth: Any, index: int | None = None) -> str:
    where = "" if index is None else f"sample {index}: "
    if ground_truth is None:
        raise ValueError(f"{where}ground_truth is None (the dataset row has no answer)")
    if isinstance(ground_truth, (str, int, float, np.integer, np.floating)) and not isinstance(
        ground_truth, bool
    ):
        gold = str(ground_truth)
        if not gold.strip():
            raise ValueError(f"{where}ground_truth is empty")
        return gold
    raise TypeError(
        f"{where}ground_truth must be a str or a number, not {type(ground_truth).__name__}"
    )


def _check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise ValueError(f"invalid mode {mode!r}; allowed: {', '.join(MODES)}")
    return cast("Mode", mode)


def _scores(
    solution_strs: Sequence[str], golds: Sequence[str], mode: Mode, num_threads: int | None
) -> list[dict[str, Any]]:
    rewards, statuses = grade_batch(
        solution_strs, golds, mode=mode, num_threads=num_threads, return_status_names=True
    )
    out: list[dict[str, Any]] = []
    for text, r, status in zip(solution_strs, rewards.tolist(), statuses.tolist(), strict=True):
        pred = extract_answer(text, mode=mode)
        # verl needs a number: an unscorable gold (NaN in grade_batch) scores 0 and says so
        # in `status` (logged by verl with the other extra keys).
        score = 0.0 if math.isnan(r) else float(r)
        out.append({"score": score, "acc": score == 1.0, "pred": pred or "", "status": str(status)})
    return out


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    mode: str = "strict",
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's reward-function signature on rlv's grader.

    Returns ``{"score": 1.0 or 0.0, "acc": bool, "pred": str, "status": str}``: ``pred`` is
    the answer extracted from the completion (``""`` when none; verl's ``maj@N`` votes on
    it), ``status`` one of :data:`rlv.STATUSES`. An unscorable gold (``status ==
    "invalid_gold"``) scores 0.0. ``mode``: ``"strict"`` (explicit answer anchors only, the
    RL default) or ``"lenient"``; ``data_source``, ``extra_info`` and other keywords that
    verl passes are accepted and not used.

    Raises:
        ValueError: a missing or empty ``ground_truth``, an invalid ``mode``.
        TypeError: ``solution_str`` not a str, ``ground_truth`` not a str or a number.
    """
    m = _check_mode(mode)
    if not isinstance(solution_str, str):
        raise TypeError(f"solution_str must be a str, not {type(solution_str).__name__}")
    return _scores([solution_str], [_gold(ground_truth)], m, 1)[0]


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    *,
    mode: str = "strict",
    num_threads: int | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """:func:`compute_score` for a whole batch in one :func:`rlv.grade_batch` call (the
    signature of verl's ``batch`` reward manager): one dict per sample.

    Raises:
        ValueError: lengths that differ, a missing gold, an invalid ``mode``.
    """
    m = _check_mode(mode)
    n = len(solution_strs)
    if len(ground_truths) != n or len(data_sources) != n:
        raise ValueError(
            f"{n} solution_strs, {len(ground_truths)} ground_truths and "
            f"{len(data_sources)} data_sources: they must have the same length"
        )
    golds = [_gold(g, i) for i, g in enumerate(ground_truths)]
    return _scores(list(solution_strs), golds, m, num_threads)


@_register_reward_manager(REWARD_MANAGER_NAME)
class RLVRewardManager(RewardManagerBase):  # type: ignore[misc]
    """verl reward-loop manager grading with rlv (``reward.reward_manager.name=rlv``).

    verl's reward-loop worker calls :meth:`run_single` once per sample, all of a chunk at
    once (``asyncio.gather``); the manager queues the samples that arrive in the same event
    loop turn and grades them together: one tokenizer ``batch_decode`` and one
    :func:`rlv.grade_batch` (``mode="strict"``, ``RLV_NUM_THREADS`` threads) in an executor
    thread, so the event loop is never blocked. The result of each sample is verl's
    ``{"reward_score", "reward_extra_info"}`` with the extra keys of :func:`compute_score`.

    A custom reward function configured in ``reward.custom_reward_function`` is not used by
    this manager (it always grades with rlv), so configuring one is an error.
    """

    def __init__(
        self,
        config: Any,
        tokenizer: Any,
        compute_score: Any = None,
        reward_router_address: str | None = None,
        reward_model_tokenizer: Any = None,
        **kwargs: Any,
    ) -> None:
        custom = _select(config, "reward.custom_reward_function.path")
        if custom:
            raise ValueError(
                "reward.reward_manager.name=rlv grades with rlv's grader; unset "
                f"reward.custom_reward_function.path (got {custom!r}) or use the 'naive' "
                "manager with rlv.integrations.verl.compute_score"
            )
        super().__init__(config, tokenizer, compute_score)
        self.mode: Mode = "strict"
        self._pending: list[tuple[list[int], str, asyncio.Future[dict[str, Any]]]] = []
        self._flush_scheduled = False

    async def run_single(self, data: Any) -> dict[str, Any]:
        item = data[-1:][0]  # the last sequence of a multi-sequence output, as verl's naive
        response_ids = item.batch["responses"]
        length = int(item.batch["attention_mask"][-response_ids.shape[-1] :].sum())
        ids = [int(t) for t in response_ids[:length].tolist()]
        gold = _gold(item.non_tensor_batch["reward_model"]["ground_truth"])
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending.append((ids, gold, fut))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # After the samples already scheduled in this loop turn have queued themselves.
            loop.call_soon(lambda: asyncio.ensure_future(self._flush()))
        result = await fut
        return {
            "reward_score": result["score"],
            "reward_extra_info": result,
        }

    def _grade(self, ids: list[list[int]], golds: list[str]) -> list[dict[str, Any]]:
        texts = self.tokenizer.batch_decode(ids, skip_special_tokens=True)
        return _scores(texts, golds, self.mode, None)

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._flush_scheduled = False
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                None, self._grade, [b[0] for b in batch], [b[1] for b in batch]
            )
        except BaseException as exc:
            for _, _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            raise
        for (_, _, fut), res in zip(batch, results, strict=True):
            fut.set_result(res)


def _select(config: Any, dotted: str) -> Any:
    cur = config
    for part in dotted.split("."):
        if cur is None:
            return None
        cur = cur.get(part) if hasattr(cur, "get") else getattr(cur, part, None)
    return cur


# ---------------------------------------------------------------------------------------------
# validation metrics


def validation_metrics(
    inputs: Sequence[str],
    outputs: Sequence[str],
    gts: Sequence[Any],
    scores: Sequence[float] | None = None,
    *,
    ks: Sequence[int] | None = None,
    subsets: int = 100,
    seed: int = 0,
    mode: str = "lenient",
    prefix: str = "val-rlv/",
    **grade_options: Any,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Exact test-time-scaling metrics of verl's validation samples.

    ``inputs`` / ``outputs`` / ``gts``: verl's validation lists (the prompt text of each
    sample, its completion, its ground truth), the samples of a prompt next to each other as
    verl generates them (``rollout.val_kwargs.n`` per prompt); ``scores``: optional verifier
    scores in [0, 1] (e.g. the model's P(Yes); not verl's reward, which would make Best-of-N
    an oracle), for weighted@k and Best-of-k.

    The samples go through :func:`rlv.scaling.rescore.rescore` as a verl dump (the format
    verl writes to ``trainer.validation_data_dir``), so the numbers are those of
    ``rlv rescore --format verl`` on that dump with the same ``ks``, ``subsets``, ``seed``
    and grading options: unbiased pass@k, majority@k and weighted@k (mean over ``subsets``
    seeded k-subsets, exact at k = 1 and N), exact Best-of-k.

    Returns:
        ``(metrics, report)``: flat ``{prefix + "pass@k": ..., "maj@k", "weighted@k",
        "best@k"}`` for every k of the report's curves (a float each, for verl's logger),
        and rescore's full report.

    Raises:
        ValueError: lengths that differ, no samples, scores outside [0, 1] or not finite.
    """
    n = len(outputs)
    if n == 0:
        raise ValueError("no validation samples")
    if len(inputs) != n or len(gts) != n or (scores is not None and len(scores) != n):
        raise ValueError(
            f"{len(inputs)} inputs, {n} outputs, {len(gts)} gts"
            + ("" if scores is None else f", {len(scores)} scores")
            + ": they must have the same length"
        )
    if scores is not None:
        s = np.asarray(scores, dtype=np.float64)
        if not np.all(np.isfinite(s)) or np.any((s < 0) | (s > 1)):
            raise ValueError("scores must be finite and in [0, 1]")
    fields = {"score": "rlv_verifier_score"} if scores is not None else {}
    with tempfile.TemporaryDirectory(prefix="rlv-verl-val-") as tmp:
        path = os.path.join(tmp, "validation.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for i in range(n):
                row: dict[str, Any] = {
                    "input": str(inputs[i]),
                    "output": str(outputs[i]),
                    "gts": _gold(gts[i], i),
                }
                if scores is not None:
                    row["rlv_verifier_score"] = float(scores[i])
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        report = rescore(
            [path],
            ks=ks,
            subsets=subsets,
            seed=seed,
            fields=fields,
            format="verl",
            layout="per-sample",
            mode=mode,
            **grade_options,
        )
    names = {"pass": "pass", "majority": "maj", "weighted": "weighted", "best_of_n": "best"}
    metrics: dict[str, float] = {}
    for method, curve in report["curves"].items():
        for k, value in curve.items():
            metrics[f"{prefix}{names[method]}@{k}"] = float(value)
    return metrics, report


# ---------------------------------------------------------------------------------------------
# RL^V: verification rows and the loss


def verification_rows(
    tokenizer: Any,
    prompts: Sequence[Sequence[int]],
    responses: Sequence[Sequence[int]],
    rewards: Sequence[float] | np.ndarray[Any, Any],
    *,
    template: Template | str = "plain",
    balance: bool = False,
    num_mini_batches: int = 1,
) -> dict[str, torch.Tensor]:
    """Verification rows of rollouts in verl's batch layout (one row per rollout).

    ``prompts[i]`` / ``responses[i]``: the token ids of rollout ``i``'s prompt and sampled
    response (no padding); ``rewards[i]``: its reward (``> 0.5``: correct, label ``Yes``;
    NaN: unscorable, no loss). The rows are those of
    :func:`rlv.verifier.build_verification_batch` (rlv's own trainer's): ``prompts`` is its
    left-padded ``prompt + completion + instruction`` tensor, unchanged, and the response is
    the label token, so verl's log-prob of response token 0 is the label's log-prob at the
    label position.

    Returns the tensors of verl's rollout batch, ``B`` rows: ``prompts`` ``(B, T)``,
    ``responses`` ``(B, 1)``, ``input_ids`` / ``attention_mask`` / ``position_ids``
    ``(B, T + 1)``, ``response_mask`` ``(B, 1)`` all 0 (verl's policy loss, entropy, KL and
    token counts skip the rows), ``advantages`` ``(B, 1)`` zeros, and the fields of
    :data:`VERIFY_FIELDS`: ``rlv_verify`` (True), ``rlv_label``, ``rlv_valid`` (bool),
    ``rlv_weight_total`` (the step's verification weight per mini-batch: the
    :func:`rlv.verifier.verification_weights` total over these rows divided by
    ``num_mini_batches``) and ``rlv_pos_weight`` (NaN: unweighted; with ``balance`` and both
    classes, ``n_neg / n_pos``). Policy rows carry ``rlv_verify = False`` and zeros.

    Raises:
        ValueError: lengths that differ, an empty batch or prompt, labels that are not one
            token, ``num_mini_batches < 1``.
    """
    if num_mini_batches < 1:
        raise ValueError(f"num_mini_batches must be >= 1, got {num_mini_batches}")
    vb = build_verification_batch(tokenizer, prompts, responses, rewards, template=template)
    packed = vb.packed
    b = packed.input_ids.shape[0]
    label_ids = torch.where(vb.labels, torch.tensor(vb.yes_id), torch.tensor(vb.no_id)).reshape(
        b, 1
    )
    labels_np = vb.labels.numpy()
    valid_np = vb.valid.numpy()
    total, pos_weight = verification_weights(labels_np, valid_np, balance)
    last_pos = packed.position_ids[:, -1:] + 1
    return {
        "prompts": packed.input_ids,
        "responses": label_ids,
        "input_ids": torch.cat([packed.input_ids, label_ids], dim=1),
        "attention_mask": torch.cat(
            [packed.attention_mask, torch.ones((b, 1), dtype=packed.attention_mask.dtype)], dim=1
        ),
        "position_ids": torch.cat([packed.position_ids, last_pos], dim=1),
        "response_mask": torch.zeros((b, 1), dtype=torch.long),
        "advantages": torch.zeros((b, 1), dtype=torch.float32),
        "rlv_verify": torch.ones(b, dtype=torch.bool),
        "rlv_label": vb.labels.clone(),
        "rlv_valid": vb.valid.clone(),
        "rlv_weight_total": torch.full((b,), total / num_mini_batches, dtype=torch.float64),
        "rlv_pos_weight": torch.full(
            (b,), math.nan if pos_weight is None else pos_weight, dtype=torch.float64
        ),
    }


def rlv_ppo_loss(
    config: Any,
    model_output: Mapping[str, Any],
    data: Any,
    dp_group: Any = None,
    *,
    lam: float,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """The RL^V actor loss for verl's ``set_loss_fn`` hook:
    ``verl ppo_loss + lam * s * L_verify``.

    ``config``, ``model_output``, ``data``, ``dp_group``: as verl's
    ``verl.workers.utils.losses.ppo_loss`` (which computes the first term, unchanged: policy
    loss of ``actor.policy_loss.loss_mode``, entropy bonus, KL loss). ``data`` carries the
    fields of :data:`VERIFY_FIELDS` (one value per row; :func:`verification_rows`). Over the
    rows with ``rlv_verify`` (response mask 0, so verl's terms ignore them), the log-prob of
    response token 0 is the label's log-prob and the second term is
    :func:`rlv.rl.objective.verification_term_from_logprobs` with ``LossNorms``
    ``verify_weight_total = rlv_weight_total`` and ``pos_weight = rlv_pos_weight``.

    ``lam == 0`` returns verl's loss itself (the verification term is still computed and
    logged); a batch without verification rows adds nothing. Note: verl computes log-probs
    at the rollout temperature; the term is rlv's ``"full"`` verification loss when that
    temperature is 1.

    Metrics: verl's, plus ``rlv/verify_loss`` (``s * L_verify``), ``rlv/verify_nll``,
    ``rlv/p_label``, ``rlv/verify_rows``.

    Raises:
        ValueError: a negative or non-finite ``lam``; KeyError: a verification field is
            missing from ``data``.
    """
    if isinstance(lam, bool) or not isinstance(lam, (int, float)):
        raise TypeError(f"lam must be a number, not {type(lam).__name__}")
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"invalid value {lam!r} for lam; allowed: a finite number >= 0")
    missing = [k for k in VERIFY_FIELDS if k not in data.keys()]
    if missing:
        raise KeyError(
            f"rlv_ppo_loss needs the fields {', '.join(VERIFY_FIELDS)} in the batch "
            f"(rlv.integrations.verl.verification_rows); missing: {', '.join(missing)}"
        )
    # The label log-probs, before verl's ppo_loss narrows `data` to its own fields.
    log_prob = no_padding_2_padding(model_output["log_probs"], data)
    is_verify = data["rlv_verify"].to(torch.bool)
    rows = is_verify.nonzero().squeeze(-1)
    loss, metrics = _verl_ppo_loss(config, model_output, data, dp_group)
    if rows.numel() == 0:
        metrics["rlv/verify_rows"] = 0.0
        return loss, metrics
    pw = float(data["rlv_pos_weight"][rows[0]])
    norms = LossNorms(
        num_tokens=1.0,
        num_seqs=1.0,
        norm_len=1.0,
        verify_weight_total=float(data["rlv_weight_total"][rows[0]]),
        pos_weight=None if math.isnan(pw) else pw,
    )
    term, vmetrics = verification_term_from_logprobs(
        log_prob[rows, 0],
        data["rlv_label"][rows].to(torch.bool),
        data["rlv_valid"][rows].to(torch.bool),
        norms=norms,
    )
    # verl averages gradients over data-parallel ranks and scales its own loss by dp_size
    # to undo that; the term is a sum over this rank's rows / the global weight total.
    dp_size = int(data["dp_size"]) if "dp_size" in data.keys() else 1
    term = term * dp_size
    if lam > 0:
        loss = loss + lam * term.to(loss.dtype)
    metrics["rlv/verify_loss"] = float(term.detach())
    metrics["rlv/verify_nll"] = float(vmetrics["verifier/nll"])
    metrics["rlv/p_label"] = float(vmetrics["verifier/p_label"])
    metrics["rlv/verify_rows"] = float(rows.numel())
    return loss, metrics


# ---------------------------------------------------------------------------------------------
# RL^V training: register trainer_mode "rlv" (needs verl's V1 trainer and TransferQueue)

try:
    from rlv.integrations import verl_trainer as _verl_trainer  # noqa: F401  (registers)
except ImportError as _e:  # pragma: no cover - depends on the installed verl extras
    import logging as _logging

    _logging.getLogger(__name__).warning(
        "rlv: verl trainer_mode 'rlv' is not available (%s); the reward, validation metrics "
        "and rlv_ppo_loss still work. Install verl's V1 trainer dependencies "
        "(pip install 'TransferQueue>=0.1.10' pyzmq msgspec) to train RL^V in verl.",
        _e,
    )
