# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark_dataloader.py: a config's pipeline timed per
transform on the sample, the workers it needs for a given GPU iteration, and
the PAF encoding's rate."""
import importlib.util

from conftest import REPO_ROOT, SAMPLE_CONFIGS

spec = importlib.util.spec_from_file_location(
    'benchmark_dataloader',
    REPO_ROOT / 'tools/analysis/benchmark_dataloader.py')
benchmark_dataloader = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark_dataloader)


def test_report_names_every_transform_and_counts_the_workers(tmp_path):
    config = str(REPO_ROOT / SAMPLE_CONFIGS['mln'])
    out = tmp_path / 'report.md'
    benchmark_dataloader.main([
        config, '--samples', '3', '--iteration-ms', '1', '--encode-people',
        '1', '3', '--out',
        str(out)
    ])
    report = out.read_text()
    rows = [[cell.strip() for cell in line.strip('|').split('|')]
            for line in report.splitlines() if line.startswith('| paf_mln')]
    [cells] = [row for row in rows if len(row) == 8]  # the pipeline table
    # the encoding table: 1 and 3 people
    [rates] = [row for row in rows if len(row) == 3]
    ms, batch, batch_ms, workers_needed = float(cells[1]), int(
        cells[3]), float(cells[4]), cells[7]
    # as rounded in the table
    assert ms > 0 and batch == 4 and abs(batch_ms - 4 * ms) <= 0.52
    # one worker per ms of a batch at 1 ms an iteration
    assert int(workers_needed) >= batch_ms
    for transform in ('BottomupRandomAffine', 'GenerateTarget',
                      'BottomupGetHeatmapMask', 'PackPoseInputs'):
        assert transform in report
    assert all(float(rate) > 0 for rate in rates[1:])


def test_the_image_decoding_before_the_pipeline_has_its_own_row(tmp_path):
    """``CheckedCocoDataset`` decodes the image before its pipeline
    (``LoadImage`` finds it decoded): the decoding is a row of its own, first,
    and takes longer than ``LoadImage``."""
    config = str(REPO_ROOT / SAMPLE_CONFIGS['mln'])
    out = tmp_path / 'report.md'
    benchmark_dataloader.main([config, '--samples', '4', '--out', str(out)])
    [detail] = [
        line for line in out.read_text().splitlines()
        if line.startswith('- `paf_mln')
    ]
    rows = dict(
        item.rsplit(' ', 1) for item in detail.split(': ', 1)[1].split(', '))
    assert list(rows)[:2] == ['image decode (CheckedCocoDataset)', 'LoadImage']
    assert float(rows['image decode (CheckedCocoDataset)']) > float(
        rows['LoadImage'])
