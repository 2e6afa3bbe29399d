#!/usr/bin/env bash
# Every CUDA path of the project on a GPU machine, in one command, in under 10 minutes
# (tools/misc/gpu_check.py lists the checks). Made for a GPU machine that cannot download
# anything and has its own Python, torch (CUDA build), nvcc and many cores: what it lacks of the
# OpenMMLab stack is prepared here and carried along.
#
#   bash tools/misc/gpu_check.sh --prepare        # where the package index is reachable: .gpu_check/
#   bash tools/misc/gpu_check.sh --build-wheels   # optional, no GPU needed: .gpu_check/prebuilt/
#   bash tools/misc/gpu_check.sh [run [gpu_check.py options]]   # on the GPU machine
#   bash tools/misc/gpu_check.sh --dry-run [gpu_check.py options]  # no GPU: the checks on the CPU
#
# mmcv's CUDA kernels and xtcocotools must be compiled for the GPU machine's Python, torch and GPU.
# `--build-wheels` compiles them here, on a machine without a GPU, for another machine's Python
# (PYTHON_VERSION, 3.12), torch (TORCH_VERSION, 2.11.0, the index's CUDA build) and GPUs
# (TORCH_CUDA_ARCH_LIST, 9.0): a venv with that torch in $bundle/build-venv, nvcc of torch's
# CUDA version from the index (tools/misc/cuda_build.py), the wheels in
# $bundle/prebuilt/<sm key>/ (cuda_build.py wheel-key: 9.0 and 9.0a are both sm90). About 47 min
# on 2 idle cores (61 min with other work on them); the wheels are 38 MB. On the GPU machine, prebuilt wheels for its GPU (chosen by
# the GPU's own architectures) are installed as they are (and checked: CUDA version, kernels,
# architectures); without them it builds mmcv from the carried sdists there (MAX_JOBS parallel
# compilations, default all cores; CUDA_HOME or the nvcc on PATH, checked against torch's CUDA)
# and xtcocotools (against the machine's NumPy) at the same time, which takes minutes of the GPU
# machine's time. Everything is
# installed into a folder on PYTHONPATH (nothing of the machine's own Python changes), then
# tools/misc/gpu_check.py runs with what is left of the time budget. A second run on the same
# machine reuses built wheels. Everything goes to work_dirs/gpu_check/; gpu_check.md (the
# report), gpu_check.log, build.log, benchmark.md and people.png are copied to $OUT when it is set
# (the device tool brings back 8 files); the log and the report (rewritten after each check) go
# there as they are written, so a run stopped at the device's time limit still brings them back.
#
# Environment: GPU_CHECK_BUNDLE (.gpu_check), GPU_CHECK_SITE (/tmp/gpu_check_site), PYTHON
# (python3), PYTHON_VERSION (3.12, the GPU machine's) for --prepare and --build-wheels,
# TORCH_VERSION (2.11.0) and TORCH_CUDA_ARCH_LIST (9.0) for --build-wheels, CUDA_HOME (the toolkit
# of the nvcc on PATH), GPU_CHECK_BUDGET (seconds for the whole run, 570).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
mode=${1:-run}
bundle=${GPU_CHECK_BUNDLE:-$root/.gpu_check}
work=$root/work_dirs/gpu_check
constraints=$root/requirements/constraints.txt
start=$(date +%s)
step() { echo "gpu_check: [$(( $(date +%s) - start ))s] $*"; }

# What the GPU machine's image lacks (docs/gpu.md; the image has torch, NumPy, SciPy,
# OpenCV, Matplotlib, Pillow, PyYAML, rich, tqdm, Cython, ninja, ...).
wheels_any=(mmengine mmdet mmpose addict termcolor yapf platformdirs json_tricks munkres
            terminaltables setuptools six)
wheels_binary=(pycocotools shapely)
sdists=(mmcv xtcocotools)

