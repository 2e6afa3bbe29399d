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
    # CocoMetric's ten figures, each the one the log prints
    assert len(metrics) == 10 and {'coco/AP', 'coco/AR'} <= set(metrics)
    log = proc.stdout + proc.stderr
    assert all(f'{name}: {value:.6f}' in log
               for name, value in metrics.items()), log[-2000:]


def test_predictions_are_dumped_when_the_evaluation_fails(
        trained, demo_config, run_tool, tmp_path):
    """``--dump`` is written before the metrics run: mmpose's unchecked
    ``CocoMetric`` on a file with a null keypoint fails after the inference (in
    xtcocotools' ``computeOks``), and the predictions are kept."""
    coco = json.loads(Path('tests/data/coco/test_coco.json').read_text())
    coco['annotations'][0]['keypoints'][0] = None
    faulty = tmp_path / 'null_keypoint.json'
    faulty.write_text(json.dumps(coco))
    dump = tmp_path / 'preds.pkl'
    proc = run_tool([
        sys.executable, 'tools/test.py',
        str(demo_config),
        str(trained / 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--dump',
        str(dump), '--cfg-options', 'test_evaluator.type=CocoMetric',
        f'test_evaluator.ann_file={faulty}',
        'test_dataloader.dataset.bbox_file=None'
    ],
                    check=False)
    assert proc.returncode != 0 and 'computeOks' in proc.stderr, (
        proc.stderr[-3000:])
    assert len(mmengine.load(dump)) == 12


def test_an_out_file_the_metrics_cannot_be_written_as_is_refused_at_once(
        trained, demo_config, run_tool, tmp_path):
    proc = run_tool([
        sys.executable, 'tools/test.py',
        str(demo_config),
        str(trained / 'epoch_2.pth'), '--out',
        str(tmp_path / 'metrics.txt')
    ],
                    check=False)
    assert proc.returncode == 2
    assert 'metrics.txt: the metrics are written as json/yaml' in proc.stderr
    assert 'Epoch(test)' not in proc.stdout + proc.stderr


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
