# Copyright (c) OpenMMLab. All rights reserved.
"""OpenPose's multi-stage two-branch head (Cao et al., CVPR 2017), the baseline
of MLN."""
from typing import Optional, Sequence

import torch.nn as nn
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor

from .paf_head import (PAF_HEAD_INIT, BasePAFHead, StageOutputs, conv_stack,
                       two_branch_stages)


@MODELS.register_module()
class OpenPoseHead(BasePAFHead):
    """OpenPose's head on the trunk features ``F`` (N, ``in_channels``, H, W).

    - Stage 1, per branch: three 3x3 convs of ``channels``, a 1x1 conv of
      ``mid_channels``, a 1x1 conv to the ``num_pafs`` fields (branch L) or
      ``num_heatmaps`` maps (branch S).
    - Stages 2 ... ``num_stages``, per branch, on ``cat(L, S, F)``: five 7x7
      convs of ``channels``, a 1x1 conv of ``channels``, a 1x1 output conv.

    Every conv but the outputs has a ReLU. With the defaults and
    :class:`VGGFront` this is the CMU COCO model: 52,298,816 weights without
    biases.

    Args:
        in_channels (int): Channels of ``F``. Defaults to 128.
        channels (int): Width of the stage convs. Defaults to 128.
        mid_channels (int): Width of stage 1's 1x1 conv. Defaults to 512.
        num_stages (int): Defaults to 6.
        num_heatmaps (int, optional): Joint maps (with the background);
            ``None`` (default): the decoder skeleton's ``M + 1`` (19 for
            OpenPose's COCO skeleton).
        num_pafs (int, optional): Limb field channels; ``None`` (default): the
            decoder skeleton's ``2 L`` (38).
        norm_cfg (dict, optional): Norm layers after the convs; ``None``
            (OpenPose) by default.
        loss_heatmap, loss_paf, decoder, init_cfg: See :class:`BasePAFHead`.
            Convs start from N(0, 0.01), CMU's init, which the paper's solver
            needs (``PAF_HEAD_INIT``).
    """

    def __init__(self,
                 in_channels: int = 128,
                 channels: int = 128,
                 mid_channels: int = 512,
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
        stage_in = num_pafs + num_heatmaps + in_channels
        self.paf_stages = nn.ModuleList()
        self.heatmap_stages = nn.ModuleList()
        for stage in range(num_stages):
            if stage == 0:
                args = (in_channels, [channels] * 3 + [mid_channels],
                        [3, 3, 3, 1])
            else:
                args = (stage_in, [channels] * 6, [7, 7, 7, 7, 7, 1])
            self.paf_stages.append(conv_stack(*args, num_pafs, norm_cfg))
            self.heatmap_stages.append(
                conv_stack(*args, num_heatmaps, norm_cfg))

    def forward(self, feats: Sequence[Tensor]) -> StageOutputs:
        """``(F,)`` -> per stage ``(N, M + 1, H, W)`` heatmaps and ``(N, 2 L,
        H, W)`` fields."""
        return two_branch_stages(self.paf_stages, self.heatmap_stages,
                                 feats[-1])
