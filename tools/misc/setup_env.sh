#!/usr/bin/env bash
# Build (or reuse) the project's virtual environment `.venv/` with the whole OpenMMLab stack.
#
#   bash tools/misc/setup_env.sh          # what `make setup` runs
#
# Versions come from requirements/constraints.txt alone. The order matters (see docs/installation.md, "Environment"):
# torch first, then the pure-Python stack, xtcocotools built against NumPy 2, mmpose without its
# unused `chumpy` dependency, and mmcv built from the sdist with its C++ ops (about 11 min on 2 cores
# the first time; pip keeps the built wheel in its cache, so later builds on the same machine are fast).
#
#   FORCE_CUDA=1 bash tools/misc/setup_env.sh   # `FORCE_CUDA=1 make setup`: mmcv's CUDA kernels
#
# FORCE_CUDA=1 works with or without a GPU and without a system CUDA toolkit: the CUDA compiler
# matching torch's CUDA version is installed from the package index into .venv/cuda (or the
# toolkit that CUDA_HOME names is used, if it is torch's CUDA major version); mmcv is compiled for
# the visible GPUs, or for TORCH_CUDA_ARCH_LIST (default without a GPU: 8.0;8.6;9.0+PTX, see
# tools/misc/cuda_build.py), and then checked (CUDA version, kernels, architectures). The CUDA
# wheel is kept in MMCV_WHEEL_CACHE (default ~/.cache/mmpose-multilevel/mmcv), one folder per
# mmcv, Python, torch and architecture list, so another clone on the same machine installs it in
# seconds. See docs/gpu.md.
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
  cat "$constraints" tools/misc/setup_env.sh tools/misc/cuda_build.py setup.py \
    custom_modules/ops/csrc/*.c \
    | sha256sum | cut -d' ' -f1
  echo "FORCE_CUDA=$force_cuda"
  if [ "$force_cuda" = 1 ]; then
    echo "TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-} CUDA_HOME=${CUDA_HOME:-}"
  fi
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
  terminaltables tqdm onnx onnxruntime pytest flake8 isort yapf pre-commit pre-commit-hooks \
  codespell docformatter mdformat mdformat-openmmlab mdformat_frontmatter linkify-it-py

step "xtcocotools, built against NumPy 2"
"${pip[@]}" --no-build-isolation --no-binary xtcocotools xtcocotools

step "mmpose (without its unused chumpy dependency)"
"${pip[@]}" --no-deps mmpose

vpy=$venv/bin/python
if [ "$force_cuda" = 1 ]; then
  step "CUDA compiler for torch's CUDA version"
  cuda_home=$("$vpy" tools/misc/cuda_build.py toolkit --target "$venv/cuda" \
    --constraints "$constraints")
  cuda_includes=$("$vpy" tools/misc/cuda_build.py extra-includes --cuda-home "$cuda_home")
  arch_list=${TORCH_CUDA_ARCH_LIST:-$("$vpy" tools/misc/cuda_build.py arch-list)}
  # pip's own cache cannot tell a CUDA build from a CPU one (same name, same version), so the CUDA
  # wheel is kept in a folder named for what it was built for.
  mmcv_version=$(sed -n 's/^mmcv==//p' "$constraints")
  build_key=$("$vpy" -c 'import sys, torch
print(f"cp{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__}")')
  arch_key=$("$vpy" tools/misc/cuda_build.py wheel-key --arch-list "$arch_list")  # 9.0a: sm90
  wheel_dir=${MMCV_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmpose-multilevel/mmcv}
  wheel_dir=$wheel_dir/mmcv$mmcv_version-$build_key-$arch_key
  if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
    step "mmcv with its CPU and CUDA ops for TORCH_CUDA_ARCH_LIST=$arch_list" \
      "(long: see docs/gpu.md)"
    mkdir -p "$wheel_dir"
    partial=$(mktemp -d "$wheel_dir.partial.XXXXXX")  # the wheel appears whole or not at all
    CUDA_HOME=$cuda_home CPATH=$cuda_includes${CPATH:+:$CPATH} TORCH_CUDA_ARCH_LIST=$arch_list \
      FORCE_CUDA=1 MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      "$vpy" -m pip wheel --disable-pip-version-check -c "$constraints" --no-deps \
      --no-build-isolation --no-cache-dir -w "$partial" mmcv
    mv "$partial"/mmcv-*.whl "$wheel_dir"/
    rm -rf "$partial"
  fi
  step "mmcv CUDA wheel from $wheel_dir"
  "${pip[@]}" --no-deps --force-reinstall "$wheel_dir"/mmcv-*.whl
  "$vpy" tools/misc/cuda_build.py check-mmcv --arch-list "$arch_list"
elif ! "$vpy" -c "import mmcv.ops" 2>/dev/null; then
  step "mmcv with its C++ ops (the first build takes about 11 min on 2 cores)"
  rebuild=()
  # An installed mmcv whose ops do not load (built against another torch) must compile again:
  # pip's cached wheel is the build for the torch it was built with.
  if "$vpy" -m pip show -q mmcv 2>/dev/null; then
    rebuild=(--no-cache-dir --force-reinstall --no-deps)
  fi
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "${pip[@]}" --no-build-isolation "${rebuild[@]}" mmcv
fi

step "this project (editable)"
"${pip[@]}" --no-build-isolation --no-deps -e .

"$venv/bin/python" - <<'PY'
import mmcv, mmcv.ops, mmdet, mmengine, mmpose, onnxruntime, torch, torchvision, xtcocotools  # noqa: F401
import custom_modules  # noqa: F401
from custom_modules.ops.paf_grouping import compiled_grouping_error
if compiled_grouping_error():
    raise SystemExit(f'setup: the compiled PAF grouping: {compiled_grouping_error()}')
print(f'setup: torch {torch.__version__}, torchvision {torchvision.__version__}, mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, mmpose {mmpose.__version__}')
PY
echo "$want" > "$stamp_file"
step "done"
