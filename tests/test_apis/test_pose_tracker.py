"""PoseTracker: identities across frames by OKS or box IoU with a time-to-live, and the One-Euro
smoothing of tracked keypoints."""
import numpy as np
import pytest
from mmpose.datasets.datasets.utils import parse_pose_metainfo

from custom_modules.apis import OneEuroFilter, PoseTracker

SIGMAS = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))['sigmas']


def person(x: float, y: float, height: float = 100.0) -> np.ndarray:
    """A standing COCO person ``(17, 2)`` whose nose is at ``(x, y)``, ``height`` pixels tall."""
    rel = np.array([(0, 0), (-3, -3), (3, -3), (-6, -1), (6, -1), (-12, 12), (12, 12), (-16, 30),
                    (16, 30), (-18, 46), (18, 46), (-8, 52), (8, 52), (-8, 74), (8, 74), (-8, 96),
                    (8, 96)], np.float32)
    return np.array([x, y], np.float32) + rel * height / 100


def frame(*people: np.ndarray):
    keypoints = np.stack(people) if people else np.zeros((0, 17, 2), np.float32)
    return keypoints, np.ones(keypoints.shape[:2], np.float32)


@pytest.mark.parametrize('metric', ['oks', 'iou'])
def test_people_moving_a_few_pixels_keep_their_ids_and_a_newcomer_gets_a_new_one(metric):
    tracker = PoseTracker(metric=metric, sigmas=SIGMAS)
    rng = np.random.default_rng(0)
    ids_of = {0: [], 1: []}
    for t in range(20):
        # two people 60 pixels apart walking towards each other, 3 pixels a frame, plus jitter
        a = person(100 + 3 * t, 50) + rng.normal(0, 1, (17, 2))
        b = person(220 - 3 * t, 60) + rng.normal(0, 1, (17, 2))
        people = [b, a] if t % 2 else [a, b]  # the detector's order changes
        ids, _ = tracker.update(*frame(*people))
        ids_of[0].append(ids[1] if t % 2 else ids[0])
        ids_of[1].append(ids[0] if t % 2 else ids[1])
    assert set(ids_of[0]) == {0} and set(ids_of[1]) == {1}
    ids, _ = tracker.update(*frame(person(160, 52), person(160, 58), person(400, 50)))
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
    moved[9:] += 300  # wrists, hips, knees, ankles wildly off but with scores under the threshold
    scores = np.ones((1, 17), np.float32)
    scores[0, 9:] = 0.1
    assert tracker.update(moved[None], scores)[0].tolist() == [0]


def test_one_euro_smoothing_removes_jitter_and_follows_motion():
    rng = np.random.default_rng(1)
    still = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    raw = 50 + rng.normal(0, 2, 300)
    smooth = np.array([still(np.array([v]), 1 / 30)[0] for v in raw])
    assert smooth[30:].std() < raw[30:].std() / 2.5

    moving = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    truth = 5.0 * np.arange(60)  # 150 pixels a second
    smooth = np.array([moving(np.array([v]), 1 / 30)[0] for v in truth])
    assert np.abs(smooth[20:] - truth[20:]).max() < 6  # lags by about a frame, not more

    tracker = PoseTracker(sigmas=SIGMAS, smoothing=True)
    noisy = [person(100, 50) + rng.normal(0, 2, (17, 2)) for _ in range(60)]
    out = np.stack([tracker.update(*frame(p))[1][0] for p in noisy])
    assert tracker.next_id == 1
    assert out[30:].std(axis=0).mean() < np.stack(noisy)[30:].std(axis=0).mean() / 2


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='metric'):
        PoseTracker(metric='ious')
    with pytest.raises(ValueError, match='sigmas'):
        PoseTracker(metric='oks')
