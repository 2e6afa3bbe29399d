# Copyright (c) OpenMMLab. All rights reserved.
"""Run the project's Python tools from an interpreter that has already imported
torch, mmengine, mmcv, mmdet, mmpose and ``custom_modules``.

A fresh interpreter spends 5-7 s of one core importing them before a tool
does anything, and :func:`conftest.run_command` starts a tool about 75 times
in ``make test``. Here one server process imports them once; each run is a
fork of it: a process of its own, with its own working directory,
environment, ``sys.argv``, output files and exit status, that runs the script
as ``python SCRIPT ARGS`` would (as ``__main__``, the script's folder first on
``sys.path``, non-daemon threads joined and ``atexit`` functions run at its
end).

What a fresh interpreter reads while it starts cannot be changed in a fork:
:meth:`PreloadedPython.takes` sends a run to a fresh interpreter when its
command is not ``python SCRIPT ...`` or its environment differs from the
server's in such a variable (``PYTHON*``, thread counts, devices, preloads;
a ``PYTHONPATH`` of folders whose modules are not imported yet is added to the
fork's ``sys.path``, as a fresh interpreter adds it), and every run with
``PRELOADED_PYTHON=0`` in the tests' environment.

Started as a script, this file is the server: it reads one JSON request a
line on stdin and answers on the stdout it had, with two JSON lines a run
(the forked process's ``pid``, then its exit ``code``, negative for a
signal, as :mod:`subprocess` gives it).
"""
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

# variables a process reads while it starts or imports (the interpreter's,
# OpenMP's, MKL's, the CUDA runtime's, the dynamic loader's, torch's): a run
# that sets any of them to other values than the server has starts afresh
STARTUP_VARIABLES = ('PYTHON', 'OMP_', 'KMP_', 'MKL_', 'OPENBLAS_', 'CUDA_',
                     'LD_', 'TORCH', 'MMCV_', 'MALLOC_')
# what the server imports: everything a tool of this project imports at its
# start
PRELOADED = ('torch', 'torchvision', 'cv2', 'mmengine.runner', 'mmcv.ops',
             'mmdet.apis', 'mmpose.apis', 'custom_modules')


class PreloadedPython:
    """A client of the server (started on the first run it takes, stopped by
    :meth:`close`) for the tests' :func:`conftest.run_command`."""

    def __init__(self, env: Dict[str, str], cwd: Path) -> None:
        self._env = dict(env)
        self._cwd = cwd
        self._server: Optional[subprocess.Popen] = None
        self._lock = threading.Lock()
        self._buffer = b''
        self._imported_env: Dict[str, str] = {}
        # what the server's imports changed in its environment (None: removed)
        self._import_changes: Dict[str, Optional[str]] = {}
        # the top-level modules the server has imported
        self._server_modules: Set[str] = set()
        self.runs = 0

    def takes(self, cmd: List[str], env: Dict[str, str]) -> bool:
        """Whether ``cmd`` with environment ``env`` can run as a fork: it is
        this interpreter on a ``.py`` file, and ``env`` sets every startup
        variable as the server had it when it started or has it after its
        imports (which set some, as ``cv2`` sets ``LD_LIBRARY_PATH``; the
        server starts here)."""
        if len(cmd) < 2 or str(cmd[0]) != sys.executable or not str(
                cmd[1]).endswith('.py') or os.environ.get(
                    'PRELOADED_PYTHON') == '0':
            return False
        with self._lock:
            imported_env = self._start()[1]
        return self.added_path(env) is not None and all(
            env.get(name) in (self._env.get(name), imported_env.get(name))
            for name in set(env) | set(self._env) | set(imported_env)
            if name.startswith(STARTUP_VARIABLES) and name != 'PYTHONPATH')

    def added_path(self, env: Dict[str, str]) -> Optional[List[str]]:
        """The folders ``env``'s ``PYTHONPATH`` puts on ``sys.path`` beyond the
        server's, which a fork can add as a fresh interpreter would (right
        after the script's folder); None where it cannot: the server has a
        ``PYTHONPATH`` of its own that ``env`` changes, an entry is not the
        normalised absolute path of a folder or comes twice, a folder holds a
        ``sitecustomize`` / ``usercustomize`` (a fresh interpreter runs it at
        its start) or a module of a name the server has imported (a fork would
        keep the imported one, as for a second copy of ``custom_modules``).

        Called with the server started.
        """
        path = env.get('PYTHONPATH')
        if path == self._env.get('PYTHONPATH'):
            return []
        if self._env.get('PYTHONPATH') or not path:
            return None
        folders = path.split(os.pathsep)
        if len(set(folders)) != len(folders):
            return None
        for folder in folders:
            if (not os.path.isabs(folder) or os.path.normpath(folder) != folder
                    or not os.path.isdir(folder)):
                return None
            names = {
                Path(name).stem.partition('.')[0]
                for name in os.listdir(folder) if name.endswith(('.py', '.so'))
                or os.path.isfile(os.path.join(folder, name, '__init__.py'))
            }
            if names & (self._server_modules
                        | {'sitecustomize', 'usercustomize'}):
                return None
        return folders

    def run(self, cmd: List[str], cwd: Path, env: Dict[str, str],
            timeout: float, output_dir: Path) -> subprocess.CompletedProcess:
        """Run ``cmd`` (taken by :meth:`takes`) as a fork of the server; its
        output goes through files in ``output_dir``.

        Raises ``subprocess.TimeoutExpired`` after killing it, as
        ``subprocess.run`` does.
        """
        with self._lock:
            server = self._start()[0]
            out, err = output_dir / 'stdout.txt', output_dir / 'stderr.txt'
            # what the imports of a fresh interpreter would set in ``env``
            env = dict(env)
            for name, value in self._import_changes.items():
                if value is None:
                    env.pop(name, None)
                else:
                    env[name] = value
            request = dict(
                script=str(cmd[1]),
                args=[str(a) for a in cmd[2:]],
                cwd=str(cwd),
                env=env,
                added_path=self.added_path(env),
                stdout=str(out),
                stderr=str(err))
            server.stdin.write(json.dumps(request).encode() + b'\n')
            server.stdin.flush()
            pid = self._answer(None)['pid']
            try:
                code = self._answer(timeout)['code']
            except subprocess.TimeoutExpired:
                os.killpg(pid, signal.SIGKILL)
                self._answer(None)
                raise subprocess.TimeoutExpired(cmd, timeout, out.read_text(),
                                                err.read_text())
            self.runs += 1
            return subprocess.CompletedProcess(cmd, code, out.read_text(),
                                               err.read_text())

    def close(self) -> None:
        if self._server is not None:
            self._server.stdin.close()
            self._server.wait(timeout=30)
            self._server = None

    def _start(self) -> Tuple[subprocess.Popen, Dict[str, str]]:
        """The server, started if it is not running, and its environment after
        its imports."""
        if self._server is None or self._server.poll() is not None:
            self._server = subprocess.Popen([sys.executable, __file__],
                                            cwd=self._cwd,
                                            env=self._env,
                                            stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE,
                                            bufsize=0)
            self._buffer = b''
            started = self._answer(None)
            self._imported_env = started['env']
            self._server_modules = set(started['modules'])
            self._import_changes = {
                name: self._imported_env.get(name)
                for name in set(self._env) | set(self._imported_env)
                if self._env.get(name) != self._imported_env.get(name)
            }
        return self._server, self._imported_env

    def _answer(self, timeout: Optional[float]) -> dict:
        """The server's next line, within ``timeout`` seconds (None: as long as
        it takes); read unbuffered, so that ``select`` sees what is not read
        yet."""
        fd = self._server.stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        while b'\n' not in self._buffer:
            left = None if deadline is None else max(
                0., deadline - time.monotonic())
            if not select.select([fd], [], [], left)[0]:
                raise subprocess.TimeoutExpired('preloaded run', timeout)
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError('the preloaded Python server stopped, '
                                   f'exit status {self._server.wait()}')
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b'\n', 1)
        return json.loads(line)


