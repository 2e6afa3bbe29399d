"""Bottom-up and single-stage pose estimation (MLN, OpenPose, SMPR) on images, a folder, a video,
a camera or a stream.

No person detector: the model finds every person's keypoints in the whole image (grouping them, or
regressing whole poses).
Each input gets its drawn picture and a JSON of the people found in ``--output-dir`` (a camera or
stream: the JSON only, see ``--per-frame``), each written whole as soon as it is done
(``--skip-existing`` resumes a run that was stopped). ``--output-video`` / ``--show`` get the
drawn frames with the FPS and the time of each stage (preprocess, network, decoding, ...); the
means are printed at the end. ``--track`` gives people ids kept across frames (``track_id`` in
the JSON, one colour per id). The shared front end: ``custom_modules/apis/demo_runner.py``.
A checkpoint of another model is refused before it loads; an image that cannot be read is
reported and the others still processed; the exit status is 1 if any input failed, 2 if
nothing could run.

    python tools/bottomup_demo.py configs/mln/paf_mln-vgg19_1xb28-100e_coco-368x368.py MLN_CKPT \\
        --input demo.jpg
    python tools/bottomup_demo.py configs/smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py SMPR_CKPT \\
        --input 0 --output-video webcam.mp4 --show --track

The same through mmpose's own API::

    MMPoseInferencer(pose2d=MLN_CONFIG, pose2d_weights=MLN_CKPT)
"""
import argparse
import sys
from typing import List, Optional, Sequence

import numpy as np


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from custom_modules.apis.demo_runner import add_demo_arguments, check_demo_arguments

    parser = argparse.ArgumentParser(description='Bottom-up pose estimation')
    parser.add_argument('pose_config', help='bottom-up pose config of this project')
    parser.add_argument('pose_checkpoint', help='pose checkpoint (path or URL)')
    add_demo_arguments(parser, output_dir='work_dirs/bottomup_demo')
    parser.add_argument('--kpt-thr', type=float, default=0.1, help='keypoint score to draw')
    parser.add_argument(
        '--device-preprocess',
        action='store_true',
        help='prepare each frame in torch ops on --device (mmpose\'s BottomupResize and '
        'normalisation, one upload per frame; for a GPU) instead of mmpose\'s pipeline')
    parser.add_argument(
        '--skeleton-style',
        default='mmpose',
        choices=['mmpose', 'openpose'],
        help='draw COCO\'s skeleton or OpenPose\'s (with the neck)')
    args = parser.parse_args(argv)
    check_demo_arguments(parser, args)
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Returns the exit status: 0, 1 if an input could not be read, 2 if nothing could run."""
    args = parse_args(argv)
    from custom_modules.apis import CheckpointMismatchError, InputError, init_pose_model
    from custom_modules.apis.backends import BackendError
    from custom_modules.apis.demo_runner import (DemoOptions, make_drawer, make_tracker,
                                                 open_demo_source, run_demo, use_backend)
    from custom_modules.apis.frame_preprocessor import UnsupportedPipelineError, bottomup_inference
    from custom_modules.apis.stage_timer import StageTimer

    try:
        source = open_demo_source(args)  # before the minutes a model may take
    except InputError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    try:
        model = init_pose_model(args.pose_config, args.pose_checkpoint, args.device)
        use_backend(model, args)
        infer = bottomup_inference(model, on_device=args.device_preprocess)
    except (CheckpointMismatchError, BackendError, UnsupportedPipelineError) as error:
        source.close()
        option = '--device-preprocess: ' if isinstance(error, UnsupportedPipelineError) else ''
        print(f'error: {option}{error}', file=sys.stderr)
        return 2
    timer = StageTimer.for_device(args.device)
    timer.instrument(model)  # network and decoding inside inference_bottomup

    def predict(name: str, image: np.ndarray) -> List[dict]:
        with timer.stage('preprocess'):  # what the model's stages leave: pipeline, packing
            pred = infer(image).pred_instances
        return [
            dict(keypoints=keypoints.tolist(), keypoint_scores=scores.tolist(),
                 score=float(score)) for keypoints, scores, score in zip(
                     pred.keypoints, pred.keypoint_scores, pred.bbox_scores)
        ]

    return run_demo(
        source,
        predict,
        DemoOptions.from_args(args),
        draw=make_drawer(args, model, draw_bbox=False),
        timer=timer,
        tracker=make_tracker(args, model.dataset_meta, source.fps))


if __name__ == '__main__':
    sys.exit(main())
