# Copyright (c) OpenMMLab. All rights reserved.
"""custom_modules/apis/inferencers/ through their Python API: mmpose's output
(a JSON per image, one JSON per video with ``frame_id``) with a ``track_id``
per person, tracking (ids kept for people moving a few pixels, a new one for a
newcomer, tracks ageing over empty frames, smoothing at the frames' real times,
one colour per id), ``skip_existing``, person boxes instead of a detector, the
end of a run (a source without frames, :meth:`finish` after a stop), the model
index's names and aliases, and the refusals at construction (another model's
checkpoint, ``device_preprocess`` of a top-down model).

The network is replaced by given people (:func:`~.demo_fakes.fake_network`)
where what it finds matters.
"""
import functools
import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from custom_modules.apis import (CheckpointFileError, CheckpointMismatchError,
                                 PoseTracker, Source, UnsupportedPipelineError,
                                 draw_tracked_people, track_colour)
from custom_modules.apis.inferencers import (MultilevelInferencer,
                                             MultilevelPose2DInferencer,
                                             find_model, model_aliases)
from .demo_fakes import (COCO_LINKS, HSR_SAMPLE_CONFIG, REPO_ROOT, FakeClock,
                         fake_network, frame_index, install_fake_capture,
                         make_video, person, read_video, small_mln_files,
                         write_image)
from conftest import save_random_checkpoint

KEYS = ['keypoints', 'keypoint_scores', 'bbox', 'bbox_score', 'track_id']


@pytest.fixture(scope='module')
def small_mln(tmp_path_factory):
    """``(config, checkpoint)``: the sample MLN at 64x64, random weights."""
    return small_mln_files(tmp_path_factory.mktemp('mln'))


@pytest.fixture(scope='module')
def hsr_checkpoint(tmp_path_factory):
    return save_random_checkpoint(HSR_SAMPLE_CONFIG,
                                  tmp_path_factory.mktemp('hsr') / 'hsr.pth')


@pytest.fixture
def mln(small_mln):
    """``mln(**extensions)``: a ``MultilevelInferencer`` of the small MLN on
    the CPU."""
    config, checkpoint = small_mln

    def build(**extensions) -> MultilevelInferencer:
        return MultilevelInferencer(
            str(config), str(checkpoint), device='cpu', **extensions)

    return build


def walkers(name: str) -> list:
    """Two people walking 3 px a frame towards each other, in an order that
    changes every frame; a third stands still from frame 6 on."""
    t = frame_index(name)
    people = [person(60 + 3 * t, 20), person(200 - 3 * t, 25)]
    people = people[::-1] if t % 2 else people
    return people + ([person(280, 30)] if t >= 6 else [])


def ids_by_height(frames: list) -> dict:
    """``{nose height: [track ids over the frames]}`` of a video's JSON (each
    person of :func:`walkers` has their own nose height)."""
    ids = {}
    for frame in frames:
        for p in frame['instances']:
            ids.setdefault(round(p['keypoints'][0][1]),
                           []).append(p['track_id'])
    return ids


# ------------------------------------------------------------- mmpose's output
def test_images_give_a_json_each_as_mmpose_writes_it_with_track_ids(
        mln, tmp_path):
    images = tmp_path / 'images'
    for name in ('a.jpg', 'b.png', 'c.jpg'):
        write_image(images / name, size=(64, 48))
    poses = [person(20, 5, 30), person(45, 5, 30)]
    inferencer = mln(tracking=dict(metric='iou'))
    seen = fake_network(inferencer.inferencer, lambda name: poses)
    results = list(
        inferencer(
            str(images),
            pred_out_dir=str(tmp_path / 'pred'),
            vis_out_dir=str(tmp_path / 'vis')))
    assert seen == ['a.jpg', 'b.png', 'c.jpg']
    assert sorted(p.name for p in (tmp_path / 'pred').iterdir()) == [
        'a.json', 'b.json', 'c.json'
    ]
    assert sorted(p.name
                  for p in (tmp_path /
                            'vis').iterdir()) == ['a.jpg', 'b.png', 'c.jpg']
    for result, stem in zip(results, 'abc'):
        people = json.loads((tmp_path / f'pred/{stem}.json').read_text())
        assert [list(p) for p in people] == [KEYS, KEYS]
        # the same two people in each image
        assert [p['track_id'] for p in people] == [0, 1]
        for p, pose in zip(people, poses):
            np.testing.assert_allclose(p['keypoints'], pose, rtol=1e-6)
            assert p['keypoint_scores'] == pytest.approx([0.9] * 17)
            # mmpose's split_instances writes a box as [[x1, y1, x2, y2]]
            np.testing.assert_allclose(
                p['bbox'], [[*pose.min(0), *pose.max(0)]], rtol=1e-6)
            assert p['bbox_score'] == 1.0
        # what the call returns (mmpose's tuple of a box and numpy scores made
        # JSON)
        assert json.loads(json.dumps(result['predictions'],
                                     default=float)) == [people]
    pose2d = inferencer.inferencer
    assert not pose2d.failed and pose2d.lost is None

    # arrays are named as mmpose names them
    list(mln()(
        np.zeros((48, 64, 3), np.uint8),
        pred_out_dir=str(tmp_path / 'arrays')))
    assert [p.name for p in (tmp_path / 'arrays').iterdir()] == ['000000.json']


