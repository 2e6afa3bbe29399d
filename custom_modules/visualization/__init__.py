# Copyright (c) OpenMMLab. All rights reserved.
from .paf_pose_visualizer import PAFPoseLocalVisualizer

__all__ = ['PAFPoseLocalVisualizer']
