# Copyright (c) OpenMMLab. All rights reserved.
from .pose_nms import keypoint_boxes, pose_nms
from .soft_nms import soft_nms_first

__all__ = ['keypoint_boxes', 'pose_nms', 'soft_nms_first']
