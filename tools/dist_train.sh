#!/usr/bin/env bash
# Train with N processes on one or more machines (torchrun).
#   bash tools/dist_train.sh CONFIG N [train.py arguments ...]
# On a machine without GPU the N processes train on the CPU with the gloo backend.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as in mmpose.
set -e
if [ $# -lt 2 ]; then echo "usage: $0 CONFIG NPROC [train.py arguments]" >&2; exit 2; fi
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NPROC" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
