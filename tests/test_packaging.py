# Copyright (c) OpenMMLab. All rights reserved.
"""setup.py: a wheel carries what mim's commands need (``mim search``: the
model index and the configs; ``mim train/test/run``: the tools; the sample
configs and tools: the bundled sample) in ``custom_modules/.mim/``, at the
places they have in a clone, so that a config's and a tool's relative paths
resolve inside the installed package as they do here."""
import posixpath
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, run_command

pytestmark = pytest.mark.e2e

# What setup.py reads, copied so that the build leaves this clone untouched.
SOURCES = ('setup.py', 'README.md', 'model-index.yml', 'custom_modules',
           'configs', 'tools', 'tests/data')


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built by pip from a copy of :data:`SOURCES`."""
    source = tmp_path_factory.mktemp('source')
    for name in SOURCES:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(
                REPO_ROOT / name,
                target,
                ignore=shutil.ignore_patterns('__pycache__', '.mim',
                                              '*.egg-info'))
        else:
            shutil.copy(REPO_ROOT / name, target)
    out = tmp_path_factory.mktemp('wheel')
    run_command([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '--quiet', '--wheel-dir',
        str(out),
        str(source)
    ],
                timeout=600)
    (wheel, ) = out.glob('mmpose_multilevel-*.whl')
    return wheel


@pytest.fixture(scope='module')
def wheel_files(wheel) -> set:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def mim_path(name: str) -> str:
    return f'custom_modules/.mim/{name}'


def test_the_wheel_carries_the_tools_mim_runs(wheel_files):
    tools = [
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / 'tools').rglob('*')
        if path.suffix in ('.py', '.sh') and '__pycache__' not in path.parts
    ]
    assert 'tools/train.py' in tools and (
        'tools/analysis/benchmark_bottomup.py') in tools
    missing = [tool for tool in tools if mim_path(tool) not in wheel_files]
    assert not missing, f'tools missing from the wheel: {missing}'


def test_the_wheel_carries_every_config_and_the_model_index(wheel_files):
    configs = [
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / 'configs').rglob('*')
        if path.is_file() and '__pycache__' not in path.parts
    ]
    missing = [
        config for config in configs if mim_path(config) not in wheel_files
    ]
    assert not missing, f'configs missing from the wheel: {missing}'
    assert mim_path('model-index.yml') in wheel_files
    # every config a metafile lists (what `mim search` shows) is in the wheel
    index = yaml.safe_load((REPO_ROOT / 'model-index.yml').read_text())
    listed = []
    for metafile in index['Import']:
        models = yaml.safe_load((REPO_ROOT / metafile).read_text())['Models']
        for model in models:
            listed.append(model['Config'])
    assert listed and all(mim_path(config) in wheel_files for config in listed)


def test_the_sample_is_where_the_sample_configs_look_for_it(wheel_files):
    sample = [
        path.name for path in (REPO_ROOT / 'tests/data/coco').iterdir()
        if path.is_file()
    ]
    assert 'test_coco.json' in sample
    assert all(
        mim_path(f'tests/data/coco/{name}') in wheel_files for name in sample)
    # the sample configs find it relative to their own folder, in a clone and
    # in .mim alike
    text = (
        REPO_ROOT /
        'configs/demo/td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py'
    ).read_text()
    assert "'{{ fileDirname }}/../../tests/data/coco/'" in text
    resolved = posixpath.normpath(
        mim_path('configs/demo') + '/../../tests/data/coco/test_coco.json')
    assert resolved in wheel_files


def test_no_build_leftovers_in_the_wheel(wheel_files):
    assert not [
        name for name in wheel_files
        if '__pycache__' in name or name.endswith('.pyc')
    ]


def test_an_installed_config_finds_its_relative_base(wheel, tmp_path):
    """The zoo's configs inherit the reliability base (``configs/_base_/``) by
    relative path: it resolves in the installed package's ``.mim`` as in a
    clone."""
    from mmengine.config import Config

    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    cfg = Config.fromfile(
        tmp_path / mim_path('configs/hsr_msnet/'
                            'td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py'),
        import_custom_modules=False)
    assert cfg.train_dataloader.dataset.type == 'CheckedCocoDataset'
