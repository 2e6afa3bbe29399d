# Copyright (c) OpenMMLab. All rights reserved.
"""Faults of a training run through tools/train.py and tools/test.py with the
demo model: a loss that turns NaN, SIGKILL in the middle of an epoch and in the
middle of writing a checkpoint, a type that is not registered, a misspelt key,
data with faults."""
import hashlib
import re
import shutil
import sys
from pathlib import Path
from subprocess import CompletedProcess

import pytest
import torch

from custom_modules.utils import latest_checkpoint
from conftest import DEMO_CONFIG, REPO_ROOT, TRAIN_OPTIONS, run_command
from test_datasets.faulty_coco import FAULTS, make_faulty_coco

pytestmark = pytest.mark.e2e


def train(work_dir: Path,
          *options: str,
          resume: bool = False,
          fault: dict = None) -> CompletedProcess:
    """tools/train.py on the demo config; returns the finished process,
    whatever its status.

    ``fault``: environment variables of ``tests/plugins/fault_injection.py``,
    imported by a config that inherits the demo config (custom_imports act
    when a config is read, before --cfg-options apply).
    """
    config = DEMO_CONFIG
    if fault:
        config = work_dir.parent / f'{work_dir.name}_faulty_config.py'
        config.write_text(
            f"_base_ = ['{DEMO_CONFIG}']\ncustom_imports = dict(imports=["
            "'custom_modules', 'fault_injection'], "
            'allow_failed_imports=False)\n')
    cmd = [
        sys.executable, 'tools/train.py',
        str(config), '--work-dir',
        str(work_dir)
    ]
    if resume:
        cmd.append('--resume')
    cmd += ['--cfg-options', *TRAIN_OPTIONS, *options]
    return run_command(
        cmd,
        env=dict(PYTHONPATH=str(REPO_ROOT / 'tests/plugins'), **(fault or {})),
        timeout=600,
        check=False)


