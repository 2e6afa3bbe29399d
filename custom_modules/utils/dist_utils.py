# Copyright (c) OpenMMLab. All rights reserved.
"""Multi-process training and testing on machines without a GPU.

mmengine 0.10.7 assumes CUDA when launched with ``--launcher pytorch``:
``init_dist`` calls ``torch.cuda.set_device(LOCAL_RANK)`` ("Found no NVIDIA
driver") and ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to
``DistributedDataParallel``, which only CUDA modules accept.
:func:`setup_cpu_distributed` prepares a config so that the same
``tools/dist_train.sh CONFIG N`` command runs N CPU processes with the gloo
backend instead. ``--launcher slurm`` (mmengine reads Slurm's task variables,
then also calls ``torch.cuda.set_device``) gets the same treatment from the
Slurm environment (:func:`slurm_to_torch_environment`), so
``tools/slurm_train.sh`` works on CPU nodes.
"""
import gc
import os
import re
import shutil
import subprocess
from contextlib import contextmanager
from datetime import timedelta
from typing import Dict, Iterator, Mapping, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from .runner_cli import latest_checkpoint

# What gloo and NCCL report when the other end of a collective is gone: its
# sockets closed (a process killed, a node down), or no answer within
# `env_cfg.dist_cfg.timeout` (gloo: "Timed out waiting 1800000ms for recv
# operation to complete"; NCCL's watchdog: "collective operation timeout").
# Other time-outs (a data loader's "DataLoader timed out after 60 seconds") are
# not.
_PEER_LOST = re.compile(
    r'Connection closed by peer|Connection reset by peer|Broken pipe|'
    r'Timed out waiting \d+ ?ms for (?:recv|send)|collective operation '
    r'timeout|remote process exited|NCCL communicator was aborted')


class PeerLostError(RuntimeError):
    """Another process of a distributed job stopped, so this one cannot go
    on."""


def first_slurm_host(nodelist: str) -> str:
    """The first host name of a Slurm node list (``SLURM_NODELIST``), as
    ``scontrol show hostnames NODELIST | head -n1`` gives it:
    ``'node[07-09,12],gpu3'`` -> ``'node07'``, ``'rack[1-2]-n[3-4]'`` ->
    ``'rack1-n3'``. Uses ``scontrol`` where Slurm is installed, and reads the
    list itself elsewhere.

    Raises:
        ValueError: For an empty or unbalanced list, naming ``SLURM_NODELIST``.
    """
    if shutil.which('scontrol'):
        hosts = subprocess.run(['scontrol', 'show', 'hostnames', nodelist],
                               capture_output=True,
                               text=True,
                               check=True).stdout.split()
        if hosts:
            return hosts[0]
    nodelist = nodelist.strip()
    # the first item: names and bracketed ranges, up to a comma outside the
    # brackets
    first = re.match(r'(?:[^,\[\]]|\[[^\[\]]+\])*', nodelist).group(0)
    if not first or nodelist[len(first):len(first) + 1] not in ('', ','):
        raise ValueError(
            f'SLURM_NODELIST={nodelist!r} is not a Slurm node list')
    # each bracket holds ranges and single numbers: its first value keeps its
    # zero padding
    return re.sub(r'\[([^\]]*)\]',
                  lambda m: m.group(1).split(',')[0].split('-')[0], first)


def slurm_to_torch_environment(slurm_env: Mapping[str, str],
                               port: Optional[int] = None) -> Dict[str, str]:
    """The variables ``torch.distributed``'s ``env://`` initialisation reads
    (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
    ``MASTER_PORT``) of one Slurm task.

    Taken as mmengine's Slurm launcher takes them: the rank and world size from
    ``SLURM_PROCID`` / ``SLURM_NTASKS``, the master ``MASTER_ADDR`` if set,
    else the first host of ``SLURM_NODELIST``, the port from ``port``
    (``env_cfg.dist_cfg.port``), else ``MASTER_PORT``, else 29500; the local
    rank is ``SLURM_LOCALID`` (the task's index on its node).

    Raises:
        KeyError: Naming the Slurm variables that are missing (not started by
            ``srun``).
    """
    missing = [
        name for name in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
        if name not in slurm_env
    ]
    if missing:
        raise KeyError(
            f'--launcher slurm: {", ".join(missing)} not set; start the job '
            'with srun (tools/slurm_train.sh), or use tools/dist_train.sh '
            '(--launcher pytorch)')
    return dict(
        RANK=slurm_env['SLURM_PROCID'],
        WORLD_SIZE=slurm_env['SLURM_NTASKS'],
        LOCAL_RANK=slurm_env.get('SLURM_LOCALID', '0'),
        MASTER_ADDR=slurm_env.get('MASTER_ADDR')
        or first_slurm_host(slurm_env['SLURM_NODELIST']),
        MASTER_PORT=str(port or slurm_env.get('MASTER_PORT', 29500)))


