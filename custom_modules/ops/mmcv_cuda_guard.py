# Copyright (c) OpenMMLab. All rights reserved.
"""One clear error when a CUDA tensor reaches an mmcv built without its CUDA
kernels.

``make setup`` builds mmcv's ops for the CPU. Given a CUDA tensor, such a build
fails deep inside mmcv's C++ dispatcher (``deform_conv_forward_impl:
implementation for device cuda:0 not found``) after the model, the data and the
optimizer are all on the GPU. The project's GPU paths that go through mmcv's
compiled ops are SMPR's deformable convolutions (``mmcv.ops.DeformConv2d``) and
NMS (the YOLOv3 person detector's, through mmdet; SMPR's pose NMS): every
``mmcv.ops`` module calls its kernels through a module attribute ``ext_module``
(mmcv's ``_ext``), which :func:`guard_mmcv_cuda_ops` replaces, in a CPU-only
build, with :class:`CudaGuardedExtension`. A build with CUDA kernels is left
untouched.
"""
import sys
from itertools import chain
from typing import Any, Callable, Dict

import torch

FIX = 'FORCE_CUDA=1 make setup'


class MMCVWithoutCUDAError(RuntimeError):
    """A CUDA tensor was given to an op of an mmcv build that has no CUDA
    kernels."""


def mmcv_has_cuda_ops() -> bool:
    """Whether the installed mmcv's ``_ext`` was compiled with CUDA kernels."""
    from mmcv.ops import get_compiling_cuda_version

    return get_compiling_cuda_version() != 'not available'


class CudaGuardedExtension:
    """mmcv's ``_ext`` module, each function of which first raises
    :class:`MMCVWithoutCUDAError` if one of its tensor arguments is on a CUDA
    device."""

    def __init__(self, extension: Any) -> None:
        self._extension = extension
        self._guarded: Dict[str, Callable] = {}

    def __getattr__(self, name: str) -> Any:
        function = getattr(self._extension, name)
        if not callable(function):
            return function
        if name not in self._guarded:
            self._guarded[name] = self._guard(name, function)
        return self._guarded[name]

    def _guard(self, name: str, function: Callable) -> Callable:

        def guarded(*args, **kwargs):
            for value in chain(args, kwargs.values()):
                if isinstance(value, torch.Tensor) and value.is_cuda:
                    import mmcv
                    raise MMCVWithoutCUDAError(
                        f'mmcv.ops ({name}) was given a tensor on '
                        f'{value.device}, but the installed mmcv '
                        f'{mmcv.__version__} was built without CUDA kernels '
                        '(mmcv.ops.get_compiling_cuda_version() is "not '
                        f'available"). Build them with `{FIX}` (docs/gpu.md), '
                        'or run on the CPU.')
            return function(*args, **kwargs)

        guarded.__name__ = guarded.__qualname__ = name
        return guarded


def guard_mmcv_cuda_ops() -> int:
    """In a CPU-only mmcv build, route every loaded ``mmcv.ops`` module's
    ``ext_module`` through :class:`CudaGuardedExtension`; returns how many
    modules were guarded (0 for a CUDA build, or where it is done already).

    ``import custom_modules`` calls it.
    """
    import mmcv.ops  # noqa: F401  (loads every op module)

    if mmcv_has_cuda_ops():
        return 0
    guarded = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith('mmcv.ops.') or module is None:
            continue
        extension = getattr(module, 'ext_module', None)
        if extension is None or isinstance(extension, CudaGuardedExtension):
            continue
        module.ext_module = CudaGuardedExtension(extension)
        guarded += 1
    return guarded
