# Copyright (c) OpenMMLab. All rights reserved.
"""What the front end's tests share (no tests here).

Generated videos and a fake ``cv2.VideoCapture`` for cameras and streams,
standing people, the width-reduced MLN with random weights, and a model whose
network is replaced by given people and a fake clock, so that tracking, timing
and the written files can be checked without a trained network.
"""
import importlib.util
import re
import types
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.structures import InstanceData

from conftest import save_random_checkpoint, write_small_mln_config

RealCapture = cv2.VideoCapture
REPO_ROOT = Path(__file__).resolve().parents[2]
HSR_SAMPLE_CONFIG = (
    REPO_ROOT /
    'configs/demo/td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py')
COCO_LINKS = [(15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11),
              (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1),
              (0, 2), (1, 3), (2, 4), (3, 5), (4, 6)]


def load_tool(name: str) -> types.ModuleType:
    """``tools/<name>.py`` as a module (``tools`` is no package)."""
    spec = importlib.util.spec_from_file_location(
        name, REPO_ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_video(path: Path,
               frames: int,
               size=(160, 120),
               fps: float = 12.0) -> Path:
    """A video of ``frames`` frames of ``size`` (width, height): a bright bar
    moving right."""
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), 40, np.uint8)
        frame[:, 5 * i:5 * i + 10] = 220
        writer.write(frame)
    writer.release()
    return path


def read_video(path: Path) -> Tuple[int, Tuple[int, int], float]:
    """``(frame count read, (width, height), fps)`` of a video, read back with
    OpenCV."""
    video = RealCapture(str(path))
    size = (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(video.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    fps = video.get(cv2.CAP_PROP_FPS)
    count = 0
    while video.read()[0]:
        count += 1
    video.release()
    return count, size, fps


def write_image(path: Path, value: int = 90, size=(10, 8)) -> Path:
    """A flat (height, width) = ``size[::-1]`` image of grey ``value``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((size[1], size[0], 3), value, np.uint8))
    return path


class FakeCapture:
    """A camera or stream of ``frames`` (H, W, 3) frames of grey ``10 * frame
    number``, then nothing (as when a camera is unplugged); ``opened=False`` is
    one OpenCV cannot open."""
    frames = 6
    size = (64, 48)
    opened = True
    fps = 0.0  # most webcams through OpenCV say nothing useful
    count = 0  # frames announced: none for a camera or live stream
    instances: List['FakeCapture'] = []

    def __init__(self, spec) -> None:
        self.spec, self.index, self.released = spec, 0, False
        FakeCapture.instances.append(self)

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.opened

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(self.count)
        return self.fps if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self):
        if self.index >= self.frames:
            return False, None
        self.index += 1
        frame = np.full((self.size[1], self.size[0], 3), 10 * self.index,
                        np.uint8)
        return True, frame

    def release(self) -> None:
        self.released = True


def install_fake_capture(monkeypatch, **settings) -> type:
    """``cv2.VideoCapture`` replaced by :class:`FakeCapture` (its instances
    reset, its class attributes set from ``settings``)."""
    monkeypatch.setattr(FakeCapture, 'instances', [])
    for name, value in settings.items():
        monkeypatch.setattr(FakeCapture, name, value)
    monkeypatch.setattr(cv2, 'VideoCapture', FakeCapture)
    return FakeCapture


def person(x: float, y: float, height: float = 60.0) -> np.ndarray:
    """A standing COCO person ``(17, 2)`` whose nose is at ``(x, y)``."""
    rel = np.array([(0, 0), (-3, -3), (3, -3), (-6, -1), (6, -1), (-12, 12),
                    (12, 12), (-16, 30), (16, 30), (-18, 46),
                    (18, 46), (-8, 52), (8, 52), (-8, 74), (8, 74), (-8, 96),
                    (8, 96)], np.float32)
    return np.array([x, y], np.float32) + rel * height / 100


def frame_index(name: str) -> int:
    """The index of a video frame named ``<stem>_<index:06d>.jpg``."""
    return int(re.search(r'_(\d{6})\.jpg$', name).group(1))


def small_mln_files(folder: Path) -> Tuple[Path, Path]:
    """``(config, checkpoint)``: the sample MLN at 64x64 without flip test,
    random weights (a few ms a frame) in ``folder``."""
    config = write_small_mln_config(folder / 'paf_mln_64x64.py')
    return config, save_random_checkpoint(config, folder / 'mln.pth')


class FakeClock:
    """Seconds that pass only when told (:meth:`advance`)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def instances(poses: Sequence[np.ndarray], score: float = 0.9) -> InstanceData:
    """mmpose's ``pred_instances`` of people ``(17, 2)`` each: keypoints,
    scores (also as ``keypoints_visible``, which mmpose's estimators add and
    its drawing thresholds), the boxes of the keypoints and box scores of 1."""
    keypoints = np.stack(poses).astype(np.float32) if len(poses) else np.zeros(
        (0, 17, 2), np.float32)
    scores = np.full(keypoints.shape[:2], score, np.float32)
    return InstanceData(
        keypoints=keypoints,
        keypoint_scores=scores,
        keypoints_visible=scores,
        bboxes=np.concatenate([keypoints.min(1),
                               keypoints.max(1)], axis=1),
        bbox_scores=np.ones(len(keypoints), np.float32))


def fake_network(pose2d,
                 people: Callable[[str], Sequence[np.ndarray]],
                 clock: Optional[FakeClock] = None,
                 seconds: float = 0.0) -> List[str]:
    """Make the model of a ``MultilevelPose2DInferencer`` find ``people(frame
    name)`` (image pixels) instead of running its network, each frame taking
    ``seconds`` of ``clock`` (then the inferencer's clock).

    Returns the list the names of the frames it is given go to.
    """
    seen = []
    if clock is not None:
        pose2d.timer.clock = clock

    def predict(inputs, data_samples):
        for sample in data_samples:
            seen.append(sample.metainfo['img_path'])
            sample.pred_instances = instances(
                people(sample.metainfo['img_path']))
        if clock is not None:
            clock.advance(seconds)
        return data_samples

    pose2d.model.predict = predict
    return seen


def patch_inferencer(monkeypatch, setup: Callable[[object], None]) -> list:
    """Have ``tools/inferencer_demo.py``'s ``main`` build a
    ``MultilevelInferencer`` on which ``setup(its MultilevelPose2DInferencer)``
    is called once it is built (e.g. :func:`fake_network`).

    Returns the list the inferencers built go to.
    """
    import custom_modules.apis.inferencers as inferencers
    built = []

    class SetUp(inferencers.MultilevelInferencer):

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            setup(self.inferencer)
            built.append(self)

    monkeypatch.setattr(inferencers, 'MultilevelInferencer', SetUp)
    return built
