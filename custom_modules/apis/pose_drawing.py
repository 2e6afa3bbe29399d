# Copyright (c) OpenMMLab. All rights reserved.
"""Drawing for the live demos, in OpenCV (a few ms a frame): tracked people in
one stable colour per identity, and a small text overlay (FPS, per-stage
times).

mmpose's visualizer colours keypoints and limbs by body part, the same for
every person; a tracked person needs one colour of its own, so
:func:`draw_tracked_people` draws the dataset's skeleton
(``dataset_meta['skeleton_links']``) itself.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

# 20 well-separated colours (BGR), the id's colour is PALETTE[track_id % 20].
PALETTE: Tuple[Tuple[int, int, int], ...] = (
    (75, 25, 230),
    (75, 180, 60),
    (25, 225, 255),
    (200, 130, 0),
    (48, 130, 245),
    (180, 30, 145),
    (240, 240, 70),
    (230, 50, 240),
    (60, 245, 210),
    (212, 190, 250),
    (128, 128, 0),
    (255, 190, 220),
    (40, 110, 170),
    (200, 250, 255),
    (0, 0, 128),
    (195, 255, 170),
    (0, 128, 128),
    (180, 215, 255),
    (128, 0, 0),
    (128, 128, 128),
)


def track_colour(track_id: int) -> Tuple[int, int, int]:
    """The BGR colour of an identity: the same for the same id in every
    frame."""
    return PALETTE[int(track_id) % len(PALETTE)]


def _person_box(person: dict, visible: np.ndarray) -> Optional[np.ndarray]:
    """``(x1, y1, x2, y2)``: the person's ``bbox`` if it has one, else the box
    of its visible keypoints; None when there is neither."""
    if 'bbox' in person:
        return np.asarray(person['bbox'], dtype=np.float32)[:4]
    keypoints = np.asarray(person['keypoints'], dtype=np.float32)[visible]
    if not len(keypoints):
        return None
    return np.concatenate([keypoints.min(axis=0), keypoints.max(axis=0)])


def draw_tracked_people(image: np.ndarray,
                        people: List[dict],
                        skeleton_links: Sequence[Tuple[int, int]],
                        kpt_thr: float = 0.3,
                        draw_bbox: bool = True,
                        radius: Optional[int] = None,
                        thickness: Optional[int] = None) -> np.ndarray:
    """A copy of ``image`` (BGR) with each person drawn in the colour of its
    ``track_id`` (:func:`track_colour`; grey without one): limbs whose two
    keypoints score at least ``kpt_thr``, those keypoints, the box (``bbox`` or
    the visible keypoints') with ``draw_bbox``, and ``#id`` above it.

    ``thickness`` of the lines and ``radius`` of the keypoints, pixels: by
    default from the image's size.
    """
    canvas = image.copy()
    height, width = canvas.shape[:2]
    thickness = thickness or max(1, round(min(height, width) / 240))
    radius = radius or thickness + 1
    font_scale = max(0.35, min(height, width) / 900)
    for person in people:
        track_id = person.get('track_id')
        colour = (
            track_colour(track_id) if track_id is not None else
            (160, 160, 160))
        keypoints = np.asarray(person['keypoints'], dtype=np.float32)
        visible = np.asarray(
            person['keypoint_scores'], dtype=np.float32) >= kpt_thr
        visible &= np.isfinite(keypoints).all(axis=1)
        points = np.round(np.nan_to_num(keypoints)).astype(np.int32)
        # the person's limbs in one call: (L, 2, 2) segments
        links = np.asarray(skeleton_links, dtype=np.intp).reshape(-1, 2)
        links = links[(links < len(points)).all(axis=1)]
        links = links[visible[links].all(axis=1)]
        if len(links):
            cv2.polylines(canvas, list(points[links]), False, colour,
                          thickness, cv2.LINE_AA)
        for x, y in points[visible].tolist():
            cv2.circle(canvas, (x, y), radius, colour, -1, cv2.LINE_AA)
        box = _person_box(person, visible)
        if box is None or not np.isfinite(box).all():
            continue
        x1, y1, x2, y2 = np.round(box).astype(int).tolist()
        if draw_bbox:
            cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        if track_id is not None:
            label = f'#{track_id}'
            (label_w, label_h), _ = cv2.getTextSize(label,
                                                    cv2.FONT_HERSHEY_SIMPLEX,
                                                    font_scale, thickness)
            label_x = min(max(x1, 0), max(width - label_w, 0))
            origin = (label_x, max(y1 - 3, label_h + 1))
            cv2.putText(canvas, label, origin, cv2.FONT_HERSHEY_SIMPLEX,
                        font_scale, colour, thickness, cv2.LINE_AA)
    return canvas


def draw_text_overlay(image: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """``image`` (BGR, in place) with ``lines`` of small white text on a dark
    band at its top left; returns it."""
    if not lines:
        return image
    height, width = image.shape[:2]
    scale = max(0.35, min(height, width) / 1200)
    thickness = 1
    sizes = [
        cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        for line in lines
    ]
    line_height = max(h + baseline for (_, h), baseline in sizes) + 4
    band_w = min(width, max(w for (w, _), _ in sizes) + 8)
    band_h = min(height, line_height * len(lines) + 4)
    region = image[:band_h, :band_w]
    # darken: the text reads on any frame
    region[:] = (region * 0.4).astype(image.dtype)
    for i, line in enumerate(lines):
        cv2.putText(image, line, (4, (i + 1) * line_height - 2),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                    thickness, cv2.LINE_AA)
    return image
