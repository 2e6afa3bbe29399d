# Copyright (c) OpenMMLab. All rights reserved.
"""VGG-19's first ten convolutions with OpenPose's two CPM layers: the shared
trunk of OpenPose and MLN."""
from typing import Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import initialize, normal_init
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType, OptMultiConfig
from torch import Tensor

from .pretrained_init import pretrained_set_aside


@MODELS.register_module()
class VGGFront(BaseBackbone):
    """VGG-19 conv1_1 ... conv4_2 (3x3 convs of 64, 64 | 128, 128 | 256 x 4 |
    512, 512 channels, a 2x2 max pool between the groups; stride 8), then
    ``conv4_3_CPM`` (3x3, 256) and ``conv4_4_CPM`` (3x3, 128), all with ReLU.

    The output ``F`` (N, ``cpm_channels[-1]``, H/8, W/8) is the "bifurcation
    layer" where MLN and OpenPose split into their joint and limb branches, and
    MLN's global context.

    mmpose's ``VGG`` cannot stop inside its fourth stage nor narrow its widths,
    hence this module; its ``features`` keep ``VGG``'s naming
    (``features.{i}.conv``) so that ImageNet VGG-19 weights convert by
    renumbering.

    Args:
        base_channels (int): Width of the first group; group ``i`` has
            ``base_channels * 2^i``. 64 is VGG-19; smaller values give
            width-reduced models for tests.
        stage_blocks (Sequence[int]): Convs per group. Defaults to ``(2, 2, 4,
            2)``, VGG-19's first ten.
        cpm_channels (Sequence[int]): Widths of the CPM convs. Defaults to
            ``(256, 128)``.
        norm_cfg (dict, optional): Norm layers; ``None`` (no norm) as in VGG
            and OpenPose.
        init_cfg (dict | list[dict], optional): Initialization; defaults to
            Kaiming for convs. With a ``Pretrained`` entry, see
            :meth:`init_weights`.
    """

    def __init__(
        self,
        base_channels: int = 64,
        stage_blocks: Sequence[int] = (2, 2, 4, 2),
        cpm_channels: Sequence[int] = (256, 128),
        norm_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = dict(type='Kaiming', layer='Conv2d')
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        layers = []
        in_channels = 3
        for i, num_convs in enumerate(stage_blocks):
            if i > 0:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            out_channels = base_channels * 2**i
            for _ in range(num_convs):
                layers.append(
                    ConvModule(
                        in_channels,
                        out_channels,
                        3,
                        padding=1,
                        norm_cfg=norm_cfg))
                in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.cpm = nn.Sequential(*[
            ConvModule(c_in, c_out, 3, padding=1, norm_cfg=norm_cfg) for c_in,
            c_out in zip([in_channels, *cpm_channels[:-1]], cpm_channels)
        ])
        self.out_channels = cpm_channels[-1]

    def init_weights(self) -> None:
        """``init_cfg``; with a ``Pretrained`` entry, the other entries
        (Kaiming convs where there are none), then the CPM convs from N(0,
        0.01) with zero biases, then the checkpoint loaded over the layers it
        has.

        An ImageNet VGG-19 (``tools/model_converters/vgg2vggfront.py``) has no
        CPM convs: OpenPose starts them, as every layer it adds to VGG, from
        N(0, 0.01) (the heads' :data:`~custom_modules.heads.paf_head.
        PAF_HEAD_INIT`), which keeps the trunk's first features small for the
        papers' sum-scaled losses. mmengine alone would leave them at
        ``ConvModule``'s Kaiming init (std 0.03-0.04 for VGG-19's widths).
        """
        if self.is_init:  # mmengine warns on a second call
            super().init_weights()
            return
        with pretrained_set_aside(self, dict(type='Kaiming',
                                             layer='Conv2d')) as pretrained:
            super().init_weights()
        if not pretrained:
            return
        for module in self.cpm:
            normal_init(module.conv, std=0.01, bias=0)
        initialize(self, pretrained)

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """(N, 3, H, W) -> ``(F,)`` with F (N, ``out_channels``, H/8, W/8) for
        3 groups of pooling (the default)."""
        return (self.cpm(self.features(x)), )
