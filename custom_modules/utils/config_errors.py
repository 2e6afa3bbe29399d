# Copyright (c) OpenMMLab. All rights reserved.
"""A config's mistakes that mmengine reports without naming the config: a
``type`` no registry holds, an argument a component does not take (a misspelt
key) and one it needs but is not given."""
import difflib
import inspect
import re
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry.build_functions import build_from_cfg
from mmengine.runner import Runner

#: where the arguments of a failed call are, by the function that made it
_CALLS = {
    build_from_cfg.__code__: ('obj_cls', 'args'),
    Runner.build_dataloader.__code__: (None, 'dataloader_cfg'),
}


class UnregisteredTypeError(ValueError):
    """A config names a ``type`` that no registry holds; the message names the
    config."""


class ConfigArgumentError(TypeError):
    """A config gives a component an argument it does not take, or none for one
    it needs; the message names the config and the key."""


def _failed_call(err: TypeError) -> Optional[Tuple[Callable, dict]]:
    """The callee and keyword arguments of the call ``err`` was raised by,
    where that call is mmengine's build of a config dict.

    Python raises an argument mismatch in the caller's frame, so the innermost
    frame of the traceback is ``build_from_cfg`` (or mmengine's dataloader
    build) only where the config's own arguments did not fit; a ``TypeError``
    raised inside a component's ``__init__`` has its frames below it and is
    left alone.
    """
    tb = err.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame: FrameType = tb.tb_frame
    names = _CALLS.get(frame.f_code)
    if names is None:
        return None
    callee_name, args_name = names
    if callee_name is None:  # mmengine's Runner.build_dataloader
        from torch.utils.data import DataLoader
        callee = DataLoader
    else:
        callee = frame.f_locals.get(callee_name)
    args = frame.f_locals.get(args_name)
    if callee is None or not isinstance(args, dict):
        return None
    return callee, dict(args)


def _mismatch(callee: Callable, args: dict) -> Tuple[List[str], List[str]]:
    """The keys of ``args`` that ``callee`` takes no argument for, and the
    required arguments it is not given."""
    try:
        params = inspect.signature(callee).parameters
    except (TypeError, ValueError):  # no signature (a builtin)
        return [], []
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unexpected = []
    else:
        unexpected = [key for key in args if key not in params]
    missing = [
        name for name, p in params.items()
        if p.default is p.empty and name not in args and p.kind in (
            p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    return unexpected, missing


def _is_built_as(node: Dict[str, Any], callee: Callable) -> bool:
    """Whether a config dict builds ``callee``: its ``type`` is ``callee`` or
    its name (with or without a ``scope.`` prefix)."""
    kind = node.get('type')
    if kind is callee:
        return True
    name = getattr(callee, '__name__', None)
    return isinstance(kind, str) and kind.rsplit('.', 1)[-1] == name


def _dicts(node: Any, path: str) -> Iterator[Tuple[str, dict]]:
    """Every dict in a config with its dotted path (``a.b[2].c``)."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _dicts(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _dicts(value, f'{path}[{index}]')


def _places(cfg: Config, callee: Callable) -> List[Tuple[str, dict]]:
    """The config dicts that build ``callee``, with their paths (a
    ``DataLoader``: the top-level ``*_dataloader`` dicts)."""
    from torch.utils.data import DataLoader
    return [(path, node) for path, node in _dicts(cfg.to_dict(), '')
            if _is_built_as(node, callee) or (
                callee is DataLoader and re.fullmatch(r'\w+_dataloader', path))
            ]


def _suggestion(key: str, callee: Callable) -> str:
    try:
        names = list(inspect.signature(callee).parameters)
    except (TypeError, ValueError):
        return ''
    close = difflib.get_close_matches(key, names, n=1)
    return f' (did you mean {close[0]!r}?)' if close else ''


def _listed(paths: List[str]) -> str:
    return paths[0] + (f' (and {len(paths) - 1} more: {", ".join(paths[1:])})'
                       if len(paths) > 1 else '')


def argument_problem(cfg: Config, err: TypeError) -> Optional[str]:
    """What in ``cfg`` made mmengine's build fail with ``err``, naming the key
    (``optim_wrapper.optimizer.lrr: Adam takes no argument 'lrr' (did you mean
    'lr'?)``); None where ``err`` is no argument mismatch of a
    config dict, or the dict is not found in ``cfg`` (an argument added by
    code, not by the config)."""
    call = _failed_call(err)
    if call is None:
        return None
    callee, args = call
    unexpected, missing = _mismatch(callee, args)
    name = getattr(callee, '__name__', repr(callee))
    places = _places(cfg, callee)
    problems = []
    for key in unexpected:
        paths = [f'{path}.{key}' for path, node in places if key in node]
        if paths:
            problems.append(f'{_listed(paths)}: {name} takes no argument '
                            f'{key!r}{_suggestion(key, callee)}')
    for key in missing:
        paths = [path for path, node in places if key not in node]
        if paths:
            problems.append(f'{_listed(paths)}: {name} needs the argument '
                            f'{key!r}, which is not given')
    return '; '.join(problems) or None


@contextmanager
def explain_config_errors(config_path: str, cfg: Config) -> Iterator[None]:
    """Re-raise the errors of mmengine's builds that come from the config with
    the config's name and the key at fault.

    - mmengine's "X is not in the Y registry" ``KeyError`` as an
      :class:`UnregisteredTypeError`, with the likely cause: a type of this
      project built without ``custom_imports``, or a misspelt one.
    - a ``TypeError`` of a config dict's arguments (a misspelt key, a needed
      one left out) as a :class:`ConfigArgumentError` (see
      :func:`argument_problem`). Any other ``TypeError`` keeps its traceback.
    """
    try:
        yield
    except KeyError as err:
        message = str(err.args[0]) if err.args else ''
        match = re.match(r'(\S+) is not in the (\S+) registry', message)
        if match is None:
            raise
        raise UnregisteredTypeError(
            f'{config_path}: type {match[1]!r} is not in the {match[2]} '
            'registry. If it is one of this project\'s types the config is '
            'missing `custom_imports = dict(imports=[\'custom_modules\'], '
            'allow_failed_imports=False)`; otherwise check its spelling or '
            'the package that defines it') from err
    except TypeError as err:
        problem = argument_problem(cfg, err)
        if problem is None:
            raise
        raise ConfigArgumentError(f'{config_path}: {problem}') from err
