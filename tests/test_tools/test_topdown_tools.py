"""tools/topdown_demo.py, MMPoseInferencer and tools/dump_person_detections.py on the sample."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.e2e

DETECTOR_CONFIG = 'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py'


def test_topdown_demo_puts_keypoints_on_the_people(sample_checkpoint, demo_config, run_tool,
                                                   repo_root, tmp_path):
    """With ground-truth boxes, the trained model's keypoints land near the annotated ones, in
    the pixel coordinates of the whole image."""
    ann_file = repo_root / 'tests/data/coco/test_coco.json'
    run_tool([
        sys.executable, 'tools/topdown_demo.py',
        str(demo_config),
        str(sample_checkpoint), '--input', 'tests/data/coco', '--bbox-file',
        str(ann_file), '--bbox-thr', '0', '--output-dir',
        str(tmp_path)
    ])
    coco = json.loads(ann_file.read_text())
    names = {image['id']: image['file_name'] for image in coco['images']}
    assert sorted(p.name for p in tmp_path.glob('*.jpg')) == sorted(names.values())
    errors = []
    for ann in coco['annotations']:
        if ann['num_keypoints'] == 0:
            continue
        result = json.loads(
            (tmp_path / names[ann['image_id']].replace('.jpg', '.json')).read_text())
        x, y, w, h = ann['bbox']
        person = next(p for p in result['people']
                      if np.allclose(p['bbox'], [x, y, x + w, y + h], atol=1e-3))
        gt = np.array(ann['keypoints'], dtype=np.float32).reshape(-1, 3)
        visible = gt[:, 2] > 0
        pred = np.array(person['keypoints'])
        errors.append(
            np.median(np.linalg.norm(pred[visible] - gt[visible, :2], axis=1)) / max(w, h))
    assert len(errors) == 12
    assert np.median(errors) < 0.05, errors


def test_mmpose_inferencer_runs_with_yolov3_and_this_projects_config(sample_checkpoint, demo_config,
                                                                     repo_root):
    """mmpose's own API builds the YOLOv3 config and this project's pose config. The detector's
    random weights find nobody, so its answer is replaced by the sample's ground-truth boxes
    (label 0, person) and one box of another class, which the person filter must drop."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    from mmpose.apis import MMPoseInferencer

    inferencer = MMPoseInferencer(
        pose2d=str(demo_config),
        pose2d_weights=str(sample_checkpoint),
        det_model=str(repo_root / DETECTOR_CONFIG),
        det_weights=None,
        det_cat_ids=[0],
        device='cpu')
    assert type(inferencer.inferencer.detector.model).__name__ == 'YOLOV3'
    coco = json.loads((repo_root / 'tests/data/coco/test_coco.json').read_text())
    image_id = next(i['id'] for i in coco['images'] if i['file_name'] == '000000196141.jpg')
    people_gt = [
        a for a in coco['annotations'] if a['image_id'] == image_id and a['num_keypoints'] > 0
    ]
    xyxy = [[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in people_gt)]

    def detector(inputs, return_datasamples=True):
        sample = DetDataSample()
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor(xyxy + [[0., 0., 50., 50.]]),
            scores=torch.tensor([0.9] * len(xyxy) + [0.95]),
            labels=torch.tensor([0] * len(xyxy) + [2]))
        return dict(predictions=[sample])

    inferencer.inferencer.detector = detector
    result = next(inferencer(str(repo_root / 'tests/data/coco/000000196141.jpg'), nms_thr=0.9))
    people = result['predictions'][0]
    assert len(people) == len(people_gt)
    for ann in people_gt:
        x, y, w, h = ann['bbox']
        person = next(
            p for p in people if np.allclose(p['bbox'][0], [x, y, x + w, y + h], atol=1e-2))
        gt = np.array(ann['keypoints'], dtype=np.float32).reshape(-1, 3)
        visible = gt[:, 2] > 0
        error = np.linalg.norm(np.array(person['keypoints'])[visible] - gt[visible, :2], axis=1)
        assert np.median(error) / max(ann['bbox'][2:]) < 0.1


