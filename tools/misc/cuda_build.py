# Copyright (c) OpenMMLab. All rights reserved.
"""The CUDA toolchain for building mmcv's GPU kernels, and checks of what it
built.

Used by ``tools/misc/setup_env.sh`` (``FORCE_CUDA=1 make setup``),
``tools/misc/check_cuda_build.sh`` and ``tools/misc/gpu_check.sh``; each
subcommand prints its answer on stdout (a path, a list) and its progress on
stderr::

    # CUDA_HOME for torch's CUDA
    python tools/misc/cuda_build.py toolkit --target .venv/cuda
    # TORCH_CUDA_ARCH_LIST to use
    python tools/misc/cuda_build.py arch-list
    # sm90: a built wheel's folder
    python tools/misc/cuda_build.py wheel-key --arch-list 9.0a
    # CPATH: torch's CUDA headers
    python tools/misc/cuda_build.py extra-includes --cuda-home DIR
    python tools/misc/cuda_build.py check-binary FILE \\
        --arch-list "8.0;9.0+PTX" --kernels K ...
    python tools/misc/cuda_build.py check-mmcv --arch-list "8.0;8.6;9.0+PTX"

What it solves (measured with torch 2.13.0+cu130 and mmcv 2.1.0; docs/gpu.md):

- no system toolkit: nvcc, its front ends (crt, nvvm), the CUDA C++ library
  (cccl) and the runtime are installed from the package index at the version
  that ``requirements/constraints.txt`` pins, which must be the CUDA version
  torch was built with (``torch.version.cuda``); the packages' layout is
  completed into a ``CUDA_HOME`` (``lib64``, ``targets/x86_64-linux``,
  ``libcudart.so``);
- torch's CUDA headers include ``cusparse.h``, ``cublas_v2.h`` and
  ``cusolverDn.h``, which a compiler-only toolkit lacks: torch's own
  dependencies ship them (``site-packages/nvidia/cu13/include``), given to
  the compilers through ``CPATH`` (``extra-includes``);
- torch's extension builder crashes (``IndexError`` in
  ``_get_cuda_arch_flags``) without a visible GPU and without
  ``TORCH_CUDA_ARCH_LIST``: ``arch-list`` gives the visible GPUs' compute
  capabilities, or :data:`DEFAULT_ARCH_LIST` where none is visible.
"""
import argparse
import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

#: Without a visible GPU: A100 (8.0), the RTX 30 / A10 / A40 family (8.6; its
#: machine code also runs on 8.9, RTX 40 / L4 / L40), H100/H200 (9.0), and
#: compute_90 PTX that the driver compiles for newer GPUs (Blackwell) when the
#: program starts.
DEFAULT_ARCH_LIST = '8.0;8.6;9.0+PTX'

#: Packages of the package index that make a CUDA compiler toolkit, versions
#: from the constraints.
TOOLKIT_PACKAGES = ('nvidia-cuda-nvcc', 'nvidia-cuda-crt', 'nvidia-nvvm',
                    'nvidia-cuda-cccl', 'nvidia-cuda-runtime')

#: Headers that torch's ``ATen/cuda`` headers include and a compiler-only
#: toolkit lacks.
TORCH_DEPENDENCY_HEADERS = ('cusparse.h', 'cublas_v2.h', 'cublasLt.h',
                            'cusolverDn.h')

#: Kernels of the ops this project runs on a GPU (SMPR's deformable
#: convolution, forward and backward; the detector's NMS), looked up by their
#: mangled names in a binary.
PROJECT_KERNELS = ('deformable_im2col_gpu_kernel',
                   'deformable_col2im_gpu_kernel',
                   'deformable_col2im_coord_gpu_kernel', 'nms_cuda')


def log(message: str) -> None:
    print(f'cuda_build: {message}', file=sys.stderr)


def fail(message: str) -> None:
    """Stop with ``message`` (exit status 1)."""
    log(f'error: {message}')
    sys.exit(1)


# -------------------------------------------------------------------- versions
def major_minor(version: str) -> Tuple[int, int]:
    """``'13.0.88'`` -> ``(13, 0)``."""
    match = re.match(r'(\d+)\.(\d+)', version)
    if not match:
        raise ValueError(f'not a version: {version!r}')
    return int(match.group(1)), int(match.group(2))


