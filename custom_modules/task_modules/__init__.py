# Copyright (c) OpenMMLab. All rights reserved.
from .pose_geometry import keypoint_oks, pseudo_boxes
from .smpr_assigner import SMPRAssigner, SMPRTargets

__all__ = ['keypoint_oks', 'pseudo_boxes', 'SMPRAssigner', 'SMPRTargets']
