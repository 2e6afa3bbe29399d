# Copyright (c) OpenMMLab. All rights reserved.
"""Person boxes (YOLOv3 or COCO files) and top-down poses on whole images."""
import json

import mmcv
import numpy as np
import pytest
import torch
from mmdet.structures.bbox import bbox_overlaps

from custom_modules.apis import (build_person_detector, detect_persons,
                                 load_person_boxes)
from conftest import SEEING_YOLOV3_SCORES, seeing_yolov3

DETECTOR_CONFIG = (
    'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py')


def test_yolov3_person_detector_builds_and_runs_on_cpu(repo_root):
    """YOLOv3 through ``detect_persons``: with ``seeing_yolov3``'s known answer
    (persons of anchor size centred in every cell) the boxes come out finite,
    clipped into the image, none overlapping another above the NMS threshold,
    all of the level of stride 32 (the head's top-k by class score and its 100
    boxes an image take them first) with its score; a threshold above that
    score leaves none."""
    detector = build_person_detector(str(repo_root / DETECTOR_CONFIG))
    assert type(detector).__name__ == 'YOLOV3'
    assert detector.bbox_head.num_classes == 80
    seeing_yolov3(detector)
    image = mmcv.imread(str(repo_root / 'tests/data/coco/000000000785.jpg'))
    boxes = detect_persons(
        detector, image, cat_id=0, score_thr=0.0, nms_thr=0.3)
    assert (boxes.dtype == np.float32 and boxes.ndim == 2
            and boxes.shape[1] == 5)
    assert len(boxes) > 10
    assert np.isfinite(boxes).all()
    assert np.all(boxes[:, :4] >= 0)
    assert np.all((boxes[:, [0, 2]] <= image.shape[1])
                  & (boxes[:, [1, 3]] <= image.shape[0]))
    np.testing.assert_allclose(boxes[:, 4], SEEING_YOLOV3_SCORES[0], rtol=1e-5)
    # the smallest anchor of stride 32 is 116x90 (608 px input), the image is
    # 640 px wide: 122x95, less where clipped
    assert (boxes[:, 2:4] - boxes[:, :2]).max(0).min() > 95
    overlaps = bbox_overlaps(*[torch.from_numpy(boxes[:, :4])] * 2).numpy()
    np.fill_diagonal(overlaps, 0)
    assert overlaps.max() <= 0.3 + 1e-6
    assert len(
        detect_persons(
            detector,
            image,
            cat_id=0,
            score_thr=SEEING_YOLOV3_SCORES[0] + 1e-4,
            nms_thr=0.3)) == 0


def test_detect_persons_filters_clips_and_sorts(monkeypatch):
    """A detector answer made by hand: the person filter, the threshold, the
    clipping to the image, the removal of broken boxes and the NMS are each
    visible in the result."""
    import mmdet.apis
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    answer = DetDataSample()
    answer.pred_instances = InstanceData(
        bboxes=torch.tensor([
            [10., 10., 50., 90.],  # person, kept
            [12., 10., 52., 90.],  # person, overlaps the first: NMS
            [-20., 5., 30., 200.],  # person, clipped to the image
            [0., 0., float('inf'), 9.],  # person, broken: dropped
            [60., 10., 90., 40.],  # person, below the threshold
            [5., 5., 40., 40.],  # label 2: not a person
        ]),
        scores=torch.tensor([0.8, 0.7, 0.9, 0.99, 0.2, 0.95]),
        labels=torch.tensor([0, 0, 0, 0, 0, 2]))
    monkeypatch.setattr(mmdet.apis, 'inference_detector',
                        lambda model, image: answer)
    boxes = detect_persons(
        None,
        np.zeros((100, 80, 3), np.uint8),
        cat_id=0,
        score_thr=0.3,
        nms_thr=0.5)
    np.testing.assert_allclose(
        boxes, [[0, 5, 30, 100, 0.9], [10, 10, 50, 90, 0.8]], rtol=1e-6)


def test_coco_detections_convert_corners_to_xywh():
    from custom_modules.apis import coco_detections
    assert coco_detections(7, np.array([[10., 20., 40., 80., 0.5]])) == [
        dict(
            image_id=7,
            category_id=1,
            bbox=[10.0, 20.0, 30.0, 60.0],
            score=0.5)
    ]


