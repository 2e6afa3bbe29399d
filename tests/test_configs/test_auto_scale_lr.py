# Copyright (c) OpenMMLab. All rights reserved.
"""The GPU count and batch in a config's name (`..._1xb32-...`) are the setting
its learning rate is for, and ``tools/train.py --auto-scale-lr`` rescales that
learning rate to the batch of the run (mmengine's ``Runner.scale_lr``: lr x
world size x batch per GPU / base_batch_size).

HSR-MSNet's configs are the paper's setting (Sec. 4: one GPU, batch 32, Adam lr
1e-4).
"""
import importlib.util
import re
from pathlib import Path

import mmengine.runner.runner
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

REPO_ROOT = Path(__file__).resolve().parents[2]
HSR_MSNET_59 = REPO_ROOT / (
    'configs/hsr_msnet/td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py')
SCHEDULE_CONFIGS = sorted(
    p for p in (REPO_ROOT / 'configs').glob('*/*.py')
    if re.search(r'_\d+xb\d+-', p.stem))

spec = importlib.util.spec_from_file_location('train_tool',
                                              REPO_ROOT / 'tools/train.py')
train_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_tool)


@pytest.mark.parametrize(
    'config', SCHEDULE_CONFIGS, ids=lambda p: f'{p.parent.name}/{p.stem}')
def test_base_batch_size_is_the_named_setting(config):
    gpus, batch = map(int, re.search(r'_(\d+)xb(\d+)-', config.stem).groups())
    cfg = Config.fromfile(config, import_custom_modules=False)
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == gpus * batch


def lr_of_run(config: Path, world_size: int, args: list, work_dir: Path,
              monkeypatch) -> float:
    """The learning rate that ``tools/train.py CONFIG ARGS`` run as one of
    ``world_size`` processes trains with: the tool's config, a Runner that sees
    ``world_size`` processes (no process group is started), and the steps of
    ``Runner.train`` up to the parameter schedulers, which start from the
    optimizer's lr."""
    monkeypatch.setattr(
        'sys.argv',
        ['train.py', str(config), '--work-dir',
         str(work_dir)] + args)
    monkeypatch.setenv('LOCAL_RANK', '0')
    cfg = train_tool.merge_args(
        Config.fromfile(config), train_tool.parse_args())
    cfg.experiment_name = f'{world_size}-{work_dir.name}'
    monkeypatch.setattr(mmengine.runner.runner, 'get_dist_info', lambda:
                        (0, world_size))
    runner = Runner.from_cfg(cfg)
    assert runner.world_size == world_size
    optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(optim_wrapper, runner.auto_scale_lr)
    [group] = optim_wrapper.optimizer.param_groups
    return group['lr']


BATCH_4 = ['--cfg-options', 'train_dataloader.batch_size=4']


@pytest.mark.parametrize(
    'world_size, args, lr',
    [
        (1, ['--auto-scale-lr'], 1e-4),  # the paper's setting: 1 GPU x 32
        (8, ['--auto-scale-lr'], 8e-4),  # 8 GPUs x 32: lr x 8
        (8, BATCH_4, 1e-4),  # 8 GPUs x 4: the paper's total batch and lr
        (8, ['--auto-scale-lr'] + BATCH_4,
         1e-4),  # the same, scaled by 32 / 32
    ],
    ids=['1xb32-auto', '8xb32-auto', '8xb4', '8xb4-auto'])
def test_hsr_msnet_lr_follows_the_total_batch(world_size, args, lr, tmp_path,
                                              monkeypatch):
    run_lr = lr_of_run(HSR_MSNET_59, world_size, args, tmp_path, monkeypatch)
    assert run_lr == pytest.approx(lr, rel=1e-12)
