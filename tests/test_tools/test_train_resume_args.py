# Copyright (c) OpenMMLab. All rights reserved.
"""tools/train.py's ``--resume`` without a path: the checkpoint it continues
from is looked for in the work directory the run will write to, and only a
checkpoint that exists is resumed."""
import importlib.util
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from conftest import DEMO_CONFIG, REPO_ROOT

spec = importlib.util.spec_from_file_location('train_tool',
                                              REPO_ROOT / 'tools/train.py')
train_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_tool)


def merged(monkeypatch, *argv: str) -> Config:
    monkeypatch.setattr(sys, 'argv',
                        ['tools/train.py',
                         str(DEMO_CONFIG), *argv])
    return train_tool.merge_args(
        Config.fromfile(DEMO_CONFIG), train_tool.parse_args())


def checkpoints(work_dir: Path, *names: str) -> None:
    work_dir.mkdir(parents=True)
    for name in names:
        (work_dir / name).write_bytes(b'x')


def test_resume_looks_in_the_work_dir_that_cfg_options_set(
        monkeypatch, tmp_path):
    checkpoints(tmp_path / 'default', 'epoch_50.pth')
    checkpoints(tmp_path / 'chosen', 'epoch_3.pth')
    cfg = merged(monkeypatch, '--work-dir', str(tmp_path / 'default'),
                 '--resume', '--cfg-options',
                 f'work_dir={tmp_path / "chosen"}')
    assert cfg.work_dir == str(tmp_path / 'chosen')
    assert cfg.resume and cfg.load_from == str(tmp_path / 'chosen/epoch_3.pth')


def test_a_stale_pointer_without_checkpoints_starts_afresh(
        monkeypatch, tmp_path):
    """``last_checkpoint`` names a removed file and only a best checkpoint is
    left: mmengine's own search would resume from the missing file."""
    work_dir = tmp_path / 'work'
    logged = []
    monkeypatch.setattr(train_tool, 'print_log',
                        lambda message, **kwargs: logged.append(message))
    checkpoints(work_dir, 'best_coco_AP_epoch_9.pth')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_10.pth'))
    cfg = merged(monkeypatch, '--work-dir', str(work_dir), '--resume')
    assert cfg.resume is False
    assert cfg.load_from is None
    assert logged == [
        f'--resume: no checkpoint in {work_dir}; the run starts afresh'
    ]
    # nor mmengine's own search, asked for by the config
    cfg = merged(monkeypatch, '--work-dir', str(work_dir), '--resume',
                 '--cfg-options', 'resume=True')
    assert cfg.resume is False


def test_a_given_checkpoint_is_resumed_as_given(monkeypatch, tmp_path):
    checkpoints(tmp_path / 'work', 'epoch_2.pth')
    cfg = merged(monkeypatch, '--work-dir', str(tmp_path / 'work'), '--resume',
                 str(tmp_path / 'elsewhere.pth'))
    assert cfg.resume and cfg.load_from == str(tmp_path / 'elsewhere.pth')


def test_a_load_from_of_cfg_options_is_resumed(monkeypatch, tmp_path):
    """``--resume --cfg-options load_from=X`` resumes from X, as mmpose's tool
    does (the options are applied last), not from the work dir's."""
    checkpoints(tmp_path / 'work', 'epoch_2.pth')
    cfg = merged(monkeypatch, '--work-dir', str(tmp_path / 'work'), '--resume',
                 '--cfg-options', f'load_from={tmp_path / "other.pth"}')
    assert cfg.resume and cfg.load_from == str(tmp_path / 'other.pth')


def test_amp_takes_an_optim_wrapper_named_by_its_class(monkeypatch):
    """A pure-Python config names ``optim_wrapper.type`` by the class, as
    mmpose's tool accepts; another wrapper is refused naming it."""
    from mmengine.optim import OptimWrapper, OptimWrapperDict

    config = Config.fromfile(DEMO_CONFIG)
    config.optim_wrapper.type = OptimWrapper
    monkeypatch.setattr(sys, 'argv',
                        ['tools/train.py',
                         str(DEMO_CONFIG), '--amp'])
    cfg = train_tool.merge_args(config, train_tool.parse_args())
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    config = Config.fromfile(DEMO_CONFIG)
    config.optim_wrapper.type = OptimWrapperDict
    with pytest.raises(ValueError, match="got 'OptimWrapperDict'"):
        train_tool.merge_args(config, train_tool.parse_args())