def test_a_bottom_up_models_json_has_each_persons_box_and_score(mln, tmp_path):
    """The model's own path from the decoder's people on (the head's instances,
    the estimator's mapping to the image, mmpose's JSON): each person's
    ``bbox`` spans their found keypoints in image pixels, and ``bbox_score`` is
    the decoder's person score."""
    write_image(tmp_path / 'a.jpg', size=(256, 192))
    keypoints = np.stack([person(20, 5, 30), person(45, 8, 25)])
    scores = np.full((2, 17), 0.8, np.float32)
    scores[1, 15:] = 0  # the second person's ankles were not found
    keypoints[1, 15:] = 0
    people = keypoints, scores, np.array([0.7, 0.6], np.float32)

    inferencer = mln()
    decoder = inferencer.inferencer.model.head.decoder
    for way in ('decode', 'decode_resized', 'decode_on_device'):
        setattr(decoder, way, lambda *args, **kwargs: people)
    list(inferencer(str(tmp_path / 'a.jpg'), pred_out_dir=str(tmp_path)))
    written = json.loads((tmp_path / 'a.json').read_text())
    assert [list(p) for p in written] == [KEYS[:4]] * 2
    for p, found, score in zip(written, (17, 15), (0.7, 0.6)):
        image_keypoints = np.array(p['keypoints'])[:found]
        np.testing.assert_allclose(
            p['bbox'], [[*image_keypoints.min(0), *image_keypoints.max(0)]],
            rtol=1e-5)
        assert p['bbox_score'] == pytest.approx(score)
    # mapped from the 64-pixel input to the 3x larger image (49.5 there)
    assert written[1]['bbox'][0][2] > 120


def test_the_box_drawn_is_the_one_written_tracked_or_not(mln):
    """``draw_bbox`` draws each person's box as the JSON has it, with tracking
    and without, whatever ``kpt_thr`` leaves of the keypoints (here none)."""
    image = np.zeros((192, 256, 3), np.uint8)
    pose = person(128, 20, 150)
    x1, _, x2, y2 = np.round([*pose.min(0), *pose.max(0)]).astype(int)
    for tracking in (None, dict(metric='iou')):
        inferencer = mln(tracking=tracking)
        fake_network(inferencer.inferencer, lambda name: [pose])
        (result, ) = inferencer(
            image, return_vis=True, draw_bbox=True, kpt_thr=0.95, thickness=1)
        (drawn, ) = result['visualization']
        columns = np.flatnonzero(drawn.any(axis=(0, 2)))
        rows = np.flatnonzero(drawn.any(axis=(1, 2)))
        # the box's sides; the tracked drawing's "#0" stands above its top
        assert abs(columns[0] - x1) <= 1 and abs(columns[-1] - x2) <= 1
        assert abs(rows[-1] - y2) <= 1


def test_the_openpose_skeleton_style_is_refused_when_tracking(mln, tmp_path):
    """mmpose's ``skeleton_style='openpose'`` drawing is replaced by the
    tracked drawing: refused before any input is read, taken untracked."""
    image = write_image(tmp_path / 'a.jpg', size=(64, 48))
    inferencer = mln(tracking=dict(metric='iou'))
    seen = fake_network(inferencer.inferencer, lambda name: [])
    with pytest.raises(ValueError, match="skeleton_style='openpose' is"):
        list(inferencer(str(image), skeleton_style='openpose'))
    assert seen == []
    untracked = mln()
    fake_network(untracked.inferencer, lambda name: [person(30, 5, 30)])
    (result, ) = untracked(
        str(image), skeleton_style='openpose', return_vis=True)
    assert result['visualization'][0].shape == (48, 64, 3)


@pytest.mark.parametrize('metric', ['oks', 'iou'])
def test_tracking_keeps_moving_peoples_ids_and_gives_a_newcomer_a_new_one(
        mln, metric, tmp_path):
    """Two people walking 3 px a frame in the network's changing order, a third
    entering at frame 6: the video's one JSON (a ``frame_id`` each) has their
    ``track_id``s, and the video's drawings are one video at its rate."""
    video = make_video(tmp_path / 'walk.mp4', 10, size=(320, 160), fps=10)
    inferencer = mln(tracking=dict(metric=metric))
    fake_network(inferencer.inferencer, walkers)
    list(
        inferencer(
            str(video),
            pred_out_dir=str(tmp_path),
            vis_out_dir=str(tmp_path / 'vis')))
    frames = json.loads((tmp_path / 'walk.json').read_text())
    assert [frame['frame_id'] for frame in frames] == list(range(10))
    assert ids_by_height(frames) == {20: [0] * 10, 25: [1] * 10, 30: [2] * 4}
    assert read_video(tmp_path / 'vis/walk.mp4') == (10, (320, 160), 10.0)


