# Copyright (c) OpenMMLab. All rights reserved.
"""tools/inferencer_demo.py with a top-down model, MMPoseInferencer and
tools/dump_person_detections.py on the sample."""
import json
import sys

import numpy as np
import pytest
import torch

from conftest import SEEING_YOLOV3_SCORES, run_command, seeing_yolov3

pytestmark = pytest.mark.e2e

DETECTOR_CONFIG = (
    'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py')


def strict_json(text: str):
    """``json.loads`` refusing ``NaN`` and ``Infinity``, which Python writes
    and JSON has not."""

    def refuse(constant: str):
        raise ValueError(f'{constant} in the JSON')

    return json.loads(text, parse_constant=refuse)


def test_the_demo_puts_keypoints_on_the_people_of_a_bbox_file(
        sample_checkpoint, demo_config, run_tool, repo_root, tmp_path):
    """tools/inferencer_demo.py with ground-truth boxes (--bbox-file): one
    person per box, and the trained model's keypoints land near the annotated
    ones, in the pixel coordinates of the whole image."""
    ann_file = repo_root / 'tests/data/coco/test_coco.json'
    vis_dir, pred_dir = tmp_path / 'vis', tmp_path / 'pred'
    proc = run_tool([
        sys.executable, 'tools/inferencer_demo.py', 'tests/data/coco',
        '--pose2d',
        str(demo_config), '--pose2d-weights',
        str(sample_checkpoint), '--device', 'cpu', '--bbox-file',
        str(ann_file), '--bbox-thr', '0', '--vis-out-dir',
        str(vis_dir), '--pred-out-dir',
        str(pred_dir)
    ])
    coco = json.loads(ann_file.read_text())
    names = {image['id']: image['file_name'] for image in coco['images']}
    assert sorted(p.name for p in vis_dir.iterdir()) == sorted(names.values())
    assert sorted(p.name for p in pred_dir.iterdir()) == sorted(
        name.replace('.jpg', '.json') for name in names.values())
    results = {
        name: strict_json(
            (pred_dir / name.replace('.jpg', '.json')).read_text())
        for name in names.values()
    }
    for name, people in results.items():
        boxes = [
            a for a in coco['annotations'] if names[a['image_id']] == name
        ]
        # one per box, those without keypoints too
        assert len(people) == len(boxes)
    errors = []
    for ann in coco['annotations']:
        if ann['num_keypoints'] == 0:
            continue
        x, y, w, h = ann['bbox']
        person = next(
            p for p in results[names[ann['image_id']]]
            if np.allclose(p['bbox'], [[x, y, x + w, y + h]], atol=1e-3))
        assert np.array(person['keypoints']).shape == (17, 2)
        assert len(
            person['keypoint_scores']) == 17 and person['bbox_score'] == 1
        gt = np.array(ann['keypoints'], dtype=np.float32).reshape(-1, 3)
        visible = gt[:, 2] > 0
        pred = np.array(person['keypoints'])
        errors.append(
            np.median(np.linalg.norm(pred[visible] - gt[visible, :2], axis=1))
            / max(w, h))
    assert len(errors) == 12
    assert np.median(errors) < 0.05, errors
    assert proc.stdout.strip().splitlines()[-1] == (
        f'{len(names)} images done: drawings in {vis_dir}, predictions in '
        f'{pred_dir}')


def test_mmpose_inferencer_runs_with_yolov3_and_this_projects_config(
        sample_checkpoint, demo_config, repo_root):
    """mmpose's own API builds the YOLOv3 config and this project's pose
    config.

    The detector's random weights find nobody, so its answer is replaced by the
    sample's ground-truth boxes (label 0, person) and one box of another class,
    which the person filter must drop.
    """
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
    coco = json.loads(
        (repo_root / 'tests/data/coco/test_coco.json').read_text())
    image_id = next(i['id'] for i in coco['images']
                    if i['file_name'] == '000000196141.jpg')
    people_gt = [
        a for a in coco['annotations']
        if a['image_id'] == image_id and a['num_keypoints'] > 0
    ]
    xyxy = [[x, y, x + w, y + h]
            for x, y, w, h in (a['bbox'] for a in people_gt)]

    def detector(inputs, return_datasamples=True):
        sample = DetDataSample()
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor(xyxy + [[0., 0., 50., 50.]]),
            scores=torch.tensor([0.9] * len(xyxy) + [0.95]),
            labels=torch.tensor([0] * len(xyxy) + [2]))
        return dict(predictions=[sample])

    inferencer.inferencer.detector = detector
    result = next(
        inferencer(
            str(repo_root / 'tests/data/coco/000000196141.jpg'), nms_thr=0.9))
    people = result['predictions'][0]
    assert len(people) == len(people_gt)
    for ann in people_gt:
        x, y, w, h = ann['bbox']
        person = next(
            p for p in people
            if np.allclose(p['bbox'][0], [x, y, x + w, y + h], atol=1e-2))
        gt = np.array(ann['keypoints'], dtype=np.float32).reshape(-1, 3)
        visible = gt[:, 2] > 0
        error = np.linalg.norm(
            np.array(person['keypoints'])[visible] - gt[visible, :2], axis=1)
        assert np.median(error) / max(ann['bbox'][2:]) < 0.1


