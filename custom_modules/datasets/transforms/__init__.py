# Copyright (c) OpenMMLab. All rights reserved.
from .bottomup_flip import BottomupRandomFlip
from .formatting import PackMultiScalePoseInputs
from .pyramid_resize import PYRAMID_KEYS, PyramidBottomupResize

__all__ = [
    'BottomupRandomFlip', 'PackMultiScalePoseInputs', 'PyramidBottomupResize',
    'PYRAMID_KEYS'
]
