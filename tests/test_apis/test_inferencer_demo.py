# Copyright (c) OpenMMLab. All rights reserved.
"""tools/inferencer_demo.py in-process (``main(argv)``) on images, folders,
videos, a fake camera and fake streams: mmpose's output (drawings, predictions)
and the project's (an .mp4 with the timing overlay, the per-stage timing
summary, track ids), the exit status (1: an unreadable image, a truncated
video, a camera or stream that stopped; 2: one ``error:`` line before anything
runs), Ctrl-C, the onnxruntime backend and the model aliases.

Random weights, or a network replaced by given people
(:func:`~.demo_fakes.fake_network`): what is checked is the plumbing.
"""
import json
import logging
import re
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from .demo_fakes import (HSR_SAMPLE_CONFIG, REPO_ROOT, FakeCapture, FakeClock,
                         RealCapture, fake_network, frame_index,
                         install_fake_capture, load_tool, make_video,
                         patch_inferencer, person, read_video, small_mln_files,
                         write_image)
from conftest import save_random_checkpoint

STAGES = (r'timing over (\d+) frames? \(mean ms per frame\): (.*); '
          r'([\d.]+|\?) FPS end to end')
DROPPED = '(it dropped, was unplugged or its sender stopped)'


@pytest.fixture(scope='module')
def demo() -> types.ModuleType:
    return load_tool('inferencer_demo')


@pytest.fixture(scope='module')
def small_mln(tmp_path_factory):
    """``(config, checkpoint)``: the sample MLN at 64x64, random weights."""
    return small_mln_files(tmp_path_factory.mktemp('mln'))


@pytest.fixture(scope='module')
def hsr_checkpoint(tmp_path_factory):
    return save_random_checkpoint(HSR_SAMPLE_CONFIG,
                                  tmp_path_factory.mktemp('hsr') / 'hsr.pth')


@pytest.fixture
def mln_args(small_mln):
    config, checkpoint = small_mln
    return [
        '--pose2d',
        str(config), '--pose2d-weights',
        str(checkpoint), '--device', 'cpu'
    ]


@pytest.fixture
def fake_capture(monkeypatch):
    return install_fake_capture(monkeypatch)


def stages_of(out: str) -> dict:
    """``{stage: ms}`` of the timing summary in ``out``."""
    match = re.search(STAGES, out)
    assert match, out[-2000:]
    return {
        name: float(ms)
        for name, ms in (item.rsplit(' ', 1)
                         for item in match.group(2).split(', '))
    }


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# ---------------------------------------------------------- images and folders
def test_a_folder_goes_on_after_unreadable_images_and_exits_1(
        demo, mln_args, monkeypatch, tmp_path, capsys):
    """Five inputs, two unreadable, one already done (``--skip-existing``): the
    others are run, each failure is logged with its reason and named on the
    last line, status 1."""
    from custom_modules.apis.inferencers import pose2d_inferencer
    images = tmp_path / 'images'
    pred_dir, vis_dir = tmp_path / 'pred', tmp_path / 'vis'
    for name in ('a.jpg', 'c.png', 'e.jpg'):
        write_image(images / name)
    (images / 'b.jpg').write_bytes(b'')
    (images / 'd.jpg').write_text('text')
    pred_dir.mkdir()
    (pred_dir / 'e.json').write_text('[{"from": "before"}]')
    logged = []
    monkeypatch.setattr(
        pose2d_inferencer,
        'print_log',
        lambda msg, logger=None, level=None: logged.append((level, msg)))
    status = demo.main([
        str(images), *mln_args, '--pred-out-dir',
        str(pred_dir), '--vis-out-dir',
        str(vis_dir), '--skip-existing'
    ])
    assert status == 1
    assert sorted(
        p.name for p in pred_dir.iterdir()) == ['a.json', 'c.json', 'e.json']
    assert json.loads((pred_dir / 'e.json').read_text()) == [{
        'from': 'before'
    }]
    assert sorted(p.name for p in vis_dir.iterdir()) == ['a.jpg', 'c.png']
    assert cv2.imread(str(vis_dir / 'a.jpg')).shape == (8, 10, 3)
    assert [level for level, _ in logged] == [logging.ERROR] * 2
    assert logged[0][1].startswith(f'{images / "b.jpg"}: empty file (0 bytes)')
    assert logged[1][1].startswith(
        f'{images / "d.jpg"}: not an image OpenCV can decode')
    out, err = capsys.readouterr()
    assert last_line(out) == (
        f'2 images done: drawings in {vis_dir}, predictions in {pred_dir}; '
        '1 skipped (their predictions were already there)')
    assert 'timing over 2 frames' in out
    assert last_line(err) == 'error: 2 images could not be read: b.jpg, d.jpg'