case $mode in
  --prepare)
    vpy=$root/.venv/bin/python
    py_version=${PYTHON_VERSION:-3.12}
    download=("$vpy" -m pip download --disable-pip-version-check --quiet --no-deps
              -c "$constraints")
    rm -rf "$bundle/wheels" "$bundle/sdists" && mkdir -p "$bundle/wheels" "$bundle/sdists"
    step "pure-Python wheels: ${wheels_any[*]}"
    "${download[@]}" --only-binary=:all: -d "$bundle/wheels" "${wheels_any[@]}"
    step "binary wheels for CPython $py_version: ${wheels_binary[*]}"
    "${download[@]}" --only-binary=:all: --python-version "$py_version" --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d "$bundle/wheels" "${wheels_binary[@]}"
    step "sdists: ${sdists[*]}"
    "${download[@]}" --no-binary :all: --no-build-isolation -d "$bundle/sdists" "${sdists[@]}"
    ls -l "$bundle"/wheels "$bundle"/sdists
    step "ready: $(du -shc "$bundle/wheels" "$bundle/sdists" | tail -1 | cut -f1) in $bundle/wheels and $bundle/sdists"
    step "on the GPU machine, from the repository root: bash tools/misc/gpu_check.sh"
    exit 0
    ;;
  --build-wheels)
    py_version=${PYTHON_VERSION:-3.12}
    torch_version=${TORCH_VERSION:-2.11.0}
    arch_list=${TORCH_CUDA_ARCH_LIST:-9.0}
    # python3.X on PATH may be a pyenv shim that refuses to run when that version is not the
    # selected one: take the first candidate that runs
    build_python=""
    for candidate in "$(command -v "python$py_version" || true)" \
        "$(pyenv prefix "$py_version" 2>/dev/null || true)/bin/python$py_version"; do
      if [ -x "$candidate" ] && "$candidate" -c '' 2>/dev/null; then
        build_python=$candidate; break
      fi
    done
    if [ -z "$build_python" ]; then
      echo "gpu_check: no python$py_version that runs (pyenv install $py_version)" >&2; exit 1
    fi
    key=$("$build_python" tools/misc/cuda_build.py wheel-key --arch-list "$arch_list")
    out=$bundle/prebuilt/$key
    venv=$bundle/build-venv
    # the machine's pip config may offer a local CPU build of torch first: ignore it
    pip=(env -u PIP_FIND_LINKS "$venv/bin/python" -m pip --disable-pip-version-check --isolated)
    step "venv with Python $py_version and torch $torch_version (the index's CUDA build)"
    "$build_python" -m venv "$venv"
    "${pip[@]}" install --quiet "torch==$torch_version" -c <(grep -E '^(numpy|setuptools|wheel|ninja|cython)[=<>]' "$constraints") \
      numpy setuptools wheel ninja cython
    cuda_home=$("$venv/bin/python" tools/misc/cuda_build.py toolkit --target "$bundle/build-cuda" \
      --constraints "$constraints")
    cuda_includes=$("$venv/bin/python" tools/misc/cuda_build.py extra-includes --cuda-home "$cuda_home")
    mkdir -p "$out"
    step "mmcv for TORCH_CUDA_ARCH_LIST=$arch_list (about 47 min on 2 cores) and xtcocotools"
    CUDA_HOME=$cuda_home CPATH=$cuda_includes${CPATH:+:$CPATH} TORCH_CUDA_ARCH_LIST=$arch_list \
      FORCE_CUDA=1 MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      "${pip[@]}" wheel --quiet --no-deps --no-build-isolation --no-cache-dir -c "$constraints" \
      -w "$out" mmcv
    "${pip[@]}" wheel --quiet --no-deps --no-build-isolation --no-binary xtcocotools \
      -c "$constraints" -w "$out" xtcocotools
    ls -l "$out"
    step "ready: carry $bundle (without build-venv and build-cuda) to the GPU machine"
    exit 0
    ;;
  --dry-run)
    python=$root/.venv/bin/python
    step "dry run on the CPU with $python (no install, no build)"
    PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" "$python" tools/misc/gpu_check.py \
      --device cpu --out-dir "$work" --warmup 1 --repeats 2 --people 1 2 --realtime-people 1 \
      --image-size 400 \
      "${@:2}"
    exit
    ;;
  run) ;;
  *) echo "usage: $0 [--prepare | --build-wheels | --dry-run | run] [gpu_check.py options]" >&2; exit 2 ;;
