# Copyright (c) OpenMMLab. All rights reserved.
"""Geometry of poses that dense pose heads need for their targets: pseudo boxes
(OKS is mmpose's ``PoseOKS``)."""
from typing import Tuple

import torch
from torch import Tensor


def pseudo_boxes(keypoints: Tensor,
                 visible: Tensor,
                 min_size: float = 1.0) -> Tuple[Tensor, Tensor]:
    """The tight box of each person's visible keypoints (SMPR's "pseudo box",
    Sec. III-C).

    Args:
        keypoints (Tensor): ``(N, K, 2)`` keypoints in pixels.
        visible (Tensor): ``(N, K)`` visibility; a keypoint counts when it is >
            0.
        min_size (float): A box narrower or lower than this many pixels (a
            person with one visible keypoint, or none) is marked invalid.

    Returns:
        tuple: ``boxes`` ``(N, 4)`` as ``(x1, y1, x2, y2)`` in pixels (zeros
        where invalid) and ``valid`` ``(N,)`` bool.
    """
    vis = visible > 0
    inf = keypoints.new_tensor(float('inf'))
    low = torch.where(vis[..., None], keypoints, inf).amin(dim=1)
    high = torch.where(vis[..., None], keypoints, -inf).amax(dim=1)
    boxes = torch.cat([low, high], dim=-1)
    valid = vis.any(dim=1) & ((high - low) >= min_size).all(dim=-1)
    return torch.where(valid[:, None], boxes, torch.zeros_like(boxes)), valid
