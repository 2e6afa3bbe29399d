# Copyright (c) OpenMMLab. All rights reserved.
"""PyramidBottomupResize: mmpose's BottomupResize pyramid, and where each of
its images sits, so that a multi-scale test maps every scale's predictions to
the same place (custom_modules.heads.pyramid_geometry)."""
import cv2
import numpy as np
import pytest
import torch
from mmpose.datasets.transforms import BottomupResize

from custom_modules.datasets.transforms import (PackMultiScalePoseInputs,
                                                PyramidBottomupResize)
from custom_modules.heads.pyramid_geometry import pyramid_to_base_input

# SMPR's test resize and its authors' scales (configs/smpr, `_ms` configs)
SMPR_RESIZE = dict(input_size=(800, 800), size_factor=32, resize_mode='expand')
SMPR_SCALES = [1.25, 1.5, 0.5, 0.75]


def a_dot(width: int, height: int, x: int, y: int) -> dict:
    """A black ``width`` x ``height`` image with a blurred white dot centred on
    pixel ``(x, y)``."""
    img = np.zeros((height, width, 3), np.uint8)
    cv2.circle(img, (x, y), 6, (255, 255, 255), -1)
    img = cv2.GaussianBlur(img, (0, 0), 3)
    return dict(img=img, ori_shape=(height, width), img_shape=(height, width))


def dot_position(img: np.ndarray) -> np.ndarray:
    """The intensity-weighted centre ``(x, y)`` of the dot, input pixels."""
    weight = img[..., 0].astype(np.float64)
    weight[weight < 0.5 * weight.max()] = 0
    ys, xs = np.mgrid[:img.shape[0], :img.shape[1]]
    return np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()


def test_the_pyramid_is_mmposes_with_each_images_place():
    results = a_dot(640, 480, 600, 400)
    theirs = BottomupResize(
        aug_scales=SMPR_SCALES, **SMPR_RESIZE).transform(dict(results))
    ours = PyramidBottomupResize(
        aug_scales=SMPR_SCALES, **SMPR_RESIZE).transform(dict(results))
    assert len(ours['img']) == 5
    for mine, mmposes in zip(ours['img'], theirs['img']):
        np.testing.assert_array_equal(mine, mmposes)
    for key in ('input_center', 'input_scale', 'input_size', 'img_shape'):
        np.testing.assert_array_equal(ours[key], theirs[key])
    assert ours['aug_scales'] == SMPR_SCALES
    # each image's own size and place: at 0.5, 416 px high in a 576 px wide
    # input (not 400 and 544)
    assert ours['pyramid_input_sizes'][0] == theirs['input_size']
    assert ours['pyramid_input_sizes'][3] == (576, 416)
    assert [img.shape[1::-1] for img in ours['img']
            ] == [tuple(s) for s in ours['pyramid_input_sizes']]
    np.testing.assert_allclose(ours['pyramid_input_centers'][3], (320, 240))


def test_without_scales_it_is_bottomup_resize():
    results = a_dot(640, 480, 600, 400)
    theirs = BottomupResize(**SMPR_RESIZE).transform(dict(results))
    ours = PyramidBottomupResize(**SMPR_RESIZE).transform(dict(results))
    np.testing.assert_array_equal(ours['img'], theirs['img'])
    assert not any(key.startswith('pyramid_') for key in ours)


@pytest.mark.parametrize('size', [(640, 480), (427, 640), (500, 375)])
def test_every_scale_maps_a_point_to_where_the_base_image_has_it(size):
    """A dot found in each image of the pyramid, mapped into the base image's
    input, lands where the base image has it (within a pixel); divided by the
    scale, as the SMPR head did, it missed by up to 30 pixels."""
    width, height = size
    x, y = width - 40, height - 60
    ours = PyramidBottomupResize(
        aug_scales=SMPR_SCALES, **SMPR_RESIZE).transform(a_dot(*size, x, y))
    packed = PackMultiScalePoseInputs(
        meta_keys=('aug_scales', )).transform(dict(ours, img_id=0, id=0))
    metainfo = packed['data_samples'].metainfo
    base = dot_position(ours['img'][0])
    scales = [1.0] + SMPR_SCALES
    worst_by_scale = 0.0
    for level, img in enumerate(ours['img']):
        found = torch.as_tensor(dot_position(img), dtype=torch.float32)
        mapped = pyramid_to_base_input(found, metainfo, level).numpy()
        np.testing.assert_allclose(mapped, base, atol=1.0)
        worst_by_scale = max(
            worst_by_scale,
            np.abs(found.numpy() / scales[level] - base).max())
    assert worst_by_scale > 10


def test_the_mapping_names_what_is_missing():
    with pytest.raises(ValueError, match='PyramidBottomupResize'):
        pyramid_to_base_input(
            torch.zeros(1, 2), dict(aug_scales=[0.5]), level=1)


def test_a_udp_resize_is_refused():
    """With UDP, ``BottomupResize`` puts an image where its recorded
    ``input_center`` / ``input_scale`` / ``input_size`` do not say (a dot
    mapped back by them misses by pixels, within one without UDP), so neither
    one UDP image nor a UDP pyramid could be mapped back: refused."""
    results = a_dot(640, 480, 600, 400)
    misses = {}
    for use_udp in (False, True):
        misses[use_udp] = 0.0
        for s in [1.0] + SMPR_SCALES:
            resized = BottomupResize(
                **dict(SMPR_RESIZE, input_size=(int(800 * s), int(800 * s))),
                use_udp=use_udp).transform(dict(results))
            mapped = (
                dot_position(resized['img']) / resized['input_size'] *
                resized['input_scale'] + resized['input_center'] -
                resized['input_scale'] / 2)
            misses[use_udp] = max(misses[use_udp],
                                  np.abs(mapped - (600, 400)).max())
    assert misses[False] < 1 < 3 < misses[True]
    for aug_scales in (SMPR_SCALES, None):
        with pytest.raises(ValueError, match='use_udp=True is not supported'):
            PyramidBottomupResize(
                aug_scales=aug_scales, use_udp=True, **SMPR_RESIZE)