def load(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lr_per_iteration(work_dir: Path) -> dict:
    """``{iteration: lr}`` from the logs of every run in ``work_dir`` (logger
    interval 1)."""
    lrs = {}
    for log in work_dir.glob('*/*.log'):
        for epoch, step, per_epoch, lr in re.findall(
                r'Epoch\(train\)\s+\[(\d+)\]\[\s*(\d+)/(\d+)\]\s+lr: (\S+)',
                log.read_text()):
            lrs[(int(epoch) - 1) * int(per_epoch) + int(step)] = float(lr)
    return lrs


def check_finished_like(work_dir: Path, reference: Path) -> None:
    """The run in ``work_dir`` ended as the uninterrupted ``reference`` run.

    Same iteration, optimizer step count, schedule position and learning rate
    at every iteration.
    """
    done, ref = load(work_dir / 'epoch_2.pth'), load(reference / 'epoch_2.pth')
    assert done['meta']['iter'] == ref['meta']['iter'] == 6
    steps = {int(s['step']) for s in done['optimizer']['state'].values()}
    # Adam's state went on from the checkpoint, not from zero
    assert steps == {6}
    done_step = done['param_schedulers'][0]['last_step']
    assert done_step == ref['param_schedulers'][0]['last_step']
    assert lr_per_iteration(work_dir) == lr_per_iteration(reference)
    assert latest_checkpoint(str(work_dir)) == str(work_dir / 'epoch_2.pth')


def test_nan_loss_stops_training_and_keeps_the_last_checkpoint(
        trained, tmp_path):
    work_dir = tmp_path / 'nan'
    shutil.copytree(trained, work_dir)
    before = digest(work_dir / 'epoch_2.pth')
    proc = train(
        work_dir,
        'train_cfg.max_epochs=3',
        'model.head.loss.loss_weight=nan',
        resume=True)
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith('FloatingPointError: iteration 7 (epoch 3): ')
    assert 'loss_kpt = nan' in message
    assert not (work_dir / 'epoch_3.pth').exists()
    assert digest(work_dir / 'epoch_2.pth') == before
    assert latest_checkpoint(str(work_dir)).endswith('epoch_2.pth')


def test_sigkill_mid_epoch_then_resume_finishes_like_an_uninterrupted_run(
        trained, tmp_path):
    work_dir = tmp_path / 'work'
    killed = train(
        work_dir,
        'train_cfg.max_epochs=2',
        fault=dict(FAULT_KILL_AFTER_ITER='5'))
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['epoch_1.pth']
    resumed = train(work_dir, 'train_cfg.max_epochs=2', resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: 1, iter: 3' in sorted(
        work_dir.glob('*/*.log'))[-1].read_text()
    check_finished_like(work_dir, trained)


def test_sigkill_while_writing_a_checkpoint_never_leaves_it_as_the_latest(
        trained, tmp_path):
    work_dir = tmp_path / 'work'
    killed = train(
        work_dir,
        'train_cfg.max_epochs=2',
        fault=dict(FAULT_KILL_WRITING='epoch_2.pth'))
    assert killed.returncode == -9, killed.stderr[-3000:]
    # the write was under way
    assert (work_dir / 'epoch_2.pth.part').stat().st_size > 0
    assert not (work_dir / 'epoch_2.pth').exists()
    assert latest_checkpoint(str(work_dir)) == str(work_dir / 'epoch_1.pth')
    resumed = train(work_dir, 'train_cfg.max_epochs=2', resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert not (work_dir / 'epoch_2.pth.part').exists()
    check_finished_like(work_dir, trained)


def test_latest_checkpoint_skips_a_dangling_pointer_and_part_files(tmp_path):
    for name in ('epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth.part',
                 'best_coco_AP_epoch_9.pth'):
        (tmp_path / name).write_bytes(b'x')
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    # it names epoch_3.pth, removed since
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')
    assert latest_checkpoint(str(tmp_path / 'empty')) is None


def test_an_unregistered_type_names_the_config_and_custom_imports(tmp_path):
    proc = train(tmp_path, 'model.backbone.type=NoSuchNet')
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert str(DEMO_CONFIG) in message and "'NoSuchNet'" in message
    assert 'custom_imports' in message


def test_a_misspelt_key_names_the_config_and_the_key(tmp_path):
    proc = train(tmp_path, 'optim_wrapper.optimizer.lrr=0.1')
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        f'tools/train.py: error: {DEMO_CONFIG}: optim_wrapper.optimizer.lrr '
        '(--cfg-options): '
        "Adam takes no argument 'lrr' (did you mean 'lr'?)")


def test_training_on_faulty_data_skips_and_counts(tmp_path):
    """One epoch on the sample with every fault at once: the run ends, the log
    says what was left out and why."""
    ann_file = make_faulty_coco(tmp_path / 'data', *FAULTS)
    proc = train(tmp_path / 'work', 'train_cfg.max_epochs=1',
                 f'train_dataloader.dataset.data_root={ann_file.parent}',
                 'train_dataloader.dataset.ann_file=annotations.json')
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    for expected in ('images of', 'missing.jpg',
                     'their samples are left out of training',
                     'visible keypoints outside their image',
                     'boxes of no area', 'crowd annotations'):
        assert expected in log, expected
    assert (tmp_path / 'work/epoch_1.pth').exists()


def test_testing_on_data_with_a_missing_image_stops_before_inference(
        trained, tmp_path):
    make_faulty_coco(tmp_path / 'data', 'missing_image')
    proc = run_command([
        sys.executable, 'tools/test.py',
        str(DEMO_CONFIG),
        str(trained / 'epoch_2.pth'), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.data_root={tmp_path / "data"}',
        'test_dataloader.dataset.ann_file=annotations.json',
        'test_dataloader.dataset.bbox_file=None',
        f'test_evaluator.ann_file={tmp_path / "data/annotations.json"}'
    ],
                       timeout=600,
                       check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert ('tools/test.py: error: 1 of the 5 images' in proc.stderr
            and 'missing.jpg' in proc.stderr)
    assert 'Traceback' not in proc.stderr
