# Copyright (c) OpenMMLab. All rights reserved.
"""Train a pose model from a config.

The same command line as mmpose's ``tools/train.py``::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] \\
        [--cfg-options k=v ...]
    # N processes; gloo on a machine without GPU
    bash tools/dist_train.sh CONFIG N [...]
    # Slurm (GPUS=..., ...)
    bash tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR [...]
"""
import argparse
import logging
import os

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from custom_modules.utils import (build_checked_runner, check_checkpoint_hooks,
                                  check_paramwise_cfg, destroy_distributed,
                                  enable_visualization, exit_on_user_error,
                                  explain_config_errors, explain_lost_peers,
                                  latest_checkpoint, set_work_dir,
                                  setup_cpu_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a pose model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a path, from the latest '
        'checkpoint in the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed-precision training')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size over '
        '`auto_scale_lr.base_batch_size`')
    parser.add_argument(
        '--show-dir',
        help='save the visualized validation images in this folder (relative '
        'to <work_dir>/<timestamp>/)')
    parser.add_argument(
        '--show',
        action='store_true',
        help='display validation images in a window')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize the first image of every n-th validation batch')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=1,
        help='display time of a window (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, as key=value pairs (e.g. '
        'train_cfg.max_epochs=2)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line arguments to the config."""
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)

    if args.amp:
        wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        # a pure-Python config names the class itself, as mmpose's tool takes
        wrapper_type = getattr(wrapper_type, '__name__', wrapper_type)
        if wrapper_type not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(
                f'{args.config}: --amp needs optim_wrapper.type OptimWrapper, '
                f'got {wrapper_type!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume is not None and args.resume != 'auto':
        cfg.resume, cfg.load_from = True, args.resume

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise KeyError(
                f'{args.config}: --auto-scale-lr needs '
                '`auto_scale_lr = dict(base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True

    enable_visualization(cfg, args, args.config)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.resume == 'auto' and 'load_from' in (args.cfg_options or {}):
        # --cfg-options load_from=X is resumed, as mmpose's tool does
        cfg.resume = True
    elif args.resume == 'auto':
        # in the work_dir as --cfg-options leave it; mmengine's own search
        # trusts `last_checkpoint` blindly (see latest_checkpoint): without a
        # checkpoint the run starts afresh (from the config's load_from, if
        # any)
        found = latest_checkpoint(cfg.work_dir)
        if found is not None:  # in place of the config's load_from
            cfg.resume, cfg.load_from = True, found
        else:  # not mmengine's own search either
            cfg.resume = False
            print_log(
                f'--resume: no checkpoint in {cfg.work_dir}; the run starts '
                'afresh' +
                (f' from {cfg.load_from}' if cfg.get('load_from') else ''),
                logger='current',
                level=logging.WARNING)
    return cfg


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg)
    with exit_on_user_error('tools/train.py'), \
            explain_config_errors(args.config, cfg, args.cfg_options), \
            explain_lost_peers(cfg.work_dir):
        check_paramwise_cfg(cfg, args.config, args.cfg_options)
        # the checkpoint it starts from (load_from) or resumes (--resume),
        # checked before the first iteration: mmengine trains from random
        # weights after a warning for one of which nothing fits, and fails
        # with KeyError: 'epoch' to resume from a weights file
        runner = build_checked_runner(cfg, partial=True)
        check_checkpoint_hooks(runner, args.config, args.cfg_options)
        runner.train()
    del runner  # see destroy_distributed
    destroy_distributed()


if __name__ == '__main__':
    main()
