# Copyright (c) OpenMMLab. All rights reserved.
"""What OpenPose-style heads share: multi-stage joint/limb outputs, masked L2
losses with intermediate supervision, and prediction with flip and multi-scale
averaging."""
from functools import partial
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.structures import InstanceData, PixelData
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.utils.tta import aggregate_heatmaps, flip_heatmaps
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList
from torch import Tensor

from ..codecs import PAFSkeleton

StageOutputs = Tuple[List[Tensor], List[Tensor]]


class BasePAFHead(BaseHead):
    """Base of heads that predict joint heatmaps and part affinity fields in
    stages.

    A subclass builds its layers and implements ``forward(feats) -> (heatmaps,
    pafs)``: two lists with one tensor per supervised stage, ``(N, M + 1, H,
    W)`` joint maps (the ``M`` keypoints of the decoder's
    :class:`~custom_modules.codecs.PAFSkeleton` and the background) and ``(N, 2
    L, H, W)`` fields of its ``L`` limbs; the last stage is the prediction.
    OpenPose's COCO skeleton has M = 18, L = 19: 19 maps and 38 field channels.
    It also sets ``num_stages``, the length of the two lists.

    Loss (MLN eqs. 3-4): every stage is supervised; the masked L2 of each
    stage's heatmaps (``loss_heatmap``) and fields (``loss_paf``) against
    ``gt_fields.heatmaps`` / ``.pafs``, with ``gt_fields.heatmap_mask`` as
    ``W(p)`` (0 on unannotated people and crowds).

    Prediction: ``test_cfg`` keys ``flip_test`` (average with the mirrored
    image's maps, keypoint and limb channels swapped by the dataset's
    ``flip_indices`` from the samples' metainfo and the fields' x component
    negated), ``multiscale_test`` (average over the scales
    ``BottomupPoseEstimator`` feeds), ``restore_heatmap_size`` (group on the
    maps resized to the input image, as OpenPose does; then the decoder's
    ``heatmap_size`` must equal its ``input_size``), ``restore_mode``
    (``'bicubic'``, OpenPose's cubic resize, by default: a bilinear resize
    peaks on the maps' own pixels, so at stride 8 keypoints land up to 4 input
    pixels off), ``full_restore`` (``False``: the decoder's ``decode_resized``
    finds the people of the resized maps without resizing them, reading them
    only around the peaks and along the candidate limbs, the same people to
    float rounding, and 40-70x faster on a CPU; ``True``: resize all the maps,
    OpenPose's way, the reference; also taken for an ``align_corners`` or
    ``restore_mode`` other than bicubic / bilinear), ``decode_on_device``
    (``True``: resize the maps where they are, find their peaks and read the
    fields there, and group on the CPU only the peaks and the fields' samples
    (the decoder's ``decode_on_device``), the same people as the full restore;
    ``False``: decode on the CPU, by ``decode_resized`` or the full restore;
    ``None``, the default: ``True`` where the maps are not on the CPU (a
    GPU)), ``align_corners``
    (``False``, the codec's pixel-centre convention) and ``output_heatmaps``
    (the ``M`` keypoint maps, without the background, and the ``2 L`` fields,
    resized with ``restore_heatmap_size``: what mmpose's ``--draw-heatmap``
    shows). Decoding uses ``decoder``, a
    :class:`~custom_modules.codecs.PartAffinityField`.

    Args:
        loss_heatmap (dict): Loss of the joint maps. Defaults to a masked
            ``KeypointMSELoss``.
        loss_paf (dict): Loss of the limb fields. Defaults to a masked
            ``KeypointMSELoss``.
        decoder (dict, optional): The codec decoding predictions; its skeleton
            sets the output channels (:meth:`output_channels`).
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
        self.decoder = (
            KEYPOINT_CODECS.build(decoder) if decoder is not None else None)
        self.decoder_cfg = decoder  # rebuilt at other sizes by perfect_outputs

    def output_channels(self, num_heatmaps: Optional[int],
                        num_pafs: Optional[int]) -> Tuple[int, int]:
        """``(num_heatmaps, num_pafs)`` of the outputs: ``M + 1`` and ``2 L``
        of the decoder's skeleton (OpenPose's COCO skeleton without a decoder);
        a given count must equal it."""
        skeleton = (
            PAFSkeleton() if self.decoder is None else self.decoder.skeleton)
        channels = (skeleton.num_keypoints + 1, 2 * skeleton.num_limbs)
        for name, given, expected in zip(('num_heatmaps', 'num_pafs'),
                                         (num_heatmaps, num_pafs), channels):
            if given is not None and given != expected:
                raise ValueError(
                    f'{type(self).__name__}: {name}={given}, but the skeleton '
                    f'of the decoder needs {expected}; leave it unset')
        return channels

    def forward(self, feats: Tuple[Tensor]) -> StageOutputs:
        raise NotImplementedError

    def loss(self,
             feats: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """Sum over stages of the masked L2 losses of Equations 3
        (``loss_heatmap``) and 4 (``loss_paf``)."""
        heatmaps, pafs = self.forward(feats)
        gt_heatmaps = torch.stack(
            [d.gt_fields.heatmaps for d in batch_data_samples])
        gt_pafs = torch.stack([d.gt_fields.pafs for d in batch_data_samples])
        if 'heatmap_mask' in batch_data_samples[0].gt_fields:
            mask = torch.stack(
                [d.gt_fields.heatmap_mask for d in batch_data_samples])
            mask = mask.reshape(len(mask), 1, *mask.shape[-2:]).to(gt_heatmaps)
        else:
            mask = None
        return dict(
            loss_heatmap=sum(
                self.loss_heatmap(hm, gt_heatmaps, mask=mask)
                for hm in heatmaps),
            loss_paf=sum(
                self.loss_paf(paf, gt_pafs, mask=mask) for paf in pafs))

    def flip_outputs(self, heatmaps: Tensor, pafs: Tensor,
                     flip_indices: Sequence[int]) -> Tuple[Tensor, Tensor]:
        """Maps of a mirrored image -> maps of the original: images mirrored,
        keypoint and limb channels swapped (the decoder's skeleton maps the
        dataset's ``flip_indices`` to its channels), the fields' x component
        negated.

        ``heatmaps`` are ``(N, M + 1, H, W)``, ``pafs`` ``(N, 2 L, H, W)``, of
        any memory layout (mmpose's ``flip_heatmaps`` reshapes the fields with
        ``view``, which a channels-last tensor or a transposed codec array
        refuses: they are made contiguous first).
        """
        keypoint_order, limb_order = self.decoder.skeleton.flip_orders(
            flip_indices)
        # the background channel keeps its place
        keypoint_order += range(len(keypoint_order), heatmaps.shape[1])
        # no shift: the codec's pixel centres make the mirror exact
        return (flip_heatmaps(
            heatmaps, keypoint_order, 'heatmap', shift_heatmap=False),
                flip_heatmaps(
                    pafs.contiguous(),
                    limb_order,
                    'offset',
                    shift_heatmap=False))

    def predict(self,
                feats,
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}):
        """People in each image of the batch (class doc for ``test_cfg``).

        Returns:
            list[InstanceData] with ``keypoints`` (N, K, 2) in input pixels,
            ``keypoint_scores`` (N, K) and ``bbox_scores`` (N,) person scores;
            with ``output_heatmaps``, also a list of ``PixelData(heatmaps (M,
            H, W), pafs (2 L, H, W))``.
        """
        flip_test = test_cfg.get('flip_test', False)
        if flip_test and 'flip_indices' not in batch_data_samples[0].metainfo:
            raise KeyError(
                f'{type(self).__name__}.predict: the flip test needs the '
                'dataset\'s flip_indices in the samples\' metainfo (the '
                'meta_keys of the test pipeline\'s PackPoseInputs)')
        if not test_cfg.get('multiscale_test', False):
            feats = [feats]
        size = None
        if test_cfg.get('restore_heatmap_size', False):
            img_h, img_w = batch_data_samples[0].metainfo['img_shape']
            size = (img_w, img_h)
        align_corners = test_cfg.get('align_corners', False)
        mode = test_cfg.get('restore_mode', 'bicubic')

        scale_heatmaps, scale_pafs = [], []
        for scale_feats in feats:
            if flip_test:
                heatmaps, pafs = (x[-1] for x in self.forward(scale_feats[0]))
                mirrored_heatmaps, mirrored_pafs = self.flip_outputs(
                    *(x[-1] for x in self.forward(scale_feats[1])),
                    batch_data_samples[0].metainfo['flip_indices'])
                heatmaps = (heatmaps + mirrored_heatmaps) / 2
                pafs = (pafs + mirrored_pafs) / 2
            else:
                heatmaps, pafs = (x[-1] for x in self.forward(scale_feats))
            scale_heatmaps.append(heatmaps)
            scale_pafs.append(pafs)

        on_device = test_cfg.get('decode_on_device')
        if on_device is None:
            on_device = scale_heatmaps[0].device.type != 'cpu'
        resized_decode = (
            size is not None and not on_device
            and not test_cfg.get('full_restore', False) and not align_corners
            and mode in ('bicubic', 'bilinear'))
        if resized_decode:
            preds = self.decode_resized(scale_heatmaps, scale_pafs, size, mode)
        if resized_decode and not test_cfg.get('output_heatmaps', False):
            return preds

        if size is not None:
            restore = partial(
                nn.functional.interpolate,
                size=size[::-1],
                mode=mode,
                align_corners=align_corners)
            scale_heatmaps = [restore(x) for x in scale_heatmaps]
            scale_pafs = [restore(x) for x in scale_pafs]
        heatmaps = aggregate_heatmaps(
            scale_heatmaps, size, align_corners, mode='average')
        pafs = aggregate_heatmaps(
            scale_pafs, size, align_corners, mode='average')
        if not resized_decode:
            preds = self.decode((heatmaps, pafs), on_device)
        if test_cfg.get('output_heatmaps', False):
            # the keypoints' maps without the background (near 1 away from
            # people, it would cover everything in mmpose's drawing, the
            # maximum over channels)
            num_keypoints = self.decoder.skeleton.num_keypoints
            return preds, [
                PixelData(heatmaps=hm[:num_keypoints], pafs=paf)
                for hm, paf in zip(heatmaps.detach(), pafs.detach())
            ]
        return preds

    def decode(self,
               batch_outputs: Tuple[Tensor, Tensor],
               on_device: bool = False) -> List[InstanceData]:
        """``(heatmaps (B, M + 1, H, W), pafs (B, 2 L, H, W))`` -> one
        ``InstanceData`` per image; with ``on_device``, by the decoder's
        ``decode_on_device`` where the maps are, else on numpy copies."""
        if self.decoder is None:
            raise RuntimeError(
                f'{type(self).__name__} has no decoder: set `decoder` in its '
                'config to predict')
        decode = self.decoder.decode
        if on_device:
            decode = self.decoder.decode_on_device
        else:
            batch_outputs = [to_numpy(x) for x in batch_outputs]
        preds = []
        for heatmaps, pafs in zip(*batch_outputs):
            keypoints, scores, instance_scores = decode(heatmaps, pafs)
            preds.append(
                InstanceData(
                    keypoints=keypoints,
                    keypoint_scores=scores,
                    bbox_scores=instance_scores))
        return preds

    def decode_resized(self,
                       scale_heatmaps: List[Tensor],
                       scale_pafs: List[Tensor],
                       size: Tuple[int, int],
                       mode: str = 'bicubic') -> List[InstanceData]:
        """The people of the maps of each scale (``(B, M + 1, h, w)`` heatmaps
        and ``(B, 2 L, h, w)`` fields) resized to ``size`` ``(W, H)`` and
        averaged, by the decoder's ``decode_resized``, without resizing them.

        Returns one ``InstanceData`` per image.
        """
        if self.decoder is None:
            raise RuntimeError(
                f'{type(self).__name__} has no decoder: set `decoder` in its '
                'config to predict')
        scale_heatmaps = [to_numpy(x) for x in scale_heatmaps]
        scale_pafs = [to_numpy(x) for x in scale_pafs]
        preds = []
        for i in range(len(scale_heatmaps[0])):
            keypoints, scores, instance_scores = self.decoder.decode_resized(
                [x[i] for x in scale_heatmaps], [x[i] for x in scale_pafs],
                size, mode)
            preds.append(
                InstanceData(
                    keypoints=keypoints,
                    keypoint_scores=scores,
                    bbox_scores=instance_scores))
        return preds

    def output_names(self) -> List[str]:
        """Names of the tensors of :meth:`forward` in their flattened order
        (depth first, as an ONNX export lists them): ``heatmaps_stage{i}`` for
        each of the ``num_stages`` stages, then ``pafs_stage{i}``."""
        stages = range(self.num_stages)
        heatmaps = [f'heatmaps_stage{i}' for i in stages]
        return heatmaps + [f'pafs_stage{i}' for i in stages]

    def perfect_outputs(self, gt_instances: InstanceData,
                        featmap_sizes: List[Tuple[int, int]],
                        input_shape: Tuple[int, int]) -> StageOutputs:
        """What :meth:`forward` would return for one image if every stage were
        exact: the decoder's codec encoding of ``gt_instances`` at the maps'
        size and stride. Decoding them is the decode oracle; the benchmarks
        time it as a trained model's post-processing.

        Args:
            gt_instances (InstanceData): ``keypoints`` ``(N, K, 2)`` in input
                pixels and ``keypoints_visible`` ``(N, K)`` of the dataset's
                keypoints (tensors or arrays).
            featmap_sizes (list[tuple[int, int]]): ``(H, W)`` of each stage's
                maps (all alike).
            input_shape (tuple[int, int]): ``(H_in, W_in)`` of the network
                input (the batch's, padding included); the maps' stride is
                ``H_in / H``, rounded.

        Returns:
            tuple: two lists with one tensor per entry of ``featmap_sizes``,
            the ``(1, M + 1, H, W)`` heatmaps and the ``(1, 2 L, H, W)`` fields
            (CPU, float32).
        """
        if self.decoder_cfg is None:
            raise RuntimeError(
                f'{type(self).__name__} has no decoder: set `decoder` in its '
                'config to encode perfect outputs')
        height, width = featmap_sizes[-1]
        stride = round(input_shape[0] / height)
        encoder = KEYPOINT_CODECS.build(
            dict(
                self.decoder_cfg,
                input_size=(width * stride, height * stride),
                heatmap_size=(width, height)))
        maps = encoder.encode(
            to_numpy(gt_instances.keypoints),
            to_numpy(gt_instances.keypoints_visible))
        heatmaps, pafs = (
            torch.from_numpy(maps[key])[None] for key in ('heatmaps', 'pafs'))
        return [heatmaps] * len(featmap_sizes), [pafs] * len(featmap_sizes)


class MapOutput(nn.Conv2d):
    """The 1x1 conv that gives a stage's maps or fields.

    A class of its own so that ``init_cfg`` can start it apart from the hidden
    convs (``layer='MapOutput'``, see :data:`KAIMING_PAF_HEAD_INIT`).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size=1)


#: The heads' default: CMU's Caffe model (``pose_train_test.prototxt``): every
#: conv from N(0, 0.01), biases 0. The papers' solver (SGD, lr 4e-5 OpenPose /
#: 6e-5 MLN, EuclideanLoss over 2N, i.e. ``loss_weight=C*H*W/2`` on
#: ``KeypointMSELoss``) is stable with it and nothing else: the sum over the
#: 46x46 pixels makes the curvature of the output convs grow with the pixel
#: count times the squared features that reach them, and the small init keeps
#: those features small until training scales them. With Kaiming init and that
#: solver the full-size MLN and OpenPose heads diverge in their first steps
#: once the trunk's features are of order 10
#: (``tests/test_heads/test_paf_heads.py``).
PAF_HEAD_INIT = dict(type='Normal', layer='Conv2d', std=0.01, bias=0)

#: For narrow heads with norm layers trained from scratch with Adam (the sample
#: configs): Kaiming for the hidden convs, whose signal N(0, 0.01) would
#: starve, and N(0, 0.001) for the outputs, so that the first predictions are
#: empty maps.
KAIMING_PAF_HEAD_INIT = [
    dict(type='Kaiming', layer='Conv2d'),
    dict(type='Normal', layer='MapOutput', std=0.001, bias=0),
]


def conv_stack(in_channels: int,
               channels: Sequence[int],
               kernel_sizes: Sequence[int],
               out_channels: int,
               norm_cfg: OptConfigType = None) -> nn.Sequential:
    """Convs with ReLU of the given widths and kernels, then a 1x1 conv to
    ``out_channels`` without activation: OpenPose's stage branches.

    Padding keeps the resolution; ``norm_cfg`` (none in OpenPose) adds norm
    layers to all but the output conv.
    """
    layers = []
    for width, kernel in zip(channels, kernel_sizes):
        layers.append(
            ConvModule(
                in_channels,
                width,
                kernel,
                padding=kernel // 2,
                norm_cfg=norm_cfg))
        in_channels = width
    layers.append(MapOutput(in_channels, out_channels))
    return nn.Sequential(*layers)


def two_branch_stages(paf_stages: Sequence[nn.Module],
                      heatmap_stages: Sequence[nn.Module],
                      trunk: Tensor) -> StageOutputs:
    """OpenPose's stage loop: stage 1 reads the trunk ``F``, stage ``t > 1``
    reads ``cat(L_{t-1}, S_{t-1}, F)``; each stage's limb branch gives the
    fields ``L_t``, its joint branch the maps ``S_t``.

    Returns the maps and the fields of every stage.
    """
    x = trunk
    heatmaps, pafs = [], []
    for paf_stage, heatmap_stage in zip(paf_stages, heatmap_stages):
        pafs.append(paf_stage(x))
        heatmaps.append(heatmap_stage(x))
        x = torch.cat([pafs[-1], heatmaps[-1], trunk], dim=1)
    return heatmaps, pafs
