"""Every runnable config of the project parses, builds its model from the registries alone and
produces heatmaps at a quarter of the input size."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

CONFIG_ROOT = Path(__file__).resolve().parents[2] / 'configs'
POSE_CONFIGS = sorted(p for p in CONFIG_ROOT.glob('*/*.py')
                      if p.parent.name not in ('detectors', ) and not p.name.startswith('_'))


@pytest.mark.parametrize('config', POSE_CONFIGS, ids=lambda p: f'{p.parent.name}/{p.stem}')
def test_config_builds_and_predicts_heatmaps(config):
    register_all_modules()
    cfg = Config.fromfile(config)
    assert cfg.custom_imports.imports == ['custom_modules']
    model = MODELS.build(cfg.model).eval()
    # Every place that needs the codec has this config's (a child config that changes `codec`
    # must restate the pipelines: mmengine resolves them in the parent).
    def codec_of(cfg_dict) -> dict:
        return {k: v for k, v in cfg_dict.items() if k != '_scope_'}

    assert codec_of(cfg.model.head.decoder) == codec_of(cfg.codec)
    for pipeline in (cfg.train_dataloader.dataset.pipeline, cfg.val_dataloader.dataset.pipeline,
                     cfg.test_dataloader.dataset.pipeline):
        for transform in pipeline:
            if transform.type == 'TopdownAffine':
                assert tuple(transform.input_size) == tuple(cfg.codec.input_size)
            if transform.type == 'GenerateTarget':
                assert codec_of(transform.encoder) == codec_of(cfg.codec)
    width, height = cfg.codec.input_size
    heatmap_w, heatmap_h = cfg.codec.heatmap_size
    assert (width // heatmap_w, height // heatmap_h) == (4, 4)
    with torch.no_grad():
        heatmaps = model(torch.randn(1, 3, height, width), None, mode='tensor')
    assert heatmaps.shape == (1, 17, heatmap_h, heatmap_w)
