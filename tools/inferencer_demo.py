# Copyright (c) OpenMMLab. All rights reserved.
"""Pose estimation with this project's models on images, a folder, a video, a
camera or a stream: mmpose's ``demo/inferencer_demo.py`` on
:class:`~custom_modules.apis.inferencers.MultilevelInferencer`, with its
options and output, and more.

Top-down models (HSR-MSNet, MLPE) take person boxes from ``--det-model`` /
``--det-weights`` (the YOLOv3 of ``configs/detectors/``), from ``--bbox-file``
(a COCO annotation or detection file), or the whole image (``--det-model
whole_image``); bottom-up and single-stage ones (MLN, OpenPose, SMPR) need
none. ``INPUT`` is an image, a folder, a video file, a camera index (``0``), a
stream URL (``rtsp://...``) or ``webcam[:N]`` (mmpose's, which opens a window).
``--pose2d`` is a config or a name or alias of ``model-index.yml``
(``--show-alias``).

Output, as mmpose writes it: ``--vis-out-dir`` the drawings (a video's in one
video), ``--pred-out-dir`` the predictions (``<image stem>.json``; one JSON per
video). Added: ``--output-video`` (the drawn frames with the FPS and each
stage's time, at the source's rate or a camera's measured one), ``--track`` (a
``track_id`` per person, one colour per id, ``--smooth``), ``--backend
onnxruntime --onnx FILE``, the fast path (``--fp16`` / ``--bf16``,
``--cuda-graph``), ``--device-preprocess``, ``--pipelined`` and
``--skip-existing``.

Exit status: 0; 1 if an image could not be read, a video gave fewer frames than
it announces or a camera or stream stopped (named on the last line); 2 if
nothing could run (the input, the checkpoint, the backend; one line).

    python tools/inferencer_demo.py tests/data/coco \\
        --pose2d mln --pose2d-weights MLN.pth \\
        --vis-out-dir out/vis --pred-out-dir out/pred
    python tools/inferencer_demo.py 0 \\
        --pose2d configs/smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py \\
        --pose2d-weights SMPR.pth --output-video webcam.mp4 --show --track
"""
import os
import sys
from argparse import ArgumentParser, Namespace
from contextlib import ExitStack, contextmanager
from typing import Iterator, Optional, Sequence


