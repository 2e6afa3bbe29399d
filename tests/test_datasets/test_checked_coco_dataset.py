# Copyright (c) OpenMMLab. All rights reserved.
"""CheckedCocoDataset on generated faulty data, through the train and test
pipelines of the three model families (top-down HSR-MSNet, bottom-up MLN,
single-stage SMPR sample configs): every fault is named or counted, training
skips what it cannot use, a test set refuses it when built."""
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config

import custom_modules.datasets.checked_coco_dataset as checked_module
from custom_modules.datasets import (ImageFileError, UnusableImagesError,
                                     read_image_file)
from .faulty_coco import SAMPLE, make_faulty_coco, sample_coco

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {
    'topdown':
    REPO_ROOT /
    'configs/demo/td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py',
    'bottomup':
    REPO_ROOT /
    'configs/demo/paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py',
    'single-stage':
    REPO_ROOT /
    'configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py',
}
SPLITS = ('train', 'test')


@pytest.fixture
def logged(monkeypatch):
    """The messages the dataset logs, as a list."""
    messages = []
    monkeypatch.setattr(
        checked_module,
        'print_log',
        lambda msg, logger=None, level=None: messages.append(msg))
    return messages


def build(family: str, split: str, ann_file: Path, **overrides):
    from mmpose.registry import DATASETS
    cfg = Config.fromfile(CONFIGS[family])[f'{split}_dataloader'].dataset
    assert cfg.type == 'CheckedCocoDataset'
    cfg.update(
        data_root=str(ann_file.parent),
        ann_file=ann_file.name,
        data_prefix=dict(img=''),
        bbox_file=None)
    cfg.update(overrides)
    return DATASETS.build(cfg)


def samples_of(dataset, file_name: str) -> list:
    return [
        i for i in range(len(dataset))
        if Path(dataset.get_data_info(i)['img_path']).name == file_name
    ]


def run_all(dataset) -> None:
    for index in range(len(dataset)):
        dataset[index]


@pytest.mark.parametrize('family', CONFIGS)
def test_missing_image_is_left_out_of_training_and_refused_at_test(
        family, tmp_path, logged):
    ann_file = make_faulty_coco(tmp_path, 'missing_image')
    train = build(family, 'train', ann_file)
    assert samples_of(train, 'missing.jpg') == []
    assert any('1 of the 5 images' in m and 'missing.jpg' in m
               for m in logged), logged
    run_all(train)
    with pytest.raises(FileNotFoundError) as error:
        build(family, 'test', ann_file)
    assert str(error.value) == (
        f'1 of the 5 images of {ann_file} are missing or unusable; evaluating '
        'without them '
        f'would lower the AP:\n  {tmp_path / "missing.jpg"}: missing')


@pytest.mark.parametrize('family', CONFIGS)
@pytest.mark.parametrize('fault,name,reason', [
    ('truncated_jpeg', 'truncated.jpg', 'truncated JPEG'),
    ('corrupt_jpeg', 'corrupt.jpg', 'not an image OpenCV can decode')
])
def test_bad_image_is_skipped_in_training_and_refused_by_the_test_set(
        family, fault, name, reason, tmp_path, logged):
    ann_file = make_faulty_coco(tmp_path, fault)
    train = build(family, 'train', ann_file)
    bad = samples_of(train, name)
    assert bad, 'the faulty image must be in the data list (its file exists)'
    for count, index in enumerate(bad, start=1):
        # mmengine draws another sample instead
        assert train.prepare_data(index) is None
        assert (f'{name}: {reason}' in logged[-1]
                and f'({count} skipped so far' in logged[-1])
    assert train[bad[0]] is not None  # __getitem__ falls back to another image
    with pytest.raises(UnusableImagesError) as error:
        build(family, 'test', ann_file)
    assert str(error.value).startswith(
        f'1 of the 5 images of {ann_file} are missing or unusable')
    assert f'\n  {tmp_path / name}: {reason}' in str(error.value)


