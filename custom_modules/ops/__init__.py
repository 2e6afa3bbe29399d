# Copyright (c) OpenMMLab. All rights reserved.
from .grid_sample_deform_conv import (GridSampleDeformConv2d,
                                      grid_sample_deform_conv2d,
                                      replace_deform_convs)
from .mmcv_cuda_guard import (CudaGuardedExtension, MMCVWithoutCUDAError,
                              guard_mmcv_cuda_ops, mmcv_has_cuda_ops)

__all__ = [
    'GridSampleDeformConv2d', 'grid_sample_deform_conv2d',
    'replace_deform_convs', 'CudaGuardedExtension', 'MMCVWithoutCUDAError',
    'guard_mmcv_cuda_ops', 'mmcv_has_cuda_ops'
]
