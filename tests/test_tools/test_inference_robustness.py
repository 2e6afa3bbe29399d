# Copyright (c) OpenMMLab. All rights reserved.
"""tools/inferencer_demo.py, with a bottom-up and a top-down model, given bad
inputs, a checkpoint of another model and a folder of 500 images, and killed
part-way (what mmpose's own MMPoseInferencer does in the same cases is in
tests/test_apis/test_mmpose_inferencer_robustness.py).

The models have random weights (saved from ``init_model(config, None)``): what
is checked is the handling of files, not the keypoints. The demo runs with one
OpenMP thread: on a shared 2-core machine two threads wait on each other and
inference gets 10x slower at random.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import cv2
import numpy as np
import pytest

from conftest import (MLN_SAMPLE_CONFIG, save_random_checkpoint,
                      write_small_mln_config)

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = 'tools/inferencer_demo.py'
BBOX_FILE = REPO_ROOT / 'tests/data/coco/test_coco.json'
DETECTOR_CONFIG = REPO_ROOT / (
    'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py')
# the top-down models' person boxes: the sample's annotated ones
ANNOTATED_BOXES = ['--bbox-file', str(BBOX_FILE)]
ONE_THREAD = dict(OMP_NUM_THREADS='1')
# Peak RSS of a run over 500 images may exceed that of a run over 100 by this
# much (MiB). Measured here: both peak at 961-962 MiB, 0.0-0.4 MiB apart in
# repeated runs; keeping a copy of every input image (37 KB each) makes the
# 500-image run peak 11 MiB higher, which this catches.
RSS_MARGIN_MIB = 5
# Runs a command and writes the largest resident set size it had (ru_maxrss of
# the waited-for child: KiB on Linux, bytes on macOS) to the file named first:
# the demo's peak, not that of this test process or of another child it ran.
PEAK_RSS_WRAPPER = ('import resource, subprocess, sys; status = '
                    'subprocess.call(sys.argv[2:]); '
                    'open(sys.argv[1], "w").write(str(resource.getrusage('
                    'resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(status)')


@pytest.fixture(scope='module')
def mln_checkpoint(tmp_path_factory) -> Path:
    return save_random_checkpoint(MLN_SAMPLE_CONFIG,
                                  tmp_path_factory.mktemp('mln') / 'mln.pth')


@pytest.fixture(scope='module')
def hsr_checkpoint(tmp_path_factory, demo_config) -> Path:
    return save_random_checkpoint(demo_config,
                                  tmp_path_factory.mktemp('hsr') / 'hsr.pth')


@pytest.fixture(scope='module')
def small_mln_config(tmp_path_factory) -> Path:
    """The sample MLN at 64x64 without flip test, the same weights: 16 ms an
    image here instead of 200 ms at 256x256 with flip test (measured), to run
    500 images in seconds."""
    return write_small_mln_config(
        tmp_path_factory.mktemp('config') / 'paf_mln_64x64.py')


def make_images(folder: Path, count: int) -> List[Path]:
    """``count`` 96x128 JPEGs of noise, ``00000.jpg`` on."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = [folder / f'{i:05d}.jpg' for i in range(count)]
    for path in paths:
        cv2.imwrite(
            str(path), rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    return paths


def add_bad_files(folder: Path) -> Dict[str, str]:
    """Unreadable files with image suffixes (and a text file the demo must pass
    over): ``{name: what the error must say}``."""
    whole = cv2.imencode('.jpg', np.full((96, 128, 3), 200,
                                         np.uint8))[1].tobytes()
    (folder / '0_truncated.jpg').write_bytes(whole[:len(whole) * 2 // 3])
    (folder / 'empty.png').write_bytes(b'')
    (folder / 'notes.jpg').write_text('not an image\n')
    (folder / 'readme.txt').write_text('ignored: not an image suffix\n')
    return {
        '0_truncated.jpg': 'truncated JPEG',
        'empty.png': 'empty file',
        'notes.jpg': 'not an image'
    }


def demo_cmd(config: Path, checkpoint: Path, inputs: Path, *args:
             str) -> List[str]:
    """The demo's command line."""
    return [
        sys.executable, DEMO,
        str(inputs), '--pose2d',
        str(config), '--pose2d-weights',
        str(checkpoint), '--device', 'cpu', *args
    ]


def out_args(out_dir: Path) -> List[str]:
    return [
        '--vis-out-dir',
        str(out_dir / 'vis'), '--pred-out-dir',
        str(out_dir / 'pred')
    ]


def run_demo(cmd: List[str]) -> subprocess.CompletedProcess:
    """Run the demo with one thread; its exit status is the caller's to
    check."""
    return subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=dict(os.environ, **ONE_THREAD),
        capture_output=True,
        text=True,
        timeout=600)


def run_demo_measuring_peak_rss(cmd: List[str], tmp_path: Path
                                ) -> Tuple[subprocess.CompletedProcess, float]:
    """:func:`run_demo` under :data:`PEAK_RSS_WRAPPER`: its result and its peak
    RSS, MiB."""
    report = tmp_path / (
        f'peak_rss_{len(list(tmp_path.glob("peak_rss_*")))}.txt')
    proc = run_demo(
        [sys.executable, '-c', PEAK_RSS_WRAPPER,
         str(report), *cmd])
    return proc, int(
        report.read_text()) / (2**20 if sys.platform == 'darwin' else 2**10)


def summary_line(done: int, out_dir: Path) -> str:
    return (f'{done} images done: drawings in {out_dir / "vis"}, predictions '
            f'in {out_dir / "pred"}')


def run_demo_with_bad_files(config: Path, checkpoint: Path, images: Path,
                            out_dir: Path, *args:
                            str) -> subprocess.CompletedProcess:
    """Add :func:`add_bad_files` to ``images``, run the demo over the folder
    into ``out_dir``, and check that it exits with 1 after naming each bad file
    with its reason (in the log) and all of them on the last line of stderr."""
    bad = add_bad_files(images)
    proc = run_demo(
        demo_cmd(config, checkpoint, images, *out_args(out_dir), *args))
    assert proc.returncode == 1, proc.stderr[-3000:]
    for name, reason in bad.items():
        assert f'{images / name}: {reason}' in proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        'error: 3 images could not be read: 0_truncated.jpg, empty.png, '
        'notes.jpg')
    return proc


def test_a_bottomup_model_reports_unreadable_images_and_processes_the_rest(
        mln_checkpoint, small_mln_config, tmp_path):
    images = tmp_path / 'images'
    good = [p.name for p in make_images(images, 2)]
    cv2.imwrite(str(images / 'z_last.png'), np.zeros((96, 128, 3), np.uint8))
    good.append('z_last.png')
    out_dir = tmp_path / 'out'
    proc = run_demo_with_bad_files(small_mln_config, mln_checkpoint, images,
                                   out_dir)
    for name in good:  # before and after the bad ones
        assert isinstance(
            json.loads(
                (out_dir / 'pred' / f'{Path(name).stem}.json').read_text()),
            list)
        assert cv2.imread(str(out_dir / 'vis' / name)).shape == (96, 128, 3)
    predictions = sorted(f'{Path(name).stem}.json' for name in good)
    assert sorted(p.name for p in (out_dir / 'pred').iterdir()) == predictions
    assert sorted(p.name for p in (out_dir / 'vis').iterdir()) == sorted(good)
    assert proc.stdout.strip().splitlines()[-1] == summary_line(3, out_dir)


def test_a_topdown_model_reports_unreadable_images_and_processes_the_rest(
        hsr_checkpoint, demo_config, repo_root, tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    good = ['000000040083.jpg', '000000196141.jpg']
    for name in good:
        (images / name).write_bytes(
            (repo_root / 'tests/data/coco' / name).read_bytes())
    out_dir = tmp_path / 'out'
    proc = run_demo_with_bad_files(demo_config, hsr_checkpoint, images,
                                   out_dir, *ANNOTATED_BOXES)
    from custom_modules.apis import load_person_boxes
    boxes = load_person_boxes(str(BBOX_FILE), score_thr=0.3)
    for name in good:
        people = json.loads(
            (out_dir / 'pred' / name.replace('.jpg', '.json')).read_text())
        assert len(people) == len(boxes[name]) > 0
        for person, box in zip(
                sorted(people, key=lambda p: p['bbox']),
                sorted(boxes[name][:, :4].tolist())):
            np.testing.assert_allclose(person['bbox'], [box], atol=1e-3)
            assert np.array(person['keypoints']).shape == (17, 2)
        assert cv2.imread(str(out_dir / 'vis' /
                              name)).shape == cv2.imread(str(images /
                                                             name)).shape
    assert sorted(p.name for p in (out_dir / 'vis').iterdir()) == good
    assert proc.stdout.strip().splitlines()[-1] == summary_line(2, out_dir)


@pytest.mark.parametrize('boxes', ['none', '--bbox-file', '--det-model'])
def test_a_folder_without_images_is_refused_before_the_model_loads(
        boxes, demo_config, tmp_path):
    """A bottom-up model, and a top-down one with boxes from a file or a
    detector: the checkpoints named do not exist, the error must come first."""
    (tmp_path / 'notes.txt').write_text('no images here\n')
    never_read = tmp_path / 'never_read.pth'
    if boxes == 'none':
        cmd = demo_cmd(MLN_SAMPLE_CONFIG, never_read, tmp_path)
    elif boxes == '--bbox-file':
        cmd = demo_cmd(demo_config, never_read, tmp_path, *ANNOTATED_BOXES)
    else:
        cmd = demo_cmd(demo_config, never_read, tmp_path, '--det-model',
                       str(DETECTOR_CONFIG), '--det-weights',
                       str(tmp_path / 'never_read_det.pth'))
    proc = run_demo(cmd)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: {tmp_path}: no image files in this folder (1 other files); '
        'accepted suffixes: .jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff')
    assert 'never_read' not in proc.stdout + proc.stderr
    assert 'Loads checkpoint' not in proc.stdout + proc.stderr


@pytest.mark.parametrize('model', ['bottom-up', 'top-down'])
def test_a_checkpoint_of_another_model_is_refused(model, mln_checkpoint,
                                                  hsr_checkpoint, demo_config,
                                                  tmp_path):
    """An HSR-MSNet checkpoint for MLN and the other way round: status 2 and
    one paragraph naming both, with the counts, and no mmengine warning listing
    every key; nothing written."""
    make_images(tmp_path / 'images', 1)
    if model == 'bottom-up':
        config, checkpoint, boxes = MLN_SAMPLE_CONFIG, hsr_checkpoint, []
    else:
        config, checkpoint, boxes = (demo_config, mln_checkpoint,
                                     ANNOTATED_BOXES)
    out_dir = tmp_path / 'out'
    proc = run_demo(
        demo_cmd(config, checkpoint, tmp_path / 'images', *out_args(out_dir),
                 *boxes))
    assert proc.returncode == 2
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith(
        f'error: {checkpoint}: not a checkpoint of {config} (')
    assert re.search(
        r'missing from it: \d+ of the model\'s \d+ weights \(e\.g\. '
        r'backbone\.', error)
    assert re.search(
        r'not in the model: \d+ of its \d+ weights \(e\.g\. backbone\.', error)
    assert 'do not match exactly' not in proc.stdout + proc.stderr
    assert not list(out_dir.rglob('*'))


def test_500_images_show_progress_and_keep_memory_flat(mln_checkpoint,
                                                       small_mln_config,
                                                       tmp_path):
    """The peak RSS of a run over 500 images is that of a run over the first
    100 of them (each run under its own wrapper); mmpose's progress bar is
    shown, every image written."""
    peaks = {}
    for count in (100, 500):
        images, out_dir = tmp_path / f'images{count}', tmp_path / f'out{count}'
        make_images(images, count)
        proc, peaks[count] = run_demo_measuring_peak_rss(
            demo_cmd(small_mln_config, mln_checkpoint, images,
                     *out_args(out_dir), '--show-progress'), tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        # the progress bar
        assert re.search(r'^Inference .* it/s', proc.stdout, re.MULTILINE)
        assert len(list((out_dir / 'pred').glob('*.json'))) == count
        assert len(list((out_dir / 'vis').glob('*.jpg'))) == count
        lines = proc.stdout.strip().splitlines()
        assert lines[-2].startswith(
            f'timing over {count} frames (mean ms per frame): ')
        assert lines[-1] == summary_line(count, out_dir)
    print(f'peak RSS (MiB) by images done: {peaks}')
    # the demo's RSS (the wrapper is not counted, and takes 10 MiB)
    assert peaks[100] > 200
    assert peaks[500] <= peaks[100] + RSS_MARGIN_MIB, peaks


def test_a_killed_run_leaves_whole_files_and_skip_existing_finishes_it(
        mln_checkpoint, small_mln_config, tmp_path):
    """SIGKILL part-way through a folder: every prediction there parses and has
    its drawing; the rerun with ``--skip-existing`` does only the others (the
    first run's files are not rewritten)."""
    images = tmp_path / 'images'
    make_images(images, 100)
    out_dir = tmp_path / 'out'
    pred_dir = out_dir / 'pred'
    cmd = demo_cmd(small_mln_config, mln_checkpoint, images,
                   *out_args(out_dir))
    demo = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=dict(os.environ, **ONE_THREAD),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while len(list(pred_dir.glob('*.json'))) < 25 and demo.poll() is None:
        assert time.time() < deadline, (
            'the demo wrote no 25 predictions in 5 minutes')
        time.sleep(0.05)
    demo.send_signal(signal.SIGKILL)
    assert demo.wait() == -signal.SIGKILL  # killed, not finished
    first = {p.name: p.stat().st_mtime_ns for p in pred_dir.glob('*.json')}
    assert 25 <= len(first) < 100
    for name in first:
        assert isinstance(json.loads((pred_dir / name).read_text()), list)
        drawing = cv2.imread(
            str(out_dir / 'vis' / name.replace('.json', '.jpg')))
        assert drawing.shape == (96, 128, 3)

    proc = run_demo(cmd + ['--skip-existing'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == (
        f'{summary_line(100 - len(first), out_dir)}; {len(first)} skipped '
        '(their predictions were already there)')
    assert sorted(p.stem for p in pred_dir.glob('*.json')) == sorted(
        p.stem for p in images.iterdir())
    assert len(list((out_dir / 'vis').glob('*.jpg'))) == 100
    assert all((pred_dir / name).stat().st_mtime_ns == mtime
               for name, mtime in first.items())
    for path in pred_dir.glob('*.json'):
        people = json.loads(path.read_text())
        assert all(np.array(p['keypoints']).shape == (17, 2) for p in people)
