"""Reading one image file with checks, so that a bad file gets a clear reason, not a crash."""
import re
from typing import Optional

import mmcv
import numpy as np
from mmengine import fileio

JPEG_START = b'\xff\xd8'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
DECODER_NAMES = {'cv2': 'OpenCV'}  # mmcv's imdecode backends by the names users know
# A JPEG marker: 0xFF then a byte that is not 0x00 (a stuffed 0xFF in a scan's data), a restart
# marker 0xD0-0xD7 (inside a scan) or 0xFF (fill bytes before the marker).
_JPEG_MARKER = re.compile(rb'\xff[^\x00\xd0-\xd7\xff]')


def jpeg_is_complete(data: bytes) -> bool:
    """Whether JPEG ``data`` reaches its end-of-image marker (FF D9), found by walking the
    segments: an EXIF thumbnail's own FF D9 is skipped with its segment, the entropy-coded data
    of a scan is searched for the next marker, bytes after the end (a phone's appended video)
    are ignored. Stray bytes between segments are passed over, as decoders do."""
    pos = 2  # after the start-of-image marker FF D8
    while True:
        found = _JPEG_MARKER.search(data, pos)
        if found is None:
            return False
        pos = found.start()
        marker = data[pos + 1]
        if marker == 0xD9:
            return True
        if marker in (0x01, 0xD8):  # markers without a length field
            pos += 2
        else:  # a length of 2 bytes (big-endian) that counts itself, not the marker
            pos += 2 + int.from_bytes(data[pos + 2:pos + 4], 'big')


class ImageFileError(RuntimeError):
    """An image file that cannot be used; the message starts with its path."""


def image_file_problem(data: bytes) -> Optional[str]:
    """What is wrong with the bytes of an image file before decoding them, or None.

    Catches an empty file and a JPEG or PNG cut short (a decoder may return a truncated JPEG
    with the missing part grey).
    """
    if not data:
        return 'empty file (0 bytes)'
    if data.startswith(JPEG_START) and not jpeg_is_complete(data):
        return f'truncated JPEG (no end-of-image marker FF D9 in its {len(data)} bytes)'
    if data.startswith(PNG_SIGNATURE) and b'IEND' not in data[-64:]:
        return 'truncated PNG (no IEND chunk)'
    return None


def read_image_file(path: str, color_type: str = 'color', imdecode_backend: str = 'cv2',
                    backend_args: Optional[dict] = None) -> np.ndarray:
    """Read and decode an image as mmpose's ``LoadImage`` does, or say why it cannot be.

    With ``color_type='color'`` (mmpose's default) every image comes out as (H, W, 3) uint8 BGR:
    grey images are repeated over the channels, the alpha channel of RGBA images is dropped and
    16-bit PNGs are scaled to 8 bits, as OpenCV's ``IMREAD_COLOR`` does.

    Args:
        path: Local path or URI of an mmengine file backend.
        color_type: ``flag`` of :func:`mmcv.imfrombytes`.
        imdecode_backend: ``backend`` of :func:`mmcv.imfrombytes`.
        backend_args: Arguments of the mmengine file backend.

    Raises:
        ImageFileError: ``'<path>: <reason>'`` for a file that is missing, unreadable, empty,
            truncated or not decodable.
    """
    try:
        data = fileio.get(path, backend_args=backend_args)
    except OSError as err:
        raise ImageFileError(f'{path}: cannot be read ({err.strerror or err})') from err
    problem = image_file_problem(data)
    if problem is not None:
        raise ImageFileError(f'{path}: {problem}')
    undecodable = (f'{path}: not an image {DECODER_NAMES.get(imdecode_backend, imdecode_backend)}'
                   f' can decode (starts with {data[:8]!r})')
    try:
        image = mmcv.imfrombytes(data, flag=color_type, backend=imdecode_backend)
    except Exception as err:  # decoders raise anything on garbage
        raise ImageFileError(f'{undecodable}: {err}') from err
    if image is None:
        raise ImageFileError(undecodable)
    return image
