# Copyright (c) OpenMMLab. All rights reserved.
"""The schedule of the suite's background sample trainings (``conftest.

SampleFits``): one at a time while other tests run, two side by side once a
test waits, in their declared order; none starts after the run ends.
"""
import threading
import time
from pathlib import Path

from conftest import SampleFits


class RecordingFits(SampleFits):
    """Trainings that take ``seconds`` and record how they ran."""

    seconds = 0.5

    def __init__(self, configs, tmp_path_factory) -> None:
        self.log = []
        self.log_lock = threading.Lock()
        self.overlap = 0
        self.now_running = 0
        super().__init__(configs, tmp_path_factory)

    def _train(self, config, background):
        with self.log_lock:
            self.now_running += 1
            self.overlap = max(self.overlap, self.now_running)
            self.log.append((config.name, self._waiting.is_set()))
        time.sleep(self.seconds)
        with self.log_lock:
            self.now_running -= 1
        return config


def wait_for_starts(fits: RecordingFits, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(fits.log) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_one_training_at_a_time_until_a_test_waits_then_two(tmp_path_factory):
    configs = [Path(f'fit{i}.py') for i in range(4)]
    fits = RecordingFits(configs, tmp_path_factory)
    try:
        wait_for_starts(fits, 3)  # fit0 and fit1 done, one by one
        assert fits.overlap == 1
        assert [name
                for name, _ in fits.log] == ['fit0.py', 'fit1.py', 'fit2.py']
        # a test waits (for the last): the rest go two at a time
        assert fits.checkpoint(configs[3]) == configs[3]
        assert fits.overlap == 2
        assert [name for name, _ in fits.log] == [c.name for c in configs]
        assert [waited for _, waited in fits.log] == [False] * 3 + [True]
    finally:
        fits.close()


def test_closing_drops_the_trainings_not_started(tmp_path_factory):
    configs = [Path(f'fit{i}.py') for i in range(3)]
    fits = RecordingFits(configs, tmp_path_factory)
    wait_for_starts(fits, 1)
    fits.close()
    time.sleep(RecordingFits.seconds * 2)
    assert [name for name, _ in fits.log] == ['fit0.py']