def _run_child(request: dict, control: List[int]) -> None:
    """In the forked process: become ``python SCRIPT ARGS`` and exit."""
    import atexit
    import builtins
    import importlib.machinery
    import io
    import random
    import traceback
    import types

    import numpy as np

    # its own process group, killed whole on a timeout; not a session of
    # its own, which Linux would schedule apart (autogroups) from the
    # tests' other processes, as no fresh subprocess is
    os.setpgid(0, 0)
    for fd in control:
        os.close(fd)
    os.chdir(request['cwd'])
    os.environ.clear()
    os.environ.update(request['env'])
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    for fd, path in ((1, request['stdout']), (2, request['stderr'])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    # unbuffered, as PYTHONUNBUFFERED=1 (run_command's) makes a fresh
    # interpreter's
    encoding = sys.stdout.encoding
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(
        io.FileIO(1, 'w', closefd=False),
        encoding=encoding,
        write_through=True)
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.FileIO(2, 'w', closefd=False),
        encoding=encoding,
        errors='backslashreplace',
        write_through=True)
    # the random states a fresh interpreter seeds from the OS (torch's is a
    # constant, the same in both)
    random.seed()
    np.random.seed()
    script = os.path.abspath(request['script'])
    sys.argv = [request['script'], *request['args']]
    sys.path[0] = os.path.dirname(os.path.realpath(script))
    sys.path[1:1] = request['added_path']
    # a __main__ module as the interpreter makes for a script (runpy's would
    # set sys.argv[0] to the absolute path)
    main = types.ModuleType('__main__')
    main.__file__ = script
    main.__loader__ = importlib.machinery.SourceFileLoader('__main__', script)
    main.__builtins__ = builtins
    sys.modules['__main__'] = main
    code = 0
    try:
        with open(script, 'rb') as source:
            exec(compile(source.read(), script, 'exec'), main.__dict__)
    except SystemExit as stop:
        if stop.code is None:
            code = 0
        elif isinstance(stop.code, int):
            code = stop.code
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException as error:
        # the traceback from the script's frame on, as a fresh interpreter
        # prints it (without this function's)
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next
        if tb is not None:
            error.with_traceback(tb)
        sys.excepthook(type(error), error, error.__traceback__)
        code = 1
    try:
        # what the interpreter does at its end: join the threads, then the
        # atexit functions
        threading._shutdown()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        traceback.print_exc()
        code = code or 1
    os._exit(code)


def serve() -> None:
    """Import :data:`PRELOADED`, then fork a process for each request line on
    stdin and report it on the original stdout."""
    import importlib
    import traceback

    requests = os.fdopen(os.dup(0), 'rb')
    answers = os.dup(1)
    # stray output of the imports must not reach the answers
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    for name in PRELOADED:
        importlib.import_module(name)
    modules = sorted({name.partition('.')[0] for name in sys.modules})
    os.write(answers,
             (json.dumps(dict(env=dict(os.environ), modules=modules)) +
              '\n').encode())
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                _run_child(request, [requests.fileno(), answers])
            except BaseException:
                traceback.print_exc()
            finally:  # never back into this loop
                os._exit(1)
        os.write(answers, (json.dumps(dict(pid=pid)) + '\n').encode())
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        os.write(answers, (json.dumps(dict(code=code)) + '\n').encode())


if __name__ == '__main__':
    serve()
