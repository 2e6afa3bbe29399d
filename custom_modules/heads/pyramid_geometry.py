# Copyright (c) OpenMMLab. All rights reserved.
"""Predictions of the images of a multi-scale test's pyramid brought into the
base image's input."""
from typing import Sequence

import torch
from torch import Tensor

from ..codecs.utils import MapPlacement
from ..datasets.transforms import PYRAMID_KEYS
from ..structures import image_to_input, input_to_image


def check_pyramid_metainfo(metainfo: dict, batch_shapes: bool = False) -> None:
    """Raises ``ValueError`` unless ``metainfo`` has the ``pyramid_*`` lists of
    :class:`~custom_modules.datasets.transforms.PyramidBottomupResize` (and,
    with ``batch_shapes``, the ``pyramid_batch_input_shapes`` of
    ``MultiScalePoseDataPreprocessor``), saying how to get them."""
    missing = [key for key in PYRAMID_KEYS if key not in metainfo]
    if missing:
        raise ValueError(
            f'a multi-scale test needs {missing} in the metainfo (where each '
            'image of the pyramid sits): use PyramidBottomupResize in place '
            'of BottomupResize in the test pipeline, with '
            'PackMultiScalePoseInputs after it')
    if batch_shapes and 'pyramid_batch_input_shapes' not in metainfo:
        raise ValueError(
            'a multi-scale test needs pyramid_batch_input_shapes in the '
            'metainfo (each scale\'s batch shape): use '
            'MultiScalePoseDataPreprocessor as the data preprocessor')


def pyramid_to_base_input(keypoints: Tensor, metainfo: dict,
                          level: int) -> Tensor:
    """``keypoints`` ``(..., 2)`` in input pixels of image ``level`` of the
    pyramid (0: the base image) -> the same points in the base image's input
    pixels.

    Each image's input pixel ``x`` is image pixel ``x / input_size *
    input_scale + input_center - input_scale / 2`` (the mapping that mmpose's
    ``BottomupPoseEstimator`` applies to the base image's predictions), with
    the values of :class:`~custom_modules.datasets.transforms.
    PyramidBottomupResize` for that image; the base image's inverse mapping
    then gives its input pixels. Dividing by the scale instead is off where an
    image's size was rounded up to the ``size_factor`` (by 32 image pixels for
    a 640x480 image at 0.5 of SMPR's 800).

    Raises:
        ValueError: ``metainfo`` without the pyramid's ``pyramid_*`` lists.
    """
    check_pyramid_metainfo(metainfo)

    def values(index: int) -> list:
        return [metainfo[key][index] for key in PYRAMID_KEYS]

    return image_to_input(
        input_to_image(keypoints, *values(level)), *values(0))


def clamp_to_image(keypoints: Tensor, metainfo: dict) -> Tensor:
    """``keypoints`` ``(..., 2)`` in the base image's input pixels, each
    coordinate clamped to the image inside that input.

    The image spans its first pixel to its last one, ``[0, w - 1]`` and
    ``[0, h - 1]`` of the image resized by the input's pixels per image pixel
    (the authors' ``offset2kpt`` with ``max_shape``, on their resized image).

    ``metainfo`` holds ``input_size`` and ``input_scale`` ``(w, h)``,
    ``input_center`` ``(x, y)`` and ``ori_shape`` ``(h, w)`` (image pixel
    ``x`` is input pixel ``(x - input_center + input_scale / 2) * input_size /
    input_scale``).
    """

    height, width = metainfo['ori_shape'][:2]
    corners = keypoints.new_tensor([[0, 0], [width, height]])
    first, end = image_to_input(corners, metainfo['input_center'],
                                metainfo['input_scale'],
                                metainfo['input_size'])
    return torch.maximum(torch.minimum(keypoints, end - 1), first)


def pyramid_map_placement(
    metainfo: dict,
    level: int,
    map_shape: Sequence[int],
    input_per_pixel: Sequence[float] = (1.0, 1.0)
) -> MapPlacement:
    """Where the maps of image ``level`` of the pyramid lie on a grid over the
    base image's input, from its top-left corner, each of whose pixels spans
    ``input_per_pixel`` ``(x, y)`` input pixels (1: the input's pixels; the
    base scale's stride: the base scale's maps): for each axis ``(a, b)`` such
    that the continuous coordinate ``u`` of the grid (its pixel ``i`` spans
    ``[i, i + 1)``) is ``a u + b`` in the maps' (``map_shape`` ``(h, w)``,
    spanning the level's batch input ``pyramid_batch_input_shapes[level]``,
    whose top-left corner the image's input fills).

    The mapping is the one of :func:`pyramid_to_base_input` (each input's
    ``input_center``, ``input_scale``, ``input_size``; pixel centres at
    integers, as ``cv2.warpAffine`` puts them), so that maps averaged over the
    pyramid stay on the people; for the base image of a batch of one on the
    input's pixels it is the plain resize, ``a = h / H``, ``b = 0``.

    Returns:
        tuple: ``((a_y, b_y), (a_x, b_x))``.

    Raises:
        ValueError: ``metainfo`` without the pyramid's lists.
    """
    check_pyramid_metainfo(metainfo, batch_shapes=True)
    placement = []
    for axis in (1, 0):  # y, then x
        center, scale, size = (
            float(metainfo[key][level][axis]) for key in PYRAMID_KEYS)
        center0, scale0, size0 = (
            float(metainfo[key][0][axis]) for key in PYRAMID_KEYS)
        to_map = map_shape[1 - axis] / float(
            metainfo['pyramid_batch_input_shapes'][level][1 - axis])
        # grid -> base input -> image -> the level's input -> its maps; the
        # inputs' mapping (cv2's warp) has pixel centres at integers, the grid
        # and the maps' coordinates at half integers: the last term
        image_per_grid = input_per_pixel[axis] * scale0 / size0
        level_per_image = size / scale
        level_per_base = level_per_image * scale0 / size0
        placement.append(
            (image_per_grid * level_per_image * to_map,
             ((center0 - scale0 / 2 - center + scale / 2) * level_per_image +
              0.5 * (1 - level_per_base)) * to_map))
    return placement[0], placement[1]
