"""PartAffinityField: keypoint conventions, encoding (eqs. 1-2), and the round trip of the
sample's real multi-person ground truth through encode -> decode, scored with COCO AP."""
import numpy as np
import pytest
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from custom_modules.codecs import OPENPOSE_COCO_LIMBS, PAFSkeleton, PartAffinityField

SIGMAS = np.array(
    [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0

COCO_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
OPENPOSE_LIMBS = np.array(OPENPOSE_COCO_LIMBS)


def test_coco_openpose_conversion_round_trips_and_adds_the_neck():
    skeleton = PAFSkeleton()  # OpenPose's COCO skeleton
    assert (skeleton.num_keypoints, skeleton.num_limbs, skeleton.num_dataset_keypoints) == (18, 19,
                                                                                            17)
    keypoints = np.random.rand(3, 17, 2).astype(np.float32)
    visible = np.ones((3, 17), np.float32)
    visible[1, 6] = 0  # no right shoulder: no neck
    op, op_visible = skeleton.from_dataset(keypoints, visible)
    assert op.shape == (3, 18, 2) and op_visible.shape == (3, 18)
    np.testing.assert_allclose(op[:, 1], keypoints[:, [5, 6]].mean(axis=1), rtol=1e-6)
    assert op_visible[1, 1] == 0 and op_visible[0, 1] == 1
    np.testing.assert_allclose(op[:, 2], keypoints[:, 6])  # OpenPose 2 is the right shoulder
    back, back_visible = skeleton.to_dataset(op, op_visible)
    np.testing.assert_array_equal(back, keypoints)
    np.testing.assert_array_equal(back_visible, visible)


def test_encode_gaussians_background_and_unit_vectors():
    codec = PartAffinityField(input_size=(64, 64), heatmap_size=(32, 32), sigma=1.5)
    keypoints = np.zeros((1, 17, 2), np.float32)
    visible = np.zeros((1, 17), np.float32)
    # map pixel i is centred on input pixel 2i + 0.5 (stride 2)
    keypoints[0, 6] = (20.5, 20.5)  # right shoulder at heatmap (10, 10)
    keypoints[0, 8] = (20.5, 40.5)  # right elbow at heatmap (10, 20): the limb points down
    visible[0, [6, 8]] = 1
    encoded = codec.encode(keypoints, visible)
    heatmaps, pafs = encoded['heatmaps'], encoded['pafs']
    assert heatmaps.shape == (19, 32, 32) and pafs.shape == (38, 32, 32)
    assert heatmaps[2, 10, 10] == pytest.approx(1.0)
    assert heatmaps[2, 10, 11] == pytest.approx(np.exp(-1 / 1.5**2))
    np.testing.assert_allclose(heatmaps[18], 1 - heatmaps[:18].max(axis=0))
    limb = next(i for i, (a, b) in enumerate(OPENPOSE_LIMBS) if (a, b) == (2, 3))
    np.testing.assert_allclose(pafs[2 * limb:2 * limb + 2, 15, 10], [0, 1])  # on the limb
    assert np.all(pafs[2 * limb:2 * limb + 2, 15, 14] == 0)  # 4 pixels beside it
    assert np.abs(pafs).sum() == np.abs(pafs[2 * limb:2 * limb + 2]).sum()  # no other limb


def test_overlapping_limbs_average_their_vectors():
    codec = PartAffinityField(input_size=(32, 32), heatmap_size=(32, 32))
    keypoints = np.zeros((2, 17, 2), np.float32)
    keypoints[:, 6] = (10, 10)
    keypoints[0, 8] = (20, 10)  # to the right
    keypoints[1, 8] = (10, 20)  # downwards
    visible = np.zeros((2, 17), np.float32)
    visible[:, [6, 8]] = 1
    pafs = codec.encode(keypoints, visible)['pafs']
    limb = next(i for i, (a, b) in enumerate(OPENPOSE_LIMBS) if (a, b) == (2, 3))
    np.testing.assert_allclose(pafs[2 * limb:2 * limb + 2, 10, 10], [0.5, 0.5])


def coco_round_trip_ap(ann_file: str, stride: int) -> float:
    coco = COCO(ann_file)
    results = []
    for image_id in coco.getImgIds():
        image = coco.loadImgs(image_id)[0]
        anns = [
            a for a in coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=False))
            if a['num_keypoints'] > 0
        ]
        keypoints = np.array([a['keypoints'] for a in anns], np.float32).reshape(-1, 17, 3)
        width, height = image['width'], image['height']
        codec = PartAffinityField(
            input_size=(width, height), heatmap_size=(width // stride, height // stride))
        encoded = codec.encode(keypoints[..., :2], (keypoints[..., 2] > 0).astype(np.float32))
        pred, scores, _ = codec.decode(encoded['heatmaps'], encoded['pafs'])
        for person, person_scores in zip(pred, scores):
            found = person_scores > 0
            results.append(
                dict(
                    image_id=image_id,
                    category_id=1,
                    score=float(person_scores[found].mean()),
                    keypoints=np.concatenate([person, found[:, None]], axis=1).ravel().tolist()))
    detections = coco.loadRes(results)
    evaluator = COCOeval(coco, detections, 'keypoints', SIGMAS, use_area=True)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return evaluator.stats[0]


def test_round_trip_of_the_samples_real_crowds(repo_root):
    """Encode the ground truth of the 4 sample images (up to 5 people each) and group it back."""
    ap = coco_round_trip_ap(str(repo_root / 'tests/data/coco/test_coco.json'), stride=4)
    assert ap >= 0.9


def test_map_pixels_are_centred_on_their_input_pixels():
    """At stride 8, map pixel i covers input pixels 8i ... 8i + 7: its centre is 8i + 3.5, and
    a keypoint there is where its Gaussian peaks; decoding maps it back."""
    codec = PartAffinityField(input_size=(64, 32), heatmap_size=(8, 4))
    assert codec.to_heatmap_pixels(np.array([[3.5, 3.5], [59.5, 27.5], [-0.5, -0.5]])) == (
        pytest.approx(np.array([[0, 0], [7, 3], [-0.5, -0.5]])))
    xy = np.random.default_rng(0).uniform(0, 64, (10, 2))
    np.testing.assert_allclose(codec.to_input_pixels(codec.to_heatmap_pixels(xy)), xy, rtol=1e-6)
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
    rng = np.random.default_rng(0)
    for _ in range(50):
        num_a, num_b = rng.integers(1, 7, size=2)
        scores = rng.random((num_a, num_b))
        scores[rng.random((num_a, num_b)) < 0.3] = -np.inf
        first, second = np.indices(scores.shape).reshape(2, -1)
        taken = PartAffinityField.greedy_match(first, second, scores.ravel())
        # reference: repeatedly take the best remaining pair
        expected, left = [], scores.copy()
        while np.isfinite(left).any():
            a, b = np.unravel_index(np.argmax(left), left.shape)
            expected.append((a, b))
            left[a, :] = left[:, b] = -np.inf
        assert sorted(zip(first[taken], second[taken])) == sorted(expected)


def test_a_keypoint_half_way_between_pixels_gives_one_peak():
    codec = PartAffinityField(input_size=(32, 32), heatmap_size=(16, 16))
    keypoints = np.zeros((1, 17, 2), np.float32)
    keypoints[0, 0] = (2 * 5.5 + 0.5, 2 * 7.5 + 0.5)  # nose at heatmap (5.5, 7.5): a 2x2 plateau
    visible = np.zeros((1, 17), np.float32)
    visible[0, 0] = 1
    joints, xy, scores = codec.find_peaks(codec.encode(keypoints, visible)['heatmaps'])
    assert joints.tolist() == [0]
    # the 3x3 centroid pulls towards the peak pixel, but is within 0.15 px (0.5 unrefined)
    np.testing.assert_allclose(xy[0], (5.5, 7.5), atol=0.15)


def test_flip_indices_swap_sides_and_keep_limb_directions():
    keypoint_flip, limb_flip = PAFSkeleton().flip_orders(COCO_FLIP_INDICES)
    assert keypoint_flip[2] == 5 and keypoint_flip[1] == 1  # shoulders, neck
    for limb, flipped in enumerate(limb_flip):
        a, b = OPENPOSE_LIMBS[limb]
        assert tuple(OPENPOSE_LIMBS[flipped]) == (keypoint_flip[a], keypoint_flip[b])
    # encoding a mirrored person gives the mirrored maps
    codec = PartAffinityField(input_size=(33, 33), heatmap_size=(33, 33))
    rng = np.random.default_rng(1)
    keypoints = rng.uniform(4, 28, size=(1, 17, 2)).astype(np.float32)
    mirrored = keypoints.copy()
    mirrored[..., 0] = 32 - mirrored[..., 0]
    mirrored = mirrored[:, [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]]
    original, flipped = codec.encode(keypoints), codec.encode(mirrored)
    np.testing.assert_allclose(
        flipped['heatmaps'][:18], original['heatmaps'][keypoint_flip][..., ::-1], atol=1e-5)
    pafs = original['pafs'].reshape(19, 2, 33, 33)[limb_flip][..., ::-1] * [[[-1]], [[1]]]
    np.testing.assert_allclose(flipped['pafs'].reshape(19, 2, 33, 33), pafs, atol=1e-5)


# A CrowdPose-style skeleton, built here: 14 keypoints (left/right shoulder, elbow, wrist, hip,
# knee, ankle, then top of head and neck, both annotated), no derived keypoint, 13 tree limbs
# rooted at the neck.
CROWDPOSE_FLIP_INDICES = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13]
CROWDPOSE_SKELETON = dict(
    keypoints=list(range(14)),
    limbs=[(13, 12), (13, 0), (13, 1), (0, 2), (2, 4), (1, 3), (3, 5), (13, 6), (13, 7), (6, 8),
           (8, 10), (7, 9), (9, 11)],
    num_tree_limbs=None)


def crowdpose_people(rng: np.random.Generator, centres) -> np.ndarray:
    """Upright CrowdPose people ``(N, 14, 2)`` around ``centres``, a little jittered."""
    template = np.array([(-8, -20), (8, -20), (-10, -8), (10, -8), (-11, 3),
                         (11, 3), (-5, 4), (5, 4), (-5, 18), (5, 18), (-5, 31), (5, 31), (0, -34),
                         (0, -22)], np.float32)
    return np.stack([template + c + rng.uniform(-1, 1, template.shape) for c in centres])


def test_a_crowdpose_skeleton_encodes_and_decodes_its_people():
    """The codec is skeleton-generic: maps and fields follow the skeleton's 14 keypoints and 13
    limbs, and three people are decoded back in CrowdPose's keypoint order."""
    codec = PartAffinityField(
        input_size=(128, 96), heatmap_size=(128, 96), skeleton=CROWDPOSE_SKELETON)
    people = crowdpose_people(np.random.default_rng(0), [(24, 44), (64, 52), (104, 48)])
    encoded = codec.encode(people, np.ones(people.shape[:2], np.float32))
    assert encoded['heatmaps'].shape == (15, 96, 128) and encoded['pafs'].shape == (26, 96, 128)
    assert encoded['keypoint_weights'].shape == (3, 14)
    keypoints, scores, instance_scores = codec.decode(encoded['heatmaps'], encoded['pafs'])
    assert keypoints.shape == (3, 14, 2) and scores.shape == (3, 14)
    assert instance_scores.shape == (3, )
    order = np.argsort(keypoints[:, 13, 0])
    np.testing.assert_allclose(keypoints[order], people, atol=0.2)
    assert np.all(scores > 0.5)  # every keypoint found (peaks of off-pixel Gaussians)


def test_a_crowdpose_skeleton_flips_with_the_datasets_flip_indices():
    codec = PartAffinityField(
        input_size=(64, 80), heatmap_size=(64, 80), skeleton=CROWDPOSE_SKELETON)
    keypoint_flip, limb_flip = codec.skeleton.flip_orders(CROWDPOSE_FLIP_INDICES)
    assert keypoint_flip == CROWDPOSE_FLIP_INDICES  # the skeleton is the dataset's keypoints
    limbs = np.array(CROWDPOSE_SKELETON['limbs'])
    assert [tuple(limbs[j]) for j in limb_flip] == [(keypoint_flip[a], keypoint_flip[b])
                                                    for a, b in limbs]
    people = crowdpose_people(np.random.default_rng(1), [(32, 40)])
    mirrored = people.copy()
    mirrored[..., 0] = 63 - mirrored[..., 0]
    mirrored = mirrored[:, CROWDPOSE_FLIP_INDICES]
    original, flipped = codec.encode(people), codec.encode(mirrored)
    np.testing.assert_allclose(
        flipped['heatmaps'][:14], original['heatmaps'][keypoint_flip][..., ::-1], atol=1e-5)
    pafs = original['pafs'].reshape(13, 2, 80, 64)[limb_flip][..., ::-1] * [[[-1]], [[1]]]
    np.testing.assert_allclose(flipped['pafs'].reshape(13, 2, 80, 64), pafs, atol=1e-5)


def test_a_skeleton_that_does_not_fit_its_dataset_is_refused_by_name():
    with pytest.raises(ValueError, match='limbs'):
        PAFSkeleton(keypoints=[0, 1, 2], limbs=[(0, 3)], num_tree_limbs=None)
    with pytest.raises(ValueError, match='num_dataset_keypoints'):
        PAFSkeleton(
            keypoints=[0, 1, 20], limbs=[(0, 1)], num_tree_limbs=None, num_dataset_keypoints=17)
    with pytest.raises(ValueError, match='mirror of limb'):
        PAFSkeleton(keypoints=[0, 1, 2], limbs=[(0, 1)], num_tree_limbs=None).flip_orders([0, 2, 1])
    with pytest.raises(ValueError, match='flip_indices has 2 entries'):
        PAFSkeleton(keypoints=[0, 1, 2], limbs=[(0, 1)], num_tree_limbs=None).flip_orders([0, 1])
    with pytest.raises(ValueError, match='num_tree_limbs'):
        PAFSkeleton(keypoints=[0, 1, 2], limbs=[(0, 1), (1, 2)])  # the default 17 of OpenPose
