# Copyright (c) OpenMMLab. All rights reserved.
"""A pose estimator's network as a plain ``Tensor -> tuple of Tensors`` module,
for what traces, counts or times it (the ONNX export, ``tools/analysis/``,
``tools/misc/gpu_check.py``)."""
import copy
from typing import Tuple

import torch.nn as nn
from mmengine.config import Config
from torch import Tensor

# the exported file's contract (input name, outputs flattened depth first) is
# the backend's
from .onnxruntime_backend import INPUT_NAME, flatten_tensors

__all__ = [
    'INPUT_NAME', 'TensorForward', 'build_network', 'count_macs',
    'flatten_tensors'
]


class TensorForward(nn.Module):
    """``inputs (B, 3, H, W)`` -> the network outputs of a pose estimator as a
    flat tuple of tensors: its ``_forward`` (backbone, neck, head; no data
    preprocessing, no decoding, no flip test), the signature that mmengine's
    complexity counter and ``torch.onnx.export`` trace.

    The order is the head's ``forward``, flattened depth first (the project's
    heads name these tensors with ``output_names()``): a heatmap head gives
    ``(heatmaps,)``; the PAF heads one joint map ``(B, 19, h, w)`` per stage
    then one limb field ``(B, 38, h, w)`` per stage; SMPRHead per level (P3
    first) the person logits, then the pose-score logits, the initial and the
    refined offsets.
    """

    def __init__(self, estimator: nn.Module) -> None:
        super().__init__()
        self.estimator = estimator

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        return tuple(flatten_tensors(self.estimator._forward(inputs)))


def build_network(cfg: Config) -> TensorForward:
    """The network of ``cfg``'s model as a :class:`TensorForward` in eval mode,
    random weights (the backbone's pretrained ``init_cfg`` off): the model is
    built in the registry of the config's ``default_scope`` (mmpose's for pose
    models, mmdet's for detectors)."""
    from mmengine.registry import MODELS, init_default_scope

    scope = cfg.get('default_scope', 'mmpose')
    init_default_scope(scope)
    cfg.model.backbone.init_cfg = None
    with MODELS.switch_scope_and_registry(scope) as registry:
        return TensorForward(registry.build(cfg.model)).eval()


def count_macs(model: nn.Module, input_shape: Tuple[int, int, int]) -> float:
    """Multiply-accumulates of ``model`` on one ``input_shape`` ``(3, H, W)``
    input, mmengine's count (``get_model_complexity_info``; mmpose prints it as
    "FLOPs").

    mmcv's deformable convolutions, opaque to the counter, are counted through
    a copy of the model in which
    :class:`~custom_modules.ops.GridSampleDeformConv2d` computes them (their
    3x3 products, not the bilinear sampling).
    """
    from mmengine.analysis import get_model_complexity_info

    from custom_modules.ops import replace_deform_convs

    countable = copy.deepcopy(model)
    replace_deform_convs(countable)
    return get_model_complexity_info(
        countable, input_shape=input_shape, show_table=False,
        show_arch=False)['flops']
