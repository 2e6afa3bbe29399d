# Copyright (c) OpenMMLab. All rights reserved.
"""BottomupRandomFlip: mmpose's RandomFlip after BottomupRandomAffine on a
non-square input."""
import numpy as np
from mmpose.datasets.transforms import RandomFlip

from custom_modules.datasets.transforms import BottomupRandomFlip


def after_the_affine(width: int = 432, height: int = 368) -> dict:
    """A sample as BottomupRandomAffine leaves it: the image at the input's
    size, ``input_size`` as ``(w, h)``, one keypoint at x = 10."""
    return dict(
        img=np.zeros((height, width, 3), np.uint8),
        img_shape=(480, 640),  # the original image's, as the affine leaves it
        input_size=(width, height),
        keypoints=np.array([[[10.0, 20.0], [400.0, 30.0]]], np.float32),
        keypoints_visible=np.ones((1, 2), np.float32),
        flip_indices=[1, 0])


def test_keypoints_are_mirrored_about_the_inputs_width():
    results = BottomupRandomFlip(prob=1.0).transform(after_the_affine())
    assert results['flip'] and results['input_size'] == (432, 368)
    # swapped (flip_indices) and mirrored: x -> 432 - 1 - x
    np.testing.assert_allclose(results['keypoints'][0],
                               [[31.0, 30.0], [421.0, 20.0]])
    # mmpose's RandomFlip mirrors about the height (368): 64 px off
    theirs = RandomFlip(prob=1.0).transform(after_the_affine())
    np.testing.assert_allclose(theirs['keypoints'][0, 1, 0] + 64, 421.0)


def test_before_any_affine_it_is_random_flip():
    """No ``input_size`` yet: mirrored about the image's width (``img_shape``),
    as mmpose's RandomFlip does."""
    sample = after_the_affine()
    del sample['input_size']
    ours = BottomupRandomFlip(prob=1.0).transform(dict(sample))
    theirs = RandomFlip(prob=1.0).transform(dict(sample))
    np.testing.assert_allclose(ours['keypoints'], theirs['keypoints'])
    np.testing.assert_allclose(ours['keypoints'][0, 1, 0], 640 - 1 - 10)
