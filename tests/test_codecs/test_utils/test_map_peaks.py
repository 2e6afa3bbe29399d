# Copyright (c) OpenMMLab. All rights reserved.
"""Peaks of keypoint maps: the smoothing before looking for them."""
import numpy as np
import torch

from custom_modules.codecs.utils import smooth_maps


def test_smooth_maps_is_a_gaussian_filter_with_zeros_outside():
    """``smooth_maps`` gives scipy's ``gaussian_filter`` (truncated at 4 sigma)
    of maps padded with zeros, for the sigmas of OpenPose and below."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    maps = rng.random((3, 40, 31)).astype(np.float32)
    for sigma in (0.7, 3.0):
        expected = np.stack(
            [gaussian_filter(m, sigma, mode='constant') for m in maps])
        np.testing.assert_allclose(
            smooth_maps(torch.from_numpy(maps), sigma).numpy(),
            expected,
            atol=1e-6)
