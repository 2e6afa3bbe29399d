# Copyright (c) OpenMMLab. All rights reserved.
from .field_samples import read_samples, take_samples
from .limb_tree import orient_tree
from .map_peaks import centroid_offsets, gaussian_taps, peak_mask, smooth_maps
from .map_resize import (AxisPlacement, MapPlacement, ResizedMaps,
                         placed_resize, resize_matrix, resize_taps,
                         smoothed_resize_matrix)

__all__ = [
    'AxisPlacement', 'MapPlacement', 'ResizedMaps', 'centroid_offsets',
    'gaussian_taps', 'orient_tree', 'peak_mask', 'placed_resize',
    'read_samples', 'resize_matrix', 'resize_taps', 'smooth_maps',
    'smoothed_resize_matrix', 'take_samples'
]
