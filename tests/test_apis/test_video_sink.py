# Copyright (c) OpenMMLab. All rights reserved.
"""custom_modules/apis/video_sink.py: drawn frames into an .mp4 at the size of
the first (cut to even numbers; others resized), at a given rate, a video's
own, or a live source's measured over its first frames."""
import numpy as np
import pytest

from custom_modules.apis import Source, VideoSink, video_fps
from .demo_fakes import FakeClock, read_video


def test_video_sink_cuts_odd_sizes_and_resizes_other_frames(tmp_path):
    sink = VideoSink(tmp_path / 'v' / 'out.mp4', fps=8)
    sink.write(np.zeros((95, 127, 3), np.uint8))
    sink.write(np.zeros((200, 300, 3), np.uint8))
    sink.close()
    video = tmp_path / 'v/out.mp4'
    assert read_video(video) == (2, (126, 94), 8.0)
    assert sink.summary() == f'video: {video} (2 frames, 126x94, 8 FPS given)'


@pytest.mark.parametrize('frames, seconds, fps', [(12, 0.1, 10.0),
                                                  (4, 0.04, 25.0),
                                                  (1, 0.1, 30.0)])
def test_a_live_sources_video_is_written_at_the_rate_its_frames_came(
        tmp_path, frames, seconds, fps):
    """The rate is measured over the first 10 frames, or the fewer there were
    (30 FPS for one frame); the frames held meanwhile are all written."""
    clock = FakeClock()
    sink = VideoSink(tmp_path / 'live.mp4', clock=clock)
    for i in range(frames):
        sink.write(np.full((48, 64, 3), 20 * i, np.uint8))
        clock.advance(seconds)
    assert (sink.writer is None) == (frames < 10)  # held until measured
    sink.close()
    assert read_video(tmp_path / 'live.mp4') == (frames, (64, 48), fps)
    assert sink.summary().endswith(
        f'({frames} frames, 64x48, {fps:g} FPS measured)')


def test_nothing_written_is_said():
    sink = VideoSink('never.mp4', fps=10)
    sink.close()
    assert sink.summary() == 'video: nothing written to never.mp4 (no frame)'


@pytest.mark.parametrize(
    'kind, count, fps, output_fps, expected',
    [
        ('video', 40, 25.0, None, (25.0, "the input's")),
        ('video', 40, 25.0, 7.5, (7.5, 'given (--output-fps)')),
        ('camera', None, 30.0, None, (None, 'measured')),
        ('stream', None, None, None, (None, 'measured')),
        # a file served at a URL: read whole, at its own rate
        ('stream', 300, 25.0, None, (25.0, "the input's")),
        ('folder', 3, None, None, (30.0, 'default')),
    ])
def test_output_fps_comes_from_the_option_the_input_or_a_measurement(
        kind, count, fps, output_fps, expected):
    assert video_fps(output_fps, Source(kind, 'in', count, iter([]),
                                        fps)) == expected
