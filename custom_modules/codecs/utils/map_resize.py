# Copyright (c) OpenMMLab. All rights reserved.
"""Maps resized with half-pixel centres (torch's ``interpolate``,
``align_corners=False``), or placed under a grid as the maps of another image
of a multi-scale test's pyramid lie under the base image's input, read only
where decoding looks."""
import functools
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from scipy.ndimage import correlate1d
from torch import Tensor

from .map_peaks import gaussian_taps

#: ``(a, b)``: output coordinate ``u`` of a 1-D resize reads the source at
#: ``a u + b`` (continuous coordinates, pixel ``i`` spans ``[i, i + 1)``)
AxisPlacement = Tuple[float, float]
#: ``((a_y, b_y), (a_x, b_x))``: an :data:`AxisPlacement` per axis of maps
MapPlacement = Tuple[AxisPlacement, AxisPlacement]
# Keys' cubic convolution parameter of torch's (and OpenCV's) bicubic resize
CUBIC_A = -0.75


def resize_taps(dst: np.ndarray,
                src_size: int,
                dst_size: int,
                mode: str = 'bicubic',
                placement: Optional[AxisPlacement] = None
                ) -> Tuple[np.ndarray, np.ndarray]:
    """The source pixels that output pixels ``dst`` of a 1-D resize from
    ``src_size`` to ``dst_size`` pixels read, and their weights.

    The resize is ``torch.nn.functional.interpolate`` with
    ``align_corners=False`` (half-pixel centres, the codec's convention),
    ``'bicubic'`` (4 taps, ``A = -0.75``) or ``'bilinear'`` (2 taps).

    Args:
        dst (np.ndarray): Output pixel indices, any shape (outside
            ``[0, dst_size)`` too).
        src_size, dst_size (int): Input and output length.
        mode (str): ``'bicubic'`` or ``'bilinear'``.
        placement (tuple, optional): ``(a, b)`` (:data:`AxisPlacement`): the
            source lies shifted and scaled under the output, as the maps of
            another image of a multi-scale test's pyramid lie under the base
            image's input; ``None``: the plain resize,
            ``(src_size / dst_size, 0)``. The same interpolation and edge rule
            either way.

    Returns:
        tuple: ``first`` (dst's shape) the first source pixel, not clamped: tap
        ``t`` reads pixel ``clip(first + t, 0, src_size - 1)`` (the resize's
        edge rule); ``weights`` (..., T).
    """
    scale, offset = ((src_size / dst_size,
                      0.0) if placement is None else placement)
    src = (np.asarray(dst, dtype=np.float64) + 0.5) * scale + offset - 0.5
    if mode == 'bilinear':
        src = np.maximum(src, 0)  # torch clamps linear source coordinates at 0
        first = np.floor(src).astype(np.intp)
        frac = src - first
        return first, np.stack([1 - frac, frac], axis=-1)
    if mode != 'bicubic':
        raise ValueError(
            f"resize_taps: mode must be 'bicubic' or 'bilinear', got {mode!r}")
    first = np.floor(src).astype(np.intp)
    frac = src - first
    # distances to the 4 taps
    x = np.stack([frac + 1, frac, 1 - frac, 2 - frac], axis=-1)
    weights = np.where(x <= 1, ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1,
                       ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x -
                       4 * CUBIC_A)
    return first - 1, weights


