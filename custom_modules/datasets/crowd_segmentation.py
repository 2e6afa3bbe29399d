# Copyright (c) OpenMMLab. All rights reserved.
"""COCO segmentations in the form mmpose's bottom-up mask reads."""
from typing import Optional, Sequence, Union

import numpy as np
from xtcocotools import mask as cocomask

Segmentation = Union[list, dict]


def uncompressed_counts(mask: np.ndarray) -> list:
    """COCO's uncompressed run-length ``counts`` of a ``(H, W)`` mask: the
    lengths of its alternate runs of 0 and 1 in column-major order, starting
    with the 0s (a run of 0 zeros where the first pixel is set)."""
    flat = np.asarray(mask, dtype=bool).ravel(order='F')
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], starts, [flat.size]])).tolist()
    return [0] + runs if flat.size and flat[0] else runs


def segments_for_mask(segmentation: Segmentation,
                      image_size: Sequence[int]) -> Optional[Segmentation]:
    """A COCO ``segmentation`` as a list that mmpose's
    ``BottomupGetHeatmapMask`` turns into its mask: polygons as they are, a
    run-length dict (COCO's crowd regions) as a list of its uncompressed form,
    an empty list (nothing to mask) as None, which the mask leaves out.

    mmpose's mask reads lists only: a crowd's dict was left out without a word,
    and the crowd trained as background.

    Raises:
        ValueError: A dict whose ``size`` is not ``image_size`` ``(height,
            width)``, or whose uncompressed run lengths are not whole numbers
            adding up to its pixels (COCO's C code aborts the process on
            either when the mask is made).
    """
    if isinstance(segmentation, list) and not segmentation:
        return None  # nothing to mask (mmpose's mask failed on it)
    if not isinstance(segmentation, dict):
        return segmentation
    size, counts = segmentation.get('size'), segmentation.get('counts')
    if list(size or []) != list(image_size):
        raise ValueError(f'"segmentation" of size {size}, its image is '
                         f'{list(image_size)} (height, width)')
    if isinstance(counts, (str, bytes)):  # compressed
        compressed = dict(
            size=list(size),
            counts=counts.encode() if isinstance(counts, str) else counts)
        counts = uncompressed_counts(cocomask.decode(compressed))
    elif not (isinstance(counts, list)
              and all(isinstance(c, int) and c >= 0
                      for c in counts) and sum(counts) == size[0] * size[1]):
        raise ValueError(
            '"segmentation" run lengths ("counts") that are not whole '
            f'numbers adding up to the {size[0]} x {size[1]} pixels of its '
            '"size"')
    return [dict(size=list(size), counts=list(counts))]
