# Copyright (c) OpenMMLab. All rights reserved.
"""Small COCO-style datasets with one kind of fault each, generated from the
bundled sample.

``make_faulty_coco(root, fault)`` copies the 4 sample images and their
annotations into ``root`` and adds the fault; it returns the annotation file.
Faults that are images of another kind (grey, RGBA, 16-bit PNG) add one image
with the people of the first sample image; the others change the annotation
file or the image files as their name says.
"""
import copy
import json
import shutil
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from custom_modules.datasets.crowd_segmentation import uncompressed_counts

SAMPLE = Path(__file__).resolve().parents[1] / 'data/coco'
SAMPLE_ANN = SAMPLE / 'test_coco.json'
FAULTS = ('missing_image', 'truncated_jpeg', 'corrupt_jpeg', 'gray_png',
          'rgba_png', 'png16', 'nobody', 'zero_visible', 'keypoints_outside',
          'zero_area_box', 'negative_box', 'crowd')


def sample_coco() -> dict:
    return json.loads(SAMPLE_ANN.read_text())


def _add_copy_of_first_image(coco: dict, file_name: str) -> dict:
    """Append an image entry named ``file_name`` with the first image's size
    and people."""
    first = coco['images'][0]
    new_id = max(img['id'] for img in coco['images']) + 1
    coco['images'].append(dict(first, id=new_id, file_name=file_name))
    next_ann = max(ann['id'] for ann in coco['annotations']) + 1
    for ann in [
            a for a in coco['annotations'] if a['image_id'] == first['id']
    ]:
        coco['annotations'].append(
            dict(copy.deepcopy(ann), id=next_ann, image_id=new_id))
        next_ann += 1
    return coco['images'][-1]


def make_faulty_coco(root: Path,
                     *faults: str,
                     coco: Optional[dict] = None) -> Path:
    """Write the sample with ``faults`` into ``root``; return its annotation
    file.

    Each fault that changes a person changes another one of the sample's people
    with keypoints. ``coco``: the annotations to write instead of the sample's
    (a test's own change of them).
    """
    root.mkdir(parents=True, exist_ok=True)
    for image in SAMPLE.glob('*.jpg'):
        shutil.copy(image, root / image.name)
    coco = sample_coco() if coco is None else coco
    if faults:
        people = [a for a in coco['annotations'] if a['num_keypoints'] > 0]
        for index, fault in enumerate(faults):
            _add_fault(root, coco, fault, people[index])
    ann_file = root / 'annotations.json'
    ann_file.write_text(json.dumps(coco))
    return ann_file


def _add_fault(root: Path, coco: dict, fault: str, person: dict) -> None:
    """Add ``fault`` to ``coco`` (and to the image files in ``root``);
    ``person`` is the annotation a fault of one person changes."""
    if fault not in FAULTS:
        raise ValueError(f'unknown fault {fault!r}; one of {FAULTS}')
    first = coco['images'][0]
    first_image = cv2.imread(str(SAMPLE / first['file_name']))
    image = next(img for img in coco['images']
                 if img['id'] == person['image_id'])

    if fault == 'missing_image':
        _add_copy_of_first_image(coco, 'missing.jpg')
    elif fault == 'truncated_jpeg':
        data = (SAMPLE / first['file_name']).read_bytes()
        (root / 'truncated.jpg').write_bytes(data[:len(data) // 2])
        _add_copy_of_first_image(coco, 'truncated.jpg')
    elif fault == 'corrupt_jpeg':
        # random bytes named .jpg
        size = (SAMPLE / first['file_name']).stat().st_size
        (root / 'corrupt.jpg').write_bytes(
            np.random.default_rng(0).integers(0, 256, size,
                                              dtype=np.uint8).tobytes())
        _add_copy_of_first_image(coco, 'corrupt.jpg')
    elif fault == 'gray_png':
        cv2.imwrite(
            str(root / 'gray.png'),
            cv2.cvtColor(first_image, cv2.COLOR_BGR2GRAY))
        _add_copy_of_first_image(coco, 'gray.png')
    elif fault == 'rgba_png':
        bgra = cv2.cvtColor(first_image, cv2.COLOR_BGR2BGRA)
        bgra[..., 3] = 128
        cv2.imwrite(str(root / 'rgba.png'), bgra)
        _add_copy_of_first_image(coco, 'rgba.png')
    elif fault == 'png16':
        cv2.imwrite(
            str(root / 'png16.png'),
            first_image.astype(np.uint16) * 257)
        _add_copy_of_first_image(coco, 'png16.png')
    elif fault == 'nobody':
        cv2.imwrite(
            str(root / 'nobody.jpg'), np.full((240, 320, 3), 127, np.uint8))
        new_id = max(img['id'] for img in coco['images']) + 1
        coco['images'].append(
            dict(
                first,
                id=new_id,
                file_name='nobody.jpg',
                height=240,
                width=320))
    elif fault == 'zero_visible':
        person['keypoints'] = [0] * 51
        person['num_keypoints'] = 0
    elif fault == 'keypoints_outside':
        kpts = np.array(person['keypoints'], float).reshape(17, 3)
        # five visible keypoints right of the image
        kpts[:5, 0] = image['width'] + 50
        kpts[:5, 2] = 2
        person['keypoints'] = kpts.reshape(-1).tolist()
        person['num_keypoints'] = int((kpts[:, 2] > 0).sum())
    elif fault == 'zero_area_box':
        person['bbox'][2] = 0
    elif fault == 'negative_box':
        person['bbox'][2] = -person['bbox'][2]
        person['bbox'][3] = -person['bbox'][3]
    elif fault == 'crowd':
        # COCO's run-length form, as its crowd regions are
        crowd = np.zeros((first['height'], first['width']), np.uint8)
        crowd[10:90, 10:70] = 1
        coco['annotations'].append(
            dict(
                id=max(a['id'] for a in coco['annotations']) + 1,
                image_id=first['id'],
                category_id=1,
                iscrowd=1,
                num_keypoints=0,
                keypoints=[0] * 51,
                bbox=[10, 10, 60, 80],
                area=4800.0,
                segmentation=dict(
                    counts=uncompressed_counts(crowd),
                    size=[first['height'], first['width']])))
