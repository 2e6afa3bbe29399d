# Copyright (c) OpenMMLab. All rights reserved.
from .atomic_local_backend import AtomicLocalBackend
from .hooks import FiniteLossHook, MultilevelPoseVisualizationHook

__all__ = [
    'AtomicLocalBackend', 'FiniteLossHook', 'MultilevelPoseVisualizationHook'
]
