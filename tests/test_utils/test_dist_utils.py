# Copyright (c) OpenMMLab. All rights reserved.
"""``setup_cpu_distributed`` turns a torchrun or srun launch on a CPU machine
into a gloo / CPU-DDP run; Slurm's variables become torch's; a lost peer is
explained."""
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.config import Config

from custom_modules.utils import (PeerLostError, explain_lost_peers,
                                  first_slurm_host, setup_cpu_distributed,
                                  slurm_to_torch_environment)


def test_single_process_configs_are_left_alone():
    cfg = Config(
        dict(launcher='none', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg) is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


@pytest.fixture
def no_cuda(monkeypatch):
    """This process sees no CUDA device, on a GPU machine too."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)


# the child interpreters of the launch tests see no CUDA device either
HIDE_CUDA = 'import torch; torch.cuda.is_available = lambda: False\n'


def test_mpi_without_gpu_is_refused_with_the_way_out(no_cuda):
    with pytest.raises(RuntimeError, match='dist_train.sh.*slurm_train.sh'):
        setup_cpu_distributed(Config(dict(launcher='mpi')))


def test_slurm_outside_a_slurm_task_names_the_missing_variables(
        monkeypatch, no_cuda):
    for name in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(
            KeyError,
            match='SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST not set'):
        setup_cpu_distributed(Config(dict(launcher='slurm')))


@pytest.mark.parametrize('nodelist, first',
                         [('localhost', 'localhost'), ('gpu3,gpu1', 'gpu3'),
                          ('node[07-09,12]', 'node07'),
                          ('node[12,07-09],gpu3', 'node12'),
                          ('rack[1-2]-n[003-004]', 'rack1-n003'),
                          (' a-b.cluster ', 'a-b.cluster')])
def test_first_host_of_a_slurm_node_list(nodelist, first):
    assert first_slurm_host(nodelist) == first


@pytest.mark.parametrize('nodelist',
                         ['', 'node[1-2', 'node1-2]', 'node[]', ',node1'])
def test_a_bad_slurm_node_list_is_named(nodelist):
    with pytest.raises(
            ValueError, match='SLURM_NODELIST=.* is not a Slurm node list'):
        first_slurm_host(nodelist)


def test_slurm_task_variables_become_torchs():
    task = dict(
        SLURM_PROCID='5',
        SLURM_NTASKS='16',
        SLURM_LOCALID='1',
        SLURM_NODELIST='node[04-05]')
    assert slurm_to_torch_environment(task) == dict(
        RANK='5',
        WORLD_SIZE='16',
        LOCAL_RANK='1',
        MASTER_ADDR='node04',
        MASTER_PORT='29500')
    # the port: env_cfg.dist_cfg.port, else MASTER_PORT, else 29500 (mmengine's
    # order)
    assert slurm_to_torch_environment(dict(
        task, MASTER_PORT='1234'))['MASTER_PORT'] == '1234'
    assert slurm_to_torch_environment(dict(task, MASTER_PORT='1234'),
                                      777)['MASTER_PORT'] == '777'
    # the master: MASTER_ADDR, else the first node (mmengine's order)
    assert slurm_to_torch_environment(dict(
        task, MASTER_ADDR='10.0.0.7'))['MASTER_ADDR'] == '10.0.0.7'


def test_errors_outside_a_lost_peer_pass_unchanged(tmp_path):
    # not distributed: even a message like gloo's stays as it was
    with pytest.raises(RuntimeError, match='^Connection closed by peer$'):
        with explain_lost_peers(str(tmp_path)):
            raise RuntimeError('Connection closed by peer')
    with pytest.raises(ValueError, match='^other$'):
        with explain_lost_peers(str(tmp_path)):
            raise ValueError('other')


@pytest.fixture
def one_process_group(tmp_path):
    """A gloo process group of one process, as a distributed run has (destroyed
    after)."""
    import torch.distributed as dist
    dist.init_process_group(
        'gloo',
        init_method=f'file://{tmp_path / "rendezvous"}',
        rank=0,
        world_size=1)
    yield
    dist.destroy_process_group()


@pytest.mark.parametrize('message, lost', [
    ('[gloo/transport/tcp/pair.cc:534] Connection closed by peer '
     '[10.1.1.2]:3551', True),
    ('[gloo/transport/tcp/unbound_buffer.cc:81] Timed out waiting 1800000ms '
     'for recv operation to complete', True),
    ('Watchdog caught collective operation timeout: WorkNCCL(SeqNum=7, '
     'OpType=ALLREDUCE) ran for 600000 milliseconds before timing out.', True),
    ('DataLoader timed out after 60 seconds', False),
    ('Timed out while reading the image list from the NFS share', False)
])
def test_only_a_lost_peer_becomes_peer_lost_error(one_process_group, tmp_path,
                                                  message, lost):
    """In a distributed run, the messages of gloo and NCCL about a peer that is
    gone become a PeerLostError; other errors that say "timed out" (a data
    loader's) pass unchanged."""
    expected = PeerLostError if lost else RuntimeError
    with pytest.raises(expected) as info:
        with explain_lost_peers(str(tmp_path)):
            raise RuntimeError(message)
    assert isinstance(info.value, PeerLostError) == lost
    if not lost:
        assert str(info.value) == message


@pytest.mark.parametrize('launcher', ['pytorch', 'slurm', 'mpi'])
def test_a_gpu_machine_keeps_mmengines_launch(monkeypatch, launcher):
    """Where CUDA is available (faked here) the config stays as mmengine
    expects it (NCCL, its own wrapper), and no process group is made."""
    import torch.distributed as dist
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config(
        dict(launcher=launcher, env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg) is False
    assert cfg.env_cfg.dist_cfg == dict(backend='nccl')
    assert 'model_wrapper_cfg' not in cfg
    assert not dist.is_initialized()


def test_torchrun_launch_without_gpu_uses_gloo_and_cpu_ddp():
    """In a fresh interpreter (CUDA hidden, so on a GPU machine too) with
    torchrun's environment for a world of one process."""
    code = '''
    import os, socket
    import torch.distributed as dist
    from mmengine.config import Config
    from custom_modules.utils import setup_cpu_distributed
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    cfg = Config(dict(launcher='pytorch', find_unused_parameters=True,
                      env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60)),
                      model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                                             broadcast_buffers=True)))
    assert setup_cpu_distributed(cfg) is True
    assert dist.is_initialized() and dist.get_backend() == 'gloo'
    assert cfg.env_cfg.dist_cfg == dict(backend='gloo', timeout=60)
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel', broadcast_buffers=True,
        find_unused_parameters=True, device_ids=None)
    from custom_modules.utils import destroy_distributed
    destroy_distributed()
    assert not dist.is_initialized()
    print('OK')
    '''
    proc = subprocess.run(
        [sys.executable, '-c', HIDE_CUDA + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'OK' in proc.stdout


def test_srun_launch_without_gpu_uses_gloo_with_slurms_rank():
    """In a fresh interpreter (CUDA hidden, so on a GPU machine too) with the
    variables of task 0 of a one-task Slurm job."""
    code = '''
    import os, socket
    import torch.distributed as dist
    from mmengine.config import Config
    from custom_modules.utils import destroy_distributed, setup_cpu_distributed
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                 'MASTER_PORT'):
        os.environ.pop(name, None)
    os.environ.update(SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_LOCALID='0',
                      SLURM_NODELIST='localhost')
    cfg = Config(dict(launcher='slurm',
                      env_cfg=dict(dist_cfg=dict(backend='nccl', port=port))))
    assert setup_cpu_distributed(cfg) is True
    assert dist.is_initialized() and dist.get_backend() == 'gloo'
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    assert (os.environ['MASTER_ADDR'] == 'localhost'
            and os.environ['MASTER_PORT'] == str(port))
    assert cfg.model_wrapper_cfg.device_ids is None
    destroy_distributed()
    print('OK')
    '''
    proc = subprocess.run(
        [sys.executable, '-c', HIDE_CUDA + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'OK' in proc.stdout
