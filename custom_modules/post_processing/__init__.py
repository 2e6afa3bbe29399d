# Copyright (c) OpenMMLab. All rights reserved.
from .pose_nms import keypoint_boxes, pose_nms

__all__ = ['keypoint_boxes', 'pose_nms']
