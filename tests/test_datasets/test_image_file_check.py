# Copyright (c) OpenMMLab. All rights reserved.
"""check_image_file: what it lets through and what it refuses, with the reason,
without decoding JPEGs and PNGs."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from custom_modules.datasets import ImageFileError, check_image_file
from custom_modules.datasets.image_file import stored_size

SAMPLE_JPEG = (
    Path(__file__).resolve().parents[1] / 'data/coco/000000000785.jpg')


def encoded(extension: str, image: np.ndarray) -> bytes:
    return cv2.imencode(extension, image)[1].tobytes()


def png() -> bytes:
    return encoded('.png', cv2.imread(str(SAMPLE_JPEG)))


def grey_png() -> bytes:
    return encoded('.png', np.eye(64, dtype=np.uint8) * 255)


def bmp() -> bytes:
    return encoded('.bmp', cv2.imread(str(SAMPLE_JPEG)))


def reason(path: Path) -> str:
    """The reason check_image_file gives for ``path``; fails the test if it
    passes."""
    with pytest.raises(ImageFileError) as error:
        check_image_file(str(path))
    assert str(error.value).startswith(f'{path}: ')
    return str(error.value)[len(f'{path}: '):]


@pytest.mark.parametrize('name,make', [
    ('sample.jpg', SAMPLE_JPEG.read_bytes),
    ('sample.png', png),
    ('grey.png', grey_png),
    ('sample.bmp', bmp),
])
def test_whole_images_pass_with_their_size(name, make, tmp_path):
    """The size of a JPEG or PNG is read from its header, not decoded."""
    (tmp_path / name).write_bytes(make())
    height, width = cv2.imread(str(tmp_path / name)).shape[:2]
    assert check_image_file(str(tmp_path / name)) == (width, height)


def test_a_jpegs_size_is_its_frame_header_not_its_thumbnails():
    """An EXIF thumbnail (APP1) holds a frame header of its own, first in the
    file."""
    data = SAMPLE_JPEG.read_bytes()
    thumbnail = encoded('.jpg', np.zeros((16, 24, 3), np.uint8))
    app1 = b'\xff\xe1' + (len(thumbnail) + 8).to_bytes(
        2, 'big') + b'Exif\0\0' + thumbnail
    height, width = cv2.imread(str(SAMPLE_JPEG)).shape[:2]
    assert stored_size(data[:2] + app1 + data[2:]) == (width, height)
    assert stored_size(thumbnail) == (24, 16)
    assert stored_size(b'GIF89a') is None


def test_truncated_empty_and_non_image_files_fail_with_their_reason(tmp_path):
    jpeg, whole_png = SAMPLE_JPEG.read_bytes(), png()
    half_jpeg, half_png = jpeg[:len(jpeg) // 2], whole_png[:len(whole_png) //
                                                           2]
    cases = {
        'truncated.jpg':
        (half_jpeg, 'truncated JPEG (no end-of-image marker FF D9 in its '
         f'{len(half_jpeg)} bytes)'),
        'truncated.png': (half_png, 'truncated PNG (no IEND chunk)'),
        'empty.jpg': (b'', 'empty file (0 bytes)'),
        'notes.jpg':
        (b'keypoints\n',
         "not an image OpenCV can decode (starts with b'keypoint')"),
        'no_scan.jpg': (jpeg[:jpeg.find(b'\xff\xda')] + b'\xff\xd9',
                        'JPEG without image data (no SOS marker)'),
        'no_frame.jpg':
        (b'\xff\xd8\xff\xd9', 'JPEG without a frame header (no SOF marker)'),
    }
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert reason(tmp_path / name) == expected, name


def test_a_missing_file_cannot_be_read(tmp_path):
    assert reason(
        tmp_path /
        'missing.jpg') == 'cannot be read (No such file or directory)'
