#!/usr/bin/env bash
# The srun call of tools/slurm_train.sh and tools/slurm_test.sh (mmpose's arguments and variables):
#   bash tools/misc/slurm_srun.sh PARTITION JOB_NAME TOOL [TOOL arguments ...]
# runs `$PYTHON -u tools/TOOL ...` as GPUS tasks (default 8), GPUS_PER_NODE per node (default 8),
# CPUS_PER_TASK cores each (default 5), with SRUN_ARGS added to srun's options.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
TOOL=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
read -r -a srun_args <<< "${SRUN_ARGS:-}"
PYTHON=${PYTHON:-python}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
set -x
srun --partition="$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    "${srun_args[@]}" \
    "$PYTHON" -u "$ROOT/tools/$TOOL" "${@:4}"
