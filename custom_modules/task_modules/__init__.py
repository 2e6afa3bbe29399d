from .pose_geometry import COCO_SIGMAS, keypoint_oks, pseudo_boxes
from .smpr_assigner import SMPRAssigner, SMPRTargets
from .smpr_oracle import perfect_smpr_outputs

__all__ = ['COCO_SIGMAS', 'keypoint_oks', 'pseudo_boxes', 'SMPRAssigner', 'SMPRTargets',
    'perfect_smpr_outputs']
