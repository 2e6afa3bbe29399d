from .mln_head import MLNHead
from .mlpe_head import MLPEHead
from .openpose_head import OpenPoseHead
from .paf_head import BasePAFHead
from .smpr_head import SMPRHead

__all__ = ['MLPEHead', 'MLNHead', 'OpenPoseHead', 'BasePAFHead', 'SMPRHead']
