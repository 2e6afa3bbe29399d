# Copyright (c) OpenMMLab. All rights reserved.
"""How fast a config's training pipeline makes samples on one CPU core,
transform by transform, and how many data-loader workers it needs to keep a GPU
busy.

    python tools/analysis/benchmark_dataloader.py CONFIG [CONFIG ...] \\
        [--samples 200] [--iteration-ms MS ...] [--keep-data] \\
        [--encode-people N ...] [--out FILE]

Each config's ``train_dataloader.dataset`` is built (on the bundled COCO sample
in ``tests/data/coco`` unless ``--keep-data``), and ``--samples`` samples go
through its pipeline in this process with one thread (as one loader worker has
it), each transform timed apart, and so is the image decoding of a
``CheckedCocoDataset``, which decodes the image before the pipeline (its
``LoadImage`` finds it decoded): row ``image decode (CheckedCocoDataset)``. The
report gives, per config, the median ms per sample of each of these rows, the
mean ms of a whole sample (what throughput follows: the slow samples count),
the samples per second of one core, and, for the config's batch size, the ms
one worker takes for a batch and, given the ms of a GPU iteration of each
config (``--iteration-ms``, e.g. from ``tools/misc/gpu_check.py``'s ``full``
check), the workers a loader needs to deliver a batch per iteration (each
worker makes whole batches). With
``--encode-people``, the target encoding of each config whose codec is a
``PartAffinityField`` (MLN, OpenPose) is also timed alone on scenes of that
many random people (all keypoints annotated): targets per second on one core.
"""
import argparse
import contextlib
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional
from unittest import mock

import cv2
import torch

from custom_modules.utils.benchmark_timing import (at_least, emit_report,
                                                   markdown_table)

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO_ROOT / 'tests/data/coco'
DECODE_ROW = 'image decode (CheckedCocoDataset)'


class Timed:
    """``fn`` (a pipeline transform, the image decoding) that adds the time (s)
    of each call to ``times[name]``."""

    def __init__(self, fn: Callable, name: str,
                 times: Dict[str, List[float]]) -> None:
        self.fn, self.name, self.times = fn, name, times
        times.setdefault(name, [])

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.fn(*args, **kwargs)
        self.times[self.name].append(time.perf_counter() - start)
        return out


