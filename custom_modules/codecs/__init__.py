# Copyright (c) OpenMMLab. All rights reserved.
from .paf_skeleton import (OPENPOSE_COCO_KEYPOINTS, OPENPOSE_COCO_LIMBS,
                           OPENPOSE_COCO_TREE_LIMBS, PAFSkeleton)
from .part_affinity_field import PartAffinityField

__all__ = [
    'PartAffinityField', 'PAFSkeleton', 'OPENPOSE_COCO_KEYPOINTS',
    'OPENPOSE_COCO_LIMBS', 'OPENPOSE_COCO_TREE_LIMBS'
]
