"""The demos' inputs and outputs: unreadable images named with their reason, folders without
images and videos OpenCV cannot open refused, results written whole. (The loop that counts,
skips and reports is tested on ``run_demo`` in ``test_demo_runner.py``.)"""
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from custom_modules.apis import InputError, open_source, write_people
from custom_modules.apis.demo_io import write_atomically
from custom_modules.datasets.image_file import ImageFileError, jpeg_is_complete, read_image_file

SAMPLE_IMAGE = Path(__file__).resolve().parents[1] / 'data/coco/000000196141.jpg'


def jpeg(**save_args) -> bytes:
    """The sample image as a JPEG written by Pillow with ``save_args``."""
    buffer = io.BytesIO()
    Image.open(SAMPLE_IMAGE).save(buffer, 'JPEG', **save_args)
    return buffer.getvalue()


@pytest.mark.parametrize('save_args', [{}, dict(progressive=True), dict(restart_marker_blocks=1)])
def test_a_jpeg_is_complete_only_up_to_its_end_marker(save_args):
    data = jpeg(**save_args)
    assert jpeg_is_complete(data)
    assert jpeg_is_complete(data + b'appended video' * 100)  # bytes after the end are ignored
    for cut in (2, 100, len(data) // 2, len(data) - 10):
        assert not jpeg_is_complete(data[:len(data) - cut]), cut


def test_a_thumbnails_end_marker_is_not_the_images():
    """An APP1 (EXIF) segment holding a whole small JPEG, FF D9 included, then the image cut."""
    thumbnail = jpeg()[:200] + b'\xff\xd9'
    data = jpeg()
    app1 = b'\xff\xe1' + (len(thumbnail) + 8).to_bytes(2, 'big') + b'Exif\0\0' + thumbnail
    with_thumbnail = data[:2] + app1 + data[2:]
    assert jpeg_is_complete(with_thumbnail)
    assert not jpeg_is_complete(with_thumbnail[:len(app1) + 1000])


def test_read_image_names_the_file_and_the_reason(tmp_path):
    whole = SAMPLE_IMAGE.read_bytes()
    cases = {
        'empty.png': (b'', 'empty file (0 bytes)'),
        'cut.jpg': (whole[:-5000], f'truncated JPEG (no end-of-image marker FF D9 in its '
                    f'{len(whole) - 5000} bytes)'),
        'text.jpg': (b'hello, world\n', "not an image OpenCV can decode (starts with "
                     "b'hello, w')"),
        'cut.png':
        (cv2.imencode('.png',
                      np.eye(64,
                             dtype=np.uint8))[1].tobytes()[:60], 'truncated PNG (no IEND chunk)'),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageFileError) as error:
            read_image_file(str(tmp_path / name))
        assert str(error.value).startswith(f'{tmp_path / name}: {reason}')
    (tmp_path / 'whole.jpg').write_bytes(whole)
    assert np.array_equal(
        read_image_file(str(tmp_path / 'whole.jpg')), cv2.imread(str(SAMPLE_IMAGE)))


def test_folders_without_images_or_with_clashing_names_are_refused(tmp_path):
    with pytest.raises(InputError) as error:
        open_source(str(tmp_path / 'missing'))
    assert str(error.value) == f'{tmp_path / "missing"}: --input does not exist'
    (tmp_path / 'notes.txt').write_text('x')
    (tmp_path / 'sub.jpg').mkdir()  # a folder named like an image is no image
    with pytest.raises(InputError) as error:
        open_source(str(tmp_path))
    assert str(error.value) == (f'{tmp_path}: no image files in this folder (1 other files); '
                                'accepted suffixes: .jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff')
    (tmp_path / 'a.jpg').write_bytes(b'')
    (tmp_path / 'a.PNG').write_bytes(b'')
    with pytest.raises(InputError, match='a.PNG and a.jpg would write the same a.json'):
        open_source(str(tmp_path))


def test_write_atomically_leaves_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / 'out' / 'result.json'
    write_people(path, 'a.jpg', np.zeros((4, 6, 3), np.uint8), [])
    assert json.loads(path.read_text()) == dict(image='a.jpg', height=4, width=6, people=[])
    assert sorted(p.name for p in path.parent.iterdir()) == ['result.json']

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr('os.replace', killed)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, b'{"image": "b.jpg", "people": [')
    assert json.loads(path.read_text())['image'] == 'a.jpg'


def test_a_video_that_cannot_be_opened_is_refused(tmp_path):
    (tmp_path / 'clip.mp4').write_text('not a video\n')
    with pytest.raises(InputError, match='clip.mp4: OpenCV cannot open this video'):
        open_source(str(tmp_path / 'clip.mp4'))
