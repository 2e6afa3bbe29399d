"""tools/analysis/benchmark_single_stage.py: on small scenes it times SMPR and the top-down
pipeline, finds every person of each scene in the trained-model post-processing, and writes the
markdown table."""
import sys

from .test_benchmark_bottomup import parse_markdown_rows


def test_single_stage_benchmark_times_both_paradigms_per_scene(run_tool, tmp_path):
    out = tmp_path / 't.md'
    proc = run_tool([sys.executable, 'tools/analysis/benchmark_single_stage.py', '--people', '1',
                     '3', '--image-size', '256', '--warmup', '0', '--repeats', '1', '--out',
                     str(out)])
    text = out.read_text()
    assert text.strip() in proc.stdout
    rows = parse_markdown_rows(text)
    assert [row['people'] for row in rows] == ['1', '3']
    for row in rows:
        assert row['SMPR post-processing, trained (ms)'].endswith(f'({row["people"]} found)'), row
        for column in ('SMPR total (ms)', 'detector (ms)', 'pose model on the boxes (ms)',
                       'top-down total (ms)'):
            assert float(row[column]) > 0, row