@pytest.fixture(scope='module')
def seeing_yolov3_checkpoint(tmp_path_factory, repo_root):
    """YOLOv3 weights with a known answer, ``conftest.seeing_yolov3``: persons
    of anchor size all over every image."""
    from mmdet.apis import init_detector
    detector = init_detector(
        str(repo_root / DETECTOR_CONFIG), None, device='cpu')
    seeing_yolov3(detector)
    path = tmp_path_factory.mktemp('yolov3') / 'yolov3_seeing.pth'
    torch.save(dict(state_dict=detector.state_dict()), path)
    return path


def test_dump_person_detections_runs_yolov3_over_an_annotated_folder(
        seeing_yolov3_checkpoint, run_tool, repo_root, tmp_path):
    """The whole tool on the sample, YOLOv3 included: it goes through the 4
    images and writes strict JSON with the count it prints: for every image of
    the annotation file, ``seeing_yolov3``'s persons (finite ``x, y, w, h``
    inside the image, its score).

    What it writes for given boxes (ids, category, xywh, order) is checked
    by ``test_dump_person_detections_writes_the_detectors_persons_per_image``.
    """
    out = tmp_path / 'dets.json'
    proc = run_tool([
        sys.executable, 'tools/dump_person_detections.py', '--images',
        'tests/data/coco', '--ann-file', 'tests/data/coco/test_coco.json',
        '--det-checkpoint',
        str(seeing_yolov3_checkpoint), '--out',
        str(out), '--bbox-thr', '0'
    ])
    detections = strict_json(out.read_text())
    images = {
        i['id']: i
        for i in json.loads((
            repo_root /
            'tests/data/coco/test_coco.json').read_text())['images']
    }
    assert {d['image_id'] for d in detections} == set(images)
    assert all(d['category_id'] == 1 for d in detections)
    for detection in detections:
        x, y, w, h = detection['bbox']
        image = images[detection['image_id']]
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        assert x + w <= image['width'] + 1e-3
        assert y + h <= image['height'] + 1e-3
        assert detection['score'] == pytest.approx(
            SEEING_YOLOV3_SCORES[0], rel=1e-5)
    assert proc.stdout.strip().splitlines()[-1] == (
        f'{len(detections)} person detections in {len(images)} images -> '
        f'{out}')


