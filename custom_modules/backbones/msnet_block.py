# Copyright (c) OpenMMLab. All rights reserved.
"""The MSNet residual block of HSR-MSNet (paper Section 3.3, Figure 7(b))."""
import copy
from typing import Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmpose.models.backbones.utils import SELayer
from mmpose.utils.typing import ConfigType, OptConfigType


class MSNetBlock(BaseModule):
    """Res2Net-style multiscale bottleneck with an SE block, as HSR-MSNet's
    stages 1-4 use it.

    Data flow, with ``w = floor(out_channels / expansion * base_width / 64)``
    and ``s = scales``::

        x (N, in_channels, H, W)
        -> 1x1 conv to w*s channels, BN, ReLU
        -> split into s subgroups x_1 .. x_s of w channels
        -> stride 1: y_1 = K_1(x_1),
                     y_i = K_i(x_i + y_{i-1}) for i = 2 .. s  (paper Eq. 1)
           stride 2: y_i = K_i(x_i), each K_i a 3x3 conv of stride 2
        -> concat(y_1 .. y_s) -> 1x1 conv to out_channels, BN
        -> SE -> + shortcut -> ReLU  (Eq. 2)
        out (N, out_channels, H / stride, W / stride)

    Each ``K_i`` is a 3x3 conv (w -> w) with BN and ReLU. The paper's figures
    are missing, so three details are choices, made to keep the paper's
    statement that HSR-MSNet has "the same parameters" as HSRNet:

    - "we add a convolution layer compared with Res2Net, in order to increase
      the receptive fields": Res2Net passes its first subgroup through
      unchanged (``y_1 = x_1``); here it gets a 3x3 conv ``K_1`` too, so every
      subgroup widens its receptive field (s convs instead of s-1, ``9 w^2``
      more weights).
    - "multiple smaller scale convolution layers replace the convolution layer
      with stride 2": in the first block of a stride-2 stage every subgroup has
      its own small 3x3 stride-2 conv (Res2Net avg-pools one subgroup there
      instead). They cannot chain, since ``y_{i-1}`` is already at half
      resolution.
    - The subgroup width: ``base_width=22`` (Res2Net-50 uses 26) makes
      HSR-MSNet-59's backbone 17.41 M parameters against HSRNet-59's 17.35 M:
      the paper compares the two "with the same parameters". With 26 it would
      be 19.11 M.

    The SE block (squeeze ratio ``se_ratio``) sits after the last 1x1 conv,
    before the residual addition, as the paper places it.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        expansion (int): ``out_channels / planes``, as ResNet's Bottleneck.
            Defaults to 4.
        stride (int): Stride of the block (1 or 2). Defaults to 1.
        dilation (int): Dilation of the 3x3 convs. Defaults to 1.
        downsample (nn.Module, optional): Projection shortcut. Defaults to None
            (identity).
        scales (int): Number of subgroups ``s``. Defaults to 4, as Res2Net-50:
            the paper's "3 groups as shown in Figure 7(a)" (Res2Net's figure)
            read as Res2Net's three convolved subgroups of four.
        base_width (int): Subgroup width per 64 planes, as Res2Net's
            ``baseWidth``. Defaults to 22.
        se_ratio (int): Squeeze ratio of the SE block. Defaults to 16.
        style (str): Accepted for ``ResLayer`` compatibility; only
            ``'pytorch'`` (stride in the 3x3 convs) is supported.
        with_cp (bool): Use gradient checkpointing. Defaults to False.
        conv_cfg (dict, optional): Conv layer config. Defaults to None
            (``nn.Conv2d``).
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 expansion: int = 4,
                 stride: int = 1,
                 dilation: int = 1,
                 downsample: Optional[nn.Module] = None,
                 scales: int = 4,
                 base_width: int = 22,
                 se_ratio: int = 16,
                 style: str = 'pytorch',
                 with_cp: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if style != 'pytorch':
            raise ValueError(
                f'MSNetBlock supports style="pytorch" only, got {style!r}')
        if stride not in (1, 2):
            raise ValueError(f'MSNetBlock stride must be 1 or 2, got {stride}')
        if scales < 2:
            raise ValueError(
                f'MSNetBlock needs scales >= 2 subgroups, got {scales}')
        norm_cfg = copy.deepcopy(norm_cfg)
        planes = out_channels // expansion
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.scales = scales
        self.width = planes * base_width // 64
        self.with_cp = with_cp
        self.downsample = downsample

        self.conv1 = build_conv_layer(
            conv_cfg,
            in_channels,
            self.width * scales,
            kernel_size=1,
            bias=False)
        self.norm1 = build_norm_layer(norm_cfg, self.width * scales)[1]
        self.subgroup_convs = nn.ModuleList(
            build_conv_layer(
                conv_cfg,
                self.width,
                self.width,
                kernel_size=3,
                stride=stride,
                padding=dilation,
                dilation=dilation,
                bias=False) for _ in range(scales))
        self.subgroup_norms = nn.ModuleList(
            build_norm_layer(norm_cfg, self.width)[1] for _ in range(scales))
        self.conv3 = build_conv_layer(
            conv_cfg,
            self.width * scales,
            out_channels,
            kernel_size=1,
            bias=False)
        self.norm3 = build_norm_layer(norm_cfg, out_channels)[1]
        self.se_layer = SELayer(out_channels, ratio=se_ratio)
        self.relu = nn.ReLU(inplace=True)

    def _multiscale(self, x: torch.Tensor) -> torch.Tensor:
        """Hierarchical 3x3 convs over the s subgroups (paper Equation 1)."""
        outs = []
        for i, (xi, conv, norm) in enumerate(
                zip(
                    torch.split(x, self.width, dim=1), self.subgroup_convs,
                    self.subgroup_norms)):
            if i > 0 and self.stride == 1:
                xi = xi + outs[-1]
            outs.append(self.relu(norm(conv(xi))))
        return torch.cat(outs, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's forward pass.

        (N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride).
        """

        def _inner_forward(x: torch.Tensor) -> torch.Tensor:
            out = self.relu(self.norm1(self.conv1(x)))
            out = self._multiscale(out)
            out = self.se_layer(self.norm3(self.conv3(out)))
            identity = x if self.downsample is None else self.downsample(x)
            return out + identity

        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(_inner_forward, x, use_reentrant=False)
        else:
            out = _inner_forward(x)
        return self.relu(out)
