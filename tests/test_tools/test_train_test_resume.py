# Copyright (c) OpenMMLab. All rights reserved.
"""End to end through the command-line tools on the bundled COCO sample.

The steps: train 2 epochs -> tools/test.py reports coco/AP -> --resume
continues -> init_model / load_from. Every checkpoint here is written by this
project's own training (torch >= 2.6 must load it).
"""
import json
import sys
from pathlib import Path

import mmengine
import pytest
import torch

from conftest import TRAIN_OPTIONS

pytestmark = pytest.mark.e2e


def load(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)


def test_training_writes_a_checkpoint_per_epoch_count(trained):
    ckpt = load(trained / 'epoch_2.pth')
    assert ckpt['meta']['epoch'] == 2
    assert ckpt['meta'][
        # 12 people with keypoints / batch 4 = 3 iterations an epoch
        'iter'] == 6
    assert (trained /
            'last_checkpoint').read_text().strip().endswith('epoch_2.pth')


def test_test_tool_reports_coco_ap(trained, demo_config, run_tool, tmp_path):
    out = tmp_path / 'metrics.json'
    proc = run_tool([
        sys.executable, 'tools/test.py',
        str(demo_config),
        str(trained / 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--out',
        str(out)
    ])
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    assert 'coco/AP' in proc.stdout + proc.stderr


def test_test_tool_dumps_the_predictions_with_evaluator_options(
        trained, demo_config, run_tool, tmp_path):
    """``--dump`` adds mmengine's ``DumpResults`` to the evaluators; options of
    the config's evaluator still apply to it (they failed with a ``TypeError``
    on the list)."""
    dump = tmp_path / 'preds.pkl'
    ann_file = Path('tests/data/coco/test_coco.json').resolve()
    run_tool([
        sys.executable, 'tools/test.py',
        str(demo_config),
        str(trained / 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--dump',
        str(dump), '--cfg-options', f'test_evaluator.ann_file={ann_file}',
        'test_dataloader.dataset.bbox_file=None'
    ])
    predictions = mmengine.load(dump)
    # one per person box of the 4 images: the 12 annotated people
    assert len(predictions) == 12
    assert predictions[0]['pred_instances']['keypoints'].shape == (1, 17, 2)


def test_resume_restores_iteration_and_optimizer_state(trained, demo_config,
                                                       run_tool, tmp_path):
    work_dir = tmp_path / 'resumed'
    work_dir.mkdir()
    before = load(trained / 'epoch_2.pth')
    run_tool([
        sys.executable, 'tools/train.py',
        str(demo_config), '--work-dir',
        str(work_dir), '--resume',
        str(trained / 'epoch_2.pth'), '--cfg-options',
        'train_cfg.max_epochs=3', *TRAIN_OPTIONS
    ])
    after = load(work_dir / 'epoch_3.pth')
    assert after['meta']['epoch'] == 3
    assert after['meta']['iter'] == 9
    # Adam counts its steps per parameter: 6 before the resume plus 3 after it,
    # not 3.
    steps_before = {
        int(s['step'])
        for s in before['optimizer']['state'].values()
    }
    steps_after = {
        int(s['step'])
        for s in after['optimizer']['state'].values()
    }
    assert steps_before == {6} and steps_after == {9}
    # The warm-up of 30 iterations goes on from iteration 6, not from 0.
    assert after['param_schedulers'][0]['last_step'] == 9
    log = next(work_dir.glob('*/*.log')).read_text()
    assert 'resumed epoch: 2, iter: 6' in log


def test_init_model_and_load_from_accept_the_checkpoint(
        trained, demo_config, run_tool, tmp_path):
    from mmpose.apis import init_model
    ckpt = trained / 'epoch_2.pth'
    model = init_model(str(demo_config), str(ckpt), device='cpu')
    saved = load(ckpt)['state_dict']
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, saved[name], msg=name)
    assert model.dataset_meta['num_keypoints'] == 17

    work_dir = tmp_path / 'finetune'
    run_tool([
        sys.executable, 'tools/train.py',
        str(demo_config), '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1',
        f'load_from={ckpt}', *TRAIN_OPTIONS
    ])
    log = next(work_dir.glob('*/*.log')).read_text()
    assert f'Load checkpoint from {ckpt}' in log
    # load_from starts a new schedule
    assert load(work_dir / 'epoch_1.pth')['meta']['iter'] == 3
