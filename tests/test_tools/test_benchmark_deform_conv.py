# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark_deform_conv.py: mmcv's deformable convolution and
the sampling form timed on SMPR's shapes, the same outputs, and SMPR's
network and a training iteration of the sample SMPR each way."""
import importlib.util

import pytest

from conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location(
    'benchmark_deform_conv',
    REPO_ROOT / 'tools/analysis/benchmark_deform_conv.py')
benchmark_deform_conv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark_deform_conv)


def table_rows(report: str, first_cell: str) -> list:
    return [[cell.strip() for cell in line.strip('|').split('|')]
            for line in report.splitlines()
            if line.startswith(f'| {first_cell}')]


def test_report_times_both_ways_on_every_shape_and_a_training_iteration(
        tmp_path):
    out = tmp_path / 'report.md'
    benchmark_deform_conv.main([
        '--repeats', '1', '--warmup', '0', '--train-iters', '1',
        '--network-repeats', '1', '--network-size', '128', '--out',
        str(out)
    ])
    report = out.read_text()
    rows = table_rows(report, 'R50-FPN') + table_rows(report, 'sample')
    assert [row[1] for row in rows
            ] == ['1x256x100x100', '1x256x50x50', '1x256x25x25', '4x32x32x24']
    for row in rows:
        for cell in row[2:4]:  # 'mmcv / sampling (speed-up)'
            mmcv_ms, sampling_ms = (
                float(t) for t in cell.split(' (')[0].split(' / '))
            assert mmcv_ms > 0 and sampling_ms > 0
        # the same function
        assert float(row[4]) < 1e-4, row
    [network] = table_rows(report, 'smpr_r50-fpn')
    assert network[1] == '1x3x128x128'
    [training] = table_rows(report, 'smpr_r18-w16-fpn')
    for row in (network[2:4], training[1:3]):
        assert float(row[0]) > 0 and float(row[1]) > 0


def test_a_loader_without_batches_is_refused_before_anything_is_timed(
        tmp_path, monkeypatch):
    """4 sample images in batches of 8 with ``drop_last``: no batch at all, an
    error naming the config, the batch size and drop_last (not an endless wait
    for one), before the convolutions are timed."""
    from conftest import SAMPLE_CONFIGS

    config = tmp_path / 'no_batch.py'
    config.write_text(f'_base_ = [{str(REPO_ROOT / SAMPLE_CONFIGS["smpr"])!r}]'
                      '\ntrain_dataloader = dict(batch_size=8, '
                      'drop_last=True)\n')
    timed = []
    monkeypatch.setattr(benchmark_deform_conv, 'convolution_rows',
                        lambda args: timed.append(args) or [])
    with pytest.raises(SystemExit) as error:
        benchmark_deform_conv.main([
            '--repeats', '1', '--warmup', '0', '--network-repeats', '0',
            '--train-iters', '1', '--config',
            str(config)
        ])
    message = str(error.value.code)
    assert message.startswith(f'benchmark_deform_conv: error: {config}: ')
    assert 'batch_size 8' in message and 'drop_last=True' in message
    assert timed == []
