# Copyright (c) OpenMMLab. All rights reserved.
"""Whether a checkpoint holds the weights of the model a config builds, checked
before they are loaded: a checkpoint of another model is an error naming both,
instead of mmengine's warnings about missing keys followed by a model with
random weights.

The rule: every entry of the model's state dict (parameters and persistent
buffers) must be in the checkpoint with the same shape, and the checkpoint must
hold nothing else; except for differences that change no prediction:

- a ``module.`` prefix on the checkpoint's names (saved from a
  (Distributed)DataParallel wrapper), which mmengine strips too;
- checkpoint entries under ``data_preprocessor.`` (the mean and std, which
  mmengine keeps out of the state dict and which the config sets);
- BatchNorm ``num_batches_tracked`` missing from the checkpoint (a counter of
  training steps, absent from converted checkpoints; mmengine ignores it too).

Weights of the right shapes may still have been trained on other inputs: the
CMU OpenPose config and the one trained here build the same network, one fed
BGR, the other RGB. Where the checkpoint carries the config it was trained
with (``meta['cfg']``, as mmengine's runner saves it), a channel order, mean or
std of its ``data_preprocessor`` other than the model's config's is warned
about (:func:`input_differences`), naming both; the saved config is read as
text, never run.
"""
import ast
import logging
import pickle
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from mmpose.apis import init_model

BENIGN_EXTRA_PREFIXES = ('data_preprocessor.', )
BENIGN_MISSING_SUFFIXES = ('num_batches_tracked', )
EXAMPLES = 3  # names quoted per kind of difference


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names it and says why.

    Tools catch this one class for both kinds below.
    """


class CheckpointMismatchError(CheckpointError):
    """A checkpoint that does not fit the model; the message names both and
    counts the differences."""


class CheckpointFileError(CheckpointError):
    """A checkpoint file that cannot be read; the message names it."""


@dataclass
class WeightDifferences:
    """How a checkpoint's state dict differs from a model's, benign differences
    left out.

    ``missing``: the model's names absent from the checkpoint; ``unexpected``:
    the checkpoint's names the model lacks; ``mismatched``: ``(name, checkpoint
    shape, model shape)``; ``fitting``: how many of the model's weights the
    checkpoint holds with their shape (BatchNorm's ``num_batches_tracked``
    not counted).
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, Tuple[int, ...],
                           Tuple[int, ...]]] = field(default_factory=list)
    fitting: int = 0

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.mismatched)


