# Copyright (c) OpenMMLab. All rights reserved.
"""Inputs and outputs of the inferencer (:mod:`.inferencers`): one image, a
folder of images, a video file, a camera or a stream in (:func:`open_source`,
refusing a bad input with :class:`InputError` before any model loads); files
written whole (:func:`write_atomically`, :func:`write_image`), so that a run
killed part-way leaves complete files only and ``--skip-existing`` resumes
it."""
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple, Union

import cv2
import numpy as np

from ..datasets.image_file import read_image_file

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
VIDEO_SUFFIXES = ('.mp4', '.m4v', '.avi', '.mov', '.mkv', '.webm', '.mpg',
                  '.mpeg', '.wmv', '.flv', '.3gp', '.ts', '.m2ts', '.ogv')

# ``(name, load)``: the input's file name (a video frame's
# ``<stem>_<index>.jpg``) and a call returning its (H, W, 3) BGR image or
# raising ImageFileError.
Frame = Tuple[str, Callable[[], np.ndarray]]


class InputError(ValueError):
    """An input that cannot be run at all (checked before any model loads); the
    message is ``"<path>: <what is wrong>"``."""


def list_images(folder: Path) -> List[Path]:
    """The image files (suffixes :data:`IMAGE_SUFFIXES`, any case) directly in
    ``folder``, sorted by name.

    Raises:
        InputError: If there are none (the message names the folder and the
            accepted suffixes), or if two share a stem (``a.jpg``, ``a.png``),
            as their results would overwrite each other.
    """
    files = [p for p in folder.iterdir() if p.is_file()]
    images = sorted(p for p in files if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise InputError(
            f'{folder}: no image files in this folder ({len(files)} other '
            f'files); accepted suffixes: {", ".join(IMAGE_SUFFIXES)}')
    by_stem = {}
    for path in images:
        if path.stem in by_stem:
            raise InputError(
                f'{folder}: {by_stem[path.stem].name} and {path.name} would '
                f'write the same {path.stem}.json; rename one')
        by_stem[path.stem] = path
    return images


# ``rtsp://``, ``http://``, ``udp://``, ...: what OpenCV's FFmpeg (or
# GStreamer) back end opens
URL_PATTERN = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')
# A source's frame rate outside (0, MAX_SOURCE_FPS] is taken as unknown
# (cameras and streams report 0, or 90000 for some RTSP streams).
MAX_SOURCE_FPS = 240.0


def source_stem(kind: str, name: str) -> str:
    """:attr:`Source.stem` of a source of ``kind`` named ``name``."""
    if kind == 'camera':
        return name.replace(' ', '')
    if kind == 'stream':
        return 'stream'
    return Path(name).stem


@dataclass
class Source:
    """What :func:`open_source` opened.

    Attributes:
        kind (str): ``'image'``, ``'folder'``, ``'video'`` (a file),
            ``'camera'`` or ``'stream'``.
        name (str): The input as given.
        count (int, optional): Number of frames; None where unknown (cameras,
            live streams, videos that do not say). A stream with a count is a
            file served at a URL.
        frames (iterator): ``(name, load)`` pairs, see :data:`Frame`.
        fps (float, optional): The frame rate the video, camera or stream
            reports; None if it reports none (or an implausible one).
        release (callable, optional): Releases the capture of a video, camera
            or stream.
    """
    kind: str
    name: str
    count: Optional[int]
    frames: Iterator[Frame]
    fps: Optional[float] = None
    release: Optional[Callable[[], None]] = None

    @property
    def stem(self) -> str:
        """What the frames of a video, camera or stream and its outputs are
        named after: the video's file stem, ``camera<index>`` or ``stream``
        (for images and folders, the stem of the input's name)."""
        return source_stem(self.kind, self.name)

    @property
    def live(self) -> bool:
        """A camera or a stream: frames until it ends or the user stops, none
        stored before."""
        return self.kind in ('camera', 'stream')

    @property
    def real_time(self) -> bool:
        """Frames come at their sender's pace (a camera, or a stream without a
        frame count); a file served at a URL (a stream with a count) is read
        whole, at its own rate, as a video file."""
        return self.live and not self.count

    def shortfall(self, read: int) -> Optional[str]:
        """Why a run that read ``read`` frames and was not stopped by the user
        lost some: a video file that gave fewer frames than it announces (1% or
        1 frame of slack: some containers only estimate their count), a camera
        or stream that stopped giving frames (it dropped, was unplugged or its
        sender stopped).

        None where nothing was lost.
        """
        if self.kind in ('video', 'stream') and self.count:
            if read < self.count - max(1, self.count // 100):
                return (
                    f'{self.name}: OpenCV read {read} of the {self.count} '
                    'frames the '
                    f'{self.kind} announces (a truncated or damaged file?)')
            return None
        if self.live:
            return (
                f'{self.name}: the {self.kind} stopped giving frames after '
                f'{read} (it dropped, was unplugged or its sender stopped)')
        return None

    def frame_time(self,
                   index: int,
                   read_at: float,
                   default_fps: float = 30.0) -> float:
        """When frame ``index`` (from 1) was taken, in seconds.

        For a camera or live stream, the clock ``read_at`` when it was read
        (frames the loop had no time for are gone, and a smoothing filter must
        see the real time between the frames it gets); for a video (or a file
        served at a URL), its place in the video (``(index - 1) / fps``, the
        video's own rate, else ``default_fps``); for images, one
        ``1 / default_fps`` step each.
        """
        if self.real_time:
            return read_at
        return (index - 1) / (self.fps or default_fps)

    def close(self) -> None:
        """Stop reading and release the capture (a video, camera or stream),
        also one whose frames were never read."""
        close = getattr(self.frames, 'close', None)
        if close is not None:
            close()
        if self.release is not None:
            self.release()


def _capture_frames(video: cv2.VideoCapture, stem: str) -> Iterator[Frame]:
    """Each frame of an opened capture, named ``<stem>_<index:06d>.jpg``, until
    it gives none; releases the capture then, or when the generator is
    closed."""
    try:
        index = 0
        ok, frame = video.read()
        while ok:
            yield f'{stem}_{index:06d}.jpg', lambda frame=frame: frame
            index += 1
            ok, frame = video.read()
    finally:
        video.release()


def _source_fps(video: cv2.VideoCapture) -> Optional[float]:
    fps = float(video.get(cv2.CAP_PROP_FPS) or 0)
    return fps if 0 < fps <= MAX_SOURCE_FPS else None


def _open_capture(spec: Union[int, str], kind: str, what: str) -> Source:
    video = cv2.VideoCapture(spec)
    if not video.isOpened():
        video.release()
        raise InputError(f'{what}: OpenCV cannot open this {kind}')
    # a video file says how many frames it has; so does a file served at a URL
    # (a finite stream), unlike a live one
    count = (
        int(video.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if kind != 'camera' else 0)
    frames = _capture_frames(video, source_stem(kind, what))
    return Source(kind, what, count if count > 0 else None, frames,
                  _source_fps(video), video.release)


def open_source(spec: str) -> Source:
    """Open an input: a camera, a stream, a folder, a video or an image.

    ``spec`` is a camera index (all digits: ``cv2.VideoCapture(int)``; a file
    named ``0`` is ``./0``; mmpose's ``webcam`` / ``webcam:N`` is camera 0 /
    N), a stream URL (``scheme://...``: ``cv2.VideoCapture(url)``), a folder
    of images (sorted by name), a video file (by its suffix,
    :data:`VIDEO_SUFFIXES`, or a ``video/`` type in Python's ``mimetypes``, as
    mmpose tells videos) or one image (any other file). Images are read only
    when their ``load`` is called; a camera or stream is opened now and kept
    open.

    Frames are named ``<image file name>``, ``<video stem>_<index:06d>.jpg``,
    ``camera<index>_<index:06d>.jpg`` or ``stream_<index:06d>.jpg``.

    Raises:
        InputError: Now, before a model loads: ``spec`` does not exist, is a
            folder without images (see :func:`list_images`), or a video, camera
            or stream OpenCV cannot open; a ``webcam:`` without a camera index.
    """
    spec = str(spec)
    if spec.startswith('webcam'):
        name, _, index = spec.partition(':')
        if name != 'webcam' or (index and not index.isdigit()):
            raise InputError(
                f'{spec}: expected webcam or webcam:N, N a camera index')
        spec = index or '0'
    if spec.isdigit():
        return _open_capture(int(spec), 'camera', f'camera {spec}')
    if URL_PATTERN.match(spec):
        return _open_capture(spec, 'stream', spec)
    source = Path(spec)
    if not source.exists():
        raise InputError(f'{source}: no such file or folder')
    if source.is_dir():
        images = list_images(source)
        return Source('folder', spec, len(images),
                      ((path.name,
                        lambda path=path: read_image_file(str(path)))
                       for path in images))
    media_type = mimetypes.guess_type(source.name)[0] or ''
    if (source.suffix.lower() in VIDEO_SUFFIXES
            or media_type.startswith('video/')):
        return _open_capture(str(source), 'video', str(source))
    return Source('image', spec, 1,
                  iter([(source.name, lambda: read_image_file(str(source)))]))


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through ``<path>.part`` and a rename
    (``os.replace``): a reader, or a process killed meanwhile, sees the old
    file or the whole new one, never a part (up to a power cut: nothing is
    fsynced). Creates the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f'{path.name}.part')
    partial.write_bytes(data)
    os.replace(partial, path)


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode an (H, W, 3) BGR image in the format of ``path``'s suffix; write
    it atomically."""
    ok, encoded = cv2.imencode(path.suffix, image)
    if not ok:
        raise ValueError(
            f'{path}: OpenCV cannot encode an image of shape {image.shape} as '
            f'{path.suffix}')
    write_atomically(path, encoded.tobytes())