def test_the_test_set_lists_every_unusable_image_in_one_error(
        tmp_path, monkeypatch):
    """A missing, a truncated and a random-bytes image at once; the list is cut
    after ``LISTED_IMAGES`` names and the rest counted."""
    ann_file = make_faulty_coco(tmp_path, 'missing_image', 'truncated_jpeg',
                                'corrupt_jpeg')
    with pytest.raises(UnusableImagesError) as error:
        build('bottomup', 'test', ann_file)
    assert str(error.value).splitlines() == [
        f'3 of the 7 images of {ann_file} are missing or unusable; evaluating '
        'without them would lower the AP:',
        f"  {tmp_path / 'corrupt.jpg'}: not an image OpenCV can decode "
        f"(starts with {(tmp_path / 'corrupt.jpg').read_bytes()[:8]!r})",
        f'  {tmp_path / "missing.jpg"}: missing',
        f'  {tmp_path / "truncated.jpg"}: truncated JPEG (no end-of-image '
        'marker FF D9 in its '
        f'{(tmp_path / "truncated.jpg").stat().st_size} bytes)'
    ]
    monkeypatch.setattr(checked_module, 'LISTED_IMAGES', 2)
    with pytest.raises(UnusableImagesError) as error:
        build('bottomup', 'test', ann_file)
    assert str(error.value).splitlines()[3:] == ['  ... and 1 more']


def test_an_image_spoilt_after_the_check_is_named_when_read(tmp_path):
    ann_file = make_faulty_coco(tmp_path)
    test = build('topdown', 'test', ann_file)
    name = sample_coco()['images'][0]['file_name']
    (tmp_path / name).write_bytes(b'')
    with pytest.raises(ImageFileError, match=f'{name}: empty file'):
        run_all(test)


@pytest.mark.parametrize('fault', ['gray_png', 'rgba_png', 'png16'])
def test_grey_rgba_and_16_bit_pngs_load_as_8_bit_bgr(fault, tmp_path):
    make_faulty_coco(tmp_path, fault)
    original = cv2.imread(
        str(SAMPLE / sample_coco()['images'][0]['file_name']))
    image = read_image_file(str(tmp_path / f'{fault.split("_")[0]}.png'))
    assert image.dtype == np.uint8 and image.shape == original.shape
    if fault == 'gray_png':
        grey = cv2.cvtColor(original, cv2.COLOR_BGR2GRAY)
        assert all((image[..., c] == grey).all() for c in range(3))
    # alpha dropped; 16 bits scaled back to 8 (rounding: at most 1 level off)
    else:
        assert np.abs(image.astype(int) - original).max() <= 1


@pytest.mark.parametrize('family', CONFIGS)
@pytest.mark.parametrize('split', SPLITS)
def test_every_fault_free_of_files_runs_through_the_pipelines(
        family, split, tmp_path, logged):
    """Image kinds, an image of nobody, people without keypoints, off-image
    keypoints, empty and negative boxes and a crowd region at once: the
    pipelines run, the faults are logged."""
    faults = ('gray_png', 'rgba_png', 'png16', 'nobody', 'zero_visible',
              'keypoints_outside', 'zero_area_box', 'negative_box', 'crowd')
    dataset = build(family, split, make_faulty_coco(tmp_path, *faults))
    for index in range(len(dataset)):
        inputs = dataset[index]['inputs']
        assert inputs.shape[0] == 3 and np.isfinite(inputs.numpy()).all()
    text = '\n'.join(logged)
    assert '5 visible keypoints outside their image (made not visible)' in text
    assert '2 boxes of no area inside their image' in text
    assert '1 crowd annotations' in text
    assert 'people without visible keypoints' in text
    names = {
        Path(dataset.get_data_info(i)['img_path']).name
        for i in range(len(dataset))
    }
    assert {'gray.png', 'rgba.png', 'png16.png'} <= names
    # an image of nobody is evaluated (it can hold false positives), never
    # trained on
    assert ('nobody.jpg' in names) == (split == 'test' and family != 'topdown')


def test_keypoints_outside_the_image_are_made_not_visible(tmp_path):
    dataset = build('topdown', 'train',
                    make_faulty_coco(tmp_path, 'keypoints_outside'))
    width = {img['id']: img['width'] for img in sample_coco()['images']}
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    changed = [
        info for info in infos
        if max(info['raw_ann_info']['keypoints'][0::3]) > width[info['img_id']]
    ]
    assert len(changed) == 1
    assert (changed[0]['keypoints_visible'][0, :5] == 0).all()
    assert changed[0][
        'num_keypoints'] == changed[0]['raw_ann_info']['num_keypoints'] - 5


