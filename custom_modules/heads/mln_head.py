# Copyright (c) OpenMMLab. All rights reserved.
"""MLN's head: body part detection, feature transfer and refinement.

See Huang et al., ICASSP 2019, Sections 2.1-2.3.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import initialize
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor

from ..backbones.pretrained_init import pretrained_set_aside
from .paf_head import (PAF_HEAD_INIT, BasePAFHead, MapOutput, StageOutputs,
                       conv_stack)


class TransferBlock(nn.Module):
    """Three 3x3 convs of ``channels`` in sequence, each with ReLU; the block's
    output aggregates the three outputs by their mean.

    The block computes ``F(A * f^T)`` of eq. 5: (N, in_channels, H, W) ->
    (N, channels, H, W).

    The mean, not the sum: with a variance-preserving init (Kaiming) the three
    ReLU outputs are positively correlated, so a sum multiplies the features'
    scale by up to 3 per block, about 10^5 over the 11 blocks between the trunk
    and the refined maps (the full-size MLN with Kaiming init started at a loss
    of 3.9e6 and gave NaN in its first SGD steps). The mean keeps the block's
    gain at most 1 and is the same function class (the next conv absorbs the
    1/3).
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 norm_cfg: OptConfigType = None) -> None:
        super().__init__()
        self.convs = nn.ModuleList([
            ConvModule(
                in_channels if i == 0 else channels,
                channels,
                3,
                padding=1,
                norm_cfg=norm_cfg) for i in range(3)
        ])

    def forward(self, x: Tensor) -> Tensor:
        outputs = []
        for conv in self.convs:
            x = conv(x)
            outputs.append(x)
        return sum(outputs) / len(outputs)


def transfer_net(in_channels: int,
                 channels: int,
                 num_blocks: int,
                 norm_cfg: OptConfigType = None) -> nn.Sequential:
    """``num_blocks`` :class:`TransferBlock` in sequence: (N, in_channels, H,
    W) -> (N, channels, H, W)."""
    return nn.Sequential(*[
        TransferBlock(in_channels if i == 0 else channels, channels, norm_cfg)
        for i in range(num_blocks)
    ])