@pytest.fixture(scope='module')
def random_yolov3_checkpoint(tmp_path_factory, repo_root):
    from mmdet.apis import init_detector
    detector = init_detector(str(repo_root / DETECTOR_CONFIG), None, device='cpu')
    path = tmp_path_factory.mktemp('yolov3') / 'yolov3_random.pth'
    torch.save(dict(state_dict=detector.state_dict()), path)
    return path


def test_dump_person_detections_runs_yolov3_over_an_annotated_folder(random_yolov3_checkpoint,
                                                                     run_tool, repo_root, tmp_path):
    """The whole tool on the sample (random weights: the boxes are arbitrary, the format is not;
    ``coco_detections`` is tested exactly in tests/test_apis)."""
    out = tmp_path / 'dets.json'
    run_tool([
        sys.executable, 'tools/dump_person_detections.py', '--images', 'tests/data/coco',
        '--ann-file', 'tests/data/coco/test_coco.json', '--det-checkpoint',
        str(random_yolov3_checkpoint), '--out',
        str(out), '--bbox-thr', '0'
    ])
    detections = json.loads(out.read_text())  # strict JSON: no Infinity / NaN
    image_ids = {
        i['id']
        for i in json.loads((repo_root / 'tests/data/coco/test_coco.json').read_text())['images']
    }
    assert isinstance(detections, list)
    for det in detections:
        assert set(det) == {'image_id', 'category_id', 'bbox', 'score'}
        assert det['image_id'] in image_ids and det['category_id'] == 1
        x, y, w, h = det['bbox']
        assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= 640 and y + h <= 480


def test_dump_person_detections_needs_ids_for_unnumbered_images(tmp_path):
    """The ids are checked before the detector loads: the (absent) checkpoint is never read."""
    import cv2
    cv2.imwrite(str(tmp_path / 'street.jpg'), np.zeros((32, 32, 3), np.uint8))
    proc = subprocess.run([
        sys.executable, 'tools/dump_person_detections.py', '--images',
        str(tmp_path), '--det-checkpoint', 'unused.pth', '--out',
        str(tmp_path / 'dets.json')
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert 'street.jpg' in proc.stderr and '--ann-file' in proc.stderr


def test_topdown_demo_on_a_video_with_the_yolov3_detector(sample_checkpoint, demo_config,
                                                          random_yolov3_checkpoint, run_tool,
                                                          repo_root, tmp_path):
    """Every frame of a video goes through YOLOv3 (random weights here: the boxes are arbitrary)
    and the pose model; each frame gets its picture and its JSON."""
    import cv2
    frame = cv2.imread(str(repo_root / 'tests/data/coco/000000040083.jpg'))
    video_path = tmp_path / 'clip.mp4'
    writer = cv2.VideoWriter(
        str(video_path), cv2.VideoWriter_fourcc(*'mp4v'), 5, (frame.shape[1], frame.shape[0]))
    for _ in range(3):
        writer.write(frame)
    writer.release()
    out_dir = tmp_path / 'out'
    proc = run_tool([
        sys.executable, 'tools/topdown_demo.py',
        str(demo_config),
        str(sample_checkpoint), '--input',
        str(video_path), '--det-checkpoint',
        str(random_yolov3_checkpoint), '--bbox-thr', '0', '--output-dir',
        str(out_dir)
    ])
    assert sorted(p.name for p in out_dir.glob('*.json')) == [
        'clip_000000.json', 'clip_000001.json', 'clip_000002.json'
    ]
    assert '3 images written' in proc.stdout
    for result in out_dir.glob('*.json'):
        people = json.loads(result.read_text())['people']
        assert all(np.array(p['keypoints']).shape == (17, 2) for p in people)