def parse_args(argv: Optional[Sequence[str]] = None) -> Namespace:
    from custom_modules.utils import output_file, output_folder
    from custom_modules.utils.benchmark_timing import (at_least,
                                                       inference_device)

    parser = ArgumentParser(
        description='Pose estimation with MMPoseInferencer and this '
        "project's models")
    parser.add_argument(
        'inputs',
        nargs='?',
        help='an image, a folder, a video, a camera index, a stream URL or '
        'webcam[:N]')
    # mmpose's init arguments
    parser.add_argument(
        '--pose2d', help='a config, or a model name or alias (--show-alias)')
    parser.add_argument(
        '--pose2d-weights', help='the checkpoint (path or URL)')
    parser.add_argument(
        '--det-model',
        help='detector config or mmdet alias (top-down); whole_image: none')
    parser.add_argument('--det-weights', help='detector checkpoint')
    parser.add_argument(
        '--det-cat-ids',
        type=int,
        nargs='+',
        default=0,
        help='person label of the detector')
    parser.add_argument(
        '--scope', default='mmpose', help='scope of the modules')
    parser.add_argument(
        '--device',
        type=inference_device,
        help='e.g. cpu or cuda:0 (default: the best available)')
    parser.add_argument(
        '--show-progress', action='store_true', help='show a progress bar')
    # mmpose's call arguments
    parser.add_argument(
        '--show', action='store_true', help='show each drawn frame')
    parser.add_argument(
        '--draw-bbox', action='store_true', help='draw the person boxes')
    parser.add_argument(
        '--draw-heatmap',
        action='store_true',
        help='draw the predicted maps (PAF models: joint maps and limb fields)'
    )
    parser.add_argument(
        '--bbox-thr',
        type=float,
        default=0.3,
        help='person box score threshold')
    parser.add_argument(
        '--nms-thr', type=float, default=0.3, help='IoU threshold of box NMS')
    parser.add_argument(
        '--pose-based-nms',
        type=lambda arg: arg.lower() in ('true', 'yes', 't', 'y', '1'),
        default=False,
        help='pose-based NMS')
    parser.add_argument(
        '--kpt-thr', type=float, default=0.3, help='keypoint score threshold')
    parser.add_argument(
        '--radius',
        type=at_least(0),
        default=3,
        help='keypoint radius to draw')
    parser.add_argument(
        '--thickness',
        type=at_least(1),
        default=1,
        help='link thickness to draw')
    parser.add_argument(
        '--skeleton-style', default='mmpose', choices=['mmpose', 'openpose'])
    parser.add_argument(
        '--black-background', action='store_true', help='draw on black')
    parser.add_argument(
        '--vis-out-dir',
        type=output_folder,
        default='',
        help='folder of the drawings')
    parser.add_argument(
        '--pred-out-dir',
        type=output_folder,
        default='',
        help='folder of the predictions')
    parser.add_argument(
        '--show-alias', action='store_true', help='list the model aliases')
    # this project's
    parser.add_argument(
        '--bbox-file',
        help='person boxes from a COCO annotation or detection file (top-down)'
    )
    parser.add_argument(
        '--output-video',
        type=output_file,
        help='the drawn frames with the timing overlay in this .mp4')
    parser.add_argument(
        '--output-fps',
        type=float,
        help=("its frame rate (default: the video's own, a camera's measured "
              'one, 30)'))
    parser.add_argument(
        '--no-overlay',
        action='store_true',
        help='no FPS and stage times on the frames')
    parser.add_argument(
        '--track', action='store_true', help='a track_id per person')
    parser.add_argument(
        '--use-oks-tracking',
        action='store_true',
        help='match by keypoint similarity, not IoU')
    parser.add_argument(
        '--tracking-thr', type=float, default=0.3, help='lowest IoU / OKS')
    parser.add_argument(
        '--track-ttl',
        type=at_least(0),
        default=30,
        help='frames a track lives without its person')
    parser.add_argument(
        '--smooth', action='store_true', help='One-Euro smoothing (--track)')
    parser.add_argument('--backend', choices=['pytorch', 'onnxruntime'])
    parser.add_argument(
        '--onnx', help='the network exported to ONNX (--backend onnxruntime)')
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument(
        '--fp16', action='store_true', help='fp16 + channels-last (CUDA)')
    precision.add_argument(
        '--bf16', action='store_true', help='bf16 + channels-last')
    parser.add_argument(
        '--cuda-graph', action='store_true', help='CUDA graph per input shape')
    parser.add_argument(
        '--device-preprocess',
        action='store_true',
        help='prepare bottom-up frames in torch ops on --device')
    parser.add_argument(
        '--pipelined',
        action='store_true',
        help='read ahead, draw and write behind in threads')
    parser.add_argument(
        '--skip-existing',
        action='store_true',
        help='leave out inputs whose prediction is in --pred-out-dir')
    args = parser.parse_args(argv)
    if not args.show_alias and (args.inputs is None or args.pose2d is None):
        parser.error('give INPUT and --pose2d (or --show-alias)')
    if args.backend is None:
        args.backend = 'onnxruntime' if args.onnx else 'pytorch'
    fast = [
        option
        for option, given in (('--fp16', args.fp16), ('--bf16', args.bf16),
                              ('--cuda-graph', args.cuda_graph)) if given
    ]
    if args.backend == 'onnxruntime' and fast:
        # refused before the model is built
        parser.error(f'{" / ".join(fast)}: the PyTorch fast path, not with '
                     'the onnxruntime backend (--onnx)')
    if args.smooth and not args.track:
        parser.error('--smooth smooths tracked people: add --track')
    if args.track and args.skeleton_style == 'openpose':
        parser.error('--skeleton-style openpose is mmpose\'s drawing, which '
                     '--track replaces by one colour per id: give one of them')
    if args.skip_existing and not args.pred_out_dir:
        parser.error('--skip-existing looks in --pred-out-dir: give it')
    if args.bbox_file and (args.det_model or args.det_weights):
        parser.error(
            '--bbox-file and --det-model / --det-weights exclude each other')
    if args.output_fps is not None and args.output_fps <= 0:
        parser.error(f'--output-fps must be positive, got {args.output_fps}')
    return args


def has_display() -> bool:
    """Whether a window can be opened (on Linux: ``DISPLAY`` or
    ``WAYLAND_DISPLAY`` is set)."""
    if not sys.platform.startswith('linux'):
        return True
    return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))


