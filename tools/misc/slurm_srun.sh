#!/usr/bin/env bash
# The srun call of tools/slurm_train.sh and tools/slurm_test.sh (mmpose's arguments and variables):
#   bash tools/misc/slurm_srun.sh PARTITION JOB_NAME TOOL [TOOL arguments ...]
# runs `$PYTHON -u tools/TOOL ...` as GPUS tasks (default 8), GPUS_PER_NODE per node (default 8),
# CPUS_PER_TASK cores each (default 5), with SRUN_ARGS added to srun's options.
# On CPU nodes set GPUS_PER_NODE=0: no GPU is requested (no --gres) and TASKS_PER_NODE tasks
# (default 1) run per node.
# Written for bash >= 4.2 (RHEL/CentOS 7): an empty array is expanded as ${a[@]+"${a[@]}"}, which
# `set -u` accepts there too.
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

if [ "$GPUS_PER_NODE" -gt 0 ]; then
    node_args=(--gres=gpu:"$GPUS_PER_NODE" --ntasks-per-node="$GPUS_PER_NODE")
else
    node_args=(--ntasks-per-node="${TASKS_PER_NODE:-1}")
fi

export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
set -x
srun --partition="$PARTITION" \
    --job-name="$JOB_NAME" \
    "${node_args[@]}" \
    --ntasks="$GPUS" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${srun_args[@]+"${srun_args[@]}"} \
    "$PYTHON" -u "$ROOT/tools/$TOOL" "${@:4}"
