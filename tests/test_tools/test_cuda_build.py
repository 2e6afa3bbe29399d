# Copyright (c) OpenMMLab. All rights reserved.
"""tools/misc/cuda_build.py: what `FORCE_CUDA=1 make setup` decides before and
checks after the long mmcv build (the build itself:
tools/misc/check_cuda_build.sh and the README's measurement)."""
import importlib.util
import struct
from pathlib import Path

import pytest
import torch

from conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location(
    'cuda_build', REPO_ROOT / 'tools/misc/cuda_build.py')
cuda_build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cuda_build)


def fatbin(entries, padding: bytes = b'host code') -> bytes:
    """A fat binary as nvcc embeds it: header, then ``(kind, sm)`` entries with
    a payload each."""
    body = b''
    for kind, sm in entries:
        payload = b'\0' * 24
        header = struct.pack('<HHIQIII', kind, 0x101, 64, len(payload), 0, 0,
                             0)
        header += struct.pack('<I', sm) + b'\0' * (64 - 32)
        body += header + payload
    return padding + struct.pack('<IHHQ', cuda_build.FATBIN_MAGIC, 1, 16,
                                 len(body)) + body


def test_arch_list_items_give_machine_code_and_ptx_targets():
    assert cuda_build.expected_targets('8.0;8.6;9.0+PTX') == ({80, 86,
                                                               90}, {90})
    assert cuda_build.expected_targets(' 7.5 8.9 ') == ({75, 89}, set())
    with pytest.raises(ValueError, match='sm_90'):
        cuda_build.expected_targets('sm_90')


def test_a_wheels_folder_names_the_gpus_it_runs_on_whatever_the_spelling():
    # an H200 machine may say 9.0a (arch-specific sm_90a); a wheel built for
    # 9.0 runs there
    assert cuda_build.expected_targets('9.0a') == ({90}, set())
    assert cuda_build.wheel_key('9.0') == 'sm90'
    assert cuda_build.wheel_key('9.0a') == 'sm90'
    assert cuda_build.wheel_key('8.0;8.6;9.0+PTX') == 'sm80-sm86-sm90-ptx90'
    assert cuda_build.wheel_key('9.0 8.0') == cuda_build.wheel_key('8.0;9.0')


def test_default_arch_list_without_a_visible_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert cuda_build.arch_list() == cuda_build.DEFAULT_ARCH_LIST
    cubins, ptx = cuda_build.expected_targets(cuda_build.DEFAULT_ARCH_LIST)
    # the minimum, and PTX for newer GPUs
    assert {80, 86, 90} <= cubins and ptx


def test_fat_binaries_are_read_for_their_architectures():
    data = fatbin([(2, 80), (2, 86),
                   (1, 90)]) + fatbin([(2, 90)], padding=b'more host code')
    assert cuda_build.fatbin_targets(data) == ({80, 86, 90}, {90})
    # an entry of another kind (LTO IR, say) is stepped over, not taken for the
    # end
    assert cuda_build.fatbin_targets(fatbin([(2, 80), (4, 0),
                                             (1, 90)])) == ({80}, {90})
    assert cuda_build.fatbin_targets(b'a CPU-only library') == (set(), set())
    # the magic number followed by a header and payload of no size (chance
    # bytes of host code): stepped over (it looped for ever)
    no_size = struct.pack('<IHHQ', cuda_build.FATBIN_MAGIC, 1, 0, 0)
    assert cuda_build.fatbin_targets(no_size + fatbin([(2, 80)])) == ({80},
                                                                      set())


def test_check_binary_names_what_is_missing(tmp_path):
    library = tmp_path / '_ext.so'
    # the kernels' mangled names count, a source path with a kernel's name does
    # not
    library.write_bytes(
        fatbin([(2, 80), (2, 90)]) + b'_Z28deformable_im2col_gpu_kernelIfEv' +
        b'/mmcv/ops/csrc/pytorch/cuda/nms_cuda.cu')
    assert cuda_build.check_binary(library, '8.0;9.0',
                                   ['deformable_im2col_gpu_kernel']) == []
    problems = cuda_build.check_binary(
        library, '8.0;8.6;9.0+PTX',
        ['deformable_im2col_gpu_kernel', 'nms_cuda'])
    assert problems == [
        'machine code for sm_[86] missing (has sm_[80, 90])',
        'PTX for compute_[90] missing (has [])', 'kernel nms_cuda missing'
    ]


