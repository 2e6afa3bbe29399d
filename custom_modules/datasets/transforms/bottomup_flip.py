# Copyright (c) OpenMMLab. All rights reserved.
"""Flipping a bottom-up sample after its affine transform."""
from mmpose.datasets.transforms import RandomFlip
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class BottomupRandomFlip(RandomFlip):
    """mmpose's ``RandomFlip``, right after ``BottomupRandomAffine`` whatever
    the input's shape.

    mmpose's bottom-up order is affine, then flip (the flip in the network
    input, where ``BottomupGetHeatmapMask`` mirrors the warped crowd mask by
    the ``flip`` flag). But in mmpose 1.3.2 ``RandomFlip`` reads
    ``results['input_size']`` as ``(h, w)`` while ``BottomupRandomAffine``
    sets it as ``(w, h)``: on a non-square input the keypoints are mirrored
    about the input's height (for a 432x368 input, 64 pixels off). Flipping
    before the affine instead mirrors the keypoints right but not the crowd
    segments, so the mask then misses the crowds of every flipped sample that
    is rotated or shifted. This transform is ``RandomFlip`` given the input's
    ``(h, w)``; ``results['input_size']`` is left as the affine set it.

    Args: those of mmpose's ``RandomFlip``.
    """

    def transform(self, results: dict) -> dict:
        input_size = results.get('input_size')
        if input_size is None:
            return super().transform(results)
        width, height = input_size
        results['input_size'] = (height, width)
        try:
            results = super().transform(results)
        finally:
            results['input_size'] = input_size
        return results
