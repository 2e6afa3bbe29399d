# Copyright (c) OpenMMLab. All rights reserved.
"""Cluster launchers on one machine: two torchrun "nodes" on the loopback
interface training one sample config together (and one of them dying), and
``tools/slurm_train.sh`` / ``slurm_test.sh`` run through a fake ``srun``
(``tests/plugins/fake_srun.py``).

Every process trains on the CPU with gloo.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch

from custom_modules.utils import latest_checkpoint
from conftest import REPO_ROOT, free_port, run_command
from test_tools.test_dist_train import FAMILIES, comparison_config, losses

pytestmark = pytest.mark.e2e

PLUGINS = str(REPO_ROOT / 'tests/plugins')
# 3 iterations an epoch; two processes equal one to 1e-5
CONFIG, _, RTOL = FAMILIES['topdown']


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """``(config, losses)``: the deterministic top-down sample config, and the
    losses of its 6 iterations (2 epochs of batch 4) in a single process."""
    tmp = tmp_path_factory.mktemp('cluster')
    config = comparison_config('topdown', tmp)
    run_command([
        sys.executable, 'tools/train.py',
        str(config), '--work-dir',
        str(tmp / 'single'), '--cfg-options', 'train_cfg.max_epochs=2'
    ],
                env=dict(PYTHONPATH=PLUGINS))
    return config, losses(tmp / 'single', 0)


def start_node(config: Path, work_dir: Path, node_rank: int, port: int,
               *options: str) -> subprocess.Popen:
    """``tools/dist_train.sh CONFIG 1`` as node ``node_rank`` of 2 on
    127.0.0.1, batch 2 per process; output in ``work_dir.log``."""
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PYTHONUNBUFFERED='1',
        PYTHONPATH=PLUGINS,
        NNODES='2',
        NODE_RANK=str(node_rank),
        MASTER_ADDR='127.0.0.1',
        PORT=str(port))
    log = open(f'{work_dir}.log', 'w')
    return subprocess.Popen([
        'bash', 'tools/dist_train.sh',
        str(config), '1', '--work-dir',
        str(work_dir), '--cfg-options', 'train_dataloader.batch_size=2',
        *options
    ],
                            cwd=REPO_ROOT,
                            env=env,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill_node(node: subprocess.Popen) -> None:
    """SIGKILL a node's processes at once: the launcher, the torchrun agent and
    its workers (which torchrun starts in sessions of their own), as a node
    that goes down loses them."""
    parents = {}
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [node.pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += parents.get(pid, [])
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_all(nodes: List[subprocess.Popen], timeout: float) -> List[int]:
    deadline = time.monotonic() + timeout
    try:
        return [
            node.wait(max(1, deadline - time.monotonic())) for node in nodes
        ]
    finally:
        for node in nodes:
            kill_node(node)


def test_two_nodes_on_loopback_train_as_one_process_and_one_node_resumes(
        reference, tmp_path):
    config, single = reference
    port = free_port()
    # apart, to see who writes what
    work_dirs = [tmp_path / 'node0', tmp_path / 'node1']
    codes = wait_all(
        [start_node(config, work_dirs[rank], rank, port) for rank in (0, 1)],
        300)
    assert codes == [0, 0], [
        Path(f'{d}.log').read_text()[-3000:] for d in work_dirs
    ]
    together = np.mean([losses(work_dirs[rank], rank) for rank in (0, 1)],
                       axis=0)
    assert len(together) == 3
    np.testing.assert_allclose(together, single[:3], rtol=RTOL)
    log = next(work_dirs[0].glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log and ("dist_cfg: {'backend': "
                                                    "'gloo'}") in log
    # only rank 0 writes checkpoints
    assert [p.name for p in work_dirs[0].glob('*.pth')] == ['epoch_1.pth']
    assert not list(work_dirs[1].glob('*.pth'))

    # the run goes on as a single process (batch 4) from the checkpoint of the
    # two nodes
    run_command([
        sys.executable, 'tools/train.py',
        str(config), '--work-dir',
        str(work_dirs[0]), '--resume', '--cfg-options',
        'train_cfg.max_epochs=2'
    ],
                env=dict(PYTHONPATH=PLUGINS))
    assert 'resumed epoch: 1, iter: 3' in sorted(
        work_dirs[0].glob('*/*.log'))[-1].read_text()
    # rank 0's file: its 3 iterations, then the resumed
    resumed = losses(work_dirs[0], 0)[3:]
    np.testing.assert_allclose(resumed, single[3:], rtol=1e-4)
    ckpt = torch.load(
        work_dirs[0] / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 6


def test_a_node_that_dies_stops_the_other_with_a_message_and_the_run_resumes(
        reference, tmp_path):
    config, _ = reference
    port = free_port()
    work_dirs = [tmp_path / 'node0', tmp_path / 'node1']
    long_run = [
        'train_cfg.max_epochs=30', 'default_hooks.checkpoint.interval=1',
        'env_cfg.dist_cfg.timeout=120'
    ]
    nodes = [
        start_node(config, work_dirs[rank], rank, port, *long_run)
        for rank in (0, 1)
    ]
    try:
        # wait until node 1 is at iteration 5: node 0 has written epoch_1.pth
        # by then
        rank1_losses = work_dirs[1] / 'losses_rank1.jsonl'
        deadline = time.monotonic() + 300
        while not (rank1_losses.is_file()
                   and len(rank1_losses.read_text().splitlines()) >= 5):
            alive_in_time = (
                time.monotonic() < deadline
                and all(n.poll() is None for n in nodes))
            assert alive_in_time, [
                Path(f'{d}.log').read_text()[-3000:] for d in work_dirs
            ]
            time.sleep(0.05)
        kill_node(nodes[1])
        killed_at = time.monotonic()
        code = nodes[0].wait(timeout=120)
        stopped_after = time.monotonic() - killed_at
    finally:
        for node in nodes:
            kill_node(node)
    output = Path(f'{work_dirs[0]}.log').read_text()
    print(
        f'node 0 stopped {stopped_after:.1f} s after node 1 was killed, with '
        f'exit code {code}')
    assert code != 0
    peer_lost = ('PeerLostError: rank 0 of 2: another process of this job '
                 'stopped')
    assert peer_lost in output, output[-4000:]
    last = latest_checkpoint(str(work_dirs[0]))
    assert (last is not None
            and f'The last complete checkpoint is {last}' in output)
    epoch = torch.load(
        last, map_location='cpu', weights_only=False)['meta']['epoch']
    assert epoch >= 1

    run_command([
        sys.executable, 'tools/train.py',
        str(config), '--work-dir',
        str(work_dirs[0]), '--resume', '--cfg-options',
        f'train_cfg.max_epochs={epoch + 1}'
    ],
                env=dict(PYTHONPATH=PLUGINS))
    log = sorted(work_dirs[0].glob('*/*.log'))[-1].read_text()
    assert f'resumed epoch: {epoch}, iter: {3 * epoch}' in log
    assert torch.load(
        work_dirs[0] / f'epoch_{epoch + 1}.pth',
        map_location='cpu',
        weights_only=False)['meta']['iter'] == 3 * (
            epoch + 1)


@pytest.fixture
def fake_slurm(tmp_path):
    """Environment with a fake ``srun`` first on ``PATH``; its calls go to
    ``srun.jsonl``."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{PLUGINS}/fake_srun.py" "$@"\n')
    srun.chmod(0o755)
    return dict(
        PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
        PYTHONPATH=PLUGINS,
        FAKE_SRUN_LOG=str(tmp_path / 'srun.jsonl'),
        MASTER_PORT=str(free_port()))


