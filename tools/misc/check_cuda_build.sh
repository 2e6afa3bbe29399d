#!/usr/bin/env bash
# Check the CUDA build recipe of `FORCE_CUDA=1 make setup` without a GPU, in a few minutes:
# compile mmcv's deformable-convolution and NMS kernels (the CUDA ops this project runs) with the
# toolchain that setup assembles (tools/misc/cuda_build.py) and torch's extension builder, link
# them against torch and the CUDA runtime, load the library next to torch, and check the kernels
# and the device code for every architecture asked for. The full mmcv build compiles 59 such files.
#
#   bash tools/misc/check_cuda_build.sh                       # after `make setup`
#   TORCH_CUDA_ARCH_LIST="8.0;9.0+PTX" bash tools/misc/check_cuda_build.sh
#
# Environment: VENV (.venv), TORCH_CUDA_ARCH_LIST (default 9.0), CUDA_HOME (a system toolkit of
# torch's CUDA major version instead of the package index's), WORK_DIR
# (work_dirs/check_cuda_build), MAX_JOBS (all cores). Exit status 0 when everything holds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
venv=${VENV:-$root/.venv}
vpy=$venv/bin/python
work=${WORK_DIR:-$root/work_dirs/check_cuda_build}
arch_list=${TORCH_CUDA_ARCH_LIST:-9.0}
start=$(date +%s)
step() { echo "check_cuda_build: [$(( $(date +%s) - start ))s] $*"; }

if [ ! -x "$vpy" ]; then
  echo "check_cuda_build: $vpy not found: run \`make setup\` first" >&2; exit 1
fi
step "toolkit"
cuda_home=$("$vpy" tools/misc/cuda_build.py toolkit --target "$venv/cuda")
cuda_includes=$("$vpy" tools/misc/cuda_build.py extra-includes --cuda-home "$cuda_home")

mmcv_version=$(sed -n 's/^mmcv==//p' requirements/constraints.txt)
sources=$work/mmcv-$mmcv_version
if [ ! -d "$sources" ]; then
  step "mmcv $mmcv_version sources"
  mkdir -p "$work"
  "$vpy" -m pip download --disable-pip-version-check --quiet --no-deps --no-binary :all: \
    --no-build-isolation -d "$work" "mmcv==$mmcv_version"
  tar -xzf "$work/mmcv-$mmcv_version.tar.gz" -C "$work"
fi

step "compiling deform_conv_cuda.cu and nms_cuda.cu for TORCH_CUDA_ARCH_LIST=$arch_list"
rm -rf "$work/build"
# the flags of mmcv's setup.py for its CUDA extension (define MMCV_WITH_CUDA, its include folders,
# C++17), through the same torch builder (ninja, -gencode from TORCH_CUDA_ARCH_LIST)
CUDA_HOME=$cuda_home CPATH=$cuda_includes${CPATH:+:$CPATH} TORCH_CUDA_ARCH_LIST=$arch_list \
  MAX_JOBS=${MAX_JOBS:-$(nproc)} SOURCES=$sources \
  "$vpy" - build_ext --build-temp "$work/build/temp" --build-lib "$work/build/lib" <<'PY'
import os

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CUDAExtension

src = os.environ['SOURCES'] + '/mmcv/ops/csrc'
setup(name='mmcv_cuda_check',
      ext_modules=[CUDAExtension(
          'mmcv_cuda_check',
          [f'{src}/pytorch/cuda/deform_conv_cuda.cu', f'{src}/pytorch/cuda/nms_cuda.cu'],
          include_dirs=[f'{src}/pytorch', f'{src}/common', f'{src}/common/cuda'],
          define_macros=[('MMCV_WITH_CUDA', None)],
          extra_compile_args={'nvcc': ['-std=c++17']})],
      cmdclass={"build_ext": BuildExtension})
PY
library=$(ls "$work"/build/lib/mmcv_cuda_check*.so)

step "checking $library"
# the kernels of the project's ops (cuda_build.PROJECT_KERNELS) and every architecture asked for
"$vpy" tools/misc/cuda_build.py check-binary "$library" --arch-list "$arch_list"
LIBRARY=$library "$vpy" -c '
import ctypes, os, torch
ctypes.CDLL(os.environ["LIBRARY"])  # every symbol resolved by torch and the CUDA runtime
print("check_cuda_build: the library loads next to torch", torch.__version__)'
step "done: the toolchain builds mmcv's CUDA kernels"
