# Copyright (c) OpenMMLab. All rights reserved.
from .mlpe_neck import MLPENeck

__all__ = ['MLPENeck']
