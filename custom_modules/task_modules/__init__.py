# Copyright (c) OpenMMLab. All rights reserved.
from .pose_geometry import pseudo_boxes
from .smpr_assigner import SMPRAssigner, SMPRTargets

__all__ = ['pseudo_boxes', 'SMPRAssigner', 'SMPRTargets']
