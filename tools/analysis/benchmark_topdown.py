# Copyright (c) OpenMMLab. All rights reserved.
"""Parameters, multiply-accumulates and CPU latency of top-down pose models,
side by side.

    # HSRNet-59, HSR-MSNet-59, ResNet-50
    python tools/analysis/benchmark_topdown.py
    python tools/analysis/benchmark_topdown.py CONFIG [CONFIG ...] \\
        --batch-sizes 1 32 --repeats 5
    python tools/analysis/benchmark_topdown.py CONFIG [CONFIG ...] \\
        --input-size 256 192

Every model runs in this one process on the same input: backbone + head
(``mode='tensor'``, no flip test, no pre/post-processing), ``torch.no_grad()``,
eval mode. After ``--warmup`` untimed passes of each model, the timed passes
take turns (model A, B, C, A, B, C, ...) so that a slow spell of the machine
hits every model alike; latency is the median of ``--repeats`` passes. The last
columns divide each model's latency by the first config's (the baseline,
ResNet-50 by default). The multiply-accumulates are mmengine's count
(``get_model_complexity_info``; mmpose and mmengine print this number as
"FLOPs"). Prints the setup (threads, torch, runs) and a markdown table;
``--out`` also writes them to a file.
"""
import argparse
import sys
from pathlib import Path
from typing import List

import torch
from mmengine.config import Config

from custom_modules.apis.tensor_forward import build_network, count_macs
from custom_modules.utils.benchmark_timing import (at_least, emit_report,
                                                   interleaved_medians_ms,
                                                   markdown_table)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIGS = [
    REPO_ROOT / 'configs/hsr_msnet/td-hm_res50_1xb32-140e_coco-256x192.py',
    REPO_ROOT / 'configs/hsr_msnet/td-hm_hsrnet-59_1xb32-140e_coco-256x192.py',
    REPO_ROOT /
    'configs/hsr_msnet/td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py',
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'configs',
        nargs='*',
        default=[str(c) for c in DEFAULT_CONFIGS],
        help='top-down configs; the first is the latency baseline')
    parser.add_argument(
        '--input-size',
        type=at_least(32),
        nargs=2,
        metavar=('HEIGHT', 'WIDTH'),
        help='run every model at this input size (default: the configs\' own, '
        'which must then agree)')
    parser.add_argument(
        '--batch-sizes', type=at_least(1), nargs='+', default=[1, 32])
    parser.add_argument('--warmup', type=at_least(0), default=2)
    parser.add_argument('--repeats', type=at_least(1), default=5)
    parser.add_argument(
        '--threads',
        type=at_least(1),
        default=torch.get_num_threads(),
        help='torch CPU threads (default: torch\'s default for this machine)')
    parser.add_argument(
        '--out', help='also write the setup and the markdown table here')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmpose.utils import register_all_modules

    register_all_modules()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    header = (['model', 'input', 'params (M)', 'GMACs'] +
              [f'latency b{b} (ms)' for b in args.batch_sizes] +
              [f'b{b} / baseline' for b in args.batch_sizes])
    cfgs = [Config.fromfile(config) for config in args.configs]
    if args.input_size:
        height, width = args.input_size
    else:
        input_sizes = {tuple(cfg.codec.input_size) for cfg in cfgs}
        if len(input_sizes) != 1:
            sys.exit(f'benchmark_topdown.py: the configs have different input '
                     f'sizes {sorted(input_sizes)} (w, h): pass --input-size '
                     'to run them all at one size')
        width, height = input_sizes.pop()
    models = [build_network(cfg) for cfg in cfgs]
    latencies = []
    with torch.no_grad():
        for batch_size in args.batch_sizes:
            inputs = torch.randn(batch_size, 3, height, width)
            latencies.append(
                interleaved_medians_ms([lambda m=m: m(inputs) for m in models],
                                       args.warmup, args.repeats))
    rows: List[List[str]] = []
    for i, (config, model) in enumerate(zip(args.configs, models)):
        params = sum(p.numel() for p in model.parameters()) / 1e6
        macs = count_macs(model, (3, height, width))
        model_ms = [per_batch[i] for per_batch in latencies]
        rows.append([
            Path(config).stem, f'{height}x{width}', f'{params:.2f}',
            f'{macs / 1e9:.2f}', *[f'{ms:.1f}' for ms in model_ms], *[
                f'{ms / per_batch[0]:.2f}'
                for ms, per_batch in zip(model_ms, latencies)
            ]
        ])
    emit_report(
        f'CPU: {args.threads} threads, torch {torch.__version__}, median of '
        f'{args.repeats} runs after {args.warmup} warm-up runs\n\n'
        f'{markdown_table(header, rows)}', args.out)


if __name__ == '__main__':
    main()
