# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark_topdown.py: one row per model, baseline first at
ratio 1.00, the parameter counts of the models."""
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_benchmark_writes_a_row_per_model(run_tool, tmp_path):
    out = tmp_path / 'table.md'
    run_tool([
        sys.executable, 'tools/analysis/benchmark_topdown.py', '--batch-sizes',
        '1', '--repeats', '1', '--warmup', '0', '--out',
        str(out)
    ])
    rows = [[cell.strip() for cell in line.strip('|').split('|')]
            for line in out.read_text().splitlines()[2:]]
    assert [row[0] for row in rows] == [
        'td-hm_res50_1xb32-140e_coco-256x192',
        'td-hm_hsrnet-59_1xb32-140e_coco-256x192',
        'td-hm_hsr-msnet-59_1xb32-140e_coco-256x192'
    ]
    assert rows[0][-1] == '1.00'
    # the params (M) column
    assert [row[2] for row in rows] == ['34.00', '22.60', '22.66']
    assert all(float(row[4]) > 0 for row in rows)  # latency b1 (ms)
