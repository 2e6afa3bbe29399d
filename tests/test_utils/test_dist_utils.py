"""``setup_cpu_distributed`` turns a torchrun launch on a CPU machine into a gloo / CPU-DDP run."""
import subprocess
import sys
import textwrap

import torch
from mmengine.config import Config

from custom_modules.utils import setup_cpu_distributed


def test_single_process_configs_are_left_alone():
    cfg = Config(dict(launcher='none', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg) is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


def test_slurm_and_mpi_without_gpu_are_refused_with_the_way_out():
    if torch.cuda.is_available():
        return
    import pytest
    for launcher in ('slurm', 'mpi'):
        with pytest.raises(RuntimeError, match='dist_train.sh'):
            setup_cpu_distributed(Config(dict(launcher=launcher)))


def test_torchrun_launch_without_gpu_uses_gloo_and_cpu_ddp():
    """In a fresh interpreter with torchrun's environment for a world of one process."""
    if torch.cuda.is_available():
        # On a GPU machine the config must stay as mmengine expects it (NCCL, device_ids).
        cfg = Config(dict(launcher='pytorch'))
        assert setup_cpu_distributed(cfg) is False
        return
    code = '''
    import os, socket
    import torch.distributed as dist
    from mmengine.config import Config
    from custom_modules.utils import setup_cpu_distributed
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                      MASTER_PORT=str(port))
    cfg = Config(dict(launcher='pytorch', find_unused_parameters=True,
                      env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60)),
                      model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                                             broadcast_buffers=True)))
    assert setup_cpu_distributed(cfg) is True
    assert dist.is_initialized() and dist.get_backend() == 'gloo'
    assert cfg.env_cfg.dist_cfg == dict(backend='gloo', timeout=60)
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel', broadcast_buffers=True,
                                         find_unused_parameters=True, device_ids=None)
    from custom_modules.utils import destroy_distributed
    destroy_distributed()
    assert not dist.is_initialized()
    print('OK')
    '''
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'OK' in proc.stdout
