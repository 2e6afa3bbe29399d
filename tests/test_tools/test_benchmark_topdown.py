# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark_topdown.py: the setup (threads, runs) and one row
per model, the parameter counts of the models and each model's latency over
the baseline's."""
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_benchmark_writes_its_setup_and_a_row_per_model(run_tool, tmp_path):
    out = tmp_path / 'table.md'
    run_tool([
        sys.executable, 'tools/analysis/benchmark_topdown.py', '--batch-sizes',
        '1', '--repeats', '1', '--warmup', '0', '--threads', '2', '--out',
        str(out)
    ])
    text = out.read_text()
    assert text.startswith('CPU: 2 threads, torch ')
    assert 'median of 1 runs after 0 warm-up runs' in text.splitlines()[0]
    rows = [[cell.strip() for cell in line.strip('|').split('|')]
            for line in text.splitlines() if line.startswith('|')][2:]
    assert [row[0] for row in rows] == [
        'td-hm_res50_1xb32-140e_coco-256x192',
        'td-hm_hsrnet-59_1xb32-140e_coco-256x192',
        'td-hm_hsr-msnet-59_1xb32-140e_coco-256x192'
    ]
    # the params (M) column
    assert [row[2] for row in rows] == ['34.00', '22.60', '22.66']
    latencies = [float(row[4]) for row in rows]  # latency b1 (ms)
    assert all(ms > 0 for ms in latencies)
    # b1 / baseline: each latency over the first's (from the unrounded ms)
    for row, ms in zip(rows, latencies):
        assert float(row[5]) == pytest.approx(
            ms / latencies[0], rel=0.01, abs=0.006), row


def test_configs_of_different_input_sizes_need_one_given(run_tool):
    """Configs that would be timed at different sizes: one line, before any
    model is built."""
    proc = run_tool([
        sys.executable, 'tools/analysis/benchmark_topdown.py',
        'configs/demo/td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py',
        'configs/hsr_msnet/td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py'
    ],
                    check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        'benchmark_topdown.py: the configs have different input sizes '
        '[(96, 128), (192, 256)] (w, h): pass --input-size to run them all at '
        'one size')