def test_ground_truth_boxes_from_an_annotation_file(repo_root):
    boxes = load_person_boxes(
        str(repo_root / 'tests/data/coco/test_coco.json'))
    with open(repo_root / 'tests/data/coco/test_coco.json') as f:
        coco = json.load(f)
    assert sum(len(b)
               for b in boxes.values()) == sum(not a['iscrowd']
                                               for a in coco['annotations'])
    first = coco['annotations'][0]
    name = next(i['file_name'] for i in coco['images']
                if i['id'] == first['image_id'])
    x, y, w, h = first['bbox']
    assert any(np.allclose(b, [x, y, x + w, y + h, 1.0]) for b in boxes[name])


def test_detections_from_a_results_file_keyed_by_coco_file_name(repo_root):
    path = repo_root / 'tests/data/coco/test_coco_det_AP_H_56.json'
    boxes = load_person_boxes(str(path), score_thr=0.5)
    detections = json.loads(path.read_text())
    kept = [d for d in detections if d['score'] >= 0.5]
    assert set(boxes) == {f'{d["image_id"]:012d}.jpg' for d in kept}
    assert set(boxes) <= {
        p.name
        for p in (repo_root / 'tests/data/coco').glob('*.jpg')
    }
    assert sum(len(b) for b in boxes.values()) == len(kept)
    assert all(
        np.all(b[:, 4] >= 0.5) and np.all(b[:, 2:4] > b[:, :2])
        for b in boxes.values())


def test_results_files_map_ids_to_names_and_keep_persons_only(tmp_path):
    path = tmp_path / 'dets.json'
    path.write_text(
        json.dumps([
            dict(image_id=3, category_id=1, bbox=[0, 0, 10, 20], score=0.9),
            dict(image_id=3, category_id=18, bbox=[5, 5, 10, 10],
                 score=0.9),  # a dog
        ]))
    boxes = load_person_boxes(str(path), image_names={3: 'street.jpg'})
    assert list(boxes) == ['street.jpg']
    np.testing.assert_allclose(boxes['street.jpg'], [[0, 0, 10, 20, 0.9]])
    with pytest.raises(ValueError, match='image_id 3'):
        load_person_boxes(str(path), image_names={4: 'other.jpg'})


@pytest.mark.parametrize(
    'content, message',
    [
        ({
            'images': []
        }, '"images" and "annotations"'),
        ([{
            'bbox': [0, 0, 1, 1]
        }], 'entry 0 lacks'),
        ('boxes', 'expected a COCO annotation dict'),
        ([{
            'image_id': 'a.jpg',
            'bbox': [0, 0, 1, 1]
        }], 'entry 0 has "image_id" \'a.jpg\'; a detection list names'),
        ([{
            'image_id': True,
            'bbox': [0, 0, 1, 1]
        }], 'entry 0 has "image_id" True'),
        ([{
            'image_id': 1,
            'bbox': [0, 0, 1, True]
        }], 'entry 0 has "bbox" \\[0, 0, 1, True\\]'),
        ([{
            'image_id': 1,
            'bbox': [0, 0, 1, 1]
        }, {
            'image_id': 1,
            'bbox': [0, 0, 1]
        }], r'entry 1 has "bbox" \[0, 0, 1\], not the 4 finite numbers'),
        # NaN and Infinity (JSON allows them) would reach the keypoints
        ('[{"image_id": 1, "bbox": [NaN, 0, 1, 1], "score": 0.9}]',
         r'entry 0 has "bbox" \[nan, 0, 1, 1\], not the 4 finite'),
        ('[{"image_id": 1, "bbox": [0, 0, 1, 1], "score": Infinity}]',
         'entry 0 has "score" inf, not a finite number'),
        ([{
            'image_id': 1,
            'bbox': [0, 0, 1, 1],
            'score': None
        }], 'entry 0 has "score" None, not a finite number'),
        ([{
            'image_id': 1,
            'bbox': [200, 100, -50, 80]
        }], r'entry 0 has "bbox" \[200, 100, -50, 80\], not .* \(w, h >= 0\)'),
        # an image without its name or id (a KeyError naming nothing)
        ({
            'images': [{
                'id': 1,
                'file_name': 'a.jpg'
            }, {
                'id': 2
            }],
            'annotations': []
        }, r'images\[1\] has no "file_name"'),
        ({
            'images': [{
                'file_name': 'a.jpg'
            }],
            'annotations': []
        }, r'images\[0\] has no "id"'),
        # mmdet's 0-based labels (its person is 0): every image was posed as
        # one person
        ([{
            'image_id': 1,
            'category_id': 0,
            'bbox': [0, 0, 1, 1],
            'score': 0.9
        }] * 3, r'3 detections, none with "category_id" 1 \(COCO\'s person\); '
         r'its category ids: 0 \(an mmdet class index'),
        ({
            'images': [{
                'id': 1,
                'file_name': 'a.jpg'
            }],
            'annotations': [{
                'image_id': 1,
                'category_id': category,
                'bbox': [0, 0, 1, 1]
            } for category in (10, 2, 10)]
        }, r'3 annotations, none with "category_id" 1 \(COCO\'s person\); '
         r'its category ids: 2, 10 \('),
    ])
