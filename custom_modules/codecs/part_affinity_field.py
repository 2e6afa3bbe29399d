"""Part affinity fields (OpenPose, MLN): joint confidence maps, limb vector fields and their
greedy grouping into people."""
from typing import Dict, Optional, Tuple

import numpy as np
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .paf_skeleton import PAFSkeleton


@KEYPOINT_CODECS.register_module()
class PartAffinityField(BaseKeypointCodec):
    """Encode people as joint confidence maps and part affinity fields (MLN eqs. 1-2); decode
    them by scoring limbs with the line integral of eq. 6 and greedy grouping (MLN Sec. 2.4).

    Keypoints enter and leave in the dataset's order (``K`` keypoints), in input-image pixels.
    Inside they follow ``skeleton`` (:class:`.PAFSkeleton`: ``M`` keypoints, ``L`` limbs), by
    default OpenPose's COCO convention: 18 keypoints (COCO's 17 and the neck), 19 limbs.

    Map pixel ``i`` covers input pixels ``[s*i, s*(i+1))`` at stride ``s``, so its centre is the
    input coordinate ``s*i + (s-1)/2`` (OpenPose's labels, ``start = stride/2 - 0.5``): the
    convention of resizing with half-pixel centres (``align_corners=False``, OpenPose's
    ``cv::resize``) and of mirroring the maps, so maps restored to the input size or averaged
    with the mirrored image's stay on the keypoints.

    Encoded, at ``heatmap_size = (W, H)``:

    - ``heatmaps`` (M + 1, H, W): per keypoint the max over people of ``exp(-d^2 / sigma^2)``,
      ``d`` in heatmap pixels (eq. 1); the last channel is the background, ``1 - max`` over
      keypoints.
    - ``pafs`` (2 L, H, W): channels ``2j, 2j+1`` are the (x, y) unit vector from the first to
      the second keypoint of limb ``j`` on the pixels within ``limb_width`` of the segment,
      averaged where several people's limbs overlap, 0 elsewhere (eq. 2).
    - ``keypoint_weights`` (N, K): 1 for annotated keypoints, in the dataset's order like the
      instances' keypoints they are packed with. The heads do not read them: the loss weights
      pixels, by ``heatmap_mask``.

    The mask ``W(p)`` of eqs. 3-4 (unannotated people and crowds) is mmpose's
    ``BottomupGetHeatmapMask``, run after ``GenerateTarget``; it is packed as ``heatmap_mask``.

    Decoding, all vectorised (loops run over the limbs and over the few greedy rounds, never
    over pixels or candidate pairs):

    1. peaks: 4-neighbour maxima above ``peak_thr`` of each keypoint map, refined to sub-pixel by
       the centroid of their 3x3 neighbourhood;
    2. every candidate pair of every limb scored by eq. 6, the field sampled at ``num_samples``
       points of the segment and projected on its direction, averaged, and penalised by
       ``min(0.5 * H / length - 1, 0)`` when longer than half the map (OpenPose); a pair counts
       only if more than 80% of its samples exceed ``paf_thr`` and its score is positive;
    3. greedy matching per limb from the best pair, each keypoint used once per limb: all pairs
       that are the best of both their keypoints are taken at once, their keypoints removed, and
       so on, which takes exactly the pairs that one-at-a-time greedy search takes;
    4. people are the connected components of the matched tree limbs; a limb outside the tree
       (OpenPose's shoulder-ear) adds a keypoint that nothing else reached to its first
       keypoint's person;
    5. people with fewer than ``min_parts`` keypoints or a mean score (keypoint peaks plus limb
       scores over keypoints) under ``min_mean_score`` are dropped.

    Args:
        input_size (tuple): ``(w, h)`` of the network input, pixels.
        heatmap_size (tuple): ``(W, H)`` of the maps.
        skeleton (dict, optional): Arguments of :class:`.PAFSkeleton` (``keypoints``, ``limbs``,
            ``num_tree_limbs``, ``num_dataset_keypoints``); ``None``: OpenPose's COCO skeleton.
        sigma (float): Width of the joint Gaussians (eq. 1), heatmap pixels. Defaults to 1.0.
        limb_width (float): Half width of a limb in the fields, heatmap pixels. Defaults to 1.0.
        peak_thr (float): Minimum confidence of a peak. Defaults to 0.1.
        paf_thr (float): Minimum projected field of a sample point. Defaults to 0.05.
        num_samples (int): Points sampled along a candidate limb (``D`` of eq. 6). Defaults
            to 10.
        min_parts (int): Minimum keypoints of a person. Defaults to 4.
        min_mean_score (float): Minimum mean score of a person. Defaults to 0.4.
    """

    field_mapping_table = dict(heatmaps='heatmaps', pafs='pafs', heatmap_mask='heatmap_mask')

    def __init__(self,
                 input_size: Tuple[int, int],
                 heatmap_size: Tuple[int, int],
                 skeleton: Optional[dict] = None,
                 sigma: float = 1.0,
                 limb_width: float = 1.0,
                 peak_thr: float = 0.1,
                 paf_thr: float = 0.05,
                 num_samples: int = 10,
                 min_parts: int = 4,
                 min_mean_score: float = 0.4) -> None:
        super().__init__()
        self.input_size = tuple(input_size)
        self.heatmap_size = tuple(heatmap_size)
        self.scale_factor = (np.array(input_size) / heatmap_size).astype(np.float32)
        self.skeleton = PAFSkeleton(**(skeleton or {}))
        self.num_keypoints = self.skeleton.num_keypoints
        self.sigma = sigma
        self.limb_width = limb_width
        self.peak_thr = peak_thr
        self.paf_thr = paf_thr
        self.num_samples = num_samples
        self.min_parts = min_parts
        self.min_mean_score = min_mean_score

    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
        """Encode dataset keypoints ``(N, K, 2)`` in input pixels, with visibility ``(N, K)``
        (> 0: annotated), into ``heatmaps``, ``pafs`` and ``keypoint_weights`` (class doc)."""
        if keypoints_visible is None:
            keypoints_visible = np.ones(keypoints.shape[:2], dtype=np.float32)
        joints, visible = self.skeleton.from_dataset(
            self.to_heatmap_pixels(keypoints), keypoints_visible)
        width, height = self.heatmap_size
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)

        heatmaps = np.zeros((self.num_keypoints + 1, height, width), dtype=np.float32)
        for person, person_visible in zip(joints, visible):
            on = person_visible > 0
            d2 = ((xs[None] - person[on, 0, None, None])**2 +
                  (ys[None] - person[on, 1, None, None])**2)
            heatmaps[:-1][on] = np.maximum(heatmaps[:-1][on], np.exp(-d2 / self.sigma**2))
        heatmaps[-1] = 1 - heatmaps[:-1].max(axis=0)

        pafs = np.zeros((self.skeleton.num_limbs, 2, height, width), dtype=np.float32)
        counts = np.zeros((self.skeleton.num_limbs, height, width), dtype=np.float32)
        for person, person_visible in zip(joints, visible):
            for limb, (a, b) in enumerate(self.skeleton.limbs):
                if person_visible[a] <= 0 or person_visible[b] <= 0:
                    continue
                direction = person[b] - person[a]
                length = np.linalg.norm(direction)
                if length < 1e-6:
                    continue
                unit = direction / length
                along = (xs - person[a, 0]) * unit[0] + (ys - person[a, 1]) * unit[1]
                across = np.abs((xs - person[a, 0]) * unit[1] - (ys - person[a, 1]) * unit[0])
                on = ((along >= -self.limb_width) & (along <= length + self.limb_width)
                      & (across <= self.limb_width))
                pafs[limb, :, on] += unit
                counts[limb, on] += 1
        pafs /= np.maximum(counts, 1)[:, None]
        return dict(
            heatmaps=heatmaps,
            pafs=pafs.reshape(-1, height, width),
            keypoint_weights=(keypoints_visible > 0).astype(np.float32))

    def to_heatmap_pixels(self, keypoints: np.ndarray) -> np.ndarray:
        """Input pixels ``(..., 2)`` -> map pixels (pixel centres aligned, class doc)."""
        return (keypoints + 0.5) / self.scale_factor - 0.5

    def to_input_pixels(self, keypoints: np.ndarray) -> np.ndarray:
        """Map pixels ``(..., 2)`` -> input pixels, the inverse of :meth:`to_heatmap_pixels`."""
        return (keypoints + 0.5) * self.scale_factor - 0.5

    def find_peaks(self, heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keypoint candidates of ``heatmaps`` (>= M, H, W).

        Returns:
            tuple: ``joints`` (M,) keypoint type, ascending; ``xy`` (M, 2) position in heatmap
            pixels; ``scores`` (M,) the map's value at the peak.
        """
        maps = heatmaps[:self.num_keypoints]
        padded = np.pad(maps, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
        center = padded[:, 1:-1, 1:-1]
        # strict against the upper and left neighbours: a plateau (a keypoint half-way between
        # pixels) gives one peak, not two or four
        is_peak = ((center > padded[:, :-2, 1:-1]) & (center >= padded[:, 2:, 1:-1])
                   & (center > padded[:, 1:-1, :-2]) & (center >= padded[:, 1:-1, 2:])
                   & (center > self.peak_thr))
        joints, ys, xs = np.nonzero(is_peak)
        patches = np.pad(np.maximum(maps, 0),
                         ((0, 0), (1, 1),
                          (1, 1)))[joints[:, None, None], ys[:, None, None] + np.arange(3)[:, None],
                                   xs[:, None, None] + np.arange(3)]  # (M, 3, 3) neighbourhoods
        mass = patches.sum(axis=(1, 2)) + 1e-12
        offsets = np.arange(-1, 2, dtype=np.float32)
        dx = patches.sum(axis=1) @ offsets / mass
        dy = patches.sum(axis=2) @ offsets / mass
        xy = np.stack([xs + dx, ys + dy], axis=1).astype(np.float32)
        return joints, xy, maps[joints, ys, xs]

    def score_pairs(self, pafs: np.ndarray, limbs: np.ndarray, starts: np.ndarray,
                    ends: np.ndarray) -> np.ndarray:
        """Eq. 6 for a batch of candidate limbs.

        Args:
            pafs: (2 L, H, W) fields.
            limbs: (P,) limb index of each pair.
            starts, ends: (P, 2) positions of its first and second keypoint, heatmap pixels.

        Returns:
            np.ndarray: (P,) scores, ``-inf`` where the pair fails the sample criterion.
        """
        height, width = pafs.shape[1:]
        vectors = ends - starts
        lengths = np.linalg.norm(vectors, axis=1) + 1e-6
        units = vectors / lengths[:, None]
        steps = np.linspace(0, 1, self.num_samples, dtype=np.float32)
        points = starts[:, None] + steps[None, :, None] * vectors[:, None]  # (P, D, 2)
        px = np.clip(np.rint(points[..., 0]).astype(np.intp), 0, width - 1)
        py = np.clip(np.rint(points[..., 1]).astype(np.intp), 0, height - 1)
        channel = 2 * limbs[:, None]
        projected = (
            pafs[channel, py, px] * units[:, None, 0] +
            pafs[channel + 1, py, px] * units[:, None, 1])
        scores = projected.mean(axis=1) + np.minimum(0.5 * height / lengths - 1, 0)
        valid = ((projected > self.paf_thr).mean(axis=1) > 0.8) & (scores > 0)
        return np.where(valid, scores, -np.inf)

    @staticmethod
    def greedy_match(first: np.ndarray, second: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Greedy matching from the best pair, each ``first`` and each ``second`` id used once.

        Args:
            first, second: (P,) integer ids of the two ends of each pair (make them unique per
                limb to match all limbs at once).
            scores: (P,) pair scores; ``-inf`` pairs are never taken.

        Returns:
            np.ndarray: indices of the taken pairs, in ``scores``' indexing.
        """
        order = np.argsort(-scores, kind='stable')
        order = order[np.isfinite(scores[order])]
        taken = []
        while len(order):
            # order is best first, so np.unique's first occurrence is each id's best pair
            best_of_first = np.zeros(len(order), dtype=bool)
            best_of_first[np.unique(first[order], return_index=True)[1]] = True
            best_of_second = np.zeros(len(order), dtype=bool)
            best_of_second[np.unique(second[order], return_index=True)[1]] = True
            chosen = order[best_of_first & best_of_second]
            taken.append(chosen)
            order = order[~(np.isin(first[order], first[chosen])
                            | np.isin(second[order], second[chosen]))]
        return np.concatenate(taken) if taken else np.zeros(0, dtype=np.intp)

    def group(self, joints: np.ndarray, xy: np.ndarray, peak_scores: np.ndarray,
              pafs: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Group keypoint candidates into people: limb scores, greedy matching and assembly
        (class doc, steps 2-5).

        Args:
            joints, xy, peak_scores: The candidates, as :meth:`find_peaks` returns them.
            pafs: (2 L, H, W) limb fields.

        Returns:
            tuple: skeleton ``keypoints`` (N, M, 2) in heatmap pixels, ``keypoint_scores``
            (N, M) with 0 for a missing keypoint, and ``instance_scores`` (N,).
        """
        num_peaks = len(joints)
        first_peak = np.searchsorted(joints, np.arange(self.num_keypoints + 1))
        count = np.diff(first_peak)
        # every (first, second) candidate pair of every limb, limb-major
        starts, ends = self.skeleton.limbs[:, 0], self.skeleton.limbs[:, 1]
        num_pairs = count[starts] * count[ends]
        pair_limb = np.repeat(np.arange(self.skeleton.num_limbs), num_pairs)
        within = np.arange(len(pair_limb)) - np.repeat(np.cumsum(num_pairs) - num_pairs, num_pairs)
        pair_a = first_peak[starts[pair_limb]] + within // count[ends[pair_limb]]
        pair_b = first_peak[ends[pair_limb]] + within % count[ends[pair_limb]]
        if not len(pair_limb):
            return (np.zeros((0, self.num_keypoints, 2),
                             np.float32), np.zeros((0, self.num_keypoints),
                                                   np.float32), np.zeros(0, np.float32))
        scores = self.score_pairs(pafs, pair_limb, xy[pair_a], xy[pair_b])
        taken = self.greedy_match(pair_limb * num_peaks + pair_a, pair_limb * num_peaks + pair_b,
                                  scores)
        limb, a, b, score = pair_limb[taken], pair_a[taken], pair_b[taken], scores[taken]

        tree = limb < self.skeleton.num_tree_limbs
        graph = coo_matrix((np.ones(tree.sum()), (a[tree], b[tree])), shape=(num_peaks, num_peaks))
        _, person = connected_components(graph, directed=False)
        # limbs outside the tree: attach a keypoint no tree limb reached, if the person lacks it
        ears = ~tree & ~np.isin(b, np.concatenate([a[tree], b[tree]]))
        has_joint = np.zeros((num_peaks, self.num_keypoints), dtype=bool)
        has_joint[person[a[tree]], joints[a[tree]]] = True
        has_joint[person[b[tree]], joints[b[tree]]] = True
        ears &= ~has_joint[person[a], joints[b]]
        person[b[ears]] = person[a[ears]]
        connected = tree | ears

        people = np.full((num_peaks, self.num_keypoints), -1, dtype=np.intp)
        people[person, joints] = np.arange(num_peaks)
        parts = (people >= 0).sum(axis=1)
        totals = np.bincount(
            person, weights=peak_scores, minlength=num_peaks) + np.bincount(
                person[a[connected]], weights=score[connected], minlength=num_peaks)
        mean_scores = totals / np.maximum(parts, 1)
        keep = (parts >= self.min_parts) & (mean_scores >= self.min_mean_score)
        people, mean_scores = people[keep], mean_scores[keep]
        found = people >= 0
        keypoints = np.where(found[..., None], xy[people], 0).astype(np.float32)
        keypoint_scores = np.where(found, peak_scores[people], 0).astype(np.float32)
        return keypoints, keypoint_scores, mean_scores.astype(np.float32)

    def decode(self, heatmaps: np.ndarray,
               pafs: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decode ``heatmaps`` (M + 1, H, W) and ``pafs`` (2 L, H, W) into people.

        Returns:
            tuple: dataset ``keypoints`` (N, K, 2) in input pixels, ``keypoint_scores`` (N, K),
            0 where a keypoint was not found, and ``instance_scores`` (N,).
        """
        keypoints, keypoint_scores, instance_scores = self.group(*self.find_peaks(heatmaps), pafs)
        keypoints, keypoint_scores = self.skeleton.to_dataset(keypoints, keypoint_scores)
        keypoints = np.where(keypoint_scores[..., None] > 0, self.to_input_pixels(keypoints), 0)
        return keypoints.astype(np.float32), keypoint_scores, instance_scores
