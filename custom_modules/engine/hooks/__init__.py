# Copyright (c) OpenMMLab. All rights reserved.
from .finite_loss_hook import FiniteLossHook
from .pose_visualization_hook import MultilevelPoseVisualizationHook

__all__ = ['FiniteLossHook', 'MultilevelPoseVisualizationHook']