class DetectionBranch(nn.Module):
    """Body part detection, one branch (Figure 2, Conv-1 to Conv-5).

    Three 3x3 convs of ``channels`` and a 1x1 conv of ``mid_channels`` with
    ReLU, then a 1x1 conv to ``out_channels`` maps. Returns the maps and the
    four intermediate features.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 mid_channels: int,
                 out_channels: int,
                 norm_cfg: OptConfigType = None) -> None:
        super().__init__()
        widths = [channels] * 3 + [mid_channels]
        self.convs = nn.ModuleList([
            ConvModule(c_in, c_out, k, padding=k // 2, norm_cfg=norm_cfg)
            for c_in, c_out, k in zip([in_channels, *widths[:-1]], widths,
                                      [3, 3, 3, 1])
        ])
        self.output = MapOutput(mid_channels, out_channels)

    def forward(self, x: Tensor) -> Tuple[Tensor, List[Tensor]]:
        features = []
        for conv in self.convs:
            x = conv(x)
            features.append(x)
        return self.output(x), features


@MODELS.register_module()
class MLNHead(BasePAFHead):
    """Multi-level network head on the trunk features ``F`` (N,
    ``in_channels``, H, W), the "bifurcation layer" of :class:`VGGFront`.

    1. Body part detection (Sec. 2.1): a joint branch and a limb branch
       (:class:`DetectionBranch`) give the first ``num_heatmaps`` joint maps
       ``J1`` and ``num_pafs`` limb fields ``L1`` (supervised).
    2. Feature transfer (Sec. 2.2, eq. 5): for each direction (joint -> limb,
       limb -> joint) a net of ``num_transfer_blocks`` :class:`TransferBlock`
       takes the source branch's four detection features concatenated (Conv-1's
       lower-level and Conv-4's upper-level information) and gives ``channels``
       transferred features; they are merged, by concatenation, with the target
       branch's Conv-3 features.
    3. Refinement (Sec. 2.3): each branch takes ``cat(J1, L1, F, transferred,
       own Conv-3)`` (global context ``F``), ``num_refine_blocks`` transfer
       blocks, a 1x1 conv of ``mid_channels`` and a 1x1 output conv, giving the
       final ``J2`` and ``L2`` (supervised).

    Everything after the trunk runs at its resolution (stride 8). The paper
    leaves open how blocks aggregate, what the transfer output merges with, and
    the refinement's output layers; the choices above are listed in
    ``projects/mln/README.md`` with the weight and MAC counts they give (paper:
    21,278,912 weights, 82.5 G MACs at 368x432).

    Args:
        in_channels (int): Channels of ``F``. Defaults to 128.
        channels (int): Width of every 3x3 conv. Defaults to 128.
        mid_channels (int): Width of the 1x1 conv before each output. Defaults
            to 512.
        num_transfer_blocks (int): Defaults to 4.
        num_refine_blocks (int): Defaults to 7.
        num_heatmaps (int, optional): Joint maps (with the background);
            ``None`` (default): the decoder skeleton's ``M + 1`` (19 for
            OpenPose's COCO skeleton).
        num_pafs (int, optional): Limb field channels; ``None`` (default): the
            decoder skeleton's ``2 L`` (38).
        norm_cfg (dict, optional): Norm layers after the convs; ``None`` (as
            the paper's Caffe model, an OpenPose derivative) by default.
        loss_heatmap, loss_paf, decoder, init_cfg: See :class:`BasePAFHead`.
            Convs start from N(0, 0.01), CMU's init, which the paper's solver
            needs (``PAF_HEAD_INIT``).
        transfer_init_cfg (dict, optional): Applied after ``init_cfg`` to the
            :class:`TransferBlock` convs (the feature transfer's and the
            refinement's, 33 3x3 convs in sequence between the trunk and the
            refined maps, each block averaging its three outputs). Defaults to
            Kaiming: from N(0, 0.01) each such conv of 128 channels scales its
            input by about 0.24, so the refined maps started at a spatial std
            of 1e-9 and did not move in 800 steps of the paper's solver, while
            the detection stage learned; with Kaiming they grow from the first
            steps and the losses stay finite
            (``tests/test_heads/test_paf_heads.py``). The detection branches
            and every output conv keep ``init_cfg``'s small init, so the first
            maps are empty. None: ``init_cfg`` alone.
    """

    num_stages = 2  # supervised outputs: the detection's and the refinement's

    def __init__(self,
                 in_channels: int = 128,
                 channels: int = 128,
                 mid_channels: int = 512,
                 num_transfer_blocks: int = 4,
                 num_refine_blocks: int = 7,
                 num_heatmaps: Optional[int] = None,
                 num_pafs: Optional[int] = None,
                 norm_cfg: OptConfigType = None,
                 loss_heatmap: ConfigType = dict(type='KeypointMSELoss'),
                 loss_paf: ConfigType = dict(type='KeypointMSELoss'),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = PAF_HEAD_INIT,
                 transfer_init_cfg: OptConfigType = dict(
                     type='Kaiming', layer='Conv2d')):
        super().__init__(loss_heatmap, loss_paf, decoder, init_cfg)
        self.transfer_init_cfg = transfer_init_cfg
        num_heatmaps, num_pafs = self.output_channels(num_heatmaps, num_pafs)
        outputs = dict(joint=num_heatmaps, limb=num_pafs)
        self.detection = nn.ModuleDict({
            name:
            DetectionBranch(in_channels, channels, mid_channels, out, norm_cfg)
            for name, out in outputs.items()
        })
        self.transfer = nn.ModuleDict({
            f'{source}_to_{target}':
            transfer_net(3 * channels + mid_channels, channels,
                         num_transfer_blocks, norm_cfg)
            for source, target in (('joint', 'limb'), ('limb', 'joint'))
        })
        refine_in = num_heatmaps + num_pafs + in_channels + 2 * channels
        self.refine = nn.ModuleDict({
            name:
            nn.Sequential(
                transfer_net(refine_in, channels, num_refine_blocks, norm_cfg),
                conv_stack(channels, [mid_channels], [1], out, norm_cfg))
            for name, out in outputs.items()
        })

    def init_weights(self) -> None:
        """``init_cfg``'s entries, then ``transfer_init_cfg`` on the transfer
        blocks, then a ``Pretrained`` entry of ``init_cfg`` loaded over them;
        nothing on a second call (mmengine's warning)."""
        if self.is_init or self.transfer_init_cfg is None:
            super().init_weights()
            return
        with pretrained_set_aside(self, PAF_HEAD_INIT) as pretrained:
            super().init_weights()
        for block in self.modules():
            if isinstance(block, TransferBlock):
                initialize(block, self.transfer_init_cfg)
        if pretrained:
            initialize(self, pretrained)

    def forward(self, feats: Tuple[Tensor]) -> StageOutputs:
        """``(F,)`` -> ``([J1, J2], [L1, L2])``: (N, M + 1, H, W) joint maps
        and (N, 2 L, H, W) limb fields of the detection and the refinement."""
        trunk = feats[-1]
        joint1, joint_feats = self.detection['joint'](trunk)
        limb1, limb_feats = self.detection['limb'](trunk)
        to_limb = self.transfer['joint_to_limb'](torch.cat(joint_feats, dim=1))
        to_joint = self.transfer['limb_to_joint'](torch.cat(limb_feats, dim=1))
        context = torch.cat([joint1, limb1, trunk], dim=1)
        joint2 = self.refine['joint'](
            torch.cat([context, to_joint, joint_feats[2]], dim=1))
        limb2 = self.refine['limb'](
            torch.cat([context, to_limb, limb_feats[2]], dim=1))
        return [joint1, joint2], [limb1, limb2]
