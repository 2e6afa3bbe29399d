"""OpenPose's COCO body convention: 18 keypoints (COCO's 17 plus the neck) and 19 limbs.

Keypoint order: nose, neck, right shoulder/elbow/wrist, left shoulder/elbow/wrist, right
hip/knee/ankle, left hip/knee/ankle, right eye, left eye, right ear, left ear. The heatmaps of
OpenPose and MLN have one more channel, the background (index 18).
"""
from typing import Tuple

import numpy as np

NUM_OPENPOSE_KEYPOINTS = 18

# OPENPOSE_FROM_COCO[i]: the COCO index of OpenPose keypoint i; -1 for the neck, the midpoint of
# the two shoulders (COCO 5 and 6).
OPENPOSE_FROM_COCO = np.array([0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3])
COCO_FROM_OPENPOSE = np.argsort(np.where(OPENPOSE_FROM_COCO < 0, 99, OPENPOSE_FROM_COCO))[:17]

# The 19 limbs as (first, second) OpenPose keypoints; each PAF points from first to second. The
# first 17 form the kinematic tree rooted at the neck; the last two (shoulder-ear) close loops
# and only confirm ears, they never start a person.
OPENPOSE_LIMBS = np.array([(1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
                           (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15),
                           (15, 17), (2, 16), (5, 17)])
NUM_TREE_LIMBS = 17

# COCO's left/right keypoint swap of a mirrored image: keypoint i of the flipped image is
# keypoint COCO_FLIP_INDICES[i] of the original.
COCO_FLIP_INDICES = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)


def _openpose_flip_indices() -> np.ndarray:
    coco_flip = np.array(COCO_FLIP_INDICES)
    coco_or_neck = np.where(OPENPOSE_FROM_COCO < 0, -1, coco_flip[OPENPOSE_FROM_COCO])
    openpose_of = {int(c): i for i, c in enumerate(OPENPOSE_FROM_COCO)}
    return np.array([openpose_of[int(c)] for c in coco_or_neck])


# Horizontal flip: keypoint i of the flipped image is keypoint OPENPOSE_FLIP_INDICES[i] of the
# original; limb j is limb LIMB_FLIP_INDICES[j], with the x component of its field negated.
OPENPOSE_FLIP_INDICES = _openpose_flip_indices()
LIMB_FLIP_INDICES = np.array([
    next(k for k, limb in enumerate(OPENPOSE_LIMBS.tolist())
         if limb == [OPENPOSE_FLIP_INDICES[a], OPENPOSE_FLIP_INDICES[b]])
    for a, b in OPENPOSE_LIMBS
])


def coco_to_openpose(keypoints: np.ndarray,
                     visible: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """COCO ``(N, 17, 2)`` keypoints and ``(N, 17)`` visibility to OpenPose's ``(N, 18, 2)`` and
    ``(N, 18)``; the neck is visible when both shoulders are."""
    neck = keypoints[:, [5, 6]].mean(axis=1, keepdims=True)
    neck_visible = np.minimum(visible[:, 5], visible[:, 6])[:, None]
    order = np.where(OPENPOSE_FROM_COCO < 0, 17, OPENPOSE_FROM_COCO)
    return (np.concatenate([keypoints, neck], axis=1)[:, order],
            np.concatenate([visible, neck_visible], axis=1)[:, order])


def openpose_to_coco(keypoints: np.ndarray,
                     scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """OpenPose ``(N, 18, 2)`` keypoints and ``(N, 18)`` scores to COCO's ``(N, 17, 2)`` and
    ``(N, 17)``; the neck is dropped."""
    return keypoints[:, COCO_FROM_OPENPOSE], scores[:, COCO_FROM_OPENPOSE]
