# Copyright (c) OpenMMLab. All rights reserved.
from .formatting import PackMultiScalePoseInputs
from .pyramid_resize import PYRAMID_KEYS, PyramidBottomupResize

__all__ = ['PackMultiScalePoseInputs', 'PyramidBottomupResize', 'PYRAMID_KEYS']
