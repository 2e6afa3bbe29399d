# Copyright (c) OpenMMLab. All rights reserved.
from .multiscale_data_preprocessor import MultiScalePoseDataPreprocessor

__all__ = ['MultiScalePoseDataPreprocessor']
