# Copyright (c) OpenMMLab. All rights reserved.
"""The first selections of Soft-NMS as torch ops on the boxes' device."""
from typing import Tuple

import torch
from torch import Tensor

#: mmcv's ``soft_nms`` methods.
SOFT_NMS_METHODS = ('naive', 'linear', 'gaussian')


def soft_nms_first(boxes: Tensor,
                   scores: Tensor,
                   max_num: int,
                   iou_threshold: float = 0.3,
                   sigma: float = 0.5,
                   min_score: float = 1e-3,
                   method: str = 'linear',
                   offset: int = 0) -> Tuple[Tensor, Tensor]:
    """Soft-NMS (Bodla et al., ICCV 2017; SMPR's "NMS [1]") stopped after its
    first ``max_num`` selections, computed where ``boxes`` are (a GPU too).

    Each round takes the box of highest score among those left, then lowers
    the score of every other box left by its IoU ``o`` with it: ``naive``
    sets it to 0 where ``o >= iou_threshold``, ``linear`` multiplies it by
    ``1 - o`` there, ``gaussian`` by ``exp(-o^2 / sigma)`` everywhere; boxes
    whose score falls below ``min_score`` leave. These are the rounds, IoU
    (``offset`` added to widths and heights) and arguments of mmcv's
    ``soft_nms``, which runs every round on the CPU (``O(N^2)``, from CUDA
    tensors too); its first ``max_num`` rows are this function's result
    (``tests/test_post_processing/test_soft_nms.py``). Here a round is about
    20 small ops over the ``N`` boxes, so ``max_num`` rounds cost
    ``O(N max_num)`` and read nothing on the host until the end (one count of
    the rounds that found a box). Ties of score may go to another box than
    mmcv's (it breaks them by its swapped order); scores must not be NaN.

    Args:
        boxes (Tensor): ``(N, 4)`` boxes ``(x1, y1, x2, y2)``, pixels.
        scores (Tensor): ``(N,)`` their scores.
        max_num (int): Rounds to run, the most boxes returned; 0 or less
            runs them all, as mmcv's ``soft_nms``.
        iou_threshold, sigma, min_score, method, offset: As mmcv's
            ``soft_nms``.

    Returns:
        tuple: ``keep`` ``(M,)`` long indices into ``boxes`` in the order
        selected (scores not increasing), ``M <= max_num``, and their ``(M,)``
        float32 scores when selected.
    """
    if method not in SOFT_NMS_METHODS:
        raise ValueError(f'soft_nms_first: method {method!r}, expected one '
                         f'of {SOFT_NMS_METHODS}')
    if offset not in (0, 1):
        raise ValueError(f'soft_nms_first: offset {offset!r}, expected 0 or '
                         '1')
    rounds = len(scores) if max_num <= 0 else min(max_num, len(scores))
    device = scores.device
    if rounds <= 0:
        return (torch.zeros(0, dtype=torch.long, device=device),
                torch.zeros(0, dtype=torch.float32, device=device))
    corners = boxes.float().t().contiguous()  # (4, N): x1, y1, x2, y2
    areas = ((corners[2] - corners[0] + offset) *
             (corners[3] - corners[1] + offset))
    current = scores.float().clone()
    left = torch.ones_like(current, dtype=torch.bool)
    keep, kept_scores, found = [], [], []  # (1,) tensors, one per round
    no_score = current.new_tensor(float('-inf'))
    for _ in range(rounds):
        # (1,) indices, not 0-d ones: indexing with a 0-d tensor reads it on
        # the host (a sync per use on a GPU); index_select is the cheapest
        # read with them
        best = torch.where(left, current, no_score).argmax(0, keepdim=True)
        keep.append(best)
        kept_scores.append(current.index_select(0, best))
        found.append(left.index_select(0, best))  # False once no box is left
        left.index_fill_(0, best, False)
        chosen = corners.index_select(1, best)  # (4, 1)
        sides = (torch.minimum(corners[2:], chosen[2:]) -
                 torch.maximum(corners[:2], chosen[:2]) + offset).clamp_(min=0)
        inter = sides[0] * sides[1]
        current *= decay(inter / (areas.index_select(0, best) + areas - inter),
                         iou_threshold, sigma, method)
        # mmcv drops a box whose score is below min_score, keeps a NaN one
        left &= ~(current < min_score)
    # the rounds that found a box are a prefix; the one read on the host
    count = int(torch.cat(found).sum())
    return torch.cat(keep[:count]), torch.cat(kept_scores[:count])


def decay(iou: Tensor, iou_threshold: float, sigma: float,
          method: str) -> Tensor:
    """The factor of a box's score when a box it overlaps by ``iou`` is
    selected: ``naive`` 0 where ``iou >= iou_threshold``, ``linear`` ``1 -
    iou`` there, 1 elsewhere; ``gaussian`` ``exp(-iou^2 / sigma)``."""
    if method == 'gaussian':
        return torch.exp(-(iou * iou) / sigma)
    overlapping = iou >= iou_threshold
    if method == 'naive':
        return (~overlapping).float()
    return torch.where(overlapping, 1 - iou, torch.ones_like(iou))
