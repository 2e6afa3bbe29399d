# Copyright (c) OpenMMLab. All rights reserved.
"""Shared pytest fixtures: paths of the repository and a runner for the
command-line tools."""
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Set

import pytest
from preloaded_python import PreloadedPython

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
    'smpr': 'configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py',
}


def save_random_checkpoint(config: Path, path: Path) -> Path:
    """``{'state_dict', 'meta'}`` of a model built from ``config`` with random
    weights."""
    import torch
    from mmpose.apis import init_model

    model = init_model(str(config), None, device='cpu')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


# the person logits of the levels of stride 32, 16 and 8 of ``seeing_yolov3``,
# and the score of their boxes (class score times objectness, both sigmoids)
SEEING_YOLOV3_PERSON_LOGITS = (6., 4., 2.)
SEEING_YOLOV3_SCORES = tuple(1 / (1 + math.exp(-logit)) / (1 + math.exp(-6.))
                             for logit in SEEING_YOLOV3_PERSON_LOGITS)


def seeing_yolov3(detector) -> None:
    """Make an mmdet YOLOv3 (``YOLOV3Head``) answer what a test can predict.

    Its prediction convs get zero weights, so every cell of every level gives
    each of its anchors' boxes, centred in the cell, with the scores of the
    biases: objectness logit 6; person (class 0) logit 6, 4 and 2 at the levels
    of stride 32, 16 and 8 (``SEEING_YOLOV3_SCORES``; the head ranks its
    ``nms_pre`` boxes by class score); the other classes' logits -6. Random
    weights find nobody or boxes with infinite corners only, which left the
    detector's path untested.
    """
    import torch

    head = detector.bbox_head
    with torch.no_grad():
        for conv, person in zip(head.convs_pred, SEEING_YOLOV3_PERSON_LOGITS):
            conv.weight.zero_()
            bias = conv.bias.view(head.num_base_priors, head.num_attrib)
            bias.zero_()
            bias[:, 4] = 6.
            bias[:, 5:] = -6.
            bias[:, 5] = person


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


def blank_pyramid(width: int, height: int, **resize) -> dict:
    """``PyramidBottomupResize(**resize)``'s results for a black ``width`` x
    ``height`` image: its pyramid's images and ``pyramid_*`` places."""
    import numpy as np

    from custom_modules.datasets.transforms import PyramidBottomupResize
    return PyramidBottomupResize(**resize).transform(
        dict(
            img=np.zeros((height, width, 3), np.uint8),
            ori_shape=(height, width),
            img_shape=(height, width)))


def tool_environment() -> Dict[str, str]:
    """The environment the tools run in: this one, with ``PYTHON`` this
    interpreter and unbuffered output."""
    return dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1')


# the tools' interpreter, preloaded (tests/preloaded_python.py); closed by
# the session's end (preloaded_python_server)
PRELOADED = PreloadedPython(tool_environment(), REPO_ROOT)


