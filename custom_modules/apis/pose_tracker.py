# Copyright (c) OpenMMLab. All rights reserved.
"""Identities of people across video frames: greedy OKS or box-IoU matching
with a time-to-live, and optional One-Euro smoothing of the tracked keypoints.

The scores are mmpose's: the OKS of ``oks_iou`` (what
``mmpose.apis.inference_tracking._track_by_oks`` scores with), computed for
every (person, track) pair of a frame at once, and ``bbox_overlaps``.
mmpose's ``_track_by_oks`` / ``_track_by_iou`` themselves do
not fit a live front end: they match each person in turn to the best of the
previous frame's people only, so a person hidden for one frame gets a new id,
and the first person to ask takes a track another fits better;
:class:`PoseTracker` matches the best pairs first and keeps a track for ``ttl``
frames.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmpose.structures.bbox import bbox_overlaps

from ..post_processing import visible_keypoint_boxes


class OneEuroFilter:
    """The One-Euro filter (Casiez et al., CHI 2012) of ``K`` points.

    A low-pass filter whose cut-off rises with the point's speed, so that a
    still keypoint stops jittering and a moving one lags little.

    Each point has its own state and its own time of last update, so that a
    keypoint missing for some frames (``valid`` False: a score under the
    threshold) is neither fed to the filter nor pulls it toward its placeholder
    position, and when it is back the filter sees the whole time it was away
    (as after frames the tracker did not see).

    Args:
        min_cutoff (float): Cut-off frequency at rest, Hz. Lower: smoother,
            more lag.
        beta (float): How fast the cut-off rises with speed (per pixel per
            second).
        d_cutoff (float): Cut-off frequency of the speed estimate, Hz.
    """

    def __init__(self,
                 min_cutoff: float = 1.0,
                 beta: float = 0.05,
                 d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        # (K, D) filtered positions
        self.value: Optional[np.ndarray] = None
        # (K, D) filtered speeds, per second
        self.speed: Optional[np.ndarray] = None
        # (K,) seconds of each point's last update
        self.time: Optional[np.ndarray] = None

    @staticmethod
    def _alpha(cutoff: np.ndarray, dt: np.ndarray) -> np.ndarray:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self,
                 value: np.ndarray,
                 timestamp: float,
                 valid: Optional[np.ndarray] = None) -> np.ndarray:
        """Filter the ``(K, D)`` points ``value`` observed at ``timestamp``
        (seconds, increasing).

        Args:
            value: The points, e.g. ``(K, 2)`` keypoints in pixels.
            timestamp: When they were observed (a frame's time, not a count of
                frames).
            valid: ``(K,)``; False for a point not observed in this frame (its
                value is ignored and returned as given). All valid by default.

        Returns:
            np.ndarray: ``(K, D)``: the filtered points where valid, the given
                ones elsewhere.
        """
        value = np.asarray(value, dtype=np.float64)
        if valid is None:
            valid = np.ones(len(value), dtype=bool)
        else:
            valid = np.asarray(valid, bool)
        if self.value is None:
            self.value, self.speed = value.copy(), np.zeros_like(value)
            self.time = np.full(len(value), np.nan)
        seen = ~np.isnan(self.time)
        first, update = valid & ~seen, valid & seen
        self.value[first], self.speed[first] = value[first], 0.0
        if update.any():
            dt = np.maximum(timestamp - self.time[update], 1e-6)[:, None]
            speed = (value[update] - self.value[update]) / dt
            a_d = self._alpha(np.asarray(self.d_cutoff), dt)
            self.speed[update] = a_d * speed + (1 - a_d) * self.speed[update]
            alpha = self._alpha(
                self.min_cutoff + self.beta * np.abs(self.speed[update]), dt)
            self.value[update] = (
                alpha * value[update] + (1 - alpha) * self.value[update])
        self.time[valid] = timestamp
        return np.where(valid[:, None], self.value, value)


VISIBLE = 0.5  # ``vis_thr`` of oks_iou: visibility flags are 0 or 1


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas ``(N,)`` of ``(N, 4)`` ``(x1, y1, x2, y2)`` boxes, each side at
    least 1 pixel (a person seen as one keypoint still has a scale)."""
    return np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 1, None), axis=1)


