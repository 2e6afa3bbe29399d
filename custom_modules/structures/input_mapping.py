# Copyright (c) OpenMMLab. All rights reserved.
"""The affine mapping between an image and a bottom-up network's input.

mmpose's bottom-up resize (``BottomupResize``, and this project's pyramid and
frame preprocessing) records it as ``input_center`` and ``input_scale`` (the
image region the input covers, ``(x, y)`` and ``(w, h)`` in image pixels) and
``input_size`` (``(w, h)`` in input pixels); ``BottomupPoseEstimator`` maps
predictions back with :func:`input_to_image`. Pixel centres lie at integer
positions in both frames, as ``cv2.warpAffine`` puts them.
"""
from typing import Sequence, Union

import torch
from torch import Tensor

Pair = Union[Tensor, Sequence[float]]


def _pairs(points: Tensor, *pairs: Pair):
    return (torch.as_tensor(p, dtype=points.dtype, device=points.device)
            for p in pairs)


def input_to_image(points: Tensor, center: Pair, scale: Pair,
                   size: Pair) -> Tensor:
    """``points`` ``(..., 2)`` ``(x, y)`` in input pixels to image pixels:

    ``points / size * scale + center - scale / 2`` (mmpose's
    ``BottomupPoseEstimator.add_pred_to_datasample``).

    ``center``, ``scale`` and ``size`` are ``(2,)`` (or broadcast with
    ``points``, e.g. scalars for one axis).
    """
    center, scale, size = _pairs(points, center, scale, size)
    return points / size * scale + center - scale / 2


def image_to_input(points: Tensor, center: Pair, scale: Pair,
                   size: Pair) -> Tensor:
    """``points`` ``(..., 2)`` in image pixels to input pixels.

    The inverse of :func:`input_to_image`: ``(points - center + scale / 2) *
    size / scale``.
    """
    center, scale, size = _pairs(points, center, scale, size)
    return (points - center + scale / 2) * size / scale
