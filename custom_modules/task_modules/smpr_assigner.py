# Copyright (c) OpenMMLab. All rights reserved.
"""SMPR's training targets, kept apart from the head's forward pass."""
from typing import NamedTuple, Sequence, Tuple, Union

import torch
from mmengine.structures import InstanceData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.models.task_modules.assigners import PoseOKS
from mmpose.registry import TASK_UTILS
from torch import Tensor

from .pose_geometry import pseudo_boxes

INF = 1e8


class SMPRTargets(NamedTuple):
    """Targets of one image at its ``P`` locations (all pyramid levels,
    concatenated).

    Attributes:
        init_inds (Tensor): ``(P,)`` long, the person whose shrunk pseudo box
            holds the location (positive of the initial regression), -1
            elsewhere.
        final_pos (Tensor): ``(P,)`` bool, positive of classification,
            refinement and pose score: an initial positive whose pose has OKS
            >= ``pos_oks_thr`` with some person, or is some person's best pose.
        oks (Tensor): ``(P,)`` the best OKS of the location's pose over the
            people: the weight of the keypoint losses and the pose-score
            target.
        keypoints (Tensor): ``(P, K, 2)`` target keypoints in pixels (of
            ``init_inds``; 0 elsewhere).
        keypoint_weights (Tensor): ``(P, K)`` 1 on the target's visible
            keypoints, 0 elsewhere.
    """
    init_inds: Tensor
    final_pos: Tensor
    oks: Tensor
    keypoints: Tensor
    keypoint_weights: Tensor


