# Copyright (c) OpenMMLab. All rights reserved.
"""Samples of limb fields (arrays, resized maps or tensors) at pixels."""
from typing import Union

import numpy as np
import torch
from torch import Tensor

from .map_resize import ResizedMaps


def take_samples(pafs: Union[np.ndarray, Tensor],
                 index: np.ndarray) -> np.ndarray:
    """``pafs.take(index)``: the fields ``pafs`` at flat indices ``index``,
    float32; a tensor is read on its device and only the samples reach the
    CPU."""
    if isinstance(pafs, Tensor):
        return pafs.take(torch.from_numpy(index).to(pafs.device)).cpu().numpy()
    return pafs.take(index)


def read_samples(pafs: Union[np.ndarray, ResizedMaps,
                             Tensor], limbs: np.ndarray, ys: np.ndarray,
                 xs: np.ndarray) -> np.ndarray:
    """The x and y channels of limb fields ``pafs`` (2 L, H, W) at pixels
    ``(ys, xs)`` (S, P) of limbs ``limbs`` (P,): ``(2, S, P)`` float32.

    ``pafs`` is an array, :class:`ResizedMaps` of them (read through the
    resize), or a tensor (:func:`take_samples`).
    """
    if isinstance(pafs, ResizedMaps):
        return pafs.sample_vectors(limbs, ys, xs)
    height, width = pafs.shape[-2:]
    # flat indices of the x and y channels of the limbs' fields
    index = (2 * height * limbs + ys) * width + xs
    return take_samples(pafs, np.stack([index, index + height * width]))
