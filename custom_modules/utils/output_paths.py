# Copyright (c) OpenMMLab. All rights reserved.
"""argparse types for the files and folders a tool writes: a path that cannot
be written (a file where a folder is needed, a folder that is not writable) is
refused with argparse's usage error naming the option (exit status 2) when the
command line is read, before any model is built or inference runs.

Without them the tools found out once the work was done (``FileExistsError``,
``NotADirectoryError``) and lost it. Nothing is created here: missing folders
are made when the tool writes.
"""
import argparse
import os
from pathlib import Path
from typing import Optional


def _unwritable_folder(folder: Path) -> Optional[str]:
    """Why ``folder`` (made where missing) cannot take files, or None: its
    nearest existing ancestor is a file, or is a folder that is not
    writable."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f'{existing} is a file, not a folder'
    if not os.access(existing, os.W_OK | os.X_OK):
        return f'{existing}: folder not writable'
    return None


def output_file(text: str) -> str:
    """An argparse ``type`` for a file a tool writes: refused if it is a folder
    or if its folder cannot be made or written into.

    Returns:
        str: The path, ``~`` expanded (where it is checked is where the tool
        writes).
    """
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f'{text}: is a folder, not a file')
    problem = _unwritable_folder(path.parent)
    if problem is not None:
        raise argparse.ArgumentTypeError(f'{text}: {problem}')
    return str(path)


def output_folder(text: str) -> str:
    """An argparse ``type`` for a folder a tool writes files into: refused if
    it, or the folder it would be made in, is a file or is not writable; ``''``
    (no folder: mmpose's inferencer's default) is returned as it is. A path
    with a suffix that is no folder is a file, as mmpose's
    ``save_visualization`` takes it (``--vis-out-dir out.mp4``, ``vis.jpg``):
    :func:`output_file`.

    Returns:
        str: The path, ``~`` expanded.
    """
    if not text:
        return text
    path = Path(text).expanduser()
    if path.suffix and not path.is_dir():
        return output_file(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f'{text}: is a file, not a folder')
    problem = _unwritable_folder(path)
    if problem is not None:
        raise argparse.ArgumentTypeError(f'{text}: {problem}')
    return str(path)