def checkpoint_state_dict(checkpoint: Mapping
                          ) -> 'OrderedDict[str, torch.Tensor]':
    """The weights of a loaded checkpoint (mmengine's ``{"state_dict": ...,
    "meta": ...}`` or a bare state dict), with a ``module.`` prefix stripped
    and benign extra entries dropped."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    weights = OrderedDict()
    for name, value in state_dict.items():
        name = re.sub(r'^module\.', '', name)
        if not name.startswith(BENIGN_EXTRA_PREFIXES):
            weights[name] = value
    # _metadata: the BatchNorm versions
    weights._metadata = getattr(state_dict, '_metadata', OrderedDict())
    return weights


def compare_weights(model: nn.Module,
                    weights: Mapping[str, torch.Tensor]) -> WeightDifferences:
    """The differences between ``model``'s state dict and ``weights`` (from
    :func:`checkpoint_state_dict`), by name and shape."""
    expected = {
        name: tuple(value.shape)
        for name, value in model.state_dict().items()
    }
    differences = WeightDifferences()
    for name, shape in expected.items():
        if name not in weights:
            if not name.endswith(BENIGN_MISSING_SUFFIXES):
                differences.missing.append(name)
            continue
        # () for a non-tensor
        found = tuple(getattr(weights[name], 'shape', ()))
        if found != shape:
            differences.mismatched.append((name, found, shape))
        # a BatchNorm step counter shared by chance is no weight that fits
        elif not name.endswith(BENIGN_MISSING_SUFFIXES):
            differences.fitting += 1
    differences.unexpected = [name for name in weights if name not in expected]
    return differences


def _examples(names: List[str]) -> str:
    return (', '.join(names[:EXAMPLES]) +
            (', ...' if len(names) > EXAMPLES else ''))


def mismatch_message(differences: WeightDifferences, num_model_weights: int,
                     num_checkpoint_weights: int, checkpoint: str,
                     config: str) -> str:
    """One paragraph: ``"<checkpoint>: not a checkpoint of <config>: ..."``
    with the count and a few names of each kind of difference."""
    parts = []
    if differences.missing:
        parts.append(
            f'missing from it: {len(differences.missing)} of the model\'s '
            f'{num_model_weights} weights (e.g. '
            f'{_examples(differences.missing)})')
    if differences.unexpected:
        parts.append(f'not in the model: {len(differences.unexpected)} of its '
                     f'{num_checkpoint_weights} weights (e.g. '
                     f'{_examples(differences.unexpected)})')
    if differences.mismatched:
        shapes = [
            f'{name} {list(ckpt)} in the checkpoint, {list(model)} in the '
            'model' for name, ckpt, model in differences.mismatched
        ]
        parts.append(
            f'with another shape: {len(differences.mismatched)} (e.g. '
            f'{_examples(shapes)})')
    return (
        f'{checkpoint}: not a checkpoint of {config}: {"; ".join(parts)}. Was '
        'it trained with another config? (Allowed differences: a "module." '
        'prefix, data_preprocessor buffers, BatchNorm num_batches_tracked.)')


#: The ``data_preprocessor`` settings that make a network's input, with
#: mmengine's ``ImgDataPreprocessor`` defaults (no mean or std: unchanged).
INPUT_SETTINGS = dict(
    bgr_to_rgb=False, rgb_to_bgr=False, mean=(0, 0, 0), std=(1, 1, 1))


def saved_input_settings(text: str) -> Optional[dict]:
    """The :data:`INPUT_SETTINGS` of a saved config's data preprocessor.

    ``text`` is a config as mmengine's runner saves it (``Config.pretty_text``,
    its ``model = dict(..., data_preprocessor=dict(...))``); it is read without
    running it (a config is Python: a checkpoint's could run any code). None
    where it is not that form or a setting is no plain literal.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None

    def keywords(node: ast.AST) -> Optional[Dict[str, ast.AST]]:
        """The items of a ``dict(...)`` call or ``{...}`` literal."""
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == 'dict' and not node.args):
            return {kw.arg: kw.value for kw in node.keywords if kw.arg}
        if isinstance(node, ast.Dict) and all(
                isinstance(k, ast.Constant) for k in node.keys):
            return {k.value: v for k, v in zip(node.keys, node.values)}
        return None

    for statement in tree.body:
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and statement.targets[0].id == 'model'):
            model = keywords(statement.value) or {}
            preprocessor = keywords(model.get('data_preprocessor'))
            if preprocessor is None:
                return None
            try:
                return {
                    key: ast.literal_eval(preprocessor[key])
                    for key in INPUT_SETTINGS if key in preprocessor
                }
            except ValueError:  # not a literal
                return None
    return None


def input_differences(loaded: Mapping, model: nn.Module) -> List[str]:
    """How the input a checkpoint was trained on differs from what ``model``'s
    config makes: ``'<setting> <trained> (trained) vs <model's> (this
    config)'`` per :data:`INPUT_SETTINGS` entry that differs; none where the
    checkpoint carries no config it was trained with (``meta['cfg']``: a
    converted one) or the model none (``model.cfg``), or where the saved
    config's settings cannot be read (:func:`saved_input_settings`)."""
    meta = loaded.get('meta')
    text = meta.get('cfg') if isinstance(meta, Mapping) else None
    config = getattr(model, 'cfg', None)
    if not isinstance(text, str) or config is None:
        return []
    trained = saved_input_settings(text)
    if trained is None:
        return []
    current = config.model.get('data_preprocessor', {})

    def setting(preprocessor: Mapping, key: str) -> object:
        value = preprocessor.get(key)
        value = INPUT_SETTINGS[key] if value is None else value
        return ([float(v)
                 for v in value] if isinstance(value,
                                               (list, tuple)) else value)

    return [
        f'{key} {setting(trained, key)} (trained) vs '
        f'{setting(current, key)} (this config)' for key in INPUT_SETTINGS
        if setting(trained, key) != setting(current, key)
    ]


def _config_name(model: nn.Module) -> str:
    """The config file a model was built from (``model.cfg``, set by mmpose's
    ``init_model`` and by the inferencers), or its class name."""
    filename = getattr(getattr(model, 'cfg', None), 'filename', None)
    return (f'{filename} ({type(model).__name__})'
            if filename else type(model).__name__)


