"""Top-down multi-person pose estimation on images, a folder or a video.

Person boxes come from the YOLOv3 detector of MMDetection (HSR-MSNet's pipeline) or, with
``--bbox-file``, from a COCO annotation / detection file (how the paper evaluates with a fixed
detector). Each input gets its drawn picture and a JSON of predictions in ``--output-dir``,
each written whole as soon as it is done (``--skip-existing`` resumes a run that was stopped).
A checkpoint of another model is refused before it loads; an image that cannot be read is
reported and the others still processed; the exit status is 1 if any input failed, 2 if
nothing could run.

    python tools/topdown_demo.py POSE_CONFIG POSE_CKPT --input demo.jpg \\
        --det-checkpoint https://download.openmmlab.com/mmdetection/v2.0/yolo/...a2c3acb8.pth
    python tools/topdown_demo.py POSE_CONFIG POSE_CKPT --input tests/data/coco \\
        --bbox-file tests/data/coco/test_coco_det_AP_H_56.json

The same through mmpose's own API::

    MMPoseInferencer(pose2d=POSE_CONFIG, pose2d_weights=POSE_CKPT,
                     det_model='configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py',
                     det_weights=YOLOV3_CKPT, det_cat_ids=[0])
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DETECTOR = REPO_ROOT / 'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Top-down pose estimation with person boxes')
    parser.add_argument('pose_config', help='top-down pose config of this project')
    parser.add_argument('pose_checkpoint', help='pose checkpoint (path or URL)')
    parser.add_argument('--input', required=True, help='an image, a folder of images or a video')
    parser.add_argument('--output-dir', default='work_dirs/topdown_demo', help='where results go')
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
    args = parser.parse_args()
    if args.bbox_file is not None and args.det_checkpoint is not None:
        parser.error('--bbox-file and --det-checkpoint exclude each other')
    if args.bbox_file is None and args.det_checkpoint is None:
        parser.error('give --det-checkpoint (YOLOv3 weights) or --bbox-file (boxes from a file)')
    return args


def main() -> int:
    """Returns the exit status: 0, 1 if an input could not be read, 2 if nothing could run."""
    args = parse_args()
    from mmpose.registry import VISUALIZERS

    from custom_modules.apis import (CheckpointMismatchError, InputError, build_person_detector,
                                     detect_persons, estimate_poses, init_pose_model,
                                     load_person_boxes, open_inputs, process_inputs)

    try:
        count, frames = open_inputs(Path(args.input))  # before the model loads
        pose_model = init_pose_model(args.pose_config, args.pose_checkpoint, args.device)
    except (InputError, CheckpointMismatchError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    visualizer = VISUALIZERS.build(pose_model.cfg.visualizer)
    visualizer.set_dataset_meta(pose_model.dataset_meta)

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

    def predict(name: str, image: np.ndarray, out_image: Optional[Path]) -> List[dict]:
        return estimate_poses(pose_model, image, get_boxes(name, image), visualizer,
                              None if out_image is None else str(out_image), args.kpt_thr)

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