def test_a_readable_image_is_drawn_and_exits_0(demo, mln_args, tmp_path,
                                               capsys):
    image = write_image(tmp_path / 'one.jpg', size=(64, 48))
    argv = [str(image), *mln_args, '--vis-out-dir', str(tmp_path / 'vis')]
    assert demo.main(argv + ['--pred-out-dir', str(tmp_path / 'pred')]) == 0
    assert cv2.imread(str(tmp_path / 'vis/one.jpg')).shape == (48, 64, 3)
    assert isinstance(
        json.loads((tmp_path / 'pred/one.json').read_text()), list)
    assert last_line(capsys.readouterr().out) == (
        f'1 images done: drawings in {tmp_path / "vis"}, predictions in '
        f'{tmp_path / "pred"}')


# ---------------------------------------------------------------------- videos
def test_a_video_gives_an_mp4_of_its_frames_and_the_summaries(
        demo, mln_args, tmp_path, capsys):
    video = make_video(tmp_path / 'clip.mp4', 6, size=(160, 120), fps=12)
    out_dir = tmp_path / 'out'
    status = demo.main([
        str(video), *mln_args, '--vis-out-dir',
        str(out_dir / 'vis'), '--pred-out-dir',
        str(out_dir / 'pred'), '--output-video',
        str(tmp_path / 'drawn.mp4')
    ])
    assert status == 0
    assert read_video(tmp_path / 'drawn.mp4') == (6, (160, 120), 12.0)
    # mmpose's: the drawings of a video in one video, its predictions in one
    # JSON
    assert read_video(out_dir / 'vis/clip.mp4') == (6, (160, 120), 12.0)
    assert [p.name for p in (out_dir / 'pred').iterdir()] == ['clip.json']
    frames = json.loads((out_dir / 'pred/clip.json').read_text())
    assert [frame['frame_id'] for frame in frames] == list(range(6))
    assert all(isinstance(frame['instances'], list) for frame in frames)
    out = capsys.readouterr().out
    stages = stages_of(out)
    assert list(stages) == [
        'reading', 'preprocess', 'network', 'decoding', 'drawing', 'writing',
        'other'
    ]
    assert stages['network'] > 0 and stages['decoding'] > 0
    assert (f'video: {tmp_path / "drawn.mp4"} (6 frames, 160x120, 12 FPS the '
            'input\'s)') in out
    assert last_line(out) == (
        f'6 images done: drawings in {out_dir / "vis"}, predictions in '
        f'{out_dir / "pred"}')