def torch_cuda_version() -> str:
    """The CUDA version torch was built with; stops if torch is a CPU-only
    build."""
    import torch

    if torch.version.cuda is None:
        fail(f'torch {torch.__version__} is a CPU-only build: CUDA kernels '
             'need torch\'s CUDA '
             'build (requirements/constraints.txt pins it)')
    return torch.version.cuda


def nvcc_version(cuda_home: Path) -> str:
    """``'13.0.88'`` from ``CUDA_HOME/bin/nvcc --version``."""
    nvcc = cuda_home / 'bin' / 'nvcc'
    if not nvcc.exists():
        fail(f'{nvcc} not found: CUDA_HOME={cuda_home} is not a CUDA toolkit')
    out = subprocess.run([str(nvcc), '--version'],
                         capture_output=True,
                         text=True).stdout
    match = re.search(r'release [\d.]+, V([\d.]+)', out)
    if not match:
        fail(f'{nvcc} --version printed no version:\n{out}')
    return match.group(1)


def pinned_versions(constraints: Path, names: Iterable[str]) -> Dict[str, str]:
    """``{name: version}`` of ``name==version`` lines of a pip constraints
    file; stops naming the file and the package where one is not pinned."""
    pins = {}
    for line in constraints.read_text().splitlines():
        match = re.match(r'\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s,;#]+)', line)
        if match:
            pins[match.group(1).lower().replace('_', '-')] = match.group(2)
    missing = [name for name in names if name not in pins]
    if missing:
        fail(f'{constraints}: no `name==version` pin for {", ".join(missing)}')
    return {name: pins[name] for name in names}


# --------------------------------------------------------------------- toolkit
def complete_toolkit_layout(cuda_home: Path) -> None:
    """Give the package index's toolkit (``<target>/nvidia/cu13``) the layout
    of an installed one: ``lib64`` and ``targets/x86_64-linux/{include,lib}``
    (where nvcc looks for its own headers), ``lib/libcudart.so`` (what the
    linker's ``-lcudart`` opens)."""
    links = {
        cuda_home / 'lib64': 'lib',
        cuda_home / 'targets' / 'x86_64-linux' / 'include': '../../include',
        cuda_home / 'targets' / 'x86_64-linux' / 'lib': '../../lib'
    }
    runtimes = sorted((cuda_home / 'lib').glob('libcudart.so.*'))
    if not runtimes:
        fail(f'{cuda_home / "lib"} has no libcudart.so.*: nvidia-cuda-runtime '
             'did not install')
    links[cuda_home / 'lib' / 'libcudart.so'] = runtimes[0].name
    for link, target in links.items():
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink() and not link.exists():
            link.symlink_to(target)


def install_toolkit(target: Path, constraints: Path,
                    cuda_version: str) -> Path:
    """Install :data:`TOOLKIT_PACKAGES` at the constraints' versions into
    ``target`` (pip ``--target``) and return the ``CUDA_HOME`` they make; stops
    if the pinned nvcc is another CUDA version than ``cuda_version``
    (torch's)."""
    pins = pinned_versions(constraints, TOOLKIT_PACKAGES)
    if major_minor(pins['nvidia-cuda-nvcc']) != major_minor(cuda_version):
        fail(
            f'{constraints} pins nvidia-cuda-nvcc=={pins["nvidia-cuda-nvcc"]} '
            f'but torch was built with CUDA {cuda_version}: pin the toolkit '
            f'packages to {cuda_version}.x')
    # CUDA 13's packages share one tree, nvidia/cu13/{bin,include,lib,nvvm}
    # (CUDA 12's did not)
    cuda_home = target / 'nvidia' / f'cu{major_minor(cuda_version)[0]}'
    requirements = [f'{name}=={version}' for name, version in pins.items()]
    if (not (cuda_home / 'bin' / 'nvcc').exists()
            or nvcc_version(cuda_home) != pins['nvidia-cuda-nvcc']):
        log(f'installing {" ".join(requirements)} into {target}')
        subprocess.run([
            sys.executable, '-m', 'pip', 'install',
            '--disable-pip-version-check', '--quiet', '--no-deps', '--upgrade',
            '--target',
            str(target), *requirements
        ],
                       check=True)
    if not (cuda_home / 'bin' / 'nvcc').exists():
        fail(
            f'{" ".join(requirements)} installed no {cuda_home / "bin/nvcc"}: '
            'this layout is CUDA 13\'s; for another CUDA set CUDA_HOME to a '
            'toolkit of that version')
    complete_toolkit_layout(cuda_home)
    return cuda_home


