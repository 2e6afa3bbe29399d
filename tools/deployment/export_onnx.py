# Copyright (c) OpenMMLab. All rights reserved.
"""Export a pose model's network to ONNX and check it in onnxruntime on CPU.

    python tools/deployment/export_onnx.py CONFIG [CHECKPOINT] [--out FILE]
    python tools/deployment/export_onnx.py \\
        configs/hsr_msnet/td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py CKPT
    # mmcv's custom operator
    python tools/deployment/export_onnx.py \\
        configs/smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py CKPT --dcn mmcv

What is exported is the network (backbone, neck, head: ``TensorForward``), as
mmdeploy does:

- input ``input`` ``(B, 3, H, W)`` float32, the image already resized as the
  config's test pipeline does and normalised as its ``data_preprocessor`` does
  (``(pixel - mean) / std`` in RGB order where it has ``bgr_to_rgb``, else in
  OpenCV's BGR order as the CMU, tf-pose and SMPR authors' configs; padded
  with 0 to its ``pad_size_divisor``; the tool prints which). The batch is
  dynamic; for bottom-up and single-stage models (MLN, OpenPose,
  SMPR), whose inputs follow each image's aspect ratio, so are ``H`` and ``W``.
- outputs, named by the head's ``output_names()``: ``heatmaps_stage{i}`` and
  ``pafs_stage{i}`` (MLN, OpenPose; grouping uses the last stage);
  ``cls_p{l}``, ``pose_score_p{l}``, ``init_p{l}``, ``refined_p{l}`` per
  pyramid level (SMPR). A head without the method (mmpose's heatmap head of
  HSR-MSNet, MLPEHead) gets ``heatmaps`` for a single output, ``output{i}`` for
  several. Decoding (heatmap argmax, PAF grouping, SMPR's scoring and NMS)
  stays in Python: the codecs and ``SMPRHead.predict``.

SMPR's deformable convolutions: mmcv's ``DeformConv2d`` exports only as the
custom operator ``mmcv::MMCVDeformConv2d``, which stock onnxruntime cannot load
(mmcv 2.x ships no onnxruntime operators; mmdeploy brings its own for its
backends). ``--dcn grid-sample`` (the default) swaps each one for
``GridSampleDeformConv2d``, the same function in standard operators
(``GridSample``, opset >= 16), so the file runs in any ONNX runtime; ``--dcn
mmcv`` keeps the custom operator and skips the onnxruntime check.

Unless ``--no-verify``, the file is run in onnxruntime (CPUExecutionProvider)
on an image with people (``--check-image``; by default one of the bundled
sample's) made into an input of the export's shape and, for dynamic sizes, of
another batch and size (resized, normalised as above, every other copy
flipped), and every output is compared with PyTorch's: the check passes when
the largest absolute difference is within ``--tolerance`` (1e-4) times the
output's largest magnitude (at least 0.01). (A real image, not noise: on
noise a trained model's maps stay near 0, e.g. at most 0.02 for tf-pose's,
where float rounding is 1e-4 of them.) The file is written as
``<out>.part`` and named ``<out>`` once it passes (or is not checked); one that
fails stays ``<out>.part``, and the exit status is 1.
"""
import argparse
import math
import os
import sys
from pathlib import Path
from typing import Optional

from custom_modules.apis.onnx_export import (OPSET, compare, contract_inputs,
                                             export_network)
from custom_modules.utils.benchmark_timing import at_least

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The output magnitude below which --tolerance is absolute (x 0.01).
MIN_SCALE = 0.01
CHECK_IMAGE = REPO_ROOT / 'tests/data/coco/000000196141.jpg'


def finite_tolerance(text: str) -> float:
    """``--tolerance``: a finite number, 0 or more (NaN or infinity would
    pass every output)."""
    value = at_least(0, float)(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f'{text} is not a finite number')
    return value


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config', help='pose config of this project or of mmpose')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint; without one, the exported weights are random')
    parser.add_argument(
        '--out', help='ONNX file (default: work_dirs/onnx/<config name>.onnx)')
    parser.add_argument(
        '--input-size',
        type=at_least(64),
        nargs=2,
        metavar=('HEIGHT', 'WIDTH'),
        help='export input size of a bottom-up or single-stage model, at '
        "least 64 (default: the codec's input_size; a top-down model's file "
        'takes its config\'s)')
    parser.add_argument(
        '--batch-size',
        type=at_least(1),
        default=1,
        help='batch of the traced input')
    parser.add_argument(
        '--opset',
        type=int,
        default=OPSET,
        help=f'ONNX opset (default {OPSET}; GridSample needs >= 16)')
    parser.add_argument(
        '--dcn',
        choices=['grid-sample', 'mmcv'],
        default='grid-sample',
        help="how mmcv's DeformConv2d is exported (SMPR)")
    parser.add_argument(
        '--no-verify', action='store_true', help='skip the onnxruntime check')
    parser.add_argument(
        '--check-image',
        default=str(CHECK_IMAGE),
        help='image the onnxruntime check runs on (default: a bundled sample '
        'image with people)')
    parser.add_argument(
        '--tolerance',
        type=finite_tolerance,
        default=1e-4,
        help='largest |onnxruntime - PyTorch| per output, relative to the '
        "output's largest magnitude (at least 0.01)")
    return parser.parse_args()


