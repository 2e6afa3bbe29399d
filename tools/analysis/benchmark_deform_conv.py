# Copyright (c) OpenMMLab. All rights reserved.
"""Time of SMPR's deformable convolutions: mmcv's kernel against the same
function by bilinear sampling (``grid_sample_deform_conv2d``), the two ways
``SMPRHead(deform_conv=...)`` computes them, and an SMPR network and a training
iteration each way.

    python tools/analysis/benchmark_deform_conv.py
    python tools/analysis/benchmark_deform_conv.py --device cuda --repeats 50
    python tools/analysis/benchmark_deform_conv.py --network-repeats 0 \\
        --train-iters 0

Convolutions: SMPR's (3x3, padding 1, 4 offset groups, as many channels out as
in) on the pyramid levels of the R50-FPN config at 800x800 (256 channels, batch
1: P3 100x100 to P5 25x25) and of the sample config at 256x192 (32 channels,
batch 4, P3 32x24), random inputs and offsets of about 2 pixels (taps between
and outside pixels). ``forward`` runs under ``torch.no_grad()`` (inference),
``forward + backward`` back-propagates to the input, the offsets and the
weight (training). "max diff" is the largest difference of the two forward
outputs over the largest output (without TF32 on a GPU).

Inference: ``--network-config``'s network (the R50-FPN config by default;
backbone, neck and head, random weights) on a ``--network-size`` square image,
batch 1, ``--network-repeats`` passes each way.

Training: ``--train-iters`` iterations of ``--config``'s model (its own
optimizer, data pipeline and batch, the bundled sample's images by default)
with ``model.head.deform_conv`` set to ``'mmcv'`` and to ``'grid_sample'``, the
same initial weights; data loading is left out (the batches are loaded
before anything is timed; a loader that gives no batch, e.g. fewer samples than
its batch size with ``drop_last``, is an error).

Times are medians after ``--warmup`` calls, the two ways taking turns; on a GPU
each call ends with ``torch.cuda.synchronize()``. The speed-up divides mmcv's
time by the sampling's. Prints markdown tables; ``--out`` also writes them to a
file.
"""
import argparse
import contextlib
import copy
import itertools
import logging
import sys
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import torch
from mmcv.ops import DeformConv2d

from custom_modules.ops import GridSampleDeformConv2d
from custom_modules.utils.benchmark_timing import (at_least, emit_report,
                                                   interleaved_medians_ms,
                                                   markdown_table,
                                                   synchronized, torch_device)

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = REPO_ROOT / (
    'configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py')
NETWORK_CONFIG = REPO_ROOT / (
    'configs/smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py')
# (what, batch, channels, height, width)
SHAPES = [
    ('R50-FPN 800x800, P3', 1, 256, 100, 100),
    ('R50-FPN 800x800, P4', 1, 256, 50, 50),
    ('R50-FPN 800x800, P5', 1, 256, 25, 25),
    ('sample 256x192, P3', 4, 32, 32, 24),
]
DEFORM_GROUPS = 4


def convolution_rows(args: argparse.Namespace) -> List[List[str]]:
    """One row per shape of ``SHAPES`` (module doc)."""
    rows = []
    for what, batch, channels, height, width in SHAPES:
        torch.manual_seed(0)
        dcn = DeformConv2d(
            channels, channels, 3, padding=1,
            deform_groups=DEFORM_GROUPS).to(args.device)
        x = torch.randn(batch, channels, height, width, device=args.device)
        offset = torch.randn(
            batch, DEFORM_GROUPS * 18, height, width, device=args.device) * 2

        # mmcv's kernel, and the sampling with the same weights
        by_mmcv, by_sampling = dcn, GridSampleDeformConv2d(dcn)

        def forward(conv: Callable) -> Callable:

            def run():
                with torch.no_grad():
                    return conv(x, offset)

            return run

        def training(conv: Callable) -> Callable:

            def run():
                inputs = [t.detach().requires_grad_() for t in (x, offset)]
                conv(*inputs).square().mean().backward()
                dcn.weight.grad = None

            return run

        convs = (by_mmcv, by_sampling)
        times = [
            interleaved_medians_ms(
                [synchronized(make(conv), args.device)
                 for conv in convs], args.warmup, args.repeats)
            for make in (forward, training)
        ]
        with exact_float32():
            ours, theirs = forward(by_sampling)(), forward(by_mmcv)()
        diff = ((ours - theirs).abs().max() / theirs.abs().max()).item()
        rows.append([
            what, f'{batch}x{channels}x{height}x{width}',
            *(f'{t[0]:.1f} / {t[1]:.1f} ({t[0] / t[1]:.1f}x)' for t in times),
            f'{diff:.1e}'
        ])
    return rows


