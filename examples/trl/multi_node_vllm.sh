#!/usr/bin/env bash
# The multi-node layout: one machine serves generation with `trl vllm-serve`, two machines
# train (accelerate, examples/trl/multi_node.yaml). Run the part for each machine there:
#
#   MODEL=/models/Qwen2.5-Math-1.5B TRAIN=data/math/train.jsonl EVAL=data/math/test.jsonl \
#   HEAD=10.0.0.1 VLLM=10.0.0.3 bash examples/trl/multi_node_vllm.sh vllm      # on 10.0.0.3
#   ... bash examples/trl/multi_node_vllm.sh train 0                            # on 10.0.0.1
#   ... bash examples/trl/multi_node_vllm.sh train 1                            # on the other
#
# The trainer sends prompts to the server over HTTP (port 8000) and pushes updated weights
# to it over NCCL (TRL's vllm_group_port, 51216): both ports must be reachable from the
# training machines. The model directory must exist on every machine.
# Not run in this repository (no GPU here).
set -euo pipefail
: "${MODEL:?set MODEL to a local model directory}"
: "${HEAD:?set HEAD to the address of training machine 0}"
: "${VLLM:?set VLLM to the address of the generation machine}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case "${1:-}" in
vllm)
  # Tensor parallelism over the server's GPUs (TRL refuses data parallelism for dense models).
  trl vllm-serve --model "$MODEL" --tensor-parallel-size "${TP:-8}" --host 0.0.0.0 --port 8000
  ;;
train)
  : "${TRAIN:?set TRAIN to the training JSONL}"
  eval_args=()
  if [[ -n "${EVAL:-}" ]]; then eval_args=(--eval "$EVAL"); fi
  accelerate launch --config_file "$here/multi_node.yaml" \
    --machine_rank "${2:?machine rank (0 or 1)}" --main_process_ip "$HEAD" \
    "$here/math_jsonl.py" --model "$MODEL" --train "$TRAIN" "${eval_args[@]}" \
    --output-dir "${OUT:-runs/math-rlv-multinode}" \
    --use-vllm --vllm-mode server --vllm-server-host "$VLLM" --vllm-server-port 8000
  ;;
*)
  echo "usage: $0 vllm | train MACHINE_RANK" >&2
  exit 2
  ;;
esac
