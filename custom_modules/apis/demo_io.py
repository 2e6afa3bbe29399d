"""Inputs and outputs of the demos: one image, a folder of images or a video in; a JSON of the
people found per image out."""
import json
from pathlib import Path
from typing import Iterator, List, Tuple

import cv2
import mmcv
import numpy as np

from .topdown_pipeline import IMAGE_SUFFIXES

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm')


def read_frames(source: Path) -> Iterator[Tuple[str, np.ndarray]]:
    """``(name, BGR image)`` of every image in a folder (sorted by name), of one image, or of
    each frame of a video (named ``<stem>_<index>.jpg``)."""
    if not source.exists():
        raise FileNotFoundError(f'--input {source} does not exist')
    if source.is_dir():
        for path in sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            yield path.name, mmcv.imread(str(path))
    elif source.suffix.lower() in VIDEO_SUFFIXES:
        video = cv2.VideoCapture(str(source))
        index = 0
        ok, frame = video.read()
        while ok:
            yield f'{source.stem}_{index:06d}.jpg', frame
            index += 1
            ok, frame = video.read()
        video.release()
    else:
        image = mmcv.imread(str(source))
        if image is None:
            raise ValueError(f'--input {source}: not an image or a video this demo can read')
        yield source.name, image


def write_people(path: Path, name: str, image: np.ndarray, people: List[dict]) -> None:
    """Write ``{"image", "height", "width", "people"}`` for one input image to ``path``; each
    person a dict of ``keypoints`` (17 x [x, y], image pixels), ``keypoint_scores`` and more."""
    path.write_text(json.dumps(dict(image=name, height=image.shape[0], width=image.shape[1],
                                    people=people)))
