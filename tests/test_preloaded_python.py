# Copyright (c) OpenMMLab. All rights reserved.
"""The tests' preloaded interpreter (``tests/preloaded_python.py``): a script
run as its fork behaves as ``python SCRIPT ARGS`` in a fresh interpreter (the
same output, exit status, traceback), and runs it cannot take start afresh."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PRELOADED, REPO_ROOT, run_command

SCRIPT = '''\
import atexit, os, sys, threading, time
print('argv', sys.argv, 'cwd', os.getcwd(), 'path0', sys.path[0])
print('name', __name__, 'file', __file__)
print('variable', os.environ.get('PRELOADED_TEST_VARIABLE'))
print('to stderr', file=sys.stderr)
atexit.register(print, 'atexit ran')


def late():
    time.sleep(0.2)
    print('thread joined')


threading.Thread(target=late).start()
if sys.argv[1] == 'exit':
    sys.exit(3)
if sys.argv[1] == 'message':
    sys.exit('stopped with a message')
if sys.argv[1] == 'raise':
    def fail():
        raise ValueError('boom')
    fail()
if sys.argv[1] == 'sleep':
    time.sleep(60)
'''


@pytest.fixture
def script(tmp_path) -> Path:
    path = tmp_path / 'script.py'
    path.write_text(SCRIPT)
    return path


@pytest.mark.parametrize('mode', ['ok', 'exit', 'message', 'raise'])
def test_a_fork_runs_a_script_as_a_fresh_interpreter_does(
        mode, script, tmp_path):
    cmd = [sys.executable, 'script.py', mode]
    env = dict(PRELOADED_TEST_VARIABLE='set')
    runs = PRELOADED.runs
    forked = run_command(cmd, cwd=tmp_path, env=env, check=False)
    assert PRELOADED.runs == runs + 1
    fresh = run_command(
        cmd,
        cwd=tmp_path,
        env=dict(env, PYTHONPATH=str(REPO_ROOT)),  # a fresh interpreter
        check=False)
    assert PRELOADED.runs == runs + 1
    assert (forked.returncode, forked.stdout,
            forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert forked.returncode == {
        'ok': 0,
        'exit': 3,
        'message': 1,
        'raise': 1
    }[mode]
    assert 'thread joined\natexit ran' in forked.stdout
    assert f'cwd {tmp_path} path0 {tmp_path}' in forked.stdout
    assert 'variable set' in forked.stdout
    if mode == 'raise':
        assert forked.stderr.startswith('to stderr\nTraceback')
        assert 'ValueError: boom' in forked.stderr


def test_a_run_past_its_timeout_is_killed(script, tmp_path):
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_command([sys.executable, 'script.py', 'sleep'],
                    cwd=tmp_path,
                    timeout=2)
    assert time.monotonic() - start < 20
    # the server goes on
    proc = run_command([sys.executable, 'script.py', 'ok'], cwd=tmp_path)
    assert 'atexit ran' in proc.stdout


def test_a_pythonpath_of_new_folders_is_added_to_the_forks_path(tmp_path):
    """A fork puts the folders of ``PYTHONPATH`` right after the script's, as a
    fresh interpreter does, and imports from them; a folder holding a module
    already imported (the repository's ``custom_modules``) or a relative entry
    starts a fresh interpreter instead."""
    plugins = tmp_path / 'plugins'
    plugins.mkdir()
    (plugins / 'preloaded_probe_module.py').write_text('VALUE = 7\n')
    (tmp_path / 'probe.py').write_text(
        'import sys, preloaded_probe_module\n'
        'print(sys.path[1], preloaded_probe_module.VALUE)\n')
    cmd = [sys.executable, 'probe.py']
    env = dict(PYTHONPATH=str(plugins))
    runs = PRELOADED.runs
    forked = run_command(cmd, cwd=tmp_path, env=env)
    assert PRELOADED.runs == runs + 1
    assert forked.stdout == f'{plugins} 7\n'
    base = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1')
    hooks = tmp_path / 'hooks'
    hooks.mkdir()
    (hooks / 'sitecustomize.py').write_text('')
    for path in (str(REPO_ROOT), 'plugins',
                 os.pathsep.join([str(plugins), str(REPO_ROOT)]),
                 os.pathsep.join([str(plugins)] * 2), str(hooks),
                 str(plugins / '..' / 'plugins')):
        assert not PRELOADED.takes(cmd, dict(base, PYTHONPATH=path)), path


def test_runs_that_change_startup_variables_start_afresh():
    python = [sys.executable, 'tools/train.py']
    env = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1')
    assert PRELOADED.takes(python, env)
    assert PRELOADED.takes(python, dict(env, PORT='29500'))
    for name in ('PYTHONPATH', 'OMP_NUM_THREADS', 'CUDA_VISIBLE_DEVICES',
                 'LD_PRELOAD'):
        assert not PRELOADED.takes(python, dict(env, **{name: '1'}))
    assert not PRELOADED.takes([sys.executable, '-c', 'pass'], env)
    assert not PRELOADED.takes(['bash', 'tools/dist_train.sh'], env)
