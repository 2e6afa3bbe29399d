# Copyright (c) OpenMMLab. All rights reserved.
"""custom_modules/utils/output_paths.py: the argparse types of the paths a
tool writes, checked when the command line is read."""
import argparse
from pathlib import Path

import pytest

from custom_modules.utils import output_file, output_folder


def test_a_path_under_a_file_is_refused(tmp_path):
    a_file = tmp_path / 'afile'
    a_file.write_text('')
    for check in (output_file, output_folder):
        with pytest.raises(
                argparse.ArgumentTypeError,
                match=f'{a_file} is a file, not a folder'):
            check(str(a_file / 'out'))
    with pytest.raises(argparse.ArgumentTypeError, match='is a folder'):
        output_file(str(tmp_path))
    with pytest.raises(argparse.ArgumentTypeError, match='is a file'):
        output_folder(str(a_file))


def test_a_folder_option_given_a_file_name_is_a_file_as_mmpose_takes_it(
        tmp_path):
    """mmpose's ``save_visualization`` writes ``--vis-out-dir out.mp4`` as one
    file: the path of an earlier run's file is no fault; a folder whose name
    has a dot stays a folder."""
    video = tmp_path / 'out.mp4'
    video.write_bytes(b'')
    assert output_folder(str(video)) == str(video)
    dotted = tmp_path / 'preds.v2'
    dotted.mkdir()
    assert output_folder(str(dotted)) == str(dotted)
    assert output_folder('') == ''


def test_home_is_expanded_where_it_is_checked(monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path))
    assert output_file('~/m.json') == str(tmp_path / 'm.json')
    assert output_folder('~/vis') == str(Path(tmp_path) / 'vis')


def test_a_folder_that_is_not_writable_is_refused(monkeypatch, tmp_path):
    """The nearest existing folder is the one asked (tests run as root, for
    whom every folder is writable: its permission is faked)."""
    import os
    locked = tmp_path / 'locked'
    locked.mkdir()
    real_access = os.access
    asked = []

    def access(path, mode):
        asked.append(Path(path))
        return False if Path(path) == locked else real_access(path, mode)

    monkeypatch.setattr(os, 'access', access)
    for check in (output_file, output_folder):
        with pytest.raises(
                argparse.ArgumentTypeError,
                match=f'{locked}: folder not writable'):
            check(str(locked / 'new/out.json'))
    assert set(asked) == {locked}  # not a missing folder under it
    assert output_folder(str(tmp_path / 'free')) == str(tmp_path / 'free')
