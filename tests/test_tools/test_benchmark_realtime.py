# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark_realtime.py on the width-reduced sample models: it
writes the people video, plays it through each pipeline with both backends,
every pipeline finds every person of every frame, and the tables and the
annotated videos come out."""
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import benchmark_realtime
from conftest import DEMO_CONFIG, REPO_ROOT, save_random_checkpoint
from test_tools.test_benchmark_bottomup import parse_markdown_rows

pytestmark = pytest.mark.e2e

DEMO = REPO_ROOT / 'configs/demo'


def test_every_pipeline_and_backend_plays_the_video_and_finds_its_people(
        tmp_path, capsys):
    out = tmp_path / 'realtime.md'
    # SMPR with mmcv's deformable convolution, which has no bf16 kernel on a
    # CPU (the default samples there and runs in bf16,
    # tests/test_apis/test_fast_network.py): a pipeline the fast path refuses
    smpr_config = tmp_path / 'smpr_mmcv_deform_conv.py'
    sample = DEMO / 'smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py'
    smpr_config.write_text(f"_base_ = ['{sample}']\n"
                           "model = dict(head=dict(deform_conv='mmcv'))\n")
    benchmark_realtime.main([
        '--people', '3', '--frames', '2', '--warmup', '1', '--image-size',
        '320', '240', '--pipelines', 'topdown', 'mln', 'openpose', 'smpr',
        '--backends', 'pytorch', 'onnxruntime', 'pytorch-bf16',
        '--device-preprocess', '--pipelined', '--topdown-config',
        str(DEMO / 'td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py'),
        '--mln-config',
        str(DEMO / 'paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py'),
        '--openpose-config',
        str(DEMO / 'paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py'),
        '--smpr-config',
        str(smpr_config), '--out-dir',
        str(tmp_path), '--out',
        str(out)
    ])
    text = out.read_text()
    assert text.strip() in capsys.readouterr().out
    stage_table, ratio_table = (
        block for block in text.split('\n\n') if block.startswith('|'))
    rows = parse_markdown_rows(stage_table)
    # the refused pipeline: the run says so and goes on
    assert [(row['pipeline'], row['backend']) for row in rows
            ] == [(name, backend)
                  for backend in ('pytorch', 'onnxruntime', 'pytorch-bf16')
                  for name in ('topdown', 'mln', 'openpose', 'smpr')][:-1]
    assert ('- smpr, pytorch-bf16, 3 people: PyramidBottomupPoseEstimator '
            '(ResNet) cannot run on '
            'the fast path bf16 + channels_last on cpu') in text
    for row in rows:
        assert row['found'] == '3', row
        assert float(row['FPS']) > 0 and float(row['network (ms)']) > 0, row
        assert (row['detector (ms)']
                != '-') == (row['pipeline'] == 'topdown'), row
    ratios = parse_markdown_rows(ratio_table)
    assert [row['backend']
            for row in ratios] == ['pytorch', 'onnxruntime', 'pytorch-bf16']
    assert all(row['OpenPose / MLN'].endswith('x') for row in ratios)
    for row in rows:
        video = cv2.VideoCapture(
            str(tmp_path / f"{row['pipeline']}_{row['backend']}_people_3.mp4"))
        assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
        assert (video.get(cv2.CAP_PROP_FRAME_WIDTH),
                video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (320, 240)
        video.release()
    assert Path(tmp_path / 'people_3.mp4').exists()


def test_a_trained_pipeline_without_its_checkpoint_is_refused_first(tmp_path):
    """``--pipelines tfpose`` with no converted checkpoint stops before any
    video is written, naming the file and what makes it."""
    missing = tmp_path / 'none.pth'
    with pytest.raises(SystemExit) as stop:
        benchmark_realtime.main([
            '--pipelines', 'mln', 'tfpose', '--tfpose-checkpoint',
            str(missing), '--out-dir',
            str(tmp_path / 'out')
        ])
    assert str(missing) in str(stop.value)
    assert 'make tfpose' in str(stop.value)
    assert not (tmp_path / 'out').exists()

    # a checkpoint of another model: refused once, not in every run's row
    other = save_random_checkpoint(DEMO_CONFIG, tmp_path / 'hsr.pth')
    with pytest.raises(SystemExit) as stop:
        benchmark_realtime.main([
            '--pipelines', 'tfpose', '--tfpose-checkpoint',
            str(other), '--out-dir',
            str(tmp_path / 'out')
        ])
    assert str(
        stop.value).startswith('benchmark_realtime.py: --tfpose-checkpoint: ')
    assert str(other) in str(stop.value)
    assert not (tmp_path / 'out').exists()


def test_the_trained_pipeline_runs_only_when_named_or_with_all():
    assert 'tfpose' not in benchmark_realtime.parse_args([]).pipelines
    # 'all' (gpu_check's, where the checkpoint is carried): every pipeline
    everything = benchmark_realtime.parse_args(['--pipelines', 'all'])
    assert everything.pipelines == list(benchmark_realtime.PIPELINES)
    assert 'tfpose' in everything.pipelines


class _FakeHead:

    def predict(self, *args):
        return None

    def forward(self, *args):
        return None


class _FakeModel:
    """What play() needs of a pose model, and no network."""

    head = _FakeHead()
    dataset_meta = dict(sigmas=np.full(17, 0.05), skeleton_links=[(0, 1)])

    def extract_feat(self, inputs):
        return inputs


def _play_with_slow_drawing(tmp_path,
                            monkeypatch,
                            options,
                            released,
                            fail_at=None):
    """play() of 6 frames after 1 with a network that takes no time and a
    drawing of 30 ms a frame (raising at frame ``fail_at``); returns play()'s
    result; the names of the output videos released are added to
    ``released``."""
    import custom_modules.apis as apis
    real_writer, draw = (benchmark_realtime.open_video_writer,
                         apis.draw_tracked_people)

    class Writer:

        def __init__(self, path, size):
            self.path, self.video = path, real_writer(path, size)

        def write(self, frame):
            self.video.write(frame)

        def release(self):
            released.append(Path(self.path).name)
            self.video.release()

    drawn = []

    def slow_draw(frame, people, links):
        time.sleep(0.03)
        if len(drawn) == fail_at:
            raise RuntimeError('drawing failed')
        drawn.append(len(people))
        return draw(frame, people, links)

    person = dict(
        keypoints=np.full((17, 2), 50.0), keypoint_scores=np.ones(17))
    monkeypatch.setattr(benchmark_realtime, 'open_video_writer', Writer)
    monkeypatch.setattr(benchmark_realtime, 'build_pipeline', lambda *args:
                        (_FakeModel(), None))
    monkeypatch.setattr(benchmark_realtime, 'bottomup_step',
                        lambda *args: lambda frame, index: [dict(person)])
    monkeypatch.setattr(apis, 'draw_tracked_people', slow_draw)
    args = benchmark_realtime.parse_args(
        ['--frames', '6', '--warmup', '1', '--image-size', '160', '120'] +
        options)
    video = tmp_path / 'people_1.mp4'
    frames_people = benchmark_realtime.write_video(video, 1, 7, (160, 120),
                                                   2.0)
    released.clear()
    return benchmark_realtime.play('mln', 'pytorch', video, frames_people,
                                   args, tmp_path)


@pytest.mark.parametrize('options', [[], ['--pipelined']])
def test_the_fps_counts_every_frame_until_it_is_written(
        tmp_path, monkeypatch, options):
    """Drawing takes 30 ms a frame, so no run can write its frames faster than
    33.3 FPS; pipelined, the frames still queued in the writer thread when the
    input ends are waited for within the run's time (they were not: 6 frames
    queued behind a network of no time read 100+ FPS)."""
    released = []
    result = _play_with_slow_drawing(tmp_path, monkeypatch, options, released)
    assert result['fps'] <= 1 / 0.03
    assert result['found'] == 1
    assert released == ['mln_pytorch_people_1.mp4']
    video = cv2.VideoCapture(str(tmp_path / 'mln_pytorch_people_1.mp4'))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 7
    video.release()


def test_a_failing_pipelined_run_raises_its_error_and_releases_its_videos(
        tmp_path, monkeypatch):
    released = []
    with pytest.raises(RuntimeError, match='drawing failed'):
        _play_with_slow_drawing(
            tmp_path, monkeypatch, ['--pipelined'], released, fail_at=3)
    assert released == ['mln_pytorch_people_1.mp4']


def test_a_failed_run_is_listed_and_the_others_still_run(
        tmp_path, monkeypatch, capsys):
    """One pipeline raising (e.g. a CUDA graph that cannot be captured) costs
    its own row only; the tables say which failed and the exit status is not
    0. The report file holds each row as soon as it is measured (a run stopped
    at a time limit keeps them)."""
    out = tmp_path / 'realtime.md'
    written_before = []

    def play(name, backend, *args):
        if name == 'mln':
            written_before.append(out.read_text())
            raise RuntimeError('capture failed')
        return dict(fps=10.0, found=1, network=50.0)

    monkeypatch.setattr(benchmark_realtime, 'play', play)
    with pytest.raises(SystemExit) as stop:
        benchmark_realtime.main([
            '--people', '1', '--frames', '1', '--warmup', '0', '--image-size',
            '160', '120', '--pipelines', 'openpose', 'mln', '--backends',
            'pytorch', '--out-dir',
            str(tmp_path), '--out',
            str(out)
        ])
    assert '1 of 2 runs failed' in str(stop.value)
    text = out.read_text()
    rows = parse_markdown_rows(
        next(block for block in text.split('\n\n') if block.startswith('|')))
    assert [row['pipeline'] for row in rows] == ['openpose']
    assert '- mln, pytorch, 1 people: RuntimeError: capture failed' in text
    assert 'capture failed' in capsys.readouterr().err
    [before] = written_before
    assert '| openpose | pytorch | 1 | 1 | 10.00 |' in before


@pytest.mark.parametrize('option', [['--frames', '0'], ['--warmup', '-1'],
                                    ['--people', '3', '0']])
def test_counts_that_measure_nothing_are_refused(option):
    with pytest.raises(SystemExit) as stop:
        benchmark_realtime.parse_args(option)
    assert stop.value.code == 2
