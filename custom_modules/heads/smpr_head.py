# Copyright (c) OpenMMLab. All rights reserved.
"""SMPR's dense pose regression head, shared over the FPN levels P3-P7.

See Lin et al., "SMPR: Single-Stage Multi-Person Pose Regression", Figure 3.
"""
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, Scale
from mmcv.ops import DeformConv2d
from mmengine.structures import InstanceData, PixelData
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.task_modules.prior_generators import MlvlPointGenerator
from mmpose.registry import MODELS, TASK_UTILS
from mmpose.utils import reduce_mean
from mmpose.utils.typing import (ConfigType, OptConfigType, OptSampleList,
                                 Predictions)
from torch import Tensor

from ..ops import grid_sample_deform_conv2d
from ..post_processing import keypoint_boxes, pose_nms
from ..task_modules import SMPRTargets
from .pyramid_geometry import clamp_to_image, pyramid_to_base_input

DEFORM_CONVS = ('auto', 'mmcv', 'grid_sample')
HeadOutputs = Tuple[List[Tensor], List[Tensor], List[Tensor], List[Tensor]]


@MODELS.register_module()
class SMPRHead(BaseHead):
    """The SMPR head: per location of every level, a person score, an initial
    pose, a pose refined on deformably aggregated features, and the pose's
    predicted OKS.

    Per level ``l`` with stride ``s_l`` (all convs shared over the levels):

    - two towers (classification and regression) of ``stacked_convs`` 3x3
      convs + GN + ReLU;
    - initial pose: a 3x3 conv on the regression tower to ``2K`` offsets ``(dx,
      dy)`` per keypoint, times a learnable per-level ``Scale``, in strides
      (``Delta`` of eq. 2);
    - feature aggregation (Sec. III-D): a 1x1 conv (no bias) maps the detached
      initial offsets to the sampling offsets of two 3x3
      ``mmcv.ops.DeformConv2d`` (``deform_groups`` groups), one on each tower,
      each followed by ReLU (computed as ``deform_conv`` says);
    - refined pose (eq. 3): initial offsets (detached) + a 3x3 conv of the
      aggregated regression features times a second per-level ``Scale``;
    - pose score (PSM, Sec. III-F): a 3x3 conv of the aggregated regression
      features to one logit;
    - person score: a 3x3 conv of the aggregated classification features to one
      logit;
    - on P3, for a training loss (and the maps of ``output_heatmaps`` at test
      time): the heatmap subnet, ``heatmap_convs`` 3x3 convs
      (``heatmap_channels``, GN, ReLU) of the FPN feature then a 3x3 conv to
      ``K`` logits.

    Loss (eq. 5): ``loss_cls`` (focal, final positives, averaged over their
    number plus one per image as the authors do), ``loss_heatmap``
    (focal, one class per keypoint pixel), ``loss_kpt_init`` (L1 in strides
    over the initial positives' visible keypoints, each positive weighted by
    its pose's OKS, normalised by the sum of OKS), ``loss_kpt_refine`` (the
    same at the final positives) and ``loss_pose_score`` (BCE with the OKS as
    target). Positives come from ``assigner``
    (:class:`~custom_modules.task_modules.SMPRAssigner`).

    Prediction (``test_cfg``): score = sigmoid(person) x sigmoid(pose score);
    per level the ``nms_pre`` best locations (all if it is 0 or less) of which
    those with a person score above ``score_thr``; refined poses decoded in
    input pixels; candidates of the flipped image (``flip_test``) and of
    other scales (``multiscale_test``, brought into the base image's input by
    :func:`~custom_modules.heads.pyramid_geometry.pyramid_to_base_input`)
    merged; keypoints moved into the image where ``clamp_to_image``;
    ``pose_nms`` with ``nms`` (Soft-NMS, IoU 0.3 by default); at most
    ``max_per_img`` people; ``output_heatmaps`` also gives the heatmap
    subnet's maps. The flip test swaps left and right keypoints by the
    ``flip_indices`` of the samples' metainfo (the dataset's, as mmpose's heads
    read them).

    Args:
        num_keypoints (int): ``K``. Defaults to 17 (COCO).
        in_channels (int): Channels of every pyramid level.
        feat_channels (int): Channels of the towers.
        stacked_convs (int): Convs per tower.
        strides (sequence of int): Strides of the levels, P3 first.
        deform_groups (int): Groups of the deformable convolutions' offsets.
        deform_conv (str): How the deformable convolutions are computed:
            ``'mmcv'`` (mmcv's kernel), ``'grid_sample'``
            (:func:`~custom_modules.ops.grid_sample_deform_conv2d`, the same
            function in torch operators) or ``'auto'`` (default): by sampling
            on the CPU, where mmcv's one-thread kernel is 3-8x slower forward
            and 10-18x with the backward, and in bf16, for which mmcv has no
            kernel; mmcv's kernel otherwise. The weights are the same either
            way. A module that ``replace_deform_convs`` put in place of one
            (export) computes itself, whatever this says.
        heatmap_channels (int): Channels of the heatmap subnet.
        heatmap_convs (int): Hidden convs of the heatmap subnet.
        norm_cfg (dict): Norm of the tower and heatmap convs. Defaults to GN
            with 32 groups.
        oks_positives_of (str): Whose OKS (of each location's pose with the
            person assigned to it) picks the refinement positives, weighs the
            keypoint L1 losses and is the pose-score target: ``'initial'``
            (the authors' code; the score branch then learns the initial
            pose's OKS and ranks the refined poses at test time) or
            ``'refined'`` poses (the paper's Sec. III-E wording, and III-F's
            "quality of the predicted poses"). One switch sets all three.
        assigner (dict): Target assigner config; its ``metainfo`` names the
            dataset whose OKS sigmas weigh the keypoints (COCO's by default).
        loss_cls, loss_heatmap, loss_kpt_init (dict): Losses with the paper's
            weights 1, 4 and 0.05.
        loss_kpt_refine, loss_pose_score (dict): Losses with the paper's
            weights 0.1 and 1.
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    #: the ``test_cfg`` keys :meth:`predict` reads (the paragraph above)
    TEST_CFG_KEYS = frozenset({
        'score_thr', 'nms_pre', 'nms', 'max_per_img', 'clamp_to_image',
        'flip_test', 'multiscale_test', 'output_heatmaps'
    })

    # ``output_heatmaps`` runs the heatmap subnet on P3, which is no output of
    # ``forward``: a network run elsewhere (onnxruntime, the fast path), which
    # gives the outputs only, cannot draw these maps
    maps_need_features = True

    def __init__(
        self,
        num_keypoints: int = 17,
        in_channels: int = 256,
        feat_channels: int = 256,
        stacked_convs: int = 4,
        strides: Sequence[int] = (8, 16, 32, 64, 128),
        deform_groups: int = 4,
        deform_conv: str = 'auto',
        heatmap_channels: int = 128,
        heatmap_convs: int = 2,
        norm_cfg: ConfigType = dict(
            type='GN', num_groups=32, requires_grad=True),
        oks_positives_of: str = 'initial',
        assigner: ConfigType = dict(type='SMPRAssigner'),
        loss_cls: ConfigType = dict(
            type='mmdet.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_heatmap: ConfigType = dict(
            type='mmdet.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=4.0),
        loss_kpt_init: ConfigType = dict(
            type='mmdet.L1Loss', loss_weight=0.05),
        loss_kpt_refine: ConfigType = dict(
            type='mmdet.L1Loss', loss_weight=0.1),
        loss_pose_score: ConfigType = dict(type='BCELoss', loss_weight=1.0),
        init_cfg: OptConfigType = dict(
            type='Normal',
            layer=['Conv2d', 'DeformConv2d'],
            std=0.01,
            override=[
                dict(type='Normal', name='cls_out', std=0.01, bias_prob=0.01),
                dict(
                    type='Normal',
                    name='heatmap_out',
                    std=0.01,
                    bias_prob=0.01),
                dict(type='Normal', name='dcn_offset', std=0.1),
            ])
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if oks_positives_of not in ('initial', 'refined'):
            raise ValueError(
                f"SMPRHead: oks_positives_of must be 'initial' or 'refined', "
                f'got {oks_positives_of!r}')
        self.num_keypoints = num_keypoints
        self.deform_conv = deform_conv
        self.strides = tuple(strides)
        self.oks_positives_of = oks_positives_of
        self.point_generator = MlvlPointGenerator(self.strides, offset=0.5)
        self.assigner = TASK_UTILS.build(assigner)
        sigmas = getattr(self.assigner, 'sigmas', None)
        if sigmas is not None and len(sigmas) != num_keypoints:
            raise ValueError(
                f"SMPRHead: the assigner's metainfo has {len(sigmas)} OKS "
                f'sigmas for {num_keypoints} keypoints')

        def tower(first: int, width: int, depth: int) -> nn.Sequential:
            return nn.Sequential(*[
                ConvModule(
                    first if i == 0 else width,
                    width,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg) for i in range(depth)
            ])

        num_offsets = 2 * num_keypoints
        self.cls_convs = tower(in_channels, feat_channels, stacked_convs)
        self.reg_convs = tower(in_channels, feat_channels, stacked_convs)
        self.init_out = nn.Conv2d(feat_channels, num_offsets, 3, padding=1)
        self.dcn_offset = nn.Conv2d(
            num_offsets, deform_groups * 2 * 9, 1, bias=False)
        self.dcn_cls = DeformConv2d(
            feat_channels,
            feat_channels,
            3,
            padding=1,
            deform_groups=deform_groups)
        self.dcn_reg = DeformConv2d(
            feat_channels,
            feat_channels,
            3,
            padding=1,
            deform_groups=deform_groups)
        self.cls_out = nn.Conv2d(feat_channels, 1, 3, padding=1)
        self.refine_out = nn.Conv2d(feat_channels, num_offsets, 3, padding=1)
        self.pose_score_out = nn.Conv2d(feat_channels, 1, 3, padding=1)
        self.init_scales = nn.ModuleList([Scale(1.0) for _ in self.strides])
        self.refine_scales = nn.ModuleList([Scale(1.0) for _ in self.strides])
        self.heatmap_convs = tower(in_channels, heatmap_channels,
                                   heatmap_convs)
        self.heatmap_out = nn.Conv2d(
            heatmap_channels, num_keypoints, 3, padding=1)

        self.loss_cls = MODELS.build(loss_cls)
        self.loss_heatmap = MODELS.build(loss_heatmap)
        self.loss_kpt_init = MODELS.build(loss_kpt_init)
        self.loss_kpt_refine = MODELS.build(loss_kpt_refine)
        self.loss_pose_score = MODELS.build(loss_pose_score)

    # ----------------------------------------------------------------- forward
    def forward(self, feats: Tuple[Tensor]) -> HeadOutputs:
        """Head outputs of every level.

        Args:
            feats (tuple[Tensor]): Pyramid features ``(N, in_channels, H_l,
                W_l)``, P3 first.

        Returns:
            tuple: four lists with one tensor per level: person logits ``(N, 1,
            H_l, W_l)``, pose score logits ``(N, 1, H_l, W_l)``, initial and
            refined offsets ``(N, 2K, H_l, W_l)`` in strides, ordered ``(dx_0,
            dy_0, dx_1, ...)``.
        """
        if len(feats) != len(self.strides):
            raise ValueError(f'SMPRHead: {len(feats)} feature levels for '
                             f'{len(self.strides)} strides {self.strides}')
        outputs = [
            self._forward_level(feat, level)
            for level, feat in enumerate(feats)
        ]
        return tuple(map(list, zip(*outputs)))

    def _forward_level(self, feat: Tensor, level: int) -> Tuple[Tensor, ...]:
        cls_feat = self.cls_convs(feat)
        reg_feat = self.reg_convs(feat)
        # the poses in float32 (under autocast or a reduced-precision network
        # too); the deformable convs' offsets in the features' dtype
        init = self.init_scales[level](self.init_out(reg_feat)).float()
        offsets = self.dcn_offset(init.detach().to(feat.dtype))
        cls_feat = torch.relu(self._deform(self.dcn_cls, cls_feat, offsets))
        reg_feat = torch.relu(self._deform(self.dcn_reg, reg_feat, offsets))
        refined = (
            init.detach() +
            self.refine_scales[level](self.refine_out(reg_feat)).float())
        return (self.cls_out(cls_feat), self.pose_score_out(reg_feat), init,
                refined)

    @property
    def deform_conv(self) -> str:
        """How the deformable convolutions are computed: ``'auto'``, ``'mmcv'``
        or ``'grid_sample'`` (the argument of the same name)."""
        return self._deform_conv

    @deform_conv.setter
    def deform_conv(self, value: str) -> None:
        if value not in DEFORM_CONVS:
            raise ValueError(f'SMPRHead: deform_conv must be one of '
                             f'{DEFORM_CONVS}, got {value!r}')
        self._deform_conv = value

    def samples_deform_convs(self,
                             device: torch.device,
                             dtype: torch.dtype = torch.float32) -> bool:
        """Whether the deformable convolutions of ``dtype`` inputs on
        ``device`` are computed by sampling (``deform_conv``)."""
        if self.deform_conv == 'auto':
            return device.type == 'cpu' or dtype == torch.bfloat16
        return self.deform_conv == 'grid_sample'

    def _deform(self, dcn: nn.Module, x: Tensor, offsets: Tensor) -> Tensor:
        """``dcn`` (an ``mmcv.ops.DeformConv2d``, or the module that
        ``replace_deform_convs`` put in its place) of ``x`` at ``offsets``."""
        if type(dcn) is DeformConv2d and self.samples_deform_convs(
                x.device, x.dtype):
            return grid_sample_deform_conv2d(x, offsets, dcn.weight,
                                             dcn.stride, dcn.padding,
                                             dcn.dilation, dcn.deform_groups)
        # mmcv's kernels take no channels-last tensors
        return dcn(x.contiguous(), offsets.contiguous())

    def locations(self, featmap_sizes: List[torch.Size],
                  device: torch.device) -> Tuple[Tensor, Tensor, Tensor]:
        """``(P, 2)`` location centres in input pixels, ``(P,)`` strides and
        ``(P,)`` levels."""
        points = self.point_generator.grid_priors(
            featmap_sizes, device=device, with_stride=True)
        level_inds = torch.cat([
            torch.full((len(p), ), i, dtype=torch.long, device=device)
            for i, p in enumerate(points)
        ])
        points = torch.cat(points)
        return points[:, :2], points[:, 2], level_inds

    @staticmethod
    def _flatten_logits(maps: List[Tensor]) -> Tensor:
        """Per-level ``(N, 1, H_l, W_l)`` logits -> ``(N, P)``."""
        return torch.cat([m.flatten(1) for m in maps], dim=1)

    def _flatten_offsets(self, maps: List[Tensor]) -> Tensor:
        """Per-level ``(N, 2K, H_l, W_l)`` offsets -> ``(N, P, K, 2)``."""
        offsets = torch.cat([m.flatten(2) for m in maps], dim=2)
        return offsets.transpose(1, 2).unflatten(2, (self.num_keypoints, 2))

    # -------------------------------------------------------------------- loss
    def loss(self,
             feats: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """The five losses of Equation 5 for a batch.

        ``gt_instance_labels`` of each sample holds ``keypoints``,
        ``keypoints_visible`` and ``areas`` in input pixels.
        """
        cls_logits, score_logits, init, refined = self.forward(feats)
        points, strides, level_inds = self.locations(
            [m.shape[2:] for m in cls_logits], cls_logits[0].device)
        cls_logits, score_logits = self._flatten_logits(cls_logits), \
            self._flatten_logits(score_logits)
        init, refined = self._flatten_offsets(init), self._flatten_offsets(
            refined)
        stride_k = strides[:, None, None]
        poses_for_oks = (init if self.oks_positives_of == 'initial' else
                         refined).detach()
        targets = [
            self.assigner.assign(points, strides, level_inds,
                                 points[:, None] + poses_for_oks[i] * stride_k,
                                 sample.gt_instance_labels)
            for i, sample in enumerate(batch_data_samples)
        ]
        init_inds = torch.stack([t.init_inds for t in targets]).flatten()
        final_pos = torch.stack([t.final_pos for t in targets]).flatten()
        oks = torch.stack([t.oks for t in targets]).flatten()
        target_keypoints = torch.stack([t.keypoints for t in targets])
        target_offsets = ((target_keypoints - points[None, :, None]) /
                          stride_k[None]).flatten(0, 1)
        keypoint_weights = (
            torch.stack([t.keypoint_weights for t in targets]).flatten(0, 1))
        init_pos = init_inds >= 0

        # averaged over the final positives plus one per image (the
        # authors'; their heatmap loss too), never over 0
        num_pos = reduce_mean(final_pos.sum().float() +
                              len(batch_data_samples)).item()
        # 0: person, 1: background (mmdet's convention)
        cls_labels = (~final_pos).long()
        losses = dict(
            loss_cls=self.loss_cls(
                cls_logits.reshape(-1, 1), cls_labels, avg_factor=num_pos),
            loss_heatmap=self._heatmap_loss(feats[0], batch_data_samples))
        losses['loss_kpt_init'] = self._keypoint_loss(self.loss_kpt_init,
                                                      init.flatten(0, 1),
                                                      target_offsets,
                                                      keypoint_weights, oks,
                                                      init_pos)
        losses['loss_kpt_refine'] = self._keypoint_loss(
            self.loss_kpt_refine, refined.flatten(0, 1), target_offsets,
            keypoint_weights, oks, final_pos)
        # pose score target: the OKS, at the final positives (at the initial
        # ones while there are none, as the authors do)
        score_pos = final_pos if final_pos.any() else init_pos
        score_logits = score_logits.flatten()
        if score_pos.any():
            losses['loss_pose_score'] = self.loss_pose_score(
                score_logits[score_pos], oks[score_pos])
        else:
            losses['loss_pose_score'] = score_logits.sum() * 0
        return losses

    @staticmethod
    def _keypoint_loss(loss_fn: nn.Module, pred: Tensor, target: Tensor,
                       keypoint_weights: Tensor, oks: Tensor,
                       positive: Tensor) -> Tensor:
        """L1 over the visible keypoints of the positives, each positive
        weighted by its OKS and the sum normalised by the positives' total OKS
        (the authors' ``KptL1Loss``)."""
        # reduced over all processes before any early return, so none waits for
        # another
        avg_factor = max(reduce_mean(oks[positive].sum()).item(), 1e-6)
        if not positive.any():
            return pred.sum() * 0
        weights = (
            keypoint_weights[positive][..., None] *
            oks[positive][:, None, None])
        return loss_fn(
            pred[positive],
            target[positive],
            weights.expand(-1, -1, 2),
            avg_factor=avg_factor)

    def _heatmap_loss(self, p3: Tensor,
                      batch_data_samples: OptSampleList) -> Tensor:
        """Focal loss of the auxiliary keypoint heatmap on P3, averaged over
        keypoint pixels."""
        logits = self.heatmap_out(self.heatmap_convs(p3))  # (N, K, H, W)
        labels = torch.stack([
            self.assigner.heatmap_labels(sample.gt_instance_labels,
                                         logits.shape[2:], self.strides[0],
                                         self.num_keypoints, logits.device)
            for sample in batch_data_samples
        ]).flatten()
        # over all processes, as the other losses' factors
        num_keypoint_pixels = reduce_mean(
            (labels < self.num_keypoints).sum().float() +
            len(batch_data_samples)).item()
        return self.loss_heatmap(
            logits.permute(0, 2, 3, 1).reshape(-1, self.num_keypoints),
            labels,
            avg_factor=num_keypoint_pixels)

    # -------------------------------------------------------------- prediction
    def predict(self,
                feats: Union[Sequence[Tensor], list],
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Poses of each image in input pixels.

        Args:
            feats: The pyramid features; with ``test_cfg['flip_test']`` a pair
                (original, mirrored image), with
                ``test_cfg['multiscale_test']`` one such entry per scale, the
                first at the scale of ``input_size`` and the others at
                ``metainfo['aug_scales']``.
            batch_data_samples (list[PoseDataSample]): Metainfo with
                ``input_size`` and ``batch_input_shape``, for the flip test
                the dataset's ``flip_indices``, for the multi-scale test the
                pyramid's ``pyramid_*`` lists
                (:class:`~custom_modules.datasets.transforms.
                PyramidBottomupResize`) and ``pyramid_batch_input_shapes``
                (:class:`~custom_modules.data_preprocessors.
                MultiScalePoseDataPreprocessor`).
            test_cfg (dict): ``score_thr`` (0.05), ``nms_pre`` (1000), ``nms``
                (``dict(type='soft_nms', iou_threshold=0.3)``), ``max_per_img``
                (20), ``flip_test``, ``multiscale_test``, ``clamp_to_image``
                (False; True: keypoints outside the image moved onto its
                border before NMS, as the authors' test does, which needs
                ``input_size``, ``input_center``, ``input_scale`` and
                ``ori_shape`` in the metainfo).

        Returns:
            list[InstanceData]: per image ``keypoints`` ``(M, K, 2)``,
            ``keypoint_scores`` ``(M, K)`` (the pose's score), ``bbox_scores``
            ``(M,)`` and ``bboxes`` ``(M, 4)`` spanned by the keypoints, as
            numpy arrays; with ``test_cfg['output_heatmaps']`` the pair of
            that list and one ``PixelData(heatmaps (K, h, w))`` per image
            (:meth:`keypoint_heatmaps`).
        """
        metainfo = batch_data_samples[0].metainfo
        scales = [1.0]
        if test_cfg.get('multiscale_test', False):
            scales += list(metainfo.get('aug_scales') or [])
        else:
            feats = [feats]
        if len(feats) != len(scales):
            raise ValueError(
                f'SMPRHead.predict: {len(feats)} feature sets for scales '
                f'{scales}')

        flip_indices = None
        if test_cfg.get('flip_test', False):
            flip_indices = metainfo.get('flip_indices')
            if flip_indices is None or len(flip_indices) != self.num_keypoints:
                raise ValueError(
                    'SMPRHead.predict: the flip test needs the flip_indices '
                    f'of {self.num_keypoints} keypoints in the metainfo (the '
                    "dataset's, packed by PackPoseInputs), got "
                    f'{flip_indices}')
            flip_indices = list(flip_indices)

        candidates = [[] for _ in batch_data_samples]
        for scale_idx, scale_feats in enumerate(feats):
            views = [(scale_feats, False)]
            if test_cfg.get('flip_test', False):
                views = [(scale_feats[0], False), (scale_feats[1], True)]
            for view_feats, flipped in views:
                cls_logits, score_logits, _, refined = self.forward(view_feats)
                for i, sample in enumerate(batch_data_samples):
                    keypoints, scores = self.candidates(
                        [m[i] for m in cls_logits],
                        [m[i] for m in score_logits],
                        [m[i] for m in refined],
                        test_cfg,
                    )
                    if flipped:
                        # the batch was mirrored whole, padding included
                        width = sample.metainfo['batch_input_shape'][1]
                        if len(scales) > 1:
                            width = sample.metainfo[
                                'pyramid_batch_input_shapes'][scale_idx][1]
                        keypoints = keypoints[:, flip_indices]
                        keypoints[..., 0] = width - 1 - keypoints[..., 0]
                    if scale_idx:
                        keypoints = pyramid_to_base_input(
                            keypoints, sample.metainfo, scale_idx)
                    candidates[i].append((keypoints, scores))

        nms_cfg = test_cfg.get('nms', dict(type='soft_nms', iou_threshold=0.3))
        results = []
        for image_candidates, sample in zip(candidates, batch_data_samples):
            keypoints = torch.cat([c[0] for c in image_candidates])
            scores = torch.cat([c[1] for c in image_candidates])
            if test_cfg.get('clamp_to_image', False):
                keypoints = clamp_to_image(keypoints, sample.metainfo)
            keep, kept_scores = pose_nms(keypoints, scores, nms_cfg,
                                         test_cfg.get('max_per_img', 20))
            keypoints = keypoints[keep]
            per_keypoint = kept_scores[:, None].expand(-1, self.num_keypoints)
            results.append(
                InstanceData(
                    keypoints=keypoints.cpu().numpy(),
                    keypoint_scores=per_keypoint.cpu().numpy(),
                    bbox_scores=kept_scores.cpu().numpy(),
                    bboxes=keypoint_boxes(keypoints).cpu().numpy()
                    if len(keypoints) else np.zeros((0, 4), np.float32)))
        if test_cfg.get('output_heatmaps', False):
            flip_test = test_cfg.get('flip_test', False)
            base = feats[0][0] if flip_test else feats[0]
            if not isinstance(base, (list, tuple)):
                raise ValueError(
                    'SMPRHead.predict: output_heatmaps needs the pyramid\'s '
                    f'features, got {type(base).__name__} (a network run '
                    'outside PyTorch gives its outputs only)')
            return results, self.keypoint_heatmaps(base[0], batch_data_samples)
        return results

    def keypoint_heatmaps(self, p3: Tensor, batch_data_samples: OptSampleList
                          ) -> List[PixelData]:
        """The heatmap subnet's keypoint maps (sigmoid) on ``p3`` (N, C, H, W),
        cut to each image's input (the batch's padding left out).

        They are what ``output_heatmaps`` (mmpose's ``--draw-heatmap``) shows:
        ``(K, h, w)`` per image, at P3's stride.
        """
        maps = torch.sigmoid(self.heatmap_out(self.heatmap_convs(p3))).detach()
        fields = []
        for i, sample in enumerate(batch_data_samples):
            pad_h, pad_w = sample.metainfo['batch_input_shape']
            in_w, in_h = sample.metainfo['input_size']
            rows = max(1, round(maps.shape[2] * in_h / pad_h))
            cols = max(1, round(maps.shape[3] * in_w / pad_w))
            fields.append(PixelData(heatmaps=maps[i, :, :rows, :cols]))
        return fields

    def candidates(self,
                   cls_logits: List[Tensor],
                   score_logits: List[Tensor],
                   refined: List[Tensor],
                   test_cfg: ConfigType = {}) -> Tuple[Tensor, Tensor]:
        """Candidate poses of one image before NMS.

        Args:
            cls_logits, score_logits (list[Tensor]): Per level
                ``(1, H_l, W_l)`` logits.
            refined (list[Tensor]): Per level ``(2K, H_l, W_l)`` refined
                offsets in strides.
            test_cfg (dict): ``nms_pre`` (the best locations per level by
                the product of scores; <= 0: all) and ``score_thr`` (their
                person score must be above it).

        Returns:
            tuple: ``(M, K, 2)`` poses in input pixels and their ``(M,)``
            scores sigmoid(person) x sigmoid(pose score), best first per level.
        """
        score_thr = test_cfg.get('score_thr', 0.05)
        nms_pre = test_cfg.get('nms_pre', 1000)
        featmap_sizes = [m.shape[-2:] for m in cls_logits]
        points = self.point_generator.grid_priors(
            featmap_sizes, device=cls_logits[0].device)
        all_keypoints, all_scores = [], []
        for level, stride in enumerate(self.strides):
            person = cls_logits[level].sigmoid().flatten()
            scores = person * score_logits[level].sigmoid().flatten()
            # as the authors' (mmdetection 1.x FCOS) test: the product picks
            # the nms_pre best (all with nms_pre <= 0), then their person
            # score must pass score_thr
            count = len(scores) if nms_pre <= 0 else min(nms_pre, len(scores))
            scores, best = scores.topk(count)
            passed = person[best] > score_thr
            scores, best = scores[passed], best[passed]
            level_points = points[level][best]
            offsets = refined[level].flatten(1).T[best].unflatten(
                1, (self.num_keypoints, 2))
            all_keypoints.append(level_points[:, None] + offsets * stride)
            all_scores.append(scores)
        return torch.cat(all_keypoints), torch.cat(all_scores)

    # ------------------------------------------------------- export and oracle
    def output_names(self) -> List[str]:
        """Names of the tensors of :meth:`forward` in their flattened order
        (depth first, as an ONNX export lists them).

        Per kind (``cls``, ``pose_score``, ``init``, ``refined``) one per
        level, the level named ``p{log2 s}`` by its stride ``s``: ``cls_p3``,
        ..., ``refined_p7``.
        """
        levels = [f'p{int(np.log2(stride))}' for stride in self.strides]
        return [
            f'{kind}_{level}'
            for kind in ('cls', 'pose_score', 'init', 'refined')
            for level in levels
        ]

    def perfect_targets(self, gt_instances: InstanceData,
                        featmap_sizes: List[Tuple[int, int]]) -> SMPRTargets:
        """The assigner's targets of one image when the initial poses are
        exact: assigned once with empty initial poses, then again with those
        targets' keypoints as the initial poses, so that every initial positive
        is also a final positive.

        Args:
            gt_instances (InstanceData): ``keypoints`` ``(N, K, 2)``,
                ``keypoints_visible`` ``(N, K)`` and ``areas`` ``(N,)`` in
                input pixels.
            featmap_sizes (list[tuple[int, int]]): ``(H_l, W_l)`` of every
                level, P3 first.
        """
        points, strides, levels = self.locations(featmap_sizes,
                                                 torch.device('cpu'))
        empty = points.new_zeros(len(points), self.num_keypoints, 2)
        first = self.assigner.assign(points, strides, levels, empty,
                                     gt_instances)
        return self.assigner.assign(points, strides, levels, first.keypoints,
                                    gt_instances)

    def perfect_outputs(self,
                        gt_instances: InstanceData,
                        featmap_sizes: List[Tuple[int, int]],
                        input_shape: Tuple[int, int],
                        logit: float = 10.0) -> HeadOutputs:
        """What :meth:`forward` would return for one image if it were right
        wherever :meth:`perfect_targets` puts a target: person and pose-score
        logits ``+logit`` on the final positives and ``-logit`` elsewhere,
        initial and refined offsets pointing at the target keypoints. Decoding
        them is the decode oracle; the benchmarks time it as a trained model's
        post-processing.

        Args:
            gt_instances (InstanceData): As :meth:`perfect_targets`.
            featmap_sizes (list[tuple[int, int]]): As :meth:`perfect_targets`.
            input_shape (tuple[int, int]): ``(H_in, W_in)`` of the network
                input; unused (the strides place the levels), taken as every
                head's ``perfect_outputs`` takes it.
            logit (float): Magnitude of the score logits. Defaults to 10.

        Returns:
            tuple: four lists with one tensor per level, as :meth:`forward`
            returns them for a batch of 1 (CPU): ``(1, 1, H_l, W_l)`` person
            and pose-score logits, ``(1, 2K, H_l, W_l)`` initial and refined
            offsets in strides.
        """
        targets = self.perfect_targets(gt_instances, featmap_sizes)
        points, strides, _ = self.locations(featmap_sizes, torch.device('cpu'))
        logits = torch.where(targets.final_pos, logit, -logit)
        offsets = ((targets.keypoints - points[:, None]) /
                   strides[:, None, None]).flatten(1)
        scores, poses, start = [], [], 0
        for height, width in featmap_sizes:
            end = start + height * width
            scores.append(logits[start:end].view(1, 1, height, width))
            pose = offsets[start:end].T.reshape(1, 2 * self.num_keypoints,
                                                height, width)
            poses.append(pose)
            start = end
        return scores, scores, poses, poses
