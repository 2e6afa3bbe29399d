"""tools/bottomup_demo.py and tools/topdown_demo.py with bad inputs, a checkpoint of another
model and a folder of 500 images (what mmpose's MMPoseInferencer does in the same cases is in
tests/test_apis/test_mmpose_inferencer_robustness.py).

The models have random weights (saved from ``init_model(config, None)``): what is checked is
the handling of files, not the keypoints. The demos run with one OpenMP thread: on a shared
2-core machine two threads wait on each other and inference gets 10x slower at random.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np
import pytest

from conftest import MLN_SAMPLE_CONFIG, save_random_checkpoint, write_small_mln_config

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
BBOX_FILE = REPO_ROOT / 'tests/data/coco/test_coco.json'
BOTTOMUP, TOPDOWN = 'tools/bottomup_demo.py', 'tools/topdown_demo.py'
ONE_THREAD = dict(OMP_NUM_THREADS='1')
# Peak RSS after 500 images may exceed the peak after 100 by this much (MiB). Measured here:
# from 100 to 500 images it grew by 0-1 MiB (of 847 MiB) in repeated runs; keeping a copy of
# every input image (37 KB each) makes it grow by 15 MiB, which this margin catches.
RSS_MARGIN_MIB = 8


@pytest.fixture(scope='module')
def mln_checkpoint(tmp_path_factory) -> Path:
    return save_random_checkpoint(MLN_SAMPLE_CONFIG, tmp_path_factory.mktemp('mln') / 'mln.pth')


@pytest.fixture(scope='module')
def hsr_checkpoint(tmp_path_factory, demo_config) -> Path:
    return save_random_checkpoint(demo_config, tmp_path_factory.mktemp('hsr') / 'hsr.pth')


@pytest.fixture(scope='module')
def small_mln_config(tmp_path_factory) -> Path:
    """The sample MLN at 64x64 without flip test, the same weights: 16 ms an image here instead
    of 200 ms at 256x256 with flip test (measured), to run 500 images in seconds."""
    return write_small_mln_config(tmp_path_factory.mktemp('config') / 'paf_mln_64x64.py')


def make_images(folder: Path, count: int) -> List[Path]:
    """``count`` 96x128 JPEGs of noise, ``00000.jpg`` on."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = [folder / f'{i:05d}.jpg' for i in range(count)]
    for path in paths:
        cv2.imwrite(str(path), rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    return paths


def add_bad_files(folder: Path) -> Dict[str, str]:
    """Unreadable files with image suffixes (and a text file the demos must pass over):
    ``{name: what the error must say}``."""
    whole = cv2.imencode('.jpg', np.full((96, 128, 3), 200, np.uint8))[1].tobytes()
    (folder / '0_truncated.jpg').write_bytes(whole[:len(whole) * 2 // 3])
    (folder / 'empty.png').write_bytes(b'')
    (folder / 'notes.jpg').write_text('not an image\n')
    (folder / 'readme.txt').write_text('ignored: not an image suffix\n')
    return {
        '0_truncated.jpg': 'truncated JPEG',
        'empty.png': 'empty file',
        'notes.jpg': 'not an image'
    }


def demo_cmd(tool: str, config: Path, checkpoint: Path, *args: str) -> List[str]:
    """A demo's command line; the top-down one takes the boxes of the sample's annotations."""
    boxes = ['--bbox-file', str(BBOX_FILE)] if tool == TOPDOWN else []
    return [sys.executable, tool, str(config), str(checkpoint), *args, *boxes]


def run_demo(cmd: List[str]) -> subprocess.CompletedProcess:
    """Run a demo with one thread; its exit status is the caller's to check."""
    return subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=dict(os.environ, **ONE_THREAD),
        capture_output=True,
        text=True,
        timeout=600)


def run_demo_with_bad_files(tool: str, config: Path, checkpoint: Path, images: Path,
                            out_dir: Path) -> subprocess.CompletedProcess:
    """Add :func:`add_bad_files` to ``images``, run the demo over the folder into ``out_dir``,
    and check that it exits with 1 after naming each bad file with its reason."""
    bad = add_bad_files(images)
    proc = run_demo(
        demo_cmd(tool, config, checkpoint, '--input', str(images), '--output-dir', str(out_dir)))
    assert proc.returncode == 1, proc.stderr[-3000:]
    for name, reason in bad.items():
        assert f'{images / name}: {reason}' in proc.stderr
    return proc


def test_bottomup_demo_reports_unreadable_images_and_processes_the_rest(
        mln_checkpoint, small_mln_config, tmp_path):
    images = tmp_path / 'images'
    good = [p.name for p in make_images(images, 2)]
    cv2.imwrite(str(images / 'z_last.png'), np.zeros((96, 128, 3), np.uint8))
    good.append('z_last.png')
    out_dir = tmp_path / 'out'
    proc = run_demo_with_bad_files(BOTTOMUP, small_mln_config, mln_checkpoint, images, out_dir)
    for name in good:  # before and after the bad ones
        stem = Path(name).stem
        assert json.loads((out_dir / f'{stem}.json').read_text())['image'] == name
        assert cv2.imread(str(out_dir / f'{stem}.jpg')).shape == (96, 128, 3)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(f'{Path(n).stem}{suffix}'
                                                               for n in good
                                                               for suffix in ('.jpg', '.json'))
    summary = proc.stderr.strip().splitlines()[-1]
    assert summary == (f'3 images written to {out_dir}; 3 failed: 0_truncated.jpg, empty.png, '
                       'notes.jpg')


def test_topdown_demo_reports_unreadable_images_and_processes_the_rest(
        hsr_checkpoint, demo_config, repo_root, tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    good = ['000000040083.jpg', '000000196141.jpg']
    for name in good:
        (images / name).write_bytes((repo_root / 'tests/data/coco' / name).read_bytes())
    out_dir = tmp_path / 'out'
    proc = run_demo_with_bad_files(TOPDOWN, demo_config, hsr_checkpoint, images, out_dir)
    from custom_modules.apis import load_person_boxes
    boxes = load_person_boxes(str(BBOX_FILE))
    for name in good:
        result = json.loads((out_dir / name.replace('.jpg', '.json')).read_text())
        assert len(result['people']) == len(boxes[name])
        assert cv2.imread(str(out_dir / name)).shape == cv2.imread(str(images / name)).shape
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f'2 images written to {out_dir}; 3 failed: ')


@pytest.mark.parametrize('tool', [BOTTOMUP, TOPDOWN])
def test_a_folder_without_images_is_refused_before_the_model_loads(tool, demo_config, tmp_path):
    """The checkpoint named does not exist: the error must come first."""
    (tmp_path / 'notes.txt').write_text('no images here\n')
    proc = run_demo(
        demo_cmd(tool, demo_config, tmp_path / 'never_read.pth', '--input', str(tmp_path)))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: {tmp_path}: no image files in this folder (1 other files); accepted suffixes: '
        '.jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff')
    assert 'never_read.pth' not in proc.stdout + proc.stderr


@pytest.mark.parametrize('tool', [BOTTOMUP, TOPDOWN])
def test_a_checkpoint_of_another_model_is_refused(tool, mln_checkpoint, hsr_checkpoint, demo_config,
                                                  tmp_path):
    """An HSR-MSNet checkpoint for MLN and the other way round: one paragraph naming both, with
    the counts, and no mmengine warning listing every key."""
    make_images(tmp_path / 'images', 1)
    config, checkpoint = ((MLN_SAMPLE_CONFIG, hsr_checkpoint) if tool == BOTTOMUP else
                          (demo_config, mln_checkpoint))
    proc = run_demo(
        demo_cmd(tool, config, checkpoint, '--input', str(tmp_path / 'images'), '--output-dir',
                 str(tmp_path / 'out')))
    assert proc.returncode == 2
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith(f'error: {checkpoint}: not a checkpoint of {config} (')
    assert re.search(r'missing from it: \d+ of the model\'s \d+ weights \(e\.g\. backbone\.', error)
    assert re.search(r'not in the model: \d+ of its \d+ weights \(e\.g\. backbone\.', error)
    assert 'do not match exactly' not in proc.stdout + proc.stderr
    assert not list((tmp_path / 'out').glob('*'))


def test_bottomup_demo_over_500_images_shows_progress_and_keeps_memory_flat(
        mln_checkpoint, small_mln_config, tmp_path):
    images = tmp_path / 'images'
    make_images(images, 500)
    out_dir = tmp_path / 'out'
    proc = run_demo(
        demo_cmd(BOTTOMUP, small_mln_config, mln_checkpoint, '--input', str(images), '--output-dir',
                 str(out_dir), '--log-interval', '100'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '500/500' in proc.stderr  # the progress bar
    peaks = {
        int(n): float(mib)
        for n, mib in re.findall(r'^\[(\d+)/500\] .* peak RSS (\d+) MiB$', proc.stdout,
                                 re.MULTILINE)
    }
    assert sorted(peaks) == [100, 200, 300, 400, 500]
    print(f'peak RSS (MiB) by images done: {peaks}')
    assert peaks[500] <= peaks[100] + RSS_MARGIN_MIB, peaks
    assert len(list(out_dir.glob('*.json'))) == len(list(out_dir.glob('*.jpg'))) == 500
    assert proc.stdout.strip().splitlines()[-1] == f'500 images written to {out_dir}'


def test_a_killed_run_leaves_whole_files_and_skip_existing_finishes_it(
        mln_checkpoint, small_mln_config, tmp_path):
    """SIGKILL part-way through a folder: every JSON there parses and has its drawing; the rerun
    with ``--skip-existing`` does only the others (the first run's files are not rewritten)."""
    images = tmp_path / 'images'
    make_images(images, 100)
    out_dir = tmp_path / 'out'
    cmd = demo_cmd(BOTTOMUP, small_mln_config, mln_checkpoint, '--input', str(images),
                   '--output-dir', str(out_dir))
    demo = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=dict(os.environ, **ONE_THREAD),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while len(list(out_dir.glob('*.json'))) < 25 and demo.poll() is None:
        assert time.time() < deadline, 'the demo wrote no 25 results in 5 minutes'
        time.sleep(0.05)
    demo.send_signal(signal.SIGKILL)
    assert demo.wait() == -signal.SIGKILL  # killed, not finished
    first = {p.name: p.stat().st_mtime_ns for p in out_dir.glob('*.json')}
    assert 25 <= len(first) < 100
    for name in first:
        assert json.loads((out_dir / name).read_text())['people'] is not None
        assert cv2.imread(str(out_dir / name.replace('.json', '.jpg'))) is not None

    proc = run_demo(cmd + ['--skip-existing'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == (
        f'{100 - len(first)} images written to {out_dir}, {len(first)} skipped (results '
        'already there)')
    assert len(list(out_dir.glob('*.json'))) == len(list(out_dir.glob('*.jpg'))) == 100
    assert all((out_dir / name).stat().st_mtime_ns == mtime for name, mtime in first.items())
    for path in out_dir.glob('*.json'):
        assert json.loads(path.read_text())['image'] == path.stem + '.jpg'