def test_smoothing_replaces_the_keypoints_with_the_filtered_ones(
        mln, tmp_path):
    rng = np.random.default_rng(0)
    raw = [person(100, 50) + rng.normal(0, 2, (17, 2)) for _ in range(30)]
    video = make_video(tmp_path / 'still.mp4', 30, size=(200, 120), fps=30)
    results = {}
    for smoothing in (False, True):
        inferencer = mln(tracking=dict(smoothing=smoothing))
        fake_network(inferencer.inferencer,
                     lambda name: [raw[frame_index(name)]])
        people = [
            result['predictions'][0][0] for result in inferencer(str(video))
        ]
        results[smoothing] = [np.array(p['keypoints']) for p in people]
        # a bottom-up person's box spans the keypoints written with it
        for p, keypoints in zip(people, results[smoothing]):
            np.testing.assert_allclose(
                p['bbox'], [[*keypoints.min(0), *keypoints.max(0)]], rtol=1e-5)
    np.testing.assert_allclose(
        np.stack(results[False]), np.stack(raw), rtol=1e-6)

    def jitter(poses):
        return np.std(np.stack(poses[10:]), axis=0).mean()

    assert jitter(results[True]) < 0.6 * jitter(raw)


@pytest.mark.parametrize('ttl, last_id', [(1, 1), (2, 0)])
def test_frames_without_people_age_the_tracks(mln, tmp_path, ttl, last_id):
    """A person, two frames without anybody, the person again: a track living
    one frame without its person is gone (a new id), one living two is not."""
    video = make_video(tmp_path / 'gap.mp4', 4)
    inferencer = mln(tracking=dict(metric='iou', ttl=ttl))
    fake_network(
        inferencer.inferencer, lambda name: [person(50, 10)]
        if frame_index(name) in (0, 3) else [])
    results = list(inferencer(str(video)))
    assert [[p['track_id'] for p in result['predictions'][0]]
            for result in results] == [[0], [], [], [last_id]]
    assert [track.track_id
            for track in inferencer.inferencer.tracker.tracks] == [last_id]


def hip_colours(drawn: np.ndarray, x: int, height: float = 150) -> set:
    """The colours on the row of the hips of :func:`person` ``(x, 30, height)``
    near it."""
    hip_y = int(person(x, 30, height)[11, 1])
    return {
        tuple(int(c) for c in pixel)
        for pixel in drawn[hip_y, x - 20:x + 20] if pixel.any()
    }


def test_tracked_people_are_drawn_in_their_ids_colour(mln):
    image = np.zeros((200, 300, 3), np.uint8)
    people = [
        dict(
            track_id=3,
            keypoints=person(80, 30, 150).tolist(),
            keypoint_scores=[0.9] * 17),
        dict(
            track_id=7,
            keypoints=person(220, 30, 150).tolist(),
            keypoint_scores=[0.9] * 17)
    ]
    drawn = draw_tracked_people(image, people, COCO_LINKS, draw_bbox=False)
    assert not image.any()  # a copy
    for p, x in zip(people, (80, 220)):
        assert track_colour(p['track_id']) in hip_colours(drawn, x)
        assert track_colour(10 - p['track_id']) not in hip_colours(drawn, x)
    assert (track_colour(3) != track_colour(7)
            and track_colour(3) == track_colour(23))

    # the inferencer's drawings (RGB) when tracking: ids 0 and 1
    inferencer = mln(tracking=dict(metric='iou'))
    fake_network(inferencer.inferencer,
                 lambda name: [person(80, 30, 150),
                               person(220, 30, 150)])
    (result, ) = inferencer(image, return_vis=True)
    (drawn, ) = result['visualization']
    for track_id, x in enumerate((80, 220)):
        assert track_colour(track_id)[::-1] in hip_colours(drawn, x)
        assert track_colour(1 - track_id)[::-1] not in hip_colours(drawn, x)


def test_tracked_drawings_take_mmposes_drawing_options(mln):
    """``radius``, ``thickness``, ``black_background`` and ``draw_heatmap``
    reach the tracked
    drawing: thicker limbs, a black canvas, and the panel of the model's maps
        below."""
    image = np.full((200, 300, 3), 120, np.uint8)
    inferencer = mln(tracking=dict(metric='iou'))
    fake_network(inferencer.inferencer, lambda name: [person(150, 30, 150)])

    def limb_width(**options) -> int:
        (result, ) = inferencer(image.copy(), return_vis=True, **options)
        (drawn, ) = result['visualization']
        hip_y = int(person(150, 30, 150)[11, 1])
        return int((drawn[hip_y - 25, :, 0] != 120).sum()), drawn

    thin, _ = limb_width(thickness=1)
    thick, _ = limb_width(thickness=5)
    assert thick > thin > 0
    _, black = limb_width(black_background=True)
    # the background is black, the people drawn
    assert not black[:20, :20].any()
    assert black.any()
    # the (random) network's own maps
    network = mln(tracking=dict(metric='iou'))
    (result, ) = network(image.copy(), return_vis=True, draw_heatmap=True)
    (drawn, ) = result['visualization']
    # the image, then the maps' panel of the same size
    assert drawn.shape == (400, 300, 3)
    (result, ) = network(image.copy(), return_vis=True)
    assert result['visualization'][0].shape == (200, 300, 3)
    # the panel on the image drawn on, as mmpose's (black with
    # black_background)
    panels = []
    for inferencer in (network, mln()):
        (result, ) = inferencer(
            image.copy(),
            return_vis=True,
            draw_heatmap=True,
            black_background=True)
        panels.append(result['visualization'][0][200:])
    np.testing.assert_array_equal(*panels)
    assert not np.array_equal(panels[0], drawn[200:])


