#!/usr/bin/env bash
# Build (or reuse) the project's virtual environment `.venv/` with the whole OpenMMLab stack.
#
#   bash tools/misc/setup_env.sh          # what `make setup` runs
#
# Versions come from requirements/constraints.txt alone. The order matters (see README, "Environment"):
# torch first, then the pure-Python stack, xtcocotools built against NumPy 2, mmpose without its
# unused `chumpy` dependency, and mmcv built from the sdist with its C++ ops (about 11 min on 2 cores
# the first time; pip keeps the built wheel in its cache, so later builds on the same machine are fast).
# With a CUDA toolkit and a GPU build of torch, `FORCE_CUDA=1 make setup` also builds mmcv's CUDA kernels.
#
# Idempotent: a stamp in .venv records a hash of the inputs; with nothing changed the script exits at once.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
venv=${VENV:-$root/.venv}
python=${PYTHON:-python3}
constraints=$root/requirements/constraints.txt
force_cuda=${FORCE_CUDA:-0}

stamp_of_inputs() {
  cat "$constraints" tools/misc/setup_env.sh setup.py | sha256sum | cut -d' ' -f1
  echo "FORCE_CUDA=$force_cuda"
}
stamp_file=$venv/.mmpose-multilevel-stamp
want=$(stamp_of_inputs)
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ]; then
  echo "setup: $venv is up to date"
  exit 0
fi

start=$(date +%s)
step() { echo "setup: [$(( $(date +%s) - start ))s] $*"; }

if ! "$python" -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null; then
  echo "setup: $python is not Python >= 3.10 (set PYTHON=python3.11)" >&2; exit 1
fi
for tool in gcc g++; do
  command -v $tool >/dev/null || { echo "setup: $tool not found: apt-get install build-essential" >&2; exit 1; }
done
if ! "$python" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  echo "setup: Python.h not found: apt-get install python3-dev" >&2; exit 1
fi
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  step "creating $venv with $($python --version)"
  "$python" -m venv --clear "$venv" || { echo "setup: venv failed: apt-get install python3-venv" >&2; exit 1; }
fi
rm -f "$stamp_file"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -c "$constraints")

step "torch, torchvision"
"${pip[@]}" torch torchvision

step "build tools, NumPy and the Python stack"
"${pip[@]}" setuptools wheel cython ninja numpy
"${pip[@]}" opencv-python mmengine mmdet json_tricks munkres pycocotools scipy matplotlib pillow shapely \
  terminaltables tqdm onnx onnxruntime pytest

step "xtcocotools, built against NumPy 2"
"${pip[@]}" --no-build-isolation --no-binary xtcocotools xtcocotools

step "mmpose (without its unused chumpy dependency)"
"${pip[@]}" --no-deps mmpose

if ! "$venv/bin/python" -c "import mmcv.ops" 2>/dev/null || [ "$force_cuda" = 1 ]; then
  step "mmcv with its C++ ops (FORCE_CUDA=$force_cuda; the first build takes about 11 min on 2 cores)"
  rebuild=()
  # A CUDA build, or an installed mmcv whose ops do not load (built against another torch), must
  # compile again: pip's cached wheel is the CPU build for the torch it was built with.
  if [ "$force_cuda" = 1 ] || "$venv/bin/python" -m pip show -q mmcv 2>/dev/null; then
    rebuild=(--no-cache-dir --force-reinstall --no-deps)
  fi
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "${pip[@]}" --no-build-isolation "${rebuild[@]}" mmcv
fi

step "this project (editable)"
"${pip[@]}" --no-build-isolation --no-deps -e .

"$venv/bin/python" - <<'PY'
import mmcv, mmcv.ops, mmdet, mmengine, mmpose, onnxruntime, torch, torchvision, xtcocotools  # noqa: F401
import custom_modules  # noqa: F401
print(f'setup: torch {torch.__version__}, torchvision {torchvision.__version__}, mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, mmpose {mmpose.__version__}')
PY
echo "$want" > "$stamp_file"
step "done"
