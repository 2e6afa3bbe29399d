"""tools/topdown_demo.py, MMPoseInferencer and tools/dump_person_detections.py on the sample."""
import json
import sys

import numpy as np
import pytest
import torch

DETECTOR_CONFIG = 'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py'


def test_topdown_demo_puts_keypoints_on_the_people(sample_checkpoint, demo_config, run_tool,
                                                   repo_root, tmp_path):
    """With ground-truth boxes, the trained model's keypoints land near the annotated ones, in
    the pixel coordinates of the whole image."""
    ann_file = repo_root / 'tests/data/coco/test_coco.json'
    run_tool([sys.executable, 'tools/topdown_demo.py', str(demo_config), str(sample_checkpoint),
              '--input', 'tests/data/coco', '--bbox-file', str(ann_file), '--bbox-thr', '0',
              '--output-dir', str(tmp_path)])
    coco = json.loads(ann_file.read_text())
    names = {image['id']: image['file_name'] for image in coco['images']}
    assert sorted(p.name for p in tmp_path.glob('*.jpg')) == sorted(names.values())
    errors = []
    for ann in coco['annotations']:
        if ann['num_keypoints'] == 0:
            continue
        result = json.loads((tmp_path / names[ann['image_id']].replace('.jpg', '.json')).read_text())
        x, y, w, h = ann['bbox']
        person = next(p for p in result['people']
                      if np.allclose(p['bbox'], [x, y, x + w, y + h], atol=1e-3))
        gt = np.array(ann['keypoints'], dtype=np.float32).reshape(-1, 3)
        visible = gt[:, 2] > 0
        pred = np.array(person['keypoints'])
        errors.append(np.median(np.linalg.norm(pred[visible] - gt[visible, :2], axis=1)) / max(w, h))
    assert len(errors) == 12
    assert np.median(errors) < 0.05, errors


def test_mmpose_inferencer_runs_with_yolov3_and_this_projects_config(sample_checkpoint, demo_config,
                                                                      repo_root):
    from mmpose.apis import MMPoseInferencer
    inferencer = MMPoseInferencer(
        pose2d=str(demo_config), pose2d_weights=str(sample_checkpoint),
        det_model=str(repo_root / DETECTOR_CONFIG), det_weights=None, det_cat_ids=[0],
        device='cpu')
    image = str(repo_root / 'tests/data/coco/000000040083.jpg')
    result = next(inferencer(image, bbox_thr=0.0))
    people = result['predictions'][0]
    assert len(people) >= 1
    for person in people:
        assert np.array(person['keypoints']).shape == (17, 2)
        assert len(person['keypoint_scores']) == 17


@pytest.fixture(scope='module')
def random_yolov3_checkpoint(tmp_path_factory, repo_root):
    from mmdet.apis import init_detector
    detector = init_detector(str(repo_root / DETECTOR_CONFIG), None, device='cpu')
    path = tmp_path_factory.mktemp('yolov3') / 'yolov3_random.pth'
    torch.save(dict(state_dict=detector.state_dict()), path)
    return path


def test_dump_person_detections_writes_a_coco_results_file(random_yolov3_checkpoint, run_tool,
                                                            repo_root, tmp_path):
    out = tmp_path / 'dets.json'
    run_tool([sys.executable, 'tools/dump_person_detections.py', '--images', 'tests/data/coco',
              '--ann-file', 'tests/data/coco/test_coco.json', '--det-checkpoint',
              str(random_yolov3_checkpoint), '--out', str(out), '--bbox-thr', '0'])
    detections = json.loads(out.read_text())
    image_ids = {i['id'] for i in json.loads(
        (repo_root / 'tests/data/coco/test_coco.json').read_text())['images']}
    assert isinstance(detections, list)
    for det in detections:
        assert set(det) == {'image_id', 'category_id', 'bbox', 'score'}
        assert det['image_id'] in image_ids and det['category_id'] == 1
        assert det['bbox'][2] > 0 and det['bbox'][3] > 0


def test_dump_person_detections_needs_ids_for_unnumbered_images(run_tool, tmp_path):
    import cv2
    cv2.imwrite(str(tmp_path / 'street.jpg'), np.zeros((32, 32, 3), np.uint8))
    proc = __import__('subprocess').run(
        [sys.executable, 'tools/dump_person_detections.py', '--images', str(tmp_path),
         '--det-checkpoint', 'unused.pth', '--out', str(tmp_path / 'dets.json')],
        capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'street.jpg' in proc.stderr and '--ann-file' in proc.stderr
