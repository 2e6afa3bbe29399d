"""The demos' shared front end without a camera: sources (camera index, URL, video file) opened or
refused by name, a folder with unreadable images run to the end (each failure named, exit 1,
``skip_existing``, the RSS lines and the summary), a single image drawn (exit 0), a generated
video in and an .mp4 out with the right frame count and size,
camera and stream frames through a fake capture, stopping (Ctrl-C, q), tracking glue and
drawing, all with a fake ``predict`` instead of a network."""
import json
import re
from pathlib import Path
from typing import List

import cv2
import numpy as np
import pytest

from custom_modules.apis import (DemoOptions, InputError, PoseTracker, Source, StageTimer,
                                 VideoSink, draw_tracked_people, open_source, run_demo,
                                 track_colour, write_people)

RealCapture = cv2.VideoCapture
SIGMAS = [
    .026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089,
    .089
]
COCO_LINKS = [(15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
              (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6)]


def make_video(path: Path, frames: int, size=(160, 120), fps: float = 12.0) -> Path:
    """A video of ``frames`` frames of ``size`` (width, height): a bright bar moving right."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), 40, np.uint8)
        frame[:, 5 * i:5 * i + 10] = 220
        writer.write(frame)
    writer.release()
    return path


def read_video(path: Path):
    """``(frame count read, (width, height), fps)`` of a video, read back with OpenCV."""
    video = RealCapture(str(path))
    size = (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    fps = video.get(cv2.CAP_PROP_FPS)
    count = 0
    while video.read()[0]:
        count += 1
    video.release()
    return count, size, fps


class FakeCapture:
    """A camera or stream of ``frames`` (H, W, 3) frames, then nothing (as when a camera is
    unplugged); ``opened=False`` is one OpenCV cannot open."""
    frames = 6
    size = (64, 48)
    opened = True
    fps = 0.0  # most webcams through OpenCV say nothing useful
    count = 0  # frames announced: none for a camera or live stream
    instances: List['FakeCapture'] = []

    def __init__(self, spec) -> None:
        self.spec, self.index, self.released = spec, 0, False
        FakeCapture.instances.append(self)

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.opened

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(self.count)
        return self.fps if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self):
        if self.index >= self.frames:
            return False, None
        self.index += 1
        frame = np.full((self.size[1], self.size[0], 3), 10 * self.index, np.uint8)
        return True, frame

    def release(self) -> None:
        self.released = True


@pytest.fixture
def fake_capture(monkeypatch):
    """``cv2.VideoCapture`` replaced by :class:`FakeCapture` (reset)."""
    monkeypatch.setattr(FakeCapture, 'instances', [])
    monkeypatch.setattr(cv2, 'VideoCapture', FakeCapture)
    return FakeCapture


def person(x: float, y: float, height: float = 60.0) -> np.ndarray:
    """A standing COCO person ``(17, 2)`` whose nose is at ``(x, y)``."""
    rel = np.array([(0, 0), (-3, -3), (3, -3), (-6, -1), (6, -1), (-12, 12), (12, 12), (-16, 30),
                    (16, 30), (-18, 46), (18, 46), (-8, 52), (8, 52), (-8, 74), (8, 74), (-8, 96),
                    (8, 96)], np.float32)
    return np.array([x, y], np.float32) + rel * height / 100


def as_people(*poses: np.ndarray) -> List[dict]:
    return [dict(keypoints=p.tolist(), keypoint_scores=[0.9] * 17) for p in poses]


def frame_index(name: str) -> int:
    return int(re.search(r'_(\d{6})\.jpg$', name).group(1))


def draw_nothing(name, image, people):
    return image.copy()


# ------------------------------------------------------------------------------------ sources
def test_a_camera_index_and_a_url_open_captures_and_keep_them_until_the_frames_end(fake_capture):
    camera = open_source('0')
    assert (camera.kind, camera.name, camera.count, camera.fps,
            camera.live) == ('camera', 'camera 0', None, None, True)
    assert fake_capture.instances[0].spec == 0  # an int: the device, not a file named 0
    names = [name for name, _ in camera.frames]
    assert names == [f'camera0_{i:06d}.jpg' for i in range(6)]
    assert fake_capture.instances[0].released

    stream = open_source('rtsp://192.0.2.1:554/live')
    assert (stream.kind, stream.live) == ('stream', True)
    assert fake_capture.instances[1].spec == 'rtsp://192.0.2.1:554/live'
    name, load = next(stream.frames)
    assert name == 'stream_000000.jpg' and load().shape == (48, 64, 3)
    stream.close()  # stopped early: released all the same
    assert fake_capture.instances[1].released


@pytest.mark.parametrize('spec, message', [
    ('3', 'camera 3: OpenCV cannot open this camera'),
    ('http://192.0.2.1/cam.mjpg', 'http://192.0.2.1/cam.mjpg: OpenCV cannot open this '
     'stream')
])
def test_a_camera_or_stream_that_cannot_be_opened_is_named(fake_capture, monkeypatch, spec,
                                                           message):
    monkeypatch.setattr(FakeCapture, 'opened', False)
    with pytest.raises(InputError) as error:
        open_source(spec)
    assert str(error.value) == message
    assert fake_capture.instances[0].released


def test_a_video_file_tells_its_frames_and_rate(tmp_path):
    source = open_source(str(make_video(tmp_path / 'clip.mp4', 5, fps=25)))
    assert (source.kind, source.count, source.fps, source.live) == ('video', 5, 25.0, False)
    assert [name for name, _ in source.frames] == [f'clip_{i:06d}.jpg' for i in range(5)]


# ----------------------------------------------------------------------- images and folders
def test_a_folder_goes_on_after_a_bad_image_and_exits_1(tmp_path, capsys):
    """Five inputs, two unreadable, one already done (``skip_existing``): each one's fate, the
    RSS lines every two inputs and the summary."""
    images, out_dir = tmp_path / 'images', tmp_path / 'out'
    images.mkdir()
    for name in ('a.jpg', 'c.png', 'e.jpg'):
        cv2.imwrite(str(images / name), np.zeros((8, 10, 3), np.uint8))
    (images / 'b.jpg').write_bytes(b'')
    (images / 'd.jpg').write_text('text')
    write_people(out_dir / 'e.json', 'e.jpg', np.zeros((8, 10, 3)), [{'from': 'before'}])
    seen = []

    def predict(name, image):
        seen.append((name, image.shape))
        return [{'keypoints': [[1.0, 2.0]], 'keypoint_scores': [0.9]}]

    options = DemoOptions(out_dir, per_frame='json', skip_existing=True, log_interval=2)
    assert run_demo(open_source(str(images)), predict, options) == 1
    assert seen == [('a.jpg', (8, 10, 3)), ('c.png', (8, 10, 3))]
    assert sorted(p.name for p in out_dir.iterdir()) == ['a.json', 'c.json', 'e.json']
    assert json.loads((out_dir / 'e.json').read_text())['people'] == [{'from': 'before'}]
    out, err = capsys.readouterr()
    assert re.findall(r'^\[(\d)/5\] (\d) written, (\d) skipped, (\d) failed, peak RSS \d+ MiB$',
                      out, re.MULTILINE) == [('2', '1', '0', '1'), ('4', '2', '0', '2')]
    assert f'{images / "b.jpg"}: empty file (0 bytes)' in err
    assert f'{images / "d.jpg"}: not an image OpenCV can decode' in err
    assert '5/5' in err  # the progress bar
    assert err.strip().splitlines()[-1] == (f'2 images written to {out_dir}, 1 skipped (results '
                                            'already there); 2 failed: b.jpg, d.jpg')


def test_a_readable_image_is_drawn_and_exits_0(tmp_path, capsys):
    image_path = tmp_path / 'one.jpg'
    cv2.imwrite(str(image_path), np.full((8, 10, 3), 90, np.uint8))

    def draw(name, image, people):
        assert (name, image.shape, people) == ('one.jpg', (8, 10, 3), [])
        return np.full_like(image, 200)

    options = DemoOptions(tmp_path / 'out', log_interval=0)
    assert run_demo(open_source(str(image_path)), lambda n, i: [], options, draw=draw) == 0
    drawn = cv2.imread(str(tmp_path / 'out/one.jpg'))
    assert drawn.shape == (8, 10, 3) and abs(int(drawn.mean()) - 200) <= 2  # the drawing
    assert json.loads((tmp_path / 'out/one.json').read_text()) == dict(
        image='one.jpg', height=8, width=10, people=[])
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        f'1 images written to {tmp_path / "out"}')


# ------------------------------------------------------------------------------------- videos
def test_a_generated_video_gives_an_mp4_of_its_frames_and_the_summaries(tmp_path, capsys):
    source = open_source(str(make_video(tmp_path / 'clip.mp4', 12, size=(160, 120), fps=12)))
    seen = []

    def predict(name, image):
        seen.append((name, image.shape))
        return as_people(person(40 + frame_index(name), 10))

    def draw(name, image, people):
        drawn = image.copy()
        drawn[-4:] = (0, 0, 255)
        return drawn

    options = DemoOptions(tmp_path / 'out', output_video=tmp_path / 'drawn.mp4', log_interval=0)
    assert run_demo(source, predict, options, draw=draw) == 0
    assert seen == [(f'clip_{i:06d}.jpg', (120, 160, 3)) for i in range(12)]
    assert read_video(tmp_path / 'drawn.mp4') == (12, (160, 120), 12.0)
    assert len(list((tmp_path / 'out').glob('clip_*.jpg'))) == 12  # a video file: JPG + JSON
    result = json.loads((tmp_path / 'out/clip_000003.json').read_text())
    assert result['image'] == 'clip_000003.jpg' and len(result['people']) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(
        r'timing over 12 frames \(mean ms per frame\): reading [\d.]+, drawing [\d.]+, writing '
        r'[\d.]+, other [\d.]+; [\d.]+ FPS end to end \(12 frames in [\d.]+ s\)', out[-3])
    assert out[-2] == f'video: {tmp_path / "drawn.mp4"} (12 frames, 160x120, 12 FPS the input\'s)'
    assert out[-1] == f'12 images written to {tmp_path / "out"}'


def test_the_camera_path_writes_json_per_frame_and_a_video_at_the_measured_rate(
        fake_capture, tmp_path, capsys):
    """A camera that does not tell its rate, frames 0.1 s apart: the video gets 10 FPS. The
    camera then stops giving frames (unplugged): named, exit status 1."""
    clock = [0.0]

    def predict(name, image):
        clock[0] += 0.1
        return []

    timer = StageTimer(clock=lambda: clock[0])
    options = DemoOptions(tmp_path / 'out', output_video=tmp_path / 'cam.mp4', log_interval=0)
    assert run_demo(open_source('0'), predict, options, draw=draw_nothing, timer=timer) == 1
    assert read_video(tmp_path / 'cam.mp4') == (6, (64, 48), 10.0)
    assert sorted(p.name for p in (tmp_path /
                                   'out').iterdir()) == [f'camera0_{i:06d}.json' for i in range(6)
                                                         ]  # no JPG per camera frame by default
    captured = capsys.readouterr()
    assert f'video: {tmp_path / "cam.mp4"} (6 frames, 64x48, 10 FPS measured)' in captured.out
    assert captured.err.strip().splitlines()[-1] == (
        'error: camera 0: the camera stopped giving frames after 6 (it dropped, was unplugged '
        'or its sender stopped)')


def test_a_stream_that_drops_is_named_and_a_truncated_video_counted(fake_capture, monkeypatch,
                                                                    tmp_path, capsys):
    """A stream that stops giving frames, and a video file that gives fewer frames than it
    announces (the second half of an AVI cut off): each is named on the last line and the exit
    status is 1; the frames read before are processed."""
    options = DemoOptions(tmp_path / 'out', per_frame='json', log_interval=0)
    url = 'rtsp://192.0.2.1:554/live'
    assert run_demo(open_source(url), lambda n, i: [], options) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        f'error: {url}: the stream stopped giving frames after 6 ')

    # a file served at a URL announces its frames: its end is no drop
    monkeypatch.setattr(FakeCapture, 'count', 6)
    assert run_demo(open_source('https://example.org/clip.mp4'), lambda n, i: [], options) == 0

    monkeypatch.undo()  # the real cv2.VideoCapture for the file
    video = tmp_path / 'cut.avi'
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'MJPG'), 10, (64, 48))
    for i in range(30):
        writer.write(np.full((48, 64, 3), 8 * i, np.uint8))
    writer.release()
    video.write_bytes(video.read_bytes()[:video.stat().st_size // 2])
    source = open_source(str(video))
    assert source.count == 30  # what the file announces
    assert run_demo(source, lambda n, i: [], DemoOptions(tmp_path / 'cut', per_frame='json')) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f'error: {video}: OpenCV read ') and 'of the 30 frames' in last


def test_ctrl_c_stops_a_camera_cleanly(fake_capture, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(FakeCapture, 'frames', 1000)

    def predict(name, image):
        if frame_index(name) == 4:
            raise KeyboardInterrupt
        return []

    options = DemoOptions(tmp_path / 'out', per_frame='none', output_video=tmp_path / 'cam.mp4')
    assert run_demo(open_source('0'), predict, options, draw=draw_nothing) == 0
    assert read_video(tmp_path / 'cam.mp4')[:2] == (4, (64, 48))
    assert fake_capture.instances[0].released
    captured = capsys.readouterr()
    assert 'stopped by the user (Ctrl-C) after 4 frames' in captured.err
    assert 'timing over 4 frames' in captured.out
    assert captured.out.strip().splitlines()[-1] == '4 frames processed (no files per frame)'
    assert not (tmp_path / 'out').exists()


def test_q_in_the_window_stops_and_each_frame_is_shown_with_the_overlay(
        fake_capture, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(FakeCapture, 'frames', 1000)
    monkeypatch.setattr(FakeCapture, 'size', (320, 240))
    shown, keys = [], iter([-1, -1, ord('q')])
    monkeypatch.setattr(cv2, 'imshow', lambda window, image: shown.append(image.copy()))
    monkeypatch.setattr(cv2, 'waitKey', lambda delay: next(keys))
    monkeypatch.setattr(cv2, 'getWindowProperty', lambda window, prop: 1.0)
    monkeypatch.setattr(cv2, 'destroyAllWindows', lambda: None)

    options = DemoOptions(tmp_path / 'out', show=True)
    assert run_demo(open_source('0'), lambda n, i: [], options, draw=draw_nothing) == 0
    assert len(shown) == 3
    assert shown[0][2:20, 2:60].max() > 200  # the white text of the overlay
    assert shown[0][100:].max() == shown[0][100:].min() == 10  # the frame itself below it
    assert 'stopped by the user (key pressed in the window) after 3 frames' in (
        capsys.readouterr().err)


def test_video_sink_cuts_odd_sizes_and_resizes_other_frames(tmp_path):
    sink = VideoSink(tmp_path / 'v' / 'out.mp4', fps=8)
    sink.write(np.zeros((95, 127, 3), np.uint8))
    sink.write(np.zeros((200, 300, 3), np.uint8))
    sink.close()
    assert read_video(tmp_path / 'v/out.mp4') == (2, (126, 94), 8.0)
    assert sink.summary() == f'video: {tmp_path / "v/out.mp4"} (2 frames, 126x94, 8 FPS given)'


# ----------------------------------------------------------------------------------- tracking
def test_tracking_keeps_ids_of_people_moving_a_few_pixels_and_gives_a_newcomer_a_new_one(tmp_path):
    """Through the front end: two people walking 3 px a frame in the predictor's changing order,
    a third entering at frame 6; the JSON of every frame has their ``track_id``."""
    source = open_source(str(make_video(tmp_path / 'walk.mp4', 10, size=(320, 160))))

    def predict(name, image):
        t = frame_index(name)
        people = [person(60 + 3 * t, 20), person(200 - 3 * t, 25)]
        people = people[::-1] if t % 2 else people
        if t >= 6:
            people.append(person(280, 30))
        return as_people(*people)

    options = DemoOptions(tmp_path / 'out', per_frame='json', log_interval=0)
    tracker = PoseTracker(metric='oks', sigmas=SIGMAS)
    assert run_demo(source, predict, options, tracker=tracker) == 0
    ids_of = {}  # person (their nose's height: 20, 25 or 30) -> ids over the frames
    for t in range(10):
        people = json.loads((tmp_path / f'out/walk_{t:06d}.json').read_text())['people']
        assert all(list(p)[0] == 'track_id' for p in people)
        for p in people:
            ids_of.setdefault(round(p['keypoints'][0][1]), []).append(p['track_id'])
    assert ids_of == {20: [0] * 10, 25: [1] * 10, 30: [2] * 4}


def test_smoothing_replaces_the_keypoints_with_the_filtered_ones():
    tracker = PoseTracker(metric='oks', sigmas=SIGMAS, smoothing=True)
    from custom_modules.apis import track_people
    rng = np.random.default_rng(0)
    raw, smoothed = [], []
    for _ in range(30):
        pose = person(100, 50) + rng.normal(0, 2, (17, 2))
        raw.append(pose)
        smoothed.append(np.array(track_people(tracker, as_people(pose))[0]['keypoints']))
    jitter = lambda poses: np.std(np.stack(poses[10:]), axis=0).mean()  # noqa: E731
    assert jitter(smoothed) < 0.6 * jitter(raw)


def test_no_people_age_the_tracks():
    from custom_modules.apis import track_people
    tracker = PoseTracker(metric='iou', ttl=1)
    first = track_people(tracker, [dict(bbox=[0, 0, 10, 10], **as_people(person(5, 0))[0])])
    assert first[0]['track_id'] == 0
    assert track_people(tracker, []) == [] and track_people(tracker, []) == []
    assert not tracker.tracks


def test_tracked_people_are_drawn_in_their_ids_colour():
    image = np.zeros((200, 300, 3), np.uint8)
    people = [
        dict(track_id=3, **as_people(person(80, 30, 150))[0]),
        dict(track_id=7, **as_people(person(220, 30, 150))[0])
    ]
    drawn = draw_tracked_people(image, people, COCO_LINKS, draw_bbox=False)
    assert not image.any()  # a copy
    for p, x in zip(people, (80, 220)):
        hip_y = int(person(x, 30, 150)[11, 1])
        row = drawn[hip_y, x - 20:x + 20].reshape(-1, 3)  # the hip link crosses this row
        colours = {tuple(int(c) for c in pixel) for pixel in row if pixel.any()}
        assert track_colour(p['track_id']) in colours
        assert track_colour(10 - p['track_id']) not in colours
    assert track_colour(3) != track_colour(7) and track_colour(3) == track_colour(23)


def test_a_source_without_frames_gives_the_summaries(tmp_path, capsys):
    source = Source('camera', 'camera 9', None, iter([]))
    # a camera that gives no frame at all has stopped: named, status 1
    assert run_demo(source, lambda n, i: [], DemoOptions(tmp_path / 'out'), draw_nothing) == 1
    captured = capsys.readouterr()
    out = captured.out.strip().splitlines()
    assert out[-2:] == ['timing: no frame processed', f'0 images written to {tmp_path / "out"}']
    assert captured.err.strip().splitlines()[-1].startswith(
        'error: camera 9: the camera stopped giving frames after 0 ')


class RecordingTracker(PoseTracker):
    """A PoseTracker that records the timestamps it is given."""

    def __init__(self) -> None:
        super().__init__(metric='iou', smoothing=True)
        self.timestamps = []

    def update(self, *args, timestamp=None, **kwargs):
        self.timestamps.append(timestamp)
        return super().update(*args, timestamp=timestamp, **kwargs)


def slow_predictor(clock: list):
    """A predictor of one person that takes 0.25 s of ``clock`` a frame."""

    def predict(name, image):
        clock[0] += 0.25
        return [dict(keypoints=[[10.0, 10.0]] * 17, keypoint_scores=[1.0] * 17)]

    return predict


def test_a_cameras_frames_are_smoothed_at_the_time_they_were_read(fake_capture, tmp_path):
    """The clock when each frame was read (0.25 s apart: the loop's pace; the frames in
    between are gone), not the camera's rate."""
    clock, tracker = [0.0], RecordingTracker()
    options = DemoOptions(tmp_path / 'out', per_frame='none', log_interval=0)
    run_demo(
        open_source('0'),
        slow_predictor(clock),
        options,
        tracker=tracker,
        timer=StageTimer(clock=lambda: clock[0]))
    np.testing.assert_allclose(tracker.timestamps, [0.25 * i for i in range(6)])


def test_a_videos_frames_are_smoothed_at_their_place_in_the_video(tmp_path):
    """Their times in the video (its 12 FPS), however slow the loop."""
    clock, tracker = [0.0], RecordingTracker()
    options = DemoOptions(tmp_path / 'out', per_frame='none', log_interval=0)
    video = make_video(tmp_path / 'walk.mp4', 5)
    run_demo(
        open_source(str(video)),
        slow_predictor(clock),
        options,
        tracker=tracker,
        timer=StageTimer(clock=lambda: clock[0]))
    np.testing.assert_allclose(tracker.timestamps, [i / 12 for i in range(5)])
