# Copyright (c) OpenMMLab. All rights reserved.
"""A stand-in for Slurm's ``srun`` on a machine without Slurm, for the launcher
tests.

The tests put an executable ``srun`` that runs this file first on ``PATH``.
Like ``srun`` it reads its options (``--ntasks``, ``--ntasks-per-node``,
``--job-name``, ``--cpus-per-task``, ``--kill-on-bad-exit``; the others are
recorded and ignored) up to the command, and starts the command ``--ntasks``
times with the variables a Slurm task has: ``SLURM_PROCID`` (0..N-1),
``SLURM_NTASKS``, ``SLURM_LOCALID`` and ``SLURM_NODEID`` (tasks fill nodes of
``--ntasks-per-node``), ``SLURM_NNODES``, ``SLURM_NODELIST`` /
``SLURM_JOB_NODELIST`` (``FAKE_SRUN_NODELIST``, default ``localhost``: every
"node" is this machine), ``SLURM_JOB_NAME``, ``SLURM_CPUS_PER_TASK``. With
``--kill-on-bad-exit=1`` the first task that fails ends the others. Its exit
status is the worst of the tasks'.

``FAKE_SRUN_LOG``: a file to which each call appends one JSON line with its
options and command.
"""
import json
import os
import subprocess
import sys
import time
from typing import Dict, List, Tuple


def parse(argv: List[str]) -> Tuple[Dict[str, str], List[str]]:
    """``(options, command)``: the leading ``--name=value`` / ``--flag``
    arguments, and the rest."""
    options = {}
    while argv and argv[0].startswith('-'):
        name, _, value = argv.pop(0).lstrip('-').partition('=')
        options[name] = value
    return options, argv


def main() -> int:
    options, command = parse(sys.argv[1:])
    if not command:
        print('srun: no command given', file=sys.stderr)
        return 2
    if os.environ.get('FAKE_SRUN_LOG'):
        with open(os.environ['FAKE_SRUN_LOG'], 'a') as log:
            log.write(
                json.dumps(dict(options=options, command=command)) + '\n')
    ntasks = int(options.get('ntasks', 1))
    per_node = int(options.get('ntasks-per-node', ntasks))
    nodelist = os.environ.get('FAKE_SRUN_NODELIST', 'localhost')
    tasks = []
    for rank in range(ntasks):
        env = dict(
            os.environ,
            SLURM_JOB_ID='1',
            SLURM_PROCID=str(rank),
            SLURM_NTASKS=str(ntasks),
            SLURM_LOCALID=str(rank % per_node),
            SLURM_NODEID=str(rank // per_node),
            SLURM_NNODES=str(-(-ntasks // per_node)),
            SLURM_NODELIST=nodelist,
            SLURM_JOB_NODELIST=nodelist,
            SLURM_JOB_NAME=options.get('job-name', ''),
            SLURM_CPUS_PER_TASK=options.get('cpus-per-task', '1'))
        tasks.append(subprocess.Popen(command, env=env))
    kill_on_bad_exit = options.get('kill-on-bad-exit') == '1'
    while any(task.poll() is None for task in tasks):
        if kill_on_bad_exit and any(
                task.returncode not in (None, 0) for task in tasks):
            for task in tasks:
                if task.poll() is None:
                    task.kill()
        time.sleep(0.1)
    return max(abs(task.returncode) for task in tasks)


if __name__ == '__main__':
    sys.exit(main())
