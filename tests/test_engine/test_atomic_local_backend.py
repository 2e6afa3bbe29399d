# Copyright (c) OpenMMLab. All rights reserved.
"""The ``atomic_local`` backend writes a file whole: its data and then the
rename are flushed to disk, and no ``.part`` file is left."""
import os
from pathlib import Path

from custom_modules.engine.atomic_local_backend import AtomicLocalBackend


def test_the_data_then_the_folder_are_flushed(tmp_path, monkeypatch):
    flushed = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(Path(os.readlink(f'/proc/self/fd/{fd}')))
        real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', fsync)
    target = tmp_path / 'work' / 'epoch_1.pth'
    AtomicLocalBackend().put(b'weights', target)
    assert target.read_bytes() == b'weights'
    assert flushed == [target.with_name('epoch_1.pth.part'), target.parent]
    assert sorted(p.name for p in target.parent.iterdir()) == ['epoch_1.pth']
