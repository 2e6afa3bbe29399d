# Copyright (c) OpenMMLab. All rights reserved.
"""Where a frame's time goes: wall time per named stage (detector, preprocess,
network, decoding, ...), per frame and summed over a run, and the end-to-end
frame rate.

Stages nest and each keeps its *exclusive* time: a stage opened inside another
is subtracted from the outer one. That is how the network and the decoding are
told apart inside mmpose's ``inference_bottomup`` / ``inference_topdown``
without copying them: :meth:`StageTimer.instrument` wraps the model's
``extract_feat`` and ``head.forward`` as ``network`` and ``head.predict`` as
``decoding``; the demo opens ``preprocess`` around the whole call, which then
keeps the data pipeline, the normalisation and the packing of results. All four
families of this project (MLN, OpenPose, SMPR bottom-up; HSR-MSNet, MLPE
top-down) call ``self.forward`` from their head's ``predict``, and all of
mmpose's estimators call ``extract_feat``.

On CUDA the timer synchronises the device at each stage boundary
(:meth:`StageTimer.for_device`), so kernels are counted in the stage that
launched them; that costs a little throughput.
"""
import contextlib
import functools
import time
from collections import deque
from typing import Callable, Dict, Iterator, List, Optional

# Stages in the order summaries list them; others follow in the order they
# first ran.
STAGE_ORDER = ('reading', 'detector', 'preprocess', 'network', 'decoding',
               'tracking', 'drawing', 'writing', 'display')
# Short names for the overlay drawn on each frame.
SHORT_NAMES = dict(
    reading='read',
    detector='det',
    preprocess='pre',
    network='net',
    decoding='dec',
    tracking='trk',
    drawing='draw',
    writing='write',
    display='show')


class Instrumentation:
    """Wrappers a :class:`StageTimer` put on objects; :meth:`restore` (or
    leaving the ``with`` block) takes them off again."""

    def __init__(self) -> None:
        self._undo: List[Callable[[], None]] = []

    def add(self, undo: Callable[[], None]) -> None:
        self._undo.append(undo)

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()

    def __enter__(self) -> 'Instrumentation':
        return self

    def __exit__(self, *exc) -> None:
        self.restore()


