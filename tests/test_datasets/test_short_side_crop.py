# Copyright (c) OpenMMLab. All rights reserved.
"""SMPR's training crop: a window of the input's shape inside the image, at a
random place along the longer side, people outside it dropped."""
import numpy as np
import pytest
from mmpose.datasets.transforms import FilterAnnotations

from custom_modules.datasets.transforms import BottomupShortSideCrop


def a_scene(width: int = 640, height: int = 480) -> dict:
    """A white image with three one-keypoint-pair people: at the left edge, in
    the middle, and one whose only visible keypoint is at the right edge."""
    keypoints = np.array([[[5., 100.], [5., 300.]], [[320., 100.], [
        320., 300.
    ]], [[635., 200.], [300., 200.]]], np.float32)
    visible = np.array([[1., 1.], [1., 1.], [1., 0.]], np.float32)
    return dict(
        img=np.full((height, width, 3), 255, np.uint8),
        img_shape=(height, width),
        keypoints=keypoints,
        keypoints_visible=visible,
        bbox=np.zeros((3, 4), np.float32),
        area=np.full(3, 1000., np.float32))


@pytest.mark.parametrize('size', [(640, 480), (480, 640), (1000, 600)])
def test_the_window_lies_inside_the_image_and_moves_along_its_longer_side(
        size):
    crop = BottomupShortSideCrop(input_size=(800, 800))
    np.random.seed(0)
    short = min(size)
    long_axis = 0 if size[0] > size[1] else 1
    shifts = []
    for _ in range(50):
        results = crop.transform(a_scene(*size))
        # no padding: every pixel is the image's, the last row and column
        # too (sampled up to a pixel past the image's last one)
        assert results['img'].shape == (800, 800, 3)
        assert results['img'].min() == 255
        warp = results['warp_mat']
        np.testing.assert_allclose(
            warp[:, :2], np.eye(2) * 800 / short, rtol=1e-5, atol=1e-9)
        # the shorter side is not moved; the longer one by at most its room
        assert abs(warp[1 - long_axis, 2]) < 1e-3
        shifts.append(-warp[long_axis, 2] * short / 800)
        assert -1e-3 < shifts[-1] < max(size) - short + 1e-3
    assert np.ptp(shifts) > 0.8 * (max(size) - short)


def test_people_wholly_outside_the_window_are_dropped_the_others_kept_whole():
    crop = BottomupShortSideCrop(input_size=(800, 800))
    np.random.seed(0)
    seen = set()
    for _ in range(100):
        results = crop.transform(a_scene())
        x0 = -results['warp_mat'][0, 2] * 480 / 800  # window's left, image px
        left_in, right_in = x0 <= 5, x0 + 480 > 635
        visible = results['keypoints_visible']
        assert (visible[0] > 0).all() == left_in
        assert (visible[1] > 0).all()  # the middle person is always in it
        assert (visible[2, 0] > 0) == right_in
        seen.add((bool(left_in), bool(right_in)))
        kept = FilterAnnotations(by_kpt=True, by_box=False).transform(results)
        assert len(kept['keypoints']) == 1 + left_in + right_in
        # a kept person's keypoints are where the warp puts them, out of the
        # window too
        np.testing.assert_allclose(
            kept['keypoints'][kept['keypoints'][:, 0, 0].argmin()],
            a_scene()['keypoints'][0 if left_in else 1] * 800 / 480 +
            [results['warp_mat'][0, 2], 0],
            atol=1e-3)
    assert seen == {(True, False), (False, False), (False, True)}
