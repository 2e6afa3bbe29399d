# Copyright (c) OpenMMLab. All rights reserved.
"""Multi-scale bottom-up testing, which mmpose 1.3 cannot run.

The path tested: PyramidBottomupResize(aug_scales) (mmpose's BottomupResize,
and where each image sits) -> PackMultiScalePoseInputs -> collate ->
MultiScalePoseDataPreprocessor -> PyramidBottomupPoseEstimator -> the PAF
head's averaging over the scales.
"""
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.registry import MODELS

from custom_modules.data_preprocessors import MultiScalePoseDataPreprocessor

REPO_ROOT = Path(__file__).resolve().parents[2]
MLN_SAMPLE_CONFIG = REPO_ROOT / (
    'configs/demo/paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py')
IMAGES = [
    REPO_ROOT / 'tests/data/coco/000000000785.jpg',  # 640x425
    REPO_ROOT / 'tests/data/coco/000000197388.jpg',  # 640x392
]
NORMALISATION = dict(
    mean=[128, 128, 128], std=[256, 256, 256], bgr_to_rgb=True)
COCO_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def pyramid_batch(aug_scales: Optional[Sequence[float]],
                  size: int = 64,
                  resize: str = 'PyramidBottomupResize') -> dict:
    """The two images through the MLN test pipeline at ``size``, collated as
    mmengine does."""
    init_default_scope('mmpose')
    pipeline = Compose([
        dict(type='LoadImage'),
        dict(
            type=resize,
            input_size=(size, size),
            size_factor=8,
            resize_mode='expand',
            aug_scales=aug_scales),
        dict(
            type='PackMultiScalePoseInputs',
            meta_keys=('img_path', 'ori_shape', 'img_shape', 'input_size',
                       'input_center', 'input_scale', 'aug_scales',
                       'flip_indices')),
    ])
    return pseudo_collate([
        pipeline(dict(img_path=str(image), flip_indices=COCO_FLIP_INDICES))
        for image in IMAGES
    ])


def test_the_pyramid_is_packed_and_batched_per_scale_and_normalised():
    batch = pyramid_batch([0.5, 2.0])
    # collated scale-major: one list of images per scale, base first
    assert [[tuple(x.shape) for x in scale]
            for scale in batch['inputs']] == [[(3, 64, 104), (3, 64, 112)],
                                              [(3, 32, 56), (3, 32, 56)],
                                              [(3, 128, 200), (3, 128, 216)]]
    assert batch['data_samples'][0].metainfo['aug_scales'] == [0.5, 2.0]

    out = MultiScalePoseDataPreprocessor(**NORMALISATION)(batch)
    assert [tuple(x.shape) for x in out['inputs']] == [(2, 3, 64, 112),
                                                       (2, 3, 32, 56),
                                                       (2, 3, 128, 216)]
    # each scale normalised (BGR -> RGB, (x - 128) / 256) and padded to its
    # widest image
    image = batch['inputs'][2][0].float()
    expected = (image.flip(0) - 128) / 256
    torch.testing.assert_close(out['inputs'][2][0, :, :, :200], expected)
    assert out['inputs'][2][0, :, :, 200:].abs().max() == 0
    # the data samples carry the base scale's shapes, and every scale's batch
    # shape (the width its mirrored batch is mirrored in)
    assert out['data_samples'][0].metainfo['batch_input_shape'] == (64, 112)
    assert out['data_samples'][1].metainfo['pyramid_batch_input_shapes'] == [
        (64, 112), (32, 56), (128, 216)
    ]


def test_a_plain_batch_is_processed_as_mmpose_processes_it():
    batch = pyramid_batch(None)
    ours = MultiScalePoseDataPreprocessor(**NORMALISATION)(pyramid_batch(None))
    theirs = PoseDataPreprocessor(**NORMALISATION)(batch)
    torch.testing.assert_close(ours['inputs'], theirs['inputs'])
    ours_meta = ours['data_samples'][1].metainfo
    theirs_meta = theirs['data_samples'][1].metainfo
    for key in ('batch_input_shape', 'pad_shape', 'img_shape'):
        assert ours_meta[key] == theirs_meta[key]


