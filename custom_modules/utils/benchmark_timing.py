# Copyright (c) OpenMMLab. All rights reserved.
"""Timing and table helpers of the benchmark tools (``tools/analysis/``) and of
``tools/misc/gpu_check.py``, and their option types (:func:`at_least`,
:func:`torch_device`; :func:`inference_device` for the inference tools)."""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Union


def at_least(least: Union[int, float],
             kind: type = int) -> Callable[[str], Union[int, float]]:
    """An argparse ``type``: the option's text as ``kind``, refused (argparse's
    usage error, exit 2, naming the option) below ``least``; for the counts and
    sizes of the benchmarks, where 0 or less measures nothing or divides by
    zero at the end of a long run."""

    def parse(text: str) -> Union[int, float]:
        try:
            value = kind(text)
        except ValueError:
            what = 'an integer' if kind is int else 'a number'
            raise argparse.ArgumentTypeError(
                f'{text!r} is not {what}') from None
        if not value >= least:  # (also NaN)
            raise argparse.ArgumentTypeError(
                f'{text} is less than {least}, the least it can be')
        return value

    return parse


def torch_device(text: str) -> str:
    """An argparse ``type`` for ``--device``: ``'cpu'`` or a CUDA device this
    machine has (``'cuda'``, ``'cuda:N'``), refused otherwise with argparse's
    usage error naming the option, before any model is built (a bad device
    failed inside torch after minutes of building, or was labelled CPU);
    ``'cpu:0'`` comes back as ``'cpu'``, as the tools compare it."""
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a device: 'cpu' or 'cuda[:N]'") from None
    if device.type == 'cpu':
        return 'cpu'  # as the tools compare it
    if device.type != 'cuda':
        raise argparse.ArgumentTypeError(
            f"{text}: 'cpu' or a CUDA device, not {device.type}")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise argparse.ArgumentTypeError(
            f'{text}: no CUDA device visible to torch (no GPU or no NVIDIA '
            'driver here, a CPU-only torch, or CUDA_VISIBLE_DEVICES hides '
            'them); use cpu')
    if (device.index or 0) >= count:
        raise argparse.ArgumentTypeError(
            f'{text}: {count} CUDA device(s) visible')
    return text


def inference_device(text: str) -> str:
    """An argparse ``type`` for an inference tool's ``--device``: the CPU and
    CUDA devices as :func:`torch_device` checks them; another device type torch
    knows (``mps``, ``xpu``, ``npu``: mmpose's inferencer runs on them) as
    given, torch saying where it is not there."""
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a device: 'cpu', 'cuda[:N]', 'mps', ..."
        ) from None
    return torch_device(text) if device.type in ('cpu', 'cuda') else text


def interleaved_medians_ms(fns: List[Callable[[], object]], warmup: int,
                           repeats: int) -> List[float]:
    """Median time (ms) of each of ``fns`` over ``repeats`` calls, after
    ``warmup`` untimed calls of each; the timed calls take turns (A, B, C, A,
    B, C, ...) so that a slow spell of the machine hits every function alike.

    Raises:
        ValueError: If ``repeats`` is less than 1 (no median) or ``warmup`` is
            negative.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f'repeats {repeats} (at least 1) and warmup {warmup} '
                         '(at least 0)')
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, fn_times in zip(fns, times):
            start = time.perf_counter()
            fn()
            fn_times.append(time.perf_counter() - start)
    return [1000 * statistics.median(t) for t in times]


def synchronized(fn: Callable[[], object],
                 device: str) -> Callable[[], object]:
    """``fn`` that returns only once the GPU's queued work is done where
    ``device`` is a CUDA device (so a timer counts the kernels, not their
    launch); ``fn`` itself on a CPU."""
    if not str(device).startswith('cuda'):
        return fn
    import torch

    def call():
        result = fn()
        torch.cuda.synchronize(device)
        return result

    return call


def markdown_table(header: List[str], rows: List[List[str]]) -> str:
    """``header`` and ``rows`` (cells as strings) as a markdown table."""
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    return '\n'.join(lines + ['| ' + ' | '.join(row) + ' |' for row in rows])


def emit_report(text: str, out: Optional[str] = None) -> None:
    """Print a benchmark's report and, with ``out``, also write it there
    (folders made); then :func:`busy_machine_warning`, if any, on stderr."""
    print(f'\n{text}')
    if out:
        write_report(text, out)
    warning = busy_machine_warning()
    if warning:
        print(warning, file=sys.stderr)


def busy_machine_warning() -> Optional[str]:
    """A warning where the machine's load average over the last 5 minutes (the
    run's, for most benchmarks) exceeds its cores by more than one: other
    processes took CPU time from the run, so its times are slower than this
    machine's best (ratios within one run, whose calls take turns, are less
    affected); None elsewhere, or where the OS gives no load average."""
    try:
        load = os.getloadavg()[1]
    except (AttributeError, OSError):
        return None
    cores = os.cpu_count() or 1
    if load <= cores + 1:
        return None
    return (f'warning: the load average over the last 5 minutes was '
            f'{load:.1f} on {cores} cores: other processes shared the CPU '
            'with this run, so its times read slower than this machine can '
            'do (rerun on an idle machine to compare with published figures)')


def write_report(text: str, out: str) -> None:
    """Write a benchmark's report to ``out`` (folders made)."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text + '\n')
