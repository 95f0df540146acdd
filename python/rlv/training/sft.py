"""The supervised warm start (``rlv sft``): cross-entropy on demonstration solutions, and
optionally the verifier on their known correctness."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'rlv.training needs PyTorch and transformers: pip install "rlv[train]"'
    ) from exc

from rlv.exceptions import ConfigError, RunDirError
from rlv.rl.losses import token_logprobs
from rlv.tasks import Problem
from rlv.training.checkpoint import (
    MODEL_CONFIG_FILE,
    check_run_dir,
    claim_run_dir,
    finish_run,
    replace_dir,
)
from rlv.training.config import Config, to_dict
from rlv.training.setup import PromptSampler, autocast, lr_schedule, micro_batches, set_up
from rlv.verifier import forward_window, verification_loss

__all__ = ["sft"]


def sft(
    cfg: Config,
    *,
    model: Any = None,
    tokenizer: Any = None,
    problems: Sequence[Problem] | None = None,
    out_dir: str | Path | None = None,
    overwrite: bool = False,
) -> tuple[Any, Any, Path, list[dict[str, float]]]:
    """Supervised fine-tuning on the problems' demonstration solutions (``rlv sft``).

    Cross-entropy on the solution tokens (and EOS). With ``sft.verify_lambda > 0`` the
    demonstrations' known correctness also trains the verifier (same template as RL). Writes
    the model to ``out_dir`` (default ``RUN_DIR/model``) and ``sft_metrics.jsonl``.

    The directory holding the model (``RUN_DIR``) is claimed for the ``sft`` stage in
    ``run.json`` (marked incomplete until the model is written): one that already holds an SFT
    run is refused unless ``overwrite`` (SFT has no checkpoints to resume from).

    Returns ``(model, tokenizer, model_dir, history)``.
    """
    sc = cfg.sft
    tc = cfg.train
    out = Path(out_dir) if out_dir is not None else Path(tc.run_dir) / "model"
    check_run_dir(out.parent, "sft", overwrite=overwrite)
    if out_dir is not None and out.exists() and not overwrite:
        raise RunDirError(f"{out} exists; pass overwrite to replace it")
    run = set_up(cfg, model, tokenizer, problems)
    device, bf16 = run.device, run.bf16
    model, tokenizer, verifier = run.model, run.tokenizer, run.verifier
    demos = [p for p in run.problems if p.solution]
    if not demos:
        raise ConfigError("rlv sft needs problems with demonstration solutions")
    claim_run_dir(out.parent, "sft", overwrite=overwrite)
    opt = torch.optim.AdamW(model.parameters(), lr=sc.lr, weight_decay=sc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_schedule(sc.warmup_steps, sc.steps, "cosine"))
    sampler = PromptSampler(len(demos), tc.seed)
    p_cache: dict[str, list[int]] = {}
    s_cache: dict[str, list[int]] = {}
    history: list[dict[str, float]] = []
    model.train()
    bar = None
    if tc.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sc.steps, desc="SFT", unit="step", dynamic_ncols=True)
    log = (out.parent / "sft_metrics.jsonl").open("w")
    try:
        for step in range(sc.steps):
            idx = sampler.next(sc.batch_size)
            rows = [demos[i] for i in idx]
            p_ids = [p_cache.setdefault(p.prompt, verifier.prompt_ids(p.prompt)) for p in rows]
            c_ids = [
                s_cache.setdefault(p.solution or "", verifier.completion_ids(p.solution or ""))
                for p in rows
            ]
            labels = np.array([bool(p.solution_correct) for p in rows])
            known = np.array([p.solution_correct is not None for p in rows])
            lengths = [
                len(a) + len(b) + len(verifier.suffix_ids)
                for a, b in zip(p_ids, c_ids, strict=True)
            ]
            n_tok = float(sum(len(c) for c in c_ids))
            v_total = float(known.sum())
            opt.zero_grad(set_to_none=True)
            tot = {"loss/sft": 0.0, "loss/verify": 0.0}
            for mb in micro_batches(lengths, cfg.optim.token_budget):
                b = verifier.pack([p_ids[i] for i in mb], [c_ids[i] for i in mb], device=device)
                with autocast(device, bf16):
                    logits = forward_window(model, b)
                lp = token_logprobs(b.completion_logits(logits), b.completion_ids)
                ce = -(lp * b.completion_mask).sum() / n_tok
                loss = ce
                kmask = torch.from_numpy(known[mb]).to(device)
                keep = kmask.nonzero().squeeze(-1)
                if sc.verify_lambda > 0 and keep.numel():
                    z = b.label_logits(logits)
                    ver, _ = verification_loss(
                        z[keep],
                        torch.from_numpy(labels[mb]).to(device)[keep],
                        yes_id=verifier.yes_id,
                        no_id=verifier.no_id,
                        mode=cfg.verify.mode,
                    )
                    ver = ver * (keep.numel() / v_total)
                    loss = loss + sc.verify_lambda * ver
                    tot["loss/verify"] += float(ver.item())
                loss.backward()
                tot["loss/sft"] += float(ce.item())
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), sc.grad_clip)
            opt.step()
            sched.step()
            m = {**tot, "optim/grad_norm": float(gn), "optim/lr": float(sched.get_last_lr()[0])}
            history.append(m)
            log.write(json.dumps({"step": step + 1, **m}) + "\n")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{tot['loss/sft']:.3f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
        log.close()
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    from rlv import models

    models.save(model, tokenizer, tmp)
    (tmp / MODEL_CONFIG_FILE).write_text(json.dumps(to_dict(cfg), indent=2) + "\n")
    replace_dir(tmp, out)
    finish_run(out.parent, "sft", steps=sc.steps, model=out.name)
    return model, tokenizer, out, history
