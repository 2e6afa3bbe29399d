"""Top-down multi-person pose estimation (HSR-MSNet, MLPE) on images, a folder, a video, a camera
or a stream.

Person boxes come from the YOLOv3 detector of MMDetection (HSR-MSNet's pipeline) or, with
``--bbox-file``, from a COCO annotation / detection file (how the paper evaluates with a fixed
detector; a video's frames are named ``<stem>_<index:06d>.jpg``). Each input gets its drawn
picture and a JSON of predictions in ``--output-dir`` (a camera or stream: the JSON only, see
``--per-frame``), each written whole as soon as it is done (``--skip-existing`` resumes a run
that was stopped). ``--output-video`` / ``--show`` get the drawn frames with the FPS and the time
of each stage (detector, preprocess, network, decoding, ...); the means are printed at the end.
``--track`` gives people ids kept across frames (``track_id`` in the JSON, one colour per id).
The shared front end: ``custom_modules/apis/demo_runner.py``.
A checkpoint of another model is refused before it loads; an image that cannot be read is
reported and the others still processed; the exit status is 1 if any input failed, 2 if
nothing could run.

    python tools/topdown_demo.py POSE_CONFIG POSE_CKPT --input demo.jpg \\
        --det-checkpoint https://download.openmmlab.com/mmdetection/v2.0/yolo/...a2c3acb8.pth
    python tools/topdown_demo.py POSE_CONFIG POSE_CKPT --input tests/data/coco \\
        --bbox-file tests/data/coco/test_coco_det_AP_H_56.json
    python tools/topdown_demo.py POSE_CONFIG POSE_CKPT --input 0 --det-checkpoint YOLOV3_CKPT \\
        --output-video webcam.mp4 --show --track --track-metric iou

The same through mmpose's own API::

    MMPoseInferencer(pose2d=POSE_CONFIG, pose2d_weights=POSE_CKPT,
                     det_model='configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py',
                     det_weights=YOLOV3_CKPT, det_cat_ids=[0])
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DETECTOR = REPO_ROOT / 'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from custom_modules.apis.demo_runner import add_demo_arguments, check_demo_arguments

    parser = argparse.ArgumentParser(description='Top-down pose estimation with person boxes')
    parser.add_argument('pose_config', help='top-down pose config of this project')
    parser.add_argument('pose_checkpoint', help='pose checkpoint (path or URL)')
    add_demo_arguments(parser, output_dir='work_dirs/topdown_demo')
    parser.add_argument('--det-config', default=str(DEFAULT_DETECTOR), help='MMDetection config')
    parser.add_argument('--det-checkpoint', help='detector checkpoint (path or URL)')
    parser.add_argument(
        '--bbox-file',
        help='take person boxes from this COCO annotation or detection json instead '
        'of detecting (then --det-* and --nms-thr do not apply)')
    parser.add_argument('--det-cat-id', type=int, default=0, help='person label of the detector')
    parser.add_argument('--bbox-thr', type=float, default=0.3, help='person box score threshold')
    parser.add_argument('--nms-thr', type=float, default=0.3, help='IoU threshold of box NMS')
    parser.add_argument('--kpt-thr', type=float, default=0.3, help='keypoint score to draw')
    args = parser.parse_args(argv)
    if args.bbox_file is not None and args.det_checkpoint is not None:
        parser.error('--bbox-file and --det-checkpoint exclude each other')
    if args.bbox_file is None and args.det_checkpoint is None:
        parser.error('give --det-checkpoint (YOLOv3 weights) or --bbox-file (boxes from a file)')
    check_demo_arguments(parser, args)
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Returns the exit status: 0, 1 if an input could not be read, 2 if nothing could run."""
    args = parse_args(argv)

    from custom_modules.apis import (CheckpointMismatchError, InputError, build_person_detector,
                                     detect_persons, estimate_poses, init_pose_model,
                                     load_person_boxes)
    from custom_modules.apis.backends import BackendError
    from custom_modules.apis.demo_runner import (DemoOptions, make_drawer, make_tracker,
                                                 open_demo_source, run_demo, use_backend)
    from custom_modules.apis.stage_timer import StageTimer

    try:
        source = open_demo_source(args)  # before the model loads
    except InputError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    try:
        pose_model = init_pose_model(args.pose_config, args.pose_checkpoint, args.device)
        use_backend(pose_model, args)
    except (CheckpointMismatchError, BackendError) as error:
        source.close()
        print(f'error: {error}', file=sys.stderr)
        return 2
    timer = StageTimer.for_device(args.device)
    timer.instrument(pose_model)  # network and decoding inside inference_topdown

    if args.bbox_file is not None:
        file_boxes = load_person_boxes(args.bbox_file, score_thr=args.bbox_thr)

        def get_boxes(name: str, image: np.ndarray) -> np.ndarray:
            if name not in file_boxes:
                print(f'{name}: no person box in {args.bbox_file}')
            return file_boxes.get(name, np.zeros((0, 5), np.float32))
    else:
        detector = build_person_detector(args.det_config, args.det_checkpoint, args.device)

        def get_boxes(name: str, image: np.ndarray) -> np.ndarray:
            return detect_persons(detector, image, args.det_cat_id, args.bbox_thr, args.nms_thr)

    def predict(name: str, image: np.ndarray) -> List[dict]:
        with timer.stage('detector'):
            boxes = get_boxes(name, image)
        with timer.stage('preprocess'):  # what the model's stages leave: pipeline, packing
            return estimate_poses(pose_model, image, boxes)

    return run_demo(
        source,
        predict,
        DemoOptions.from_args(args),
        draw=make_drawer(args, pose_model, draw_bbox=True),
        timer=timer,
        tracker=make_tracker(args, pose_model.dataset_meta, source.fps))


if __name__ == '__main__':
    sys.exit(main())