def load_dump_tool(repo_root):
    """``tools/dump_person_detections.py`` as a module (``tools`` is no
    package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'dump_person_detections',
        repo_root / 'tools/dump_person_detections.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dump_person_detections_writes_the_detectors_persons_per_image(
        monkeypatch, repo_root, tmp_path, capsys):
    """The tool's ``main`` in this process over the sample's annotated folder,
    the detector's answer made by hand for each image (told apart by its
    height, as each of the 4 differs): the file lists, per image in the
    annotation file's order, its persons above ``--bbox-thr`` (best first),
    clipped to the image, as ``[x, y, w, h]`` under that image's id; other
    classes, broken boxes and images without a person add nothing."""
    import mmdet.apis
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    import custom_modules.apis

    inf = float('inf')
    # image height -> (boxes x1 y1 x2 y2, scores, labels)
    answers = {
        425: ([[300., 40., 420., 400.], [10., 20., 110., 220.],
               [5., 5., 50., 50.]], [0.6, 0.9, 0.95], [0, 0, 2]),
        333: ([[-10., 30., 60., 400.]], [0.8], [0]),
        429: ([[0., 0., inf, 10.], [20., 20., 80., 80.]], [0.99, 0.2], [0, 0]),
        392: ([[100.5, 50.25, 200.5, 150.75]], [0.7], [0]),
    }
    seen = []

    def inference_detector(model, image):
        assert model == 'the detector'
        seen.append(image.shape)
        boxes, scores, labels = answers[image.shape[0]]
        sample = DetDataSample()
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor(boxes),
            scores=torch.tensor(scores),
            labels=torch.tensor(labels))
        return sample

    built = []

    def build_person_detector(config, checkpoint, device):
        built.append((config, checkpoint, device))
        return 'the detector'

    monkeypatch.setattr(mmdet.apis, 'inference_detector', inference_detector)
    monkeypatch.setattr(custom_modules.apis, 'build_person_detector',
                        build_person_detector)
    tool = load_dump_tool(repo_root)
    out = tmp_path / 'nested/dets.json'
    ann_file = repo_root / 'tests/data/coco/test_coco.json'
    monkeypatch.setattr(sys, 'argv', [
        'dump_person_detections.py', '--images',
        str(repo_root / 'tests/data/coco'), '--ann-file',
        str(ann_file), '--det-checkpoint', 'yolov3.pth', '--out',
        str(out), '--bbox-thr', '0.3'
    ])
    tool.main()

    assert built == [(str(tool.DEFAULT_DETECTOR), 'yolov3.pth', 'cpu')]
    images = json.loads(ann_file.read_text())['images']
    # every image read once, in the annotation file's order
    assert seen == [(i['height'], i['width'], 3) for i in images]
    assert [i['id'] for i in images] == [785, 40083, 196141, 197388]
    detections = strict_json(out.read_text())
    assert len(detections) > 0
    assert all(
        set(d) == {'image_id', 'category_id', 'bbox', 'score'}
        for d in detections)
    assert [(d['image_id'], d['category_id'], d['bbox'])
            for d in detections] == [
                (785, 1, [10.0, 20.0, 100.0, 200.0]),
                (785, 1, [300.0, 40.0, 120.0, 360.0]),
                (40083, 1, [0.0, 30.0, 60.0, 303.0]),  # clipped to 500x333
                (197388, 1, [100.5, 50.25, 100.0, 100.5]),
            ]
    assert [d['score']
            for d in detections] == pytest.approx([0.9, 0.6, 0.8, 0.7])
    assert capsys.readouterr().out.strip() == (
        f'4 person detections in 4 images -> {out}')


def test_dump_person_detections_names_an_unreadable_image_and_keeps_the_rest(
        monkeypatch, repo_root, tmp_path, capsys):
    """One broken file is named and skipped, the others' detections written,
    the exit status not 0 (mmcv's reader gave None, mmdet a KeyError naming
    nothing, and every detection done was lost)."""
    import shutil

    import mmdet.apis
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    import custom_modules.apis

    def inference_detector(model, image):
        sample = DetDataSample()
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor([[10., 20., 110., 220.]]),
            scores=torch.tensor([0.9]),
            labels=torch.tensor([0]))
        return sample

    monkeypatch.setattr(mmdet.apis, 'inference_detector', inference_detector)
    monkeypatch.setattr(custom_modules.apis, 'build_person_detector',
                        lambda *args: 'the detector')
    images = tmp_path / 'images'
    images.mkdir()
    for image_id in (785, 40083):
        shutil.copy(repo_root / f'tests/data/coco/{image_id:012d}.jpg', images)
    (images / '000000000999.jpg').write_bytes(b'garbage')
    out = tmp_path / 'dets.json'
    monkeypatch.setattr(sys, 'argv', [
        'dump_person_detections.py', '--images',
        str(images), '--det-checkpoint', 'yolov3.pth', '--out',
        str(out)
    ])
    with pytest.raises(SystemExit) as stop:
        load_dump_tool(repo_root).main()
    assert '1 of 3 images could not be read' in str(stop.value)
    captured = capsys.readouterr()
    assert str(images / '000000000999.jpg') in captured.err
    assert [(d['image_id'], d['bbox'])
            for d in strict_json(out.read_text())] == [
                (785, [10.0, 20.0, 100.0, 200.0]),
                (40083, [10.0, 20.0, 100.0, 200.0]),
            ]
    assert captured.out.strip() == f'2 person detections in 2 images -> {out}'
    assert 'not named' not in captured.err  # COCO's names: found again

    (images / '000000000999.jpg').unlink()
    shutil.move(images / '000000040083.jpg', images / '40083.jpg')
    load_dump_tool(repo_root).main()
    assert ("1 images not named as COCO's %012d.jpg: the detections name an "
            'image by its id only, so tools/inferencer_demo.py --bbox-file '
            'looks for the boxes of e.g. 40083.jpg under 000000040083.jpg'
            ) in capsys.readouterr().err


def test_dump_person_detections_needs_ids_for_unnumbered_images(tmp_path):
    """The ids are checked before the detector loads: the (absent) checkpoint
    is never read."""
    import cv2
    cv2.imwrite(str(tmp_path / 'street.jpg'), np.zeros((32, 32, 3), np.uint8))
    proc = run_command([
        sys.executable, 'tools/dump_person_detections.py', '--images',
        str(tmp_path), '--det-checkpoint', 'unused.pth', '--out',
        str(tmp_path / 'dets.json')
    ],
                       check=False)
    assert proc.returncode != 0
    assert 'street.jpg' in proc.stderr and '--ann-file' in proc.stderr


def test_the_demo_on_a_video_with_the_yolov3_detector(sample_checkpoint,
                                                      demo_config,
                                                      seeing_yolov3_checkpoint,
                                                      run_tool, repo_root,
                                                      tmp_path):
    """tools/inferencer_demo.py: every frame of a video goes through YOLOv3
    (``seeing_yolov3``: persons of anchor size all over the frame) and the
    pose model; the video gives one drawn video and one JSON of its frames
    (mmpose's ``[{frame_id, instances}]``), every person in one of the
    detector's boxes."""
    import cv2
    frame = cv2.imread(str(repo_root / 'tests/data/coco/000000040083.jpg'))
    video_path = tmp_path / 'clip.mp4'
    writer = cv2.VideoWriter(
        str(video_path), cv2.VideoWriter_fourcc(*'mp4v'), 5,
        (frame.shape[1], frame.shape[0]))
    for _ in range(3):
        writer.write(frame)
    writer.release()
    vis_dir, pred_dir = tmp_path / 'vis', tmp_path / 'pred'
    proc = run_tool([
        sys.executable, 'tools/inferencer_demo.py',
        str(video_path), '--pose2d',
        str(demo_config), '--pose2d-weights',
        str(sample_checkpoint), '--device', 'cpu', '--det-model',
        str(repo_root / DETECTOR_CONFIG), '--det-weights',
        str(seeing_yolov3_checkpoint), '--bbox-thr', '0', '--vis-out-dir',
        str(vis_dir), '--pred-out-dir',
        str(pred_dir)
    ])
    assert [p.name for p in vis_dir.iterdir()] == ['clip.mp4']
    source, drawn = (
        cv2.VideoCapture(str(path))
        for path in (video_path, vis_dir / 'clip.mp4'))
    assert int(drawn.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    ok, first_source = source.read()
    ok_drawn, first_drawn = drawn.read()
    # mp4v: even sizes
    assert ok and ok_drawn and first_drawn.shape == first_source.shape
    source.release()
    drawn.release()
    assert [p.name for p in pred_dir.iterdir()] == ['clip.json']
    frames = strict_json((pred_dir / 'clip.json').read_text())
    assert [f['frame_id'] for f in frames] == [0, 1, 2]
    # each frame's people: the detector's boxes (the same frame, the same
    # boxes), none the whole frame
    assert len(frames[0]['instances']) > 10
    boxes = [[person['bbox'] for person in f['instances']] for f in frames]
    assert boxes[1] == boxes[0] and boxes[2] == boxes[0]
    height, width = frame.shape[:2]
    for instances in (f['instances'] for f in frames):
        for person in instances:
            assert np.array(person['keypoints']).shape == (17, 2)
            (x1, y1, x2, y2), = person['bbox']
            assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
            assert (x2 - x1) * (y2 - y1) < 0.5 * width * height
            assert person['bbox_score'] == pytest.approx(
                SEEING_YOLOV3_SCORES[0], rel=1e-5)
    lines = proc.stdout.strip().splitlines()
    assert lines[-2].startswith('timing over 3 frames (mean ms per frame): ')
    assert ' detector ' in lines[-2]
    assert lines[-1] == (
        f'3 images done: drawings in {vis_dir}, predictions in {pred_dir}')


def test_dump_person_detections_refuses_a_missing_input_before_detecting(
        monkeypatch, repo_root, tmp_path, capsys):
    """A missing ``--images`` folder or ``--ann-file``, an image entry without
    ``file_name``: one line naming the option or the file and the entry, exit
    status 2, before the detector is built (before: ``FileNotFoundError`` and
    ``KeyError: 'file_name'`` tracebacks)."""
    import custom_modules.apis

    def never(*args):
        raise AssertionError('the detector was built')

    monkeypatch.setattr(custom_modules.apis, 'build_person_detector', never)
    no_name = tmp_path / 'no_name.json'
    no_name.write_text(
        json.dumps(dict(images=[dict(id=1, file_name='a.jpg'),
                                dict(id=2)])))
    images, out = str(repo_root / 'tests/data/coco'), tmp_path / 'dets.json'
    cases = [
        (['--images', str(tmp_path / 'nodir')],
         f'{tmp_path / "nodir"}: --images does not exist'),
        (['--images', images, '--ann-file',
          str(tmp_path / 'no.json')], f'{tmp_path / "no.json"}: --ann-file '
         'cannot be read (No such file or directory)'),
        (['--images', images, '--ann-file',
          str(no_name)], f'{no_name}: images[1] has no "file_name"'),
    ]
    tool = load_dump_tool(repo_root)
    for args, message in cases:
        monkeypatch.setattr(sys, 'argv', [
            'dump_person_detections.py', *args, '--det-checkpoint',
            'yolov3.pth', '--out',
            str(out)
        ])
        with pytest.raises(SystemExit) as stop:
            tool.main()
        assert stop.value.code == 2
        assert capsys.readouterr().err == (
            f'tools/dump_person_detections.py: error: {message}\n')
    assert not out.exists()


@pytest.mark.parametrize('args, message', [
    (['--out', 'AFILE/dets.json'
      ], 'argument --out: AFILE/dets.json: AFILE is a file, not a folder'),
    (['--device', 'gpu'], "argument --device: 'gpu' is not a device"),
])
def test_dump_person_detections_refuses_bad_options_when_parsing(
        args, message, monkeypatch, repo_root, tmp_path, capsys):
    """An ``--out`` under a file (before: every image detected, then
    ``FileExistsError`` and nothing written) and a device torch does not have:

    argparse's usage error.
    """
    a_file = tmp_path / 'afile'
    a_file.write_text('')
    args = [arg.replace('AFILE', str(a_file)) for arg in args]
    monkeypatch.setattr(sys, 'argv', [
        'dump_person_detections.py', '--images', 'tests/data/coco',
        '--det-checkpoint', 'yolov3.pth', '--out', 'dets.json', *args
    ])
    with pytest.raises(SystemExit) as stop:
        load_dump_tool(repo_root).parse_args()
    assert stop.value.code == 2
    assert message.replace('AFILE', str(a_file)) in capsys.readouterr().err


def test_dump_person_detections_refuses_a_checkpoint_of_another_detector(
        monkeypatch, repo_root, tmp_path, capsys):
    """``--det-checkpoint`` of another model: mmdet loaded what fits and a
    random YOLOv3 found nobody ("0 person detections"); now one line naming the
    checkpoint and the detector's config, exit status 2, before the first
    image."""
    import mmdet.apis

    def never(*args):
        raise AssertionError('an image was detected')

    monkeypatch.setattr(mmdet.apis, 'inference_detector', never)
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'head.weight': torch.zeros(3)}}, other)
    tool = load_dump_tool(repo_root)
    monkeypatch.setattr(sys, 'argv', [
        'dump_person_detections.py', '--images', 'tests/data/coco',
        '--det-checkpoint',
        str(other), '--out',
        str(tmp_path / 'dets.json')
    ])
    with pytest.raises(SystemExit) as stop:
        tool.main()
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        f'tools/dump_person_detections.py: error: {other}: not a checkpoint '
        f'of {tool.DEFAULT_DETECTOR} (YOLOV3): missing from it: ')