class RecordingTracker(PoseTracker):
    """A PoseTracker that records the timestamps it is given."""
    timestamps: list = []

    def update(self, *args, timestamp=None, **kwargs):
        self.timestamps.append(timestamp)
        return super().update(*args, timestamp=timestamp, **kwargs)


@pytest.fixture
def recording_tracker(monkeypatch):
    from custom_modules.apis.inferencers import pose2d_inferencer
    monkeypatch.setattr(RecordingTracker, 'timestamps', [])
    monkeypatch.setattr(pose2d_inferencer, 'PoseTracker', RecordingTracker)
    return RecordingTracker


def test_a_cameras_frames_are_smoothed_at_the_time_they_were_read(
        mln, monkeypatch, recording_tracker):
    """The clock when each frame was read (0.25 s apart: the network's pace;
    the frames in between are gone), not the camera's rate."""
    install_fake_capture(monkeypatch, fps=30.0)
    inferencer = mln(tracking=dict(metric='iou', smoothing=True))
    fake_network(inferencer.inferencer, lambda name: [person(30, 5, 30)],
                 FakeClock(), 0.25)
    assert len(list(inferencer('0'))) == 6
    np.testing.assert_allclose(recording_tracker.timestamps,
                               [0.25 * i for i in range(6)])


def test_a_videos_frames_are_smoothed_at_their_place_in_the_video(
        mln, tmp_path, recording_tracker):
    """Their times in the video (its 12 FPS), however slow the network."""
    inferencer = mln(tracking=dict(metric='iou', smoothing=True))
    fake_network(inferencer.inferencer, lambda name: [person(30, 5, 30)],
                 FakeClock(), 0.25)
    list(inferencer(str(make_video(tmp_path / 'walk.mp4', 5))))
    np.testing.assert_allclose(recording_tracker.timestamps,
                               [i / 12 for i in range(5)])


# ------------------------------------------------------------ the end of a run
def test_a_source_without_frames_ends_the_run_and_names_it(mln, tmp_path):
    inferencer = mln()
    source = Source('camera', 'camera 9', None, iter([]))
    assert list(inferencer(source, pred_out_dir=str(tmp_path))) == []
    pose2d = inferencer.inferencer
    assert pose2d.lost == (
        'camera 9: the camera stopped giving frames after 0 (it dropped, was '
        'unplugged or its sender stopped)')
    assert pose2d.timer.summary() == 'timing: no frame processed'
    assert pose2d.read == 0 and not pose2d.failed
    # as mmpose writes a video's predictions: one JSON, here of no frame
    assert json.loads((tmp_path / 'camera9.json').read_text()) == []


def test_finish_after_a_stop_writes_the_video_and_the_predictions_so_far(
        mln, monkeypatch, tmp_path):
    """With a camera run left after three frames (as Ctrl-C leaves it),
    :meth:`finish` releases the camera and writes the output video and the
    camera's JSON of those frames, once."""
    capture = install_fake_capture(monkeypatch, frames=1000)
    inferencer = mln(tracking=dict(metric='iou'))
    fake_network(inferencer.inferencer, lambda name: [person(30, 5, 30)])
    for done, _ in enumerate(
            inferencer(
                '0',
                pred_out_dir=str(tmp_path),
                output_video=str(tmp_path / 'cam.mp4')), 1):
        if done == 3:
            break
    assert not (tmp_path / 'camera0.json').exists()
    inferencer.finish()
    assert capture.instances[0].released
    frames = json.loads((tmp_path / 'camera0.json').read_text())
    assert [(f['frame_id'], [p['track_id'] for p in f['instances']])
            for f in frames] == [(0, [0]), (1, [0]), (2, [0])]
    assert read_video(tmp_path / 'cam.mp4')[:2] == (3, (64, 48))
    (tmp_path / 'camera0.json').unlink()
    inferencer.finish()  # done already: nothing written again
    assert not (tmp_path / 'camera0.json').exists()


def test_a_stalled_stream_still_finishes_its_outputs(mln, monkeypatch,
                                                     tmp_path):
    """Pipelined, with the reader thread waiting for a frame that does not come
    (a frozen stream, as Ctrl-C leaves it): :meth:`finish` leaves the stream
    open under the thread and still writes the predictions and the video of the
    frames done."""
    from custom_modules.apis.frame_pipeline import ReadAhead
    from custom_modules.apis.inferencers import pose2d_inferencer
    monkeypatch.setattr(pose2d_inferencer, 'ReadAhead',
                        functools.partial(ReadAhead, timeout=0.2))
    stalled, released = threading.Event(), []

    def frames():
        for index in range(2):
            yield (f'stream_{index:06d}.jpg', lambda: np.full(
                (48, 64, 3), 90, np.uint8))
        stalled.wait(30)

    source = Source(
        'stream',
        'rtsp://192.0.2.1/live',
        None,
        frames(),
        release=lambda: released.append(True))
    inferencer = mln(pipelined=True)
    fake_network(inferencer.inferencer, lambda name: [person(30, 5, 30)])
    try:
        for done, _ in enumerate(
                inferencer(
                    source,
                    pred_out_dir=str(tmp_path),
                    output_video=str(tmp_path / 'out.mp4')), 1):
            if done == 2:
                break
        inferencer.finish()
        assert not released  # the thread is still in the stream's read
        frames_done = json.loads((tmp_path / 'stream.json').read_text())
        assert [f['frame_id'] for f in frames_done] == [0, 1]
        assert read_video(tmp_path / 'out.mp4')[0] == 2
    finally:
        stalled.set()


