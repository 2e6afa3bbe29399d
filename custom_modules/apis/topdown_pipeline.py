# Copyright (c) OpenMMLab. All rights reserved.
"""The two steps of top-down inference on whole images: person boxes, then
poses per box.

Used by ``tools/sample_demo.py``, ``tools/dump_person_detections.py`` and
``--bbox-file`` of ``tools/inferencer_demo.py`` (boxes from a file). All
coordinates are pixels of the original image; boxes are ``(x1, y1, x2, y2)``.
"""
import json
import logging
import math
import os.path as osp
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import mmcv
import numpy as np
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.visualization import Visualizer
from mmpose.apis import inference_topdown
from mmpose.evaluation.functional import nms
from mmpose.structures import merge_data_samples, split_instances

from ..datasets.coco_file_checks import (FILE_NAME, INTEGER, field_problem,
                                         no_person_problem)
from .checkpoint_check import check_checkpoint_matches, load_checkpoint_file
from .demo_io import InputError, write_image

#: What a box file's ``images`` entries need.
IMAGE_NAMES = {'id': INTEGER, 'file_name': FILE_NAME}


def build_person_detector(config: str,
                          checkpoint: Optional[str] = None,
                          device: str = 'cpu') -> nn.Module:
    """An MMDetection detector whose test pipeline runs inside mmpose's default
    scope.

    Args:
        config: MMDetection config (this project's YOLOv3:
            ``configs/detectors/``).
        checkpoint: Its weights (path or URL); None leaves them random.
        device: e.g. ``'cpu'`` or ``'cuda:0'``.

    Raises:
        CheckpointError: If ``checkpoint`` cannot be read, or holds no
            weight of ``config``'s model (mmdet loads what fits, with a
            warning, and would detect with random weights):
            :func:`~.checkpoint_check.check_checkpoint_matches` with
            ``partial`` (a detector's checkpoint of an older mmdet may name a
            few weights otherwise).
    """
    from mmdet.apis import init_detector
    from mmpose.utils import adapt_mmdet_pipeline

    loaded = None if checkpoint is None else load_checkpoint_file(checkpoint)
    detector = init_detector(config, checkpoint, device=device)
    if loaded is not None:
        check_checkpoint_matches(
            detector, loaded, str(checkpoint), partial=True)
    detector.cfg = adapt_mmdet_pipeline(detector.cfg)
    return detector


def detect_persons(detector: nn.Module,
                   image: np.ndarray,
                   cat_id: int = 0,
                   score_thr: float = 0.3,
                   nms_thr: float = 0.3) -> np.ndarray:
    """Person boxes of an MMDetection detector.

    Args:
        detector: A model from :func:`build_person_detector`.
        image: (H, W, 3) BGR image.
        cat_id: The detector's label of the person class (0 for COCO-trained
            detectors).
        score_thr: Keep boxes scoring above this.
        nms_thr: IoU threshold of the extra NMS over the kept person boxes.

    Returns:
        np.ndarray: (N, 5) boxes ``x1, y1, x2, y2, score``, highest score
        first, clipped to the image; boxes with non-finite coordinates or no
        area after clipping are dropped.
    """
    from mmdet.apis import inference_detector

    instances = (
        inference_detector(detector, image).pred_instances.cpu().numpy())
    keep = ((instances.labels == cat_id) & (instances.scores > score_thr)
            & np.isfinite(instances.bboxes).all(axis=1))
    boxes = np.concatenate(
        [instances.bboxes[keep], instances.scores[keep, None]], axis=1)
    height, width = image.shape[:2]
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    boxes = boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])]
    boxes = boxes[nms(boxes, nms_thr)] if len(boxes) else boxes
    return boxes[np.argsort(-boxes[:, 4])].astype(np.float32)


