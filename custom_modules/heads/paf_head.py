"""What OpenPose-style heads share: multi-stage joint/limb outputs, masked L2 losses with
intermediate supervision, and prediction with flip and multi-scale averaging."""
from functools import partial
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.structures import InstanceData, PixelData
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.utils.tta import aggregate_heatmaps
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList
from torch import Tensor

from ..codecs.openpose_skeleton import LIMB_FLIP_INDICES, OPENPOSE_FLIP_INDICES

StageOutputs = Tuple[List[Tensor], List[Tensor]]


class BasePAFHead(BaseHead):
    """Base of heads that predict joint heatmaps and part affinity fields in stages.

    A subclass builds its layers and implements ``forward(feats) -> (heatmaps, pafs)``: two lists
    with one tensor per supervised stage, ``(N, 19, H, W)`` joint maps (18 OpenPose keypoints and
    the background) and ``(N, 38, H, W)`` limb fields; the last stage is the prediction.

    Loss (MLN eqs. 3-4): every stage is supervised; the masked L2 of each stage's heatmaps
    (``loss_heatmap``) and fields (``loss_paf``) against ``gt_fields.heatmaps`` / ``.pafs``, with
    ``gt_fields.heatmap_mask`` as ``W(p)`` (0 on unannotated people and crowds).

    Prediction: ``test_cfg`` keys ``flip_test`` (average with the mirrored image's maps, keypoint
    and limb channels swapped left/right and the fields' x component negated),
    ``multiscale_test`` (average over the scales ``BottomupPoseEstimator`` feeds),
    ``restore_heatmap_size`` (resize the maps to the input image, as OpenPose does before
    grouping; then the decoder's ``heatmap_size`` must equal its ``input_size``),
    ``restore_mode`` (``'bicubic'``, OpenPose's cubic resize, by default: a bilinear resize peaks
    on the maps' own pixels, so at stride 8 keypoints land up to 4 input pixels off),
    ``align_corners`` (``False``, the codec's pixel-centre convention) and ``output_heatmaps``.
    Decoding uses ``decoder``, a :class:`~custom_modules.codecs.PartAffinityField`.

    Args:
        loss_heatmap (dict): Loss of the joint maps. Defaults to a masked ``KeypointMSELoss``.
        loss_paf (dict): Loss of the limb fields. Defaults to a masked ``KeypointMSELoss``.
        decoder (dict, optional): The codec decoding predictions.
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(self,
                 loss_heatmap: ConfigType = dict(type='KeypointMSELoss'),
                 loss_paf: ConfigType = dict(type='KeypointMSELoss'),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_heatmap = MODELS.build(loss_heatmap)
        self.loss_paf = MODELS.build(loss_paf)
        self.decoder = KEYPOINT_CODECS.build(decoder) if decoder is not None else None

    def forward(self, feats: Tuple[Tensor]) -> StageOutputs:
        raise NotImplementedError

    def loss(self, feats: Tuple[Tensor], batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """Sum over stages of the masked L2 losses of eqs. 3 (``loss_joint``) and 4
        (``loss_limb``)."""
        heatmaps, pafs = self.forward(feats)
        gt_heatmaps = torch.stack([d.gt_fields.heatmaps for d in batch_data_samples])
        gt_pafs = torch.stack([d.gt_fields.pafs for d in batch_data_samples])
        if 'heatmap_mask' in batch_data_samples[0].gt_fields:
            mask = torch.stack([d.gt_fields.heatmap_mask for d in batch_data_samples])
            mask = mask.reshape(len(mask), 1, *mask.shape[-2:]).to(gt_heatmaps)
        else:
            mask = None
        return dict(
            loss_joint=sum(self.loss_heatmap(hm, gt_heatmaps, mask=mask) for hm in heatmaps),
            loss_limb=sum(self.loss_paf(paf, gt_pafs, mask=mask) for paf in pafs))

    @staticmethod
    def flip_outputs(heatmaps: Tensor, pafs: Tensor) -> Tuple[Tensor, Tensor]:
        """Maps of a mirrored image -> maps of the original: left/right channels swapped,
        images mirrored, the fields' x component negated. ``(N, 19, H, W)``, ``(N, 38, H, W)``."""
        keypoint_order = [*OPENPOSE_FLIP_INDICES.tolist(), *range(18, heatmaps.shape[1])]
        heatmaps = heatmaps[:, keypoint_order].flip(-1)
        n, _, h, w = pafs.shape
        pafs = pafs.reshape(n, -1, 2, h, w)[:, LIMB_FLIP_INDICES.tolist()].flip(-1)
        pafs = pafs * pafs.new_tensor([-1.0, 1.0]).reshape(1, 1, 2, 1, 1)
        return heatmaps, pafs.reshape(n, -1, h, w)

    def predict(self, feats, batch_data_samples: OptSampleList, test_cfg: ConfigType = {}):
        """People in each image of the batch (class doc for ``test_cfg``).

        Returns:
            list[InstanceData] with ``keypoints`` (N, 17, 2) in input pixels, ``keypoint_scores``
            (N, 17) and ``bbox_scores`` (N,) person scores; with ``output_heatmaps``, also a
            list of ``PixelData(heatmaps, pafs)``.
        """
        flip_test = test_cfg.get('flip_test', False)
        if not test_cfg.get('multiscale_test', False):
            feats = [feats]
        size = None
        if test_cfg.get('restore_heatmap_size', False):
            img_h, img_w = batch_data_samples[0].metainfo['img_shape']
            size = (img_w, img_h)
        align_corners = test_cfg.get('align_corners', False)

        scale_heatmaps, scale_pafs = [], []
        for scale_feats in feats:
            if flip_test:
                heatmaps, pafs = (x[-1] for x in self.forward(scale_feats[0]))
                flip_heatmaps, flip_pafs = self.flip_outputs(
                    *(x[-1] for x in self.forward(scale_feats[1])))
                heatmaps, pafs = (heatmaps + flip_heatmaps) / 2, (pafs + flip_pafs) / 2
            else:
                heatmaps, pafs = (x[-1] for x in self.forward(scale_feats))
            scale_heatmaps.append(heatmaps)
            scale_pafs.append(pafs)
        if size is not None:
            restore = partial(nn.functional.interpolate, size=size[::-1],
                              mode=test_cfg.get('restore_mode', 'bicubic'),
                              align_corners=align_corners)
            scale_heatmaps = [restore(x) for x in scale_heatmaps]
            scale_pafs = [restore(x) for x in scale_pafs]
        heatmaps = aggregate_heatmaps(scale_heatmaps, size, align_corners, mode='average')
        pafs = aggregate_heatmaps(scale_pafs, size, align_corners, mode='average')

        preds = self.decode((heatmaps, pafs))
        if test_cfg.get('output_heatmaps', False):
            return preds, [
                PixelData(heatmaps=hm, pafs=paf)
                for hm, paf in zip(heatmaps.detach(), pafs.detach())
            ]
        return preds

    def decode(self, batch_outputs: Tuple[Tensor, Tensor]) -> List[InstanceData]:
        """``(heatmaps (B, 19, H, W), pafs (B, 38, H, W))`` -> one ``InstanceData`` per image."""
        if self.decoder is None:
            raise RuntimeError(f'{type(self).__name__} has no decoder: set `decoder` in its '
                               'config to predict')
        preds = []
        for heatmaps, pafs in zip(*(to_numpy(x) for x in batch_outputs)):
            keypoints, scores, instance_scores = self.decoder.decode(heatmaps, pafs)
            preds.append(InstanceData(keypoints=keypoints, keypoint_scores=scores,
                                      bbox_scores=instance_scores))
        return preds


