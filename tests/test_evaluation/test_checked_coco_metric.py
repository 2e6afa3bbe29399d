# Copyright (c) OpenMMLab. All rights reserved.
"""The evaluator's annotation file is checked before the model runs: COCO-style
files of other datasets (PoseTrack18 has no ``area``, AI Challenger neither
``area`` nor ``iscrowd`` and 14 keypoints) are refused by ``tools/test.py``
with one message naming file, field, count and ids (exit 2, no traceback, no
image inferred), or accepted with ``derive_missing``; a dataset and an
evaluator reading different files are refused too.

The files are made here from the bundled COCO sample, shaped as those datasets'
files are (mmpose's ``tests/data``).
"""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from custom_modules.evaluation import (AnnotationFileError, CheckedCocoMetric,
                                       annotation_problems, derive_fields)
from conftest import DEMO_CONFIG, REPO_ROOT, save_random_checkpoint

SAMPLE = REPO_ROOT / 'tests/data/coco/test_coco.json'


def sample() -> dict:
    return json.loads(SAMPLE.read_text())


def posetrack_style(coco: dict) -> dict:
    """PoseTrack18's annotations: no ``area``; video fields on images and
    annotations."""
    for index, image in enumerate(coco['images']):
        image.update(
            vid_id='000001',
            frame_id=index,
            nframes=len(coco['images']),
            is_labeled=True)
    for ann in coco['annotations']:
        del ann['area']
        ann.update(track_id=ann['id'] % 7, bbox_head=ann['bbox'])
    return coco


def aic_style(coco: dict) -> dict:
    """AI Challenger's annotations: neither ``area`` nor ``iscrowd`` (mmpose's
    AIC dataset fills the area from the box)."""
    for ann in coco['annotations']:
        del ann['area'], ann['iscrowd']
    return coco


def write(coco: dict, path: Path) -> Path:
    path.write_text(json.dumps(coco))
    return path