def main() -> Optional[int]:
    args = parse_args()
    from custom_modules.apis.checkpoint_check import (CheckpointError,
                                                      init_pose_model)
    from custom_modules.apis.network_patch import config_input_hw
    from custom_modules.apis.onnx_export import is_bottom_up
    from custom_modules.datasets.image_file import (ImageFileError,
                                                    read_image_file)
    image = None
    if not args.no_verify:
        try:
            image = read_image_file(args.check_image)
        except ImageFileError as error:
            print(
                f'export_onnx: --check-image: {error} (or --no-verify)',
                file=sys.stderr)
            return 2
    try:
        # a checkpoint of another model is refused, not half loaded
        estimator = init_pose_model(args.config, args.checkpoint)
    except CheckpointError as error:
        print(f'export_onnx: {error}', file=sys.stderr)
        return 2
    config_hw = config_input_hw(estimator)
    if (args.input_size and not is_bottom_up(estimator)
            and tuple(args.input_size) != config_hw):
        print(
            f'export_onnx: --input-size {args.input_size[0]} '
            f'{args.input_size[1]}: a top-down model takes its config\'s '
            f'{config_hw[0]}x{config_hw[1]} (H x W, codec.input_size), which '
            'the onnxruntime backend checks; leave the option out',
            file=sys.stderr)
        return 2
    if args.checkpoint is None:
        print(
            'export_onnx: no checkpoint given: the exported weights are '
            'random',
            file=sys.stderr)
    if args.dcn == 'grid-sample' and args.opset < 16 and any(
            type(m).__name__ == 'DeformConv2d' for m in estimator.modules()):
        print(
            f'export_onnx: --opset {args.opset}: the deformable convolutions '
            'exported as GridSample need opset 16 or above (or --dcn mmcv)',
            file=sys.stderr)
        return 2
    height, width = args.input_size or config_hw
    input_shape = (args.batch_size, 3, height, width)
    out = Path(
        args.out
        or REPO_ROOT / 'work_dirs/onnx' / f'{Path(args.config).stem}.onnx')
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + '.part')
    model, names, dynamic_size, num_dcn = export_network(
        estimator, part, input_shape, args.dcn, args.opset)

    print(
        f'export_onnx: wrote {part} (opset {args.opset}; input "input" '
        f'{list(input_shape)}, '
        f'dynamic: batch{", height, width" if dynamic_size else ""}; outputs '
        f'{", ".join(names)})')
    print(
        f'export_onnx: {input_contract(estimator.cfg.model.data_preprocessor)}'
    )
    if num_dcn:
        print(
            f'export_onnx: {num_dcn} mmcv DeformConv2d exported as GridSample '
            '(--dcn grid-sample)')
    if args.no_verify:
        return finish(part, out, 'not checked (--no-verify)')
    if any(type(m).__module__.startswith('mmcv.ops') for m in model.modules()):
        return finish(
            part, out, 'not checked in onnxruntime: the file holds mmcv '
            'custom operators, which stock onnxruntime cannot run (use --dcn '
            'grid-sample)')

    # another batch and, for dynamic sizes, another size (a multiple of 32, as
    # the pipelines pad)
    other_shape = (args.batch_size + 1, 3) + (
        (height + 32, width - 32) if dynamic_size else (height, width))
    preprocessor = estimator.cfg.model.data_preprocessor
    inputs = [
        contract_inputs(image, preprocessor, shape)
        for shape in (input_shape, other_shape)
    ]
    import onnxruntime

    session = onnxruntime.InferenceSession(
        str(part), providers=['CPUExecutionProvider'])
    failed = False
    for x in inputs:
        rows = compare(model, names, session, x)
        bad = [
            name for name, _, magnitude, diff in rows
            if diff > args.tolerance * max(MIN_SCALE, magnitude)
        ]
        name, shape, magnitude, diff = max(
            rows, key=lambda row: row[3] / max(MIN_SCALE, row[2]))
        print(f'export_onnx: input {list(x.shape)}: {len(rows) - len(bad)} of '
              f'{len(rows)} outputs match PyTorch; worst {name} '
              f'{list(shape)}: max |onnxruntime - PyTorch| = {diff:.2e}, '
              'largest |value| '
              f'{magnitude:.3g}{"; FAILED: " + ", ".join(bad) if bad else ""}')
        failed |= bool(bad)
    if failed:
        print(
            f'export_onnx: {part} left for inspection, not named {out}',
            file=sys.stderr)
        return 1
    return finish(part, out, 'checked in onnxruntime')


def input_contract(preprocessor: dict) -> str:
    """What the exported input must be: channel order, normalisation and
    padding of the config's ``data_preprocessor``."""
    order = ('RGB (convert from OpenCV\'s BGR)' if preprocessor.get(
        'bgr_to_rgb', False) else 'BGR (OpenCV\'s order, as read)')
    line = (f'the input is {order}, (pixel - mean) / std with mean '
            f'{list(preprocessor.get("mean", [0, 0, 0]))} and std '
            f'{list(preprocessor.get("std", [1, 1, 1]))}')
    divisor = preprocessor.get('pad_size_divisor', 1)
    if divisor > 1:
        line += (f', padded with {preprocessor.get("pad_value", 0)} after '
                 f'normalising to a multiple of {divisor} (bottom and right)')
    return line


def finish(part: Path, out: Path, how: str) -> None:
    """Name the written ``part`` ``out`` and say so."""
    os.replace(part, out)
    print(f'export_onnx: {out} ({how})')


if __name__ == '__main__':
    sys.exit(main())