@pytest.mark.parametrize('content,message', [
    ('{"images": [', 'not valid JSON'),
    ('[1, 2]', 'not a JSON object'),
    ('{"annotations": []}', 'has no "images" list'),
    ('{"images": [], "categories": []}', 'has no "annotations" list'),
])
def test_malformed_annotation_file_is_named(content, message, tmp_path):
    ann_file = tmp_path / 'annotations.json'
    ann_file.write_text(content)
    with pytest.raises(ValueError, match=f'annotations.json: {message}'):
        build('topdown', 'train', ann_file)


@pytest.mark.parametrize('entry,field', [('images', 'file_name'),
                                         ('annotations', 'image_id')])
def test_entry_without_a_required_field_is_named(entry, field, tmp_path):
    coco = sample_coco()
    del coco[entry][1][field]
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    with pytest.raises(
            ValueError,
            match=rf'annotations.json: {entry}\[1\] has no "{field}"'):
        build('bottomup', 'train', ann_file)


@pytest.mark.parametrize('entry,field,value,message', [
    ('images', 'width', '640', '"640", not a positive number'),
    ('images', 'height', 0, '0, not a positive number'),
    ('images', 'id', '42', '"42", not an integer'),
    ('images', 'file_name', None, 'null, not a file name'),
    ('annotations', 'image_id', 1.5, '1.5, not an integer'),
    ('annotations', 'category_id', True, 'true, not an integer'),
])
def test_a_required_field_of_the_wrong_kind_is_named(entry, field, value,
                                                     message, tmp_path):
    """mmpose fails on them deep inside (a string width in a subtraction, a
    string id in CocoMetric's file names) or not at all."""
    coco = sample_coco()
    coco[entry][1][field] = value
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    with pytest.raises(
            ValueError,
            match=rf'annotations.json: {entry}\[1\] has "{field}" '
            f'{re.escape(message)}'):
        build('bottomup', 'train', ann_file)


def test_what_mmpose_and_xtcocotools_read_alike_passes():
    """An id written as a float by a converter (``1.0``) and an ``iscrowd`` of
    null (not a crowd to both) are no faults."""
    from custom_modules.datasets.coco_file_checks import (ANNOTATION_FIELDS,
                                                          field_problem,
                                                          iscrowd_problem)
    ann = dict(id=1.0, image_id=3.0, category_id=1)
    assert field_problem([ann], ANNOTATION_FIELDS, 'annotations') is None
    assert field_problem([dict(ann, id=1.5)], ANNOTATION_FIELDS,
                         'a') == ('a[0] has "id" 1.5, not an integer')
    assert [iscrowd_problem(dict(iscrowd=v))
            for v in (0, 1, None)] == [None] * 3
    assert iscrowd_problem({}) is None
    assert iscrowd_problem(dict(iscrowd=2)) == '"iscrowd" 2, not 0 or 1'


@pytest.mark.parametrize('split', SPLITS)
def test_a_string_iscrowd_is_refused_not_taken_as_a_crowd(split, tmp_path):
    """mmpose tests ``iscrowd``'s truth: ``"0"`` would make a person a crowd
    region, silently."""
    coco = sample_coco()
    coco['annotations'][2]['iscrowd'] = '0'
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    with pytest.raises(
            ValueError,
            match=f'annotations.json: annotation id '
            f'{coco["annotations"][2]["id"]} has "iscrowd" "0", not 0 or 1'):
        build('topdown', split, ann_file)


def test_annotations_of_no_image_are_counted(tmp_path, logged):
    coco = sample_coco()
    for ann in coco['annotations'][:3]:
        ann['image_id'] += 10**6
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    build('topdown', 'train', ann_file)
    assert any(
        '3 annotations of an "image_id" that no entry of "images" has (left '
        f'out), e.g. annotation id {coco["annotations"][0]["id"]}' in m
        for m in logged), logged


def test_training_without_any_image_is_refused(tmp_path):
    """A wrong ``data_prefix`` would otherwise leave no sample and fail in
    mmengine (``need at least one array to concatenate``)."""
    ann_file = make_faulty_coco(tmp_path)
    with pytest.raises(
            FileNotFoundError,
            match=r'none of the 4 images of .*annotations.json is under '
            r'.*train2017/ \(data_root \+ data_prefix.img\)'):
        build('topdown', 'train', ann_file, data_prefix=dict(img='train2017/'))


