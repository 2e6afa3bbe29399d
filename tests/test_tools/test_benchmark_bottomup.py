# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark_bottomup.py: its grouping benchmark decodes every
person of the ground-truth scenes four ways, the resized decode and the
decoding on the device finding the full restore's keypoints, and writes the
markdown table (the model benchmark is too slow for a test)."""
import sys
from typing import Dict, List

import pytest

pytestmark = pytest.mark.e2e


def parse_markdown_rows(text: str) -> List[Dict[str, str]]:
    """Rows of the first markdown table in ``text``, as ``{column: cell}``."""
    lines = [line for line in text.splitlines() if line.startswith('|')]
    header = [cell.strip() for cell in lines[0].strip('|').split('|')]
    return [
        dict(
            zip(header, (cell.strip() for cell in line.strip('|').split('|'))))
        for line in lines[2:]
    ]


def test_grouping_finds_every_person_of_the_scenes(run_tool, tmp_path):
    out = tmp_path / 't.md'
    proc = run_tool([
        sys.executable, 'tools/analysis/benchmark_bottomup.py',
        '--skip-models', '--group-repeats', '3', '--out',
        str(out)
    ])
    text = out.read_text()
    assert text.strip() in proc.stdout
    rows = parse_markdown_rows(text)
    # per scene: the full restore (OpenPose's), the resized decode (the heads'
    # default on the CPU), the stride-8 maps as they are, the decoding on the
    # maps' device (the heads' default on a GPU; --device, here the CPU)
    assert [row['people'] for row in rows] == ['2'] * 4 + ['10'] * 4
    assert [row['decoding'] for row in rows
            ] == ['full restore', 'resized decode', 'stride 8', 'on cpu'] * 2
    assert [row['maps'] for row in rows] == [
        '368x432 (restored)', '46x54 as 368x432', '46x54',
        '368x432 (restored on the device)'
    ] * 2
    for row in rows:
        assert row['people found'] == row['people'], row
        assert float(row['group (ms)']) > 0 and float(
            row['decode (ms)']) > 0, row
        assert float(row['group, numpy (ms)']) > 0, row
    # the resized decode and the device's find the full restore's keypoints
    for full, resized, device in zip(rows[0::4], rows[1::4], rows[3::4]):
        assert float(resized['max diff (px)']) < 1e-3, resized
        assert float(device['max diff (px)']) < 1e-3, device
        assert resized['peaks'] == device['peaks'] == full['peaks']


def test_real_maps_of_another_models_checkpoint_are_refused_first(
        run_tool, tmp_path):
    """``--real-maps`` with a checkpoint of another model: one line, before the
    grouping tables' minutes (mmpose's loader would decode a half-loaded
    model's maps)."""
    from conftest import (DEMO_CONFIG, save_random_checkpoint,
                          write_small_mln_config)

    config = write_small_mln_config(tmp_path / 'mln.py')
    checkpoint = save_random_checkpoint(DEMO_CONFIG, tmp_path / 'hsr.pth')
    proc = run_tool([
        sys.executable, 'tools/analysis/benchmark_bottomup.py',
        '--skip-models', '--real-maps',
        str(config),
        str(checkpoint), '--out',
        str(tmp_path / 't.md')
    ],
                    check=False)
    assert proc.returncode == 1
    (line, ) = proc.stderr.strip().splitlines()[-1:]
    assert line.startswith('benchmark_bottomup.py: --real-maps: ')
    assert str(checkpoint) in line and 'Grouping' not in proc.stdout
    assert not (tmp_path / 't.md').exists()


def test_real_maps_are_decoded_four_ways_per_bundled_image(run_tool, tmp_path):
    """``--real-maps CONFIG CHECKPOINT``: a model's maps of each COCO image of
    the sample (here the small MLN with random weights), decoded four ways; the
    resized decode and the device's find what the full restore finds; the
    section says how many runs each median is of (at least 5 for the decodes
    that resize all the maps)."""
    import torch

    from conftest import save_random_checkpoint, write_small_mln_config

    config = write_small_mln_config(tmp_path / 'mln.py')
    # seeded: on some random weights' maps (noise) the resize makes a shallow
    # extra peak the resized decode does not find, the exception its docstring
    # states (PartAffinityField.find_peaks_resized); seeds 0-79 make none
    with torch.random.fork_rng():
        torch.manual_seed(0)
        checkpoint = save_random_checkpoint(config, tmp_path / 'mln.pth')
    out = tmp_path / 't.md'
    run_tool([
        sys.executable, 'tools/analysis/benchmark_bottomup.py',
        '--skip-models', '--people', '2', '--group-repeats', '2',
        '--real-maps',
        str(config),
        str(checkpoint), '--out',
        str(out)
    ])
    section = out.read_text().split(
        'Decoding of a trained model\'s maps (mln)')[1]
    assert section.startswith(', median of 2 runs (of 5 for the full restore '
                              'and on the device) after 2 warm-up runs')
    rows = parse_markdown_rows(section)
    images = [
        '000000000785.jpg (1)', '000000040083.jpg (2)', '000000196141.jpg (4)',
        '000000197388.jpg (5)'
    ]
    assert [row['image (annotated people)']
            for row in rows] == [i for i in images for _ in '1234']
    for full, resized, device in zip(rows[0::4], rows[1::4], rows[3::4]):
        for row in (resized, device):
            assert row['peaks'] == full['peaks'] and row[
                'people found'] == full['people found'], (full, row)
