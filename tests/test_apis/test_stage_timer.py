# Copyright (c) OpenMMLab. All rights reserved.
"""StageTimer: exclusive times of nested stages, per frame and over a run, the
FPS, and the network and decoding told apart inside mmpose's inference of the
four families."""
import numpy as np
import pytest

from custom_modules.apis import StageTimer
from conftest import REPO_ROOT, SAMPLE_CONFIGS


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_nested_stages_keep_their_exclusive_time_and_the_summary_adds_up():
    clock = FakeClock()
    syncs = []
    timer = StageTimer(sync=lambda: syncs.append(clock()), clock=clock)
    for _ in range(2):
        timer.start_frame()
        clock.advance(0.004)  # untimed: reading the frame
        with timer.stage('preprocess'):
            clock.advance(0.002)
            with timer.stage('network'):
                clock.advance(0.030)
            with timer.stage('decoding'):
                clock.advance(0.005)
                # a head's forward inside its predict
                with timer.stage('network'):
                    clock.advance(0.010)
            clock.advance(0.001)
        frame = timer.end_frame()
        assert frame == pytest.approx(
            dict(preprocess=3.0, network=40.0, decoding=5.0))
        assert list(frame) == ['preprocess', 'network', 'decoding']
    # before and after each of the 4 stages of 2 frames
    assert len(syncs) == 2 * 2 * 4
    assert timer.mean_ms() == pytest.approx(
        dict(preprocess=3.0, network=40.0, decoding=5.0, other=4.0))
    assert timer.overall_fps() == pytest.approx(1 / 0.052)
    assert timer.summary() == (
        'timing over 2 frames (mean ms per frame): preprocess 3.0, network '
        '40.0, decoding 5.0, '
        'other 4.0; 19.23 FPS end to end (2 frames in 0.10 s)')
    assert timer.overlay_lines() == ['19.2 FPS', 'pre 3 net 40 dec 5 ms']


def test_the_fps_follows_the_last_frames():
    clock = FakeClock()
    timer = StageTimer(clock=clock, window=4)
    assert (timer.fps() is None
            and timer.summary() == 'timing: no frame processed')
    for seconds in [1.0] * 5 + [0.1] * 4:
        timer.start_frame()
        clock.advance(seconds)
        timer.end_frame()
    assert timer.fps() == pytest.approx(10.0)  # the last 4 frames
    assert timer.overall_fps() == pytest.approx(9 / 5.4)


def test_tail_counts_the_work_left_behind_in_the_run():
    """Frames queued in a writer thread and drained after the last frame: the
    drain is part of the wall time and of its stage, so the FPS is that of the
    frames written, not only of those handed to the writer."""
    clock = FakeClock()
    timer = StageTimer(clock=clock)
    with timer.tail('writing'):  # no frame yet: nothing to count
        clock.advance(1.0)
    assert timer.overall_fps() is None and timer.totals == {}
    for _ in range(4):
        timer.start_frame()
        with timer.stage('network'):
            clock.advance(0.010)
        timer.end_frame()
    assert timer.overall_fps() == pytest.approx(100.0)
    with timer.tail('writing'):  # 4 frames of 30 ms drawing and writing
        clock.advance(0.120)
    assert timer.overall_fps() == pytest.approx(4 / 0.160)
    assert timer.mean_ms() == pytest.approx(
        dict(network=10.0, writing=30.0, other=0.0))


def test_for_device_synchronises_cuda_only(monkeypatch):
    """The sync is ``torch.cuda.synchronize`` of the timer's device where CUDA
    is available (faked here, so the CUDA branch runs on any host), and none
    for the CPU or where CUDA is not."""
    import functools

    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert StageTimer.for_device('cpu').sync is None
    assert StageTimer.for_device('cuda:0').sync is None

    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert StageTimer.for_device('cpu').sync is None
    sync = StageTimer.for_device('cuda:1').sync
    assert isinstance(sync, functools.partial)
    assert sync.func is torch.cuda.synchronize
    assert sync.args == ('cuda:1', ) and sync.keywords == {}

    # it is called with that device before and after every stage
    calls = []
    monkeypatch.setattr(torch.cuda, 'synchronize', calls.append)
    clock = FakeClock()
    timer = StageTimer.for_device('cuda:1', clock=clock)
    assert timer.clock is clock
    timer.start_frame()
    with timer.stage('network'):
        assert calls == ['cuda:1']
        clock.advance(0.5)
    assert calls == ['cuda:1', 'cuda:1']
    assert timer.end_frame() == {'network': 500.0}


def test_wrap_times_calls_and_restores_what_was_there():

    class Head:

        def forward(self, x):
            return x + 1

    clock = FakeClock()
    timer = StageTimer(clock=clock)
    head = Head()

    def own(x):  # an instance attribute (a backend's patch) stays after
        return x * 10

    undo_class = timer.wrap(head, 'forward', 'network')
    assert head.forward(1) == 2 and timer.current == {'network': 0.0}
    undo_class()
    assert 'forward' not in vars(head) and head.forward(1) == 2
    head.forward = own
    undo_own = timer.wrap(head, 'forward', 'network')
    assert head.forward(2) == 20
    undo_own()
    assert head.forward is own


@pytest.mark.parametrize('family', list(SAMPLE_CONFIGS))
def test_network_and_decoding_are_timed_inside_mmposes_inference(family):
    """The sample model of each family with random weights, one image: the
    stages partition the call, and the model is as before afterwards."""
    from mmpose.apis import inference_bottomup, inference_topdown, init_model

    model = init_model(
        str(REPO_ROOT / SAMPLE_CONFIGS[family]), None, device='cpu')
    image = np.random.default_rng(0).integers(
        0, 256, (96, 128, 3), dtype=np.uint8)
    timer = StageTimer()
    with timer.instrument(model):
        timer.start_frame()
        with timer.stage('preprocess'):
            if family in ('hsr-msnet', 'mlpe'):
                results = inference_topdown(
                    model, image, bboxes=np.array([[10., 5., 90., 95.]]))
            else:
                results = inference_bottomup(model, image)
        frame = timer.end_frame()
    assert len(results) == 1
    assert list(frame) == ['preprocess', 'network', 'decoding']
    assert all(ms > 0 for ms in frame.values()), frame
    assert sum(frame.values()) <= timer.wall_seconds() * 1e3 + 1e-6
    assert 'extract_feat' not in vars(model)
    assert ('forward' not in vars(model.head)
            and 'predict' not in vars(model.head))
