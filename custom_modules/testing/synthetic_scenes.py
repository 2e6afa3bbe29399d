# Copyright (c) OpenMMLab. All rights reserved.
"""Generated multi-person scenes for the benchmarks of ``tools/analysis/`` and
the tests: real annotated poses placed on a grid."""
import json
import math
from pathlib import Path
from typing import List, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData

from ..task_modules import pseudo_boxes


def load_templates(ann_file: Path
                   ) -> List[Tuple[np.ndarray, np.ndarray, float]]:
    """Pose templates: the annotated people (``num_keypoints > 0``) of a COCO
    file.

    Returns:
        list: per person, ``keypoints`` (17, 2) relative to its box (0..1
        inside the box), ``visible`` (17,) 1.0 where annotated, and the box's
        aspect ratio ``w / h``.
    """
    templates = []
    for ann in json.loads(ann_file.read_text())['annotations']:
        if ann['num_keypoints'] == 0:
            continue
        x, y, w, h = ann['bbox']
        keypoints = np.array(ann['keypoints'], dtype=np.float32).reshape(-1, 3)
        templates.append(
            (((keypoints[:, :2] - [x, y]) / [w, h]).astype(np.float32),
             (keypoints[:, 2] > 0).astype(np.float32), w / h))
    return templates


def grid_boxes(aspects: List[float], width: int, height: int) -> np.ndarray:
    """Boxes of ``len(aspects)`` people on a ``width`` x ``height`` canvas:
    person ``i`` in cell ``i`` of a grid whose cells are closest to 2:1 (tall),
    its box of aspect ``aspects[i]`` (``w / h``) scaled to 80% of the cell and
    centred, so no two people overlap.

    Returns:
        np.ndarray: ``(N, 4)`` boxes ``(x1, y1, x2, y2)`` in canvas pixels.
    """
    num_people = len(aspects)
    rows = min(
        range(1, num_people + 1),
        key=lambda r: abs(height / r /
                          (width / math.ceil(num_people / r)) - 2))
    cols = math.ceil(num_people / rows)
    cell_w, cell_h = width / cols, height / rows
    boxes = []
    for i, aspect in enumerate(aspects):
        row, col = divmod(i, cols)
        box_h = 0.8 * min(cell_w / aspect, cell_h)
        box_w = box_h * aspect
        x1 = col * cell_w + (cell_w - box_w) / 2
        y1 = row * cell_h + (cell_h - box_h) / 2
        boxes.append((x1, y1, x1 + box_w, y1 + box_h))
    return np.array(boxes, dtype=np.float32).reshape(-1, 4)


def make_scene(templates: List[Tuple[np.ndarray, np.ndarray,
                                     float]], num_people: int, width: int,
               height: int) -> Tuple[np.ndarray, np.ndarray]:
    """``num_people`` people on a ``width`` x ``height`` pixel canvas: template
    ``i % T`` in the box ``i`` of :func:`grid_boxes`.

    Returns:
        tuple: COCO ``keypoints`` (N, 17, 2) in canvas pixels and ``visible``
            (N, 17).
    """
    chosen = [templates[i % len(templates)] for i in range(num_people)]
    boxes = grid_boxes([aspect for _, _, aspect in chosen], width, height)
    keypoints = [
        relative * (box[2:] - box[:2]) + box[:2]
        for (relative, _, _), box in zip(chosen, boxes)
    ]
    visible = [person_visible for _, person_visible, _ in chosen]
    return (np.array(keypoints, dtype=np.float32).reshape(-1, 17, 2),
            np.array(visible).reshape(-1, 17))


def scene_instances(templates: List[Tuple[np.ndarray, np.ndarray, float]],
                    num_people: int, width: int, height: int) -> InstanceData:
    """The people of :func:`make_scene` as ``InstanceData``: ``keypoints``
    ``(N, 17, 2)`` and ``keypoints_visible`` ``(N, 17)`` (tensors, canvas
    pixels), ``bboxes`` ``(N, 4)`` (the visible keypoints' box) and ``areas``
    ``(N,)`` (half the box, as mmpose estimates a person's area from a box)."""
    keypoints, visible = map(torch.from_numpy,
                             make_scene(templates, num_people, width, height))
    boxes, _ = pseudo_boxes(keypoints, visible)
    areas = 0.5 * (boxes[:, 2:] - boxes[:, :2]).prod(1)
    return InstanceData(
        keypoints=keypoints,
        keypoints_visible=visible,
        bboxes=boxes,
        areas=areas)


def crowded_boxes(num_people: int,
                  per_person: int,
                  seed: int = 0,
                  canvas: float = 400.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Candidate boxes as a dense pose model proposes them: ``per_person``
    boxes jittered around each of ``num_people`` person boxes (so that they
    overlap and every round of NMS lowers scores), with distinct scores.

    Returns:
        tuple: ``boxes`` ``(N, 4)`` float32 ``(x1, y1, x2, y2)`` pixels on a
        ``canvas`` square, ``N = num_people * per_person``, and ``scores``
        ``(N,)`` in (0, 1), a random order of ``N`` evenly spaced values.
    """
    generator = torch.Generator().manual_seed(seed)
    centres = torch.rand(num_people, 1, 2, generator=generator) * canvas
    sizes = 20 + torch.rand(num_people, 1, 2, generator=generator) * 60
    jitter = torch.randn(num_people, per_person, 4, generator=generator) * 6
    low, high = centres - sizes / 2, centres + sizes / 2
    corners = (torch.cat(
        [low.expand(-1, per_person, -1),
         high.expand(-1, per_person, -1)],
        dim=-1) + jitter).reshape(-1, 2, 2)  # (N, corner, xy)
    # a jitter larger than the box swaps its corners
    boxes = torch.cat([corners.amin(dim=1), corners.amax(dim=1)], dim=1)
    order = torch.randperm(len(boxes), generator=generator).float()
    return boxes, (order + 1) / (len(boxes) + 1)
