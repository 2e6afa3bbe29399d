# Copyright (c) OpenMMLab. All rights reserved.
"""MultilevelPoseVisualizationHook (``--show`` / ``--show-dir``): maps a model
put in the image are drawn where they are, with the PAFs; drawings of
validation and testing in ``--show-dir``; ``--interval`` in testing; the
configs use it."""
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData, PixelData
from mmpose.structures import PoseDataSample

from custom_modules.engine import MultilevelPoseVisualizationHook
from custom_modules.engine.hooks.pose_visualization_hook import sample_to_draw
from custom_modules.pose_estimators.pyramid_bottomup import fields_to_image
from custom_modules.visualization import PAFPoseLocalVisualizer
from conftest import (REPO_ROOT, run_command, save_random_checkpoint,
                      write_small_mln_config)

META = dict(
    ori_shape=(30, 40),
    input_size=(64, 64),
    input_center=np.array([20.0, 15.0], np.float32),
    input_scale=np.array([40.0, 40.0], np.float32))


def prediction(img_path: str, in_image: bool) -> PoseDataSample:
    """A person and its maps, at the input (64x64) or moved into the 40x30
    image as the bottom-up estimator moves them."""
    sample = PoseDataSample(metainfo=dict(META, img_path=img_path))
    sample.pred_instances = InstanceData(
        keypoints=np.full((1, 17, 2), 10, np.float32),
        keypoint_scores=np.ones((1, 17), np.float32),
        keypoints_visible=np.ones((1, 17), np.float32),
        bboxes=np.array([[5, 5, 15, 15]], np.float32),
        bbox_scores=np.ones(1, np.float32))
    fields = PixelData(
        heatmaps=torch.rand(18, 64, 64), pafs=torch.rand(38, 64, 64))
    sample.pred_fields = fields_to_image(fields, META) if in_image else fields
    return sample


def test_maps_in_the_image_are_drawn_as_they_are_with_the_pafs():
    in_image = prediction('a.jpg', in_image=True)
    drawn = sample_to_draw(in_image)
    assert drawn.pred_fields.heatmaps.shape == (18, 30, 40)
    assert torch.equal(drawn.pred_fields.pafs, in_image.pred_fields.pafs)
    # maps at the input are moved by mmpose's merge (which keeps heatmaps)
    at_input = sample_to_draw(prediction('a.jpg', in_image=False))
    assert at_input.pred_fields.heatmaps.shape == (18, 30, 40)
    assert 'pafs' not in at_input.pred_fields


@pytest.fixture
def hook_and_runner(tmp_path):
    """``(hook(**options), runner)``: the hook on a PAF visualizer, drawing
    into ``tmp_path/<timestamp>/vis``; a runner of what the hook reads."""
    PAFPoseLocalVisualizer.get_instance(
        f'hook_test_{tmp_path.name}',
        field_step=8,
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path))
    runner = SimpleNamespace(
        work_dir=str(tmp_path),
        timestamp='20261207_000000',
        iter=0,
        logger=MMLogger.get_instance(f'hook_test_{tmp_path.name}'),
        val_evaluator=SimpleNamespace(dataset_meta={}),
        test_evaluator=SimpleNamespace(dataset_meta={}))

    def hook(**options) -> MultilevelPoseVisualizationHook:
        return MultilevelPoseVisualizationHook(enable=True, **options)

    return hook, runner


def test_show_dir_takes_validation_and_every_nth_test_drawing(
        hook_and_runner, tmp_path):
    build, runner = hook_and_runner
    images = []
    for name in ('a.jpg', 'b.jpg'):
        images.append(str(tmp_path / name))
        cv2.imwrite(images[-1], np.full((30, 40, 3), 100, np.uint8))
    hook = build(out_dir='vis', interval=2)
    folder = tmp_path / runner.timestamp / 'vis'

    # testing: images 1, 3 and 5 of 5
    samples = [prediction(images[i % 2], in_image=True) for i in range(5)]
    hook.after_test_iter(runner, 0, {}, samples[:2])
    hook.after_test_iter(runner, 1, {}, samples[2:])
    assert sorted(
        p.name for p in folder.iterdir()) == ['a_0.jpg', 'a_1.jpg', 'a_2.jpg']
    # the image with the panel of its maps below
    assert cv2.imread(str(folder / 'a_0.jpg')).shape == (60, 40, 3)

    # in testing the files instead of the backends, as mmpose's
    assert not (tmp_path / 'vis_data/vis_image').exists()

    # validation: the first image of every second batch, to the backends
    # (mmpose's) and the folder
    for batch_idx in range(3):
        hook.after_val_iter(runner, batch_idx, {},
                            [prediction(images[1], in_image=True)])
    assert sorted(p.name for p in folder.glob('b_*')) == ['b_0.jpg', 'b_2.jpg']
    assert sorted(p.name
                  for p in (tmp_path / 'vis_data/vis_image').iterdir()) == [
                      'val_img_0.png', 'val_img_2.png'
                  ]


@pytest.mark.e2e
def test_tools_test_show_dir_draws_every_nth_image_with_its_maps(tmp_path):
    """``tools/test.py --show-dir vis --interval 3`` on the 4 bundled images
    (the small MLN, random weights, maps on): drawings of images 1 and 4, each
    with the panel of the maps below it."""
    config = write_small_mln_config(tmp_path / 'mln.py')
    checkpoint = save_random_checkpoint(config, tmp_path / 'mln.pth')
    run_command([
        sys.executable, 'tools/test.py',
        str(config),
        str(checkpoint), '--work-dir',
        str(tmp_path / 'work'), '--show-dir', 'vis', '--interval', '3',
        '--cfg-options', 'model.test_cfg.output_heatmaps=True'
    ])
    (folder, ) = (tmp_path / 'work').glob('*/vis')
    drawings = sorted(folder.iterdir())
    assert len(drawings) == 2
    for drawing in drawings:
        stem = drawing.name.rsplit('_', 1)[0]
        image = cv2.imread(str(REPO_ROOT / 'tests/data/coco' / f'{stem}.jpg'))
        height, width = image.shape[:2]
        assert cv2.imread(str(drawing)).shape == (2 * height, width, 3)