@contextlib.contextmanager
def exact_float32():
    """Float32 products without TF32 (cuDNN's convolutions use it by default on
    Ampere and later GPUs, mmcv's kernel's cuBLAS products do not), so that the
    two ways are compared, not two precisions."""
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(
                enabled=torch.backends.cudnn.enabled,
                benchmark=torch.backends.cudnn.benchmark,
                deterministic=torch.backends.cudnn.deterministic,
                allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul


def each_way(make: Callable[[str], Callable], args: argparse.Namespace,
             repeats: int) -> List[str]:
    """Table cells of ``make(deform_conv)()``'s median milliseconds with
    ``'mmcv'`` and with ``'grid_sample'`` (taking turns), and the speed-up."""
    times = interleaved_medians_ms([
        synchronized(make(setting), args.device)
        for setting in ('mmcv', 'grid_sample')
    ], args.warmup, repeats)
    return [
        f'{times[0]:.0f}', f'{times[1]:.0f}', f'{times[0] / times[1]:.1f}x'
    ]


def network_row(args: argparse.Namespace) -> List[str]:
    """Milliseconds of ``--network-config``'s network (backbone, neck, head;
    batch 1, ``--network-size`` square, ``torch.no_grad()``) each way."""
    from mmpose.apis import init_model

    torch.manual_seed(0)
    model = init_model(args.network_config, None, device=args.device)
    inputs = torch.randn(
        1, 3, args.network_size, args.network_size, device=args.device)

    def network(deform_conv: str) -> Callable:
        copy_ = copy.deepcopy(model)
        copy_.head.deform_conv = deform_conv

        def run():
            with torch.no_grad():
                return copy_.head.forward(copy_.extract_feat(inputs))

        return run

    return [
        Path(args.network_config).stem,
        f'1x3x{args.network_size}x{args.network_size}',
        *each_way(network, args, args.network_repeats)
    ]


def training_batches(args: argparse.Namespace) -> Tuple[object, list]:
    """``--config`` (as read) and ``--warmup`` + ``--train-iters`` batches of
    its training loader, over as many passes as it takes.

    Raises:
        ValueError: If a whole pass over the loader gives no batch (fewer
            samples than the batch size with ``drop_last``, or none), naming
            the config, its batch size and ``drop_last``.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    loader = Runner.build_dataloader(cfg.train_dataloader)
    batches: list = []
    while len(batches) < args.train_iters + args.warmup:
        before = len(batches)
        batches += itertools.islice(loader,
                                    args.train_iters + args.warmup - before)
        if len(batches) == before:
            raise ValueError(
                f'{args.config}: its training loader gives no batch '
                f'({len(loader.dataset)} samples, train_dataloader.batch_size '
                f'{cfg.train_dataloader.batch_size}, '
                f'drop_last={cfg.train_dataloader.get("drop_last", False)}); '
                'no training iteration to time')
    return cfg, batches


def training_row(args: argparse.Namespace, cfg, batches: list) -> List[str]:
    """Milliseconds of a training iteration of ``--config`` (``cfg``) each way,
    on ``batches`` in turn."""
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmpose.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(args.device)
    logger = MMLogger.get_current_instance()
    level = logger.level
    # not the parameter-by-parameter report of init_weights
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    model.train()

    def trainer(deform_conv: str) -> Callable:
        copy_ = copy.deepcopy(model)
        copy_.head.deform_conv = deform_conv
        optim_wrapper = build_optim_wrapper(copy_,
                                            copy.deepcopy(cfg.optim_wrapper))
        turns = itertools.cycle(batches)

        def run():
            batch = next(turns)
            with optim_wrapper.optim_context(copy_):
                data = copy_.data_preprocessor(batch, True)
                losses = copy_(**data, mode='loss')
            loss, _ = copy_.parse_losses(losses)
            optim_wrapper.update_params(loss)

        return run

    return [Path(args.config).stem, *each_way(trainer, args, args.train_iters)]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device',
        type=torch_device,
        default='cpu',
        help="'cpu' or a CUDA device ('cuda:0'; mmcv built with CUDA)")
    parser.add_argument('--warmup', type=at_least(0), default=1)
    parser.add_argument('--repeats', type=at_least(1), default=5)
    parser.add_argument(
        '--config',
        default=str(SAMPLE_CONFIG),
        help='an SMPR config whose training iteration is timed')
    parser.add_argument(
        '--train-iters',
        type=at_least(0),
        default=10,
        help='timed training iterations each way (0: none)')
    parser.add_argument(
        '--network-config',
        default=str(NETWORK_CONFIG),
        help='an SMPR config whose network is timed')
    parser.add_argument(
        '--network-size',
        type=at_least(32),
        default=800,
        help='height and width of the network\'s input')
    parser.add_argument(
        '--network-repeats',
        type=at_least(0),
        default=3,
        help='timed network passes each way (0: none)')
    parser.add_argument('--out', help='also write the markdown tables here')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    import custom_modules  # noqa: F401  (registers the project's modules)

    # the training batches first: a loader that gives none stops the run
    # before anything is timed
    try:
        training = training_batches(args) if args.train_iters else None
    except ValueError as error:
        sys.exit(f'benchmark_deform_conv: error: {error}')

    setup = (f'{args.device}, torch {torch.__version__}, '
             f'{torch.get_num_threads()} threads')
    header = [
        'convolution', 'input (NxCxHxW)', 'forward, mmcv / sampling (ms)',
        'forward + backward, mmcv / sampling (ms)', 'max diff'
    ]
    report = (f"SMPR's deformable convolution on {setup}, median of "
              f'{args.repeats} calls after {args.warmup}\n\n'
              f'{markdown_table(header, convolution_rows(args))}')
    if args.network_repeats:
        header = [
            'config', 'input', 'network, mmcv (ms)', 'network, sampling (ms)',
            'speed-up'
        ]
        report += (f'\n\nInference on {setup}, median of '
                   f'{args.network_repeats} passes after {args.warmup}\n\n'
                   f'{markdown_table(header, [network_row(args)])}')
    if args.train_iters:
        header = [
            'config', 'training iteration, mmcv (ms)',
            'training iteration, sampling (ms)', 'speed-up'
        ]
        report += (
            f'\n\nTraining on {setup}, median of {args.train_iters} '
            f'iterations after {args.warmup}\n\n'
            f'{markdown_table(header, [training_row(args, *training)])}')
    emit_report(report, args.out)


if __name__ == '__main__':
    main()
