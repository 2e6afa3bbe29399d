# Copyright (c) OpenMMLab. All rights reserved.
"""Test (and evaluate) a pose model checkpoint.

The same command line as mmpose's ``tools/test.py``::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] \\
        [--out metrics.json] [--dump preds.pkl]
    bash tools/dist_test.sh CONFIG CHECKPOINT N [...]
    # Slurm (GPUS=..., ...)
    bash tools/slurm_test.sh PARTITION JOB CONFIG CHECKPOINT [...]
"""
import argparse
import os

import mmengine
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook

from custom_modules.utils import (build_checked_runner, destroy_distributed,
                                  enable_visualization, exit_on_user_error,
                                  explain_config_errors, output_file,
                                  set_work_dir, setup_cpu_distributed)

#: What mmengine.dump writes the metrics of ``--out`` as.
OUT_SUFFIXES = ('.json', '.yaml', '.yml', '.pkl', '.pickle')
#: What mmengine's ``DumpResults`` writes the predictions of ``--dump`` to.
DUMP_SUFFIXES = ('.pkl', '.pickle')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a pose model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for the evaluation logs')
    parser.add_argument(
        '--out',
        type=output_file,
        help='save the metrics to this file (json/yaml/pkl)')
    parser.add_argument(
        '--dump',
        type=output_file,
        help='dump the predictions to this pickle file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='override config settings, as key=value pairs (e.g. '
        'model.test_cfg.flip_test=False)')
    parser.add_argument(
        '--show-dir',
        help='save the visualized test images in this folder (relative '
        'to <work_dir>/<timestamp>/)')
    parser.add_argument(
        '--show', action='store_true', help='display test images in a window')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize every n-th test image')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=1,
        help='display time of a window (s)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if args.out is not None and not args.out.endswith(OUT_SUFFIXES):
        # refused before inference, not when the metrics are written
        parser.error(f'--out {args.out}: the metrics are written as '
                     f'{"/".join(s[1:] for s in OUT_SUFFIXES)}; give a file '
                     'name ending so')
    if args.dump is not None and not args.dump.endswith(DUMP_SUFFIXES):
        # mmengine's DumpResults refuses it, once the Runner is built
        parser.error(f'--dump {args.dump}: the predictions are written as a '
                     'pickle; give a file name ending in .pkl or .pickle')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line arguments to the config; ``--cfg-options`` last
    but for ``--dump``, so that they override (``load_from=...`` the checkpoint
    too) and that ``test_evaluator.ann_file=...`` still names the config's
    evaluator, before ``--dump`` makes a list of it, with the dump first, so
    that the predictions are saved even when a metric fails on them.

    ``resume`` is always False: testing loads the checkpoint's weights.
    """
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint
    set_work_dir(cfg, args.work_dir, args.config)

    enable_visualization(cfg, args, args.config)

    cfg.merge_from_dict(args.cfg_options)
    # the weights only: a config a resumed training saved in its work_dir has
    # resume=True, with which mmengine would resume the checkpoint's training
    # state (building the train loop, and failing on a weights file)
    cfg.resume = False
    if args.dump is not None:
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        if isinstance(evaluators, (list, tuple)):
            evaluators = list(evaluators)
        else:
            evaluators = [evaluators]
        cfg.test_evaluator = [dump_metric, *evaluators]
    return cfg


class SaveMetricsHook(Hook):
    """Write the test metrics to a file once the test epoch ends."""

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file

    def after_test_epoch(self, runner, metrics=None) -> None:
        if metrics is not None and runner.rank == 0:
            mmengine.dump(metrics, self.out_file)


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg)
    with exit_on_user_error('tools/test.py'), \
            explain_config_errors(args.config, cfg, args.cfg_options):
        # the checkpoint the runner loads is `load_from` (CHECKPOINT, unless
        # --cfg-options sets another); mmengine loads one of another model
        # with a warning and tests random weights
        runner = build_checked_runner(cfg)
        if args.out:
            runner.register_hook(SaveMetricsHook(args.out), 'LOWEST')
        runner.test()
    del runner  # see destroy_distributed
    destroy_distributed()


if __name__ == '__main__':
    main()
