"""Multi-process training and testing on machines without a GPU.

mmengine 0.10.7 assumes CUDA when launched with ``--launcher pytorch``: ``init_dist`` calls
``torch.cuda.set_device(LOCAL_RANK)`` ("Found no NVIDIA driver") and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to ``DistributedDataParallel``, which only CUDA modules accept.
:func:`setup_cpu_distributed` prepares a config so that the same ``tools/dist_train.sh CONFIG N``
command runs N CPU processes with the gloo backend instead.
"""
from datetime import timedelta

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config) -> bool:
    """Initialise a gloo process group and a CPU ``DistributedDataParallel`` wrapper.

    Does nothing (returns ``False``) with ``launcher='none'`` or where CUDA is available. For
    ``torchrun`` (``cfg.launcher == 'pytorch'``) on a machine without CUDA it

    - sets ``env_cfg.dist_cfg.backend = 'gloo'`` and initialises the process group from the
      ``torchrun`` environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``), so the
      Runner finds it initialised and skips mmengine's CUDA-only ``init_dist``;
    - sets ``model_wrapper_cfg.device_ids = None`` (keeping any other wrapper settings), the value
      ``DistributedDataParallel`` wants for a CPU module.

    Args:
        cfg (Config): The full runner config; modified in place.

    Returns:
        bool: Whether the config was switched to CPU multi-process mode.

    Raises:
        RuntimeError: For the ``slurm`` and ``mpi`` launchers without CUDA, which mmengine
            initialises with ``torch.cuda.set_device`` only.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} needs GPUs (mmengine initialises it with CUDA); '
                           'without a GPU use tools/dist_train.sh / dist_test.sh (--launcher pytorch)')
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = dict(env_cfg.get('dist_cfg', {}), backend='gloo')
    env_cfg['dist_cfg'] = dist_cfg
    if not torch_dist.is_initialized():
        kwargs = {}
        if dist_cfg.get('timeout') is not None:
            kwargs['timeout'] = timedelta(seconds=dist_cfg['timeout'])
        torch_dist.init_process_group(backend='gloo', **kwargs)
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def destroy_distributed() -> None:
    """Wait for every process, then destroy the default process group (if any).

    mmengine leaves the group alive at the end of a run. With gloo, a process that exits with the
    group alive can abort in its communication threads ("terminate called without an active
    exception", SIGABRT), which torchrun reports as a failed run after the work is done.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
