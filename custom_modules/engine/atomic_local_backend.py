# Copyright (c) OpenMMLab. All rights reserved.
"""A local file backend whose writes are all or nothing, for checkpoints."""
import os
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend``; a file it writes appears complete or not at
    all.

    ``put`` / ``put_text`` write ``<name>.part``, flush it to disk (``fsync``)
    and rename it to ``<name>`` (``os.replace``, atomic on POSIX file systems),
    then flush the folder, so that the rename too survives a power loss.
    A process killed while writing leaves at most a ``.part`` file, which no
    loader takes for a checkpoint, and the next write of the same name replaces
    it. Registered as ``'atomic_local'``; checkpoints use it with::

        default_hooks = dict(
            checkpoint=dict(backend_args=dict(backend='atomic_local')))
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        filepath = Path(filepath)
        filepath.parent.mkdir(parents=True, exist_ok=True)
        part = filepath.with_name(filepath.name + '.part')
        with open(part, 'wb') as f:
            f.write(obj)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, filepath)
        _fsync_folder(filepath.parent)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk, where the system
    allows opening a folder (not Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # file systems that cannot flush a folder
        pass
    finally:
        os.close(fd)


register_backend('atomic_local', AtomicLocalBackend)
