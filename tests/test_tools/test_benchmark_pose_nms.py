# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark_pose_nms.py: a row per scene, ``soft_nms_first``
keeping mmcv's Soft-NMS's first poses ("same"), and the rounds it runs said
right when a scene has fewer candidates than ``--max-per-img``."""
import importlib.util
from typing import List, Tuple

from conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location(
    'benchmark_pose_nms', REPO_ROOT / 'tools/analysis/benchmark_pose_nms.py')
benchmark_pose_nms = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark_pose_nms)


def run(tmp_path) -> Tuple[List[str], List[List[str]]]:
    """The header and rows of the table of scenes of 1 and 3 people, 4
    candidates each, up to 5 poses kept."""
    out = tmp_path / 'report.md'
    benchmark_pose_nms.main([
        '--people', '1', '3', '--per-person', '4', '--max-per-img', '5',
        '--repeats', '1', '--warmup', '0', '--out',
        str(out)
    ])
    header, _, *rows = [[cell.strip() for cell in line.strip('|').split('|')]
                        for line in out.read_text().splitlines()
                        if line.startswith('|')]
    return header, rows


def test_a_row_per_scene_and_the_same_poses_kept(tmp_path):
    header, rows = run(tmp_path)
    # 4 candidates (fewer than --max-per-img: all 4 rounds), then 12
    assert header[3] == 'soft_nms_first, min(5, candidates) rounds, cpu (ms)'
    assert [row[:2] for row in rows] == [['1', '4'], ['3', '12']]
    for row in rows:
        assert all(float(row[i]) > 0 for i in (2, 3, 6)), row
        assert row[header.index('same')] == 'yes', row


def test_same_says_no_where_other_poses_are_kept(tmp_path, monkeypatch):
    """``soft_nms_first`` made to keep mmcv's poses in the reverse order."""
    right = benchmark_pose_nms.soft_nms_first

    def reversed_soft_nms_first(*args, **kwargs):
        keep, scores = right(*args, **kwargs)
        return keep.flip(0), scores.flip(0)

    monkeypatch.setattr(benchmark_pose_nms, 'soft_nms_first',
                        reversed_soft_nms_first)
    header, rows = run(tmp_path)
    assert [row[header.index('same')] for row in rows] == ['**no**'] * 2
