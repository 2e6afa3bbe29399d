# Copyright (c) OpenMMLab. All rights reserved.
"""Where a pose model's network runs: PyTorch as built, PyTorch on the fast
path of :mod:`.fast_network` (fp16 / bf16, channels-last, CUDA graphs), or
onnxruntime on an ONNX export (:mod:`.onnxruntime_backend`).

Each patches the model in place, so that mmpose's ``inference_bottomup`` /
``inference_topdown`` and the inferencers run the network there and decode as
before.
"""
from typing import Optional

import torch.nn as nn

from .fast_network import FastPath, FastPathError, run_network_fast

BACKENDS = ('pytorch', 'onnxruntime')


class BackendError(RuntimeError):
    """The backend or fast path asked for cannot be used here (its module or
    package is missing, the file does not fit, the device cannot run it); the
    message says which, in one line."""


def apply_backend(model: nn.Module,
                  backend: str = 'pytorch',
                  onnx: Optional[str] = None,
                  fast_path: Optional[FastPath] = None) -> None:
    """Run ``model``'s network on ``backend``.

    Args:
        model: An mmpose estimator of this project, on its device.
        backend: ``'pytorch'`` or ``'onnxruntime'``.
        onnx: The network exported to ONNX
            (``tools/deployment/export_onnx.py``); needed by ``'onnxruntime'``
            and refused with ``'pytorch'``.
        fast_path: The PyTorch fast path; None or ``FastPath()`` leave the
            network as built.

    Raises:
        BackendError: Contradicting arguments; onnxruntime cannot be imported
            (the backend imports it when the file is opened), cannot load the
            file, or the file is not an export of this model; the fast path
            cannot run on the model's device or the network fails in it.
    """
    if backend not in BACKENDS:
        raise BackendError(
            f'backend {backend!r}: expected one of {", ".join(BACKENDS)}')
    if backend == 'pytorch':
        if onnx is not None:
            raise BackendError('an ONNX file is for the onnxruntime backend')
        if fast_path is not None:
            try:
                run_network_fast(model, fast_path)
            except FastPathError as error:
                raise BackendError(str(error)) from error
        return
    if onnx is None:
        raise BackendError('the onnxruntime backend needs an ONNX file')
    if fast_path is not None and fast_path.enabled:
        raise BackendError(
            'fp16, bf16 and CUDA graphs are the PyTorch fast path: not with '
            'the onnxruntime backend')
    try:
        from .onnxruntime_backend import (OnnxLoadError,
                                          OnnxModelMismatchError,
                                          run_network_in_onnxruntime)
        run_network_in_onnxruntime(model, onnx, num_threads=None)
    # the backend module, or onnxruntime (imported lazily)
    except ImportError as error:
        raise BackendError(
            f'the onnxruntime backend is not available: {error} (pip install '
            'onnxruntime)') from error
    except (OnnxLoadError, OnnxModelMismatchError) as error:
        raise BackendError(str(error)) from error
