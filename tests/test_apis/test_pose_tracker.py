# Copyright (c) OpenMMLab. All rights reserved.
"""PoseTracker: identities across frames by OKS or box IoU with a time-to-live,
and the One-Euro smoothing of tracked keypoints."""
import numpy as np
import pytest
from mmpose.datasets.datasets.utils import parse_pose_metainfo

from custom_modules.apis import OneEuroFilter, PoseTracker

SIGMAS = parse_pose_metainfo(
    dict(from_file='configs/_base_/datasets/coco.py'))['sigmas']


def person(x: float, y: float, height: float = 100.0) -> np.ndarray:
    """A standing COCO person ``(17, 2)`` whose nose is at ``(x, y)``,
    ``height`` pixels tall."""
    rel = np.array([(0, 0), (-3, -3), (3, -3), (-6, -1), (6, -1), (-12, 12),
                    (12, 12), (-16, 30), (16, 30), (-18, 46),
                    (18, 46), (-8, 52), (8, 52), (-8, 74), (8, 74), (-8, 96),
                    (8, 96)], np.float32)
    return np.array([x, y], np.float32) + rel * height / 100


def frame(*people: np.ndarray):
    keypoints = np.stack(people) if people else np.zeros(
        (0, 17, 2), np.float32)
    return keypoints, np.ones(keypoints.shape[:2], np.float32)


@pytest.mark.parametrize('metric', ['oks', 'iou'])
def test_moving_people_keep_their_ids_and_a_newcomer_gets_a_new_one(metric):
    tracker = PoseTracker(metric=metric, sigmas=SIGMAS)
    rng = np.random.default_rng(0)
    ids_of = {0: [], 1: []}
    for t in range(20):
        # two people 60 pixels apart walking towards each other, 3 pixels a
        # frame, plus jitter
        a = person(100 + 3 * t, 50) + rng.normal(0, 1, (17, 2))
        b = person(220 - 3 * t, 60) + rng.normal(0, 1, (17, 2))
        people = [b, a] if t % 2 else [a, b]  # the detector's order changes
        ids, _ = tracker.update(*frame(*people))
        ids_of[0].append(ids[1] if t % 2 else ids[0])
        ids_of[1].append(ids[0] if t % 2 else ids[1])
    assert set(ids_of[0]) == {0} and set(ids_of[1]) == {1}
    ids, _ = tracker.update(
        *frame(person(160, 52), person(160, 58), person(400, 50)))
    assert sorted(ids[:2].tolist()) == [0, 1] and ids[2] == 2


def test_a_person_hidden_for_less_than_the_ttl_gets_their_id_back():
    tracker = PoseTracker(sigmas=SIGMAS, ttl=5)
    assert tracker.update(*frame(person(100, 50)))[0].tolist() == [0]
    for _ in range(5):
        assert len(tracker.update(*frame())[0]) == 0
    assert tracker.update(*frame(person(102, 50)))[0].tolist() == [0]
    for _ in range(6):
        tracker.update(*frame())
    assert tracker.update(*frame(person(102, 50)))[0].tolist() == [1]


def test_a_jump_beyond_the_threshold_is_a_new_person():
    tracker = PoseTracker(sigmas=SIGMAS, threshold=0.3)
    tracker.update(*frame(person(100, 50)))
    assert tracker.update(*frame(person(180, 50)))[0].tolist() == [1]


def test_low_scoring_keypoints_do_not_count_for_oks():
    tracker = PoseTracker(sigmas=SIGMAS)
    tracker.update(*frame(person(100, 50)))
    moved = person(101, 50)
    moved[
        # wrists, hips, knees, ankles wildly off but with scores under the
        # threshold
        9:] += 300
    scores = np.ones((1, 17), np.float32)
    scores[0, 9:] = 0.1
    assert tracker.update(moved[None], scores)[0].tolist() == [0]


@pytest.mark.parametrize('metric', ['oks', 'iou'])
def test_a_person_whose_keypoints_all_score_low_keeps_their_id(metric):
    """SMPR gives every keypoint its pose's score: a pose scoring under the
    threshold is tracked by all its keypoints, not dropped to a box of none
    (which matched nothing and started a track every frame)."""
    tracker = PoseTracker(metric=metric, sigmas=SIGMAS)
    ids = []
    for t in range(5):
        keypoints = person(100 + t, 50)[None]
        ids += tracker.update(keypoints, np.full((1, 17), 0.25))[0].tolist()
    assert ids == [0] * 5
    assert len(tracker.tracks) == 1