def system_toolkit(cuda_home: Path, cuda_version: str) -> Path:
    """A toolkit the user names with ``CUDA_HOME``, checked to be torch's CUDA
    major version (torch's builder refuses another major; another minor builds,
    with torch's warning)."""
    found = nvcc_version(cuda_home)
    if major_minor(found)[0] != major_minor(cuda_version)[0]:
        fail(f'CUDA_HOME={cuda_home} has nvcc {found}, torch was built with '
             f'CUDA {cuda_version}: unset CUDA_HOME to install the matching '
             'compiler into the virtual environment')
    return cuda_home


def torch_cuda_include_dirs() -> List[Path]:
    """Include folders of torch's CUDA library packages that hold
    :data:`TORCH_DEPENDENCY_HEADERS`.

    The packages' folders are ``site-packages/nvidia/cu*/include`` and the
    older per-library ``nvidia/*/include``.
    """
    import torch

    site = Path(torch.__file__).resolve().parents[1]
    folders = sorted(site.glob('nvidia/*/include'))
    return [
        folder for folder in folders if any(
            (folder / header).exists() for header in TORCH_DEPENDENCY_HEADERS)
    ]


def missing_headers(cuda_home: Path,
                    include_dirs: Sequence[Path]) -> List[str]:
    """Which of :data:`TORCH_DEPENDENCY_HEADERS` neither ``cuda_home`` nor
    ``include_dirs`` has."""
    dirs = [cuda_home / 'include', *include_dirs]
    return [
        header for header in TORCH_DEPENDENCY_HEADERS
        if not any((folder / header).exists() for folder in dirs)
    ]


# ------------------------------------------------------------------- arch list
def arch_list() -> str:
    """``TORCH_CUDA_ARCH_LIST`` for this machine: the compute capabilities of
    the visible GPUs (``'9.0'``), or :data:`DEFAULT_ARCH_LIST` where none is
    visible."""
    import torch

    if torch.cuda.is_available():
        capabilities = sorted({
            torch.cuda.get_device_capability(i)
            for i in range(torch.cuda.device_count())
        })
        return ';'.join(f'{major}.{minor}' for major, minor in capabilities)
    return DEFAULT_ARCH_LIST


def parse_arch_list(arch_list_text: str) -> List[Tuple[int, bool]]:
    """``TORCH_CUDA_ARCH_LIST`` items as ``(sm, with PTX)``.

    ``'8.0;9.0a+PTX'`` gives ``[(80, False), (90, True)]``. The ``a``/``f``
    suffixes (``9.0a``: sm_90a's arch-specific instructions, which mmcv's
    kernels do not use) name the same GPU as the plain number.
    """
    items = []
    for item in re.split(r'[;\s]+', arch_list_text.strip()):
        if not item:
            continue
        match = re.fullmatch(r'(\d+)\.(\d+)[af]?(\+PTX)?', item)
        if not match:
            raise ValueError(
                f'TORCH_CUDA_ARCH_LIST item {item!r} is not like 8.6, 9.0a or '
                '9.0+PTX')
        items.append((10 * int(match.group(1)) + int(match.group(2)),
                      bool(match.group(3))))
    return items