@TASK_UTILS.register_module()
class SMPRAssigner:
    """Positive pose hypotheses of SMPR (Sec. III-C and III-E of the paper,
    with the choices of the authors' code where the paper is silent).

    1. Pseudo boxes: the tight box of each person's visible keypoints; people
       whose box is smaller than ``min_box_size`` (one visible keypoint) take
       no part in training, as in the authors' data loader. Crowd annotations
       stay among mmpose's bottom-up instances (their segmentations also in
       ``invalid_segs``); COCO's have no labelled keypoints, so the configs'
       ``FilterAnnotations(by_kpt=True)`` and this check drop them.
    2. Levels and initial positives: a location of level ``l`` is positive for
       a person when it lies inside the person's pseudo box shrunk to
       ``+-center_sample_radius * stride`` around the box centre, and the
       largest distance from the location to a side of the pseudo box lies
       within ``regress_ranges[l]`` (FCOS centre sampling and scale
       assignment); ties go to the smallest box.
    3. Final positives: the OKS of each location's initial pose
       (``pred_keypoints``, detached) with every person; a location is an OKS
       positive when its best OKS is >= ``pos_oks_thr`` or it is the best
       location of some person with OKS > 0 (the authors' ``MaxOKSAssigner``
       takes it at OKS 0 too, where every location of an untrained pose ties
       for a person it misses entirely). Final positives are the initial
       positives that are also OKS positives (the two may name different
       people, as in the authors' code).

    Args:
        regress_ranges (sequence of (float, float)): Per-level range of the
            largest location-to-side distance, in input pixels.
        center_sample_radius (float): Half side of the shrunk box in strides.
        pos_oks_thr (float): OKS threshold of a refinement positive.
        min_box_size (float): Smallest pseudo-box side in pixels.
        metainfo (str | dict): The dataset's meta information, whose ``sigmas``
            (one per keypoint) define the OKS: a dataset config file, as
            mmpose's ``PoseOKS`` and ``OKSLoss`` take it
            (``parse_pose_metainfo``: a path that is no file is looked up by
            its name among mmpose's ``.mim/configs/_base_/datasets``), or the
            ``dataset_info`` dict of such a file. Defaults to COCO's,
            ``'configs/_base_/datasets/coco.py'``.
    """

    def __init__(
        self,
        regress_ranges: Sequence[Tuple[float, float]] = (
            (-1, 64),
            (64, 128),
            (128, 256),
            (256, 512),
            (512, INF),
        ),
        center_sample_radius: float = 1.5,
        pos_oks_thr: float = 0.5,
        min_box_size: float = 1.0,
        metainfo: Union[str, dict] = 'configs/_base_/datasets/coco.py',
    ) -> None:
        self.regress_ranges = tuple(
            tuple(map(float, r)) for r in regress_ranges)
        self.center_sample_radius = center_sample_radius
        self.pos_oks_thr = pos_oks_thr
        self.min_box_size = min_box_size
        source = (
            dict(from_file=metainfo)
            if isinstance(metainfo, str) else dict(metainfo))
        meta = parse_pose_metainfo(source)
        sigmas = meta['sigmas'].ravel()
        if len(sigmas) != meta['num_keypoints']:
            raise ValueError(
                f"SMPRAssigner: the metainfo of {meta['dataset_name']!r} has "
                f"{len(sigmas)} OKS sigmas for {meta['num_keypoints']} "
                'keypoints')
        self.sigmas = tuple(float(s) for s in sigmas)
        # mmpose's OKS (SMPR eq. 4, COCO's definition); it reads its sigmas
        # from a file only, and the metainfo may be a dict
        self.oks_calculator = PoseOKS(metainfo=None)
        self.oks_calculator.sigmas = torch.tensor(self.sigmas)

    def assign(self, points: Tensor, strides: Tensor, level_inds: Tensor,
               pred_keypoints: Tensor,
               gt_instances: InstanceData) -> SMPRTargets:
        """Targets of one image.

        Args:
            points (Tensor): ``(P, 2)`` location centres in input pixels.
            strides (Tensor): ``(P,)`` the stride of each location's level.
            level_inds (Tensor): ``(P,)`` long, each location's level (index
                into ``regress_ranges``).
            pred_keypoints (Tensor): ``(P, K, 2)`` the initial poses in pixels
                (no gradient needed).
            gt_instances (InstanceData): ``keypoints`` ``(N, K, 2)``,
                ``keypoints_visible`` ``(N, K)`` and ``areas`` ``(N,)`` in
                input pixels.

        Returns:
            SMPRTargets: the targets at the ``P`` locations.
        """
        num_points, num_keypoints = pred_keypoints.shape[:2]
        if num_keypoints != len(self.sigmas):
            raise ValueError(
                f'SMPRAssigner: poses of {num_keypoints} keypoints, OKS '
                f'sigmas of {len(self.sigmas)} (the metainfo)')
        gt_keypoints = torch.as_tensor(
            gt_instances.keypoints, dtype=points.dtype,
            device=points.device).reshape(-1, num_keypoints, 2)
        gt_visible = torch.as_tensor(
            gt_instances.keypoints_visible,
            dtype=points.dtype,
            device=points.device).reshape(-1, num_keypoints)
        boxes, valid = pseudo_boxes(gt_keypoints, gt_visible,
                                    self.min_box_size)
        gt_keypoints, gt_visible, boxes = (gt_keypoints[valid],
                                           gt_visible[valid], boxes[valid])
        areas = torch.as_tensor(
            gt_instances.areas, dtype=points.dtype,
            device=points.device).reshape(-1)[valid]

        if len(boxes) == 0:
            return SMPRTargets(
                torch.full((num_points, ),
                           -1,
                           dtype=torch.long,
                           device=points.device),
                torch.zeros(
                    num_points, dtype=torch.bool, device=points.device),
                points.new_zeros(num_points),
                points.new_zeros(num_points, num_keypoints, 2),
                points.new_zeros(num_points, num_keypoints))

        init_inds = self.assign_initial(points, strides, level_inds, boxes)
        init_pos = init_inds >= 0
        oks_all = self.oks_calculator(pred_keypoints.detach()[:, None],
                                      gt_keypoints[None],
                                      (gt_visible[None]
                                       > 0).to(points.dtype), areas)  # (P, N)
        oks = oks_all.max(dim=1).values
        best_per_person = oks_all.max(dim=0).values
        is_best = ((oks_all == best_per_person[None]) &
                   (best_per_person[None] > 0)).any(dim=1)
        oks_pos = (oks >= self.pos_oks_thr) | is_best

        safe = init_inds.clamp(min=0)
        keypoints = gt_keypoints[safe] * init_pos[:, None, None]
        weights = (gt_visible[safe] > 0).to(points.dtype) * init_pos[:, None]
        return SMPRTargets(init_inds, init_pos & oks_pos, oks, keypoints,
                           weights)

    def assign_initial(self, points: Tensor, strides: Tensor,
                       level_inds: Tensor, boxes: Tensor) -> Tensor:
        """Initial positives: the person (index into ``boxes``) whose shrunk
        pseudo box holds each location within its level's regress range, the
        smallest box on ties; -1 for none.

        Args:
            points (Tensor): ``(P, 2)`` location centres in pixels.
            strides (Tensor): ``(P,)`` strides.
            level_inds (Tensor): ``(P,)`` long level indices.
            boxes (Tensor): ``(N, 4)`` valid pseudo boxes ``(x1, y1, x2, y2)``
                in pixels.
        """
        if len(boxes) == 0:
            return torch.full((len(points), ),
                              -1,
                              dtype=torch.long,
                              device=points.device)
        x, y = points[:, 0:1], points[:, 1:2]  # (P, 1)
        x1, y1, x2, y2 = boxes.T[:, None]  # each (1, N)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        radius = strides[:, None] * self.center_sample_radius
        inside_shrunk = ((x > torch.maximum(cx - radius, x1))
                         & (x < torch.minimum(cx + radius, x2))
                         & (y > torch.maximum(cy - radius, y1))
                         & (y < torch.minimum(cy + radius, y2)))
        max_side_dist = (
            torch.stack([x - x1, y - y1, x2 - x, y2 - y], dim=-1).amax(dim=-1))
        ranges = points.new_tensor(self.regress_ranges)[level_inds]  # (P, 2)
        in_range = ((max_side_dist >= ranges[:, 0:1])
                    & (max_side_dist <= ranges[:, 1:2]))
        box_areas = ((x2 - x1) * (y2 - y1)).expand(len(points), -1)
        candidate_areas = torch.where(inside_shrunk & in_range, box_areas,
                                      INF * INF)
        min_area, inds = candidate_areas.min(dim=1)
        return torch.where(min_area < INF * INF, inds,
                           torch.full_like(inds, -1))

    def heatmap_labels(self,
                       gt_instances: InstanceData,
                       featmap_size: Tuple[int, int],
                       stride: int,
                       num_keypoints: int,
                       device: Union[str, torch.device] = 'cpu') -> Tensor:
        """Per-pixel class of the auxiliary heatmap (SMPR Sec. III-B, on P3).

        Keypoint ``k`` of any person who takes part in training (a pseudo box
        of at least ``min_box_size``, as in :meth:`assign`) sets its nearest
        location ``round((x - stride/2) / stride)`` to ``k``; every other
        location is ``num_keypoints`` (background, mmdet's label convention).

        Args:
            gt_instances (InstanceData): ``keypoints`` ``(N, K, 2)`` in input
                pixels and ``keypoints_visible`` ``(N, K)`` (tensors on any
                device, or arrays).
            featmap_size (tuple[int, int]): ``(H, W)`` of P3.
            stride (int): P3's stride in input pixels.
            num_keypoints (int): ``K``.
            device (str | torch.device): Where the labels are made (the logits'
                device).

        Returns:
            Tensor: ``(H, W)`` long labels on ``device``.
        """
        height, width = featmap_size
        labels = torch.full((height, width),
                            num_keypoints,
                            dtype=torch.long,
                            device=device)
        keypoints = torch.as_tensor(
            gt_instances.keypoints, dtype=torch.float32,
            device=device).reshape(-1, num_keypoints, 2)
        visible = torch.as_tensor(
            gt_instances.keypoints_visible,
            device=device).reshape(-1, num_keypoints) > 0
        _, valid = pseudo_boxes(keypoints, visible, self.min_box_size)
        visible = visible & valid[:, None]
        cols = torch.round((keypoints[..., 0] - stride / 2) / stride).long()
        rows = torch.round((keypoints[..., 1] - stride / 2) / stride).long()
        kinds = torch.arange(num_keypoints, device=device).expand_as(cols)
        keep = (
            visible & (cols >= 0) & (cols < width) & (rows >= 0) &
            (rows < height))
        labels[rows[keep], cols[keep]] = kinds[keep]
        return labels