class StageTimer:
    """Per-frame wall time of named stages and the frame rate of a loop.

    Use::

        timer = StageTimer.for_device('cuda:0')
        timer.instrument(model)  # network / decoding inside the model
        for frame in frames:
            timer.start_frame()
            with timer.stage('preprocess'):
                result = inference_bottomup(model, frame)
            ...
            # {'preprocess': 3.1, 'network': 40.2, ...}
            frame_ms = timer.end_frame()
        print(timer.summary())

    Args:
        sync (callable, optional): Called at every stage boundary, e.g.
            ``torch.cuda.synchronize``, so that asynchronous work is timed
            where it runs.
        clock (callable): Seconds, monotonic. Defaults to
            ``time.perf_counter``.
        window (int): Frames the current FPS (:meth:`fps`) is averaged over.
            Defaults to 30.
    """

    def __init__(self,
                 sync: Optional[Callable[[], None]] = None,
                 clock: Callable[[], float] = time.perf_counter,
                 window: int = 30) -> None:
        self.sync, self.clock = sync, clock
        self._stack: List[list] = []  # [name, time spent in nested stages]
        self.current: Dict[str, float] = {}  # seconds per stage, this frame
        # seconds per stage, all finished frames
        self.totals: Dict[str, float] = {}
        self.frames = 0
        self.first_start: Optional[float] = None
        self.last_end: Optional[float] = None
        self._frame_start: Optional[float] = None
        self._ends = deque(maxlen=window + 1)

    @classmethod
    def for_device(cls, device: str, **kwargs) -> 'StageTimer':
        """A timer synchronising CUDA at stage boundaries when ``device`` is a
        CUDA device."""
        sync = None
        if str(device).startswith('cuda'):
            import torch
            if torch.cuda.is_available():
                sync = functools.partial(torch.cuda.synchronize, device)
        return cls(sync=sync, **kwargs)

    # ------------------------------------------------------------------ stages
    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Count the time of the ``with`` block as ``name``, less that of
        stages nested in it."""
        if self.sync is not None:
            self.sync()
        start = self.clock()
        self._stack.append([name, 0.0])
        try:
            yield
        finally:
            if self.sync is not None:
                self.sync()
            elapsed = self.clock() - start
            _, nested = self._stack.pop()
            self.current[name] = self.current.get(name, 0.0) + elapsed - nested
            if self._stack:
                self._stack[-1][1] += elapsed

    def wrap(self, owner: object, attr: str, name: str) -> Callable[[], None]:
        """Make every call of ``owner.attr`` (a method) count as stage
        ``name``, by setting an instance attribute over it.

        Returns the function that takes the wrapper off.
        """
        had_own = attr in vars(owner)
        own = vars(owner).get(attr)
        original = getattr(owner, attr)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            with self.stage(name):
                return original(*args, **kwargs)

        object.__setattr__(owner, attr, timed)

        def undo() -> None:
            if had_own:
                object.__setattr__(owner, attr, own)
            else:
                object.__delattr__(owner, attr)

        return undo

    def instrument(self, model: object) -> Instrumentation:
        """Time a pose model's ``extract_feat`` and ``head.forward`` as
        ``network`` and the rest of its ``head.predict`` as ``decoding``.

        Wraps whatever those attributes are now (a backend that replaced them,
        e.g. onnxruntime, is timed the same way). Returns the
        :class:`Instrumentation` to restore the model.
        """
        patches = Instrumentation()
        patches.add(self.wrap(model, 'extract_feat', 'network'))
        head = getattr(model, 'head', None)
        if head is not None:
            patches.add(self.wrap(head, 'predict', 'decoding'))
            patches.add(self.wrap(head, 'forward', 'network'))
        return patches

    # ------------------------------------------------------------------ frames
    def reset(self) -> None:
        """Forget the frames so far (e.g. warm-up frames); the wrappers of
        :meth:`instrument` keep timing into this timer."""
        self.current, self.totals, self.frames = {}, {}, 0
        self.first_start = self.last_end = self._frame_start = None
        self._ends.clear()

    def start_frame(self) -> None:
        """Begin a frame: its stage times start from zero."""
        self.current = {}
        self._frame_start = self.clock()
        if self.first_start is None:
            self.first_start = self._frame_start

    def end_frame(self) -> Dict[str, float]:
        """End the frame begun by :meth:`start_frame`.

        Returns its milliseconds per stage.
        """
        self.last_end = self.clock()
        self._ends.append(self.last_end)
        self.frames += 1
        for name, seconds in self.current.items():
            self.totals[name] = self.totals.get(name, 0.0) + seconds
        return self.frame_ms()

    @contextlib.contextmanager
    def tail(self, name: str) -> Iterator[None]:
        """Count the ``with`` block, after the last frame ended, as stage
        ``name`` of the frames and move the end of the run to its end.

        For work the frames left behind, e.g. the frames still queued in a
        writer thread, waited for when the input ends: without it the wall time
        (:meth:`overall_fps`) would end before they are drawn and written.
        Nothing is counted before a frame has ended.
        """
        start = self.clock()
        try:
            yield
        finally:
            if self.frames:
                self.last_end = self.clock()
                self.totals[name] = (
                    self.totals.get(name, 0.0) + self.last_end - start)

    def frame_ms(self) -> Dict[str, float]:
        """Milliseconds per stage of the current frame so far, in
        :data:`STAGE_ORDER`."""
        return {
            name: self.current[name] * 1e3
            for name in self._ordered(self.current)
        }

    def fps(self) -> Optional[float]:
        """Frames per second over the last ``window`` finished frames (end to
        end: reading, everything timed and what is not); None before a frame
        ends."""
        if len(self._ends) >= 2 and self._ends[-1] > self._ends[0]:
            return (len(self._ends) - 1) / (self._ends[-1] - self._ends[0])
        if self.frames and self.last_end > self.first_start:
            return self.frames / (self.last_end - self.first_start)
        return None

    # ----------------------------------------------------------------- summary
    def wall_seconds(self) -> float:
        """From the start of the first frame to the end of the last."""
        if self.first_start is None or self.last_end is None:
            return 0.0
        return self.last_end - self.first_start

    def mean_ms(self) -> Dict[str, float]:
        """Mean milliseconds per frame of each stage, and ``other``: the rest
        of the wall time (skipped or unreadable inputs, the progress bar,
        anything untimed)."""
        if not self.frames:
            return {}
        means = {
            name: self.totals[name] * 1e3 / self.frames
            for name in self._ordered(self.totals)
        }
        rest = self.wall_seconds() * 1e3 / self.frames - sum(means.values())
        means['other'] = max(rest, 0.0)
        return means

    def overall_fps(self) -> Optional[float]:
        """Frames over the wall time of the run."""
        wall = self.wall_seconds()
        return self.frames / wall if self.frames and wall > 0 else None

    def summary(self) -> str:
        """One line of the mean milliseconds per stage and the FPS.

        ``"timing over N frames (mean ms per frame): detector a, network b,
        ...; F FPS end to end (N frames in S s)"``.
        """
        if not self.frames:
            return 'timing: no frame processed'
        stages = ', '.join(f'{name} {ms:.1f}'
                           for name, ms in self.mean_ms().items())
        fps = self.overall_fps()
        rate = f'{fps:.2f} FPS' if fps is not None else '? FPS'
        frames = f'{self.frames} frame' + ('s' if self.frames != 1 else '')
        return (
            f'timing over {frames} (mean ms per frame): {stages}; {rate} end '
            f'to end ({frames} in {self.wall_seconds():.2f} s)')

    def overlay_lines(self) -> List[str]:
        """Two short lines for the frame: the current FPS, and this frame's ms
        per stage."""
        fps = self.fps()
        stages = ' '.join(f'{SHORT_NAMES.get(name, name)} {ms:.0f}'
                          for name, ms in self.frame_ms().items())
        return [
            f'{fps:.1f} FPS' if fps is not None else '-- FPS', f'{stages} ms'
        ]

    @staticmethod
    def _ordered(stages: Dict[str, float]) -> List[str]:
        known = [name for name in STAGE_ORDER if name in stages]
        return known + [name for name in stages if name not in STAGE_ORDER]
