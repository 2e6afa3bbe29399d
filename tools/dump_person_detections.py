# Copyright (c) OpenMMLab. All rights reserved.
"""Write a COCO-format person detection file with an MMDetection detector
(YOLOv3 by default).

The file is what a top-down config's ``bbox_file`` takes, which is how
HSR-MSNet (and mmpose) are evaluated with a fixed person detector:

    python tools/dump_person_detections.py --images data/coco/val2017 \\
        --ann-file data/coco/annotations/person_keypoints_val2017.json \\
        --det-checkpoint YOLOV3_CKPT \\
        --out data/coco/person_detection_results/yolov3_val2017.json

With ``--ann-file`` the images and their ids come from that COCO json; without
it every image of the folder is used and its id is its file name's number
(COCO's ``%012d.jpg`` naming). Each detection: ``{"image_id", "category_id": 1,
"bbox": [x, y, w, h], "score"}``.

An image that cannot be read (missing, empty, truncated, not an image) is named
and skipped; the file is still written, with the detections of every other
image, and the tool then exits with status 1. What makes the run impossible is
refused in one line with exit status 2 before any image is read: a missing
``--images`` folder or ``--ann-file``, an image entry without ``id`` or
``file_name``, an ``--out`` that cannot be written, a ``--device`` this machine
lacks, a ``--det-checkpoint`` none of whose weights fits ``--det-config``'s
detector.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from custom_modules.apis import IMAGE_SUFFIXES, InputError
from custom_modules.apis.topdown_pipeline import coco_image_files
from custom_modules.utils import exit_on_user_error, output_file
from custom_modules.utils.benchmark_timing import inference_device

TOOL = 'tools/dump_person_detections.py'

DEFAULT_DETECTOR = (
    Path(__file__).resolve().parents[1] /
    'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Dump person detections in COCO format')
    parser.add_argument('--images', required=True, help='folder of the images')
    parser.add_argument(
        '--ann-file', help='COCO json listing the images (ids and file names)')
    parser.add_argument(
        '--out', required=True, type=output_file, help='output json file')
    parser.add_argument(
        '--det-config',
        default=str(DEFAULT_DETECTOR),
        help='MMDetection config')
    parser.add_argument(
        '--det-checkpoint',
        required=True,
        help='detector checkpoint (path or URL)')
    parser.add_argument(
        '--det-cat-id',
        type=int,
        default=0,
        help='person label of the detector')
    parser.add_argument(
        '--bbox-thr',
        type=float,
        default=0.0,
        help='keep boxes above this score')
    parser.add_argument(
        '--nms-thr',
        type=float,
        default=1.0,
        help='IoU threshold of an extra NMS over the person boxes (1: none)')
    parser.add_argument(
        '--device',
        default='cpu',
        type=inference_device,
        help='e.g. cpu or cuda:0')
    return parser.parse_args()


def list_images(image_dir: Path,
                ann_file: Optional[str] = None) -> List[Tuple[int, Path]]:
    """``(image_id, path)`` of every image to run on.

    Raises:
        InputError: If ``image_dir`` is no folder, ``ann_file`` does not
            exist, is not JSON or has no ``images`` list or an image without
            ``id`` or ``file_name``, or if a file name carries no number and
            no ``--ann-file`` gives the ids; the message names the option or
            the file, and the entry.
    """
    if not image_dir.is_dir():
        what = 'is not a folder' if image_dir.exists() else 'does not exist'
        raise InputError(f'{image_dir}: --images {what}')
    if ann_file is not None:
        return [(image_id, image_dir / name)
                for image_id, name in annotated_images(ann_file)]
    listed = []
    for path in sorted(p for p in image_dir.iterdir()
                       if p.suffix.lower() in IMAGE_SUFFIXES):
        if not path.stem.isdigit():
            raise InputError(
                f'{path}: the image id is taken from the file name, which has '
                'no number; pass --ann-file to give the ids')
        listed.append((int(path.stem), path))
    renamed = [(image_id, path.name) for image_id, path in listed
               if path.name != f'{image_id:012d}.jpg']
    if renamed:
        image_id, name = renamed[0]
        print(
            f'warning: {len(renamed)} images not named as COCO\'s %012d.jpg: '
            'the detections name an image by its id only, so '
            'tools/inferencer_demo.py --bbox-file looks for the boxes of '
            f'e.g. {name} under {image_id:012d}.jpg',
            file=sys.stderr)
    return listed


def annotated_images(ann_file: str) -> List[Tuple[int, str]]:
    """``(image_id, file_name)`` of the images of the COCO json ``ann_file``.

    Raises:
        InputError: Naming ``ann_file`` (and the entry and field): missing or
            unreadable, not JSON, not a dict, no ``images`` list, an image
            without ``id`` or ``file_name``.
    """
    try:
        with open(ann_file) as f:
            content = json.load(f)
    except OSError as error:
        raise InputError(f'{ann_file}: --ann-file cannot be read '
                         f'({error.strerror or error})') from None
    except json.JSONDecodeError as error:
        raise InputError(
            f'{ann_file}: --ann-file is not JSON ({error})') from None
    if not isinstance(content, dict):
        raise InputError(f'{ann_file}: --ann-file is a '
                         f'{type(content).__name__}, not a COCO dict')
    return coco_image_files(content, ann_file)


def main() -> None:
    args = parse_args()
    from custom_modules.apis import (build_person_detector, coco_detections,
                                     detect_persons)
    from custom_modules.apis.demo_io import write_atomically
    from custom_modules.datasets import ImageFileError, read_image_file

    with exit_on_user_error(TOOL):
        images = list_images(Path(args.images), args.ann_file)
        detector = build_person_detector(args.det_config, args.det_checkpoint,
                                         args.device)
    detections, failed = [], []
    for image_id, path in images:
        try:
            image = read_image_file(str(path))
        except ImageFileError as error:  # named, and the others still run
            print(f'skipped: {error}', file=sys.stderr, flush=True)
            failed.append(path)
            continue
        boxes = detect_persons(detector, image, args.det_cat_id, args.bbox_thr,
                               args.nms_thr)
        detections += coco_detections(image_id, boxes)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_atomically(
        Path(args.out),
        json.dumps(detections, allow_nan=False).encode())
    print(f'{len(detections)} person detections in '
          f'{len(images) - len(failed)} images -> {args.out}')
    if failed:
        sys.exit(f'dump_person_detections.py: {len(failed)} of {len(images)} '
                 'images could not be read (named above); their detections '
                 f'are not in {args.out}')


if __name__ == '__main__':
    main()