def small_mln(**test_cfg):
    """The sample MLN config's model, random, with ``test_cfg`` added."""
    init_default_scope('mmpose')
    cfg = Config.fromfile(MLN_SAMPLE_CONFIG)
    cfg.model.test_cfg.update(test_cfg)
    return MODELS.build(cfg.model).eval()


@pytest.mark.parametrize('flip_test', [False, True])
def test_multiscale_test_runs_the_network_on_every_scale(flip_test):
    """The network runs on every scale of the pyramid (and its mirror), and the
    head averages all of those views: the network's last-stage maps are
    replaced by a constant of its own per view (below the peak threshold, so
    nobody is decoded), and the predicted maps (``output_heatmaps``) hold their
    mean inside each image, the fields' x component of a mirrored view
    negated."""
    model = small_mln(
        multiscale_test=True, flip_test=flip_test, output_heatmaps=True)
    seen, views = [], []
    extract_feat = model.extract_feat

    def recording_extract_feat(inputs):
        seen.append(tuple(inputs.shape))
        views.append(extract_feat(inputs))
        return views[-1]

    # per view, in mmpose's order (each scale, then its mirror): all differ,
    # and so do their mean, the mean of the unmirrored views and the base's
    values = ([0.01, 0.05, 0.02, 0.07, 0.03, 0.09]
              if flip_test else [0.01, 0.04, 0.07])
    head_forward = model.head.forward

    def view_constant_forward(feats):
        heatmaps, pafs = head_forward(feats)
        value = values[next(i for i, view in enumerate(views)
                            if view is feats)]
        return (heatmaps[:-1] + [torch.full_like(heatmaps[-1], value)],
                pafs[:-1] + [torch.full_like(pafs[-1], value)])

    model.extract_feat = recording_extract_feat
    model.head.forward = view_constant_forward
    with torch.no_grad():
        results = model.test_step(pyramid_batch([0.5, 2.0]))
    scales = [(2, 3, 64, 112), (2, 3, 32, 56), (2, 3, 128, 216)]
    assert seen == [
        shape for shape in scales for _ in range(2 if flip_test else 1)
    ]
    mean = sum(values) / len(values)
    # the x component: each scale's (unmirrored - mirrored) / 2
    x_mean = (sum(values[0::2]) - sum(values[1::2])) / len(values)
    if not flip_test:
        x_mean = mean
    assert len(results) == 2
    for result, image in zip(results, IMAGES):
        assert result.img_path == str(image)
        assert result.pred_instances.keypoints.shape[1:] == (17, 2)
        fields = result.pred_fields
        height, width = fields.heatmaps.shape[-2:]
        inside = (slice(None), slice(height // 4, 3 * height // 4),
                  slice(width // 4, 3 * width // 4))
        for maps, expected in ((fields.heatmaps, mean),
                               (fields.pafs[1::2], mean), (fields.pafs[0::2],
                                                           x_mean)):
            torch.testing.assert_close(
                maps[inside],
                torch.full_like(maps[inside], expected),
                atol=1e-5,
                rtol=0)


def test_multiscale_test_without_the_pyramids_places_says_how_to_get_them():
    """mmpose's BottomupResize does not record where each image of its pyramid
    sits, which the head needs to place their maps."""
    model = small_mln(multiscale_test=True)
    with pytest.raises(ValueError, match='use PyramidBottomupResize'):
        with torch.no_grad():
            model.test_step(pyramid_batch([0.5, 2.0], resize='BottomupResize'))


def test_multiscale_test_without_aug_scales_says_how_to_set_them():
    model = small_mln(multiscale_test=True)
    with pytest.raises(ValueError, match='aug_scales.*BottomupResize'):
        with torch.no_grad():
            model.test_step(pyramid_batch(None))


def test_a_pyramid_for_a_model_without_multiscale_test_says_what_to_set():
    """torch.stack of the pyramid's levels failed on their sizes."""
    model = small_mln(multiscale_test=False)
    with pytest.raises(ValueError, match='multiscale_test=False: set it True'):
        with torch.no_grad():
            model.test_step(pyramid_batch([0.5, 2.0]))


def test_aug_scales_of_a_config_tuple_are_the_scales():
    """mmengine's Config keeps a tuple (0.5, 2.0) as a tuple; the model took it
    for no aug_scales at all."""
    model = small_mln(multiscale_test=True)
    with torch.no_grad():
        from_tuple = model.test_step(pyramid_batch((0.5, 2.0)))
        from_list = model.test_step(pyramid_batch([0.5, 2.0]))
    for a, b in zip(from_tuple, from_list):
        np.testing.assert_array_equal(a.pred_instances.keypoints,
                                      b.pred_instances.keypoints)


def test_a_test_cfg_key_nothing_reads_is_named_with_the_closest_key(
        monkeypatch):
    from custom_modules.pose_estimators import pyramid_bottomup
    logged = []
    monkeypatch.setattr(pyramid_bottomup, 'print_log',
                        lambda message, **kwargs: logged.append(message))
    init_default_scope('mmpose')
    cfg = Config.fromfile(MLN_SAMPLE_CONFIG)
    cfg.model.test_cfg.update(flip_tset=True, shift_heatmap=True)
    model = MODELS.build(cfg.model)
    flip, shift = model.unread_test_cfg_keys()
    assert logged == [flip, shift]  # said once, when the model is built
    assert flip == (
        'test_cfg.flip_tset is read by nothing of this '
        'PyramidBottomupPoseEstimator and its MLNHead: it changes nothing '
        "(did you mean 'flip_test'?)")
    # a top-down head's key: no misspelt one of these
    assert shift == (
        'test_cfg.shift_heatmap is read by nothing of this '
        'PyramidBottomupPoseEstimator and its MLNHead: it changes nothing '
        '(its keys: align_corners, decode_on_device, flip_test, full_restore, '
        'multiscale_test, output_heatmaps, restore_heatmap_size, '
        'restore_mode)')
    # a head that does not list its keys is not checked
    from custom_modules.heads.paf_head import BasePAFHead
    monkeypatch.delattr(BasePAFHead, 'TEST_CFG_KEYS')
    assert model.unread_test_cfg_keys() == []


def keys_read(*classes: type) -> set:
    """The ``test_cfg`` keys the source files of ``classes`` read:

    ``test_cfg.get('k')``, ``test_cfg['k']`` and ``'k' in test_cfg`` of any
    name or attribute ending in ``test_cfg``; any other use of such a name with
    a key fails the test (the scan would not see what it reads).
    """
    import ast
    import inspect

    def is_test_cfg(node: ast.AST) -> bool:
        name = getattr(node, 'id', None) or getattr(node, 'attr', None)
        return isinstance(name, str) and name.endswith('test_cfg')

    keys = set()
    for source in {inspect.getsourcefile(c) for c in classes}:
        for node in ast.walk(ast.parse(Path(source).read_text())):
            key = None
            if (isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and is_test_cfg(node.func.value)):
                assert node.func.attr in ('get', 'copy'), ast.unparse(node)
                key = node.args[0] if node.func.attr == 'get' else None
            elif isinstance(node, ast.Subscript) and is_test_cfg(node.value):
                key = node.slice
            elif (isinstance(node, ast.Compare)
                  and any(is_test_cfg(c) for c in node.comparators)):
                key = node.left
            elif isinstance(node, ast.Attribute) and is_test_cfg(node.value):
                assert node.attr in ('get', 'copy'), ast.unparse(node)
            if key is not None:
                assert isinstance(key, ast.Constant), ast.unparse(node)
                keys.add(key.value)
    return keys


def test_the_listed_test_cfg_keys_are_those_the_code_reads():
    """Of the estimator and mmpose's classes under it, and of every head class
    between a head and mmpose's BaseHead."""
    from mmpose.models.heads import BaseHead

    from custom_modules.heads import (MLNHead, OpenPoseHead,
                                      SeparableOpenPoseHead, SMPRHead)
    from custom_modules.pose_estimators import PyramidBottomupPoseEstimator
    estimator = PyramidBottomupPoseEstimator
    assert estimator.TEST_CFG_KEYS == keys_read(*estimator.__mro__[:3])
    for head in (MLNHead, OpenPoseHead, SeparableOpenPoseHead, SMPRHead):
        classes = head.__mro__[:head.__mro__.index(BaseHead)]
        assert head.TEST_CFG_KEYS == keys_read(*classes), head
