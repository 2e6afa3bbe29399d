# Copyright (c) OpenMMLab. All rights reserved.
"""The image <-> input mapping of bottom-up samples: mmpose's own (the one
``BottomupPoseEstimator`` applies) and its inverse."""
import numpy as np
import torch
from mmpose.datasets.transforms import BottomupResize

from custom_modules.structures import image_to_input, input_to_image


def test_the_inverse_of_mmposes_mapping_lands_on_the_resized_pixels():
    """A 640x480 image resized by mmpose's ``BottomupResize`` to a 512 input:

    image pixel (x, y) is where ``cv2.warpAffine`` put it in the input, and
    ``input_to_image`` (``BottomupPoseEstimator``'s formula) takes it back.
    """
    image = np.zeros((480, 640, 3), np.uint8)
    image[300, 200] = 255
    results = BottomupResize(input_size=(512, 512))(
        dict(img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2]))
    meta = [
        results[key] for key in ('input_center', 'input_scale', 'input_size')
    ]
    points = torch.tensor([[200., 300.], [0., 0.], [639., 479.]])
    moved = image_to_input(points, *meta)
    y, x = np.unravel_index(results['img'][..., 0].argmax(),
                            results['img'].shape[:2])
    assert torch.allclose(
        moved[0], torch.tensor([x, y], dtype=torch.float32), atol=1.0)
    torch.testing.assert_close(input_to_image(moved, *meta), points)
    # per axis, with scalars
    torch.testing.assert_close(
        image_to_input(points[:, 0], meta[0][0], meta[1][0], meta[2][0]),
        moved[:, 0])
