# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark_deform_conv.py: mmcv's deformable convolution and
the sampling form timed on SMPR's shapes, the same outputs, and SMPR's
network and a training iteration of the sample SMPR each way."""
import importlib.util

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