def test_malformed_box_files_name_the_file_and_field(tmp_path, content,
                                                     message):
    path = tmp_path / 'boxes.json'
    path.write_text(
        content if isinstance(content, str) and content.startswith('[') else
        json.dumps(content))
    with pytest.raises(ValueError, match=message) as error:
        load_person_boxes(str(path))
    assert str(path) in str(error.value)


def test_boxes_of_no_area_are_skipped_with_a_warning(tmp_path, monkeypatch):
    """A box of no width or height has no person to pose (its keypoints would
    all be its corner): skipped, as the detector's are and as mmpose skips
    them, and counted in a warning."""
    path = tmp_path / 'boxes.json'
    path.write_text(
        json.dumps([
            dict(image_id=1, bbox=[100, 100, 0, 0], score=0.9),
            dict(image_id=1, bbox=[10, 20, 30, 0], score=0.9),
            dict(image_id=1, bbox=[1, 2, 3, 4], score=0.8),
            dict(image_id=2, bbox=[5, 5, 0, 10], score=0.9),
        ]))
    from custom_modules.apis import topdown_pipeline
    logged = []
    monkeypatch.setattr(
        topdown_pipeline,
        'print_log',
        lambda msg, logger=None, level=None: logged.append(msg))
    boxes = load_person_boxes(str(path))
    assert list(boxes) == ['000000000001.jpg']
    np.testing.assert_allclose(boxes['000000000001.jpg'], [[1, 2, 4, 6, 0.8]])
    assert f'{path}: 3 person boxes of no width or height skipped' in logged


def test_a_box_file_that_is_not_json_is_named(tmp_path):
    path = tmp_path / 'boxes.json'
    path.write_text('x1,y1,x2,y2')
    with pytest.raises(ValueError, match=f'{path}: not JSON'):
        load_person_boxes(str(path))


def test_annotation_file_names_lose_their_folders(tmp_path):
    """A file name ``val2017/a.jpg`` gives boxes for the image ``a.jpg`` of a
    folder, as the images of a folder are named."""
    path = tmp_path / 'boxes.json'
    path.write_text(
        json.dumps(
            dict(
                images=[dict(id=3, file_name='val2017/a.jpg')],
                annotations=[dict(image_id=3, bbox=[1, 2, 3, 4])])))
    boxes = load_person_boxes(str(path))
    assert list(boxes) == ['a.jpg']
    np.testing.assert_allclose(boxes['a.jpg'], [[1, 2, 4, 6, 1]])
    path.write_text(
        json.dumps(
            dict(
                images=[
                    dict(id=3, file_name='val2017/a.jpg'),
                    dict(id=4, file_name='train2017/a.jpg')
                ],
                annotations=[
                    dict(image_id=3, bbox=[1, 2, 3, 4]),
                    dict(image_id=4, bbox=[1, 2, 3, 4])
                ])))
    with pytest.raises(
            ValueError,
            match='images val2017/a.jpg and train2017/a.jpg have the same '
            'file name a.jpg'):
        load_person_boxes(str(path))
