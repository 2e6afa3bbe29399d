# Copyright (c) OpenMMLab. All rights reserved.
"""What OpenPose-style heads share: multi-stage joint/limb outputs, masked L2
losses with intermediate supervision, and prediction with flip and multi-scale
averaging."""
import math
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.structures import InstanceData, PixelData
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import (ConfigType, OptConfigType, OptSampleList,
                                 Predictions)
from torch import Tensor

from ..codecs import PAFSkeleton
from ..codecs.utils import MapPlacement, placed_resize
from ..post_processing import found_keypoint_boxes
from .pyramid_geometry import check_pyramid_metainfo, pyramid_map_placement

StageOutputs = Tuple[List[Tensor], List[Tensor]]


def batch_input_shapes(metainfo: dict,
                       multiscale: bool) -> List[Tuple[int, int]]:
    """``(h, w)`` of the batch's input at each scale, base scale first: the
    pyramid's ``pyramid_batch_input_shapes`` (checked to be there), else the
    one ``batch_input_shape`` (``img_shape`` without one)."""
    if multiscale:
        check_pyramid_metainfo(metainfo, batch_shapes=True)
        return metainfo['pyramid_batch_input_shapes']
    return [metainfo.get('batch_input_shape', metainfo['img_shape'][:2])]


def people_instances(keypoints: np.ndarray, keypoint_scores: np.ndarray,
                     person_scores: np.ndarray) -> InstanceData:
    """The decoder's people as mmpose's predictions: ``keypoints`` (N, K, 2),
    ``keypoint_scores`` (N, K) (0: not found), ``bbox_scores`` (N,) the person
    scores, and ``bboxes`` (N, 4) ``(x1, y1, x2, y2)`` spanning each person's
    found keypoints (as SMPR's boxes span its poses), which mmpose maps to the
    image with the keypoints and writes with the person score into the
    inferencer's JSON (``bbox``, ``bbox_score``)."""
    return InstanceData(
        keypoints=keypoints,
        keypoint_scores=keypoint_scores,
        bbox_scores=person_scores,
        bboxes=found_keypoint_boxes(keypoints, keypoint_scores))


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
    ``BottomupPoseEstimator`` feeds, each scale's maps placed where its image
    lies in the base image's input, by the ``pyramid_*`` places of
    :class:`~custom_modules.datasets.transforms.PyramidBottomupResize`),
    ``restore_heatmap_size`` (group on the maps resized to the input image, as
    OpenPose does; then the decoder's ``heatmap_size`` must equal its
    ``input_size``; each image of a batch on its own input, from the part of
    the batch's maps that covers it), ``restore_mode`` (``'bicubic'``,
    OpenPose's cubic resize, by default: a bilinear resize peaks on the maps'
    own pixels, so at stride 8 keypoints land up to 4 input pixels off; it also
    places the other scales' maps of a multi-scale test on the base scale's,
    restored or not; ``'bilinear'`` the only other, since the maps have
    half-pixel centres), ``full_restore`` (``False``: the decoder's
    ``decode_resized`` finds the people of the resized maps without resizing
    them, reading them only around the peaks and along the candidate limbs, the
    same people to float rounding, and 40-70x faster on a CPU; ``True``: resize
    all the maps, OpenPose's way, the reference),
    ``decode_on_device`` (``True``: resize the maps where they are, find their
    peaks and read the fields there, and group on the CPU only the peaks and
    the fields' samples (the decoder's ``decode_on_device``), the same people
    as the full restore; ``False``: decode on the CPU, by ``decode_resized`` or
    the full restore; ``None``, the default: ``True`` where the maps are not on
    the CPU (a GPU)), ``align_corners`` (only ``False``, the codec's
    pixel-centre convention; ``True`` is refused) and ``output_heatmaps`` (the
    ``M`` keypoint maps, without the background, and the ``2 L`` fields,
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

    #: the ``test_cfg`` keys :meth:`predict` reads (the list above)
    TEST_CFG_KEYS = frozenset({
        'flip_test', 'multiscale_test', 'restore_heatmap_size', 'restore_mode',
        'full_restore', 'decode_on_device', 'align_corners', 'output_heatmaps'
    })

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
                feats: Union[Sequence[Tensor], list],
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """People in each image of the batch (class doc for ``test_cfg``).

        Returns:
            list[InstanceData] with ``keypoints`` (N, K, 2) in input pixels,
            ``keypoint_scores`` (N, K), ``bbox_scores`` (N,) person scores
            and ``bboxes`` (N, 4) (:func:`people_instances`);
            with ``output_heatmaps``, also a list of ``PixelData(heatmaps (M,
            H, W), pafs (2 L, H, W))``.
        """
        flip_test = test_cfg.get('flip_test', False)
        if flip_test and 'flip_indices' not in batch_data_samples[0].metainfo:
            raise ValueError(
                f'{type(self).__name__}.predict: the flip test needs the '
                'dataset\'s flip_indices in the samples\' metainfo (the '
                'meta_keys of the test pipeline\'s PackPoseInputs)')
        multiscale = test_cfg.get('multiscale_test', False)
        if not multiscale:
            feats = [feats]
        restore = test_cfg.get('restore_heatmap_size', False)
        if test_cfg.get('align_corners', False):
            raise ValueError(
                f'{type(self).__name__}: test_cfg.align_corners=True, but the '
                'maps have half-pixel centres (map pixel i covers input '
                'pixels stride * i to stride * (i + 1), OpenPose\'s '
                'cv::resize): '
                'align_corners would move every keypoint by up to a stride; '
                'leave it False')
        mode = test_cfg.get('restore_mode', 'bicubic')
        if mode not in ('bicubic', 'bilinear'):
            raise ValueError(
                f'{type(self).__name__}: the maps have half-pixel centres, '
                "which restore_mode 'bicubic' or 'bilinear' resize, got "
                f'{mode!r}')

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
        self.check_map_stride(scale_heatmaps, batch_data_samples[0].metainfo,
                              multiscale)
        self.check_decoder_scale(scale_heatmaps[0].shape[-2:],
                                 batch_data_samples[0].metainfo, restore,
                                 multiscale)

        # the maps cover the batch's input, whose top-left corner each image
        # fills; each image is decoded on its own input (restored) or its own
        # part of the maps, as if it were alone
        sizes = [
            tuple(sample.metainfo['img_shape'][1::-1])
            for sample in batch_data_samples
        ]
        cuts = [
            self.image_cuts(maps.shape[-2:], batch_data_samples, level,
                            multiscale)
            for level, maps in enumerate(scale_heatmaps)
        ]
        padded = any(level_cuts is not None for level_cuts in cuts)
        # placed by the batch's maps, which the cuts keep the origin of
        placements = self.map_placements(scale_heatmaps, batch_data_samples,
                                         test_cfg, padded)
        base_cuts = cuts[0] or [scale_heatmaps[0].shape[-2:]
                                ] * len(batch_data_samples)
        if padded:
            scale_heatmaps, scale_pafs = ([[
                maps[i, :, :rows, :cols]
                for i, (rows,
                        cols) in enumerate(level_cuts or [maps.shape[-2:]] *
                                           len(maps))
            ] for maps, level_cuts in zip(scale_maps, cuts)]
                                          for scale_maps in (scale_heatmaps,
                                                             scale_pafs))
        on_device = test_cfg.get('decode_on_device')
        if on_device is None:
            on_device = scale_heatmaps[0][0].device.type != 'cpu'
        resized_decode = (
            restore and not on_device
            and not test_cfg.get('full_restore', False))
        if resized_decode:
            preds = self.decode_resized(scale_heatmaps, scale_pafs, sizes,
                                        mode, placements)
            if not test_cfg.get('output_heatmaps', False):
                return preds

        if placements is not None:
            # one (C, H, W) map per image, each scale placed under it
            grid_sizes = sizes if restore else [(cols, rows)
                                                for rows, cols in base_cuts]
            heatmaps, pafs = ([
                sum(
                    placed_resize(maps[i], grid_sizes[i],
                                  image_placements[level], mode)
                    for level, maps in enumerate(scale_maps)) / len(scale_maps)
                for i, image_placements in enumerate(placements)
            ] for scale_maps in (scale_heatmaps, scale_pafs))
        else:  # one scale: the batch's maps, or one image's part each
            heatmaps, pafs = scale_heatmaps[0], scale_pafs[0]
            if restore:  # a batch of inputs of one size
                heatmaps, pafs = (
                    nn.functional.interpolate(
                        maps,
                        size=sizes[0][::-1],
                        mode=mode,
                        align_corners=False) for maps in (heatmaps, pafs))
        if not resized_decode:
            preds = self.decode((heatmaps, pafs), on_device)
        if test_cfg.get('output_heatmaps', False):
            # the keypoints' maps without the background (near 1 away from
            # people, it would cover everything in mmpose's drawing, the
            # maximum over channels)
            num_keypoints = self.decoder.skeleton.num_keypoints
            return preds, [
                PixelData(
                    heatmaps=hm[:num_keypoints].detach(), pafs=paf.detach())
                for hm, paf in zip(heatmaps, pafs)
            ]
        return preds

    @staticmethod
    def check_map_stride(scale_maps: List[Tensor], metainfo: dict,
                         multiscale: bool) -> None:
        """Raise ``ValueError`` unless each scale's batch input is its maps
        ``(B, C, h, w)`` times one whole stride in both directions, the same
        for every scale.

        The decoding places map pixel ``i`` over input pixels ``stride * i``
        to ``stride * (i + 1)``; a network whose pooling drops (or pads) the
        input's last columns has maps that cover a little less (or more), and
        every keypoint would drift toward the far side by up to a stride.
        """
        shapes = batch_input_shapes(metainfo, multiscale)
        strides = set()
        for level, (maps, (batch_h,
                           batch_w)) in enumerate(zip(scale_maps, shapes)):
            map_h, map_w = maps.shape[-2:]
            strides |= {batch_h / map_h, batch_w / map_w}
            if batch_h % map_h or batch_w % map_w or len(strides) > 1:
                where = f' (scale {level})' if multiscale else ''
                raise ValueError(
                    f'a {batch_w}x{batch_h} input{where} gave {map_w}x{map_h} '
                    'maps, not one whole stride in both directions and at '
                    f'every scale (strides {sorted(strides)}): pad the '
                    'inputs to a multiple of the network\'s stride (the test '
                    'pipeline\'s size_factor, the data preprocessor\'s '
                    'pad_size_divisor)')

    def check_decoder_scale(self, map_shape: Sequence[int], metainfo: dict,
                            restore: bool, multiscale: bool) -> None:
        """Raise ``ValueError`` unless the decoder maps keypoints from the
        pixels they are decoded on to input pixels: restored
        (``restore_heatmap_size``), its ``heatmap_size`` must be its
        ``input_size``; on the maps themselves ``map_shape`` ``(h, w)``, the
        two must differ by the maps' stride (``input_size / heatmap_size`` of
        the batch's input over the maps), or every keypoint would land at ``1 /
        stride`` of its place."""
        if self.decoder is None:
            return
        scale = np.asarray(self.decoder.scale_factor, dtype=np.float64)
        if restore:
            expected, what = np.ones(2), 'restore_heatmap_size=True decodes ' \
                'on the input\'s pixels'
        else:
            batch_h, batch_w = batch_input_shapes(metainfo, multiscale)[0]
            expected = np.array(
                [batch_w / map_shape[1], batch_h / map_shape[0]])
            what = (f'restore_heatmap_size=False decodes on the maps '
                    f'({map_shape[1]}x{map_shape[0]} for a {batch_w}x{batch_h}'
                    ' input)')
        if not np.allclose(scale, expected, rtol=0.02):
            raise ValueError(
                f'{type(self).__name__}: {what}, so the decoder\'s input_size '
                f'/ heatmap_size must be {expected.round(3).tolist()}, got '
                f'{scale.round(3).tolist()} (input_size '
                f'{list(self.decoder.input_size)}, heatmap_size '
                f'{list(self.decoder.heatmap_size)}): set the decoder\'s '
                'heatmap_size so, or restore_heatmap_size the other way')

    @staticmethod
    def image_cuts(map_shape: Sequence[int],
                   batch_data_samples: OptSampleList,
                   level: int = 0,
                   pyramid: bool = False) -> Optional[List[Tuple[int, int]]]:
        """``(rows, cols)`` of the maps ``map_shape`` ``(h, w)`` of the batch's
        input (``batch_input_shape``; of a pyramid, image ``level``'s batch,
        ``pyramid_batch_input_shapes[level]``) that cover each image's input
        (``img_shape``; of a pyramid, ``pyramid_input_sizes[level]``; in the
        top-left corner), rounded up; ``None`` where every image fills the
        batch's input (a batch of one)."""
        shapes = []
        for sample in batch_data_samples:
            meta = sample.metainfo
            if pyramid:
                check_pyramid_metainfo(meta, batch_shapes=True)
                in_w, in_h = meta['pyramid_input_sizes'][level][:2]
                batch_h, batch_w = meta['pyramid_batch_input_shapes'][level]
            else:
                in_h, in_w = meta['img_shape'][:2]
                batch_h, batch_w = meta.get('batch_input_shape', (in_h, in_w))
            shapes.append((in_h, in_w, batch_h, batch_w))
        if all(shape[:2] == shape[2:] for shape in shapes):
            return None
        return [(math.ceil(map_shape[0] * in_h / batch_h - 1e-6),
                 math.ceil(map_shape[1] * in_w / batch_w - 1e-6))
                for in_h, in_w, batch_h, batch_w in shapes]

    @staticmethod
    def map_placements(scale_maps: List[Tensor],
                       batch_data_samples: OptSampleList, test_cfg: ConfigType,
                       padded: bool) -> Optional[List[List[MapPlacement]]]:
        """Where each scale's maps ``(B, C, h_s, w_s)`` lie under the maps that
        are decoded, per image and scale; ``None`` where each image's are the
        plain resize of its maps, or its maps themselves.

        Restored (``restore_heatmap_size``), an image is decoded on its
        input's pixels; in a ``padded`` batch, from its part of the maps (the
        rows and columns that cover its input, :meth:`image_cuts`), at the
        batch maps' stride. In a multi-scale test the images of the pyramid
        are each rounded up to the ``size_factor`` and centred in their
        padding, so they are no scaled copies of the base image: each scale's
        maps are placed by the pyramid's places
        (:func:`~custom_modules.heads.pyramid_geometry.pyramid_map_placement`),
        on the input's pixels or, not restored, on the base scale's maps.

        Raises:
            ValueError: a multi-scale test without the pyramid's places in
                the metainfo.
        """
        restore = test_cfg.get('restore_heatmap_size', False)
        multiscale = test_cfg.get('multiscale_test', False)
        if not (multiscale or restore and padded):
            return None
        metainfos = [sample.metainfo for sample in batch_data_samples]
        if not multiscale:
            map_h, map_w = scale_maps[0].shape[-2:]
            return [[((map_h / meta['batch_input_shape'][0], 0.0),
                      (map_w / meta['batch_input_shape'][1], 0.0))]
                    for meta in metainfos]
        base_h, base_w = scale_maps[0].shape[-2:]
        placements = []
        for meta in metainfos:
            input_per_pixel = (1.0, 1.0)
            if not restore:  # on the base scale's maps of the batch
                check_pyramid_metainfo(meta, batch_shapes=True)
                batch_h, batch_w = meta['pyramid_batch_input_shapes'][0]
                input_per_pixel = (batch_w / base_w, batch_h / base_h)
            placements.append([
                pyramid_map_placement(meta, level, maps.shape[-2:],
                                      input_per_pixel)
                for level, maps in enumerate(scale_maps)
            ])
        return placements

    def decode(self,
               batch_outputs: Tuple[Tensor, Tensor],
               on_device: bool = False) -> List[InstanceData]:
        """``(heatmaps (B, M + 1, H, W), pafs (B, 2 L, H, W))``, or lists of
        one ``(M + 1, H_i, W_i)`` and ``(2 L, H_i, W_i)`` per image, -> one
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
            preds.append(people_instances(*decode(heatmaps, pafs)))
        return preds

    def decode_resized(
        self,
        scale_heatmaps: List[Tensor],
        scale_pafs: List[Tensor],
        sizes: Sequence[Tuple[int, int]],
        mode: str = 'bicubic',
        placements: Optional[List[List[MapPlacement]]] = None
    ) -> List[InstanceData]:
        """The people of the maps of each scale (``(B, M + 1, h, w)`` heatmaps
        and ``(B, 2 L, h, w)`` fields) resized to each image's ``sizes``
        ``(W, H)`` (placed by ``placements``, per image and scale,
        :meth:`map_placements`) and averaged, by the decoder's
        ``decode_resized``, without resizing them.

        Returns one ``InstanceData`` per image.
        """
        if self.decoder is None:
            raise RuntimeError(
                f'{type(self).__name__} has no decoder: set `decoder` in its '
                'config to predict')
        scale_heatmaps = [to_numpy(x) for x in scale_heatmaps]
        scale_pafs = [to_numpy(x) for x in scale_pafs]
        preds = []
        for i, size in enumerate(sizes):
            people = self.decoder.decode_resized(
                [x[i] for x in scale_heatmaps], [x[i] for x in scale_pafs],
                size, mode, None if placements is None else placements[i])
            preds.append(people_instances(*people))
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
    convs (``layer='MapOutput'``; the sample configs start it from N(0, 0.001)
    and the hidden convs from Kaiming).
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