@pytest.fixture(autouse=True)
def dataset_file_in_message_hub():
    """``set(path)``: the file mmpose's dataset records as
    ``coco_ann_file``; none (not a dataset another test built) until it is
    set, and restored afterwards."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    before = hub.get_info('coco_ann_file', None)
    hub.update_info('coco_ann_file', None)
    yield lambda path: hub.update_info('coco_ann_file', str(path))
    hub.update_info('coco_ann_file', before)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return save_random_checkpoint(
        DEMO_CONFIG,
        tmp_path_factory.mktemp('ckpt') / 'random.pth')


def run_test(run_tool,
             checkpoint: Path,
             tmp_path: Path,
             ann_file: Path,
             *options: str,
             evaluator_file: Path = None):
    return run_tool([
        sys.executable, 'tools/test.py',
        str(DEMO_CONFIG),
        str(checkpoint), '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(tmp_path / 'metrics.json'), '--cfg-options',
        f'test_dataloader.dataset.ann_file={ann_file}',
        'test_dataloader.dataset.bbox_file=None',
        f'test_evaluator.ann_file={evaluator_file or ann_file}', *options
    ],
                    check=False)


def refused(proc, *phrases: str) -> str:
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    # no image was inferred
    assert 'Epoch(test)' not in proc.stdout + proc.stderr
    error = [
        line for line in proc.stderr.splitlines()
        if 'tools/test.py: error:' in line
    ]
    assert len(error) == 1, proc.stderr[-3000:]
    for phrase in phrases:
        assert phrase in error[0], error[0]
    return error[0]


@pytest.mark.e2e
def test_posetrack_style_file_refused_then_accepted_with_derived_area(
        run_tool, checkpoint, tmp_path):
    ann_file = write(
        posetrack_style(sample()), tmp_path / 'posetrack_style.json')
    error = refused(
        run_test(run_tool, checkpoint, tmp_path, ann_file), str(ann_file),
        '14 of 14 annotations have no "area"', 'derive_missing')
    assert 'ids ' in error
    proc = run_test(run_tool, checkpoint, tmp_path, ann_file,
                    "test_evaluator.derive_missing=['area']")
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert '"area" derived from the bbox for 14 annotations' in log
    assert 'coco/AP' in json.loads((tmp_path / 'metrics.json').read_text())


@pytest.mark.e2e
def test_aic_style_file_is_refused_for_its_area_and_runs_without_it(
        run_tool, checkpoint, tmp_path):
    """No ``area`` and no ``iscrowd``: the area is refused (not the crowd flag,
    which xtcocotools sets to 0), and the two ways to do without it,
    CocoMetric's ``use_area=False`` and the area derived from the box, give the
    same metrics."""
    ann_file = write(aic_style(sample()), tmp_path / 'aic_style.json')
    error = refused(
        run_test(run_tool, checkpoint, tmp_path, ann_file), 'have no "area"',
        'use_area=False')
    assert 'iscrowd' not in error
    metrics = {}
    for name, option in (('derived', "test_evaluator.derive_missing=['area']"),
                         ('no_area', 'test_evaluator.use_area=False')):
        proc = run_test(run_tool, checkpoint, tmp_path, ann_file, option)
        assert proc.returncode == 0, proc.stderr[-3000:]
        metrics[name] = json.loads((tmp_path / 'metrics.json').read_text())
        if name == 'derived':
            assert '"area" derived from the bbox for 14' in (proc.stdout +
                                                             proc.stderr)
    assert 'coco/AP' in metrics['derived']
    assert metrics['derived'] == pytest.approx(metrics['no_area'], abs=1e-9)


def test_areas_from_the_keypoints_extent_never_for_people_without_keypoints():
    coco = aic_style(sample())
    filled = derive_fields(coco, ['area'], area_from='keypoints')
    labelled = [a for a in coco['annotations'] if a['num_keypoints'] > 0]
    assert filled == {'area': len(labelled)}
    for ann in labelled:
        xy = np.array(ann['keypoints']).reshape(-1, 3)
        xy = xy[xy[:, 2] > 0, :2]
        assert ann['area'] == pytest.approx(np.prod(xy.max(0) - xy.min(0)))
    # the others keep no area, and the check names them
    problems = '\n'.join(annotation_problems(coco))
    assert f'{14 - len(labelled)} of 14 annotations have no "area"' in problems
    with pytest.raises(ValueError, match='cannot be derived'):
        derive_fields(coco, ['bbox'])


@pytest.mark.e2e
def test_dataset_and_evaluator_on_different_files_are_refused(
        run_tool, checkpoint, tmp_path):
    fewer = sample()
    fewer['images'] = fewer['images'][:2]
    kept = {image['id'] for image in fewer['images']}
    fewer['annotations'] = [
        a for a in fewer['annotations'] if a['image_id'] in kept
    ]
    other = write(fewer, tmp_path / 'two_images.json')
    refused(
        run_test(run_tool, checkpoint, tmp_path, SAMPLE, evaluator_file=other),
        'different data', str(other), str(SAMPLE))


@pytest.mark.e2e
def test_a_file_of_another_skeleton_is_refused_by_tools_test(
        run_tool, checkpoint, tmp_path):
    coco = sample()
    for ann in coco['annotations']:
        # 14 keypoints, as AI Challenger's
        ann['keypoints'] = ann['keypoints'][:42]
    ann_file = write(coco, tmp_path / 'aic_14.json')
    refused(
        run_test(run_tool, checkpoint, tmp_path, ann_file),
        # the dataset reads the file first
        'has "keypoints" of 42 numbers, not 51')


def test_keypoint_arrays_of_another_skeleton_are_refused_with_the_count(
        tmp_path):
    coco = aic_style(sample())
    for ann in coco['annotations']:
        # 14 keypoints, as AI Challenger's
        ann['keypoints'] = ann['keypoints'][:42]
    ann_file = write(coco, tmp_path / 'aic_14.json')
    metric = CheckedCocoMetric(
        ann_file=str(ann_file), derive_missing=['area', 'iscrowd'])
    with pytest.raises(
            AnnotationFileError, match='of 42 numbers, not 51') as err:
        metric.dataset_meta = dict(
            dataset_name='coco', num_keypoints=17, sigmas=[0.05] * 17)
    assert (str(ann_file) in str(err.value)
            and '14 annotations' in str(err.value))


def test_every_field_the_keypoint_evaluation_reads_is_checked():
    coco = sample()
    assert annotation_problems(coco, 17) == []
    anns = coco['annotations']
    del anns[0]['num_keypoints'], anns[1]['category_id']
    anns[2]['image_id'] = -1
    # a labelled person's box: computeOks reads it for everyone
    assert anns[4]['num_keypoints'] > 0
    del anns[4]['bbox'], anns[5]['area'], anns[6]['iscrowd']
    del coco['categories'][:]
    problems = '\n'.join(annotation_problems(coco, 17))
    assert ('no "category_id"' in problems
            and '"image_id" that no entry' in problems)
    assert '"category_id" that no entry of "categories"' in problems
    assert (f'1 of {len(anns)} annotations have no "bbox" (ids '
            f'{anns[4]["id"]})') in problems
    assert f'have no "area" (ids {anns[5]["id"]})' in problems
    # what COCOeval does not read for 'keypoints', or fills in
    assert 'num_keypoints' not in problems and 'iscrowd' not in problems
    # without use_area the area is not read; CrowdPose's evaluation reads
    # num_keypoints
    assert 'area' not in '\n'.join(
        annotation_problems(coco, 17, use_area=False))
    assert 'no "num_keypoints"' in '\n'.join(
        annotation_problems(coco, 17, iou_type='keypoints_crowd'))
    assert annotation_problems(
        {'images':
         []}) == ['has no "annotations" list', 'has no "categories" list']


def test_a_file_without_num_keypoints_or_iscrowd_evaluates_as_coco_metric(
        tmp_path):
    """The fields COCOeval does not need are not asked for: the metric builds
    and scores the ground truth itself as CocoMetric does (AP 1)."""
    from mmpose.evaluation.metrics import CocoMetric
    coco = sample()
    for ann in coco['annotations']:
        del ann['num_keypoints'], ann['iscrowd']
    path = write(coco, tmp_path / 'lean.json')
    meta = dict(
        dataset_name='coco',
        num_keypoints=17,
        sigmas=np.full(17, 0.05),
        flip_indices=list(range(17)))
    scores = {}
    for name, metric in (('checked',
                          CheckedCocoMetric(
                              ann_file=str(path), nms_mode='none')),
                         ('mmpose',
                          CocoMetric(ann_file=str(path), nms_mode='none'))):
        metric.dataset_meta = meta
        scores[name] = metric.compute_metrics(ground_truth_results(coco))
    assert scores['checked'] == pytest.approx(scores['mmpose'])
    assert scores['checked']['AP'] == pytest.approx(1.0)


def ground_truth_results(coco: dict) -> list:
    """CocoMetric's per-sample ``(prediction, ground truth)`` results that
    predict every labelled person of ``coco`` exactly (score 1), one sample per
    person, as top-down testing gives them (the ground truth comes from the
    file)."""
    results = []
    for ann in coco['annotations']:
        keypoints = np.array(ann['keypoints'], np.float32).reshape(1, -1, 3)
        if not keypoints[..., 2].any():
            continue
        results.append((dict(
            id=ann['id'],
            img_id=ann['image_id'],
            category_id=1,
            keypoints=keypoints[..., :2],
            keypoint_scores=np.ones(keypoints.shape[:2], np.float32),
            bbox_scores=np.ones(1, np.float32),
            areas=np.array([ann['area']], np.float32)), dict()))
    return results


COCO_META = dict(
    dataset_name='coco',
    num_keypoints=17,
    sigmas=np.full(17, 0.05),
    flip_indices=list(range(17)))


@pytest.mark.parametrize(
    'field,value,message',
    [
        ('keypoints', [None] * 51,
         '"keypoints" that are not a list of finite numbers'),
        ('keypoints', [1.0] * 50, '"keypoints" of 50 numbers, not a multiple'),
        ('bbox', [1.0, 2.0, 3.0], '"bbox" that is not 4 finite numbers'),
        ('area', 'big', '"area" that is not a finite number'),
        # not a failure: xtcocotools would take the person as a crowd region
        ('iscrowd', '0', '"iscrowd" "0", not 0 or 1'),
    ])
def test_values_evaluation_would_fail_on_are_named_when_built(
        field, value, message, tmp_path):
    """xtcocotools would raise a ``TypeError`` / ``IndexError`` after the whole
    inference; ``derive_missing`` leaves the faulty entry alone for the check
    to name."""
    coco = sample()
    coco['annotations'][3][field] = value
    path = write(coco, tmp_path / 'faulty.json')
    with pytest.raises(AnnotationFileError) as err:
        CheckedCocoMetric(ann_file=str(path), derive_missing=['area'])
    assert str(path) in str(err.value)
    assert (f'1 of 14 annotations have {message}' in str(err.value)
            and str(coco['annotations'][3]['id']) in str(err.value))


def test_repeated_ids_are_refused(tmp_path):
    """Of two annotations with one id xtcocotools keeps one: a perfect
    prediction of both scored AP 0.72 instead of 0.89 on this sample."""
    coco = sample()
    coco['annotations'][1]['id'] = coco['annotations'][0]['id']
    coco['images'][2]['id'] = coco['images'][1]['id']
    problems = '\n'.join(annotation_problems(coco, 17))
    assert ('"annotations" has 1 ids that occur more than once '
            f'({coco["annotations"][0]["id"]})') in problems
    assert ('"images" has 1 ids that occur more than once '
            f'({coco["images"][1]["id"]})') in problems
    with pytest.raises(AnnotationFileError, match='more than once'):
        CheckedCocoMetric(ann_file=str(write(coco, tmp_path / 'twice.json')))


def test_keypoints_crowd_evaluates_as_coco_metric_and_needs_crowd_index(
        tmp_path):
    """CrowdPose's evaluation reads the file's ``crowdIndex`` again after the
    inference: the checked metric gives the file name to xtcocotools (it
    failed with ``open(None)``) and refuses images without one."""
    from mmpose.evaluation.metrics import CocoMetric
    coco = sample()
    for index, image in enumerate(coco['images']):
        image['crowdIndex'] = 0.3 * index
    path = write(coco, tmp_path / 'crowd.json')
    scores = {}
    for name, metric_type in (('checked', CheckedCocoMetric), ('mmpose',
                                                               CocoMetric)):
        metric = metric_type(
            ann_file=str(path), nms_mode='none', iou_type='keypoints_crowd')
        metric.dataset_meta = COCO_META
        scores[name] = metric.compute_metrics(ground_truth_results(coco))
    assert scores['checked'] == pytest.approx(scores['mmpose'])
    assert {'AP(E)', 'AP(M)', 'AP(H)'} <= set(scores['checked'])
    del coco['images'][1]['crowdIndex']
    with pytest.raises(
            AnnotationFileError,
            match=(
                r'1 of 4 images have no numeric "crowdIndex" '
                rf'\(keypoints_crowd\), e.g. id {coco["images"][1]["id"]}')):
        CheckedCocoMetric(
            ann_file=str(write(coco, tmp_path / 'no_index.json')),
            iou_type='keypoints_crowd')


def test_the_derived_area_scores_as_xtcocotools_without_use_area(tmp_path):
    """Predictions a few pixels off, so that the OKS depends on each person's
    scale: the area derived from the box (0.53 w h) gives the metrics of
    ``use_area=False`` on the file without areas, and a file whose areas are
    the whole boxes gives others."""
    from mmpose.evaluation.metrics import CocoMetric
    coco = aic_style(sample())
    results = ground_truth_results(sample())
    shifts = np.random.default_rng(0).normal(0, 4, (len(results), 17, 2))
    for (prediction, _), shift in zip(results, shifts):
        prediction['keypoints'] = prediction['keypoints'] + shift[None]
    lean = write(coco, tmp_path / 'no_area.json')
    metrics = {}
    for name, metric in (
        ('derived',
         CheckedCocoMetric(
             ann_file=str(lean), derive_missing=['area'], nms_mode='none')),
        ('no_area',
         CocoMetric(ann_file=str(lean), use_area=False, nms_mode='none')),
    ):
        metric.dataset_meta = COCO_META
        metrics[name] = metric.compute_metrics(results)
    derived = json.loads(lean.read_text())
    derive_fields(derived, ['area'])
    for ann in derived['annotations']:
        assert ann['area'] == pytest.approx(0.53 * ann['bbox'][2] *
                                            ann['bbox'][3])
        ann['area'] = ann['bbox'][2] * ann['bbox'][3]
    whole_boxes = CocoMetric(
        ann_file=str(write(derived, tmp_path / 'boxes.json')), nms_mode='none')
    whole_boxes.dataset_meta = COCO_META
    metrics['whole_boxes'] = whole_boxes.compute_metrics(results)
    assert 0.1 < metrics['derived']['AP'] < 0.95
    assert metrics['derived'] == pytest.approx(metrics['no_area'], abs=1e-9)
    assert metrics['whole_boxes']['AP'] != pytest.approx(
        metrics['derived']['AP'], abs=1e-3)


def test_without_ann_file_the_datasets_file_is_checked(
        tmp_path, dataset_file_in_message_hub):
    """mmpose's ``CocoMetric`` without ``ann_file`` reads the dataset's file
    (unchecked: ``KeyError: 'area'`` after the inference); the checked one
    checks it then, and evaluates it as mmpose's does."""
    from mmpose.evaluation.metrics import CocoMetric
    dataset_file_in_message_hub(
        write(aic_style(sample()), tmp_path / 'a.json'))
    with pytest.raises(
            AnnotationFileError,
            match='a.json: 14 of 14 '
            'annotations have no "area"'):
        CheckedCocoMetric().dataset_meta = dict(COCO_META)
    dataset_file_in_message_hub(SAMPLE)
    scores = {}
    for name, metric in (('checked', CheckedCocoMetric(nms_mode='none')),
                         ('mmpose', CocoMetric(nms_mode='none'))):
        metric.dataset_meta = dict(COCO_META)
        scores[name] = metric.compute_metrics(ground_truth_results(sample()))
    assert scores['checked'] == pytest.approx(scores['mmpose'])
    assert scores['checked']['AP'] > 0.85
