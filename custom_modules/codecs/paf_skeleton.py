# Copyright (c) OpenMMLab. All rights reserved.
"""The skeleton of part affinity fields (MLN Section 2.1; OpenPose).

It defines which keypoints the joint maps hold, how each comes from a dataset's
keypoints, and which limbs the fields join.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

KeypointSource = Union[int, Sequence[int]]

# OpenPose's COCO body convention, the default: 18 keypoints, COCO's 17 plus
# the neck (the mean of the shoulders, COCO 5 and 6), in the order nose, neck,
# right shoulder/elbow/wrist, left shoulder/elbow/wrist, right hip/knee/ankle,
# left hip/knee/ankle, right eye, left eye, right ear, left ear; entry i is the
# COCO keypoint(s) of OpenPose keypoint i.
OPENPOSE_COCO_KEYPOINTS = (0, (5, 6), 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13,
                           15, 2, 1, 4, 3)
# Its 19 limbs as (first, second) OpenPose keypoints; the first 17 form the
# kinematic tree rooted at the neck, the last two (shoulder-ear) close loops
# and only join people that share no keypoint type (an ear, or a head cut off
# from its neck).
OPENPOSE_COCO_LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8),
                       (8, 9), (9, 10), (1, 11), (11, 12), (12, 13), (1, 0),
                       (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17))
OPENPOSE_COCO_TREE_LIMBS = 17


class PAFSkeleton:
    """Keypoints and limbs of joint maps and part affinity fields, and their
    relation to a dataset's keypoints (any mmpose dataset: COCO, CrowdPose,
    AIC, ...).

    Args:
        keypoints (sequence): Entry ``i`` says what skeleton keypoint ``i`` is:
            a dataset keypoint index, or a sequence of them whose mean it is
            (OpenPose's neck, the mean of the shoulders), visible where all of
            them are. Defaults to OpenPose's COCO convention
            (``OPENPOSE_COCO_KEYPOINTS``).
        limbs (sequence): ``(first, second)`` skeleton keypoints of each limb;
            its field points from the first to the second. Defaults to
            ``OPENPOSE_COCO_LIMBS``.
        num_tree_limbs (int, optional): The first ``num_tree_limbs`` limbs
            assemble people (they should form a tree over the keypoints); the
            others only join two people that share no keypoint type
            (OpenPose's shoulder-ear limbs). ``None``: all limbs are tree
            limbs. Defaults to ``OPENPOSE_COCO_TREE_LIMBS`` (17).
        num_dataset_keypoints (int, optional): ``K`` of the dataset. Defaults
            to the highest index in ``keypoints`` plus one.
    """

    def __init__(self,
                 keypoints: Sequence[KeypointSource] = OPENPOSE_COCO_KEYPOINTS,
                 limbs: Sequence[Tuple[int, int]] = OPENPOSE_COCO_LIMBS,
                 num_tree_limbs: Optional[int] = OPENPOSE_COCO_TREE_LIMBS,
                 num_dataset_keypoints: Optional[int] = None) -> None:
        self.sources: List[Tuple[int, ...]] = [
            (int(s), ) if np.isscalar(s) else tuple(int(i) for i in s)
            for s in keypoints
        ]
        if not self.sources or any(not s or min(s) < 0 for s in self.sources):
            raise ValueError(
                'PAFSkeleton: `keypoints` needs one non-empty entry of '
                'dataset keypoint indices (>= 0) per skeleton keypoint, got '
                f'{keypoints}')
        highest = max(max(s) for s in self.sources)
        self.num_dataset_keypoints = (
            highest +
            1 if num_dataset_keypoints is None else int(num_dataset_keypoints))
        if highest >= self.num_dataset_keypoints:
            raise ValueError(
                f'PAFSkeleton: `keypoints` uses dataset keypoint {highest}, '
                f'but num_dataset_keypoints is {self.num_dataset_keypoints}')
        self.limbs = np.array(limbs, dtype=np.intp).reshape(-1, 2)
        if (len(self.limbs) == 0 or self.limbs.min() < 0
                or self.limbs.max() >= self.num_keypoints):
            raise ValueError(
                f'PAFSkeleton: `limbs` must be pairs of skeleton keypoints in '
                f'0..{self.num_keypoints - 1}, got {limbs}')
        self.num_tree_limbs = (
            len(self.limbs) if num_tree_limbs is None else int(num_tree_limbs))
        if not 0 < self.num_tree_limbs <= len(self.limbs):
            raise ValueError(
                f'PAFSkeleton: num_tree_limbs must be in 1..{len(self.limbs)} '
                f'or None (all limbs), got {num_tree_limbs} (the default, 17, '
                "is OpenPose's COCO skeleton's)")
        # (M, K) weights of the mean each skeleton keypoint is, and which
        # dataset keypoints enter
        self._members = np.zeros(
            (self.num_keypoints, self.num_dataset_keypoints), dtype=bool)
        for i, source in enumerate(self.sources):
            self._members[i, list(source)] = True
        self._means = self._members / self._members.sum(axis=1, keepdims=True)
        # the skeleton keypoint that is dataset keypoint k itself, -1 if none
        self.skeleton_of_dataset = np.full(
            self.num_dataset_keypoints, -1, dtype=np.intp)
        for i, source in enumerate(self.sources):
            if len(source) == 1:
                self.skeleton_of_dataset[source[0]] = i

    @property
    def num_keypoints(self) -> int:
        """``M``, the keypoints of the joint maps (without the background)."""
        return len(self.sources)

    @property
    def num_limbs(self) -> int:
        """``L``, the limbs; the fields have ``2 L`` channels."""
        return len(self.limbs)

    def from_dataset(self, keypoints: np.ndarray,
                     visible: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Dataset ``(N, K, 2)`` keypoints and ``(N, K)`` visibility -> the
        skeleton's ``(N, M, 2)`` and ``(N, M)``; a mean keypoint is visible
        where all its sources are."""
        joints = np.einsum('mk,nkd->nmd', self._means, keypoints)
        joints_visible = np.where(self._members[None], visible[:, None, :],
                                  np.inf).min(axis=2)
        return (joints.astype(keypoints.dtype),
                joints_visible.astype(visible.dtype))

    def to_dataset(self, keypoints: np.ndarray,
                   scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Skeleton ``(N, M, 2)`` keypoints and ``(N, M)`` scores -> the
        dataset's ``(N, K, 2)`` and ``(N, K)``; mean keypoints are dropped,
        dataset keypoints the skeleton lacks are 0."""
        has = self.skeleton_of_dataset >= 0
        index = np.maximum(self.skeleton_of_dataset, 0)
        dataset_keypoints = np.where(has[:, None], keypoints[:, index], 0)
        dataset_scores = np.where(has, scores[:, index], 0)
        return (dataset_keypoints.astype(keypoints.dtype),
                dataset_scores.astype(scores.dtype))

    def flip_orders(self, dataset_flip_indices: Sequence[int]
                    ) -> Tuple[List[int], List[int]]:
        """The channel orders that turn the maps of a mirrored image into the
        original's.

        Args:
            dataset_flip_indices (sequence of int): The dataset's
                ``flip_indices`` (metainfo): keypoint ``k`` of a mirrored image
                is keypoint ``flip_indices[k]`` of the original.

        Returns:
            tuple: ``keypoint_order`` (M,): skeleton keypoint ``i`` of the
            mirrored image is ``keypoint_order[i]`` of the original;
            ``limb_order`` (L,): likewise for limbs (each field's x component
            then changes sign).
        """
        flip = np.asarray(dataset_flip_indices, dtype=np.intp)
        if flip.shape != (self.num_dataset_keypoints, ):
            raise ValueError(
                f'PAFSkeleton: flip_indices has {flip.size} entries, the '
                'skeleton '
                f'is over {self.num_dataset_keypoints} dataset keypoints')
        index_of = {frozenset(s): i for i, s in enumerate(self.sources)}
        keypoint_order = []
        for source in self.sources:
            mirrored = frozenset(flip[list(source)].tolist())
            if mirrored not in index_of:
                raise ValueError(
                    f'PAFSkeleton: the mirror of the keypoint made of dataset '
                    f'keypoints {source} is not in the skeleton')
            keypoint_order.append(index_of[mirrored])
        limb_of = {(int(a), int(b)): j for j, (a, b) in enumerate(self.limbs)}
        limb_order = []
        for a, b in self.limbs:
            mirrored = (keypoint_order[a], keypoint_order[b])
            if mirrored not in limb_of:
                raise ValueError(
                    f'PAFSkeleton: the mirror of limb ({a}, {b}) is not a '
                    f'limb in the same direction: add {mirrored}')
            limb_order.append(limb_of[mirrored])
        return keypoint_order, limb_order
