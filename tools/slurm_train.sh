#!/usr/bin/env bash
# Train on a Slurm cluster, one task per GPU (same arguments and variables as mmpose's script).
#   [GPUS=16] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#     bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py arguments ...]
# GPUS: tasks in all (default 8); GPUS_PER_NODE: tasks per node (default 8); CPUS_PER_TASK:
# cores per task (default 5); SRUN_ARGS: more srun options (e.g. "--quotatype=auto", "-w node1").
# Each task runs tools/train.py --launcher slurm; mmengine takes rank, world size and master from
# Slurm (SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST; MASTER_PORT or 29500). On nodes without a
# GPU the tasks train on the CPU with gloo (custom_modules.utils.setup_cpu_distributed): set
# GPUS_PER_NODE=0 there (no GPU requested) and TASKS_PER_NODE (default 1).
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py arguments]" >&2
  exit 2
fi
exec bash "$(dirname "$0")/misc/slurm_srun.sh" "$1" "$2" train.py "$3" --work-dir="$4" \
  --launcher=slurm "${@:5}"
