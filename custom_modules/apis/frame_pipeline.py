# Copyright (c) OpenMMLab. All rights reserved.
"""The demos' frames read ahead and their files written behind, in threads
beside the model (``--pipelined``).

While the model works on frame ``i``, frame ``i + 1`` is read and decoded and
frame ``i - 1``'s video frame, drawing and JSON are written. Frames keep their
order and none is dropped: the reader waits when it is ``depth`` frames ahead,
the writer runs its jobs one by one in the order they came, and an error of
either reaches the demo's own thread. A live source (a camera, a stream) has
:data:`LIVE_READ_AHEAD` frame queued ahead of the model (and the next one read
meanwhile): every frame queued ahead is a frame of delay between the scene and
what is shown.
"""
import queue
import threading
from typing import Callable, Iterator, NamedTuple, Optional, Tuple

import numpy as np

from ..datasets.image_file import ImageFileError

# a source's frames: (name, load), load() -> (H, W, 3) BGR image
Frames = Iterator[Tuple[str, Callable[[], np.ndarray]]]
POLL_SECONDS = 0.1  # how often a waiting thread looks whether it should stop
#: Frames read ahead of the model: from files (a video, images), enough to
#: hide an uneven decoding time; from a live source, one, so that the frame
#: the model gets is at most one frame older than the newest one read.
FILE_READ_AHEAD, LIVE_READ_AHEAD = 4, 1


class FrameItem(NamedTuple):
    """One input of a source: ``kind`` 'image' (``image`` set), 'skipped' (its
    results exist) or 'failed' (``error`` set); ``read_at``: the clock when it
    was read."""
    kind: str
    name: str
    image: Optional[np.ndarray]
    error: Optional[ImageFileError]
    read_at: float


def read_frames(frames: Frames, skip: Callable[[str], bool],
                clock: Callable[[], float]) -> Iterator[FrameItem]:
    """The items of ``frames`` in order, each loaded unless ``skip(name)``; an
    image that cannot be read is a 'failed' item, not an exception."""
    for name, load in frames:
        read_at = clock()
        if skip(name):
            yield FrameItem('skipped', name, None, None, read_at)
            continue
        try:
            image = load()
        except ImageFileError as error:
            yield FrameItem('failed', name, None, error, read_at)
            continue
        yield FrameItem('image', name, image, None, read_at)


class _End(NamedTuple):
    error: Optional[BaseException]


class ReadAhead:
    """Iterates ``items`` in a thread, up to ``depth`` ahead of the consumer;
    the same items in the same order.

    An exception of the iteration is raised by the consumer's ``next`` where
    the item would have come. :meth:`close` stops the thread (it may be waiting
    on a camera: it is a daemon and is not waited for beyond ``timeout``).
    """

    def __init__(self,
                 items: Iterator,
                 depth: int = FILE_READ_AHEAD,
                 timeout: float = 5.0) -> None:
        self._queue: 'queue.Queue' = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._timeout = timeout
        self._thread = threading.Thread(
            target=self._run, args=(items, ), name='frame-reader', daemon=True)
        self._thread.start()

    def _put(self, value: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            self._put(_End(error))
            return
        self._put(_End(None))

    def __iter__(self) -> 'ReadAhead':
        return self

    def __next__(self):
        value = self._queue.get()
        if isinstance(value, _End):
            self._queue.put(value)  # later calls end too
            if value.error is not None:
                raise value.error
            raise StopIteration
        return value

    def close(self) -> bool:
        """Stop the thread; whether it stopped within ``timeout`` (not while it
        waits for a frame that does not come: the iteration is then still
        running in it, and must not be closed from here)."""
        self._stop.set()
        self._thread.join(self._timeout)
        return not self._thread.is_alive()


class OrderedWriter:
    """Runs write jobs in one thread, in the order they are submitted.

    :meth:`close` waits for them and raises the first job's error (the jobs
    after it are not run).
    """

    def __init__(self, depth: int = 8) -> None:
        self._queue: 'queue.Queue' = queue.Queue(maxsize=max(1, depth))
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(
            target=self._run, name='frame-writer', daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._error is None:
                fn, args = job
                try:
                    fn(*args)
                except BaseException as error:  # raised by close()
                    self._error = error

    def submit(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` after the jobs submitted before (waits while
        ``depth`` are queued); an earlier job's error is raised here."""
        if self._error is not None:
            raise self._error
        self._queue.put((fn, args))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def run_now(fn: Callable[..., object], *args: object) -> None:
    """A writer without a thread: ``fn(*args)`` at once (the demos without
    ``--pipelined``)."""
    fn(*args)
