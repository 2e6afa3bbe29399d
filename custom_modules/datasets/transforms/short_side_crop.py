# Copyright (c) OpenMMLab. All rights reserved.
"""SMPR's training crop, after section IV-A of its paper: the shorter side to
800, then a random crop."""
from functools import partial
from typing import Dict, Optional, Tuple

import cv2
import numpy as np
from mmpose.datasets.transforms import BottomupRandomAffine
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class BottomupShortSideCrop(BottomupRandomAffine):
    """A window of the input's aspect ratio, as large as the image allows (its
    shorter side fills the input), placed at random inside the image and
    resized to ``input_size``: the authors' ``Resize`` of the shorter side to
    800 then ``RandomCrop`` of 800x800, which cuts inside the image, as one
    affine warp (mmpose's ``BottomupRandomAffine`` with no scaling or rotation
    and the shift drawn within the image, so the crop pads nothing).

    mmpose's ``BottomupRandomCrop`` (mmdet's) cuts the resized image without
    resizing it to the input and moves every keypoint outside the crop onto
    its border (as the authors' crop does, which this project does not
    follow: projects/smpr/README.md).

    People whose visible keypoints all lie outside the window are made
    unlabelled (``keypoints_visible`` 0), so that a following
    ``FilterAnnotations(by_kpt=True)`` drops them, as the authors' crop drops
    people wholly outside it. The keypoints of people in the window stay
    where they are, also outside it (``clip_border=False``).

    Required keys: ``img``, ``img_shape``; ``keypoints``,
    ``keypoints_visible``, ``bbox``, ``area`` where present. Modified: those.
    Added: ``input_size``, ``warp_mat``.

    The warp samples beyond the image's last pixel by up to a pixel where it
    enlarges the image; those samples repeat the border (``BORDER_REPLICATE``)
    instead of blending in black.

    Args:
        input_size (tuple[int, int]): The input ``(w, h)`` in pixels.
    """

    def __init__(self, input_size: Tuple[int, int]) -> None:
        super().__init__(
            input_size=input_size,
            scale_prob=0.,
            scale_type='short',
            rotate_prob=0.,
            shear_prob=0.,
            distribution='uniform')
        self._transform = partial(
            cv2.warpAffine,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE)
        # the shift's largest size along each axis, in image sizes (set per
        # image by `transform`)
        self._room = np.zeros(2, np.float32)

    def _get_transform_params(self) -> Tuple:
        """``BottomupRandomAffine``'s parameters: a shift uniform within the
        room the window has in this image, no scaling, rotation or shear."""
        offset = (np.random.rand(2) * 2 - 1) * self._room
        return (offset.astype(np.float32), np.ones(1, np.float32), 0,
                np.zeros(2, np.float32))

    def transform(self, results: Dict) -> Optional[dict]:
        img_h, img_w = results['img_shape'][:2]
        w, h = self.input_size
        image = np.array([img_w, img_h], np.float32)
        window = self._fix_aspect_ratio(image, aspect_ratio=w / h)
        self._room = np.maximum(image - window, 0) / 2 / image
        results = super().transform(results)
        if 'keypoints' in results:
            keypoints, visible = results['keypoints'], results[
                'keypoints_visible']
            in_window = ((keypoints[..., 0] >= 0) & (keypoints[..., 0] < w)
                         & (keypoints[..., 1] >= 0) & (keypoints[..., 1] < h))
            labelled = (visible[..., 0] if visible.ndim == 3 else visible) > 0
            outside = ~(labelled & in_window).any(axis=1)
            if outside.any():
                results['keypoints_visible'] = visible.copy()
                results['keypoints_visible'][outside] = 0
        return results
