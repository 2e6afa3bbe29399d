# Copyright (c) OpenMMLab. All rights reserved.
from .formatting import PackMultiScalePoseInputs

__all__ = ['PackMultiScalePoseInputs']
