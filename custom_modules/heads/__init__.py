# Copyright (c) OpenMMLab. All rights reserved.
from .mln_head import MLNHead
from .mlpe_head import MLPEHead
from .openpose_head import OpenPoseHead
from .paf_head import BasePAFHead
from .separable_openpose_head import SeparableOpenPoseHead
from .smpr_head import SMPRHead

__all__ = [
    'MLPEHead', 'MLNHead', 'OpenPoseHead', 'BasePAFHead',
    'SeparableOpenPoseHead', 'SMPRHead'
]