def run_command(cmd: List[str],
                cwd: Optional[Path] = None,
                timeout: int = 900,
                env: Optional[dict] = None,
                check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd`` with this interpreter's environment (plus ``env``); with
    ``check``, fail the test with its output if it fails.

    ``python SCRIPT ARGS`` runs as a fork of :data:`PRELOADED` where the
    environment allows it (:meth:`PreloadedPython.takes`), other commands as
    new processes.
    """
    full_env = tool_environment()
    full_env.update(env or {})
    if PRELOADED.takes(cmd, full_env):
        with tempfile.TemporaryDirectory() as output_dir:
            proc = PRELOADED.run(cmd, cwd or REPO_ROOT, full_env, timeout,
                                 Path(output_dir))
    else:
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


@pytest.fixture(scope='session', autouse=True)
def preloaded_python_server():
    """Stops the server of :data:`PRELOADED` at the session's end."""
    yield PRELOADED
    PRELOADED.close()


def pytest_terminal_summary(terminalreporter) -> None:
    if PRELOADED.runs:
        terminalreporter.write_line(
            f'{PRELOADED.runs} tool runs forked from the preloaded '
            'interpreter (tests/preloaded_python.py; PRELOADED_PYTHON=0 '
            'starts each afresh)')


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


class SampleFits:
    """Trains sample configs (`configs/demo/`, their full schedules, a few CPU
    minutes each) once per test session, the declared ones (``configs``) in
    their order, in the background from the session's start.

    The tests that need a trained model run last
    (:func:`pytest_collection_finish`), so the other tests keep one core while
    a training takes the other: a background training runs on one thread (at
    the tests' priority: the trainings, not the other tests, take longest).
    Once a test waits for one, the other tests are done, and two trainings run
    side by side, on half the cores each. A config that was not declared is
    trained when asked, in the foreground, on every thread.
    """

    def __init__(self, configs: List[Path], tmp_path_factory) -> None:
        self._tmp_path_factory = tmp_path_factory
        self._waiting = threading.Event()
        # the background trainings running, and whether the run has ended
        # (no training starts after it: _train), changed under the lock
        self._lock = threading.Lock()
        self._running: Set[subprocess.Popen] = set()
        self._closed = False
        # background trainings start in their order, one at a time until a
        # test waits, then two at a time (changed under the condition)
        self._turn = threading.Condition()
        self._started = self._active = 0
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._fits = {
            config: self._pool.submit(self._train_in_turn, index, config)
            for index, config in enumerate(configs)
        }

    def checkpoint(self, config: Path) -> Path:
        """The last checkpoint of ``config`` trained on the sample."""
        if config not in self._fits:
            warnings.warn(f'{config} is trained now, in the foreground: no '
                          'test declared it (sample_fits_of)')
            fit: Future = Future()
            try:
                fit.set_result(self._train(config, False))
            except BaseException as error:  # again for every test asking
                fit.set_exception(error)
            self._fits[config] = fit
        self._waiting.set()
        with self._turn:
            self._turn.notify_all()
        return self._fits[config].result()

    def close(self) -> None:
        """Drop the trainings not started, stop the one running."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._closed = True
            for proc in self._running:
                if proc.poll() is None:
                    proc.kill()
        with self._turn:
            self._turn.notify_all()

    def _train_in_turn(self, index: int, config: Path) -> Path:
        """Background training ``index`` of the declared ones, when its turn
        comes."""
        with self._turn:
            self._turn.wait_for(lambda: self._closed or
                                (self._started == index and self._active <
                                 (2 if self._waiting.is_set() else 1)))
            # (and _train again, under the lock, for a close in between)
            if self._closed:
                raise RuntimeError(f'{config}: not trained, the run ended')
            self._started += 1
            self._active += 1
        try:
            return self._train(config, True)
        finally:
            with self._turn:
                self._active -= 1
                self._turn.notify_all()

    def _train(self, config: Path, background: bool) -> Path:
        work_dir = self._tmp_path_factory.mktemp(config.stem)
        cmd = [
            sys.executable, 'tools/train.py',
            str(config), '--work-dir',
            str(work_dir), '--no-validate'
        ]
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        if background:
            # one core while other tests run; half the cores each, two side by
            # side, once a test waits (one each on 2 cores)
            threads = str(
                max(1, (os.cpu_count() or 2) //
                    2) if self._waiting.is_set() else 1)
            env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        log = work_dir / 'train.log'
        with open(log, 'w') as out, self._lock:
            if background and self._closed:
                raise RuntimeError(f'{config}: not trained, the run ended')
            proc = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT)
            if background:
                self._running.add(proc)
        try:
            code = proc.wait(timeout=1800)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = 'a timeout of 1800 s'
        finally:
            with self._lock:
                self._running.discard(proc)
        if code != 0:
            raise RuntimeError(f'{" ".join(cmd)} exited with {code}\n'
                               f'--- output ---\n{log.read_text()[-6000:]}')
        return Path((work_dir / 'last_checkpoint').read_text().strip())


SAMPLE_FITS = pytest.StashKey[List[Path]]()


def sample_fits_of(item: pytest.Item) -> List[Path]:
    """The sample configs test ``item`` trains: the `make demo` model's for
    ``sample_checkpoint``, its ``model`` parameter's (a key of
    :data:`SAMPLE_CONFIGS`), those of its ``sample_models`` marker."""
    names = [
        name for marker in item.iter_markers('sample_models')
        for name in marker.args
    ]
    params = getattr(item, 'callspec', None)
    if params is not None and params.params.get('model') in SAMPLE_CONFIGS:
        names.append(params.params['model'])
    configs = [REPO_ROOT / SAMPLE_CONFIGS[name] for name in names]
    if 'sample_checkpoint' in item.fixturenames:
        configs.insert(0, DEMO_CONFIG)
    return configs


@pytest.hookimpl(tryfirst=True)  # before the listing of --collect-only
def pytest_collection_finish(session: pytest.Session) -> None:
    """The tests that train a sample model run last, and the configs they
    declare (:func:`sample_fits_of`) train in the background meanwhile
    (:class:`SampleFits`), in the order they are first needed.

    Here, after every ``pytest_collection_modifyitems`` (``-m``, ``-k``,
    ``--lf`` and ``--ff`` among them) has chosen and ordered the tests.
    """
    training = [
        item for item in session.items
        if 'train_on_sample' in getattr(item, 'fixturenames', ())
    ]
    chosen = set(training)
    session.items[:] = [item for item in session.items if item not in chosen
                        ] + training
    fits = [cfg for item in training for cfg in sample_fits_of(item)]
    session.config.stash[SAMPLE_FITS] = list(dict.fromkeys(fits))


@pytest.fixture(scope='session', autouse=True)
def sample_fits(request, tmp_path_factory):
    """The session's :class:`SampleFits`, started with its first test."""
    tmp_path_factory.getbasetemp()  # made here, not by two threads at once
    fits = SampleFits(
        request.config.stash.get(SAMPLE_FITS, []), tmp_path_factory)
    yield fits
    fits.close()


@pytest.fixture(scope='session')
def train_on_sample(sample_fits):
    """``train_on_sample(config) -> checkpoint``: a sample config (`configs/
    demo/`) trained with its full schedule, once per test session."""
    return sample_fits.checkpoint


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
