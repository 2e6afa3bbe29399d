# Copyright (c) OpenMMLab. All rights reserved.
"""Non-maximum suppression of whole poses, on the boxes their keypoints span
(mmcv's NMS; Soft-NMS as torch ops, :mod:`.soft_nms`)."""
from typing import Tuple

import torch
from mmcv.ops import batched_nms
from torch import Tensor

from .pose_boxes import keypoint_boxes
from .soft_nms import soft_nms_first

#: Up to this many candidates on the CPU, mmcv's ``soft_nms`` (all rounds, in
#: C++) beats ``soft_nms_first`` (20 rounds of torch ops, 1.3-2 ms for up to
#: 3,000 candidates on a 2-core CPU); beyond, its ``O(N^2)`` loses
#: (``tools/analysis/benchmark_pose_nms.py``: 1.2 vs 1.6 ms for 1,000
#: clustered candidates, 47 vs 2.9 ms for 3,400 spread ones).
CPU_SOFT_NMS_MAX = 1000
#: The arguments of Soft-NMS (mmcv's ``soft_nms``, :func:`soft_nms_first`).
SOFT_NMS_KEYS = ('iou_threshold', 'sigma', 'min_score', 'method', 'offset')


def pose_nms(keypoints: Tensor, scores: Tensor, nms_cfg: dict,
             max_per_img: int) -> Tuple[Tensor, Tensor]:
    """Suppress duplicate poses as SMPR does: NMS (``type='nms'``) or Soft-NMS
    (``type='soft_nms'``, linear by default, the paper's [1]) on the boxes
    spanned by each pose's keypoints, on their device.

    NMS is mmcv's ``batched_nms`` (its CUDA kernel on a GPU). Soft-NMS keeps
    the same poses either way (up to ties of score): off the CPU, or for more
    than :data:`CPU_SOFT_NMS_MAX` candidates, :func:`~.soft_nms.soft_nms_first`
    (the ``max_per_img`` rounds whose poses are kept, torch ops on the
    candidates' device); else mmcv's ``soft_nms``, which runs all rounds on
    the CPU, faster for few candidates there. Both take the same
    ``nms_cfg`` (:func:`soft_nms_arguments`) and any float dtype.

    Args:
        keypoints (Tensor): ``(M, K, 2)`` candidate poses in pixels.
        scores (Tensor): ``(M,)`` their scores.
        nms_cfg (dict): ``type`` (``'nms'`` or ``'soft_nms'``) and the
            arguments of mmcv's ``nms`` or ``soft_nms``, e.g.
            ``dict(type='soft_nms', iou_threshold=0.3)``.
        max_per_img (int): How many poses to keep at most; 0 or less keeps
            all that survive (mmdet's ``multiclass_nms`` convention).

    Returns:
        tuple: ``keep`` ``(M',)`` long indices into the candidates, best first,
        and their ``(M',)`` scores after suppression (Soft-NMS lowers them).
    """
    if len(scores) == 0:
        return torch.zeros(0, dtype=torch.long, device=scores.device), scores
    boxes, scores = keypoint_boxes(keypoints).float(), scores.float()
    if max_per_img <= 0:
        max_per_img = len(scores)
    nms_cfg = dict(nms_cfg)
    if nms_cfg.get('type') == 'soft_nms':
        arguments = soft_nms_arguments(nms_cfg)
        if scores.device.type != 'cpu' or len(scores) > CPU_SOFT_NMS_MAX:
            return soft_nms_first(boxes, scores, max_per_img, **arguments)
        nms_cfg = dict(type='soft_nms', **arguments)
    dets, keep = batched_nms(
        boxes,
        scores,
        torch.zeros(len(scores), dtype=torch.long, device=scores.device),
        nms_cfg,
        class_agnostic=True)
    return keep[:max_per_img], dets[:max_per_img, -1]


def soft_nms_arguments(nms_cfg: dict) -> dict:
    """The arguments of Soft-NMS in a ``dict(type='soft_nms', ...)`` config of
    mmcv's ``batched_nms``, the same for both of :func:`pose_nms`'s paths:
    ``iou_thr`` read as ``iou_threshold`` (mmcv's old name), ``split_thr`` and
    ``class_agnostic`` dropped (the poses are one class).

    Raises:
        ValueError: For any other key than ``type`` and those of
            :data:`SOFT_NMS_KEYS`, naming it.
    """
    arguments = {
        'iou_threshold' if key == 'iou_thr' else key: value
        for key, value in nms_cfg.items()
        if key not in ('type', 'split_thr', 'class_agnostic')
    }
    unknown = sorted(set(arguments) - set(SOFT_NMS_KEYS))
    if unknown:
        raise ValueError(
            f'pose_nms: nms_cfg {nms_cfg} has {unknown}; Soft-NMS takes '
            f'{list(SOFT_NMS_KEYS)} (the most poses kept is the test_cfg\'s '
            'max_per_img)')
    return arguments