def load_person_boxes(bbox_file: str,
                      score_thr: float = 0.0,
                      image_names: Optional[Dict[int, str]] = None
                      ) -> Dict[str, np.ndarray]:
    """Person boxes from a COCO json, keyed by image file name.

    Args:
        bbox_file: Either a COCO annotation file (a dict with ``images`` and
            ``annotations``: its non-crowd ground-truth boxes, score 1) or a
            COCO detection results file (a list of ``{image_id, bbox: [x, y, w,
            h], score}``). Only persons (``category_id`` 1, or no category) are
            kept; boxes of no width or height are skipped (with a warning).
        score_thr: Keep detections scoring at least this.
        image_names: ``{image_id: file_name}`` for a detection results file; by
            default COCO's naming ``%012d.jpg``. An annotation file carries its
            own.

    Returns:
        dict: ``{file name: (N, 5) float32 array of x1, y1, x2, y2, score}``,
        the name without folders (``val2017/x.jpg`` -> ``x.jpg``), as the
        images of a folder are named.

    Raises:
        ValueError: If the file is not JSON, is neither form, has an image
            without ``id`` or ``file_name`` or an entry without an integer
            ``image_id`` (detections named by COCO's rule), a ``bbox`` of 4
            finite numbers with ``w, h >= 0`` or a finite ``score``, or if
            none of its entries is a person (mmdet's 0-based labels written
            as they are); the message names the file, the entry and the
            field.
    """
    with open(bbox_file) as f:
        try:
            content = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f'{bbox_file}: not JSON ({error})') from None
    if isinstance(content, dict):
        if 'images' not in content or 'annotations' not in content:
            raise ValueError(
                f'{bbox_file}: a COCO annotation file needs "images" and '
                '"annotations"')
        image_names = dict(coco_image_files(content, bbox_file))
        records = [
            dict(ann, score=1.0) for ann in content['annotations']
            if not ann.get('iscrowd', 0)
        ]
    elif isinstance(content, list):
        records = content
    else:
        raise ValueError(
            f'{bbox_file}: expected a COCO annotation dict or a detection list'
        )

    problem = no_person_problem(
        records, 'annotations' if isinstance(content, dict) else 'detections')
    if problem:
        raise ValueError(f'{bbox_file}: {problem}')
    boxes = defaultdict(list)
    full_names: Dict[str, str] = {}
    empty = 0
    for i, record in enumerate(records):
        if 'bbox' not in record or 'image_id' not in record:
            raise ValueError(
                f'{bbox_file}: entry {i} lacks "bbox" or "image_id"')
        score = record.get('score', 1.0)
        if not _finite_number(score):
            raise ValueError(
                f'{bbox_file}: entry {i} has "score" {score!r}, not a finite '
                'number')
        bbox = record['bbox']
        if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4
                or not all(_finite_number(v) for v in bbox) or bbox[2] < 0
                or bbox[3] < 0):
            raise ValueError(
                f'{bbox_file}: entry {i} has "bbox" {bbox!r}, not the 4 '
                'finite numbers [x, y, w, h] (w, h >= 0)')
        x, y, w, h = bbox
        if score < score_thr or record.get('category_id', 1) != 1:
            continue
        if w == 0 or h == 0:  # no area: no person to pose (as mmpose skips)
            empty += 1
            continue
        image_id = record['image_id']
        if image_names is None:
            if not isinstance(image_id, int) or isinstance(image_id, bool):
                raise ValueError(
                    f'{bbox_file}: entry {i} has "image_id" {image_id!r}; a '
                    'detection list names its images by integer ids '
                    '(%012d.jpg)')
            name = f'{image_id:012d}.jpg'
        elif image_id in image_names:
            name = image_names[image_id]
        else:
            raise ValueError(
                f'{bbox_file}: entry {i} has image_id {image_id}, which no '
                'image has')
        base = Path(name).name
        if full_names.setdefault(base, name) != name:
            raise ValueError(
                f'{bbox_file}: images {full_names[base]} and {name} have the '
                f'same file name {base}, by which the boxes are found')
        boxes[base].append([x, y, x + w, y + h, score])
    if empty:
        print_log(
            f'{bbox_file}: {empty} person boxes of no width or height skipped',
            logger='current',
            level=logging.WARNING)
    return {name: np.array(b, dtype=np.float32) for name, b in boxes.items()}


def coco_image_files(content: Mapping, path: str) -> List[Tuple[Any, str]]:
    """``(id, file_name)`` of each image of a COCO file's ``images``, in its
    order.

    Raises:
        InputError: ``'<path>: images[i] has no "file_name"'`` (or ``"id"``,
            or one of the wrong kind: :func:`field_problem`), or naming an
            ``images`` that is no list.
    """
    images = content.get('images')
    if not isinstance(images, list):
        raise InputError(f'{path}: no "images" list')
    problem = field_problem(images, IMAGE_NAMES, 'images')
    if problem:
        raise InputError(f'{path}: {problem}')
    return [(image['id'], image['file_name']) for image in images]


def _finite_number(value: object) -> bool:
    """Whether ``value`` is an int or float (not a bool) and finite (JSON files
    may hold ``NaN`` and ``Infinity``)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def coco_detections(image_id: int, boxes: np.ndarray) -> List[dict]:
    """(N, 5) ``x1, y1, x2, y2, score`` boxes -> COCO detection results of
    category 1 (person), ``{"image_id", "category_id": 1, "bbox": [x, y, w, h],
    "score"}``."""
    return [
        dict(
            image_id=image_id,
            category_id=1,
            bbox=[x1, y1, x2 - x1, y2 - y1],
            score=score)
        for x1, y1, x2, y2, score in np.asarray(boxes, dtype=float).tolist()
    ]


def estimate_poses(pose_model: nn.Module,
                   image: np.ndarray,
                   boxes: np.ndarray,
                   visualizer: Optional[Visualizer] = None,
                   out_file: Optional[str] = None,
                   kpt_thr: float = 0.3) -> List[dict]:
    """Run a top-down model on each box; optionally draw the result into
    ``out_file``.

    Args:
        pose_model: A model from ``mmpose.apis.init_model``.
        image: (H, W, 3) BGR image.
        boxes: (N, 4) or (N, 5) person boxes ``x1, y1, x2, y2[, score]``. With
            N = 0 nothing is predicted (mmpose would take the whole image as
            one person).
        visualizer: A ``PoseLocalVisualizer`` with the model's dataset meta, to
            draw with.
        out_file: Where to write the drawn image (the image as it is when there
            are no boxes), atomically (:func:`~.demo_io.write_image`).
        kpt_thr: Keypoints scoring below this are not drawn.

    Returns:
        list[dict]: One dict per person: ``bbox`` (x1, y1, x2, y2),
        ``bbox_score``, ``keypoints`` (K, 2) in image pixels and
        ``keypoint_scores`` (K, ), as lists.
    """
    if not len(boxes):
        if out_file is not None:
            write_image(Path(out_file), image)
        return []
    merged = merge_data_samples(
        inference_topdown(pose_model, image, bboxes=boxes[:, :4]))
    if visualizer is not None and out_file is not None:
        drawn = visualizer.add_datasample(
            osp.basename(out_file),
            mmcv.bgr2rgb(image),
            data_sample=merged,
            draw_gt=False,
            draw_bbox=True,
            kpt_thr=kpt_thr,
            show=False)
        write_image(Path(out_file), mmcv.rgb2bgr(drawn))
    return [
        dict(
            bbox=[float(v) for v in box[:4]],
            bbox_score=float(box[4]) if len(box) > 4 else 1.0,
            keypoints=person['keypoints'],
            keypoint_scores=person['keypoint_scores'])
        for box, person in zip(boxes, split_instances(merged.pred_instances))
    ]
