# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark.py: on small settings it fills the model table
(sizes, MACs, peak memory, latencies), times the three paradigms on scenes
where each finds every person, and writes the markdown report and the PNG plot.
"""
import sys

import pytest
import torch

from .test_benchmark_bottomup import parse_markdown_rows

pytestmark = pytest.mark.e2e

DEMO = 'configs/demo/'


def test_benchmark_writes_model_table_comparison_people_curve_and_plot(
        run_tool, tmp_path):
    proc = run_tool([
        sys.executable, 'tools/analysis/benchmark.py', '--models',
        'hsr-msnet-59', 'simplebaseline-r50', '--crop-batch', '2', '--people',
        '1', '3', '--image-size', '320', '--pose-config',
        DEMO + 'td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py',
        '--mln-config',
        DEMO + 'paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py',
        '--smpr-config',
        DEMO + 'smpr_r18-w16-fpn_1xb4-1000e_coco-sample-256x192.py',
        '--warmup', '0', '--repeats', '1', '--out-dir',
        str(tmp_path)
    ])
    text = (tmp_path / 'benchmark.md').read_text()
    assert text.strip() in proc.stdout
    assert (tmp_path / 'people.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    model_text, rest = text.split("Each paper's model against its baseline")
    comparison_text, people_text = rest.split('Time per 320x320 image')
    row, baseline = parse_markdown_rows(model_text)
    assert row['model'] == 'hsr-msnet-59' and row['input (HxW)'] == '256x192'
    # mmpose's own config, read from its package
    assert baseline['config'] == 'td-hm_res50_8xb64-210e_coco-256x192'
    assert float(baseline['params (M)']) > 30
    # HSR-MSNet-59's size and cost as docs/benchmarks.md gives them
    assert (row['params (M)'], row['GMACs']) == ('22.66', '6.29')
    assert 0 < float(row['params w/o bias (M)']) < float(row['params (M)'])
    weights_mib = 22.66e6 * 4 / 2**20
    assert weights_mib < float(row['peak memory b1 (MiB)'])
    assert float(row['peak memory b1 (MiB)']) <= float(
        row['peak memory large batch (MiB)'])
    for column in ('latency b1 (ms)', 'latency large batch (ms)'):
        assert float(row[column]) > 0

    # the ratios are the model table's own figures divided, not another run's
    (comparison, ) = parse_markdown_rows(comparison_text)
    assert (comparison['model'],
            comparison['baseline']) == ('hsr-msnet-59', 'simplebaseline-r50')
    assert float(comparison['params ratio']) == pytest.approx(
        22.66 / 34.00, abs=0.01)
    latency_ratio = float(row['latency b1 (ms)']) / float(
        baseline['latency b1 (ms)'])
    assert float(comparison['latency b1 ratio']) == pytest.approx(
        latency_ratio, rel=0.1, abs=0.01)
    assert 'almost the same' in comparison[
        "the paper's claim (not measured here)"]

    rows = parse_markdown_rows(people_text)
    assert [r['people'] for r in rows] == ['1', '3']
    for r in rows:
        assert r['people found (top-down / MLN / SMPR)'] == ' / '.join(
            [r['people']] * 3), r
        assert float(r['top-down total (ms)']) >= float(r['detector (ms)']) > 0
        assert float(r['MLN (ms)']) > 0 and float(r['SMPR (ms)']) > 0


def test_a_head_without_perfect_outputs_is_named():
    from custom_modules.testing.perfect_outputs import perfect_outputs
    with pytest.raises(TypeError, match=r'Conv2d has no perfect_outputs\('):
        perfect_outputs(torch.nn.Conv2d(1, 1, 1), None, [(8, 8)], (64, 64))