def benchmark(config: str, samples: int, keep_data: bool) -> dict:
    """Per-transform (and image decoding, module doc) and total ms per sample
    of ``config``'s training pipeline on one core."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS

    from custom_modules.datasets import checked_coco_dataset

    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    dataset_cfg = cfg.train_dataloader.dataset
    if not keep_data:
        dataset_cfg.update(
            data_root=str(SAMPLE_DATA) + '/',
            ann_file='test_coco.json',
            data_prefix=dict(img=''))
    dataset = DATASETS.build(dataset_cfg)
    times: Dict[str, List[float]] = {}
    decoding = contextlib.nullcontext()
    if isinstance(dataset, checked_coco_dataset.CheckedCocoDataset):
        # its prepare_data decodes the image before the pipeline
        decoding = mock.patch.object(
            checked_coco_dataset, 'read_image_file',
            Timed(checked_coco_dataset.read_image_file, DECODE_ROW, times))
    dataset.pipeline.transforms = [
        Timed(t,
              type(t).__name__, times) for t in dataset.pipeline.transforms
    ]
    totals = []
    with decoding:
        for i in range(samples):
            start = time.perf_counter()
            dataset[i % len(dataset)]
            totals.append(time.perf_counter() - start)
    return dict(
        batch_size=cfg.train_dataloader.batch_size,
        workers=cfg.train_dataloader.get('num_workers', 0),
        transforms={
            name: 1000 * statistics.median(t)
            for name, t in times.items()
        },
        # a loader's throughput is the mean's, not the median's
        total_ms=1000 * statistics.mean(totals))


def encode_rates(config: str,
                 people: List[int],
                 repeats: int = 50) -> Optional[List[float]]:
    """Targets per second on one core of the config's ``PartAffinityField``
    codec for scenes of ``people`` random people each; None for another
    codec."""
    import numpy as np
    from mmengine.config import Config
    from mmpose.registry import KEYPOINT_CODECS

    import custom_modules  # noqa: F401  (registers the codec)

    codec_cfg = Config.fromfile(config).get('codec')
    if not codec_cfg or codec_cfg.get('type') != 'PartAffinityField':
        return None
    codec = KEYPOINT_CODECS.build(codec_cfg)
    width, height = codec.input_size
    rng = np.random.default_rng(0)
    rates = []
    for count in people:
        keypoints = rng.uniform(0, 1, (count, 17, 2)) * (width, height)
        visible = np.ones((count, 17), np.float32)
        codec.encode(keypoints, visible)  # warm-up
        start = time.perf_counter()
        for _ in range(repeats):
            codec.encode(keypoints, visible)
        rates.append(repeats / (time.perf_counter() - start))
    return rates


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument(
        '--samples', type=at_least(1), default=200, help='samples per config')
    parser.add_argument(
        '--iteration-ms',
        type=at_least(1, float),
        nargs='*',
        help=('ms per GPU iteration, one per config (without: the workers are '
              'not counted)'))
    parser.add_argument(
        '--keep-data',
        action='store_true',
        help="the config's own data, not the bundled sample")
    parser.add_argument(
        '--encode-people',
        type=at_least(1),
        nargs='*',
        default=[],
        help=('time PartAffinityField.encode alone on scenes of these many '
              'people'))
    parser.add_argument('--out', help='also write the report here (markdown)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    if args.iteration_ms and len(args.iteration_ms) != len(args.configs):
        sys.exit('benchmark_dataloader: give one --iteration-ms per config')
    rows, detail = [], []
    for i, config in enumerate(args.configs):
        result = benchmark(config, args.samples, args.keep_data)
        name = Path(config).stem
        iteration_ms = args.iteration_ms[i] if args.iteration_ms else math.nan
        batch_ms = result['total_ms'] * result['batch_size']
        # a worker makes whole batches: k workers deliver one every batch_ms /
        # k, enough once that is within an iteration
        finite = math.isfinite(iteration_ms)
        needed = math.ceil(batch_ms / iteration_ms) if finite else None
        rows.append([
            name, f'{result["total_ms"]:.2f}',
            f'{1000 / result["total_ms"]:.0f}',
            str(result['batch_size']), f'{batch_ms:.0f}',
            f'{iteration_ms:.0f}' if finite else 'n/a',
            str(result['workers']),
            str(needed) if needed else 'n/a'
        ])
        detail.append(f'`{name}`: ' +
                      ', '.join(f'{t} {ms:.2f}'
                                for t, ms in result['transforms'].items()))
    table = markdown_table([
        'config', 'ms / sample', 'samples/s per core', 'batch',
        'ms / batch per worker', 'GPU ms / iteration', 'workers (config)',
        'workers needed'
    ], rows)
    data = 'configured data' if args.keep_data else 'bundled COCO sample'
    text = (
        f'Training pipelines on one core, mean of {args.samples} samples of '
        f'the {data}:\n\n{table}\n\n'
        'ms per sample (median) of each transform and of a '
        '`CheckedCocoDataset`\'s image decoding before the pipeline:\n\n' +
        '\n'.join(f'- {d}' for d in detail))
    encode_rows = []
    for config in args.configs if args.encode_people else []:
        rates = encode_rates(config, args.encode_people)
        if rates is not None:
            encode_rows.append([Path(config).stem] +
                               [f'{rate:.0f}' for rate in rates])
    if encode_rows:
        text += (
            '\n\n`PartAffinityField.encode` alone, targets per second on one '
            'core:\n\n' + markdown_table(
                ['config'] + [f'{n} people'
                              for n in args.encode_people], encode_rows))
    emit_report(text, args.out)


if __name__ == '__main__':
    main()
