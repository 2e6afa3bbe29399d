# Copyright (c) OpenMMLab. All rights reserved.
from .pyramid_bottomup import PyramidBottomupPoseEstimator

__all__ = ['PyramidBottomupPoseEstimator']