def has_extent(boxes: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: the ``(N, 4)`` box is at least 1 pixel wide and high, so
    its area is a person's scale (not that of one keypoint, or a line)."""
    return ((boxes[:, 2:] - boxes[:, :2]) >= 1).all(axis=1)


class _Track:
    """One identity: its last pose and box, which of its keypoints were ever
    seen, how long it has been unseen, its filter."""

    def __init__(self, track_id: int, keypoints: np.ndarray, seen: np.ndarray,
                 box: np.ndarray, smoother: Optional[OneEuroFilter]) -> None:
        self.track_id, self.keypoints, self.box = track_id, keypoints, box
        # (K,) bool; a keypoint never seen has no position to compare
        self.seen = seen
        self.missed = 0
        self.smoother = smoother


class PoseTracker:
    """Gives every person of every frame an identity that persists while the
    person moves.

    Each frame, every (person, track) pair is scored by the object keypoint
    similarity (COCO's OKS with the dataset's ``sigmas``, mmpose's ``oks_iou``)
    or the IoU of their boxes; pairs are taken greedily from the best while
    both ends are free and the score exceeds ``threshold`` (as mmpose's
    ``_track_by_oks``). A person left over starts a new track (ids count up
    from 0); a track left over is kept for ``ttl`` frames, so a person hidden
    for a moment gets their id back.

    A person none of whose keypoints reaches the score threshold of
    :meth:`update` is tracked by all of them: a single-stage model such as
    SMPR gives every keypoint the pose's score, so its people are seen whole
    or not at all.

    Args:
        metric (str): ``'oks'`` or ``'iou'``. Defaults to ``'oks'``.
        threshold (float): Lowest score of a match. Defaults to 0.3.
        ttl (int): Frames a track survives without a match. Defaults to 30 (1 s
            at 30 FPS).
        sigmas (sequence of float, optional): Per-keypoint OKS sigmas (the
            dataset metainfo's ``sigmas``); required for ``'oks'``.
        smoothing (bool): Smooth each track's keypoints with a
            :class:`OneEuroFilter`. Off by default.
        fps (float): Frames per second assumed when :meth:`update` gets no
            timestamp (a frame ``1 / fps`` s after the previous update).
            Defaults to 30.
        one_euro (dict, optional): Arguments of :class:`OneEuroFilter`.
    """

    def __init__(self,
                 metric: str = 'oks',
                 threshold: float = 0.3,
                 ttl: int = 30,
                 sigmas: Optional[Sequence[float]] = None,
                 smoothing: bool = False,
                 fps: float = 30.0,
                 one_euro: Optional[Dict[str, float]] = None) -> None:
        if metric not in ('oks', 'iou'):
            raise ValueError(
                f"PoseTracker: metric must be 'oks' or 'iou', got {metric!r}")
        if metric == 'oks' and sigmas is None:
            raise ValueError(
                "PoseTracker: metric 'oks' needs the dataset's keypoint "
                "sigmas (metainfo['sigmas'])")
        self.metric, self.threshold, self.ttl = metric, threshold, ttl
        self.sigmas = None if sigmas is None else np.asarray(
            sigmas, dtype=np.float32)
        self.smoothing, self.dt, self.one_euro = smoothing, 1.0 / fps, dict(
            one_euro or {})
        self.time = -self.dt  # of the last update, seconds
        self.tracks: List[_Track] = []
        self.next_id = 0

    def similarity(self, keypoints: np.ndarray, visible: np.ndarray,
                   boxes: np.ndarray) -> np.ndarray:
        """``(N, T)`` scores of the frame's ``N`` people with the ``T`` live
        tracks, one matrix for the frame: the IoU of the boxes, or the OKS of
        each track's pose against each person's pose over the keypoints seen by
        both (the person's ``visible`` ones, the track's ever seen ones, an
        unseen one at its last seen position), with the mean of the two box
        areas as the scale: mmpose's ``oks_iou`` with ``vis_thr``, which scores
        one track at a time, vectorised (the same values).

        For OKS, a person whose box has no extent (one visible keypoint) takes
        the track's area as the scale; a person with no keypoint seen by both
        scores 0. The IoU of a box without extent is 0: with ``'iou'``, a
        person seen by one keypoint starts a new track (give detector boxes, or
        use ``'oks'``).
        """
        if not self.tracks or not len(keypoints):
            return np.zeros((len(keypoints), len(self.tracks)),
                            dtype=np.float32)
        track_boxes = np.stack([t.box for t in self.tracks])
        if self.metric == 'iou':
            return bbox_overlaps(
                torch.from_numpy(boxes),
                torch.from_numpy(track_boxes)).numpy()
        track_poses = np.stack([t.keypoints for t in self.tracks])
        track_seen = np.stack([t.seen for t in self.tracks])  # (T, K)
        areas = box_areas(boxes)[:, None]  # (N, 1)
        track_areas = box_areas(track_boxes)[None]  # (1, T)
        scale = np.where(
            has_extent(boxes)[:, None],
            (areas + track_areas) / 2, track_areas) + np.spacing(1)
        squared = ((keypoints[:, None].astype(np.float64) -
                    track_poses[None])**2).sum(axis=-1)  # (N, T, K)
        variances = (2 * self.sigmas.astype(np.float64))**2
        similarity = np.exp(-squared / variances / scale[..., None] / 2)
        both = (visible > VISIBLE)[:, None] & track_seen[None]  # (N, T, K)
        count = both.sum(axis=-1)
        total = (similarity * both).sum(axis=-1)
        return np.where(count > 0, total / np.maximum(count, 1),
                        0).astype(np.float32)

    def update(self,
               keypoints: np.ndarray,
               keypoint_scores: np.ndarray,
               boxes: Optional[np.ndarray] = None,
               score_thr: float = 0.3,
               timestamp: Optional[float] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
        """Track one frame's people.

        Args:
            keypoints (np.ndarray): ``(N, K, 2)`` keypoints, pixels.
            keypoint_scores (np.ndarray): ``(N, K)``; a keypoint scoring under
                ``score_thr`` counts as not visible for OKS and for the box
                made from the keypoints (unless all of the person's do).
            boxes (np.ndarray, optional): ``(N, 4)`` ``(x1, y1, x2, y2)``
                boxes, pixels (the detector's); by default the boxes of the
                visible keypoints.
            score_thr (float): See ``keypoint_scores``.
            timestamp (float, optional): When the frame was taken, seconds (a
                video frame's time, a live frame's clock): what the smoothing's
                filter runs on. By default ``1 / fps`` after the previous
                update.

        Returns:
            tuple: ``track_ids`` ``(N,)`` int, and the keypoints ``(N, K, 2)``,
            smoothed with ``smoothing``, else as given.
        """
        self.time = self.time + self.dt if timestamp is None else float(
            timestamp)
        keypoints = np.asarray(keypoints, dtype=np.float32)
        seen = np.asarray(keypoint_scores) >= score_thr
        seen[~seen.any(axis=1)] = True
        visible = seen.astype(np.float32)
        if boxes is None:
            boxes = visible_keypoint_boxes(keypoints, seen)
        boxes = np.asarray(boxes, dtype=np.float32)[:, :4]
        scores = self.similarity(keypoints, visible, boxes)
        extent = has_extent(boxes)

        # index into self.tracks
        track_of = np.full(len(keypoints), -1, dtype=np.intp)
        order = np.argsort(-scores, axis=None, kind='stable')
        person_free = np.ones(len(keypoints), dtype=bool)
        track_free = np.ones(len(self.tracks), dtype=bool)
        for person, track in zip(*np.unravel_index(order, scores.shape)):
            if scores[person, track] <= self.threshold:
                break
            if person_free[person] and track_free[track]:
                track_of[person] = track
                person_free[person] = track_free[track] = False

        for track in self.tracks:
            track.missed += 1
        ids = np.empty(len(keypoints), dtype=np.int64)
        out = keypoints.copy()
        for person in range(len(keypoints)):
            if track_of[person] >= 0:
                track = self.tracks[track_of[person]]
                track.missed = 0
                # an unseen keypoint keeps the track's last position, so OKS
                # stays meaningful; a box without extent keeps the last scale
                track.keypoints = np.where(seen[person, :, None],
                                           keypoints[person], track.keypoints)
                track.seen = track.seen | seen[person]
                if extent[person]:
                    track.box = boxes[person]
            else:
                smoother = (
                    OneEuroFilter(**self.one_euro) if self.smoothing else None)
                track = _Track(self.next_id, keypoints[person], seen[person],
                               boxes[person], smoother)
                self.next_id += 1
                self.tracks.append(track)
            ids[person] = track.track_id
            if track.smoother is not None:
                out[person] = track.smoother(keypoints[person], self.time,
                                             seen[person])
        self.tracks = [t for t in self.tracks if t.missed <= self.ttl]
        return ids, out