def resize_matrix(dst: np.ndarray,
                  src_size: int,
                  dst_size: int,
                  mode: str,
                  dtype: type,
                  placement: Optional[AxisPlacement] = None
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Rows ``dst`` (1-D) of the matrix of a 1-D resize (:func:`resize_taps`,
    with its ``placement``).

    Returns:
        tuple: the matrix ``(len(dst), src_size)`` of ``dtype``, accumulated
        in it, the taps that the resize clamps added to the edge pixels'
        weights; and the source pixel of each tap ``(len(dst), T)``.
    """
    first, weights = resize_taps(dst, src_size, dst_size, mode, placement)
    columns = np.clip(first[:, None] + np.arange(weights.shape[-1]), 0,
                      src_size - 1)
    matrix = np.zeros((len(dst), src_size), dtype=dtype)
    np.add.at(matrix, (np.arange(len(dst))[:, None], columns), weights)
    return matrix, columns


@functools.lru_cache(maxsize=32)
def _block_bands(src_size: int,
                 dst_size: int,
                 mode: str,
                 length: int,
                 placement: Optional[AxisPlacement] = None
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """The source pixels ``(S, K)`` under each block of ``length`` output
    pixels of a 1-D resize (:func:`resize_taps`, with its ``placement``), and
    the weights ``(S, length, K)`` that map them to it.

    The blocks start at ``-length .. dst_size - 1`` (index ``start + length``).
    The weights are float32, with the clamped taps added to the edge pixels
    (the resize's rule). Cached (read-only).
    """
    matrix, columns = resize_matrix(
        np.arange(-length, dst_size + length), src_size, dst_size, mode,
        np.float32, placement)
    starts = np.arange(dst_size + length)
    low, high = columns[starts, 0], columns[starts + length - 1, -1]
    span = min(int((high - low).max()) + 1, src_size)
    low = np.minimum(low, src_size - span)
    pixels = low[:, None] + np.arange(span)
    bands = matrix[(starts[:, None] + np.arange(length))[:, :, None],
                   pixels[:, None, :]]
    pixels.flags.writeable = bands.flags.writeable = False
    return pixels, bands


@functools.lru_cache(maxsize=32)
def smoothed_resize_matrix(src_size: int,
                           dst_size: int,
                           mode: str,
                           sigma: float,
                           placement: Optional[AxisPlacement] = None
                           ) -> np.ndarray:
    """A 1-D resize and the Gaussian that smooths its output, as one matrix.

    ``(dst_size, src_size)`` float32: the resize of :func:`resize_taps` (with
    its ``placement``; the clamped taps folded into the edge pixels), then the
    Gaussian of :func:`gaussian_taps` (zero outside), so that ``rows @ maps @
    cols.T`` of two of them is :func:`smooth_maps` of the resized maps (to
    float rounding) without making the resized ones. Cached (read-only).
    """
    matrix, _ = resize_matrix(
        np.arange(dst_size), src_size, dst_size, mode, np.float64, placement)
    matrix = correlate1d(
        matrix, gaussian_taps(sigma), axis=0,
        mode='constant').astype(np.float32)
    matrix.flags.writeable = False
    return matrix


@functools.lru_cache(maxsize=32)
def _pixel_bands(src_size: int,
                 dst_size: int,
                 mode: str,
                 placement: Optional[AxisPlacement] = None
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """For each output pixel of a 1-D resize (:func:`resize_taps`, with its
    ``placement``): the first source pixel it reads
    ``(dst_size,)`` and the weights of the ``T`` consecutive source pixels from
    there ``(dst_size, T)``, the taps that the resize clamps folded into the
    edge pixels' weights (:func:`_block_bands` with blocks of one pixel), so no
    tap leaves the source.

    Cached (read-only).
    """
    pixels, bands = _block_bands(src_size, dst_size, mode, 1, placement)
    # block ``i`` of length 1 is output pixel ``i - 1``
    first, weights = np.ascontiguousarray(pixels[1:, 0]), np.ascontiguousarray(
        bands[1:, 0])
    first.flags.writeable = weights.flags.writeable = False
    return first, weights


@functools.lru_cache(maxsize=32)
def _pixel_taps(
    map_h: int,
    map_w: int,
    height: int,
    width: int,
    mode: str,
    placement: MapPlacement,
) -> Tuple[np.ndarray, ...]:
    """How each pixel of ``(map_h, map_w)`` maps resized to ``(height, width)``
    (placed by ``placement``, ``(rows, columns)``, each as
    :func:`resize_taps` takes it) reads a channel of the maps
    (:func:`_pixel_bands` per axis).

    Returns the flat offset of its first tap,
    ``row (height,) + column (width,)``; the offsets of its ``Th * Tw`` taps
    from the first ``(Th * Tw,)``; and their weights, the outer product of
    ``row (Th, height)`` and ``column (Tw, width)`` ones. Cached (read-only).
    """
    row_place, col_place = placement
    row_first, row_w = _pixel_bands(map_h, height, mode, row_place)
    col_first, col_w = _pixel_bands(map_w, width, mode, col_place)
    tables = (row_first * map_w,
              col_first, (np.arange(row_w.shape[1])[:, None] * map_w +
                          np.arange(col_w.shape[1])).ravel(),
              np.ascontiguousarray(row_w.T), np.ascontiguousarray(col_w.T))
    for table in tables:
        table.flags.writeable = False
    return tables


class ResizedMaps:
    """Maps as if resized to ``size`` and averaged over scales (what the heads'
    full restore computes before grouping), evaluated only at the pixels that
    decoding reads.

    Reading a pixel costs a few taps of the small maps instead of resizing
    every channel: the values equal ``interpolate(maps, size, mode,
    align_corners=False)`` averaged over the scales (to float rounding), or
    with ``placements``, :func:`placed_resize` of each scale's maps averaged.

    Args:
        maps (np.ndarray | sequence): ``(C, h, w)`` maps, or one per scale
            (same ``C``, any ``h, w``), e.g. a network's stride-8 outputs.
        size (tuple): ``(W, H)`` of the resized maps.
        mode (str): ``'bicubic'`` (OpenPose's) or ``'bilinear'``.
        placements (sequence, optional): Where each scale's maps lie under
            the resized ones, ``((a_y, b_y), (a_x, b_x))``
            (:data:`MapPlacement`, e.g.
            :func:`~custom_modules.heads.pyramid_geometry.
            pyramid_map_placement`) or ``None`` (the plain resize), one per
            entry of ``maps``. Defaults to plain resizes.
    """

    def __init__(self,
                 maps: Union[np.ndarray, Sequence[np.ndarray]],
                 size: Tuple[int, int],
                 mode: str = 'bicubic',
                 placements: Optional[Sequence[Optional[MapPlacement]]] = None
                 ) -> None:
        if isinstance(maps, np.ndarray):
            maps = [maps]
        self.maps = [np.ascontiguousarray(m, dtype=np.float32) for m in maps]
        if (not self.maps or any(m.ndim != 3 for m in self.maps)
                or len(set(m.shape[0] for m in self.maps)) != 1):
            raise ValueError(
                'ResizedMaps: needs one or more (C, h, w) maps with the same '
                f'C, got shapes {[m.shape for m in self.maps]}')
        if mode not in ('bicubic', 'bilinear'):
            raise ValueError(
                "ResizedMaps: mode must be 'bicubic' or 'bilinear', got "
                f'{mode!r}')
        self.size = (int(size[0]), int(size[1]))
        self.mode = mode
        if placements is None:
            placements = [None] * len(self.maps)
        if len(placements) != len(self.maps):
            raise ValueError(f'ResizedMaps: {len(placements)} placements for '
                             f'{len(self.maps)} maps')
        #: ``((a_y, b_y), (a_x, b_x))`` of each scale's maps, the plain
        #: resize's where none is given; hashable floats, as the tables of
        #: each placement are cached
        self.placements = []
        for m, placement in zip(self.maps, placements):
            if placement is None:
                placement = ((m.shape[1] / self.size[1], 0.0),
                             (m.shape[2] / self.size[0], 0.0))
            self.placements.append(
                tuple((float(a), float(b)) for a, b in placement))

    @property
    def shape(self) -> Tuple[int, int, int]:
        """``(C, H, W)`` of the resized maps."""
        return (self.maps[0].shape[0], self.size[1], self.size[0])

    def sample_vectors(self, vectors: np.ndarray, ys: np.ndarray,
                       xs: np.ndarray) -> np.ndarray:
        """Resized vectors (channels ``2 k``, ``2 k + 1``, e.g. a limb's field)
        ``vectors`` at pixels ``(ys, xs)``: integer arrays that broadcast,
        ``ys`` and ``xs`` of one shape and inside the resized maps.

        Returns ``(2, ...)``, ``resized[[2 k, 2 k + 1], ys, xs]``, the two
        channels first (the taps are read tap-major: every numpy call runs over
        all pixels).
        """
        width, height = self.size
        total = 0
        for maps, placement in zip(self.maps, self.placements):
            row, col, offsets, row_w, col_w = _pixel_taps(
                *maps.shape[1:], height, width, self.mode, placement)
            first = (
                np.asarray(vectors) * (2 * maps[0].size) + row.take(ys) +
                col.take(xs))
            # tap-major (T, ...): every numpy call below runs over all the
            # pixels at once
            taps = offsets.reshape(-1, *(1, ) * first.ndim) + first
            weights = (
                row_w.take(ys, axis=1)[:, None] * col_w.take(xs, axis=1)[None])
            # (T, ...) of ys and xs; T named, as -1 is ambiguous when there are
            # no pixels
            weights = weights.reshape(
                len(row_w) * len(col_w), *weights.shape[2:])
            flat = maps.reshape(-1)
            total = total + np.stack([
                np.einsum('t...,t...->...', flat.take(taps), weights),
                np.einsum('t...,t...->...', flat[maps[0].size:].take(taps),
                          weights)
            ])
        return total if len(self.maps) == 1 else total / len(self.maps)

    def windows(self, channels: np.ndarray, top: np.ndarray, left: np.ndarray,
                height: int, width: int) -> np.ndarray:
        """``(P, height, width)`` blocks of the resized maps: block ``p`` is
        channel ``channels[p]``, pixels ``top[p] + i``, ``left[p] + j``,
        reaching at most ``height`` (``width``) pixels outside the resized
        maps, where they hold the resize's extrapolation (the caller masks
        them).

        Each block is ``Wy @ patch @ Wx^T``: the small maps' patch under the
        block and the band of the resize matrices over it, one batched product
        per scale.
        """
        channels = np.asarray(channels, dtype=np.intp)
        total = 0
        for maps, placement in zip(self.maps, self.placements):
            _, map_h, map_w = maps.shape
            row_place, col_place = placement
            rows, row_w = _block_bands(map_h, self.size[1], self.mode, height,
                                       row_place)
            cols, col_w = _block_bands(map_w, self.size[0], self.mode, width,
                                       col_place)
            rows = rows.take(top + height, axis=0)
            row_w = row_w.take(top + height, axis=0)
            cols = cols.take(left + width, axis=0)
            col_w = col_w.take(left + width, axis=0)
            patch = maps.reshape(-1).take(
                (channels[:, None, None] * map_h + rows[:, :, None]) * map_w +
                cols[:, None, :])
            total = total + row_w @ patch @ col_w.transpose(0, 2, 1)
        return total / len(self.maps)


def placed_resize(maps: Tensor,
                  size: Tuple[int, int],
                  placement: MapPlacement,
                  mode: str = 'bicubic') -> Tensor:
    """``maps`` ``(..., h, w)`` resampled onto ``size`` ``(W, H)`` pixels
    under which they lie as ``placement`` ``((a_y, b_y), (a_x, b_x))`` says
    (:func:`resize_taps`: the resize's interpolation and edge rule), as
    ``rows @ maps @ cols.T`` on the maps' device and in their dtype.

    With the plain resize's placement it is ``interpolate(maps, size[::-1],
    mode=mode, align_corners=False)`` (to float rounding).
    """
    (row_place, col_place), (width, height) = placement, size
    rows, _ = resize_matrix(
        np.arange(height), maps.shape[-2], height, mode, np.float32,
        tuple(row_place))
    cols, _ = resize_matrix(
        np.arange(width), maps.shape[-1], width, mode, np.float32,
        tuple(col_place))
    rows, cols = (
        torch.from_numpy(m).to(device=maps.device, dtype=maps.dtype)
        for m in (rows, cols))
    return rows @ maps @ cols.T