def show_aliases() -> None:
    from custom_modules.apis.inferencers import model_aliases
    aliases = model_aliases()
    width = max(map(len, aliases)) + 2
    print(f'{"ALIAS".ljust(width)}MODEL_NAME')
    for alias in sorted(aliases):
        print(f'{alias.ljust(width)}{aliases[alias]}')


def check_model_files(args: Namespace) -> None:
    """Refuse, before anything loads, a ``--pose2d`` that is neither a config
    file nor a model name or alias, a ``--det-model`` config file or a weights
    file that does not exist, and a weights file that is no PyTorch checkpoint
    (mmengine would raise from deep inside the model's construction).

    Raises:
        InputError: Naming the option and what was given.
    """
    from custom_modules.apis import InputError
    from custom_modules.apis.checkpoint_check import (CheckpointError,
                                                      check_checkpoint_file)
    from custom_modules.apis.demo_io import URL_PATTERN
    from custom_modules.apis.inferencers import is_model_name

    pose2d = args.pose2d
    if not os.path.isfile(pose2d):
        if pose2d.endswith('.py') or os.sep in pose2d:
            raise InputError(f'{pose2d}: --pose2d does not exist')
        if not is_model_name(pose2d):
            raise InputError(
                f'{pose2d}: --pose2d is neither a config file nor a model '
                'name or alias (--show-alias lists them)')
    if (args.det_model and args.det_model.endswith('.py')
            and not os.path.isfile(args.det_model)):
        raise InputError(f'{args.det_model}: --det-model does not exist')
    checkpoints = (('--pose2d-weights', args.pose2d_weights),
                   ('--det-weights', args.det_weights))
    # a URL is fetched when the model is built
    for option, path in checkpoints:
        if path and not URL_PATTERN.match(path):
            if not os.path.isfile(path):
                raise InputError(f'{path}: {option} does not exist')
            try:  # a web page saved under its name: before a model loads
                check_checkpoint_file(path)
            except CheckpointError as error:
                raise InputError(f'{option} {error}') from None


def init_args(args: Namespace) -> dict:
    """The inferencer's arguments: mmpose's, and this project's extensions."""
    from custom_modules.apis import FastPath
    precision = 'fp16' if args.fp16 else 'bf16' if args.bf16 else 'fp32'
    fast_path = FastPath(precision, precision != 'fp32', args.cuda_graph)
    tracking = None
    if args.track:
        tracking = dict(
            metric='oks' if args.use_oks_tracking else 'iou',
            threshold=args.tracking_thr,
            ttl=args.track_ttl,
            smoothing=args.smooth,
            kpt_thr=args.kpt_thr)
    return dict(
        pose2d=args.pose2d,
        pose2d_weights=args.pose2d_weights,
        device=args.device,
        scope=args.scope,
        det_model=args.det_model
        or ('whole_image' if args.bbox_file else None),
        det_weights=args.det_weights,
        det_cat_ids=args.det_cat_ids,
        show_progress=args.show_progress,
        backend=args.backend,
        onnx=args.onnx,
        fast_path=fast_path if fast_path.enabled else None,
        device_preprocess=args.device_preprocess,
        tracking=tracking,
        pipelined=args.pipelined)


def call_args(args: Namespace) -> dict:
    """The inferencer's call options."""
    options = dict(
        show=args.show,
        draw_bbox=args.draw_bbox,
        draw_heatmap=args.draw_heatmap,
        bbox_thr=args.bbox_thr,
        nms_thr=args.nms_thr,
        pose_based_nms=args.pose_based_nms,
        kpt_thr=args.kpt_thr,
        radius=args.radius,
        thickness=args.thickness,
        skeleton_style=args.skeleton_style,
        black_background=args.black_background,
        vis_out_dir=args.vis_out_dir,
        pred_out_dir=args.pred_out_dir,
        output_video=args.output_video,
        output_fps=args.output_fps,
        overlay=not args.no_overlay)
    if args.skip_existing:
        options['skip_existing'] = args.pred_out_dir
    if args.bbox_file:
        from custom_modules.apis import InputError, load_person_boxes
        if not os.path.isfile(args.bbox_file):
            raise InputError(f'{args.bbox_file}: --bbox-file does not exist')
        options['person_boxes'] = load_person_boxes(
            args.bbox_file, score_thr=args.bbox_thr)
    return options


