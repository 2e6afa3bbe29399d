#!/usr/bin/env bash
# Test a checkpoint with N processes (torchrun).
#   bash tools/dist_test.sh CONFIG CHECKPOINT N [test.py arguments ...]
# On a machine without GPU the N processes run on the CPU with the gloo backend.
set -e
if [ $# -lt 3 ]; then echo "usage: $0 CONFIG CHECKPOINT NPROC [test.py arguments]" >&2; exit 2; fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
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
    "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