# ------------------------------------------------------------------ the inputs
def test_skip_existing_leaves_out_inputs_whose_json_exists(mln, tmp_path):
    images = tmp_path / 'images'
    for name in ('a.jpg', 'b.jpg', 'c.jpg'):
        write_image(images / name)
    pred = tmp_path / 'pred'
    pred.mkdir()
    (pred / 'b.json').write_text('"before"')
    inferencer = mln()
    seen = fake_network(inferencer.inferencer, lambda name: [])
    results = list(
        inferencer(
            str(images), pred_out_dir=str(pred), skip_existing=str(pred)))
    assert seen == ['a.jpg', 'c.jpg'] and len(results) == 2
    assert (inferencer.inferencer.read, inferencer.inferencer.skipped) == (3,
                                                                           1)
    assert json.loads((pred / 'b.json').read_text()) == 'before'
    assert json.loads((pred / 'a.json').read_text()) == []


def test_person_boxes_are_used_instead_of_a_detector(hsr_checkpoint, tmp_path):
    """Top-down: the boxes given by image name (``person_boxes``, what
    ``--bbox-file`` loads) or per input (``bboxes``) are the people's; an image
    without boxes is one person, the whole image (as mmpose does when its
    detector finds nobody). Tracked, each box is drawn in its person's colour.
    """
    inferencer = boxes_only_hsr(hsr_checkpoint, tracking=dict(metric='iou'))
    images = tmp_path / 'images'
    for name in ('a.jpg', 'b.jpg'):
        write_image(images / name, size=(160, 120))
    boxes = {
        'a.jpg':
        np.array([[10, 20, 60, 110, 0.8], [90, 5, 150, 100, 0.6]], np.float32)
    }
    results = list(
        inferencer(
            str(images), person_boxes=boxes, return_vis=True, draw_bbox=True))
    assert [[(p['bbox'][0], p['bbox_score']) for p in result['predictions'][0]]
            for result in results] == [[([10, 20, 60,
                                          110], pytest.approx(0.8)),
                                        ([90, 5, 150,
                                          100], pytest.approx(0.6))],
                                       [([0, 0, 160, 120], 1.0)]]
    drawn = results[0]['visualization'][0]  # RGB
    for track_id, (x1, y1, x2, _, _) in enumerate(boxes['a.jpg'].astype(int)):
        top_edge = {tuple(int(c) for c in pixel) for pixel in drawn[y1, x1:x2]}
        assert track_colour(track_id)[::-1] in top_edge
        assert track_colour(1 - track_id)[::-1] not in top_edge
    arrays = [np.zeros((120, 160, 3), np.uint8)] * 2
    results = list(
        inferencer(
            arrays, bboxes=[[[5, 5, 50, 50]], [[1, 2, 3, 4], [7, 8, 90, 99]]]))
    assert [[p['bbox'][0] for p in result['predictions'][0]]
            for result in results] == [[[5, 5, 50, 50]],
                                       [[1, 2, 3, 4], [7, 8, 90, 99]]]


def boxes_only_hsr(hsr_checkpoint, **extensions) -> MultilevelInferencer:
    """The HSR-MSNet sample without a detector: its people are the boxes given
    (none: the whole image)."""
    return MultilevelInferencer(
        str(HSR_SAMPLE_CONFIG),
        str(hsr_checkpoint),
        device='cpu',
        det_model='whole_image',
        **extensions)


def test_people_as_results_of_their_own_are_refused_when_tracking(
        hsr_checkpoint):
    """``merge_results=False`` (mmpose's: a top-down frame's people as one
    result each) would show the tracker one person at a time: refused when
    tracking, before any input is read; taken untracked."""
    image = np.zeros((120, 160, 3), np.uint8)
    boxes = [[[5, 5, 50, 50], [60, 5, 120, 100]]]
    tracked = boxes_only_hsr(hsr_checkpoint, tracking=dict(metric='iou'))
    with pytest.raises(ValueError, match='merge_results=False gives each'):
        list(tracked([image], bboxes=boxes, merge_results=False))
    assert tracked.inferencer.read == 0
    (result, ) = boxes_only_hsr(hsr_checkpoint)([image],
                                                bboxes=boxes,
                                                merge_results=False)
    # a prediction per person
    assert [len(people) for people in result['predictions']] == [1, 1]