@contextmanager
def config_errors_explained(*models: Optional[str]) -> Iterator[None]:
    """A misspelt key or type of a config file given as a model (``--pose2d``,
    ``--det-model``; not a model alias) named with the file and the key's
    place.

    The files are read again only when such an error comes.
    """
    try:
        yield
    except (KeyError, TypeError) as err:
        from mmengine.config import Config

        from custom_modules.utils import explain_config_errors
        with ExitStack() as stack:
            for model in models:
                if model and model.endswith('.py') and os.path.isfile(model):
                    stack.enter_context(
                        explain_config_errors(model, Config.fromfile(model)))
            raise err


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Returns the exit status (module docstring)."""
    args = parse_args(argv)
    if args.show_alias:
        show_aliases()
        return 0
    from custom_modules.apis import (BackendError, CheckpointError, InputError,
                                     UnsupportedPipelineError, open_source)
    from custom_modules.apis.inferencers import MultilevelInferencer
    from custom_modules.utils import ConfigArgumentError, UnregisteredTypeError

    inputs, source = args.inputs, None
    # what needs the input or the machine, before the minutes a model may take
    try:
        if (args.show or inputs.startswith('webcam')) and not has_display():
            raise InputError(
                f'{"--show" if args.show else inputs}: no display (DISPLAY '
                'and WAYLAND_DISPLAY are not set); write --output-video, or '
                'give the camera index (0) instead of webcam')
        if args.onnx and not os.path.isfile(args.onnx):
            raise InputError(f'{args.onnx}: --onnx does not exist')
        source = open_source(inputs)
        # mmpose's webcam[:N] is always shown in a window
        if inputs.startswith('webcam'):
            args.show = True
        if args.skip_existing and source.kind not in ('image', 'folder'):
            raise InputError(
                f'{source.name}: --skip-existing leaves out images whose JSON '
                f'is there, not frames of a {source.kind} (one JSON per '
                f'{source.kind})')
        options = call_args(args)
        check_model_files(args)
    # InputError, the --bbox-file's errors
    except (ValueError, OSError) as error:
        if source is not None:
            source.close()
        print(f'error: {error}', file=sys.stderr)
        return 2
    try:
        with config_errors_explained(args.pose2d, args.det_model):
            inferencer = MultilevelInferencer(**init_args(args))
    except (CheckpointError, BackendError, UnsupportedPipelineError,
            ConfigArgumentError, UnregisteredTypeError) as error:
        if source is not None:
            source.close()
        option = '--device-preprocess: ' if isinstance(
            error, UnsupportedPipelineError) else ''
        print(f'error: {option}{error}', file=sys.stderr)
        return 2
    # the detector's weights at a URL that cannot be fetched (the pose
    # model's: a CheckpointError)
    except OSError as error:
        if source is not None:
            source.close()
        print(
            f'error: the model could not be loaded: {error}', file=sys.stderr)
        return 2
    data_mode = inferencer.inferencer.cfg.data_mode
    try:
        if args.bbox_file and data_mode != 'topdown':
            raise ValueError(
                f'--bbox-file: person boxes are for top-down models; '
                f'{args.pose2d} is {data_mode} and finds the people itself')
        # what the model cannot do with the options (e.g. SMPR's heatmaps in
        # onnxruntime)
        inferencer.inferencer.check_call_options(**options)
    except ValueError as error:
        if source is not None:
            source.close()
        print(f'error: {error}', file=sys.stderr)
        return 2

    done, stopped = 0, None
    try:
        for _ in inferencer(source if source is not None else inputs,
                            **options):
            done += 1
    except KeyboardInterrupt:
        stopped = f'stopped by the user (Ctrl-C) after {done} frames'
    finally:
        inferencer.finish()
    model = inferencer.inferencer
    print(model.timer.summary())
    if model.sink is not None:
        print(model.sink.summary())
    written = [
        f'{what} in {folder}'
        for what, folder in (('drawings', args.vis_out_dir),
                             ('predictions', args.pred_out_dir)) if folder
    ]
    line = (f'{done} images done' +
            (f': {", ".join(written)}' if written else ''))
    if model.skipped:
        line += (f'; {model.skipped} skipped (their predictions were already '
                 'there)')
    print(line)
    if stopped:
        print(stopped, file=sys.stderr)
    if model.failed:
        print(
            f'error: {len(model.failed)} images could not be read: '
            f'{", ".join(model.failed)}',
            file=sys.stderr)
    if model.lost and not stopped:
        print(f'error: {model.lost}', file=sys.stderr)
    return 1 if model.failed or (model.lost and not stopped) else 0


if __name__ == '__main__':
    sys.exit(main())
