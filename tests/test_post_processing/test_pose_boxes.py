# Copyright (c) OpenMMLab. All rights reserved.
"""Boxes of poses: the found keypoints' span, all keypoints' where none is
found."""
import numpy as np

from custom_modules.post_processing import (found_keypoint_boxes,
                                            visible_keypoint_boxes)


def test_boxes_span_the_visible_keypoints_or_all_without_one():
    keypoints = np.array([[[10, 20], [30, 5], [0, 0]], [[4, 8], [6, 2], [1, 9]]
                          ], np.float32)
    visible = np.array([[True, True, False], [False, False, False]])
    boxes = visible_keypoint_boxes(keypoints, visible)
    assert boxes.dtype == np.float32
    assert boxes.tolist() == [[10, 5, 30, 20], [1, 2, 6, 9]]
    assert visible.tolist() == [[True, True, False], [False, False, False]]
    assert visible_keypoint_boxes(np.zeros((0, 3, 2)), np.zeros(
        (0, 3), bool)).shape == (0, 4)


def test_a_bottom_up_persons_box_spans_the_keypoints_scoring_above_0():
    keypoints = np.array([[[10, 20], [30, 5], [90, 90]]], np.float32)
    assert found_keypoint_boxes(keypoints,
                                np.array([[0.05, 0.9, 0.0]
                                          ])).tolist() == [[10, 5, 30, 20]]
