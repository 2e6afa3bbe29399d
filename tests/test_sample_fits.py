# Copyright (c) OpenMMLab. All rights reserved.
"""The schedule of the suite's background sample trainings (``conftest.

SampleFits``): one at a time while other tests run, two side by side once a
test waits, in their declared order; none starts after the run ends.
"""
import threading
import time
from pathlib import Path

from conftest import SampleFits


class GatedFits(SampleFits):
    """Trainings that last until the test releases them, recording how they
    ran."""

    def __init__(self, configs, tmp_path_factory) -> None:
        self.log = []
        self.running = set()
        self.overlap = 0
        self.release = {config.name: threading.Event() for config in configs}
        self.lock = threading.Lock()
        super().__init__(configs, tmp_path_factory)

    def _train(self, config, background):
        with self.lock:
            self.running.add(config.name)
            self.overlap = max(self.overlap, len(self.running))
            self.log.append((config.name, self._waiting.is_set()))
        self.release[config.name].wait(timeout=60)
        with self.lock:
            self.running.discard(config.name)
        return config

    def started(self, count: int, patience: float = 30) -> list:
        """The names of the trainings started, once ``count`` have (or after
        ``patience`` seconds); a short wait more, so that one started wrongly
        is seen."""
        deadline = time.monotonic() + patience
        while len(self.log) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        return [name for name, _ in self.log]


def test_one_training_at_a_time_until_a_test_waits_then_two(tmp_path_factory):
    configs = [Path(f'fit{i}.py') for i in range(4)]
    fits = GatedFits(configs, tmp_path_factory)
    try:
        assert fits.started(1) == ['fit0.py']
        fits.release['fit0.py'].set()
        assert fits.started(2) == ['fit0.py', 'fit1.py']
        # a test waits (for the last): the next starts beside fit1
        waiting = threading.Thread(target=fits.checkpoint, args=(configs[3], ))
        waiting.start()
        assert fits.started(3) == ['fit0.py', 'fit1.py', 'fit2.py']
        assert fits.overlap == 2
        fits.release['fit1.py'].set()
        assert fits.started(4) == [c.name for c in configs]
        for config in configs:
            fits.release[config.name].set()
        waiting.join(timeout=30)
        assert not waiting.is_alive()
        assert [waited for _, waited in fits.log] == [False] * 2 + [True] * 2
        assert fits.overlap == 2
    finally:
        for event in fits.release.values():
            event.set()
        fits.close()


def test_closing_drops_the_trainings_not_started(tmp_path_factory):
    configs = [Path(f'fit{i}.py') for i in range(3)]
    fits = GatedFits(configs, tmp_path_factory)
    assert fits.started(1) == ['fit0.py']
    fits.close()
    fits.release['fit0.py'].set()
    assert fits.started(2, patience=0.5) == ['fit0.py']
    for event in fits.release.values():
        event.set()