def test_test_images_of_another_size_than_annotated_are_logged(
        tmp_path, logged):
    """Keypoints are in the annotated pixels: halved images give an AP near 0
    without an error.

    An image turned by its EXIF orientation (width and height swapped) is no
    fault.
    """
    ann_file = make_faulty_coco(tmp_path)
    coco = sample_coco()
    first, second = coco['images'][:2]
    image = cv2.imread(str(tmp_path / first['file_name']))
    cv2.imwrite(str(tmp_path / first['file_name']), image[::2, ::2])
    image = cv2.imread(str(tmp_path / second['file_name']))
    cv2.imwrite(str(tmp_path / second['file_name']), image.transpose(1, 0, 2))
    build('bottomup', 'test', ann_file)
    warned = [m for m in logged if 'not the size' in m]
    assert warned == [
        f'1 of the 4 images of {ann_file} are not the size the file gives '
        f'them (width x height), e.g. {tmp_path / first["file_name"]}: '
        f'{(first["width"] + 1) // 2}x{(first["height"] + 1) // 2}, '
        f'annotated {first["width"]}x{first["height"]}; the keypoints and '
        'boxes are in the annotated pixels, so resized images give a wrong AP'
    ]


def detections(image_ids) -> list:
    return [
        dict(image_id=i, category_id=1, bbox=[10, 10, 50, 100], score=0.9)
        for i in image_ids
    ]


def test_bbox_file_gaps_are_counted(tmp_path, logged):
    ann_file = make_faulty_coco(tmp_path)
    ids = [img['id'] for img in sample_coco()['images']]
    bbox_file = tmp_path / 'dets.json'
    bbox_file.write_text(json.dumps(detections(ids[:2])))
    dataset = build('topdown', 'test', ann_file, bbox_file=str(bbox_file))
    assert len(dataset) == 2
    assert any('dets.json: no person box for 2 of 4 images' in m
               for m in logged), logged


@pytest.mark.parametrize(
    'make,message',
    [
        (lambda ids: detections(ids[:1]) + detections([999]),
         r'detections of 1 image ids that .* not have, e.g\. \[999\]'),
        (lambda ids: [{
            k: v
            for k, v in d.items() if k != 'score'
        } for d in detections(ids)], r'detections\[0\] has no "score"'),
        (lambda ids: {
            'image_id': ids[0]
        }, 'holds a dict, not a list of detections'),
        (lambda ids: [dict(d, bbox=[10, 10, 50]) for d in detections(ids)],
         r'detections\[0\] has "bbox" \[10, 10, 50\], not 4 finite numbers'),
        (lambda ids: detections(ids
                                )[:1] + [dict(detections(ids)[1], score=None)],
         r'detections\[1\] has "score" null, not a finite number'),
        # mmdet's class index of a person, not COCO's category id
        (lambda ids: [dict(d, category_id=0) for d in detections(ids)],
         r'4 detections, none with "category_id" 1 \(COCO\'s person\); its '
         r'category ids: 0 \(an mmdet class index'),
    ])
def test_bbox_file_faults_are_named(make, message, tmp_path):
    ann_file = make_faulty_coco(tmp_path)
    bbox_file = tmp_path / 'dets.json'
    bbox_file.write_text(
        json.dumps(make([img['id'] for img in sample_coco()['images']])))
    with pytest.raises(ValueError, match=f'dets.json: {message}'):
        build('topdown', 'test', ann_file, bbox_file=str(bbox_file))


def test_an_image_info_file_is_a_bottom_up_test_set_not_a_training_set(
        tmp_path):
    """COCO's ``image_info_test-dev2017.json`` has images and no
    ``annotations``: the MLN test-dev config reads it without a
    ``bbox_file``."""
    coco = sample_coco()
    del coco['annotations']
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    dataset = build('bottomup', 'test', ann_file)
    assert len(dataset) == len(coco['images'])
    dataset[0]
    with pytest.raises(ValueError, match='has no "annotations" list'):
        build('bottomup', 'train', ann_file)


@pytest.mark.parametrize(
    'field,value,message',
    [
        ('bbox', [1.0, 2.0, 30.0], '"bbox" that is not 4 finite numbers'),
        ('keypoints', [1.0] * 50, '"keypoints" of 50 numbers, not 51'),
        # numpy reads null as NaN
        ('keypoints', [None] * 51,
         '"keypoints" that are not all finite numbers'),
        ('keypoints', [float('nan')] * 51,
         '"keypoints" that are not all finite numbers'),
        ('area', 'big', '"area" that is not a finite number'),
        ('num_keypoints', '5', '"num_keypoints" that is not a finite number'),
    ])
