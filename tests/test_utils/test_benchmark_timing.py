# Copyright (c) OpenMMLab. All rights reserved.
"""The benchmarks' timing and option helpers."""
import argparse
import importlib.util
import sys
import time

import pytest

from custom_modules.utils.benchmark_timing import (at_least, inference_device,
                                                   interleaved_medians_ms,
                                                   markdown_table,
                                                   torch_device)


def test_at_least_refuses_what_measures_nothing():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=at_least(1))
    parser.add_argument('--ms', type=at_least(1, float), nargs='*')
    assert parser.parse_args(['--repeats', '3']).repeats == 3
    assert parser.parse_args(['--ms', '2.5', '1']).ms == [2.5, 1.0]
    for argv, message in ((['--repeats', '0'], '0 is less than 1'),
                          (['--repeats', '2.5'], "'2.5' is not an integer"),
                          (['--ms', '5', '-5'], '-5 is less than 1'),
                          (['--ms', 'nan'], 'nan is less than 1'),
                          (['--ms', 'x'], "'x' is not a number")):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            option = parser._option_string_actions[argv[0]]
            for text in argv[1:]:
                option.type(text)


def test_a_device_is_the_cpu_or_a_cuda_device_this_machine_has():
    import torch
    assert torch_device('cpu') == torch_device('cpu:0') == 'cpu'
    if torch.cuda.is_available():
        assert torch_device('cuda:0') == 'cuda:0'
    cuda = ('no CUDA device visible'
            if not torch.cuda.is_available() else r'CUDA device\(s\) visible')
    for text, message in (('gpu', "'gpu' is not a device"),
                          ('meta', "'cpu' or a CUDA device, not meta"),
                          ('cuda:99', cuda)):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            torch_device(text)


def test_a_cuda_device_is_refused_where_torch_sees_none(monkeypatch):
    """On a machine without a GPU or driver (the inference tools failed with
    torch's "Found no NVIDIA driver" once the model was built)."""
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for text in ('cuda', 'cuda:0'):
        message = f'^{text}: no CUDA device visible to torch .*; use cpu$'
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            torch_device(text)


def test_the_inference_tools_take_the_other_devices_mmpose_runs_on(
        monkeypatch):
    """mps, xpu, npu as given (torch names one that is not there when the model
    moves); the CPU and CUDA as the benchmarks check them; a name torch does
    not know refused."""
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert inference_device('mps') == 'mps'
    assert inference_device('xpu:1') == 'xpu:1'
    assert inference_device('cpu:0') == 'cpu'
    for text, message in (('gpu', "'gpu' is not a device"),
                          ('cuda:0', 'no CUDA device visible')):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            inference_device(text)


@pytest.mark.parametrize('tool, argv', [
    ('benchmark_pose_nms', ['--repeats', '0']),
    ('benchmark_pose_nms', ['--max-per-img', '0']),
    ('benchmark_bottomup', ['--skip-models', '--people', '0']),
    ('benchmark', ['--crop-batch', '0']),
    ('benchmark_dataloader', ['x.py', '--iteration-ms', '0']),
    ('benchmark_topdown', ['--batch-sizes', '1', '-1']),
    ('benchmark', ['--device', 'gpu']),
    ('benchmark_bottomup', ['--device', 'cuda:99']),
    ('benchmark_deform_conv', ['--device', 'meta']),
    ('benchmark_pose_nms', ['--device', 'cuda:99']),
    ('benchmark_realtime', ['--device', 'gpu']),
])
def test_the_benchmarks_refuse_counts_that_measure_nothing(
        tool, argv, repo_root, monkeypatch, capsys):
    """Each of these ran (minutes, for ``benchmark.py``) and then ended in a
    traceback (no median of nothing, a division by zero, a device torch does
    not have) or judged wrongly; now argparse's usage error, naming the option,
    before anything runs."""
    spec = importlib.util.spec_from_file_location(
        tool, repo_root / f'tools/analysis/{tool}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, 'argv', [f'{tool}.py'] + argv)
    with pytest.raises(SystemExit) as stop:
        module.parse_args()
    assert stop.value.code == 2
    option = next(a for a in reversed(argv) if a.startswith('--'))
    assert f'argument {option}: ' in capsys.readouterr().err


def test_interleaved_medians_take_turns_and_need_a_repeat():
    calls = []

    def sleeper(name, seconds):
        return lambda: (calls.append(name), time.sleep(seconds))

    fast, slow = interleaved_medians_ms(
        [sleeper('a', 0.001), sleeper('b', 0.02)], warmup=1, repeats=3)
    assert calls == ['a', 'b'] + ['a', 'b'] * 3
    assert 1 <= fast < slow and slow >= 20
    with pytest.raises(ValueError, match='repeats 0'):
        interleaved_medians_ms([sleeper('a', 0)], warmup=0, repeats=0)


def test_markdown_table():
    assert markdown_table(['a', 'b'],
                          [['1', '2']]) == ('| a | b |\n|---|---|\n| 1 | 2 |')


def test_a_busy_machine_is_said_after_the_report(monkeypatch, capsys,
                                                 tmp_path):
    """A 5-minute load average over the cores + 1: a warning on stderr after
    the report (the report and its file unchanged); none on an idle machine."""
    import os

    from custom_modules.utils import benchmark_timing
    monkeypatch.setattr(os, 'cpu_count', lambda: 2)
    out = tmp_path / 'report.md'
    for load, warned in ((3.0, False), (5.5, True)):
        monkeypatch.setattr(os, 'getloadavg', lambda: (9.0, load, 1.0))
        benchmark_timing.emit_report('| a |', str(out))
        printed = capsys.readouterr()
        assert printed.out == '\n| a |\n' and out.read_text() == '| a |\n'
        assert printed.err == ((
            'warning: the load average over the last 5 minutes was 5.5 on 2 '
            'cores: other processes shared the CPU with this run, so its '
            'times read slower than this machine can do (rerun on an idle '
            'machine to compare with published figures)\n') if warned else '')
