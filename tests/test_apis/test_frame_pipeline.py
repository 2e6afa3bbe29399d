# Copyright (c) OpenMMLab. All rights reserved.
"""custom_modules/apis/frame_pipeline.py and the inferencer's ``pipelined``
(``--pipelined``): frames read ahead and files written behind in threads give
the same frames in the same order, the same files and videos as the sequential
run; errors of either thread reach the caller; a reader waiting on its consumer
stops when told."""
import contextlib
import json
import threading
import time

import numpy as np
import pytest

from custom_modules.apis.frame_pipeline import OrderedWriter, ReadAhead
from custom_modules.apis.inferencers import MultilevelInferencer
from .demo_fakes import (RealCapture, fake_network, make_video, person,
                         read_video, small_mln_files, write_image)


def test_read_ahead_keeps_the_order_and_raises_where_the_error_was():

    def items():
        yield from range(5)
        raise OSError('camera unplugged')

    reader = ReadAhead(items(), depth=2)
    assert [next(reader) for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(OSError, match='camera unplugged'):
        next(reader)
    reader.close()
    assert list(ReadAhead(iter(range(100)), depth=3)) == list(range(100))


def test_a_reader_ahead_of_its_consumer_waits_and_stops_when_closed():
    produced = []

    def items():
        for i in range(1000):
            produced.append(i)
            yield i

    reader = ReadAhead(items(), depth=3)
    time.sleep(0.3)
    # depth in the queue, one waiting to be put (no frame lost)
    assert 3 <= len(produced) <= 5
    reader.close()
    assert not any(t.name == 'frame-reader' and t.is_alive()
                   for t in threading.enumerate())


def test_the_writer_runs_jobs_in_order_and_raises_the_first_error_at_close():
    done = []
    writer = OrderedWriter(depth=2)
    for i in range(50):
        writer.submit(done.append, i)
    writer.close()
    assert done == list(range(50))

    def fail():
        raise OSError('disk full')

    writer, done = OrderedWriter(), []
    writer.submit(done.append, 1)
    writer.submit(fail)
    writer.submit(done.append, 2)  # not run after the failure
    with pytest.raises(OSError, match='disk full'):
        writer.close()
    assert done == [1]


@pytest.fixture(scope='module')
def small_mln(tmp_path_factory):
    """``(config, checkpoint)``: the sample MLN at 64x64, random weights."""
    return small_mln_files(tmp_path_factory.mktemp('mln'))


def video_frames(path) -> list:
    """The frames of a video, decoded."""
    video, frames = RealCapture(str(path)), []
    ok, frame = video.read()
    while ok:
        frames.append(frame)
        ok, frame = video.read()
    video.release()
    return frames


def run(small_mln, inputs, out_dir, pipelined: bool) -> list:
    """Run ``inputs`` with tracking into ``out_dir`` (predictions, drawings, an
    output video); returns ``(frame name, place of its bar)`` of each frame the
    network got, in order."""
    inferencer = MultilevelInferencer(
        *map(str, small_mln),
        device='cpu',
        tracking=dict(metric='iou'),
        pipelined=pipelined)
    pose2d = inferencer.inferencer
    seen = []

    def people(name):
        # the frame's bar
        seen.append((name, int(pose2d._current.image[0, :, 0].argmax())))
        return [person(40 + 2 * len(seen), 10)]

    fake_network(pose2d, people)
    draw, drawn_in = pose2d._draw, set()

    def record_thread(*args, **kwargs):
        drawn_in.add(threading.current_thread().name)
        return draw(*args, **kwargs)

    pose2d._draw = record_thread
    results = list(
        inferencer(
            str(inputs),
            pred_out_dir=str(out_dir / 'pred'),
            vis_out_dir=str(out_dir / 'vis'),
            output_video=str(out_dir / 'drawn.mp4')))
    assert len(results) == len(seen)
    # pipelined, the drawings only go to files: drawn in the writer thread
    assert drawn_in == {'frame-writer' if pipelined else 'MainThread'}
    return seen


def test_pipelined_gives_the_same_frames_files_and_video_as_sequential(
        small_mln, tmp_path):
    video = make_video(tmp_path / 'clip.mp4', 15, size=(160, 120), fps=15)
    sequential = run(small_mln, video, tmp_path / 'seq', pipelined=False)
    pipelined = run(small_mln, video, tmp_path / 'pipe', pipelined=True)
    assert pipelined == sequential
    assert [name for name, _ in pipelined
            ] == [f'clip_{i:06d}.jpg' for i in range(15)]
    bars = [bar for _, bar in pipelined]
    # the bar moves right: each frame its own, in order
    assert bars == sorted(set(bars))
    for name in ('seq', 'pipe'):
        assert read_video(tmp_path / name / 'drawn.mp4') == (15, (160, 120),
                                                             15.0)
    assert json.loads(
        (tmp_path / 'pipe/pred/clip.json').read_text()) == json.loads(
            (tmp_path / 'seq/pred/clip.json').read_text())
    # the drawings (without the output video's timing overlay): frame for frame
    # the same
    piped, seq = (
        video_frames(tmp_path / f'{d}/vis/clip.mp4') for d in ('pipe', 'seq'))
    assert len(piped) == 15 and all(
        np.array_equal(a, b) for a, b in zip(piped, seq))

    images = tmp_path / 'images'
    for i in range(5):
        write_image(images / f'{i}.png', value=40 * i, size=(64, 48))
    assert run(
        small_mln, images, tmp_path / 'pipe_images', pipelined=True) == run(
            small_mln, images, tmp_path / 'seq_images', pipelined=False)
    for i in range(5):
        for kind, name in (('pred', f'{i}.json'), ('vis', f'{i}.png')):
            assert (tmp_path / 'pipe_images' / kind /
                    name).read_bytes() == (tmp_path / 'seq_images' / kind /
                                           name).read_bytes()


def test_the_fps_of_a_pipelined_run_counts_the_frames_left_to_write(
        small_mln, tmp_path):
    """Drawing and saving take 50 ms an image, in the writer thread: the run
    cannot write its images faster than 20 FPS, and finish() waits for those
    still queued within the run's time (it did not: the FPS was that of the
    frames handed to the writer)."""
    for i in range(6):
        write_image(tmp_path / 'images' / f'{i}.jpg')
    inferencer = MultilevelInferencer(
        *map(str, small_mln), device='cpu', pipelined=True)
    pose2d = inferencer.inferencer
    fake_network(pose2d, lambda name: [person(20, 10)])
    draw_and_save = pose2d._draw_and_save

    def slow(*args):
        time.sleep(0.05)
        return draw_and_save(*args)

    pose2d._draw_and_save = slow
    list(inferencer(str(tmp_path / 'images'), vis_out_dir=str(tmp_path)))
    inferencer.finish()
    assert pose2d.timer.frames == 6
    assert pose2d.timer.overall_fps() <= 20
    assert sorted(path.name for path in tmp_path.glob('*.jpg')) == [
        f'{i}.jpg' for i in range(6)
    ]


def test_an_error_of_the_writer_reaches_the_caller(small_mln, tmp_path,
                                                   monkeypatch):
    from custom_modules.apis.inferencers import pose2d_inferencer

    def write_atomically(path, data):
        raise OSError(f'{path}: no space left on device')

    monkeypatch.setattr(pose2d_inferencer, 'write_atomically',
                        write_atomically)
    for i in range(4):
        write_image(tmp_path / 'images' / f'{i}.jpg')
    inferencer = MultilevelInferencer(
        *map(str, small_mln), device='cpu', pipelined=True)
    with pytest.raises(OSError, match='0.json: no space left on device'):
        list(
            inferencer(
                str(tmp_path / 'images'), pred_out_dir=str(tmp_path / 'pred')))
    # the run ended by the error, as the tool ends it
    with contextlib.suppress(OSError):
        inferencer.finish()
    assert not any(t.name == 'frame-writer' and t.is_alive()
                   for t in threading.enumerate())
    assert not (tmp_path / 'pred').exists()


@pytest.mark.parametrize('source, most_ahead', [('0', 2), ('clip.mp4', 5)])
def test_a_live_source_is_read_one_frame_ahead(small_mln, tmp_path,
                                               monkeypatch, source,
                                               most_ahead):
    """Each frame queued ahead of a slow model is a frame of delay on a
    camera: read one ahead (one queued, one read and waiting to be queued); a
    video four ahead."""
    from .demo_fakes import FakeCapture, install_fake_capture
    install_fake_capture(monkeypatch, frames=12, count=12)
    if source.endswith('.mp4'):
        (tmp_path / source).write_bytes(b'')  # served by the fake capture
        source = str(tmp_path / source)
    inferencer = MultilevelInferencer(
        *map(str, small_mln), device='cpu', pipelined=True)
    ahead = []

    def people(name):
        time.sleep(0.1)  # a slow model: the reader gets as far ahead as it may
        ahead.append(FakeCapture.instances[0].index - len(ahead) - 1)
        return []

    fake_network(inferencer.inferencer, people)
    assert len(list(inferencer(source))) == 12
    assert max(ahead) == most_ahead