def test_a_stream_that_drops_is_named_and_a_truncated_video_counted(
        demo, mln_args, fake_capture, monkeypatch, tmp_path, capsys):
    """A stream that stops giving frames, and a video file that gives fewer
    frames than it announces (the second half of an AVI cut off): each is named
    on the last line and the exit status is 1; the frames read before are
    processed (by a network finding nobody)."""
    patch_inferencer(monkeypatch,
                     lambda pose2d: fake_network(pose2d, lambda name: []))
    url = 'rtsp://192.0.2.1:554/live'
    assert demo.main(
        [url, *mln_args, '--pred-out-dir',
         str(tmp_path / 'stream')]) == 1
    assert last_line(capsys.readouterr().err) == (
        f'error: {url}: the stream stopped giving frames after 6 {DROPPED}')
    assert len(json.loads((tmp_path / 'stream/stream.json').read_text())) == 6

    # a file served at a URL announces its frames: its end is no drop
    monkeypatch.setattr(FakeCapture, 'count', 6)
    assert demo.main(['https://example.org/clip.mp4', *mln_args]) == 0
    assert 'error' not in capsys.readouterr().err

    monkeypatch.setattr(cv2, 'VideoCapture', RealCapture)  # for the file
    video = tmp_path / 'cut.avi'
    writer = cv2.VideoWriter(
        str(video), cv2.VideoWriter_fourcc(*'MJPG'), 10, (64, 48))
    for i in range(30):
        writer.write(np.full((48, 64, 3), 8 * i, np.uint8))
    writer.release()
    video.write_bytes(video.read_bytes()[:video.stat().st_size // 2])
    assert demo.main(
        [str(video), *mln_args, '--pred-out-dir',
         str(tmp_path / 'cut')]) == 1
    last = last_line(capsys.readouterr().err)
    read = re.fullmatch(
        rf'error: {re.escape(str(video))}: OpenCV read (\d+) of the 30 frames '
        r'the video announces \(a truncated or damaged file\?\)', last)
    assert read, last
    assert 0 < int(read.group(1)) < 30
    assert len(json.loads(
        (tmp_path / 'cut/cut.json').read_text())) == int(read.group(1))


# --------------------------------------------------------------------- cameras
def test_a_camera_writes_its_predictions_and_a_video_at_the_measured_rate(
        demo, mln_args, fake_capture, monkeypatch, tmp_path, capsys):
    """A camera that does not tell its rate, frames 0.1 s apart: the video gets
    10 FPS; each tracked person has a ``track_id``; the camera then stops
    giving frames (unplugged): named, exit status 1."""
    clock = FakeClock()
    patch_inferencer(
        monkeypatch, lambda pose2d: fake_network(
            pose2d,
            lambda name: [person(20, 5, 30),
                          person(45, 5, 30)],
            clock,
            seconds=0.1))
    status = demo.main([
        '0', *mln_args, '--pred-out-dir',
        str(tmp_path / 'pred'), '--output-video',
        str(tmp_path / 'cam.mp4'), '--track', '--smooth'
    ])
    assert status == 1
    assert read_video(tmp_path / 'cam.mp4') == (6, (64, 48), 10.0)
    assert [p.name for p in (tmp_path / 'pred').iterdir()] == ['camera0.json']
    frames = json.loads((tmp_path / 'pred/camera0.json').read_text())
    assert [frame['frame_id'] for frame in frames] == list(range(6))
    assert [[p['track_id'] for p in frame['instances']]
            for frame in frames] == [[0, 1]] * 6
    assert fake_capture.instances[0].released
    captured = capsys.readouterr()
    summary = (f'video: {tmp_path / "cam.mp4"} '
               '(6 frames, 64x48, 10 FPS measured)')
    assert summary in captured.out
    assert 'tracking' in stages_of(captured.out)
    stopped = ('error: camera 0: the camera stopped giving frames after 6 '
               f'{DROPPED}')
    assert last_line(captured.err) == stopped


def test_a_camera_without_frames_gives_the_summaries(demo, mln_args,
                                                     monkeypatch, tmp_path,
                                                     capsys):
    install_fake_capture(monkeypatch, frames=0)
    assert demo.main(
        ['0', *mln_args, '--pred-out-dir',
         str(tmp_path / 'pred')]) == 1
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-2:] == [
        'timing: no frame processed',
        f'0 images done: predictions in {tmp_path / "pred"}'
    ]
    stopped = ('error: camera 0: the camera stopped giving frames after 0 '
               f'{DROPPED}')
    assert last_line(captured.err) == stopped


def test_ctrl_c_stops_a_camera_cleanly(demo, mln_args, monkeypatch, tmp_path,
                                       capsys):
    """Ctrl-C at the fifth frame: the video and the predictions of the four
    frames done are written, the camera released, status 0."""
    capture = install_fake_capture(monkeypatch, frames=1000)

    def people(name):
        if frame_index(name) == 4:
            raise KeyboardInterrupt
        return [person(30, 5, 30)]

    patch_inferencer(monkeypatch, lambda pose2d: fake_network(pose2d, people))
    status = demo.main([
        '0', *mln_args, '--pred-out-dir',
        str(tmp_path / 'pred'), '--output-video',
        str(tmp_path / 'cam.mp4')
    ])
    assert status == 0
    assert read_video(tmp_path / 'cam.mp4')[:2] == (4, (64, 48))
    frames = json.loads((tmp_path / 'pred/camera0.json').read_text())
    assert [len(frame['instances']) for frame in frames] == [1] * 4
    assert capture.instances[0].released and capture.instances[0].index == 5
    captured = capsys.readouterr()
    assert last_line(captured.err) == ('stopped by the user (Ctrl-C) '
                                       'after 4 frames')
    assert 'timing over 4 frames' in captured.out
    assert last_line(captured.out) == ('4 images done: predictions in '
                                       f'{tmp_path / "pred"}')


@pytest.mark.parametrize('source, spec', [('0', 0), ('webcam:1', 1)])
def test_each_shown_frame_has_the_timing_overlay(demo, mln_args, monkeypatch,
                                                 tmp_path, source, spec):
    """``--show`` (and mmpose's ``webcam:N``, which always shows): every frame
    goes to the visualizer's ``show`` with the FPS and stage times drawn at its
    top left (a network finding nobody: nothing else drawn)."""
    from mmpose.visualization import PoseLocalVisualizer
    patch_inferencer(monkeypatch,
                     lambda pose2d: fake_network(pose2d, lambda name: []))
    capture = install_fake_capture(monkeypatch, frames=3, size=(320, 240))
    monkeypatch.setenv('DISPLAY', ':0')
    shown = []
    monkeypatch.setattr(
        PoseLocalVisualizer, 'show',
        lambda self, image, *args, **kwargs: shown.append(image.copy()))
    # the camera stops after 3 frames
    assert demo.main([source, *mln_args, '--show']) == 1
    assert capture.instances[0].spec == spec
    assert len(shown) == 3
    for index, image in enumerate(shown, 1):
        assert image.shape == (240, 320, 3)
        assert image[2:20, 2:60].max() > 200  # the white text of the overlay
        # the frame below the overlay
        assert image[100:].max() == image[100:].min() == 10 * index


def test_smprs_heatmaps_on_the_fast_path_are_one_line_error(
        demo, tmp_path, capsys):
    """SMPR computes the maps it draws from its features, which the fast path
    (here bf16 on the CPU) does not give: refused once the model is built,
    before any image is read, and nothing written."""
    config = REPO_ROOT / (
        'configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py')
    checkpoint = save_random_checkpoint(config, tmp_path / 'smpr.pth')
    image = write_image(tmp_path / 'images' / 'a.jpg')
    assert demo.main([
        str(image), '--pose2d',
        str(config), '--pose2d-weights',
        str(checkpoint), '--device', 'cpu', '--bf16', '--draw-heatmap',
        '--vis-out-dir',
        str(tmp_path / 'vis')
    ]) == 2
    (line, ) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith('error: draw_heatmap: SMPRHead computes the maps')
    assert not (tmp_path / 'vis').exists()


# -------------------------------------------------------------------- top-down
def test_a_bbox_file_for_a_bottom_up_model_is_one_line_error(
        demo, mln_args, small_mln, tmp_path, capsys):
    """A bottom-up model finds the people itself: its boxes would be
    ignored."""
    image = write_image(tmp_path / 'images' / 'a.jpg')
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(
        json.dumps([dict(image_id=1, bbox=[1, 2, 3, 4], score=0.9)]))
    assert demo.main([str(image), *mln_args, '--bbox-file', str(boxes)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f'error: --bbox-file: person boxes are for top-down models; '
        f'{small_mln[0]} is bottomup and finds the people itself'
    ]


def test_person_boxes_of_a_bbox_file_are_tracked_and_drawn(
        demo, hsr_checkpoint, tmp_path, capsys):
    """Boxes from a file named after the video's frames (two people, one moving
    3 px a frame) instead of a detector: box-IoU tracking keeps their ids
    whatever the random keypoints, and the tracked people are drawn into the
    video."""
    video = make_video(tmp_path / 'walk.mp4', 4, size=(192, 128))
    images = [
        dict(id=i, file_name=f'walk_{i:06d}.jpg', width=192, height=128)
        for i in range(4)
    ]
    annotations = [
        dict(
            id=10 * i + j,
            image_id=i,
            category_id=1,
            bbox=[10 + 3 * i + 90 * j, 10, 60, 110]) for i in range(4)
        for j in range(2)
    ]
    bbox_file = tmp_path / 'boxes.json'
    bbox_file.write_text(
        json.dumps(dict(images=images, annotations=annotations)))
    status = demo.main([
        str(video), '--pose2d',
        str(HSR_SAMPLE_CONFIG), '--pose2d-weights',
        str(hsr_checkpoint), '--device', 'cpu', '--bbox-file',
        str(bbox_file), '--pred-out-dir',
        str(tmp_path / 'pred'), '--vis-out-dir',
        str(tmp_path / 'vis'), '--output-video',
        str(tmp_path / 'drawn.mp4'), '--track', '--draw-bbox'
    ])
    assert status == 0
    assert read_video(tmp_path / 'drawn.mp4')[:2] == (4, (192, 128))
    assert read_video(tmp_path / 'vis/walk.mp4')[:2] == (4, (192, 128))
    frames = json.loads((tmp_path / 'pred/walk.json').read_text())
    for i, frame in enumerate(frames):
        # mmpose's split_instances writes each box as [[x1, y1, x2, y2]]
        assert [(p['track_id'], p['bbox'][0], p['bbox_score'])
                for p in frame['instances']] == [
                    (0, [10 + 3 * i, 10, 70 + 3 * i, 120], 1.0),
                    (1, [100 + 3 * i, 10, 160 + 3 * i, 120], 1.0),
                ]
    stages = stages_of(capsys.readouterr().out)
    assert list(stages)[:4] == ['reading', 'preprocess', 'network', 'decoding']
    assert stages['network'] > 0 and 'tracking' in stages


# -------------------------------------------------------------------- refusals
@pytest.mark.parametrize('args, message', [
    ([], 'give INPUT and --pose2d (or --show-alias)'),
    (['--smooth'], '--smooth smooths tracked people: add --track'),
    (['--track', '--skeleton-style', 'openpose'
      ], "--skeleton-style openpose is mmpose's drawing, which --track"),
    (['--skip-existing'], '--skip-existing looks in --pred-out-dir: give it'),
    (['--bbox-file', 'b.json', '--det-model', 'd.py'
      ], '--bbox-file and --det-model / --det-weights exclude each other'),
    (['--output-fps', '0'], '--output-fps must be positive, got 0.0'),
    (['--fp16', '--bf16'], 'not allowed with argument'),
    (['--backend', 'tensorrt'], "invalid choice: 'tensorrt'"),
])
def test_contradicting_options_are_refused(demo, args, message, capsys):
    pose2d = ['--pose2d', 'c.py'] if args else []
    with pytest.raises(SystemExit) as exit_:
        demo.parse_args(['x.jpg', *pose2d, *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize('args, message', [
    (['--radius', '-2'], 'argument --radius: -2 is less than 0'),
    (['--thickness', '0'], 'argument --thickness: 0 is less than 1'),
    (['--track-ttl', '-1'], 'argument --track-ttl: -1 is less than 0'),
    (['--device', 'gpu'], "argument --device: 'gpu' is not a device"),
    (['--pred-out-dir', 'AFILE/preds'
      ], '--pred-out-dir: AFILE/preds: AFILE is a file, not a folder'),
    (['--vis-out-dir', 'AFILE'
      ], '--vis-out-dir: AFILE: is a file, not a folder'),
    (['--output-video', 'AFILE/v.mp4'
      ], '--output-video: AFILE/v.mp4: AFILE is a file, not a folder'),
])
def test_options_that_cannot_work_are_refused_when_parsed(
        demo, args, message, tmp_path, capsys):
    """Each failed only after the model was built (a drawing option in cv2, a
    device in torch) or after the whole input was done (an output under a
    file: ``NotADirectoryError``, the results lost)."""
    a_file = tmp_path / 'afile'
    a_file.write_text('')
    args = [arg.replace('AFILE', str(a_file)) for arg in args]
    with pytest.raises(SystemExit) as exit_:
        demo.parse_args(['x.jpg', '--pose2d', 'c.py', *args])
    assert exit_.value.code == 2
    assert message.replace('AFILE', str(a_file)) in capsys.readouterr().err


@pytest.mark.parametrize('args, message', [
    (['--backend', 'onnxruntime'
      ], 'the onnxruntime backend needs an ONNX file'),
    (['--backend', 'pytorch', '--onnx', 'ONNX'
      ], 'an ONNX file is for the onnxruntime backend'),
])
def test_contradicting_backend_options_are_one_line_errors(
        demo, mln_args, tmp_path, capsys, args, message):
    onnx_file = tmp_path / 'm.onnx'
    onnx_file.write_bytes(b'never read')
    image = write_image(tmp_path / 'one.jpg')
    args = [str(onnx_file) if arg == 'ONNX' else arg for arg in args]
    assert demo.main([str(image), *mln_args, *args]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f'error: {message}'
    ]


def test_the_api_refuses_the_fast_path_with_onnxruntime(tmp_path):
    """What the demo's parser refuses (tests/test_tools), the API refuses too,
    before opening the file."""
    import torch

    from custom_modules.apis import BackendError, FastPath, apply_backend
    with pytest.raises(
            BackendError,
            match='fp16, bf16 and CUDA graphs are the PyTorch fast path'):
        apply_backend(torch.nn.Identity(), 'onnxruntime',
                      str(tmp_path / 'never.onnx'), FastPath('bf16'))


def test_errors_about_the_input_come_before_the_model_loads(
        demo, fake_capture, monkeypatch, tmp_path, capsys):
    """The checkpoint does not exist and building the inferencer fails the
    test: each error must come first, in one line, status 2."""
    import custom_modules.apis.inferencers as inferencers

    def never(**kwargs):
        raise AssertionError('the model was loaded')

    monkeypatch.setattr(inferencers, 'MultilevelInferencer', never)
    model = [
        '--pose2d',
        str(HSR_SAMPLE_CONFIG), '--pose2d-weights',
        str(tmp_path / 'never_read.pth')
    ]
    image, empty = write_image(tmp_path / 'one.jpg'), tmp_path / 'empty'
    empty.mkdir()
    bad_boxes = tmp_path / 'boxes.json'
    bad_boxes.write_text('{"annotations": []}')
    unnamed = tmp_path / 'unnamed.json'
    unnamed.write_text('{"images": [{"id": 1}], "annotations": []}')
    mmdet_labels = tmp_path / 'det.json'
    mmdet_labels.write_text(
        json.dumps(
            [dict(image_id=1, category_id=0, bbox=[1, 2, 3, 4], score=0.9)] *
            118))
    cases = [
        (['0', '--skip-existing', '--pred-out-dir',
          'p'], 'camera 0: --skip-existing leaves out images whose JSON is '
         'there, not frames of a camera (one JSON per camera)'),
        (['rtsp://192.0.2.1/live', '--skip-existing', '--pred-out-dir', 'p'],
         'rtsp://192.0.2.1/live: --skip-existing leaves out images whose JSON '
         'is there, not frames of a stream (one JSON per stream)'),
        ([
            str(make_video(tmp_path / 'clip.avi', 3)), '--skip-existing',
            '--pred-out-dir', 'p'
        ], f'{tmp_path / "clip.avi"}: --skip-existing leaves out images whose '
         'JSON is there, not frames of a video (one JSON per video)'),
        (['0', '--onnx', str(tmp_path / 'no.onnx')],
         f'{tmp_path / "no.onnx"}: --onnx does not exist'),
        ([str(tmp_path / 'missing.jpg')],
         f'{tmp_path / "missing.jpg"}: no such file or folder'),
        ([str(empty)],
         f'{empty}: no image files in this folder (0 other files); accepted '
         'suffixes: .jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff'),
        ([str(image), '--bbox-file',
          str(bad_boxes)], f'{bad_boxes}: a COCO annotation file '
         'needs "images" and "annotations"'),
        ([str(image), '--bbox-file',
          'nofile.json'], 'nofile.json: --bbox-file does not exist'),
        ([str(image), '--bbox-file',
          str(unnamed)], f'{unnamed}: images[0] has no "file_name"'),
        ([str(image), '--bbox-file',
          str(mmdet_labels)], f'{mmdet_labels}: 118 detections, none with '
         '"category_id" 1 (COCO\'s person); its category ids: 0 (an mmdet '
         'class index, 0 for a person, is not a COCO category id)'),
    ]
    if sys.platform.startswith('linux'):
        monkeypatch.delenv('DISPLAY', raising=False)
        monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
        no_display = (
            'no display (DISPLAY and WAYLAND_DISPLAY are not set); write '
            '--output-video, or give the camera index (0) instead of webcam')
        cases += [(['0', '--show'], f'--show: {no_display}'),
                  (['webcam'], f'webcam: {no_display}')]
    for args, message in cases:
        assert demo.main([*args, *model]) == 2, args
        assert capsys.readouterr().err.strip().splitlines() == [
            f'error: {message}'
        ]
    monkeypatch.setattr(FakeCapture, 'opened', False)
    monkeypatch.setenv('DISPLAY', ':0')  # webcam:N shows its frames
    for spec, message in [
        ('5', 'camera 5: OpenCV cannot open this camera'),
        ('webcam:5', 'camera 5: OpenCV cannot open this camera'),
        ('http://192.0.2.1/cam.mjpg', 'http://192.0.2.1/cam.mjpg: OpenCV '
         'cannot open this stream')
    ]:
        assert demo.main([spec, *model]) == 2
        assert capsys.readouterr().err.strip().splitlines() == [
            f'error: {message}'
        ]
        # opened before the model loads
        assert fake_capture.instances[-1].spec in (5, spec)
        assert fake_capture.instances[-1].released


def test_a_weights_file_that_is_no_checkpoint_is_refused_before_loading(
        demo, monkeypatch, tmp_path, capsys):
    """A web page saved under a checkpoint's name is refused before a model is
    built.

    As --pose2d-weights or --det-weights: one line naming the option and the
    file, status 2 (torch's unpickler raised from deep inside mmengine's).
    """
    import custom_modules.apis.inferencers as inferencers

    def never(**kwargs):
        raise AssertionError('the model was loaded')

    monkeypatch.setattr(inferencers, 'MultilevelInferencer', never)
    image = write_image(tmp_path / 'one.jpg')
    page = tmp_path / 'page.pth'
    page.write_bytes(b'<!DOCTYPE html>')
    for option in ('--pose2d-weights', '--det-weights'):
        args = [
            str(image), '--pose2d',
            str(HSR_SAMPLE_CONFIG), option,
            str(page)
        ]
        assert demo.main(args) == 2
        assert capsys.readouterr().err.strip().splitlines() == [
            f'error: {option} {page}: cannot be read as a PyTorch checkpoint '
            '(neither a zip archive nor a pickle: it begins with '
            "b'<!DOCTYPE html>')"
        ]


def test_a_checkpoint_of_another_model_is_one_line_error(
        demo, small_mln, hsr_checkpoint, tmp_path, capsys):
    config, _ = small_mln
    image = write_image(tmp_path / 'one.jpg')
    status = demo.main([
        str(image), '--pose2d',
        str(config), '--pose2d-weights',
        str(hsr_checkpoint), '--device', 'cpu', '--pred-out-dir',
        str(tmp_path / 'pred')
    ])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f'error: {hsr_checkpoint}: not a checkpoint of {config} '
        '(PyramidBottomupPoseEstimator)')
    assert not (tmp_path / 'pred').exists()


def test_detector_weights_of_another_model_are_one_line_error(
        demo, hsr_checkpoint, tmp_path, capsys):
    """``--det-weights`` that are not the ``--det-model``'s detector: mmdet
    loaded what fits and ran a random detector; now refused before the first
    frame, naming the checkpoint and the detector's config."""
    import torch
    detector = REPO_ROOT / (
        'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py')
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'head.weight': torch.zeros(3)}}, other)
    status = demo.main([
        str(write_image(tmp_path / 'one.jpg')), '--pose2d',
        str(HSR_SAMPLE_CONFIG), '--pose2d-weights',
        str(hsr_checkpoint), '--det-model',
        str(detector), '--det-weights',
        str(other), '--device', 'cpu', '--pred-out-dir',
        str(tmp_path / 'pred')
    ])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f'error: {other}: not a checkpoint of '
                              f'{detector} (YOLOV3): missing from it: ')
    assert not (tmp_path / 'pred').exists()