def test_bboxes_stay_with_their_inputs_past_an_unreadable_one(
        hsr_checkpoint, tmp_path):
    """``bboxes`` are one per input: the image after an unreadable one gets its
    own boxes, not the unreadable one's; a list of another length is
    refused."""
    inferencer = boxes_only_hsr(hsr_checkpoint)
    images = tmp_path / 'images'
    write_image(images / 'a.jpg', size=(160, 120))
    (images / 'b.jpg').write_bytes(b'junk')
    write_image(images / 'c.jpg', size=(160, 120))
    paths = [str(images / name) for name in ('a.jpg', 'b.jpg', 'c.jpg')]
    boxes = [[[5, 5, 50, 50]], [[1, 2, 3, 4]], [[7, 8, 90, 99]]]
    results = list(inferencer(paths, bboxes=boxes))
    assert inferencer.inferencer.failed == ['b.jpg']
    assert [[p['bbox'][0] for p in result['predictions'][0]]
            for result in results] == [[[5, 5, 50, 50]], [[7, 8, 90, 99]]]
    with pytest.raises(
            ValueError, match='bboxes: 2 entries for the 3 inputs of inputs'):
        list(inferencer(paths, bboxes=boxes[:2]))


def test_bboxes_as_arrays_are_used_and_malformed_ones_refused(
        hsr_checkpoint, tmp_path):
    """``bboxes`` as one (N, 4 or 5) array per image, or a (B, N, 4) array, as
    a list of lists; a box of another shape, not finite or of no area (its
    keypoints would all be one corner, or mirrored) is refused naming its
    input."""
    inferencer = boxes_only_hsr(hsr_checkpoint)
    arrays = [np.zeros((120, 160, 3), np.uint8)] * 2
    for boxes in ([
            np.array([[5, 5, 50, 50]]),
            np.array([[7, 8, 90, 99, 0.5]])
    ], np.array([[[5, 5, 50, 50]], [[7, 8, 90, 99]]])):
        results = list(inferencer(arrays, bboxes=boxes))
        assert [[p['bbox'][0] for p in result['predictions'][0]]
                for result in results] == [[[5, 5, 50, 50]], [[7, 8, 90, 99]]]
    for boxes, message in (
        ([[[5, 5, 50, 50]], [7, 8, 90, 99]],
         r'bboxes\[1\]: shape \(4,\); an image\'s boxes are \(N, 4 or 5\)'),
        ([[[5, 5, 50, 50]], [[200, 100, 150, 180]]],
         r'bboxes\[1\]: \[\[200.0, 100.0, 150.0, 180.0\]\] has a box that'),
        ([[[5, 5, 5, 50]], []], r'bboxes\[0\]: .* no area'),
        ([[[5, 5, float('nan'), 50]], []], r'bboxes\[0\]: .* not finite'),
    ):
        with pytest.raises(ValueError, match=message):
            list(inferencer(arrays, bboxes=boxes))


def test_boxes_that_would_be_ignored_are_refused(mln, hsr_checkpoint,
                                                 monkeypatch, tmp_path):
    """Boxes for a bottom-up model would be ignored: refused; boxes by file
    name that name none of the images (or of a video's frames,
    ``<stem>_<index:06d>.jpg``), or not all of them, are said."""
    from custom_modules.apis.inferencers import pose2d_inferencer
    image = write_image(tmp_path / 'images' / 'a.jpg', size=(160, 120))
    boxes = {'a.jpg': np.array([[10, 20, 60, 110, 0.8]], np.float32)}
    with pytest.raises(
            ValueError,
            match='person boxes are for top-down models; this bottomup'):
        list(mln()(str(image), person_boxes=boxes))
    with pytest.raises(ValueError, match='^bboxes: person boxes are for'):
        list(mln()([str(image)], bboxes=[[[1, 2, 3, 4]]]))
    # a refused call closes what it opened
    released = []
    stream = Source(
        'stream',
        'rtsp://192.0.2.1/live',
        None,
        iter([]),
        release=lambda: released.append(True))
    with pytest.raises(ValueError, match='person boxes are for top-down'):
        list(mln()(stream, person_boxes=boxes))
    assert released == [True]
    inferencer = boxes_only_hsr(hsr_checkpoint)
    video = make_video(tmp_path / 'clip.mp4', 2)
    logged = []
    monkeypatch.setattr(
        pose2d_inferencer,
        'print_log',
        lambda msg, logger=None, level=None: logged.append(msg))
    list(inferencer(str(image.parent), person_boxes={'b.jpg': boxes['a.jpg']}))
    list(inferencer(str(image.parent), person_boxes=boxes))
    list(inferencer(str(video), person_boxes=boxes))
    list(
        inferencer(
            str(video), person_boxes={'clip_000001.jpg': boxes['a.jpg']}))
    list(inferencer(str(image.parent), person_boxes={}))
    # boxes for one of two images
    write_image(tmp_path / 'images' / 'b.jpg', size=(160, 120))
    list(inferencer(str(image.parent), person_boxes=boxes))
    assert logged[:2] == [
        f'none of the {count} {what} of {source} is named in the person '
        'boxes (--bbox-file): each was posed as one person, the whole image; '
        'the file names its images otherwise'
        for count, what, source in [(1, 'images',
                                     image.parent), (2, 'frames', video)]
    ]
    assert logged[2:] == [
        f'1 of the 2 frames of {video} have no box in the person boxes '
        '(--bbox-file; none at or above --bbox-thr?) and were each posed as '
        'one person, the whole image: clip_000000.jpg',
        'the person boxes (--bbox-file) hold no box (none at or above '
        f'--bbox-thr?): each of the 1 images of {image.parent} was posed as '
        'one person, the whole image',
        f'1 of the 2 images of {image.parent} have no box in the person boxes '
        '(--bbox-file; none at or above --bbox-thr?) and were each posed as '
        'one person, the whole image: b.jpg'
    ]
    with pytest.raises(ValueError, match='bboxes: one per image, not for'):
        list(inferencer(str(video), bboxes=[[[1, 2, 3, 4]]] * 2))


