"""The outputs a perfect SMPR model would give for a scene: the check of the inference path
(decode oracle) and the post-processing workload of a trained model in benchmarks."""
from typing import List, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from .smpr_assigner import SMPRTargets


def perfect_smpr_outputs(head, gt_instances: InstanceData,
                         featmap_sizes: List[Tuple[int, int]],
                         logit: float = 10.0) -> Tuple[Tuple[List[Tensor], ...], SMPRTargets]:
    """Head outputs of one image that are right wherever the head's assigner puts a target.

    The initial poses are taken exact at every initial positive (so all of them are final
    positives); person and pose-score logits are ``+logit`` there and ``-logit`` elsewhere; the
    initial and refined offsets point at the target keypoints.

    Args:
        head (SMPRHead): The head (its strides, locations and assigner are used).
        gt_instances (InstanceData): ``keypoints`` ``(N, K, 2)``, ``keypoints_visible`` ``(N, K)``,
            ``areas`` ``(N,)`` in input pixels.
        featmap_sizes (list[tuple[int, int]]): ``(H_l, W_l)`` of every level.
        logit (float): Magnitude of the score logits.

    Returns:
        tuple: the outputs as ``SMPRHead.forward`` returns them (batch of 1) and the targets.
    """
    points, strides, levels = head.locations(featmap_sizes, torch.device('cpu'))
    num_keypoints = head.num_keypoints
    first = head.assigner.assign(points, strides, levels,
                                 points.new_zeros(len(points), num_keypoints, 2), gt_instances)
    targets = head.assigner.assign(points, strides, levels, first.keypoints, gt_instances)
    logits = torch.where(targets.final_pos, logit, -logit)
    offsets = ((targets.keypoints - points[:, None]) / strides[:, None, None]).flatten(1)
    scores, poses, start = [], [], 0
    for height, width in featmap_sizes:
        end = start + height * width
        scores.append(logits[start:end].view(1, 1, height, width))
        poses.append(offsets[start:end].T.reshape(1, 2 * num_keypoints, height, width))
        start = end
    return (scores, scores, poses, poses), targets
