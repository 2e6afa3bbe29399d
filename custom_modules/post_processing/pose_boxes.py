# Copyright (c) OpenMMLab. All rights reserved.
"""Boxes of poses: what bottom-up models, which find no boxes, report as a
person's box, and what pose NMS and tracking compare."""
import numpy as np
import torch
from torch import Tensor


def keypoint_boxes(keypoints: Tensor) -> Tensor:
    """``(M, K, 2)`` keypoints -> ``(M, 4)`` boxes ``(x1, y1, x2, y2)``
    spanning all of them."""
    return torch.cat([keypoints.amin(dim=1), keypoints.amax(dim=1)], dim=-1)


def visible_keypoint_boxes(keypoints: np.ndarray,
                           visible: np.ndarray) -> np.ndarray:
    """``(N, 4)`` float32 ``(x1, y1, x2, y2)`` tight boxes, pixels, of the
    ``(N, K, 2)`` keypoints where ``visible`` ``(N, K)`` is true; a person with
    no visible keypoint gets the box of all of them."""
    visible = np.asarray(visible, dtype=bool).copy()
    visible[~visible.any(axis=1)] = True
    low = np.where(visible[..., None], keypoints, np.inf).min(axis=1)
    high = np.where(visible[..., None], keypoints, -np.inf).max(axis=1)
    return np.concatenate([low, high], axis=1).astype(np.float32)


def found_keypoint_boxes(keypoints: np.ndarray,
                         keypoint_scores: np.ndarray) -> np.ndarray:
    """A bottom-up person's box: ``(N, 4)`` float32 ``(x1, y1, x2, y2)``
    spanning the ``(N, K, 2)`` keypoints that were found (``keypoint_scores``
    ``(N, K)`` above 0; a decoder gives a keypoint it did not find 0)."""
    return visible_keypoint_boxes(keypoints, np.asarray(keypoint_scores) > 0)
