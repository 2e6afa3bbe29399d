# Copyright (c) OpenMMLab. All rights reserved.
"""MLPE's multi-level feature neck: a CPN GlobalNet pyramid and the feature
enhancement."""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType


class Upsample2x(nn.Module):
    """Double the resolution of a feature map: bilinear interpolation ("BI") or
    a learned 4x4 transposed convolution of stride 2 ("Deconv"), the two
    options of the slides' Table I.

    (N, C, H, W) -> (N, C, 2H, 2W); ``forward(x, size)`` checks the result
    against ``size``.
    """

    modes = ('bilinear', 'deconv')

    def __init__(self, channels: int, mode: str) -> None:
        super().__init__()
        if mode not in self.modes:
            raise ValueError(
                f'upsample must be one of {self.modes}, got {mode!r}')
        self.mode = mode
        if mode == 'deconv':
            self.deconv = nn.ConvTranspose2d(
                channels,
                channels,
                kernel_size=4,
                stride=2,
                padding=1,
                bias=False)

    def forward(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        if self.mode == 'bilinear':
            return F.interpolate(
                x, size=size, mode='bilinear', align_corners=False)
        out = self.deconv(x)
        if out.shape[-2:] != size:
            raise ValueError(
                f'deconv upsampling gives {tuple(out.shape[-2:])}, the finer '
                'level is '
                f'{tuple(size)}: the input size must be divisible by 32')
        return out


@MODELS.register_module()
class MLPENeck(BaseModule):
    """Multi-level features for MLPE (slides: "feature enhancement strategy";
    designed here, see ``projects/mlpe/README.md``).

    Input: backbone levels ``C_1 .. C_L`` (strides 4, 8, 16, 32 for ResNeSt),
    ``in_channels[l]`` channels each. Output: L maps of ``out_channels``
    channels at the same strides.

    1. GlobalNet (always, as CPN): lateral 1x1 convs, then a top-down pathway
       that adds each coarser level, upsampled (``upsample``: bilinear or
       deconv), to the finer one, and a smoothing conv of ``kernel_size`` (the
       "receptive field", 3 or 1) on every level. Low levels gain semantics.
    2. Feature enhancement (``feature_enhancement=True``): a bottom-up pathway
       over the GlobalNet outputs, ``N_1 = P_1`` and ``N_l = conv_k(P_l +
       down(N_{l-1}))`` with ``down`` a stride-2 conv of ``kernel_size``, so
       that high levels keep the spatial detail of the low ones (a 1x1 one
       reads one pixel in four: the receptive-field switch also changes what
       reaches the coarser levels).

    Args:
        in_channels (Sequence[int]): Channels of each backbone level, finest
            first.
        out_channels (int): Channels of every output level. Defaults to 256.
        feature_enhancement (bool): Add the bottom-up enhancement pathway.
            Defaults to True.
        kernel_size (int): Receptive field of the smoothing and enhancement
            convs, 3 or 1. Defaults to 3.
        upsample (str): ``'bilinear'`` or ``'deconv'``. Defaults to
            ``'bilinear'``.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int = 256,
                 feature_enhancement: bool = True,
                 kernel_size: int = 3,
                 upsample: str = 'bilinear',
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if kernel_size not in (1, 3):
            raise ValueError(
                'kernel_size (receptive field) must be 3 or 1, got '
                f'{kernel_size}')
        self.in_channels = list(in_channels)
        self.feature_enhancement = feature_enhancement
        num_levels = len(self.in_channels)

        def conv(k: int, stride: int = 1) -> ConvModule:
            return ConvModule(
                out_channels,
                out_channels,
                k,
                stride=stride,
                padding=k // 2,
                norm_cfg=norm_cfg)

        self.laterals = nn.ModuleList(
            ConvModule(c, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
            for c in self.in_channels)
        self.upsamples = nn.ModuleList(
            Upsample2x(out_channels, upsample) for _ in range(num_levels - 1))
        self.smooths = nn.ModuleList(
            conv(kernel_size) for _ in range(num_levels))
        if feature_enhancement:
            self.downsamples = nn.ModuleList(
                conv(kernel_size, stride=2) for _ in range(num_levels - 1))
            self.enhance_convs = nn.ModuleList(
                conv(kernel_size) for _ in range(num_levels - 1))

    def forward(self, inputs: Tuple[torch.Tensor]) -> Tuple[torch.Tensor]:
        """``(C_1, ..., C_L)`` -> ``(N_1, ..., N_L)``.

        Each output is ``(N, out_channels, H_l, W_l)``.
        """
        if len(inputs) != len(self.in_channels):
            raise ValueError(
                f'MLPENeck expects {len(self.in_channels)} levels, got '
                f'{len(inputs)}')
        laterals: List[torch.Tensor] = [
            lat(x) for lat, x in zip(self.laterals, inputs)
        ]
        for level in range(len(laterals) - 2, -1, -1):
            laterals[level] = laterals[level] + self.upsamples[level](
                laterals[level + 1], laterals[level].shape[-2:])
        outs = [smooth(x) for smooth, x in zip(self.smooths, laterals)]
        if self.feature_enhancement:
            for level in range(1, len(outs)):
                down = self.downsamples[level - 1](outs[level - 1])
                outs[level] = self.enhance_convs[level - 1](outs[level] + down)
        return tuple(outs)
