# Copyright (c) OpenMMLab. All rights reserved.
from .bottomup_flip import BottomupRandomFlip
from .formatting import PackMultiScalePoseInputs
from .pyramid_resize import PYRAMID_KEYS, PyramidBottomupResize
from .short_side_crop import BottomupShortSideCrop

__all__ = [
    'BottomupShortSideCrop', 'BottomupRandomFlip', 'PackMultiScalePoseInputs',
    'PyramidBottomupResize', 'PYRAMID_KEYS'
]
