# Copyright (c) OpenMMLab. All rights reserved.
"""tools/sample_demo.py (`make demo`): its arguments, the configs it refuses
before training, its settings, its summary and its user errors; the training
itself is replaced by a stand-in."""
import importlib.util
import math

import pytest
from mmengine.config import Config

from conftest import DEMO_CONFIG, REPO_ROOT

spec = importlib.util.spec_from_file_location(
    'sample_demo', REPO_ROOT / 'tools/sample_demo.py')
sample_demo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sample_demo)

BOTTOMUP_CONFIGS = [
    'configs/demo/paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py',
    'configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py',
]


class NoRunner:
    """Fails the test if a Runner is built."""

    @staticmethod
    def from_cfg(cfg):
        raise AssertionError('the Runner was built')


@pytest.mark.parametrize('option', ['--score-thr', '--kpt-thr'])
@pytest.mark.parametrize('value', ['nan', '-0.1', '1.5', 'inf', 'x'])
def test_thresholds_outside_the_unit_interval_are_usage_errors(
        option, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sample_demo.parse_args([option, value])
    assert exit_info.value.code == 2
    assert option in capsys.readouterr().err


def test_thresholds_in_the_unit_interval_are_taken():
    args = sample_demo.parse_args(['--score-thr', '0', '--kpt-thr', '1'])
    assert (args.score_thr, args.kpt_thr) == (0.0, 1.0)
    args = sample_demo.parse_args([])
    assert (args.score_thr, args.kpt_thr) == (0.5, 0.3)


@pytest.mark.parametrize('config', BOTTOMUP_CONFIGS)
def test_bottomup_configs_are_refused_before_the_runner(
        config, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sample_demo, 'Runner', NoRunner)
    with pytest.raises(SystemExit) as exit_info:
        sample_demo.main(['--config', config, '--work-dir', str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert config in err and 'top-down' in err


def test_a_test_dataset_without_bbox_file_is_refused(tmp_path, monkeypatch,
                                                     capsys):
    config = tmp_path / 'no_bbox.py'
    config.write_text(f'_base_ = [{str(DEMO_CONFIG)!r}]\n'
                      'test_dataloader = dict(dataset=dict(bbox_file=None))\n')
    monkeypatch.setattr(sample_demo, 'Runner', NoRunner)
    with pytest.raises(SystemExit) as exit_info:
        sample_demo.main(['--config', str(config)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert str(config) in err and 'bbox_file' in err


def test_the_demo_config_can_be_drawn():
    assert sample_demo.undrawable_reason(Config.fromfile(DEMO_CONFIG)) is None


def test_a_misspelt_model_type_is_said_to_be_unregistered():
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.type = 'TopDownPoseEstimator'
    assert sample_demo.undrawable_reason(cfg) == (
        "its model type 'TopDownPoseEstimator' is in no registry (spelt "
        'right? custom_imports?)')


def test_no_validation_during_training_and_seed_0_unless_given(tmp_path):
    args = sample_demo.parse_args(['--work-dir', str(tmp_path)])
    cfg = sample_demo.prepare_config(Config.fromfile(DEMO_CONFIG), args)
    assert cfg.val_cfg is None and cfg.val_dataloader is None
    assert cfg.val_evaluator is None
    assert cfg.test_dataloader.dataset.bbox_file  # the test is kept
    assert cfg.randomness.seed == 0
    assert cfg.work_dir == str(tmp_path)
    args = sample_demo.parse_args(['--seed', '7'])
    cfg = sample_demo.prepare_config(Config.fromfile(DEMO_CONFIG), args)
    assert cfg.randomness.seed == 7


def test_the_runner_accepts_the_demo_settings(tmp_path):
    """mmengine builds the demo's Runner (hooks included) without a val loop,
    and its test loop with the config's test data."""
    from mmengine.runner import Runner
    args = sample_demo.parse_args(['--work-dir', str(tmp_path)])
    cfg = sample_demo.prepare_config(Config.fromfile(DEMO_CONFIG), args)
    runner = Runner.from_cfg(cfg)
    assert runner.val_loop is None
    assert runner.seed == 0
    assert len(runner.test_loop.dataloader.dataset) > 0


class FakeRunner:
    """Records the config; 'trains' by writing last_checkpoint."""
    built = []
    hooks = []

    def __init__(self, cfg):
        self.cfg = cfg
        self.test_loop = object()

    @classmethod
    def from_cfg(cls, cfg):
        runner = cls(cfg)
        cls.built.append(runner)
        return runner

    def train(self):
        (sample_demo.Path(self.cfg.work_dir) / 'last_checkpoint').write_text(
            str(sample_demo.Path(self.cfg.work_dir) / 'epoch_300.pth'))

    def test(self):
        return {
            'coco/AP': 0.5,
            'coco/AP .5': 0.75,
            'coco/AP .75': 0.25,
            'coco/AR': 0.625
        }


def test_summary_is_printed_before_drawing(tmp_path, monkeypatch, capsys):

    def failing_draw(*args):
        raise AttributeError('drawing failed')

    FakeRunner.built.clear()
    monkeypatch.setattr(sample_demo, 'Runner', FakeRunner)
    monkeypatch.setattr(sample_demo, 'draw_predictions', failing_draw)
    with pytest.raises(AttributeError):
        sample_demo.main(['--work-dir', str(tmp_path)])
    out = capsys.readouterr().out
    assert 'AP     0.500' in out and 'AR     0.625' in out
    assert str(tmp_path / 'epoch_300.pth') in out
    assert 'runner.train() alone' in out
    assert (tmp_path / 'demo_metrics.json').is_file()
    [runner] = FakeRunner.built
    assert runner.cfg.val_cfg is None and runner.cfg.randomness.seed == 0


def test_the_summary_names_the_pictures(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sample_demo, 'Runner', FakeRunner)
    monkeypatch.setattr(sample_demo, 'draw_predictions',
                        lambda *args: [tmp_path / 'vis/a.jpg'])
    sample_demo.main(['--work-dir', str(tmp_path)])
    out = capsys.readouterr().out
    assert str(tmp_path / 'vis/a.jpg') in out and '(1 images)' in out


def test_a_corrupt_bbox_file_is_one_line_before_the_training(
        tmp_path, monkeypatch, capsys):
    """The test data is loaded before the training; its error is one line
    naming the file and exit status 2, as tools/train.py and tools/test.py
    give."""
    bbox_file = tmp_path / 'boxes.json'
    bbox_file.write_text('{not json')
    config = tmp_path / 'corrupt.py'
    config.write_text(
        f'_base_ = [{str(DEMO_CONFIG)!r}]\n'
        f'test_dataloader = dict(dataset=dict(bbox_file={str(bbox_file)!r}))\n'
    )

    def no_training(self):
        raise AssertionError('trained before checking the test data')

    from mmengine.runner import Runner
    monkeypatch.setattr(Runner, 'train', no_training)
    with pytest.raises(SystemExit) as exit_info:
        sample_demo.main(
            ['--config',
             str(config), '--work-dir',
             str(tmp_path / 'work')])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if 'error:' in line]
    assert line.startswith('tools/sample_demo.py: error: ')
    assert str(bbox_file) in line
    assert 'Traceback' not in err


def test_unit_interval_rejects_nan():
    with pytest.raises(Exception):
        sample_demo.unit_interval('nan')
    assert sample_demo.unit_interval('0.25') == 0.25
    assert not math.isnan(sample_demo.unit_interval('1'))
