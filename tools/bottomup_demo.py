"""Bottom-up and single-stage pose estimation (MLN, OpenPose, SMPR) on images, a folder or a video.

No person detector: the model finds every person's keypoints in the whole image (grouping them, or
regressing whole poses).
Each input gets its drawn picture and a JSON of the people found in ``--output-dir``, each
written whole as soon as it is done (``--skip-existing`` resumes a run that was stopped).
A checkpoint of another model is refused before it loads; an image that cannot be read is
reported and the others still processed; the exit status is 1 if any input failed, 2 if
nothing could run.

    python tools/bottomup_demo.py configs/mln/paf_mln-vgg19_1xb28-100e_coco-368x368.py MLN_CKPT \\
        --input demo.jpg

The same through mmpose's own API::

    MMPoseInferencer(pose2d=MLN_CONFIG, pose2d_weights=MLN_CKPT)
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Bottom-up pose estimation')
    parser.add_argument('pose_config', help='bottom-up pose config of this project')
    parser.add_argument('pose_checkpoint', help='pose checkpoint (path or URL)')
    parser.add_argument('--input', required=True, help='an image, a folder of images or a video')
    parser.add_argument('--output-dir', default='work_dirs/bottomup_demo', help='where results go')
    parser.add_argument('--kpt-thr', type=float, default=0.1, help='keypoint score to draw')
    parser.add_argument(
        '--skeleton-style',
        default='mmpose',
        choices=['mmpose', 'openpose'],
        help='draw COCO\'s skeleton or OpenPose\'s (with the neck)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    parser.add_argument(
        '--skip-existing',
        action='store_true',
        help='leave out the inputs whose JSON is already in --output-dir')
    parser.add_argument('--no-draw', action='store_true', help='write the JSONs only')
    parser.add_argument(
        '--log-interval',
        type=int,
        default=100,
        help='print the peak memory (RSS) every this many inputs (0: never)')
    return parser.parse_args()


def main() -> int:
    """Returns the exit status: 0, 1 if an input could not be read, 2 if nothing could run."""
    args = parse_args()
    from mmpose.apis import inference_bottomup
    from mmpose.registry import VISUALIZERS

    from custom_modules.apis import (CheckpointMismatchError, InputError, init_pose_model,
                                     open_inputs, process_inputs, write_image)

    try:
        count, frames = open_inputs(Path(args.input))  # before the minutes a model may take
        model = init_pose_model(args.pose_config, args.pose_checkpoint, args.device)
    except (InputError, CheckpointMismatchError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.set_dataset_meta(model.dataset_meta, skeleton_style=args.skeleton_style)

    def predict(name: str, image: np.ndarray, out_image: Optional[Path]) -> List[dict]:
        result = inference_bottomup(model, image)[0]
        if out_image is not None:
            drawn = visualizer.add_datasample(
                name,
                image[..., ::-1],
                data_sample=result,
                draw_gt=False,
                draw_bbox=False,
                kpt_thr=args.kpt_thr,
                skeleton_style=args.skeleton_style,
                show=False)
            write_image(out_image, drawn[..., ::-1])
        pred = result.pred_instances
        return [
            dict(keypoints=keypoints.tolist(), keypoint_scores=scores.tolist(),
                 score=float(score)) for keypoints, scores, score in zip(
                     pred.keypoints, pred.keypoint_scores, pred.bbox_scores)
        ]

    return process_inputs(
        count,
        frames,
        predict,
        Path(args.output_dir),
        draw=not args.no_draw,
        skip_existing=args.skip_existing,
        log_interval=args.log_interval)


if __name__ == '__main__':
    sys.exit(main())
