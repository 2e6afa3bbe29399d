"""tools/bottomup_demo.py and tools/topdown_demo.py in-process (``main(argv)``) on videos and a fake
camera: an .mp4 of every frame at the input's size, the per-stage timing summary (the network and
the decoding of the model told apart), track ids in the JSON, the onnxruntime hook, and the
errors given before the model loads. Random weights: what is checked is the plumbing."""
import importlib.util
import json
import re
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from .test_demo_runner import FakeCapture, make_video, read_video
from conftest import save_random_checkpoint, write_small_mln_config

REPO_ROOT = Path(__file__).resolve().parents[2]
HSR_SAMPLE_CONFIG = (
    REPO_ROOT / 'configs/demo/td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py')


def load_tool(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def bottomup_demo():
    return load_tool('bottomup_demo')


@pytest.fixture(scope='module')
def topdown_demo():
    return load_tool('topdown_demo')


@pytest.fixture(scope='module')
def small_mln(tmp_path_factory):
    """``(config, checkpoint)``: the sample MLN at 64x64 without flip test, random weights (a
    few ms a frame)."""
    folder = tmp_path_factory.mktemp('mln')
    config = write_small_mln_config(folder / 'paf_mln_64x64.py')
    return config, save_random_checkpoint(config, folder / 'mln.pth')


@pytest.fixture(scope='module')
def hsr_checkpoint(tmp_path_factory):
    return save_random_checkpoint(HSR_SAMPLE_CONFIG, tmp_path_factory.mktemp('hsr') / 'hsr.pth')


STAGES = r'timing over (\d+) frames? \(mean ms per frame\): (.*); ([\d.]+) FPS end to end'


def stages_of(out: str) -> dict:
    """``{stage: ms}`` of the timing summary in ``out``."""
    match = re.search(STAGES, out)
    assert match, out[-2000:]
    return {
        name: float(ms)
        for name, ms in (item.rsplit(' ', 1) for item in match.group(2).split(', '))
    }


def test_bottomup_demo_turns_a_video_into_an_mp4_of_its_frames(bottomup_demo, small_mln, tmp_path,
                                                               capsys):
    config, checkpoint = small_mln
    video = make_video(tmp_path / 'clip.mp4', 12, size=(160, 120), fps=12)
    status = bottomup_demo.main([
        str(config),
        str(checkpoint), '--input',
        str(video), '--output-dir',
        str(tmp_path / 'out'), '--output-video',
        str(tmp_path / 'drawn.mp4'), '--log-interval', '0'
    ])
    assert status == 0
    assert read_video(tmp_path / 'drawn.mp4') == (12, (160, 120), 12.0)
    assert len(list((tmp_path / 'out').glob('clip_*.jpg'))) == 12
    assert len(list((tmp_path / 'out').glob('clip_*.json'))) == 12
    out = capsys.readouterr().out
    stages = stages_of(out)
    assert list(stages) == [
        'reading', 'preprocess', 'network', 'decoding', 'drawing', 'writing', 'other'
    ]
    assert stages['network'] > 0 and stages['decoding'] > 0
    assert f'video: {tmp_path / "drawn.mp4"} (12 frames, 160x120, 12 FPS the input\'s)' in out
    assert out.strip().splitlines()[-1] == f'12 images written to {tmp_path / "out"}'


def test_bottomup_demo_on_a_camera_tracks_and_writes_json_and_the_video(
        bottomup_demo, small_mln, fake_capture_8, tmp_path, capsys):
    config, checkpoint = small_mln
    status = bottomup_demo.main([
        str(config),
        str(checkpoint), '--input', '0', '--output-dir',
        str(tmp_path / 'out'), '--output-video',
        str(tmp_path / 'cam.mp4'), '--track', '--smooth', '--log-interval', '0'
    ])
    assert status == 1  # the fake camera stops giving frames after 8: named, status 1
    assert read_video(tmp_path / 'cam.mp4')[:2] == (8, (96, 64))
    names = sorted(p.name for p in (tmp_path / 'out').iterdir())
    assert names == [f'camera0_{i:06d}.json' for i in range(8)]  # no JPG per camera frame
    for name in names:
        for person in json.loads((tmp_path / 'out' / name).read_text())['people']:
            assert isinstance(person['track_id'], int)
    assert 'tracking' in stages_of(capsys.readouterr().out)


@pytest.fixture
def fake_capture_8(monkeypatch):
    """A fake camera of 8 frames of 96x64."""
    monkeypatch.setattr(FakeCapture, 'instances', [])
    monkeypatch.setattr(FakeCapture, 'frames', 8)
    monkeypatch.setattr(FakeCapture, 'size', (96, 64))
    monkeypatch.setattr(cv2, 'VideoCapture', FakeCapture)
    return FakeCapture


def test_topdown_demo_times_the_detector_and_keeps_ids_of_fixed_boxes(topdown_demo, hsr_checkpoint,
                                                                      tmp_path, capsys):
    """Boxes from a file named after the video's frames (two people, one moving 3 px a frame):
    box-IoU tracking keeps their ids whatever the random keypoints."""
    video = make_video(tmp_path / 'walk.mp4', 4, size=(192, 128))
    images = [dict(id=i, file_name=f'walk_{i:06d}.jpg', width=192, height=128) for i in range(4)]
    annotations = [
        dict(id=10 * i + j, image_id=i, category_id=1, bbox=[10 + 3 * i + 90 * j, 10, 60, 110])
        for i in range(4) for j in range(2)
    ]
    bbox_file = tmp_path / 'boxes.json'
    bbox_file.write_text(json.dumps(dict(images=images, annotations=annotations)))
    status = topdown_demo.main([
        str(HSR_SAMPLE_CONFIG),
        str(hsr_checkpoint), '--input',
        str(video), '--bbox-file',
        str(bbox_file), '--output-dir',
        str(tmp_path / 'out'), '--output-video',
        str(tmp_path / 'drawn.mp4'), '--track', '--track-metric', 'iou', '--log-interval', '0'
    ])
    assert status == 0
    assert read_video(tmp_path / 'drawn.mp4')[:2] == (4, (192, 128))
    for i in range(4):
        people = json.loads((tmp_path / f'out/walk_{i:06d}.json').read_text())['people']
        assert [(p['track_id'], round(p['bbox'][0])) for p in people] == [(0, 10 + 3 * i),
                                                                          (1, 100 + 3 * i)]
    stages = stages_of(capsys.readouterr().out)
    assert list(stages)[:5] == ['reading', 'detector', 'preprocess', 'network', 'decoding']
    assert stages['network'] > 0


@pytest.mark.parametrize('args, message', [
    (['--smooth'], '--smooth smooths tracked people: add --track'),
    (['--backend', 'onnxruntime'], '--backend onnxruntime needs --onnx FILE'),
    (['--backend', 'pytorch', '--onnx', 'm.onnx'], '--onnx is for --backend onnxruntime'),
    (['--skip-existing', '--output-video', 'o.mp4'], '--skip-existing leaves frames out'),
    (['--no-draw', '--per-frame', 'all'], '--no-draw and --per-frame all exclude each other'),
    (['--fp16', '--bf16'], 'not allowed with argument'),
    (['--bf16', '--onnx', 'm.onnx'], '--fp16, --bf16 and --cuda-graph are the PyTorch fast path'),
])
def test_contradicting_options_are_refused(bottomup_demo, args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        bottomup_demo.parse_args(['c.py', 'c.pth', '--input', 'x.jpg', *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize('tool', ['bottomup_demo', 'topdown_demo'])
def test_errors_about_the_input_come_before_the_model_loads(tool, fake_capture_8, monkeypatch,
                                                            tmp_path, capsys):
    """The checkpoint does not exist: each error must come first."""
    main = load_tool(tool).main
    base = [str(HSR_SAMPLE_CONFIG), str(tmp_path / 'never_read.pth'), '--bbox-file', 'b.json']
    base = base if tool == 'topdown_demo' else base[:2]
    cases = [
        (['--input', '0', '--skip-existing'], 'camera 0: --skip-existing does not apply to a '
         'camera'),
        (['--input', '0', '--onnx', str(tmp_path / 'no.onnx')], f'{tmp_path / "no.onnx"}: --onnx '
         'does not exist'),
    ]
    if sys.platform.startswith('linux'):
        monkeypatch.delenv('DISPLAY', raising=False)
        monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
        cases.append((['--input', '0', '--show'], '--show: no display (DISPLAY and '
                      'WAYLAND_DISPLAY are not set); write --output-video instead'))
    for args, message in cases:
        assert main(base + args) == 2
        assert capsys.readouterr().err.strip().splitlines()[-1] == f'error: {message}'
    monkeypatch.setattr(FakeCapture, 'opened', False)
    assert main(base + ['--input', '5']) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        'error: camera 5: OpenCV cannot open this camera')


def test_backend_onnxruntime_hands_the_model_to_the_backend(bottomup_demo, small_mln, monkeypatch,
                                                            tmp_path, capsys):
    """``run_network_in_onnxruntime(model, onnx_file, num_threads=None)`` is called on the loaded
    model (here a stand-in module); without the module, exit status 2 and why."""
    config, checkpoint = small_mln
    onnx_file = tmp_path / 'm.onnx'
    onnx_file.write_bytes(b'stand-in')
    image = tmp_path / 'one.jpg'
    cv2.imwrite(str(image), np.zeros((48, 64, 3), np.uint8))
    argv = [
        str(config),
        str(checkpoint), '--input',
        str(image), '--onnx',
        str(onnx_file), '--output-dir',
        str(tmp_path / 'out')
    ]
    calls = []
    backend = types.ModuleType('custom_modules.apis.onnxruntime_backend')
    backend.run_network_in_onnxruntime = lambda model, onnx, num_threads=None: calls.append(
        (type(model).__name__, onnx, num_threads))
    backend.OnnxLoadError = type('OnnxLoadError', (RuntimeError, ), {})
    backend.OnnxModelMismatchError = type('OnnxModelMismatchError', (ValueError, ), {})
    monkeypatch.setitem(sys.modules, 'custom_modules.apis.onnxruntime_backend', backend)
    assert bottomup_demo.main(argv) == 0
    assert calls == [('PyramidBottomupPoseEstimator', str(onnx_file), None)]  # the model

    monkeypatch.setitem(sys.modules, 'custom_modules.apis.onnxruntime_backend', None)
    assert bottomup_demo.main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        'error: the onnxruntime backend is not available: ')


def tiny_onnx(path: Path) -> Path:
    """An ONNX model that is not an export of any pose model: ``y = x`` on a (1, 3) input."""
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node('Identity', ['x'], ['y'])], 'other',
                              [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8  # one every onnxruntime of the stack reads
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize('case', ['no onnxruntime', 'not onnx', 'another model'])
def test_backend_problems_are_one_line_errors_with_status_2(bottomup_demo, small_mln, monkeypatch,
                                                            tmp_path, capsys, case):
    """Without onnxruntime (the backend's own lazy import fails), with a file onnxruntime cannot
    load, or with the export of another model: ``error: ...`` in one line, exit status 2 (the
    input was fine, nothing could run), no traceback."""
    config, checkpoint = small_mln
    image = tmp_path / 'one.jpg'
    cv2.imwrite(str(image), np.zeros((48, 64, 3), np.uint8))
    onnx_file = tmp_path / 'm.onnx'
    if case == 'another model':
        tiny_onnx(onnx_file)
    else:
        onnx_file.write_bytes(b'not an onnx file')
    if case == 'no onnxruntime':
        monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # `import onnxruntime` fails
    argv = [
        str(config),
        str(checkpoint), '--input',
        str(image), '--onnx',
        str(onnx_file), '--output-dir',
        str(tmp_path / 'out')
    ]
    assert bottomup_demo.main(argv) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    expected = {
        'no onnxruntime': 'error: the onnxruntime backend is not available: ',
        'not onnx': f'error: onnxruntime cannot load {onnx_file}: ',
        'another model': f'error: {onnx_file}: the file takes inputs [\'x\']',
    }[case]
    assert last.startswith(expected), last
