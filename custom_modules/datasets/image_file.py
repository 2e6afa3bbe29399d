"""Reading one image file with checks, so that a bad file gets a clear reason, not a crash."""
from typing import Optional

import mmcv
import numpy as np
from mmengine import fileio

JPEG_START, JPEG_END = b'\xff\xd8', b'\xff\xd9'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# JPEG writers may pad after the end-of-image marker; look for it in the file's last bytes.
JPEG_TAIL_BYTES = 4096


class ImageFileError(RuntimeError):
    """An image file that cannot be used; the message starts with its path."""


def image_file_problem(data: bytes) -> Optional[str]:
    """What is wrong with the bytes of an image file before decoding them, or None.

    Catches what a decoder lets through: an empty file, and a JPEG or PNG cut short (OpenCV
    decodes a truncated JPEG with a warning, grey where the data stops).
    """
    if not data:
        return 'empty file'
    if data.startswith(JPEG_START) and JPEG_END not in data[-JPEG_TAIL_BYTES:]:
        return 'truncated JPEG (no end-of-image marker)'
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
    if problem is None:
        try:
            image = mmcv.imfrombytes(data, flag=color_type, backend=imdecode_backend)
        except Exception as err:  # decoders raise anything on garbage
            raise ImageFileError(f'{path}: not a decodable image ({err})') from err
        if image is None:
            problem = 'not a decodable image'
        else:
            return image
    raise ImageFileError(f'{path}: {problem}')
