# Copyright (c) OpenMMLab. All rights reserved.
"""A pose model's network exported to ONNX (``tools/deployment/export_onnx.py``
is its command line): the network as ``TensorForward`` traces it (backbone,
neck, head), input ``input`` ``(B, 3, H, W)`` with a dynamic batch (and size
for bottom-up models), outputs named by the head; SMPR's mmcv deformable
convolutions optionally swapped for ``GridSampleDeformConv2d`` so that stock
onnxruntime runs the file.

:mod:`.onnxruntime_backend` runs such a file in a model's place.
"""
import warnings
from pathlib import Path
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .checkpoint_check import INPUT_SETTINGS
from .onnxruntime_backend import INPUT_NAME, network_output_names
from .tensor_forward import TensorForward

OPSET = 17


def output_names(estimator: nn.Module, num_outputs: int) -> List[str]:
    """Names of the ``num_outputs`` flattened outputs of
    ``TensorForward(estimator)``: the head's ``output_names()``; for a head
    without one (mmpose's), ``heatmaps`` for a single output and ``output{i}``
    for several (the rule the onnxruntime backend of ``custom_modules.apis``
    checks files against)."""
    return network_output_names(estimator.head, num_outputs)


def is_bottom_up(estimator: nn.Module) -> bool:
    """Whether the estimator sees whole images (input size follows the image)
    rather than crops."""
    from mmpose.models import BottomupPoseEstimator

    return isinstance(estimator, BottomupPoseEstimator)


def contract_inputs(image: np.ndarray, preprocessor: dict,
                    shape: Sequence[int]) -> torch.Tensor:
    """``image`` as the exported network's input of ``shape`` ``(B, 3, H,
    W)``: resized to ``W x H``, the odd batch entries flipped left-right, in
    the channel order and normalisation of the config's ``data_preprocessor``
    (``bgr_to_rgb`` or ``rgb_to_bgr``, ``mean``, ``std``), as its ``forward``
    makes them.

    Args:
        image: ``(h, w, 3)`` uint8 BGR image (as OpenCV and mmcv read it).
        preprocessor: The config's ``model.data_preprocessor``.
        shape: ``(B, 3, H, W)``.

    Returns:
        torch.Tensor: ``(B, 3, H, W)`` float32.
    """
    import cv2

    batch, _, height, width = shape
    resized = cv2.resize(image, (width, height)).astype(np.float32)
    if preprocessor.get('bgr_to_rgb') or preprocessor.get('rgb_to_bgr'):
        resized = resized[..., ::-1]  # (either swaps the first and last)
    # (no mean and std: unchanged, as mmengine's ImgDataPreprocessor)
    mean = np.asarray(
        preprocessor.get('mean') or INPUT_SETTINGS['mean'], np.float32)
    std = np.asarray(
        preprocessor.get('std') or INPUT_SETTINGS['std'], np.float32)
    normalised = torch.from_numpy(((resized - mean) / std).transpose(2, 0,
                                                                     1).copy())
    return torch.stack(
        [normalised.flip(-1) if i % 2 else normalised for i in range(batch)])


def export(model: nn.Module, names: List[str], out: Path,
           input_shape: Sequence[int], dynamic_size: bool, opset: int) -> None:
    """Trace ``model`` (a ``TensorForward``) on a random ``input_shape`` input
    into ``out``."""
    if dynamic_size:
        axes = {0: 'batch', 2: 'height', 3: 'width'}
    else:
        axes = {0: 'batch'}
    dynamic_axes = {INPUT_NAME: axes}
    if dynamic_size:
        dynamic_axes.update({
            name: {
                0: 'batch',
                2: f'{name}_height',
                3: f'{name}_width'
            }
            for name in names
        })
    else:
        dynamic_axes.update({name: {0: 'batch'} for name in names})
    out.parent.mkdir(parents=True, exist_ok=True)
    # the TorchScript-based exporter (deprecated in torch 2.9 but kept): it
    # exports mmcv's custom operators, and needs no onnxscript
    warnings.filterwarnings(
        'ignore', message='You are using the legacy TorchScript-based ONNX')
    with torch.no_grad():
        torch.onnx.export(
            model, (torch.randn(*input_shape), ),
            str(out),
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=names,
            dynamic_axes=dynamic_axes)


def compare(model: nn.Module, names: List[str], session, inputs: torch.Tensor
            ) -> List[Tuple[str, Tuple[int, ...], float, float]]:
    """Run the exported file (an onnxruntime ``InferenceSession``) and
    ``model`` in PyTorch on ``inputs``; per output: name, shape, largest
    magnitude, largest absolute difference."""
    ort_outputs = session.run(names, {INPUT_NAME: inputs.numpy()})
    with torch.no_grad():
        torch_outputs = [t.numpy() for t in model(inputs)]
    rows = []
    for name, ours, theirs in zip(names, ort_outputs, torch_outputs):
        if ours.shape != theirs.shape:
            raise AssertionError(
                f'output {name}: onnxruntime shape {ours.shape}, '
                f'PyTorch {theirs.shape}')
        rows.append((name, theirs.shape, float(np.abs(theirs).max()),
                     float(np.abs(ours - theirs).max())))
    return rows


class Exported(NamedTuple):
    """What :func:`export_network` exported: the traced ``TensorForward``, its
    output names, whether height and width are dynamic, and how many deformable
    convolutions it swapped."""
    network: nn.Module
    names: List[str]
    dynamic_size: bool
    num_dcn: int


def export_network(estimator: nn.Module,
                   out: Path,
                   input_shape: Optional[Sequence[int]] = None,
                   dcn: str = 'grid-sample',
                   opset: int = OPSET) -> Exported:
    """Export ``estimator``'s network to ``out``, as the command line does (the
    same in-process).

    Args:
        estimator: An mmpose estimator (``init_model``); with
            ``dcn='grid-sample'`` its mmcv ``DeformConv2d`` are replaced in
            place, with ``dcn='mmcv'`` a head that chooses how to compute
            them (SMPR's ``deform_conv``) is set to mmcv's kernel, which
            ``'auto'`` would not use on a CPU (either way the estimator is
            changed in place: pass a copy to keep it as it is).
        out: The ONNX file.
        input_shape: ``(B, 3, H, W)`` of the traced input; by default batch 1
            at the codec's input size. Bottom-up files take any size anyway.
        dcn: ``'grid-sample'`` or ``'mmcv'`` (``--dcn``).
        opset: ONNX opset.
    """
    from ..ops import replace_deform_convs

    if dcn not in ('grid-sample', 'mmcv'):
        raise ValueError(f"export_network: dcn must be 'grid-sample' or "
                         f"'mmcv', got {dcn!r}")
    num_dcn = 0
    if dcn == 'grid-sample':
        num_dcn = replace_deform_convs(estimator)
    elif hasattr(estimator.head, 'deform_conv'):
        estimator.head.deform_conv = 'mmcv'
    # export restores this module's mode: keep it eval
    model = TensorForward(estimator).eval()
    if input_shape is None:
        width, height = estimator.cfg.codec.input_size
        input_shape = (1, 3, height, width)
    with torch.no_grad():
        num_outputs = len(model(torch.zeros(input_shape)))
    names = output_names(estimator, num_outputs)
    dynamic_size = is_bottom_up(estimator)
    export(model, names, Path(out), input_shape, dynamic_size, opset)
    return Exported(model, names, dynamic_size, num_dcn)
