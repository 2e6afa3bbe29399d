"""Person boxes (YOLOv3 or COCO files) and top-down poses on whole images."""
import json

import mmcv
import numpy as np
import pytest
from mmdet.apis import init_detector
from mmpose.utils import adapt_mmdet_pipeline

from custom_modules.apis import detect_persons, load_person_boxes

DETECTOR_CONFIG = 'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py'


def test_yolov3_person_detector_builds_and_runs_on_cpu(repo_root):
    detector = init_detector(str(repo_root / DETECTOR_CONFIG), None, device='cpu')
    detector.cfg = adapt_mmdet_pipeline(detector.cfg)
    assert type(detector).__name__ == 'YOLOV3'
    assert detector.bbox_head.num_classes == 80
    assert detector.test_cfg.nms.iou_threshold == 0.45
    image = mmcv.imread(str(repo_root / 'tests/data/coco/000000000785.jpg'))
    # Random weights: any box may come out, but the shape and the filtering must hold.
    boxes = detect_persons(detector, image, cat_id=0, score_thr=0.0, nms_thr=0.3)
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 5
    assert np.all(np.diff(boxes[:, 4]) <= 0)  # highest score first
    stricter = detect_persons(detector, image, cat_id=0, score_thr=0.9, nms_thr=0.3)
    assert len(stricter) <= len(boxes) and np.all(stricter[:, 4] > 0.9)


def test_ground_truth_boxes_from_an_annotation_file(repo_root):
    boxes = load_person_boxes(str(repo_root / 'tests/data/coco/test_coco.json'))
    with open(repo_root / 'tests/data/coco/test_coco.json') as f:
        coco = json.load(f)
    assert sum(len(b) for b in boxes.values()) == sum(not a['iscrowd'] for a in coco['annotations'])
    first = coco['annotations'][0]
    name = next(i['file_name'] for i in coco['images'] if i['id'] == first['image_id'])
    x, y, w, h = first['bbox']
    assert any(np.allclose(b, [x, y, x + w, y + h, 1.0]) for b in boxes[name])


def test_detections_from_a_results_file_keyed_by_coco_file_name(repo_root):
    boxes = load_person_boxes(str(repo_root / 'tests/data/coco/test_coco_det_AP_H_56.json'),
                              score_thr=0.5)
    assert set(boxes) <= {p.name for p in (repo_root / 'tests/data/coco').glob('*.jpg')}
    assert all(np.all(b[:, 4] >= 0.5) and np.all(b[:, 2:4] > b[:, :2]) for b in boxes.values())


@pytest.mark.parametrize('content, message', [
    ({'images': []}, '"images" and "annotations"'),
    ([{'bbox': [0, 0, 1, 1]}], 'entry 0 lacks'),
    ('boxes', 'expected a COCO annotation dict'),
])
def test_malformed_box_files_name_the_file_and_field(tmp_path, content, message):
    path = tmp_path / 'boxes.json'
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=message) as error:
        load_person_boxes(str(path))
    assert str(path) in str(error.value)
