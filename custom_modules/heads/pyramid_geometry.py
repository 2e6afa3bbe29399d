# Copyright (c) OpenMMLab. All rights reserved.
"""Predictions of the images of a multi-scale test's pyramid brought into the
base image's input."""
import torch
from torch import Tensor

from ..datasets.transforms import PYRAMID_KEYS


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
    missing = [key for key in PYRAMID_KEYS if key not in metainfo]
    if missing:
        raise ValueError(
            f'a multi-scale test needs {missing} in the metainfo (where each '
            'image of the pyramid sits): use PyramidBottomupResize in place '
            'of BottomupResize in the test pipeline, with '
            'PackMultiScalePoseInputs after it')

    def values(index: int):
        return [
            torch.as_tensor(
                metainfo[key][index],
                dtype=keypoints.dtype,
                device=keypoints.device) for key in PYRAMID_KEYS
        ]

    center, scale, size = values(level)
    image = keypoints / size * scale + center - scale / 2
    center, scale, size = values(0)
    return (image - center + scale / 2) * size / scale