def test_a_bad_arch_list_or_a_missing_binary_is_one_line(tmp_path, capsys):
    """Refused before anything runs: argparse's usage error naming ``--arch-
    list``, and ``check-binary`` of a file that is not there."""
    for command in ('wheel-key', 'check-mmcv'):
        with pytest.raises(SystemExit) as stop:
            cuda_build.main([command, '--arch-list', '9.0;sm_86'])
        assert stop.value.code == 2
        assert ("argument --arch-list: TORCH_CUDA_ARCH_LIST item 'sm_86' is "
                'not like 8.6') in capsys.readouterr().err
    missing = tmp_path / 'none.so'
    with pytest.raises(SystemExit) as stop:
        cuda_build.main(['check-binary', str(missing), '--arch-list', '9.0'])
    assert stop.value.code == 1
    assert f'error: {missing}: no such file' in capsys.readouterr().err


def test_the_installed_mmcv_is_checked_against_torch(capsys):
    from mmcv.ops import get_compiling_cuda_version

    # `make setup`'s CPU build
    if get_compiling_cuda_version() == 'not available':
        with pytest.raises(SystemExit):
            cuda_build.check_mmcv(cuda_build.DEFAULT_ARCH_LIST)
        assert "compiled with CUDA 'not available'" in capsys.readouterr().err
    # `FORCE_CUDA=1 make setup`, for whichever architectures it was asked
    else:
        import mmcv
        ext = next(Path(mmcv.__file__).parent.glob('_ext*.so'))
        assert get_compiling_cuda_version() == torch.version.cuda
        assert cuda_build.fatbin_targets(ext.read_bytes())[0]
        assert cuda_build.check_binary(ext, '',
                                       cuda_build.PROJECT_KERNELS) == []


def test_toolkit_pins_must_be_torchs_cuda_version(tmp_path, capsys):
    constraints = tmp_path / 'constraints.txt'
    constraints.write_text('\n'.join(f'{name}==12.8.93'
                                     for name in cuda_build.TOOLKIT_PACKAGES))
    with pytest.raises(SystemExit):
        cuda_build.install_toolkit(tmp_path / 'cuda', constraints, '13.0')
    assert ('pins nvidia-cuda-nvcc==12.8.93 but torch was built with CUDA 13.0'
            in capsys.readouterr().err)
    constraints.write_text('nvidia-cuda-nvcc==13.0.88\n')
    with pytest.raises(SystemExit):
        cuda_build.install_toolkit(tmp_path / 'cuda', constraints, '13.0')
    assert ('no `name==version` pin for nvidia-cuda-crt'
            in capsys.readouterr().err)


def test_the_projects_pins_are_torchs_cuda_version():
    pins = cuda_build.pinned_versions(
        REPO_ROOT / 'requirements/constraints.txt',
        cuda_build.TOOLKIT_PACKAGES)
    if torch.version.cuda is not None:
        assert cuda_build.major_minor(
            pins['nvidia-cuda-nvcc']) == cuda_build.major_minor(
                torch.version.cuda)


def test_package_index_toolkit_gets_an_installed_toolkits_layout(tmp_path):
    home = tmp_path / 'nvidia' / 'cu13'
    (home / 'lib').mkdir(parents=True)
    (home / 'include').mkdir()
    (home / 'lib' / 'libcudart.so.13').write_bytes(b'')
    cuda_build.complete_toolkit_layout(home)
    cuda_build.complete_toolkit_layout(home)  # again: nothing to do, no error
    assert (home / 'lib64' / 'libcudart.so.13').exists()
    assert (home / 'lib' / 'libcudart.so').resolve() == (
        home / 'lib' / 'libcudart.so.13')
    assert (home /
            'targets/x86_64-linux/include').resolve() == home / 'include'
    assert (home / 'targets/x86_64-linux/lib').resolve() == home / 'lib'


def test_headers_torch_needs_are_looked_for_in_its_cuda_packages(tmp_path):
    home, packages = tmp_path / 'cuda', tmp_path / 'nvidia-include'
    (home / 'include').mkdir(parents=True)
    packages.mkdir()
    assert cuda_build.missing_headers(home, [packages]) == list(
        cuda_build.TORCH_DEPENDENCY_HEADERS)
    for header in cuda_build.TORCH_DEPENDENCY_HEADERS[:2]:
        (packages / header).write_text('')
    for header in cuda_build.TORCH_DEPENDENCY_HEADERS[2:]:
        (home / 'include' / header).write_text('')
    assert cuda_build.missing_headers(home, [packages]) == []


def test_torchs_cuda_build_ships_the_headers_a_compiler_only_toolkit_lacks():
    if torch.version.cuda is None:
        pytest.fail(
            'torch is a CPU-only build; requirements/constraints.txt pins its '
            'CUDA build')
    folders = cuda_build.torch_cuda_include_dirs()
    assert cuda_build.missing_headers(Path('/nonexistent'), folders) == []
