# Copyright (c) OpenMMLab. All rights reserved.
"""The front end's inputs and outputs (custom_modules/apis/demo_io.py).

Cameras, streams and videos opened (or refused by name) and read, unreadable
images named with their reason, folders without images refused, the time of
each frame, results written whole. (The inferencer that counts, skips and
reports is tested in ``test_inferencers.py`` and ``test_inferencer_demo.py``.)
"""
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from custom_modules.apis import InputError, Source, open_source
from custom_modules.apis.demo_io import VIDEO_SUFFIXES, write_atomically
from custom_modules.datasets.image_file import (ImageFileError, jpeg_segments,
                                                read_image_file)
from .demo_fakes import install_fake_capture, make_video

SAMPLE_IMAGE = (
    Path(__file__).resolve().parents[1] / 'data/coco/000000196141.jpg')


def jpeg_is_complete(data: bytes) -> bool:
    """Whether JPEG ``data`` reaches its end-of-image marker (FF D9)."""
    return jpeg_segments(data)[1]


def jpeg(**save_args) -> bytes:
    """The sample image as a JPEG written by Pillow with ``save_args``."""
    buffer = io.BytesIO()
    Image.open(SAMPLE_IMAGE).save(buffer, 'JPEG', **save_args)
    return buffer.getvalue()


@pytest.mark.parametrize('save_args', [{},
                                       dict(progressive=True),
                                       dict(restart_marker_blocks=1)])
def test_a_jpeg_is_complete_only_up_to_its_end_marker(save_args):
    data = jpeg(**save_args)
    assert jpeg_is_complete(data)
    # bytes after the end are ignored
    assert jpeg_is_complete(data + b'appended video' * 100)
    for cut in (2, 100, len(data) // 2, len(data) - 10):
        assert not jpeg_is_complete(data[:len(data) - cut]), cut


def test_a_thumbnails_end_marker_is_not_the_images():
    """An APP1 (EXIF) segment holding a whole small JPEG, FF D9 included, then
    the image cut."""
    thumbnail = jpeg()[:200] + b'\xff\xd9'
    data = jpeg()
    app1 = b'\xff\xe1' + (len(thumbnail) + 8).to_bytes(
        2, 'big') + b'Exif\0\0' + thumbnail
    with_thumbnail = data[:2] + app1 + data[2:]
    assert jpeg_is_complete(with_thumbnail)
    assert not jpeg_is_complete(with_thumbnail[:len(app1) + 1000])


def test_read_image_names_the_file_and_the_reason(tmp_path):
    whole = SAMPLE_IMAGE.read_bytes()
    cases = {
        'empty.png': (b'', 'empty file (0 bytes)'),
        'cut.jpg':
        (whole[:-5000], f'truncated JPEG (no end-of-image marker FF D9 in its '
         f'{len(whole) - 5000} bytes)'),
        'text.jpg':
        (b'hello, world\n', 'not an image OpenCV can decode (starts with '
         "b'hello, w')"),
        'cut.png': (cv2.imencode('.png',
                                 np.eye(64, dtype=np.uint8))[1].tobytes()[:60],
                    'truncated PNG (no IEND chunk)'),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageFileError) as error:
            read_image_file(str(tmp_path / name))
        assert str(error.value).startswith(f'{tmp_path / name}: {reason}')
    (tmp_path / 'whole.jpg').write_bytes(whole)
    assert np.array_equal(
        read_image_file(str(tmp_path / 'whole.jpg')),
        cv2.imread(str(SAMPLE_IMAGE)))


def test_folders_without_images_or_with_clashing_names_are_refused(tmp_path):
    with pytest.raises(InputError) as error:
        open_source(str(tmp_path / 'missing'))
    assert str(error.value) == (f'{tmp_path / "missing"}: '
                                'no such file or folder')
    (tmp_path / 'notes.txt').write_text('x')
    (tmp_path / 'sub.jpg').mkdir()  # a folder named like an image is no image
    with pytest.raises(InputError) as error:
        open_source(str(tmp_path))
    assert str(error.value) == (
        f'{tmp_path}: no image files in this folder (1 other files); '
        'accepted suffixes: .jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff')
    (tmp_path / 'a.jpg').write_bytes(b'')
    (tmp_path / 'a.PNG').write_bytes(b'')
    with pytest.raises(
            InputError, match='a.PNG and a.jpg would write the same a.json'):
        open_source(str(tmp_path))


def test_write_atomically_leaves_the_old_file_when_interrupted(
        tmp_path, monkeypatch):
    path = tmp_path / 'out' / 'result.json'
    write_atomically(path, b'{"image": "a.jpg", "people": []}')
    assert json.loads(path.read_text()) == dict(image='a.jpg', people=[])
    assert sorted(p.name for p in path.parent.iterdir()) == ['result.json']

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr('os.replace', killed)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, b'{"image": "b.jpg", "people": [')
    assert json.loads(path.read_text())['image'] == 'a.jpg'