def srun_calls(env: dict) -> List[dict]:
    return [
        json.loads(line)
        for line in Path(env['FAKE_SRUN_LOG']).read_text().splitlines()
    ]


def test_slurm_train_and_test_scripts_run_their_tasks_through_srun(
        reference, fake_slurm, tmp_path):
    config, single = reference
    work_dir = tmp_path / 'slurm'
    env = dict(
        fake_slurm,
        GPUS='2',
        GPUS_PER_NODE='1',
        CPUS_PER_TASK='1',
        SRUN_ARGS='--quotatype=auto --time=10')
    run_command([
        'bash', 'tools/slurm_train.sh', 'cpu', 'pose-train',
        str(config),
        str(work_dir), '--cfg-options', 'train_dataloader.batch_size=2'
    ],
                env=env)
    call = srun_calls(env)[0]
    assert call['options'] == {
        'partition': 'cpu',
        'job-name': 'pose-train',
        'gres': 'gpu:1',
        'ntasks': '2',
        'ntasks-per-node': '1',
        'cpus-per-task': '1',
        'kill-on-bad-exit': '1',
        'quotatype': 'auto',
        'time': '10'
    }
    assert call['command'][1:] == [
        '-u',
        str(REPO_ROOT / 'tools/train.py'),
        str(config), f'--work-dir={work_dir}', '--launcher=slurm',
        '--cfg-options', 'train_dataloader.batch_size=2'
    ]
    # two tasks, one per fake node, trained as one process with the whole batch
    together = np.mean([losses(work_dir, rank) for rank in (0, 1)], axis=0)
    np.testing.assert_allclose(together, single[:3], rtol=RTOL)
    log = next(work_dir.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log and ("dist_cfg: {'backend': "
                                                    "'gloo'}") in log
    checkpoint = work_dir / 'epoch_1.pth'
    assert [p.name for p in work_dir.glob('*.pth')] == [checkpoint.name]

    metrics = {}
    for name, launcher in (('single', [
            sys.executable, 'tools/test.py'
    ]), ('slurm', ['bash', 'tools/slurm_test.sh', 'cpu', 'pose-test'])):
        out = tmp_path / f'{name}.json'
        run_command([
            *launcher,
            str(config),
            str(checkpoint), '--work-dir',
            str(tmp_path / name), '--out',
            str(out)
        ],
                    env=env)
        metrics[name] = json.loads(out.read_text())
    assert srun_calls(env)[1]['options']['job-name'] == 'pose-test'
    assert metrics['slurm']['coco/AP'] == pytest.approx(
        metrics['single']['coco/AP'], abs=1e-9)
    assert set(metrics['slurm']) == set(metrics['single'])


def test_slurm_scripts_explain_their_arguments():
    for script, last in (('slurm_train.sh', 'WORK_DIR'), ('slurm_test.sh',
                                                          'CHECKPOINT')):
        proc = run_command(
            ['bash', f'tools/{script}', 'cpu', 'job', 'config.py'],
            check=False)
        assert proc.returncode == 2
        usage = f'usage: tools/{script} PARTITION JOB_NAME CONFIG {last}'
        assert usage in proc.stderr


@pytest.fixture
def recording_srun(tmp_path):
    """Environment with an ``srun`` that only records its arguments (one per
    line) and exits."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    record = tmp_path / 'srun_args.txt'
    srun.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{record}"\n')
    srun.chmod(0o755)
    return dict(PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}'), record


def srun_options(record: Path) -> List[str]:
    args = record.read_text().splitlines()
    return args[:next(i for i, a in enumerate(args) if not a.startswith('--'))]


def test_slurm_srun_requests_gpus_only_on_gpu_nodes(recording_srun):
    env, record = recording_srun
    run_command([
        'bash', 'tools/misc/slurm_srun.sh', 'gpu', 'job', 'train.py', 'cfg.py'
    ],
                env=dict(env, GPUS='16', GPUS_PER_NODE='8'))
    options = srun_options(record)
    assert '--gres=gpu:8' in options and '--ntasks-per-node=8' in options
    # CPU nodes: no GPU requested (Slurm refuses --gres=gpu on nodes without
    # GPUs)
    run_command([
        'bash', 'tools/misc/slurm_srun.sh', 'cpu', 'job', 'train.py', 'cfg.py'
    ],
                env=dict(env, GPUS='4', GPUS_PER_NODE='0', TASKS_PER_NODE='2'))
    options = srun_options(record)
    assert not any(o.startswith('--gres') for o in options)
    assert '--ntasks=4' in options and '--ntasks-per-node=2' in options


def test_slurm_srun_expands_arrays_as_bash_4_2_allows():
    """bash < 4.4 (RHEL/CentOS 7's 4.2) treats ``"${a[@]}"`` of an empty array
    as an unbound variable under ``set -u``: every array the script may leave
    empty (``SRUN_ARGS`` unset) is expanded as ``${a[@]+"${a[@]}"}``."""
    script = (REPO_ROOT / 'tools/misc/slurm_srun.sh').read_text()
    code = '\n'.join(line for line in script.splitlines()
                     if not line.lstrip().startswith('#'))
    assert 'set -euo pipefail' in code
    guarded = re.findall(r'\$\{(\w+)\[@\]\+"\$\{\1\[@\]\}"\}', code)
    bare = [name for name in re.findall(r'(?<!\+)"\$\{(\w+)\[@\]\}"', code)]
    assert 'srun_args' in guarded
    assert set(bare) <= {'node_args'
                         }, f'arrays expanded without a guard: {bare}'
