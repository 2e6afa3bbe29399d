"""The front end both demos share (``tools/bottomup_demo.py``, ``tools/topdown_demo.py``): their
input and output arguments, and the loop that runs a model over the frames of an image, a
folder, a video file, a camera or a stream.

Per frame the loop reads the input, asks the demo's ``predict`` for the people, gives them
track ids (``--track``), draws them, writes the frame's JSON (and JPG), adds a line of FPS and
per-stage times to the frame and writes it into ``--output-video`` / shows it (``--show``).
A camera or stream runs until it ends or the user stops it (Ctrl-C, or ``q`` / Esc in the
window); the video and the summaries are written either way. At the end: the mean time of
each stage (:class:`~.stage_timer.StageTimer`) and the FPS, the video written, and the counts.

Choices:

* Per-frame files (``--per-frame``): by default a JPG and a JSON per input for images, folders
  and video files (as before), the JSON only for a camera or stream (a JPG per webcam frame
  is rarely wanted and costs disk and time; ``--per-frame all`` writes them). ``none`` writes
  nothing per frame (only the video and the summaries).
* The video's frame rate: ``--output-fps`` if given; else a video file's own (30 if it does not
  say; 30 for images and folders); for a camera or stream, the rate measured over its first
  frames (:data:`MEASURE_FRAMES`), so that the video plays at the speed things happened even
  when the model is slower than the camera. The size is the first frame's, cut to even
  numbers (what mp4v stores); later frames of another size are resized to it.
"""
import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

import cv2
import numpy as np
from tqdm import tqdm

from .backends import apply_backend
from .demo_io import (InputError, RunCounts, Source, open_source, peak_rss_mib, write_image,
                      write_people)
from .fast_network import FastPath
from .frame_pipeline import OrderedWriter, ReadAhead, read_frames, run_now
from .pose_drawing import draw_text_overlay, draw_tracked_people
from .pose_tracker import PoseTracker
from .stage_timer import StageTimer
from .video_sink import DEFAULT_FPS, VideoSink, video_fps

# ``predict(name, image) -> people``: one model's people on one (H, W, 3) BGR image, each a dict
# with ``keypoints`` (K x [x, y]) and ``keypoint_scores`` (K), optionally ``bbox``.
Predict = Callable[[str, np.ndarray], List[dict]]
# ``draw(name, image, people) -> drawn``: the people drawn on a copy of the BGR image.
Draw = Callable[[str, np.ndarray, List[dict]], np.ndarray]

WINDOW_NAME = 'mmpose-multilevel'
STOP_KEYS = (ord('q'), ord('Q'), 27)  # q, Esc


# ------------------------------------------------------------------------------------ arguments
def add_demo_arguments(parser: argparse.ArgumentParser, output_dir: str) -> None:
    """The input, output, tracking and backend arguments of the demos."""
    parser.add_argument(
        '--input',
        required=True,
        help='an image, a folder of images, a video file, a camera index (e.g. 0) or a stream '
        'URL (rtsp://, http://, ...)')
    parser.add_argument('--output-dir', default=output_dir, help='where per-frame results go')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    parser.add_argument(
        '--skip-existing',
        action='store_true',
        help='leave out the inputs whose JSON is already in --output-dir')
    parser.add_argument(
        '--per-frame',
        default='auto',
        choices=['auto', 'all', 'json', 'none'],
        help='files per input in --output-dir: drawing and JSON (all), the JSON only, or none; '
        'auto: all for images, folders and video files, json for a camera or stream')
    parser.add_argument(
        '--no-draw', action='store_true', help='write the JSONs only (--per-frame json)')
    parser.add_argument(
        '--log-interval',
        type=int,
        default=100,
        help='print the peak memory (RSS) every this many inputs (0: never)')
    parser.add_argument(
        '--output-video', help='write the drawn frames into this video (.mp4, codec mp4v)')
    parser.add_argument(
        '--output-fps',
        type=float,
        help='frame rate of --output-video (default: the video\'s own; a camera\'s or '
        'stream\'s measured rate; 30 for images)')
    parser.add_argument(
        '--show', action='store_true', help='show each drawn frame (q or Esc stops)')
    parser.add_argument(
        '--no-overlay',
        action='store_true',
        help='no FPS and stage times on the frames of --output-video / --show')
    parser.add_argument(
        '--pipelined',
        action='store_true',
        help='read the next frames and write the last ones in threads while the model runs '
        '(same frames, same order, same files)')
    parser.add_argument(
        '--track', action='store_true', help='track people: track_id per person, one colour per id')
    parser.add_argument(
        '--track-metric',
        default='oks',
        choices=['oks', 'iou'],
        help='match people to tracks by keypoint similarity or box IoU')
    parser.add_argument('--track-thr', type=float, default=0.3, help='lowest OKS / IoU of a match')
    parser.add_argument(
        '--track-ttl', type=int, default=30, help='frames a track survives without its person')
    parser.add_argument(
        '--smooth', action='store_true', help='One-Euro smoothing of tracked keypoints (--track)')
    parser.add_argument(
        '--backend',
        choices=['pytorch', 'onnxruntime'],
        help='where the network runs (default: pytorch; onnxruntime with --onnx)')
    parser.add_argument('--onnx', help='the network exported to ONNX, for --backend onnxruntime')
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument(
        '--fp16',
        action='store_true',
        help='fast path: the network in fp16 with channels-last memory (CUDA only)')
    precision.add_argument(
        '--bf16',
        action='store_true',
        help='fast path: the network in bf16 with channels-last memory')
    parser.add_argument(
        '--cuda-graph',
        action='store_true',
        help='fast path: the network captured once per input shape in a CUDA graph (CUDA only)')


