# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark.py: on small settings it fills the model table
(sizes, MACs, peak memory, latencies), times the three paradigms on scenes
where each finds every person, and writes the markdown report and the PNG plot.
"""
import argparse
import importlib.util
import sys
import threading

import pytest
import torch

import benchmark  # noqa: E402 (tools/analysis, on sys.path by conftest)
from .test_benchmark_bottomup import parse_markdown_rows
from conftest import REPO_ROOT

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
        DEMO + 'smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py',
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
        # the decodings' counts (the top-down model is handed N boxes)
        assert r['people found (MLN / SMPR)'] == ' / '.join([r['people']] *
                                                            2), r
        assert float(r['top-down total (ms)']) >= float(r['detector (ms)']) > 0
        assert float(r['MLN (ms)']) > 0 and float(r['SMPR (ms)']) > 0


def test_a_head_without_perfect_outputs_is_named():
    from custom_modules.testing.perfect_outputs import perfect_outputs
    with pytest.raises(TypeError, match=r'Conv2d has no perfect_outputs\('):
        perfect_outputs(torch.nn.Conv2d(1, 1, 1), None, [(8, 8)], (64, 64))


def test_a_memory_probe_whose_process_dies_is_named_not_waited_for(capfd):
    """The probe's process fails at once (no such config): its memory reads
    n/a, with the config and the exit code on stderr, at once (before: a wait
    of 30 minutes, then a bare ``queue.Empty``)."""
    spec = benchmark.ModelSpec('configs/no_such_config.py', (64, 64), 'crop')
    result = []
    probe = threading.Thread(
        target=lambda: result.append(benchmark.peak_memory_mib(spec, [1, 2])),
        daemon=True)
    probe.start()
    probe.join(timeout=120)
    assert result == [[None, None]]
    assert ('peak memory of configs/no_such_config.py not measured: its '
            'process exited with code 1') in capfd.readouterr().err


def test_a_missing_config_is_refused_before_any_measurement(
        monkeypatch, capsys):
    """Each config option naming no file is named with the file it would be
    (relative to the repository), in argparse's usage error (before: a
    traceback after the model table)."""
    monkeypatch.setattr(sys, 'argv', [
        'benchmark.py', '--detector-config', 'configs/no_such_detector.py',
        '--pose-config', 'configs/no_such_pose.py', '--mln-config',
        'configs/no_such_mln.py', '--smpr-config', 'configs/no_such_smpr.py'
    ])
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args()
    assert exit_info.value.code == 2
    [error] = [
        line for line in capsys.readouterr().err.splitlines()
        if line.startswith('benchmark.py: error: ')
    ]
    for option in ('detector', 'pose', 'mln', 'smpr'):
        assert (f'--{option}-config configs/no_such_{option}.py '
                f'({REPO_ROOT}/configs/no_such_{option}.py)') in error


def test_a_late_failure_keeps_the_model_table_on_disk(monkeypatch, tmp_path):
    """A pose config that cannot be built fails the people curve, after the
    model table: ``benchmark.md`` already holds the table, and says the curve
    was not measured (before: nothing was written)."""
    broken = tmp_path / 'broken_pose.py'
    broken.write_text(
        "model = dict(type='NoSuchPoseEstimator', backbone=dict())\n")
    monkeypatch.setattr(sys, 'argv', [
        'benchmark.py', '--models', 'simplebaseline-r50', '--skip-memory',
        '--crop-batch', '1', '--people', '1', '--warmup', '0', '--repeats',
        '1', '--pose-config',
        str(broken), '--out-dir',
        str(tmp_path / 'out')
    ])
    with pytest.raises(KeyError, match='NoSuchPoseEstimator'):
        benchmark.main()
    text = (tmp_path / 'out/benchmark.md').read_text()
    [row] = parse_markdown_rows(text.split('\n\n', 1)[1])
    assert row['model'] == 'simplebaseline-r50'
    assert float(row['latency b1 (ms)']) > 0
    assert 'The people curve was not measured' in text


def test_the_people_curve_runs_every_paradigm_without_flip_test(monkeypatch):
    """The top-down pose model (HSR-MSNet's configs flip) and the bottom-up
    models (the sample MLN config flips) all run without flip test, and the
    table gives people found for the bottom-up decodings only (the top-down
    model gives one pose per box it is handed)."""
    import mmpose.apis
    from mmdet.utils import register_all_modules as register_mmdet
    from mmpose.utils import register_all_modules as register_mmpose

    from custom_modules.apis import topdown_pipeline

    register_mmdet(init_default_scope=False)
    register_mmpose()
    flips = {'top-down': [], 'bottom-up': []}

    def spy(module, name, paradigm):
        inference = getattr(module, name)

        def call(model, *args, **kwargs):
            flips[paradigm].append(model.test_cfg.get('flip_test', False))
            return inference(model, *args, **kwargs)

        monkeypatch.setattr(module, name, call)

    spy(topdown_pipeline, 'inference_topdown', 'top-down')
    spy(mmpose.apis, 'inference_bottomup', 'bottom-up')
    table, _ = benchmark.people_curve(
        argparse.Namespace(
            people=[2],
            image_size=320,
            device='cpu',
            warmup=0,
            repeats=1,
            detector_config=benchmark.DETECTOR_CONFIG,
            pose_config=DEMO +
            'td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py',
            mln_config=DEMO +
            'paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py',
            smpr_config=DEMO +
            'smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py'))
    assert flips['top-down'] and not any(flips['top-down'])
    assert flips['bottom-up'] and not any(flips['bottom-up'])
    [row] = parse_markdown_rows(table)
    assert row['people found (MLN / SMPR)'] == '2 / 2'
    # as gpu_check's people check reads it (it looked for three counts, and
    # failed every run, after the top-down count was dropped)
    spec = importlib.util.spec_from_file_location(
        'gpu_check', REPO_ROOT / 'tools/misc/gpu_check.py')
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    found_all, notes = gpu_check.people_results(table.splitlines())
    assert found_all and notes[0].startswith('- 2 people: SMPR / top-down ')
    missed = table.replace('| 2 / 2 |', '| 2 / 1 |')
    assert not gpu_check.people_results(missed.splitlines())[0]
