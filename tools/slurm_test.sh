#!/usr/bin/env bash
# Test a checkpoint on a Slurm cluster, one task per GPU (same arguments and variables as mmpose's).
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#     bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py arguments ...]
# The variables are those of tools/slurm_train.sh; each task runs tools/test.py --launcher slurm.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py arguments]" >&2
  exit 2
fi
exec bash "$(dirname "$0")/misc/slurm_srun.sh" "$1" "$2" test.py "$3" "$4" --launcher=slurm \
  "${@:5}"