# ----------------------------------------------------------- model and weights
def test_mmposes_one_stage_models_filter_by_the_runs_thresholds(tmp_path):
    """As in mmpose's inferencer, a one-stage model of mmpose's (RTMO, random
    weights) keeps the people scoring above ``bbox_thr`` after NMS at
    ``nms_thr``: its head is given them in place of its config's 0.1 /
    0.65."""
    import mmpose
    config = Path(
        mmpose.__file__).parent / ('.mim/configs/body_2d_keypoint/rtmo/coco/'
                                   'rtmo-s_8xb32-600e_coco-640x640.py')
    inferencer = MultilevelInferencer(
        str(config),
        str(save_random_checkpoint(config, tmp_path / 'rtmo.pth')),
        device='cpu')
    head = inferencer.inferencer.model.head
    given = []

    def predict(feats, data_samples, test_cfg):
        given.append((test_cfg['score_thr'], test_cfg['nms_thr']))
        return type(head).predict(head, feats, data_samples, test_cfg)

    head.predict = predict
    (result, ) = inferencer(
        np.zeros((64, 64, 3), np.uint8), bbox_thr=0.7, nms_thr=0.2)
    assert given == [(0.7, 0.2)]
    scores = [p['bbox_score'] for p in result['predictions'][0]]
    assert scores and min(scores) > 0.7


def test_a_model_alias_resolves_from_the_projects_index_not_from_mmposes():
    """``pose2d='mln'`` is the ``Alias`` of the project's MLN entry.

    The entry is the full-size config (no entry has hosted weights, so random
    ones); mmpose's own inferencer looks in mmpose's index only and does not
    find it.
    """
    from mmpose.apis import MMPoseInferencer
    from mmpose.registry import INFERENCERS
    entry = 'configs/mln/paf_mln-vgg19_1xb28-100e_coco-368x368.py'
    inferencer = MultilevelInferencer(pose2d='mln', device='cpu')
    assert Path(inferencer.inferencer.cfg.filename) == REPO_ROOT / entry
    assert type(
        inferencer.inferencer.model).__name__ == 'PyramidBottomupPoseEstimator'
    with pytest.raises(ValueError, match='Cannot find model: mln in mmpose'):
        MMPoseInferencer(pose2d='mln', device='cpu')

    assert model_aliases()['mln'] == 'paf_mln-vgg19_1xb28-100e_coco-368x368'
    config, weights = find_model('TFPOSE')  # an alias, any case
    assert Path(config.filename) == (
        REPO_ROOT /
        'configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py')
    assert weights is None
    config, _ = find_model('paf_mln-vgg19_1xb28-100e_coco-368x368')  # a name
    assert Path(config.filename) == REPO_ROOT / entry
    assert find_model('rtmpose-m') is None  # mmpose's, not this project's
    assert INFERENCERS.get('multilevel') is MultilevelInferencer
    assert INFERENCERS.get('multilevel-pose2d') is MultilevelPose2DInferencer


def test_the_packages_import_registers_the_inferencers():
    """A config's ``custom_imports=['custom_modules']`` (no other import)
    registers both inferencers in mmpose's ``INFERENCERS``; a fresh
    interpreter, since this one has imported them already."""
    import subprocess
    import sys
    code = ('import custom_modules; from mmpose.registry import INFERENCERS; '
            "print(INFERENCERS.get('multilevel').__name__, "
            "INFERENCERS.get('multilevel-pose2d').__name__)")
    out = subprocess.run([sys.executable, '-c', code],
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True,
                         check=True).stdout
    assert out.split() == [
        'MultilevelInferencer', 'MultilevelPose2DInferencer'
    ]


def test_a_checkpoint_of_another_model_is_refused(small_mln, hsr_checkpoint):
    """mmengine loads what fits of another model's checkpoint and runs; the
    inferencer names the checkpoint and the model instead."""
    from mmpose.apis import MMPoseInferencer
    config, _ = small_mln
    MMPoseInferencer(
        pose2d=str(config), pose2d_weights=str(hsr_checkpoint), device='cpu')
    with pytest.raises(CheckpointMismatchError) as error:
        MultilevelInferencer(
            pose2d=str(config),
            pose2d_weights=str(hsr_checkpoint),
            device='cpu')
    assert str(error.value).startswith(
        f'{hsr_checkpoint}: not a checkpoint of {config} '
        '(PyramidBottomupPoseEstimator)')


