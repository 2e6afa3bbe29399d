# Copyright (c) OpenMMLab. All rights reserved.
"""PAFPoseLocalVisualizer: mmpose's heatmap panel with the limb fields' arrows;
and the bottom-up estimator's predicted maps moved into the original image's
frame, where they are drawn."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from custom_modules.pose_estimators.pyramid_bottomup import fields_to_image
from custom_modules.visualization import PAFPoseLocalVisualizer
from conftest import REPO_ROOT, save_random_checkpoint, write_small_mln_config


def test_maps_are_moved_from_the_input_into_the_image_as_keypoints_are():
    """A ramp equal to the input x position, sampled at each image pixel ``u``,
    gives the inverse of mmpose's keypoint mapping.

    The ramp has its pixel centres at integers (mmpose's keypoint convention);
    the inverse is ``(u - center + scale / 2) * input_size / scale``.
    """
    in_w, in_h = 64, 48
    # the value of input pixel i is i
    ramp = torch.arange(in_w, dtype=torch.float32)
    maps = PixelData(heatmaps=ramp.expand(1, in_h, in_w).clone())
    # a 40x30 image resized by 1.6 into the 64x48 input
    meta = dict(
        ori_shape=(30, 40),
        input_size=(in_w, in_h),
        input_center=(20.0, 15.0),
        input_scale=(40.0, 30.0))
    out = fields_to_image(maps, meta).heatmaps
    assert out.shape == (1, 30, 40)
    expected = torch.arange(40, dtype=torch.float32) * 1.6
    # and the keypoint mapping takes those input positions back to the image
    # pixels
    assert torch.allclose(
        expected / in_w * 40.0 + 20.0 - 20.0, torch.arange(40.0), atol=1e-5)
    torch.testing.assert_close(
        out[0, 10, 1:-1], expected[1:-1], atol=1e-4, rtol=0)


def test_limb_fields_are_drawn_as_arrows_over_the_joint_maps():
    visualizer = PAFPoseLocalVisualizer(
        name='paf_test_visualizer', field_step=8)
    image = np.full((64, 96, 3), 128, np.uint8)
    heatmaps = torch.zeros(18, 64, 96)
    heatmaps[1, 30:34, 40:44] = 1.0
    pafs = torch.zeros(38, 64, 96)
    pafs[0, 20:40, 10:30] = 1.0  # limb 0 pointing right (x component 1)
    plain = visualizer._draw_instance_heatmap(
        PixelData(heatmaps=heatmaps), image)
    drawn = visualizer._draw_instance_heatmap(
        PixelData(heatmaps=heatmaps, pafs=pafs), image)
    assert drawn.shape == plain.shape == (64, 96, 3)
    changed = np.any(drawn != plain, axis=2)
    ys, xs = np.nonzero(changed)
    assert len(ys) > 20  # arrows
    # on the limb
    assert (ys.min() >= 14 and ys.max() <= 45 and xs.min() >= 4
            and xs.max() <= 36)
    assert not changed[:, 50:].any()  # nowhere else

    # a field overflowed to inf or NaN (fp16) is drawn around, not a crash
    # (inf / inf made a NaN arrow end)
    for value in (float('inf'), float('nan')):
        broken = pafs.clone()
        broken[2, 0:10, 60:70] = value
        assert np.array_equal(
            visualizer._draw_instance_heatmap(
                PixelData(heatmaps=heatmaps, pafs=broken), image), drawn)


@pytest.mark.e2e
def test_mmpose_inferencer_draws_joint_maps_and_fields_of_a_paf_model(
        tmp_path):
    """``MMPoseInferencer(..., draw_heatmap=True)`` with a PAF config: this
    visualizer, maps in the image's frame without the background channel, and a
    second (heatmap) panel."""
    from mmpose.apis import MMPoseInferencer

    config = write_small_mln_config(tmp_path / 'mln.py')
    checkpoint = save_random_checkpoint(config, tmp_path / 'mln.pth')
    inferencer = MMPoseInferencer(
        pose2d=str(config),
        pose2d_weights=str(checkpoint),
        device='cpu',
        show_progress=False)
    assert type(
        inferencer.inferencer.visualizer).__name__ == 'PAFPoseLocalVisualizer'
    image = REPO_ROOT / 'tests/data/coco/000000196141.jpg'
    result = next(
        inferencer(
            str(image),
            draw_heatmap=True,
            return_vis=True,
            return_datasamples=True))
    fields = result['predictions'][0].pred_fields
    assert fields.heatmaps.shape == (18, 429,
                                     640) and fields.pafs.shape == (38, 429,
                                                                    640)
    assert result['visualization'][0].shape == (2 * 429, 640, 3)


@pytest.mark.e2e
def test_mmpose_inferencer_draws_smprs_keypoint_heatmap(tmp_path):
    from mmpose.apis import MMPoseInferencer

    from conftest import SAMPLE_CONFIGS

    config = REPO_ROOT / SAMPLE_CONFIGS['smpr']
    checkpoint = save_random_checkpoint(config, tmp_path / 'smpr.pth')
    inferencer = MMPoseInferencer(
        pose2d=str(config),
        pose2d_weights=str(checkpoint),
        device='cpu',
        show_progress=False)
    image = REPO_ROOT / 'tests/data/coco/000000196141.jpg'
    result = next(
        inferencer(
            str(image),
            draw_heatmap=True,
            return_vis=True,
            return_datasamples=True))
    heatmaps = result['predictions'][0].pred_fields.heatmaps
    assert heatmaps.shape == (17, 429, 640)
    assert 0 <= float(heatmaps.min()) and float(heatmaps.max()) <= 1  # sigmoid
    assert result['visualization'][0].shape == (2 * 429, 640, 3)
