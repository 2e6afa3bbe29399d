# Copyright (c) OpenMMLab. All rights reserved.
"""tools/inferencer_demo.py with a bottom-up model: the people MLN finds in
each image, without boxes given, drawn into --vis-out-dir and written as
mmpose's predictions into --pred-out-dir, each person with the box of their
keypoints and their score."""
import json
import sys

import cv2
import numpy as np
import pytest

from conftest import MLN_SAMPLE_CONFIG, run_command

pytestmark = pytest.mark.e2e

ANN_FILE = 'tests/data/coco/test_coco.json'
DETECTOR_CONFIG = (
    'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py')


@pytest.mark.sample_models('mln')
def test_the_demo_finds_the_people_of_the_sample_folder(
        train_on_sample, run_tool, repo_root, tmp_path):
    """The MLN sample model trained on the folder finds most of its 12
    annotated people: its keypoints, in the pixels of the whole image, lie on
    them."""
    checkpoint = train_on_sample(MLN_SAMPLE_CONFIG)
    vis_dir, pred_dir = tmp_path / 'vis', tmp_path / 'pred'
    proc = run_tool([
        sys.executable, 'tools/inferencer_demo.py', 'tests/data/coco',
        '--pose2d',
        str(MLN_SAMPLE_CONFIG), '--pose2d-weights',
        str(checkpoint), '--device', 'cpu', '--vis-out-dir',
        str(vis_dir), '--pred-out-dir',
        str(pred_dir), '--skeleton-style', 'openpose'
    ])
    images = sorted((repo_root / 'tests/data/coco').glob('*.jpg'))
    assert sorted(p.name
                  for p in vis_dir.iterdir()) == [p.name for p in images]
    assert sorted(p.name for p in pred_dir.iterdir()) == [
        f'{p.stem}.json' for p in images
    ]
    people = {}
    for image in images:
        assert cv2.imread(str(vis_dir / image.name)).shape == cv2.imread(
            str(image)).shape
        people[image.name] = json.loads(
            (pred_dir / f'{image.stem}.json').read_text())
        assert isinstance(people[image.name], list)
        for person in people[image.name]:
            assert {'keypoints', 'keypoint_scores', 'bbox',
                    'bbox_score'} <= set(person)
            keypoints = np.array(person['keypoints'])
            scores = np.array(person['keypoint_scores'])
            assert keypoints.shape == (17, 2) and scores.shape == (17, )
            # the box spans the found keypoints
            found = keypoints[scores > 0]
            np.testing.assert_allclose(
                person['bbox'], [[*found.min(0), *found.max(0)]], rtol=1e-5)
            # the codec's person score: keypoint peaks plus limb scores over
            # keypoints, up to about 2
            assert 0 < person['bbox_score'] < 3

    coco = json.loads((repo_root / ANN_FILE).read_text())
    names = {image['id']: image['file_name'] for image in coco['images']}
    # per annotated person, the nearest found person's median keypoint error
    errors = []
    for ann in coco['annotations']:
        if ann['num_keypoints'] == 0:
            continue
        gt = np.array(ann['keypoints'], dtype=np.float32).reshape(-1, 3)
        visible = gt[:, 2] > 0
        found = [
            np.array(p['keypoints'])[visible]
            for p in people[names[ann['image_id']]]
        ]
        distances = [
            np.median(np.linalg.norm(k - gt[visible, :2], axis=1))
            for k in found
        ]
        errors.append(min(distances, default=np.inf) / max(ann['bbox'][2:]))
    assert len(errors) == 12
    # the fitted model finds most
    assert sum(error < 0.1 for error in errors) >= 6, errors

    lines = proc.stdout.strip().splitlines()
    assert lines[-2].startswith(
        f'timing over {len(images)} frames (mean ms per frame): ')
    assert lines[-1] == (
        f'{len(images)} images done: drawings in {vis_dir}, predictions in '
        f'{pred_dir}')


def test_a_missing_input_is_named(repo_root, tmp_path):
    """With status 2, before the (absent) checkpoint is read."""
    missing = tmp_path / 'nothing.jpg'
    proc = run_command([
        sys.executable, 'tools/inferencer_demo.py',
        str(missing), '--pose2d',
        str(MLN_SAMPLE_CONFIG), '--pose2d-weights', 'no.pth'
    ],
                       check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f'error: {missing}: ')
    assert 'Loads checkpoint' not in proc.stdout + proc.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize('case', [
    '--pose2d', '--pose2d name', '--pose2d-weights', '--det-model',
    '--det-weights'
])
def test_a_missing_model_file_is_named(case, demo_config, repo_root, tmp_path):
    """A config, model name or checkpoint that does not exist: status 2 and one
    line naming it, before the model is built (mmengine would raise from inside
    it)."""
    config, weights = str(tmp_path / 'missing.py'), str(tmp_path /
                                                        'missing.pth')
    unknown = ('--pose2d is neither a config file nor a model name or alias '
               '(--show-alias lists them)')
    mln, topdown = str(MLN_SAMPLE_CONFIG), str(demo_config)
    args, named, what = {  # the model's options, what the error names and says
        '--pose2d': ([config], config, '--pose2d does not exist'),
        '--pose2d name': (['no-such-model'], 'no-such-model', unknown),
        '--pose2d-weights': ([mln, '--pose2d-weights', weights], weights,
                             '--pose2d-weights does not exist'),
        '--det-model': ([topdown, '--det-model', config], config,
                        '--det-model does not exist'),
        '--det-weights': ([
            topdown, '--det-model', DETECTOR_CONFIG, '--det-weights', weights
        ], weights, '--det-weights does not exist'),
    }[case]
    proc = run_command([
        sys.executable, 'tools/inferencer_demo.py',
        'tests/data/coco/000000196141.jpg', '--device', 'cpu',
        '--pred-out-dir',
        str(tmp_path / 'pred'), '--pose2d', *args
    ],
                       check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1] == f'error: {named}: {what}'
    assert ('Traceback' not in proc.stderr
            and 'Loads checkpoint' not in proc.stdout)
    assert not (tmp_path / 'pred').exists()


def test_the_fast_path_with_onnx_is_refused_before_the_model_is_built(
        repo_root, tmp_path):
    proc = run_command([
        sys.executable, 'tools/inferencer_demo.py',
        str(tmp_path), '--pose2d',
        str(MLN_SAMPLE_CONFIG), '--onnx',
        str(tmp_path / 'model.onnx'), '--bf16', '--cuda-graph'
    ],
                       check=False)
    assert proc.returncode == 2
    assert ('--bf16 / --cuda-graph: the PyTorch fast path, not with the '
            'onnxruntime backend') in proc.stderr
    assert 'Loads checkpoint' not in proc.stdout + proc.stderr


def test_a_misspelt_key_of_the_config_is_named(repo_root, tmp_path):
    config = tmp_path / 'misspelt.py'
    config.write_text(f'_base_ = [{str(MLN_SAMPLE_CONFIG)!r}]\n'
                      'model = dict(head=dict(mid_chanels=16))\n')
    proc = run_command([
        sys.executable, 'tools/inferencer_demo.py',
        'tests/data/coco/000000196141.jpg', '--device', 'cpu', '--pose2d',
        str(config)
    ],
                       check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: {config}: model.head.mid_chanels: MLNHead takes no argument '
        "'mid_chanels' (did you mean 'mid_channels'?)")