# -------------------------------------------------------------------- backends
def test_backend_onnxruntime_hands_the_model_to_the_backend(
        demo, mln_args, monkeypatch, tmp_path, capsys):
    """``run_network_in_onnxruntime(model, onnx_file, num_threads=None)`` is
    called on the loaded model (here a stand-in module); without the module,
    exit status 2 and why."""
    onnx_file = tmp_path / 'm.onnx'
    onnx_file.write_bytes(b'stand-in')
    image = write_image(tmp_path / 'one.jpg', size=(64, 48))
    argv = [
        str(image), *mln_args, '--onnx',
        str(onnx_file), '--pred-out-dir',
        str(tmp_path)
    ]
    calls = []
    backend = types.ModuleType('custom_modules.apis.onnxruntime_backend')

    def run_network_in_onnxruntime(model, onnx, num_threads=None):
        calls.append((type(model).__name__, onnx, num_threads))

    backend.run_network_in_onnxruntime = run_network_in_onnxruntime
    backend.OnnxLoadError = type('OnnxLoadError', (RuntimeError, ), {})
    backend.OnnxModelMismatchError = type('OnnxModelMismatchError',
                                          (ValueError, ), {})
    monkeypatch.setitem(sys.modules, 'custom_modules.apis.onnxruntime_backend',
                        backend)
    assert demo.main(argv) == 0
    # called once, on the loaded model
    assert calls == [('PyramidBottomupPoseEstimator', str(onnx_file), None)]
    assert (tmp_path / 'one.json').is_file()

    monkeypatch.setitem(sys.modules, 'custom_modules.apis.onnxruntime_backend',
                        None)
    assert demo.main(argv) == 2
    assert last_line(capsys.readouterr().err).startswith(
        'error: the onnxruntime backend is not available: ')


