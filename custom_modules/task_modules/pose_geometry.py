# Copyright (c) OpenMMLab. All rights reserved.
"""Geometry of poses that dense pose heads need for their targets: pseudo boxes
and OKS."""
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


def keypoint_oks(pred: Tensor, gt: Tensor, visible: Tensor, areas: Tensor,
                 sigmas: Tensor) -> Tensor:
    """Object keypoint similarity of every predicted pose with every
    ground-truth pose (SMPR eq. 4, COCO's definition): ``mean over visible k of
    exp(-d_k^2 / (2 s^2 kappa_k^2))`` with ``s^2`` the person's area and
    ``kappa_k = 2 sigma_k``.

    Args:
        pred (Tensor): ``(P, K, 2)`` predicted keypoints in pixels.
        gt (Tensor): ``(N, K, 2)`` ground-truth keypoints in pixels.
        visible (Tensor): ``(N, K)`` ground-truth visibility (> 0 counts).
        areas (Tensor): ``(N,)`` person areas in square pixels (COCO's
            segmentation area).
        sigmas (Tensor): ``(K,)`` per-keypoint sigmas (the dataset metainfo's
            ``sigmas``).

    Returns:
        Tensor: ``(P, N)`` OKS in [0, 1]; 0 for a person with no visible
            keypoint.
    """
    vis = (visible > 0).to(pred.dtype)
    d2 = ((pred[:, None] - gt[None])**2).sum(-1)  # (P, N, K)
    # scale: (N, K)
    scale = 2 * areas.clamp(min=1e-6)[:, None] * (2 * sigmas[None])**2
    similarity = torch.exp(-d2 / scale[None])
    return (similarity * vis[None]).sum(-1) / vis.sum(-1).clamp(min=1)[None]