def test_a_person_seen_by_one_keypoint_keeps_the_scale_of_their_track():
    """A box of one keypoint has no extent: the OKS scale is the track's area,
    and the track keeps its box."""
    tracker = PoseTracker(sigmas=SIGMAS)
    tracker.update(*frame(person(100, 50)))
    box = tracker.tracks[0].box.copy()
    scores = np.zeros((1, 17), np.float32)
    scores[0, 0] = 1.0  # the nose only
    for t in range(1, 5):
        moved = person(100 + 0.5 * t, 50)[None]
        assert tracker.update(moved, scores)[0].tolist() == [0]
    np.testing.assert_array_equal(tracker.tracks[0].box, box)


def test_keypoints_a_track_never_saw_do_not_count_for_oks():
    """A person first seen without their legs (placeholders at (0, 0)), then
    whole and not moved, keeps their id: only keypoints seen by both sides
    count, as in mmpose's ``oks_iou`` with ``vis_thr``."""
    tracker = PoseTracker(sigmas=SIGMAS)
    first = person(200, 50)
    first[5:] = 0
    scores = np.ones((1, 17), np.float32)
    scores[0, 5:] = 0.0
    assert tracker.update(first[None], scores)[0].tolist() == [0]
    assert tracker.update(*frame(person(200, 50)))[0].tolist() == [0]
    assert tracker.tracks[0].seen.all()


def test_a_match_must_exceed_the_threshold():
    """mmpose's ``_track_by_oks`` matches above ``thr``: with threshold 0, two
    people with disjoint boxes (IoU 0) are two tracks."""
    tracker = PoseTracker(metric='iou', threshold=0.0)
    tracker.update(*frame(person(100, 50)))
    assert tracker.update(*frame(person(400, 50)))[0].tolist() == [1]


def test_one_euro_smoothing_removes_jitter_and_follows_motion():
    rng = np.random.default_rng(1)
    still = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    raw = 50 + rng.normal(0, 2, 300)
    smooth = np.array(
        [still(np.array([[v]]), i / 30)[0, 0] for i, v in enumerate(raw)])
    assert smooth[30:].std() < raw[30:].std() / 2.5

    moving = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    truth = 5.0 * np.arange(60)  # 150 pixels a second
    smooth = np.array(
        [moving(np.array([[v]]), i / 30)[0, 0] for i, v in enumerate(truth)])
    # lags by about a frame, not more
    assert np.abs(smooth[20:] - truth[20:]).max() < 6

    tracker = PoseTracker(sigmas=SIGMAS, smoothing=True)
    noisy = [person(100, 50) + rng.normal(0, 2, (17, 2)) for _ in range(60)]
    out = np.stack([tracker.update(*frame(p))[1][0] for p in noisy])
    assert tracker.next_id == 1
    assert (out[30:].std(axis=0).mean()
            < np.stack(noisy)[30:].std(axis=0).mean() / 2)


def one_euro_reference(samples, min_cutoff=1.0, beta=0.05, d_cutoff=1.0):
    """Casiez et al.'s filter of a scalar from ``(time, value)`` samples,
    written out."""

    def alpha(cutoff, dt):
        return 1 / (1 + 1 / (2 * np.pi * cutoff) / dt)

    (t0, x), out, dx = samples[0], [samples[0][1]], 0.0
    for t, value in samples[1:]:
        dt = t - t0
        dx = alpha(d_cutoff,
                   dt) * (value - x) / dt + (1 - alpha(d_cutoff, dt)) * dx
        a = alpha(min_cutoff + beta * abs(dx), dt)
        x = a * value + (1 - a) * x
        out.append(x)
        t0 = t
    return np.array(out)


def test_one_euro_runs_on_timestamps_and_a_gap_counts_as_its_time():
    """Frames 1/30 s apart, then none for 0.9 s (frames dropped), then a jump.

    The filter uses the real time between the frames it gets (at 1/30 s it
    would lag far more).
    """
    samples = [(i / 30, 0.0) for i in range(4)] + [(0.1 + 0.9, 100.0),
                                                   (1.0 + 1 / 30, 100.0)]
    smooth = OneEuroFilter()
    out = [smooth(np.array([[value]]), t)[0, 0] for t, value in samples]
    np.testing.assert_allclose(out, one_euro_reference(samples), rtol=1e-9)
    # what a filter stepping 1/30 s per frame gives instead
    as_frames = OneEuroFilter()
    frames = [
        as_frames(np.array([[value]]), i / 30)[0, 0]
        for i, (_, value) in enumerate(samples)
    ]
    assert abs(out[4] - frames[4]) > 5


