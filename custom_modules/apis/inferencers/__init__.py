# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's inferencers extended for this project (registered in mmpose's
``INFERENCERS``)."""
from .mmpose_inferencer import MultilevelInferencer
from .model_index import (find_model, is_model_name, model_aliases,
                          model_index_dir)
from .pose2d_inferencer import MultilevelPose2DInferencer, PoseInput

__all__ = [
    'MultilevelInferencer', 'MultilevelPose2DInferencer', 'PoseInput',
    'find_model', 'is_model_name', 'model_aliases', 'model_index_dir'
]
