# Copyright (c) OpenMMLab. All rights reserved.
"""Non-maximum suppression of whole poses, on the boxes their keypoints span
(mmcv's box ops)."""
from typing import Tuple

import torch
from mmcv.ops import batched_nms
from torch import Tensor


def keypoint_boxes(keypoints: Tensor) -> Tensor:
    """``(M, K, 2)`` keypoints -> ``(M, 4)`` boxes ``(x1, y1, x2, y2)``
    spanning all of them."""
    return torch.cat([keypoints.amin(dim=1), keypoints.amax(dim=1)], dim=-1)


def pose_nms(keypoints: Tensor, scores: Tensor, nms_cfg: dict,
             max_per_img: int) -> Tuple[Tensor, Tensor]:
    """Suppress duplicate poses as SMPR does: NMS (``type='nms'``) or Soft-NMS
    (``type='soft_nms'``, linear by default, the paper's [1]) on the boxes
    spanned by each pose's keypoints.

    Args:
        keypoints (Tensor): ``(M, K, 2)`` candidate poses in pixels.
        scores (Tensor): ``(M,)`` their scores.
        nms_cfg (dict): mmcv's ``batched_nms`` config, e.g.
            ``dict(type='soft_nms', iou_threshold=0.3)``.
        max_per_img (int): How many poses to keep at most.

    Returns:
        tuple: ``keep`` ``(M',)`` long indices into the candidates, best first,
        and their ``(M',)`` scores after suppression (Soft-NMS lowers them).
    """
    if len(scores) == 0:
        return torch.zeros(0, dtype=torch.long, device=scores.device), scores
    dets, keep = batched_nms(
        keypoint_boxes(keypoints),
        scores,
        torch.zeros(len(scores), dtype=torch.long, device=scores.device),
        dict(nms_cfg),
        class_agnostic=True)
    return keep[:max_per_img], dets[:max_per_img, -1]