def setup_cpu_distributed(cfg: Config) -> bool:
    """Initialise a gloo process group and a CPU ``DistributedDataParallel``
    wrapper.

    Does nothing (returns ``False``) with ``launcher='none'`` or where CUDA is
    available. For ``torchrun`` (``cfg.launcher == 'pytorch'``) or ``srun``
    (``'slurm'``) on a machine without CUDA it

    - sets ``env_cfg.dist_cfg.backend = 'gloo'`` and initialises the process
      group from the ``torchrun`` environment (``RANK``, ``WORLD_SIZE``,
      ``MASTER_ADDR``, ``MASTER_PORT``; under Slurm, first written into
      ``os.environ`` by :func:`slurm_to_torch_environment`), so the Runner
      finds it initialised and skips mmengine's CUDA-only ``init_dist``;
    - sets ``model_wrapper_cfg.device_ids = None`` (keeping any other wrapper
      settings), the value ``DistributedDataParallel`` wants for a CPU module.

    Args:
        cfg (Config): The full runner config; modified in place.

    Returns:
        bool: Whether the config was switched to CPU multi-process mode.

    Raises:
        RuntimeError: For the ``mpi`` launcher without CUDA, which mmengine
            initialises with ``torch.cuda.set_device`` only.
        KeyError: For ``slurm`` outside a Slurm task (see
            :func:`slurm_to_torch_environment`).
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher not in ('pytorch', 'slurm'):
        raise RuntimeError(
            f'--launcher {launcher} needs GPUs (mmengine initialises it with '
            'CUDA); without a GPU use tools/dist_train.sh / dist_test.sh '
            '(--launcher pytorch) or tools/slurm_train.sh / slurm_test.sh '
            '(--launcher slurm)')
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = dict(env_cfg.get('dist_cfg', {}), backend='gloo')
    env_cfg['dist_cfg'] = dist_cfg
    if launcher == 'slurm':
        os.environ.update(
            slurm_to_torch_environment(os.environ, dist_cfg.get('port')))
    if not torch_dist.is_initialized():
        kwargs = {}
        if dist_cfg.get('timeout') is not None:
            kwargs['timeout'] = timedelta(seconds=dist_cfg['timeout'])
        torch_dist.init_process_group(backend='gloo', **kwargs)
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def destroy_distributed() -> None:
    """Wait for every process, then destroy the default process group (if any).

    mmengine leaves the group alive at the end of a run. With gloo, a process
    that exits with the group alive can abort in its communication threads
    ("terminate called without an active exception", SIGABRT), which torchrun
    reports as a failed run after the work is done. The caller drops its
    ``Runner`` first: the ``DistributedDataParallel`` wrapper holds the group,
    and the garbage collection here frees it (the runner's objects refer to
    each other), so that the group is torn down now, with every thread alive,
    not by the interpreter's exit.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        gc.collect()
        torch_dist.barrier()
        torch_dist.destroy_process_group()


@contextmanager
def explain_lost_peers(work_dir: str) -> Iterator[None]:
    """Turn the communication error that a process of a distributed run gets
    when another process or node of the job dies into a :class:`PeerLostError`
    saying what happened, which complete checkpoint is left and how to continue
    (``--resume``).

    Other errors, and errors outside a distributed run, pass unchanged.
    """
    try:
        yield
    # torch.distributed's DistError and its kinds are RuntimeErrors
    except RuntimeError as err:
        if not (torch_dist.is_available() and torch_dist.is_initialized()
                and _PEER_LOST.search(str(err))):
            raise
        rank, world_size = torch_dist.get_rank(), torch_dist.get_world_size()
        last = latest_checkpoint(work_dir)
        cause = str(err).strip().splitlines()[0]
        raise PeerLostError(
            f'rank {rank} of {world_size}: another process of this job '
            'stopped (its node went down or it was killed), so this one '
            f'stops too ({cause}). The last complete checkpoint is '
            f'{last or f"none: nothing in {work_dir} to resume from"}; once '
            'every node is back, run the same command with --resume to '
            'continue from it') from err
