# Copyright (c) OpenMMLab. All rights reserved.
from .pose_boxes import (found_keypoint_boxes, keypoint_boxes,
                         visible_keypoint_boxes)
from .pose_nms import pose_nms
from .soft_nms import soft_nms_first

__all__ = [
    'found_keypoint_boxes', 'keypoint_boxes', 'pose_nms', 'soft_nms_first',
    'visible_keypoint_boxes'
]