def test_a_truncated_checkpoint_is_one_error_naming_it(small_mln, tmp_path):
    """A download cut short: mmengine's loader raised torch's zip error; the
    inferencer raises the project's error naming the file."""
    config, checkpoint = small_mln
    truncated = tmp_path / 'truncated.pth'
    data = Path(checkpoint).read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointFileError) as error:
        MultilevelInferencer(
            pose2d=str(config), pose2d_weights=str(truncated), device='cpu')
    assert str(error.value).startswith(
        f'{truncated}: cannot be loaded as a PyTorch checkpoint (')


def test_frames_are_prepared_on_the_device_for_bottom_up_models_only(
        hsr_checkpoint):
    with pytest.raises(
            UnsupportedPipelineError, match='for bottom-up models only'):
        MultilevelInferencer(
            str(HSR_SAMPLE_CONFIG),
            str(hsr_checkpoint),
            device='cpu',
            det_model='whole_image',
            device_preprocess=True)


def test_the_timing_overlay_goes_on_the_video_not_on_the_drawings(
        mln, tmp_path):
    """The output video's frames have the FPS and stage times at their top
    left; the drawings returned and saved (tracked people, drawn by the
    project) are without them."""
    image = np.full((120, 160, 3), 60, np.uint8)
    inferencer = mln(tracking=dict(metric='iou'))
    fake_network(inferencer.inferencer, lambda name: [person(120, 40, 60)])
    (result, ) = inferencer(
        image,
        return_vis=True,
        vis_out_dir=str(tmp_path),
        output_video=str(tmp_path / 'v.mp4'))
    inferencer.finish()
    (drawn, ) = result['visualization']
    # no overlay on the drawing (the person is further)
    assert (drawn[:30, :80] == 60).all()
    assert (cv2.imread(str(tmp_path / '000000.jpg'))[:30, :80] <= 62).all()
    video = cv2.VideoCapture(str(tmp_path / 'v.mp4'))
    ok, frame = video.read()
    video.release()
    assert ok and frame[2:20, 2:60].max() > 200  # the white text


def test_detector_boxes_are_clipped_to_the_image_and_non_finite_ones_dropped():
    """What random YOLOv3 weights give (a box with infinite coordinates) made
    NaN keypoints and a crash in mmpose's drawing; such boxes are dropped (the
    whole image is then the person, as mmpose does when nobody is found) and
    the others clipped to the image."""
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from custom_modules.apis.inferencers.pose2d_inferencer import \
        _boxes_in_the_image

    def detector(inputs, return_datasamples=True):
        sample = DetDataSample()
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor([[-4e13, -float('inf'), 4e13,
                                  float('inf')], [-10., 5., 50., 900.],
                                 [30., 30., 20., 40.]]),
            scores=torch.tensor([0.9, 0.8, 0.7]),
            labels=torch.tensor([0, 0, 0]))
        return dict(predictions=[sample])

    image = np.zeros((100, 120, 3), np.uint8)
    (sample, ) = _boxes_in_the_image(detector)(image)['predictions']
    assert sample.pred_instances.bboxes.tolist() == [[0., 5., 50., 100.]]
    assert sample.pred_instances.scores.tolist() == [pytest.approx(0.8)]

    inferencer = MultilevelInferencer(
        str(HSR_SAMPLE_CONFIG),
        device='cpu',
        det_model=str(
            REPO_ROOT /
            'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py'),
        det_cat_ids=[0])
    # the YOLOv3, random weights
    assert inferencer.inferencer.detector is not None

    def infinite_box(inputs, **kwargs):
        sample = detector(inputs)['predictions'][0]
        sample.pred_instances = sample.pred_instances[:1]
        return dict(predictions=[sample])

    inferencer.inferencer.detector = _boxes_in_the_image(infinite_box)
    (result, ) = inferencer(image, return_vis=True)
    (person, ) = result['predictions'][0]
    assert np.isfinite(person['keypoints']).all()
    assert person['bbox'] == ([0.0, 0.0, 120.0, 100.0], )  # the whole image


def test_limbs_drawn_in_one_call_equal_one_line_per_limb():
    """The limbs of a person are drawn in one ``cv2.polylines`` call: the
    pixels of one ``cv2.line`` per visible limb, hidden and missing keypoints'
    limbs left out."""
    import cv2
    image = np.full((200, 300, 3), 90, np.uint8)
    keypoints = person(150, 30, 150)
    scores = np.full(17, 0.9)
    scores[[3, 9]] = 0.1  # an ear and a wrist not seen
    drawn = draw_tracked_people(
        image,
        [dict(keypoints=keypoints, keypoint_scores=scores)],
        COCO_LINKS + [(5, 40)],  # a link to a keypoint the model lacks
        draw_bbox=False)
    expected = image.copy()
    points = np.round(keypoints).astype(int)
    for a, b in COCO_LINKS:
        if scores[a] >= 0.3 and scores[b] >= 0.3:
            cv2.line(expected, tuple(points[a].tolist()),
                     tuple(points[b].tolist()), (160, 160, 160), 1,
                     cv2.LINE_AA)
    seen = scores >= 0.3
    for point in points[seen]:
        cv2.circle(expected, tuple(point.tolist()), 2, (160, 160, 160), -1,
                   cv2.LINE_AA)
    np.testing.assert_array_equal(drawn, expected)
