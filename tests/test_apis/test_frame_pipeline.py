"""custom_modules/apis/frame_pipeline.py and the demos' --pipelined: frames read ahead and files
written behind in threads give the same frames in the same order, the same files and video as
the sequential loop; errors of either thread reach the caller; a reader waiting on its consumer
stops when told."""
import json
import threading
import time

import cv2
import numpy as np
import pytest

from custom_modules.apis import DemoOptions, open_source, run_demo
from custom_modules.apis.frame_pipeline import OrderedWriter, ReadAhead
from .test_demo_runner import as_people, frame_index, make_video, person, read_video


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
    assert 3 <= len(produced) <= 5  # depth in the queue, one waiting to be put (no frame lost)
    reader.close()
    assert not any(t.name == 'frame-reader' and t.is_alive() for t in threading.enumerate())


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


def run(tmp_path, name, pipelined):
    source = open_source(str(make_video(tmp_path / 'clip.mp4', 15, size=(160, 120), fps=15)))
    seen = []

    def predict(frame_name, image):
        seen.append((frame_name, int(image[0, :, 0].argmax())))  # the bar's place: the frame
        return as_people(person(40 + frame_index(frame_name), 10))

    def draw(frame_name, image, people):
        drawn = image.copy()
        drawn[-4:] = (0, 0, 255)
        return drawn

    options = DemoOptions(
        tmp_path / name, output_video=tmp_path / f'{name}.mp4', log_interval=0, pipelined=pipelined)
    assert run_demo(source, predict, options, draw=draw) == 0
    return seen


def test_pipelined_gives_the_same_frames_files_and_video_as_sequential(tmp_path, capsys):
    sequential = run(tmp_path, 'seq', pipelined=False)
    pipelined = run(tmp_path, 'pipe', pipelined=True)
    assert pipelined == sequential and len(pipelined) == 15
    assert read_video(tmp_path / 'pipe.mp4') == read_video(
        tmp_path / 'seq.mp4') == (15, (160, 120), 15.0)
    for index in range(15):
        stem = f'clip_{index:06d}'
        assert json.loads((tmp_path / f'pipe/{stem}.json').read_text()) == json.loads(
            (tmp_path / f'seq/{stem}.json').read_text())
        # the per-frame drawing is written without the video's overlay (drawn after it)
        piped, seq = (cv2.imread(str(tmp_path / f'{d}/{stem}.jpg')) for d in ('pipe', 'seq'))
        assert np.array_equal(piped, seq)
    assert capsys.readouterr().out.count('15 images written to') == 2


def test_an_error_of_the_writer_reaches_the_demo(tmp_path, monkeypatch):
    import custom_modules.apis.demo_runner as demo_runner

    def write_people(path, *args):
        raise OSError(f'{path}: no space left on device')

    monkeypatch.setattr(demo_runner, 'write_people', write_people)
    source = open_source(str(make_video(tmp_path / 'clip.mp4', 4)))
    options = DemoOptions(tmp_path / 'out', per_frame='json', log_interval=0, pipelined=True)
    with pytest.raises(OSError, match='no space left on device'):
        run_demo(source, lambda n, i: [], options)