def check_demo_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse contradicting options with ``parser.error``; resolve ``--backend``."""
    if args.no_draw and args.per_frame == 'all':
        parser.error('--no-draw and --per-frame all exclude each other')
    if args.skip_existing and (args.output_video or args.show or args.track):
        parser.error('--skip-existing leaves frames out: not with --output-video, --show or '
                     '--track')
    if args.smooth and not args.track:
        parser.error('--smooth smooths tracked people: add --track')
    if args.output_fps is not None and args.output_fps <= 0:
        parser.error(f'--output-fps must be positive, got {args.output_fps}')
    if args.backend is None:
        args.backend = 'onnxruntime' if args.onnx else 'pytorch'
    if args.backend == 'onnxruntime' and not args.onnx:
        parser.error('--backend onnxruntime needs --onnx FILE')
    if args.backend == 'pytorch' and args.onnx:
        parser.error('--onnx is for --backend onnxruntime')
    if args.backend == 'onnxruntime' and (args.fp16 or args.bf16 or args.cuda_graph):
        parser.error('--fp16, --bf16 and --cuda-graph are the PyTorch fast path: not with '
                     '--backend onnxruntime')


def demo_fast_path(args: argparse.Namespace) -> FastPath:
    """The :class:`~.fast_network.FastPath` of ``--fp16`` / ``--bf16`` / ``--cuda-graph``
    (reduced precision comes with channels-last memory)."""
    precision = 'fp16' if args.fp16 else 'bf16' if args.bf16 else 'fp32'
    return FastPath(
        precision=precision, channels_last=precision != 'fp32', cuda_graph=args.cuda_graph)


def has_display() -> bool:
    """Whether a window can be opened (on Linux: ``DISPLAY`` or ``WAYLAND_DISPLAY`` is set; OpenCV's
    Qt back end aborts the process without one)."""
    if not sys.platform.startswith('linux'):
        return True
    return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))


def open_demo_source(args: argparse.Namespace) -> Source:
    """Open ``--input`` (:func:`~.demo_io.open_source`) and check what needs the source or the
    machine, before the model loads.

    Raises:
        InputError: The input cannot be opened; ``--skip-existing`` with a camera or stream;
            ``--show`` without a display; ``--onnx`` that does not exist.
    """
    if args.show and not has_display():
        raise InputError('--show: no display (DISPLAY and WAYLAND_DISPLAY are not set); write '
                         '--output-video instead')
    if getattr(args, 'onnx', None) and not Path(args.onnx).is_file():
        raise InputError(f'{args.onnx}: --onnx does not exist')
    source = open_source(args.input)
    if args.skip_existing and source.live:
        source.close()
        raise InputError(f'{source.name}: --skip-existing does not apply to a {source.kind}')
    return source


def use_backend(model: object, args: argparse.Namespace) -> None:
    """:func:`~.backends.apply_backend` with ``--backend``, ``--onnx`` and the fast path of
    ``--fp16`` / ``--bf16`` / ``--cuda-graph``.

    Raises:
        BackendError: See :func:`~.backends.apply_backend`.
    """
    fast_path = demo_fast_path(args) if args.backend == 'pytorch' else None
    apply_backend(model, args.backend, args.onnx, fast_path)


def make_tracker(args: argparse.Namespace, dataset_meta: dict,
                 fps: Optional[float]) -> Optional[PoseTracker]:
    """The :class:`~.pose_tracker.PoseTracker` of ``--track`` (None without), with the dataset's
    OKS ``sigmas``; ``fps`` (the source's, else 30) paces the One-Euro filter."""
    if not args.track:
        return None
    sigmas = dataset_meta.get('sigmas') if args.track_metric == 'oks' else None
    return PoseTracker(
        metric=args.track_metric,
        threshold=args.track_thr,
        ttl=args.track_ttl,
        sigmas=sigmas,
        smoothing=args.smooth,
        fps=fps or DEFAULT_FPS)


def tracked_drawer(dataset_meta: dict, kpt_thr: float, draw_bbox: bool) -> Draw:
    """``draw`` for tracked people: :func:`~.pose_drawing.draw_tracked_people` with the
    dataset's skeleton."""
    links = [tuple(link) for link in dataset_meta.get('skeleton_links', [])]
    return lambda name, image, people: draw_tracked_people(image, people, links, kpt_thr, draw_bbox)


def mmpose_drawer(visualizer: object,
                  kpt_thr: float,
                  skeleton_style: str = 'mmpose',
                  draw_bbox: bool = False) -> Draw:
    """``draw`` with mmpose's ``PoseLocalVisualizer`` (colours by body part, the dataset's),
    from the people's ``keypoints``, ``keypoint_scores`` and, with ``draw_bbox``, ``bbox``."""
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample

    def draw(name: str, image: np.ndarray, people: List[dict]) -> np.ndarray:
        if not people:
            return image.copy()
        scores = np.array([p['keypoint_scores'] for p in people], dtype=np.float32)
        instances = InstanceData(
            keypoints=np.array([p['keypoints'] for p in people], dtype=np.float32),
            keypoint_scores=scores,
            keypoints_visible=scores)
        if draw_bbox:
            instances.bboxes = np.array([p['bbox'][:4] for p in people], dtype=np.float32)
        sample = PoseDataSample(pred_instances=instances)
        drawn = visualizer.add_datasample(
            name,
            image[..., ::-1],
            data_sample=sample,
            draw_gt=False,
            draw_bbox=draw_bbox,
            kpt_thr=kpt_thr,
            skeleton_style=skeleton_style,
            show=False)
        return drawn[..., ::-1]

    return draw


def make_drawer(args: argparse.Namespace, model: object, draw_bbox: bool) -> Draw:
    """The demos' ``draw``: one colour per identity with ``--track`` (:func:`tracked_drawer`),
    else mmpose's visualizer of the model's config (:func:`mmpose_drawer`) in
    ``--skeleton-style`` where the demo has that option."""
    if args.track:
        return tracked_drawer(model.dataset_meta, args.kpt_thr, draw_bbox)
    from mmpose.registry import VISUALIZERS

    style = getattr(args, 'skeleton_style', 'mmpose')
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.set_dataset_meta(model.dataset_meta, skeleton_style=style)
    return mmpose_drawer(visualizer, args.kpt_thr, style, draw_bbox)


# ---------------------------------------------------------------------------------- options
@dataclass
class DemoOptions:
    """What :func:`run_demo` writes and shows; see :func:`add_demo_arguments`."""
    out_dir: Path
    per_frame: str = 'auto'
    output_video: Optional[Path] = None
    output_fps: Optional[float] = None
    show: bool = False
    overlay: bool = True
    skip_existing: bool = False
    log_interval: int = 100
    kpt_thr: float = 0.3  # a keypoint scoring less does not count for tracking
    pipelined: bool = False  # read ahead and write behind in threads (frame_pipeline)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> 'DemoOptions':
        per_frame = args.per_frame
        if args.no_draw and per_frame == 'auto':
            per_frame = 'json'
        return cls(
            out_dir=Path(args.output_dir),
            per_frame=per_frame,
            output_video=Path(args.output_video) if args.output_video else None,
            output_fps=args.output_fps,
            show=args.show,
            overlay=not args.no_overlay,
            skip_existing=args.skip_existing,
            log_interval=args.log_interval,
            kpt_thr=args.kpt_thr,
            pipelined=args.pipelined)

    def files_per_frame(self, source: Source) -> str:
        """``'all'``, ``'json'`` or ``'none'`` (``auto``: ``json`` for a camera or stream)."""
        if self.per_frame == 'auto':
            return 'json' if source.live else 'all'
        return self.per_frame


# --------------------------------------------------------------------------------- tracking
def track_people(tracker: PoseTracker,
                 people: List[dict],
                 score_thr: float = 0.3,
                 timestamp: Optional[float] = None) -> List[dict]:
    """``people`` with a ``track_id`` each (first key), from ``tracker``; with its smoothing,
    their ``keypoints`` smoothed (at ``timestamp``, seconds: see :meth:`PoseTracker.update`).
    Boxes: the people's ``bbox`` if they all have one (the detector's), else those of their
    visible keypoints."""
    if not people:
        tracker.update(
            np.zeros((0, 1, 2)), np.zeros((0, 1)), boxes=np.zeros((0, 4)), timestamp=timestamp)
        return []
    keypoints = np.array([p['keypoints'] for p in people], dtype=np.float32)
    scores = np.array([p['keypoint_scores'] for p in people], dtype=np.float32)
    boxes = None
    if all('bbox' in p for p in people):
        boxes = np.array([p['bbox'][:4] for p in people], dtype=np.float32)
    ids, smoothed = tracker.update(
        keypoints, scores, boxes, score_thr=score_thr, timestamp=timestamp)
    tracked = []
    for person, track_id, points in zip(people, ids, smoothed):
        person = dict(track_id=int(track_id), **person)
        if tracker.smoothing:
            person['keypoints'] = points.tolist()
        tracked.append(person)
    return tracked


# ------------------------------------------------------------------------------------- loop
def show_frame(image: np.ndarray) -> Optional[str]:
    """Show ``image``; the reason to stop if the user pressed q / Esc or closed the window."""
    cv2.imshow(WINDOW_NAME, image)
    key = cv2.waitKey(1)
    if key >= 0 and (key & 0xFF) in STOP_KEYS:
        return 'stopped by the user (key pressed in the window)'
    try:
        if cv2.getWindowProperty(WINDOW_NAME, cv2.WND_PROP_VISIBLE) < 1:
            return 'stopped by the user (window closed)'
    except cv2.error:
        pass
    return None


def run_demo(source: Source,
             predict: Predict,
             options: DemoOptions,
             draw: Optional[Draw] = None,
             timer: Optional[StageTimer] = None,
             tracker: Optional[PoseTracker] = None) -> int:
    """Run ``predict`` over every frame of ``source`` and write, show and summarise as
    ``options`` say (module doc).

    ``predict`` times its own stages with ``timer`` (``detector``, ``preprocess``, and the
    model's ``network`` / ``decoding`` when ``timer.instrument(model)`` was called); this loop
    times ``reading``, ``tracking``, ``drawing``, ``writing`` and ``display``.

    Prints a progress bar (stderr); a line per input written (stdout) or unreadable (stderr);
    every ``log_interval`` inputs the counts and the peak RSS (stdout); at the end the timing
    summary, the video written, and the counts (stdout, or stderr when an input failed; the
    last line).

    Returns:
        int: The exit status: 1 if any input could not be read, a video gave fewer frames than
        it announces or a camera or stream stopped giving frames (named on stderr, the last
        line), else 0 (also when the user stopped a camera or stream).
    """
    timer = timer or StageTimer()
    per_frame = options.files_per_frame(source)
    wants_drawing = per_frame == 'all' or options.output_video is not None or options.show
    if wants_drawing and draw is None:
        raise ValueError('run_demo: drawing needed (per-frame JPGs, --output-video or --show) '
                         'but no draw function given')
    out_dir = options.out_dir
    if per_frame != 'none':
        out_dir.mkdir(parents=True, exist_ok=True)
    sink = None
    if options.output_video is not None:
        fps, how = video_fps(options.output_fps, source)
        sink = VideoSink(options.output_video, fps, how, clock=timer.clock)

    counts, stop, read = RunCounts(), None, 0
    unit = 'image' if source.kind in ('image', 'folder') else 'frame'
    progress = tqdm(total=source.count, unit=unit, file=sys.stderr, dynamic_ncols=True)

    def skip(name: str) -> bool:
        return options.skip_existing and (out_dir / f'{Path(name).stem}.json').exists()

    items = read_frames(iter(source.frames), skip, timer.clock)
    if options.pipelined:
        items, writer = ReadAhead(items), OrderedWriter()
        write = writer.submit
    else:
        writer, write = None, run_now

    def advance() -> None:
        progress.update()
        if options.log_interval and progress.n % options.log_interval == 0:
            progress.write(
                f'[{progress.n}/{source.count or "?"}] {counts.written} written, '
                f'{counts.skipped} skipped, {len(counts.failed)} failed, '
                f'peak RSS {peak_rss_mib():.0f} MiB',
                file=sys.stdout)

    try:
        while stop is None:
            timer.start_frame()
            with timer.stage('reading'):  # with --pipelined: the wait for the reader
                item = next(items, None)
            if item is None:
                break
            read += 1
            name, image = item.name, item.image
            if item.kind != 'image':
                if item.kind == 'skipped':
                    counts.skipped += 1
                else:
                    tqdm.write(str(item.error), file=sys.stderr)
                    counts.failed.append(name)
                advance()
                continue
            stem = Path(name).stem
            json_path = out_dir / f'{stem}.json'

            people = predict(name, image)
            if tracker is not None:
                with timer.stage('tracking'):
                    people = track_people(tracker, people, options.kpt_thr,
                                          source.frame_time(read, item.read_at))
            drawn = None
            if wants_drawing:
                with timer.stage('drawing'):
                    drawn = np.ascontiguousarray(draw(name, image, people))
            written = None
            with timer.stage('writing'):  # with --pipelined: handing the jobs to the writer
                if per_frame == 'all':
                    written = out_dir / f'{stem}.jpg'
                    # a copy: the overlay below is drawn into ``drawn`` for the video
                    write(write_image, written, drawn.copy() if writer else drawn)
                if per_frame != 'none':
                    write(write_people, json_path, name, image, people)
                    written = written or json_path
            if sink is not None or options.show:
                if options.overlay:
                    draw_text_overlay(drawn, timer.overlay_lines())
                if sink is not None:
                    with timer.stage('writing'):
                        write(sink.write, drawn)
                if options.show:
                    with timer.stage('display'):
                        stop = show_frame(drawn)
            timer.end_frame()
            counts.written += 1
            tqdm.write(
                f'{name}: {len(people)} people' + (f' -> {written}' if written else ''),
                file=sys.stdout)
            advance()
    except KeyboardInterrupt:
        stop = 'stopped by the user (Ctrl-C)'
    finally:
        progress.close()
        if writer is not None:
            items.close()
        source.close()
        try:
            if writer is not None:
                writer.close()  # every job done (or its error raised) before the video ends
        finally:
            if sink is not None:
                sink.close()
            if options.show:
                cv2.destroyAllWindows()

    lost = None
    if stop is not None:
        print(f'{stop} after {counts.written} frames', file=sys.stderr)
    else:
        lost = source.shortfall(read)
    print(timer.summary(), file=sys.stdout)
    if sink is not None:
        print(sink.summary(), file=sys.stdout)
    if per_frame == 'none':
        line = f'{counts.written} {unit}s processed (no files per {unit})'
        if counts.failed:
            line += f'; {len(counts.failed)} failed: {", ".join(counts.failed)}'
    else:
        line = counts.summary(out_dir)
    print(line, file=sys.stderr if counts.failed else sys.stdout)
    if lost is not None:
        print(f'error: {lost}', file=sys.stderr)
    return 1 if counts.failed or lost is not None else 0