def test_an_annotation_value_mmpose_cannot_parse_is_named(
        field, value, message, tmp_path):
    coco = sample_coco()
    coco['annotations'][2][field] = value
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    ann_id = coco['annotations'][2]['id']
    with pytest.raises(ValueError) as err:
        build('topdown', 'train', ann_file)
    assert 'annotations.json' in str(err.value)
    assert (f'(id {ann_id}) has {message}' in str(err.value)
            or f'annotation id {ann_id} has {message}' in str(err.value))


def test_keypoints_of_another_skeleton_are_refused_in_training(tmp_path):
    """48 numbers parse as 16 keypoints; the dataset has 17."""
    coco = sample_coco()
    coco['annotations'][3]['keypoints'] = coco['annotations'][3][
        'keypoints'][:48]
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    with pytest.raises(
            ValueError,
            match=(f'annotations.json: annotation id '
                   f'{coco["annotations"][3]["id"]} has "keypoints" of 48 '
                   'numbers, not 51')):
        build('topdown', 'train', ann_file)


def test_repeated_ids_are_refused(tmp_path):
    coco = sample_coco()
    coco['annotations'][1]['id'] = coco['annotations'][0]['id']
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    with pytest.raises(
            ValueError,
            match=(r'annotations.json: "annotations" has 1 ids that occur '
                   rf'more than once \({coco["annotations"][0]["id"]}\)')):
        build('topdown', 'test', ann_file)


def test_a_labelled_person_of_num_keypoints_0_is_trained_on(tmp_path, logged):
    coco = sample_coco()
    person = next(a for a in coco['annotations'] if a['num_keypoints'] > 0)
    labelled = int((np.array(person['keypoints'][2::3]) > 0).sum())
    person['num_keypoints'] = 0
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    dataset = build('topdown', 'train', ann_file)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    kept = [info for info in infos if info['id'] == person['id']]
    assert len(kept) == 1 and kept[0]['num_keypoints'] == labelled
    assert any('"num_keypoints" of 0 with visible keypoints' in m
               and f'annotation id {person["id"]}' in m for m in logged)


def test_crowdposes_count_of_visible_keypoints_is_no_fault(tmp_path, logged):
    """CrowdPose's num_keypoints counts the v=2 keypoints only: a person whose
    keypoints are all v=1 and num_keypoints 0 is left as mmpose leaves it."""
    coco = sample_coco()
    person = next(a for a in coco['annotations'] if a['num_keypoints'] > 0)
    person['keypoints'][2::3] = [min(v, 1) for v in person['keypoints'][2::3]]
    person['num_keypoints'] = 0
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    dataset = build('topdown', 'train', ann_file)
    ids = [dataset.get_data_info(i)['id'] for i in range(len(dataset))]
    assert person['id'] not in ids
    assert not any('"num_keypoints" of 0' in m for m in logged)


def test_an_image_without_file_name_is_named_with_a_bbox_file(tmp_path):
    coco = sample_coco()
    del coco['images'][1]['file_name']
    ann_file = make_faulty_coco(tmp_path, coco=coco)
    bbox_file = tmp_path / 'dets.json'
    bbox_file.write_text(
        json.dumps(detections([img['id'] for img in coco['images']])))
    with pytest.raises(
            ValueError,
            match=r'annotations.json: images\[1\] has no "file_name"'):
        build('topdown', 'test', ann_file, bbox_file=str(bbox_file))


def test_images_are_read_through_the_pipelines_file_backend(tmp_path):
    """``LoadImage(backend_args=...)`` (e.g. a cluster's object store) is where
    the dataset reads its images (it read them from the local disk)."""
    from mmengine.fileio import LocalBackend, register_backend

    read = []

    class RecordingBackend(LocalBackend):

        def get(self, filepath):
            read.append(Path(filepath).name)
            return super().get(filepath)

    register_backend('recording_local', RecordingBackend, force=True)
    ann_file = make_faulty_coco(tmp_path)
    loads = dict(backend_args=dict(backend='recording_local'))
    cfg = Config.fromfile(CONFIGS['bottomup']).train_dataloader.dataset
    pipeline = [
        dict(step, **loads) if step['type'] == 'LoadImage' else step
        for step in cfg.pipeline
    ]
    dataset = build('bottomup', 'train', ann_file, pipeline=pipeline)
    dataset[0]
    assert read == [Path(dataset.get_data_info(0)['img_path']).name]