def arch_list_option(text: str) -> str:
    """An argparse ``type`` for ``--arch-list``: the text, refused (argparse's
    usage error naming the option) where :func:`parse_arch_list` cannot read
    it."""
    try:
        parse_arch_list(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def expected_targets(arch_list_text: str) -> Tuple[Set[int], Set[int]]:
    """Machine-code and PTX targets of a ``TORCH_CUDA_ARCH_LIST``, e.g.
    ``'8.0;9.0+PTX'`` gives ``({80, 90}, {90})``."""
    items = parse_arch_list(arch_list_text)
    return {sm for sm, _ in items}, {sm for sm, with_ptx in items if with_ptx}


def wheel_key(arch_list_text: str) -> str:
    """The name of the folder that keeps a wheel built for ``arch_list_text``.

    It names the GPUs the wheel runs on, whatever the spelling: ``'9.0'`` and
    ``'9.0a'`` give ``'sm90'``, ``'8.0;8.6;9.0+PTX'`` gives
    ``'sm80-sm86-sm90-ptx90'``.
    """
    cubins, ptx = expected_targets(arch_list_text)
    return '-'.join([f'sm{sm}' for sm in sorted(cubins)] +
                    [f'ptx{sm}' for sm in sorted(ptx)])


# ------------------------------------------------------------- binary contents
FATBIN_MAGIC = 0xBA55ED50
FATBIN_KIND_PTX, FATBIN_KIND_ELF = 1, 2


def fatbin_targets(data: bytes) -> Tuple[Set[int], Set[int]]:
    """The architectures of the device code embedded in a host binary (an
    object file or shared library built by nvcc): ``({machine-code sm}, {PTX
    compute})``, e.g. ``({80, 86, 90}, {90})``.

    Reads every fat binary in ``data``: a 16-byte header (magic ``0xBA55ED50``,
    version, header size, payload size) followed by entries, each with its kind
    (1 PTX, 2 ELF, others skipped), header size, payload size and, at byte 28,
    the SM version. This is the layout nvcc writes and ``cuobjdump
    --list-elf/--list-ptx`` reads; the package index has no ``cuobjdump`` for
    CUDA 13.0.
    """
    cubins, ptx = set(), set()
    start = 0
    magic = struct.pack('<I', FATBIN_MAGIC)
    while True:
        start = data.find(magic, start)
        if start < 0 or start + 16 > len(data):
            return cubins, ptx
        _, _, header_size, fat_size = struct.unpack_from('<IHHQ', data, start)
        end = start + header_size + fat_size
        entry = start + header_size
        while header_size == 16 and entry + 32 <= min(end, len(data)):
            kind, _, entry_header, payload = struct.unpack_from(
                '<HHIQ', data, entry)
            if entry_header < 32:  # not an entry: not a fat binary after all
                break
            sm_version = struct.unpack_from('<I', data, entry + 28)[0]
            if kind == FATBIN_KIND_ELF:
                cubins.add(sm_version)
            elif kind == FATBIN_KIND_PTX:
                ptx.add(sm_version)
            entry += entry_header + payload
        # on past this fat binary, or past its magic number (a header of no
        # size would not move on)
        start = end if entry == end and end > start else start + 4


def check_binary(path: Path, arch_list_text: str,
                 kernels: Sequence[str]) -> List[str]:
    """What is wrong with ``path`` (empty if nothing): device code for every
    target of ``arch_list_text``, and ``kernels``: nvcc registers every kernel
    with the host code by its mangled name (``_Z8nms_cuda...``,
    ``_ZL8nms_cuda...``), which is looked for (the plain name also appears in
    source paths and other symbols)."""
    data = path.read_bytes()
    want_cubins, want_ptx = expected_targets(arch_list_text)
    cubins, ptx = fatbin_targets(data)
    problems = []
    if not want_cubins <= cubins:
        problems.append(
            f'machine code for sm_{sorted(want_cubins - cubins)} missing '
            f'(has sm_{sorted(cubins)})')
    if not want_ptx <= ptx:
        problems.append(
            f'PTX for compute_{sorted(want_ptx - ptx)} missing (has '
            f'{sorted(ptx)})')
    problems += [
        f'kernel {name} missing' for name in kernels
        if f'{len(name)}{name}'.encode() not in data
    ]
    return problems


def check_mmcv(arch_list_text: str) -> None:
    """Stop unless the installed mmcv was compiled with torch's CUDA version
    and its ``_ext`` holds the project's kernels for every target of
    ``arch_list_text``."""
    import mmcv
    import torch
    from mmcv.ops import get_compiling_cuda_version

    compiled = get_compiling_cuda_version()
    if compiled != torch.version.cuda:
        fail(f'mmcv {mmcv.__version__} ({mmcv.__file__}) was compiled with '
             f'CUDA {compiled!r}, '
             f'torch {torch.__version__} with {torch.version.cuda!r}')
    ext = next(Path(mmcv.__file__).parent.glob('_ext*.so'), None)
    if ext is None:
        fail(f'{Path(mmcv.__file__).parent} has no _ext*.so: mmcv was '
             'installed without its ops')
    problems = check_binary(ext, arch_list_text, PROJECT_KERNELS)
    if problems:
        fail(f'{ext}: ' + '; '.join(problems))
    cubins, ptx = fatbin_targets(ext.read_bytes())
    log(f'mmcv {mmcv.__version__}: CUDA {compiled}, {ext.name} has machine '
        f'code for sm_{sorted(cubins)}, PTX for compute_{sorted(ptx)}, '
        f'kernels {", ".join(PROJECT_KERNELS)}')


# ------------------------------------------------------------------------ main
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    toolkit = commands.add_parser(
        'toolkit',
        help=("print a CUDA_HOME for torch's CUDA version: $CUDA_HOME if set, "
              "else the package index's compiler installed into --target"))
    toolkit.add_argument('--target', type=Path, required=True)
    toolkit.add_argument(
        '--constraints',
        type=Path,
        default=Path(__file__).resolve().parents[2] /
        'requirements/constraints.txt')
    commands.add_parser(
        'arch-list', help='print the TORCH_CUDA_ARCH_LIST for this machine')
    key = commands.add_parser(
        'wheel-key',
        help='print the folder name of a wheel built for --arch-list (sm90 '
        'for 9.0a)')
    key.add_argument('--arch-list', type=arch_list_option, required=True)
    includes = commands.add_parser(
        'extra-includes',
        help='print, as a CPATH, the include folders of torch\'s CUDA library '
        'packages; fail if CUDA_HOME and they lack a header torch needs')
    includes.add_argument('--cuda-home', type=Path, required=True)
    binary = commands.add_parser(
        'check-binary', help='check the device code in a binary')
    binary.add_argument('file', type=Path)
    binary.add_argument('--arch-list', type=arch_list_option, required=True)
    binary.add_argument('--kernels', nargs='*', default=list(PROJECT_KERNELS))
    mmcv = commands.add_parser(
        'check-mmcv', help='check the installed mmcv\'s CUDA build')
    mmcv.add_argument('--arch-list', type=arch_list_option, required=True)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.command == 'toolkit':
        cuda_version = torch_cuda_version()
        if os.environ.get('CUDA_HOME'):
            cuda_home = system_toolkit(
                Path(os.environ['CUDA_HOME']), cuda_version)
        else:
            cuda_home = install_toolkit(args.target.resolve(),
                                        args.constraints, cuda_version)
        log(f'CUDA_HOME={cuda_home} (nvcc {nvcc_version(cuda_home)}, torch\'s '
            f'CUDA {cuda_version})')
        print(cuda_home)
    elif args.command == 'arch-list':
        print(arch_list())
    elif args.command == 'wheel-key':
        print(wheel_key(args.arch_list))
    elif args.command == 'extra-includes':
        dirs = torch_cuda_include_dirs()
        missing = missing_headers(args.cuda_home, dirs)
        if missing:
            fail(f'{", ".join(missing)} in neither '
                 f'{args.cuda_home / "include"} nor torch\'s CUDA '
                 'packages (site-packages/nvidia/*/include): reinstall '
                 'torch\'s CUDA build')
        print(os.pathsep.join(map(str, dirs)))
    elif args.command == 'check-binary':
        if not args.file.is_file():
            fail(f'{args.file}: no such file')
        problems = check_binary(args.file, args.arch_list, args.kernels)
        if problems:
            fail(f'{args.file}: ' + '; '.join(problems))
        log(f'{args.file}: device code for {args.arch_list}, kernels '
            f'{", ".join(args.kernels)}')
    elif args.command == 'check-mmcv':
        check_mmcv(args.arch_list)


if __name__ == '__main__':
    main()
