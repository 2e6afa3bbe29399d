#!/usr/bin/env bash
# Train on a Slurm cluster, one task per GPU (same arguments and variables as mmpose's script).
#   [GPUS=16] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#     bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py arguments ...]
# GPUS: tasks in all (default 8); GPUS_PER_NODE: tasks per node (default 8); CPUS_PER_TASK:
# cores per task (default 5); SRUN_ARGS: more srun options (e.g. "--quotatype=auto", "-w node1").
# Each task runs tools/train.py --launcher slurm; mmengine takes rank, world size and master from
# Slurm (SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST; MASTER_PORT or 29500). On nodes without a
# GPU the tasks train on the CPU with gloo (custom_modules.utils.setup_cpu_distributed).
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py arguments]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
read -r -a srun_args <<< "${SRUN_ARGS:-}"
PYTHON=${PYTHON:-python}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

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
    "$PYTHON" -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher=slurm "${@:5}"
