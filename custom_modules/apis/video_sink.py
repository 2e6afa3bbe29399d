# Copyright (c) OpenMMLab. All rights reserved.
"""Drawn frames into a video file: :class:`VideoSink` (OpenCV's mp4v writer)
and the frame rate it is written at (:func:`video_fps`).

The size is the first frame's, cut to even numbers (what mp4v stores); later
frames of another size are resized to it. A camera or live stream is written at
the rate measured over its first frames (:data:`MEASURE_FRAMES`), so that the
video plays at the speed things happened even when the model is slower than the
camera.
"""
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import cv2
import numpy as np

from .demo_io import Source

DEFAULT_FPS = 30.0
# frames a live source's video is buffered for to measure its rate
MEASURE_FRAMES = 10
MIN_MEASURED_FPS, MAX_MEASURED_FPS = 1.0, 120.0


class VideoSink:
    """Frames into a video file (``cv2.VideoWriter``, mp4v), opened with the
    first frame's size (cut to even numbers); a frame of another size is
    resized to it.

    Args:
        path (Path): The video file; its folder is created.
        fps (float, optional): Its frame rate; None: measured from the times
            the first ``measure_frames`` frames arrive (they are held until
            then), 30 if fewer come.
        how (str, optional): Where ``fps`` comes from, for :meth:`summary`.
        measure_frames (int): See ``fps``.
        clock (callable): Seconds, for the measurement.
    """

    def __init__(self,
                 path: Path,
                 fps: Optional[float] = None,
                 how: Optional[str] = None,
                 measure_frames: int = MEASURE_FRAMES,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.path, self.fps, self.clock = Path(path), fps, clock
        self.how = how or ('given' if fps is not None else 'measured')
        self.measure_frames = max(2, measure_frames)
        self.held: List[tuple] = []  # (frame, time) while measuring
        self.writer: Optional[cv2.VideoWriter] = None
        self.size: Optional[tuple] = None  # (width, height)
        self.count = 0

    def _open(self, fps: float, frame: np.ndarray) -> None:
        height, width = frame.shape[:2]
        self.size = (max(2, width - width % 2), max(2, height - height % 2))
        self.fps = fps
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = cv2.VideoWriter(
            str(self.path), cv2.VideoWriter_fourcc(*'mp4v'), fps, self.size)
        if not self.writer.isOpened():
            raise OSError(f'{self.path}: OpenCV cannot write an mp4v video of '
                          f'{self.size[0]}x{self.size[1]} at {fps:g} FPS here')

    def _put(self, frame: np.ndarray) -> None:
        width, height = self.size
        if frame.shape[:2] != (height, width):
            if (frame.shape[0] - height in (0, 1)
                    and frame.shape[1] - width in (0, 1)):
                frame = frame[:height, :width]  # the odd row / column cut
            else:
                frame = cv2.resize(
                    frame, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(np.ascontiguousarray(frame))
        self.count += 1

    def _flush_held(self) -> None:
        times = [t for _, t in self.held]
        span = times[-1] - times[0]
        measured = len(times) >= 2 and span > 0
        fps = (len(times) - 1) / span if measured else DEFAULT_FPS
        # within what players and mp4's time base (denominator < 65536) take
        self._open(
            round(min(max(fps, MIN_MEASURED_FPS), MAX_MEASURED_FPS), 2),
            self.held[0][0])
        for frame, _ in self.held:
            self._put(frame)
        self.held = []

    def write(self, frame: np.ndarray) -> None:
        """Add a (H, W, 3) BGR frame."""
        if self.writer is None and self.fps is None:
            self.held.append((frame.copy(), self.clock()))
            if len(self.held) >= self.measure_frames:
                self._flush_held()
            return
        if self.writer is None:
            self._open(self.fps, frame)
        self._put(frame)

    def close(self) -> None:
        """Write the held frames and finish the file."""
        if self.held:
            self._flush_held()
        if self.writer is not None:
            self.writer.release()

    def summary(self) -> str:
        if self.writer is None:
            return f'video: nothing written to {self.path} (no frame)'
        return (f'video: {self.path} ({self.count} frames, '
                f'{self.size[0]}x{self.size[1]}, {self.fps:g} FPS {self.how})')


def video_fps(output_fps: Optional[float],
              source: Source) -> Tuple[Optional[float], str]:
    """``(fps or None to measure, how)`` of an output video of ``source``.

    ``output_fps`` if given; a camera's or live stream's rate measured while
    writing (None); a video file's own (also one served at a URL); else
    :data:`DEFAULT_FPS`.
    """
    if output_fps is not None:
        return output_fps, 'given (--output-fps)'
    if source.real_time:
        return None, 'measured'
    if source.fps is not None:
        return source.fps, "the input's"
    return DEFAULT_FPS, 'default'
