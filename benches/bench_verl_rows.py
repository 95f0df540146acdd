"""Cost of trainer_mode=rlv's extra step: building a step's verification rows in verl's queue
layout (rlv.integrations.verl_trainer.queue_verification_rows), per step size.

Run in the verl environment (.ci/install-verl): python benches/bench_verl_rows.py
Prints rows/s and the time per step; the queue transfer itself (TransferQueue, Ray) and the
extra actor forward/backward over the rows are not included (they need verl's GPU workers).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from tensordict import TensorDict

from rlv.integrations.verl_trainer import queue_verification_rows
from rlv.models import build_tokenizer


def rollouts(b: int, p_len: int, r_len: int, vocab: int, seed: int) -> TensorDict:
    gen = torch.Generator().manual_seed(seed)

    def nested(rows: list[torch.Tensor]) -> torch.Tensor:
        return torch.nested.as_nested_tensor(rows, layout=torch.jagged)

    p = [torch.randint(4, vocab, (p_len,), generator=gen) for _ in range(b)]
    r = [torch.randint(4, vocab, (r_len,), generator=gen) for _ in range(b)]
    seqs = [torch.cat([a, c]) for a, c in zip(p, r, strict=True)]
    rm = [torch.zeros(r_len) for _ in range(b)]
    for i, row in enumerate(rm):
        row[-1] = float(i % 2)
    return TensorDict(
        {
            "prompts": nested(p),
            "responses": nested(r),
            "input_ids": nested(seqs),
            "position_ids": nested([torch.arange(len(s)) for s in seqs]),
            "response_mask": nested([torch.ones(r_len, dtype=torch.long) for _ in range(b)]),
            "loss_mask": nested([torch.ones(r_len, dtype=torch.long) for _ in range(b)]),
            "rm_scores": nested(rm),
            "old_log_probs": nested([torch.zeros(r_len) for _ in range(b)]),
            "advantages": nested([torch.zeros(r_len) for _ in range(b)]),
        },
        batch_size=[b],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rollouts", default="256,2048", help="step sizes (rollouts per step)")
    ap.add_argument("--prompt-len", type=int, default=256)
    ap.add_argument("--response-len", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tok = build_tokenizer()
    print(f"prompt {args.prompt_len} + response {args.response_len} tokens, torch threads "
          f"{torch.get_num_threads()}, median of {args.rounds} rounds")  # fmt: skip
    print(f"{'rollouts':>9} {'s/step':>8} {'rows/s':>9}")
    for b in (int(x) for x in args.rollouts.split(",")):
        td = rollouts(b, args.prompt_len, args.response_len, len(tok), seed=b)
        tags = [{"seq_len": args.prompt_len + args.response_len} for _ in range(b)]
        times = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            queue_verification_rows(tok, td, tags)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        print(f"{b:>9} {med:>8.3f} {b / med:>9.0f}")


if __name__ == "__main__":
    main()
