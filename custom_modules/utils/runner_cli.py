# Copyright (c) OpenMMLab. All rights reserved.
"""Command-line settings shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import logging
import os.path as osp
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from .config_errors import (ConfigArgumentError, UnregisteredTypeError,
                            misspelt_top_level_keys)


def set_work_dir(cfg: Config, work_dir: str, config_path: str) -> None:
    """``--work-dir`` if given, else the config's ``work_dir``, else
    ``work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


def enable_visualization(cfg: Config, args: argparse.Namespace,
                         config_path: str) -> None:
    """Switch on the ``PoseVisualizationHook`` for ``--show`` / ``--show-dir``.

    Raises:
        KeyError: If the config has no ``default_hooks.visualization``; the
            message names the file.
    """
    if not (args.show or args.show_dir is not None):
        return
    if 'visualization' not in cfg.default_hooks:
        raise KeyError(
            f'{config_path}: --show/--show-dir need '
            '`default_hooks.visualization`: take the reliability block\'s '
            '(`_base_.reliability.visualization`, docs/robustness.md)')
    cfg.default_hooks.visualization.update(
        enable=True,
        show=args.show,
        wait_time=args.wait_time,
        out_dir=args.show_dir,
        interval=args.interval)


@contextmanager
def exit_on_user_error(tool: str) -> Iterator[None]:
    """Stop with the message alone and exit status 2 (a usage error, as
    argparse's) on an error of the user's inputs that names its file and field.

    These are errors about an annotation or detection file the dataset or the
    evaluation cannot use (missing, not JSON, a field missing), test images
    that cannot be used or are all missing, a checkpoint file that cannot be
    read or loaded (missing, not a checkpoint, no training state to resume
    from), a checkpoint of another model, an input of a tool that cannot be
    used (:class:`~custom_modules.apis.InputError`), a config ``type`` no
    registry holds or a config key its component takes no argument for (see
    :func:`~custom_modules.utils.config_errors.explain_config_errors`), and
    images of a dataset all missing
    (:class:`~custom_modules.datasets.MissingImagesError`). Other errors keep
    their traceback (a ``FileNotFoundError`` of anything else, in the middle
    of a training, is no error of the command line).
    """
    from custom_modules.apis import InputError
    from custom_modules.apis.checkpoint_check import CheckpointError
    from custom_modules.datasets import (DatasetFileError, MissingImagesError,
                                         UnusableImagesError)
    from custom_modules.evaluation import AnnotationFileError

    try:
        yield
    except (AnnotationFileError, DatasetFileError, UnusableImagesError,
            CheckpointError, InputError, UnregisteredTypeError,
            ConfigArgumentError, MissingImagesError) as err:
        print(f'{tool}: error: {err}', file=sys.stderr, flush=True)
        sys.exit(2)


def build_checked_runner(cfg: Config, partial: bool = False) -> Runner:
    """``Runner.from_cfg(cfg)``, refusing the checkpoint the runner will load
    (``load_from``) where mmengine would go on with a warning or fail deep
    inside: one of another model (mmengine loads what fits and trains or tests
    random weights) and, with ``resume``, one without a training state
    (mmengine's ``KeyError: 'epoch'``).

    With ``partial`` (training without ``resume``: fine-tuning from a model
    with another head) a checkpoint is refused only where no weight of it fits
    the model; mmengine warns of the rest.

    A top-level key of ``cfg`` that looks like a misspelt one of the
    runner's is logged (:func:`~.config_errors.misspelt_top_level_keys`).

    A local checkpoint is read before the runner is built, so that a missing
    file or one that is no checkpoint is named first; one at a URL once the
    runner has set up the processes (rank 0 downloads it, the others wait).

    Raises:
        CheckpointError: Naming the checkpoint (and the config); see
            :func:`~custom_modules.apis.check_checkpoint_matches` and
            :func:`~custom_modules.apis.checkpoint_check.check_training_state`.
    """
    from custom_modules.apis.checkpoint_check import (check_checkpoint_matches,
                                                      check_training_state,
                                                      is_local_checkpoint,
                                                      load_checkpoint_file)

    checkpoint = cfg.get('load_from')

    def load() -> dict:
        loaded = load_checkpoint_file(checkpoint)
        if cfg.get('resume'):
            check_training_state(loaded, str(checkpoint))
        return loaded

    loaded = load() if checkpoint and is_local_checkpoint(checkpoint) else None
    runner = Runner.from_cfg(cfg)
    for problem in misspelt_top_level_keys(cfg):
        runner.logger.warning(f'{cfg.filename or "the config"}: {problem}')
    if checkpoint:
        if loaded is None:
            loaded = load()
        # runner.model is DDP-wrapped when distributed
        model = getattr(runner.model, 'module', runner.model)
        model.cfg = cfg  # named in the messages, as init_model sets it
        check_checkpoint_matches(
            model,
            loaded,
            str(checkpoint),
            partial=partial and not cfg.get('resume'))
    return runner


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` (without a path) continues from, or None for
    a fresh start.

    mmengine's ``last_checkpoint`` file names it. Where that file is missing,
    empty or names a file that is gone (a process killed between removing an
    old checkpoint and rewriting ``last_checkpoint``), the ``epoch_N.pth`` /
    ``iter_N.pth`` of the highest N is taken. Checkpoints are written whole or
    not at all (``AtomicLocalBackend``); ``*.part`` files are never taken.
    """
    pointer = Path(work_dir) / 'last_checkpoint'
    named = pointer.read_text().strip() if pointer.is_file() else ''
    if named and Path(named).is_file():
        return named
    numbered = [(int(m[2]), m[1] == 'iter', path)
                for path in Path(work_dir).glob('*.pth')
                if (m := re.fullmatch(r'(epoch|iter)_(\d+)\.pth', path.name))]
    if not numbered:
        return None
    found = str(max(numbered)[2])
    if named:
        print_log(
            f'{pointer} names {named}, which does not exist; resuming from '
            f'{found}',
            logger='current',
            level=logging.WARNING)
    return found
