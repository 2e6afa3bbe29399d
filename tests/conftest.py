# Copyright (c) OpenMMLab. All rights reserved.
"""Shared pytest fixtures: paths of the repository and a runner for the
command-line tools."""
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# the analysis tools, which tests import as modules (benchmark,
# benchmark_realtime, ...)
sys.path.insert(0, str(REPO_ROOT / 'tools/analysis'))
DEMO_CONFIG = REPO_ROOT / (
    'configs/demo/td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py')

MLN_SAMPLE_CONFIG = REPO_ROOT / (
    'configs/demo/paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py')
# each family's width-reduced sample config (configs/demo/), relative to the
# repository
SAMPLE_CONFIGS = {
    'hsr-msnet':
    'configs/demo/td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py',
    'mlpe':
    'configs/demo/td-hm_mlpe-resnest50-w16_1xb4-300e_coco-sample-128x96.py',
    'mln': 'configs/demo/paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py',
    'smpr': 'configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-256x192.py',
}


def save_random_checkpoint(config: Path, path: Path) -> Path:
    """``{'state_dict', 'meta'}`` of a model built from ``config`` with random
    weights."""
    import torch
    from mmpose.apis import init_model

    model = init_model(str(config), None, device='cpu')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def write_small_mln_config(path: Path) -> Path:
    """Write the sample MLN config at 64x64 without flip test to ``path`` (the
    same weights as the sample config's; a few ms an image)."""
    from mmengine.config import Config

    cfg = Config.fromfile(MLN_SAMPLE_CONFIG)
    codec = dict(
        type='PartAffinityField',
        input_size=(64, 64),
        heatmap_size=(8, 8),
        sigma=1.5,
        limb_width=1.5)
    cfg.model.head.decoder.update(codec, heatmap_size=codec['input_size'])
    cfg.model.test_cfg.flip_test = False
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        resize = next(t for t in loader.dataset.pipeline
                      if t.type == 'PyramidBottomupResize')
        resize.input_size = codec['input_size']
    cfg.dump(path)
    return path


def run_command(cmd: List[str],
                cwd: Optional[Path] = None,
                timeout: int = 900,
                env: Optional[dict] = None,
                check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd`` with this interpreter's environment (plus ``env``); with
    ``check``, fail the test with its output if it fails."""
    full_env = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1')
    full_env.update(env or {})
    proc = subprocess.run(
        cmd,
        cwd=cwd or REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(
            f'{" ".join(map(str, cmd))} exited with {proc.returncode}\n'
            f'--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr '
            f'---\n{proc.stderr[-6000:]}')
    return proc


def free_port() -> int:
    """A TCP port free on this machine now, for a torchrun master (``PORT`` of
    dist_*.sh)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def demo_config() -> Path:
    return DEMO_CONFIG


@pytest.fixture(scope='session')
def run_tool():
    """``run_tool(cmd, ...)``: :func:`run_command` as a fixture."""
    return run_command


@pytest.fixture(scope='session')
def train_on_sample(tmp_path_factory):
    """``train_on_sample(config) -> checkpoint``: trains a sample config
    (`configs/demo/`) with its full schedule, once per test session (a few CPU
    minutes each)."""
    checkpoints = {}

    def train(config: Path) -> Path:
        if config not in checkpoints:
            work_dir = tmp_path_factory.mktemp(config.stem)
            run_command([
                sys.executable, 'tools/train.py',
                str(config), '--work-dir',
                str(work_dir), '--no-validate'
            ])
            checkpoints[config] = Path(
                (work_dir / 'last_checkpoint').read_text().strip())
        return checkpoints[config]

    return train


# A short schedule of the `make demo` model: 3 iterations an epoch, a
# checkpoint per epoch, a line of log per iteration.
TRAIN_OPTIONS = [
    'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=1',
    'default_hooks.checkpoint.max_keep_ckpts=3',
    'default_hooks.logger.interval=1'
]


@pytest.fixture(scope='session')
def trained(tmp_path_factory):
    """A work directory of the demo model trained for 2 epochs (3 iterations
    each)."""
    work_dir = tmp_path_factory.mktemp('train')
    run_command([
        sys.executable, 'tools/train.py',
        str(DEMO_CONFIG), '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=2',
        *TRAIN_OPTIONS
    ])
    return work_dir


@pytest.fixture(scope='session')
def sample_checkpoint(train_on_sample) -> Path:
    """The `make demo` model (HSR-MSNet-59 at a quarter width) trained on the
    COCO sample."""
    return train_on_sample(DEMO_CONFIG)


@pytest.fixture(autouse=True)
def mmpose_default_scope():
    """Build from the registries in mmpose's scope in every test, whatever
    scope an earlier test left current (mmdet's ``init_detector`` switches the
    process-wide default scope to mmdet)."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpose'):
        yield