def tiny_onnx(path: Path) -> Path:
    """An ONNX model that is not an export of any pose model: ``y = x`` on a
    (1, 3) input."""
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node('Identity', ['x'], ['y'])], 'other',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8  # one every onnxruntime of the stack reads
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize('case',
                         ['no onnxruntime', 'not onnx', 'another model'])
def test_backend_problems_are_one_line_errors_with_status_2(
        demo, mln_args, monkeypatch, tmp_path, capsys, case):
    """Without onnxruntime (the backend's own lazy import fails), with a file
    onnxruntime cannot load, or with the export of another
    model: ``error: ...`` in one line, exit status 2 (the input was fine,
    nothing could run), no traceback."""
    image = write_image(tmp_path / 'one.jpg', size=(64, 48))
    onnx_file = tmp_path / 'm.onnx'
    if case == 'another model':
        tiny_onnx(onnx_file)
    else:
        onnx_file.write_bytes(b'not an onnx file')
    if case == 'no onnxruntime':
        # `import onnxruntime` fails
        monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    argv = [
        str(image), *mln_args, '--onnx',
        str(onnx_file), '--pred-out-dir',
        str(tmp_path / 'p')
    ]
    assert demo.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    expected = {
        'no onnxruntime': 'error: the onnxruntime backend is not available: ',
        'not onnx': f'error: onnxruntime cannot load {onnx_file}: ',
        'another model': f'error: {onnx_file}: the file takes inputs [\'x\']',
    }[case]
    assert len(err) == 1 and err[0].startswith(expected), err
    assert not (tmp_path / 'p').exists()


# --------------------------------------------------------------------- aliases
def test_show_alias_lists_the_model_indexs_aliases(demo, capsys):
    """Every ``Alias`` of the project's metafiles, with the model it stands
    for."""
    index = yaml.safe_load((REPO_ROOT / 'model-index.yml').read_text())
    expected = {}
    for metafile in index['Import']:
        metadata = yaml.safe_load((REPO_ROOT / metafile).read_text())
        for model in metadata.get('Models') or []:
            aliases = model.get('Alias', [])
            for alias in [aliases] if isinstance(aliases, str) else aliases:
                expected[alias] = model['Name']
    assert expected['mln'] == 'paf_mln-vgg19_1xb28-100e_coco-368x368'
    assert demo.main(['--show-alias']) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ['ALIAS', 'MODEL_NAME']
    assert dict(line.split() for line in lines[1:]) == expected
    assert [line.split()[0] for line in lines[1:]] == sorted(expected)
