"""The demos' inputs and outputs: unreadable images named with their reason, folders without
images refused, results written whole, and the loop that counts, skips and reports."""
import io
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from custom_modules.apis import InputError, open_inputs, process_inputs, write_image, write_people
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
        open_inputs(tmp_path / 'missing')
    assert str(error.value) == f'{tmp_path / "missing"}: --input does not exist'
    (tmp_path / 'notes.txt').write_text('x')
    (tmp_path / 'sub.jpg').mkdir()  # a folder named like an image is no image
    with pytest.raises(InputError) as error:
        open_inputs(tmp_path)
    assert str(error.value) == (f'{tmp_path}: no image files in this folder (1 other files); '
                                'accepted suffixes: .jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff')
    (tmp_path / 'a.jpg').write_bytes(b'')
    (tmp_path / 'a.PNG').write_bytes(b'')
    with pytest.raises(InputError, match='a.PNG and a.jpg would write the same a.json'):
        open_inputs(tmp_path)


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


def test_process_inputs_goes_on_after_a_bad_image_and_exits_1(tmp_path, capsys):
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

    def predict(name, image, out_image):
        seen.append((name, image.shape, out_image))
        return [{'keypoints': [[1.0, 2.0]]}]

    status = process_inputs(
        *open_inputs(images), predict, out_dir, draw=False, skip_existing=True, log_interval=2)
    assert status == 1
    assert seen == [('a.jpg', (8, 10, 3), None), ('c.png', (8, 10, 3), None)]
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


def test_process_inputs_draws_and_exits_0_when_all_are_read(tmp_path, capsys):
    image_path = tmp_path / 'one.jpg'
    cv2.imwrite(str(image_path), np.full((8, 10, 3), 90, np.uint8))

    def predict(name, image, out_image):
        write_image(out_image, image)
        return []

    assert process_inputs(*open_inputs(image_path), predict, tmp_path / 'out') == 0
    assert cv2.imread(str(tmp_path / 'out/one.jpg')).shape == (8, 10, 3)
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        f'1 images written to {tmp_path / "out"}')


def test_a_video_that_cannot_be_opened_is_refused(tmp_path):
    (tmp_path / 'clip.mp4').write_text('not a video\n')
    with pytest.raises(InputError, match='clip.mp4: OpenCV cannot open this video'):
        open_inputs(tmp_path / 'clip.mp4')