def check_checkpoint_file(path: Union[str, Path]) -> None:
    """Refuse a local file that cannot be read or does not begin as
    ``torch.save`` writes (a zip archive, before PyTorch 1.6 a pickle).

    Raises:
        CheckpointFileError: ``'<path>: <reason>'``.
    """
    try:
        with open(Path(path).expanduser(), 'rb') as f:
            head = f.read(16)
    except OSError as error:
        raise CheckpointFileError(
            f'{path}: cannot be read ({error.strerror or error})') from None
    if not head.startswith((b'PK', b'\x80')):
        what = (f'neither a zip archive nor a pickle: it begins with {head!r}'
                if head else 'an empty file')
        raise CheckpointFileError(
            f'{path}: cannot be read as a PyTorch checkpoint ({what})')


def load_weights_file(path: Union[str, Path]) -> Mapping:
    """A checkpoint of plain types and tensors (what converters read: other
    projects' files) loaded on the CPU with torch's weights-only unpickler,
    which runs no code from the file.

    Raises:
        CheckpointFileError: ``'<path>: <reason>'`` for a file that is
            missing, is no PyTorch checkpoint (truncated, a web page saved
            under its name), holds objects other than plain types and tensors,
            or holds no dict.
    """
    check_checkpoint_file(path)
    try:
        loaded = torch.load(str(path), map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointFileError(
            f'{path}: not a plain checkpoint (tensors, dicts, lists, numbers, '
            f'strings), or a truncated one: {_reason(error)}. Only for a file '
            'you trust: TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 lets torch load it '
            'as a whole') from None
    except Exception as error:  # a truncated or corrupt file, in any way
        raise CheckpointFileError(
            f'{path}: cannot be read as a PyTorch checkpoint '
            f'({_reason(error)})') from None
    if not isinstance(loaded, Mapping):
        raise CheckpointFileError(
            f'{path}: holds a {type(loaded).__name__}, not a state dict')
    return loaded


def _reason(error: BaseException) -> str:
    """The line of ``error``'s message that says what is wrong (torch's
    weights-only errors give it after their advice), without terminal colours;
    the error's type where it has no message."""
    lines = [
        re.sub(r'\x1b\[[0-9;]*m', '', line).strip()
        for line in str(error).splitlines()
    ]
    lines = [line for line in lines if line]
    for i, line in enumerate(lines):
        if 'WeightsUnpickler error:' in line:
            # (torch >= 2.6 may give it on the line after the marker)
            reason = line.split('WeightsUnpickler error:', 1)[1].strip()
            return reason or next(iter(lines[i + 1:]), type(error).__name__)
    return lines[0] if lines else type(error).__name__


def is_local_checkpoint(checkpoint: Union[str, Path]) -> bool:
    """Whether mmengine's loader reads ``checkpoint`` from a local file (its
    rule: no registered scheme, ``http://``, ``torchvision://``, ... matches
    it)."""
    return not any(
        prefix and re.match(prefix, str(checkpoint))
        for prefix in getattr(CheckpointLoader, '_schemes', {}))


def load_checkpoint_file(checkpoint: Union[str, Path]) -> dict:
    """A checkpoint (path or URL) loaded on the CPU by mmengine's loader, the
    one the runner's ``load_from`` uses, so that a file loaded here loads
    there.

    Raises:
        CheckpointFileError: ``'<checkpoint>: <reason>'`` for a local file
            that is missing, unreadable or no PyTorch checkpoint (checked
            before loading it), and for any checkpoint (also a URL) the loader
            fails on; torch's advice to load with ``weights_only=False``
            (running any code in the file) is left out.
        CheckpointMismatchError: For a checkpoint that holds no dict.
    """
    name = str(checkpoint)
    if is_local_checkpoint(name):
        check_checkpoint_file(checkpoint)
    try:
        loaded = CheckpointLoader.load_checkpoint(name, map_location='cpu')
    except pickle.UnpicklingError as error:
        raise CheckpointFileError(
            f'{checkpoint}: holds objects torch does not load safely, or is '
            f'corrupt: {_reason(error)}. Only for a file you trust: '
            'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 lets torch load it as a whole'
        ) from None
    except Exception as error:  # truncated, corrupt, a URL that failed
        what = ('loaded as a PyTorch checkpoint' if is_local_checkpoint(name)
                else 'fetched or loaded as a PyTorch checkpoint')
        raise CheckpointFileError(
            f'{checkpoint}: cannot be {what} ({_reason(error)})') from None
    if not isinstance(loaded, Mapping):
        raise CheckpointMismatchError(
            f'{checkpoint}: holds a {type(loaded).__name__}, not a state dict')
    return loaded


#: What mmengine's ``Runner.resume`` reads of a checkpoint beyond its weights
#: (the optimizer and schedulers it takes where they are there).
TRAINING_STATE = ('meta.epoch', 'meta.iter', 'message_hub')


def check_training_state(loaded: Mapping, name: str) -> None:
    """Refuse to resume from a checkpoint without the training state mmengine's
    runner resumes (:data:`TRAINING_STATE`): a weights file (converted, or
    saved by ``torch.save(model.state_dict())``), which fails deep inside
    mmengine with ``KeyError: 'epoch'``.

    Args:
        loaded: The checkpoint, from :func:`load_checkpoint_file`.
        name: How to name it in the message.

    Raises:
        CheckpointFileError: ``'<name>: no training state (<entry>); ...'``
            naming the first entry missing and the way to start from its
            weights instead.
    """
    for entry in TRAINING_STATE:
        parent, _, key = entry.rpartition('.')
        holder = loaded.get(parent) if parent else loaded
        if not isinstance(holder, Mapping) or key not in holder:
            raise CheckpointFileError(
                f'{name}: no training state ({entry}); it is a weights file: '
                f'to start from its weights, give load_from={name} without '
                '--resume')


def check_checkpoint_matches(model: nn.Module,
                             checkpoint: Union[str, Path, Mapping],
                             name: Optional[str] = None,
                             partial: bool = False
                             ) -> 'OrderedDict[str, torch.Tensor]':
    """Check that a checkpoint holds the weights of ``model`` (the rule is in
    this module's docstring); works on any model, e.g.
    ``MMPoseInferencer(...).inferencer.model`` after the fact.

    Args:
        model: The model, e.g. from ``mmpose.apis.init_model(config, None)``.
        checkpoint: A path or URL, or a checkpoint already loaded.
        name: How to name the checkpoint in the message; by default its path.
        partial: Accept a checkpoint that holds some of the model's weights
            (training's ``load_from``: fine-tuning from a model with another
            head; mmengine loads what fits and warns of the rest); only one
            of which no weight fits is refused.

    Returns:
        OrderedDict: The checkpoint's weights, ready for
            ``model.load_state_dict``.

    Raises:
        CheckpointMismatchError: Naming the checkpoint and the model's config,
            with the counts and a few names of the missing, unexpected and
            differently shaped weights.
    """
    loaded = (
        checkpoint if isinstance(checkpoint, Mapping) else
        load_checkpoint_file(checkpoint))
    weights = checkpoint_state_dict(loaded)
    differences = compare_weights(model, weights)
    if differences and not (partial and differences.fitting > 0):
        raise CheckpointMismatchError(
            mismatch_message(differences, len(model.state_dict()),
                             len(weights), name or str(checkpoint),
                             _config_name(model)))
    inputs = input_differences(loaded, model)
    if inputs:
        print_log(
            f'{name or checkpoint}: trained on other inputs than '
            f'{_config_name(model)} makes (its data_preprocessor: '
            f'{"; ".join(inputs)}): its predictions will be wrong; use the '
            'config it was trained with',
            logger='current',
            level=logging.WARNING)
    return weights


def init_pose_model(config: Union[str, Path, Config],
                    checkpoint: Optional[str],
                    device: str = 'cpu') -> nn.Module:
    """mmpose's ``init_model``, refusing a checkpoint of another model before
    loading it.

    Args:
        config: A pose config of this project (path or Config).
        checkpoint: Its weights (path or URL); None leaves them random.
        device: e.g. ``'cpu'`` or ``'cuda:0'``.

    Returns:
        nn.Module: The model in eval mode with ``cfg`` and ``dataset_meta``
        (the checkpoint's, else the config's), as ``init_model`` returns it.

    Raises:
        CheckpointMismatchError: See :func:`check_checkpoint_matches`.
    """
    model = init_model(config, None, device=device)
    if checkpoint is None:
        return model
    loaded = load_checkpoint_file(checkpoint)
    model.load_state_dict(
        check_checkpoint_matches(model, loaded, str(checkpoint)),
        strict=False)  # only the allowed differences remain
    if 'dataset_meta' in loaded.get('meta', {}):
        model.dataset_meta = loaded['meta']['dataset_meta']
    return model