class MapOutput(nn.Conv2d):
    """The 1x1 conv that gives a stage's maps or fields. A class of its own so that ``init_cfg``
    can start it apart (``layer='MapOutput'``): near zero, so that the first predictions are
    the empty maps, not noise the other layers' Kaiming init amplified through the stages."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size=1)


# Kaiming for the hidden convs, N(0, 0.001) for the outputs (the CMU model used N(0, 0.01) for
# all, which starves deep narrow models of signal).
PAF_HEAD_INIT = [
    dict(type='Kaiming', layer='Conv2d'),
    dict(type='Normal', layer='MapOutput', std=0.001, bias=0),
]


def conv_stack(in_channels: int, channels: Sequence[int], kernel_sizes: Sequence[int],
               out_channels: int, norm_cfg: OptConfigType = None) -> nn.Sequential:
    """Convs with ReLU of the given widths and kernels, then a 1x1 conv to ``out_channels``
    without activation: OpenPose's stage branches. Padding keeps the resolution; ``norm_cfg``
    (none in OpenPose) adds norm layers to all but the output conv."""
    layers = []
    for width, kernel in zip(channels, kernel_sizes):
        layers.append(
            ConvModule(in_channels, width, kernel, padding=kernel // 2, norm_cfg=norm_cfg))
        in_channels = width
    layers.append(MapOutput(in_channels, out_channels))
    return nn.Sequential(*layers)
