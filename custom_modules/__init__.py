# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose-multilevel: multi-level multi-person pose estimation models for
MMPose 1.x.

Importing this package (configs do it with ``custom_imports =
dict(imports=['custom_modules'], allow_failed_imports=False)``) registers every
component of the project in mmpose's registries, lets torch >= 2.6 load the
checkpoints that mmengine writes (see
:mod:`custom_modules.utils.checkpoint_compat`), and, where mmcv was built
without CUDA kernels, makes a CUDA tensor reaching its ops stop with one
message naming the fix (see :mod:`custom_modules.ops.mmcv_cuda_guard`).
"""
# imported for their registrations in mmpose's registries
# yapf: disable
from . import (backbones, codecs, data_preprocessors, datasets,  # noqa: F401
               engine, evaluation, heads, necks, pose_estimators, task_modules,
               visualization)
from .apis import inferencers  # noqa: F401,E402 (mmpose's INFERENCERS)
# yapf: enable
from .ops import guard_mmcv_cuda_ops
from .utils import allow_openmmlab_checkpoint_globals
from .version import __version__

allow_openmmlab_checkpoint_globals()
guard_mmcv_cuda_ops()

__all__ = ['__version__']
