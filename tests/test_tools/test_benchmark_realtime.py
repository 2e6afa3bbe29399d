# Copyright (c) OpenMMLab. All rights reserved.
"""tools/analysis/benchmark_realtime.py on the width-reduced sample models: it
writes the people video, plays it through each pipeline with both backends,
every pipeline finds every person of every frame, and the tables and the
annotated videos come out."""
from pathlib import Path

import cv2
import pytest

import benchmark_realtime
from conftest import REPO_ROOT
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
    sample = DEMO / 'smpr_r18-w16-fpn_1xb4-1000e_coco-sample-256x192.py'
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


def test_the_trained_pipeline_runs_only_when_named_or_with_all():
    assert 'tfpose' not in benchmark_realtime.parse_args([]).pipelines
    # 'all' (gpu_check's, where the checkpoint is carried): every pipeline
    everything = benchmark_realtime.parse_args(['--pipelines', 'all'])
    assert everything.pipelines == list(benchmark_realtime.PIPELINES)
    assert 'tfpose' in everything.pipelines