def test_a_video_that_cannot_be_opened_is_refused(tmp_path):
    (tmp_path / 'clip.mp4').write_text('not a video\n')
    with pytest.raises(
            InputError, match='clip.mp4: OpenCV cannot open this video'):
        open_source(str(tmp_path / 'clip.mp4'))


@pytest.fixture
def fake_capture(monkeypatch):
    return install_fake_capture(monkeypatch)


def test_camera_and_url_captures_are_kept_until_the_frames_end(fake_capture):
    camera = open_source('0')
    assert (camera.kind, camera.name, camera.count, camera.fps, camera.live,
            camera.stem) == ('camera', 'camera 0', None, None, True, 'camera0')
    # an int: the device, not a file named 0
    assert fake_capture.instances[0].spec == 0
    names = [name for name, _ in camera.frames]
    assert names == [f'camera0_{i:06d}.jpg' for i in range(6)]
    assert fake_capture.instances[0].released

    stream = open_source('rtsp://192.0.2.1:554/live')
    assert (stream.kind, stream.live, stream.stem) == ('stream', True,
                                                       'stream')
    assert fake_capture.instances[1].spec == 'rtsp://192.0.2.1:554/live'
    name, load = next(stream.frames)
    assert name == 'stream_000000.jpg' and load().shape == (48, 64, 3)
    stream.close()  # stopped early: released all the same
    assert fake_capture.instances[1].released

    unread = open_source('1')
    assert not fake_capture.instances[2].released
    # closed before its first frame was asked for (a refused run)
    unread.close()
    assert fake_capture.instances[2].released


@pytest.mark.parametrize('spec, message', [
    ('3', 'camera 3: OpenCV cannot open this camera'),
    ('http://192.0.2.1/cam.mjpg',
     'http://192.0.2.1/cam.mjpg: OpenCV cannot open this stream')
])
def test_a_camera_or_stream_that_cannot_be_opened_is_named(
        fake_capture, monkeypatch, spec, message):
    monkeypatch.setattr(fake_capture, 'opened', False)
    with pytest.raises(InputError) as error:
        open_source(spec)
    assert str(error.value) == message
    assert fake_capture.instances[0].released


def test_a_video_file_tells_its_frames_and_rate(tmp_path):
    source = open_source(str(make_video(tmp_path / 'clip.mp4', 5, fps=25)))
    assert (source.kind, source.count, source.fps, source.live,
            source.stem) == ('video', 5, 25.0, False, 'clip')
    assert [name for name, _ in source.frames
            ] == [f'clip_{i:06d}.jpg' for i in range(5)]


@pytest.mark.parametrize('suffix', ['.m4v', '.mpg', '.MOV', '.qt'])
def test_videos_are_told_by_their_suffix_as_mmpose_tells_them(
        tmp_path, suffix):
    """Suffixes beyond the common ones, in any case, are videos, also those
    only Python's ``mimetypes`` knows (``.qt``: ``video/quicktime``), as mmpose
    tells them; not an image OpenCV cannot decode."""
    assert '.qt' not in VIDEO_SUFFIXES
    clip = tmp_path / f'clip{suffix}'
    make_video(tmp_path / 'clip.mp4', 5).rename(clip)
    source = open_source(str(clip))
    assert (source.kind, source.count) == ('video', 5)
    source.close()


@pytest.mark.parametrize(
    'kind, count, fps, expected',
    [
        ('camera', None, 30.0, [12.5, 13.0, 20.0]),  # when it was read
        ('stream', None, None, [12.5, 13.0, 20.0]),
        ('video', 40, 25.0, [0.0, 0.04, 0.08]),  # its place in the video
        ('stream', 40, 25.0, [0.0, 0.04, 0.08]),  # a file served at a URL
        ('video', 40, None, [0.0, 1 / 30, 2 / 30]),  # a video with no rate
        ('folder', 3, None, [0.0, 1 / 30, 2 / 30]),
    ])
def test_a_frames_time_is_when_it_was_read_or_its_place_in_the_video(
        kind, count, fps, expected):
    source = Source(kind, 'in', count, iter([]), fps)
    times = [
        source.frame_time(index, read_at)
        for index, read_at in [(1, 12.5), (2, 13.0), (3, 20.0)]
    ]
    np.testing.assert_allclose(times, expected)
