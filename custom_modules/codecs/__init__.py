from .openpose_skeleton import (COCO_FLIP_INDICES, LIMB_FLIP_INDICES, OPENPOSE_FLIP_INDICES,
                                OPENPOSE_LIMBS, coco_to_openpose, openpose_to_coco)
from .part_affinity_field import PartAffinityField

__all__ = [
    'PartAffinityField', 'COCO_FLIP_INDICES', 'OPENPOSE_LIMBS', 'OPENPOSE_FLIP_INDICES',
    'LIMB_FLIP_INDICES', 'coco_to_openpose', 'openpose_to_coco'
]
