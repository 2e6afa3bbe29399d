# Copyright (c) OpenMMLab. All rights reserved.
"""Faults for the tests, injected into ``tools/train.py`` through the config's
``custom_imports``.

They are loaded with ``--cfg-options
"custom_imports.imports=[custom_modules,fault_injection]"``, this folder on
``PYTHONPATH``. Each is switched on by an environment variable:

- ``FAULT_KILL_AFTER_ITER=N``: SIGKILL the process right after training
  iteration N;
- ``FAULT_KILL_WRITING=NAME``: SIGKILL the process while it writes the file
  ``NAME`` (its ``.part`` file cut to half its bytes, before the rename that
  would complete it).
"""
import os
import signal

from mmengine.runner.loops import EpochBasedTrainLoop


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if 'FAULT_KILL_AFTER_ITER' in os.environ:
    _kill_after = int(os.environ['FAULT_KILL_AFTER_ITER'])
    _run_iter = EpochBasedTrainLoop.run_iter

    def run_iter(self, idx, data_batch) -> None:
        _run_iter(self, idx, data_batch)
        if self.runner.iter == _kill_after:
            _kill()

    EpochBasedTrainLoop.run_iter = run_iter

if 'FAULT_KILL_WRITING' in os.environ:
    _target = os.environ['FAULT_KILL_WRITING'] + '.part'
    _fsync = os.fsync

    def fsync(fd) -> None:
        if os.readlink(f'/proc/self/fd/{fd}').endswith(_target):
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
            _kill()
        _fsync(fd)

    os.fsync = fsync
