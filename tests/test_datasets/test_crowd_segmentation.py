# Copyright (c) OpenMMLab. All rights reserved.
"""COCO's crowd regions (run-length segmentations) reach mmpose's bottom-up
mask, which read polygons only."""
import json

import numpy as np
import pytest
from mmpose.datasets.transforms import BottomupGetHeatmapMask
from xtcocotools import mask as cocomask

from custom_modules.datasets import DatasetFileError
from custom_modules.datasets.crowd_segmentation import (segments_for_mask,
                                                        uncompressed_counts)
from .faulty_coco import make_faulty_coco
from .test_checked_coco_dataset import build


def decoded(segments: list, height: int, width: int) -> np.ndarray:
    """The mask of ``segments`` as mmpose's bottom-up mask makes it."""
    return cocomask.decode(
        cocomask.merge(cocomask.frPyObjects(segments, height, width)))


def test_run_lengths_of_any_mask_decode_to_it():
    rng = np.random.default_rng(0)
    masks = [rng.random((7, 5)) > 0.5, np.ones((3, 4), bool)]
    for mask in masks + [np.zeros((3, 4), bool)]:
        mask[0, 0] = not mask[0, 0]  # either first pixel
        counts = uncompressed_counts(mask)
        assert sum(counts) == mask.size
        np.testing.assert_array_equal(
            decoded([dict(size=list(mask.shape), counts=counts)], *mask.shape),
            mask)


def test_compressed_uncompressed_and_polygon_segmentations_are_lists():
    mask = np.zeros((20, 30), np.uint8)
    mask[5:12, 8:20] = 1
    compressed = cocomask.encode(np.asfortranarray(mask))
    for counts in (compressed['counts'], compressed['counts'].decode()):
        segments = segments_for_mask(
            dict(size=[20, 30], counts=counts), (20, 30))
        np.testing.assert_array_equal(decoded(segments, 20, 30), mask)
    uncompressed = dict(size=[20, 30], counts=uncompressed_counts(mask))
    np.testing.assert_array_equal(
        decoded(segments_for_mask(uncompressed, (20, 30)), 20, 30), mask)
    polygons = [[8.0, 5.0, 20.0, 5.0, 20.0, 12.0]]
    assert segments_for_mask(polygons, (20, 30)) is polygons
    # nothing to mask: left out (mmpose's mask raised IndexError on [])
    assert segments_for_mask([], (20, 30)) is None


def test_a_crowd_region_is_masked_in_bottom_up_training(tmp_path):
    """A COCO crowd annotation (``iscrowd`` 1, its segmentation a run-length
    dict, over rows 10-89 and columns 10-69 of an image of the sample): the
    bottom-up data's invalid regions hold it, and mmpose's mask transform masks
    its pixels."""
    ann_file = make_faulty_coco(tmp_path, 'crowd')
    image = json.loads(ann_file.read_text())['images'][0]
    height, width = image['height'], image['width']
    dataset = build('bottomup', 'train', ann_file)
    (info, ) = [
        dataset.get_data_info(i) for i in range(len(dataset))
        if dataset.get_data_info(i)['img_id'] == image['id']
    ]
    results = BottomupGetHeatmapMask(get_invalid=True).transform(
        dict(
            invalid_segs=info['invalid_segs'],
            img_shape=(height, width),
            input_size=(width, height)))
    mask = results['heatmap_mask']
    assert mask[10:90, 10:70].all()
    # the region, and the people mmpose masks (no visible keypoints) only
    assert mask.sum() < 0.5 * mask.size


@pytest.mark.parametrize('segmentation, message', [
    (dict(size=[10, 10], counts=[5, 10]), 'of size [10, 10], its image is'),
    ('short', 'run lengths ("counts") that are not whole numbers adding up'),
    ('negative', 'run lengths ("counts") that are not whole numbers'),
])
def test_a_run_length_that_would_abort_cocos_code_is_named(
        segmentation, message, tmp_path):
    """Run lengths that do not add up to the pixels, or of another size than
    the image, would stop xtcocotools' C code (the process aborts, nothing
    said); they are named with the file and the annotation when the dataset is
    built."""
    ann_file = make_faulty_coco(tmp_path, 'crowd')
    coco = json.loads(ann_file.read_text())
    image = coco['images'][0]
    pixels = image['height'] * image['width']
    if segmentation == 'short':
        segmentation = dict(
            counts=[10, 20], size=[image['height'], image['width']])
    elif segmentation == 'negative':
        segmentation = dict(
            counts=[pixels + 5, -5], size=[image['height'], image['width']])
    (crowd, ) = [a for a in coco['annotations'] if a['iscrowd']]
    crowd['segmentation'] = segmentation
    ann_file.write_text(json.dumps(coco))
    with pytest.raises(DatasetFileError) as error:
        build('bottomup', 'train', ann_file)
    assert str(error.value).startswith(
        f'{ann_file}: annotation id {crowd["id"]} has "segmentation" '
        f'{message}')
