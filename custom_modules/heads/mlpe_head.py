# Copyright (c) OpenMMLab. All rights reserved.
"""MLPE's two-stage heatmap head: the global heatmaps and the high-resolution
fine-tuning network."""
from typing import List, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_conv_layer
from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList


@MODELS.register_module()
class MLPEHead(HeatmapHead):
    """MLPE head (slides: "high-resolution fine-tuning network"; layers
    designed here after CPN's GlobalNet + RefineNet, see
    ``projects/mlpe/README.md``).

    Input: the L levels of :class:`MLPENeck`, finest (stride 4) first,
    ``in_channels`` each.

    - Stage 1 (intermediate supervision): a conv block of ``kernel_size``
      and a 1x1 conv on the finest level give ``(N, K, H_1, W_1)`` heatmaps,
      trained on every keypoint with ``loss_stage1`` (MSE).
    - Stage 2 (fine-tuning network): level ``l`` (0-based, finest first) goes
      through ``l + 1`` conv blocks of ``kernel_size`` (coarser levels get
      more, where they are cheap, as in CPN's RefineNet) and up to the finest
      resolution by ``upsample``: ``l`` 4x4 transposed convolutions of stride
      2 ("built on transposed convolutions", the Deconv rows of Table I;
      :class:`HeatmapHead`'s deconv layers) or a bilinear interpolation by
      ``2^l`` (the BI rows, as CPN's RefineNet); the L
      maps are concatenated and a conv block plus a 1x1 conv give the final
      ``(N, K, H_1, W_1)`` heatmaps, trained with online hard keypoint mining
      (``loss_kpt``: ``KeypointOHKMMSELoss``, top-k keypoints by loss per
      instance).

    A :class:`HeatmapHead` whose single-input layers (deconvs, convs, final
    conv) give way to the two stages: ``forward`` returns the final heatmaps,
    so ``predict`` (flip test with mmpose's ``flip_heatmaps``, decoding with
    ``decoder``) is HeatmapHead's, and ``loss`` is HeatmapHead's (``loss_kpt``,
    ``acc_pose`` of the final heatmaps) plus ``loss_stage1``.

    Args:
        in_channels (int): Channels of each input level. Defaults to 256.
        out_channels (int): Number of keypoints K. Defaults to 17.
        num_levels (int): Number of input levels L. Defaults to 4.
        refine_channels (int): Channels inside the fine-tuning network.
            Defaults to 128.
        kernel_size (int): Kernel of the fine-tuning conv blocks ("receptive
            field", 3 or 1). Defaults to 3.
        upsample (str): How the fine-tuning network brings coarser levels to
            the finest resolution (Table I's "Upsample"): ``'deconv'`` or
            ``'bilinear'``. Defaults to ``'deconv'``.
        loss_stage1 (dict): Loss of the stage-1 heatmaps. Defaults to a
            target-weighted MSE.
        loss_kpt (dict): Loss of the final heatmaps (HeatmapHead's ``loss``).
            Defaults to ``KeypointOHKMMSELoss`` (top 8).
        decoder (dict, optional): The heatmap codec used to decode predictions.
        init_cfg (dict | list[dict], optional): Initialization config. Defaults
            to HeatmapHead's: convs start from N(0, 0.001), so the first
            heatmaps are near zero rather than noise the training must first
            undo.
    """

    def __init__(self,
                 in_channels: int = 256,
                 out_channels: int = 17,
                 num_levels: int = 4,
                 refine_channels: int = 128,
                 kernel_size: int = 3,
                 upsample: str = 'deconv',
                 loss_stage1: ConfigType = dict(
                     type='KeypointMSELoss', use_target_weight=True),
                 loss_kpt: ConfigType = dict(
                     type='KeypointOHKMMSELoss',
                     use_target_weight=True,
                     topk=8),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        if kernel_size not in (1, 3):
            raise ValueError(
                'kernel_size (receptive field) must be 3 or 1, got '
                f'{kernel_size}')
        if upsample not in ('deconv', 'bilinear'):
            raise ValueError("upsample must be 'deconv' or 'bilinear', got "
                             f'{upsample!r}')
        # HeatmapHead's own layers are not built (identities): the two stages
        # replace them
        super().__init__(
            in_channels,
            out_channels,
            deconv_out_channels=None,
            conv_out_channels=None,
            final_layer=None,
            loss=loss_kpt,
            decoder=decoder,
            init_cfg=init_cfg)
        self.num_levels = num_levels
        self.loss_stage1_module = MODELS.build(loss_stage1)

        def block(in_c: int, out_c: int) -> ConvModule:
            return ConvModule(
                in_c,
                out_c,
                kernel_size,
                padding=kernel_size // 2,
                norm_cfg=dict(type='BN'))

        self.stage1 = nn.Sequential(
            block(in_channels, in_channels),
            build_conv_layer(None, in_channels, out_channels, kernel_size=1))
        self.refine_branches = nn.ModuleList()
        for level in range(num_levels):
            convs = [
                block(in_channels if i == 0 else refine_channels,
                      refine_channels) for i in range(level + 1)
            ]
            if upsample == 'deconv':
                up = self._make_deconv_layers(refine_channels,
                                              (refine_channels, ) * level,
                                              (4, ) * level)
            elif level:
                up = nn.Upsample(
                    scale_factor=2**level,
                    mode='bilinear',
                    align_corners=False)
            else:
                up = nn.Identity()
            self.refine_branches.append(nn.Sequential(*convs, up))
        self.final = nn.Sequential(
            block(refine_channels * num_levels, refine_channels),
            build_conv_layer(
                None, refine_channels, out_channels, kernel_size=1))

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """The fine-tuning network's final heatmaps ``(N, K, H_1, W_1)``."""
        if len(feats) != self.num_levels:
            raise ValueError(
                f'MLPEHead expects {self.num_levels} levels, got {len(feats)}')
        refined: List[torch.Tensor] = [
            branch(x) for branch, x in zip(self.refine_branches, feats)
        ]
        if any(r.shape[-2:] != refined[0].shape[-2:] for r in refined[1:]):
            sizes = [tuple(int(v) for v in r.shape[-2:]) for r in refined]
            raise ValueError(
                f'the fine-tuning branches reach sizes {sizes}, not one: the '
                'input size must be divisible by 32')
        return self.final(torch.cat(refined, dim=1))

    def loss(self,
             feats: Sequence[torch.Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_stage1`` (intermediate supervision), then HeatmapHead's
        ``loss_kpt`` (OHKM on the final heatmaps) and ``acc_pose`` (PCK of the
        final heatmaps)."""
        gt_heatmaps = torch.stack(
            [d.gt_fields.heatmaps for d in batch_data_samples])
        keypoint_weights = torch.cat([
            d.gt_instance_labels.keypoint_weights for d in batch_data_samples
        ])
        losses = dict(
            loss_stage1=self.loss_stage1_module(
                self.stage1(feats[0]), gt_heatmaps, keypoint_weights))
        losses.update(super().loss(feats, batch_data_samples, train_cfg))
        return losses