def test_missing_keypoints_are_not_smoothed_toward_their_placeholder():
    """A keypoint under the score threshold (here at a placeholder (0, 0), as
    decoders leave undetected ones) for 10 frames: it is returned as given, not
    fed to the filter; when it is back, its smoothed position is where it is,
    with the time it was away counted."""
    rng = np.random.default_rng(0)
    tracker = PoseTracker(sigmas=SIGMAS, smoothing=True)
    truth = person(200, 80)
    for i in range(40):
        keypoints = truth + rng.normal(0, 1, (17, 2)).astype(np.float32)
        scores = np.ones((1, 17), np.float32)
        if 10 <= i < 20:
            keypoints[9] = 0.0  # the left wrist lost
            scores[0, 9] = 0.0
        ids, out = tracker.update(keypoints[None], scores)
        assert ids.tolist() == [0]
        if 10 <= i < 20:
            assert out[0, 9].tolist() == [0.0, 0.0]  # as given
        else:
            assert np.abs(out[0, 9] - truth[9]).max() < 4, (i, out[0, 9])
    # the other keypoints never felt it
    assert np.abs(out[0] - truth).max() < 4


def test_a_person_missing_for_frames_resumes_with_the_gap_in_the_filter():
    """The tracker's clock runs on while a person is unseen (frames without
    them): when they are back the filter's step is the whole gap, as a filter
    fed those timestamps gives."""
    tracker = PoseTracker(sigmas=SIGMAS, smoothing=True, fps=30)
    reference = OneEuroFilter()
    # slow: one track throughout
    keypoints = [person(100 + 0.3 * i, 50) for i in range(30)]
    for i, pose in enumerate(keypoints):
        if 10 <= i < 20:  # not in these frames
            tracker.update(*frame())
            continue
        ids, out = tracker.update(*frame(pose))
        assert ids.tolist() == [0]
        np.testing.assert_allclose(out[0], reference(pose, i / 30), atol=1e-4)
    # a real time given
    _, out = tracker.update(*frame(keypoints[-1]), timestamp=5.0)
    np.testing.assert_allclose(
        out[0], reference(keypoints[-1], 5.0), atol=1e-4)


def test_the_oks_matrix_equals_mmposes_oks_iou_track_by_track():
    """The frame's (person, track) matrix against mmpose's ``oks_iou`` of each
    track's pose (its ever seen keypoints visible) with every person, the scale
    the mean of the two box areas; people with hidden keypoints and one with
    none, and tracks first seen with hidden keypoints."""
    from mmpose.evaluation.functional.nms import oks_iou

    from custom_modules.apis.pose_tracker import box_areas
    rng = np.random.default_rng(3)
    tracker = PoseTracker(sigmas=SIGMAS, threshold=2.0)  # nobody matches
    first = np.stack([person(*rng.uniform(50, 400, 2)) for _ in range(6)])
    first_scores = (rng.random(first.shape[:2]) > 0.2).astype(np.float32)
    first_scores[:, 0] = 1  # every track has a keypoint
    tracker.update(first, first_scores)
    keypoints = first[[0, 2, 3, 5, 1]] + rng.normal(0, 8, (5, 17, 2))
    visible = (rng.random((5, 17)) > 0.3).astype(np.float32)
    visible[4] = 0  # nobody visible: 0 for every track
    boxes = np.concatenate([
        keypoints.min(axis=1) - rng.uniform(0, 5, (5, 2)),
        keypoints.max(axis=1) + rng.uniform(0, 5, (5, 2))
    ],
                           axis=1).astype(np.float32)
    scores = tracker.similarity(keypoints.astype(np.float32), visible, boxes)
    assert scores.shape == (5, 6)
    people = np.concatenate([keypoints, visible[..., None]], axis=2)
    for column, track in enumerate(tracker.tracks):
        pose = np.concatenate([track.keypoints, track.seen[:, None]], axis=1)
        expected = oks_iou(
            pose.reshape(-1), people.reshape(5, -1),
            box_areas(track.box[None])[0], box_areas(boxes),
            np.asarray(SIGMAS), 0.5)
        np.testing.assert_allclose(scores[:, column], expected, atol=1e-6)
    assert (scores[4] == 0).all()
    # the same person scores highest with their own track
    assert (scores[:4].argmax(axis=1) == [0, 2, 3, 5]).all()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='metric'):
        PoseTracker(metric='ious')
    with pytest.raises(ValueError, match='sigmas'):
        PoseTracker(metric='oks')