esac

python=${PYTHON:-python3}
site=${GPU_CHECK_SITE:-/tmp/gpu_check_site}
budget=${GPU_CHECK_BUDGET:-570}
if [ ! -d "$bundle/wheels" ]; then
  echo "gpu_check: $bundle/wheels not found: run \`bash tools/misc/gpu_check.sh --prepare\`" \
    "where the package index is reachable and carry $bundle along" >&2
  exit 1
fi
rm -rf "$work" && mkdir -p "$work"  # no report of an earlier run can pass for this one's
report() {  # what comes back from the GPU machine
  if [ -n "${OUT:-}" ]; then
    sleep 1  # tee's last lines
    for file in gpu_check.md gpu_check.log build.log benchmark/benchmark.md benchmark/people.png; do
      if [ -f "$work/$file" ]; then cp "$work/$file" "$OUT/"; fi
    done
  fi
}
trap report EXIT
# the log goes to $OUT as it is written: a run the device tool stops at its limit still brings it
exec > >(tee "$work/gpu_check.log" ${OUT:+"$OUT/gpu_check.log"}) 2>&1

versions=$("$python" - <<'PY'
import sys, torch
print(f'Python {sys.version.split()[0]}, torch {torch.__version__}, CUDA {torch.version.cuda}, '
      f'GPU visible: {torch.cuda.is_available()}')
PY
)
step "$versions"
# the wheels are chosen by the GPU's own architectures (not by a TORCH_CUDA_ARCH_LIST the
# machine's environment may set, e.g. 9.0+PTX); 9.0a is sm90 too
gpu_arch=$("$python" tools/misc/cuda_build.py arch-list)
key=$("$python" tools/misc/cuda_build.py wheel-key --arch-list "$gpu_arch")
build_wheels() {  # mmcv and xtcocotools wheels into $1, from the carried sdists
  local out=$1
  # only a build needs the toolkit: found and checked here
  if [ ! -d "$bundle/sdists" ]; then
    echo "gpu_check: no usable wheels for $key in $bundle/prebuilt and no $bundle/sdists to" \
      "build them from: carry both (docs/gpu.md)" >&2
    exit 1
  fi
  if [ -z "${CUDA_HOME:-}" ]; then
    # /usr/local/cuda, else the toolkit of the nvcc on PATH (may be a wrapper script elsewhere)
    on_path=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc || echo /none/bin/nvcc)")")")
    for candidate in /usr/local/cuda "$on_path"; do
      if [ -x "$candidate/bin/nvcc" ] && [ -f "$candidate/include/cuda_runtime.h" ]; then
        CUDA_HOME=$candidate; break
      fi
    done
    if [ -z "${CUDA_HOME:-}" ]; then
      echo "gpu_check: no CUDA toolkit found to build mmcv: set CUDA_HOME" >&2; exit 1
    fi
  fi
  export CUDA_HOME
  # checks that CUDA_HOME's nvcc has torch's CUDA major version
  "$python" tools/misc/cuda_build.py toolkit --target "$site.cuda" > /dev/null || exit 1
  cuda_includes=$("$python" tools/misc/cuda_build.py extra-includes --cuda-home "$CUDA_HOME") \
    || exit 1
  arch_list=${TORCH_CUDA_ARCH_LIST:-$gpu_arch}
  jobs=${MAX_JOBS:-$(nproc)}
  step "building mmcv (CUDA kernels for $arch_list, MAX_JOBS=$jobs) and xtcocotools wheels"
  rm -rf "$out" && mkdir -p "$out"
  wheel=("$python" -m pip wheel --disable-pip-version-check --quiet --no-index --no-deps
         --no-build-isolation --no-cache-dir -w "$out")
  # setuptools < 81 (mmcv's setup.py imports pkg_resources) and the carried wheels on the path
  mkdir -p "$site"
  "$python" -m pip install --disable-pip-version-check --quiet --no-index --no-deps \
    --no-compile --upgrade --target "$site" "$bundle"/wheels/setuptools-*.whl || exit 1
  PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" \
    "${wheel[@]}" "$bundle"/sdists/xtcocotools-*.tar.gz > "$work/build_xtcocotools.log" 2>&1 &
  xtcocotools=$!
  PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" CPATH=$cuda_includes${CPATH:+:$CPATH} \
    TORCH_CUDA_ARCH_LIST=$arch_list FORCE_CUDA=1 MMCV_WITH_OPS=1 MAX_JOBS=$jobs \
    "${wheel[@]}" "$bundle"/sdists/mmcv-*.tar.gz > "$work/build.log" 2>&1 \
    || { tail -50 "$work/build.log"; exit 1; }
  wait $xtcocotools || { tail -30 "$work/build_xtcocotools.log"; exit 1; }
}
install_wheels() {  # the carried wheels and those of $1 into $site; mmcv checked there
  step "installing into $site"
  "$python" -m pip install --disable-pip-version-check --quiet --no-index --no-deps \
    --no-compile --no-cache-dir --upgrade --target "$site" "$bundle"/wheels/*.whl "$1"/*.whl \
    || return 1
  PYTHONPATH="$site:$root${PYTHONPATH:+:$PYTHONPATH}" \
    "$python" tools/misc/cuda_build.py check-mmcv --arch-list "$gpu_arch"
}

built=$site.wheels/$key
if ls "$bundle/prebuilt/$key"/mmcv-*.whl "$bundle/prebuilt/$key"/xtcocotools-*.whl > /dev/null 2>&1
then
  step "prebuilt wheels for $key: $(cd "$bundle/prebuilt/$key" && echo *.whl)"
  # wheels made elsewhere may not load here (a newer glibc, another CUDA): then built here
  if ! install_wheels "$bundle/prebuilt/$key"; then
    step "the prebuilt wheels failed their check here: those built on this machine"
    # an earlier run's build is reused
    if ! { ls "$built"/mmcv-*.whl "$built"/xtcocotools-*.whl > /dev/null 2>&1 \
           && install_wheels "$built"; }; then
      build_wheels "$built"
      install_wheels "$built" || exit 1
    fi
  fi
else
  if ! ls "$built"/mmcv-*.whl "$built"/xtcocotools-*.whl > /dev/null 2>&1; then
    build_wheels "$built"
  fi
  install_wheels "$built" || exit 1
fi
export PYTHONPATH="$site:$root${PYTHONPATH:+:$PYTHONPATH}"
# the compiled PAF grouping (plain C, custom_modules/ops/csrc/paf_grouping.c, a second), in
# place (the carried tree has no build); without a C compiler the grouping runs in numpy and the
# report's env check says so
step "building the compiled PAF grouping"
"$python" setup.py --quiet build_ext --inplace --force > "$work/build_grouping.log" 2>&1 \
  || step "failed (the grouping runs in numpy): $work/build_grouping.log"

left=$(( budget - ($(date +%s) - start) ))
step "checks, $left s left of the budget"
status=0
"$python" tools/misc/gpu_check.py --device cuda --out-dir "$work" --budget "$left" \
  ${OUT:+--copy-to "$OUT"} "${@:2}" || status=$?
step "done (exit $status); report: $work/gpu_check.md"
exit $status
