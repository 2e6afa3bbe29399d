"""Inputs and outputs of the demos: one image, a folder of images or a video in; per input a
drawing and a JSON of the people found out.

A run over a folder survives its bad parts: an image that cannot be read is reported (file and
reason) and counted, the others are still processed, and the exit status says so at the end.
Each result is written whole (temporary file, then a rename) as soon as its image is done, so a
run killed part-way leaves complete files only and ``skip_existing`` resumes it.
"""
import json
import os
import resource
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from ..datasets.image_file import ImageFileError, read_image_file

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm')

# ``(name, load)``: the input's file name (a video frame's ``<stem>_<index>.jpg``) and a call
# returning its (H, W, 3) BGR image or raising ImageFileError.
Frame = Tuple[str, Callable[[], np.ndarray]]
# ``predict(name, image, out_image) -> people``: one model's work on one (H, W, 3) BGR image;
# draws the people into ``out_image`` (with :func:`write_image`) unless it is None.
Predict = Callable[[str, np.ndarray, Optional[Path]], List[dict]]


class InputError(ValueError):
    """An ``--input`` that cannot be run at all (checked before any model loads); the message
    is ``"<path>: <what is wrong>"``."""


def list_images(folder: Path) -> List[Path]:
    """The image files (suffixes :data:`IMAGE_SUFFIXES`, any case) directly in ``folder``,
    sorted by name.

    Raises:
        InputError: If there are none (the message names the folder and the accepted suffixes),
            or if two share a stem (``a.jpg``, ``a.png``), as their results would overwrite
            each other.
    """
    files = [p for p in folder.iterdir() if p.is_file()]
    images = sorted(p for p in files if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise InputError(f'{folder}: no image files in this folder ({len(files)} other files); '
                         f'accepted suffixes: {", ".join(IMAGE_SUFFIXES)}')
    by_stem = {}
    for path in images:
        if path.stem in by_stem:
            raise InputError(f'{folder}: {by_stem[path.stem].name} and {path.name} would write '
                             f'the same {path.stem}.json; rename one')
        by_stem[path.stem] = path
    return images


def _video_frames(video_path: Path) -> Iterator[Frame]:
    """Each frame of a video, named ``<stem>_<index:06d>.jpg``."""
    video = cv2.VideoCapture(str(video_path))
    index = 0
    ok, frame = video.read()
    while ok:
        yield f'{video_path.stem}_{index:06d}.jpg', lambda frame=frame: frame
        index += 1
        ok, frame = video.read()
    video.release()


def open_inputs(source: Path) -> Tuple[Optional[int], Iterator[Frame]]:
    """``(count, frames)`` of a folder of images (sorted by name), a video (by its suffix,
    :data:`VIDEO_SUFFIXES`) or one image (any other file). ``count`` is the number of frames,
    None where a video does not tell. Images are read only when their ``load`` is called.

    Raises:
        InputError: Now, before a model loads: ``source`` does not exist, is a folder without
            images (see :func:`list_images`) or a video OpenCV cannot open.
    """
    if not source.exists():
        raise InputError(f'{source}: --input does not exist')
    if source.is_dir():
        images = list_images(source)
        return len(images), ((path.name, lambda path=path: read_image_file(str(path)))
                             for path in images)
    if source.suffix.lower() in VIDEO_SUFFIXES:
        video = cv2.VideoCapture(str(source))
        opened, count = video.isOpened(), int(video.get(cv2.CAP_PROP_FRAME_COUNT))
        video.release()
        if not opened:
            raise InputError(f'{source}: OpenCV cannot open this video')
        return (count if count > 0 else None), _video_frames(source)
    return 1, iter([(source.name, lambda: read_image_file(str(source)))])


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through ``<path>.part`` and a rename (``os.replace``): a reader,
    or a process killed meanwhile, sees the old file or the whole new one, never a part (up to
    a power cut: nothing is fsynced). Creates the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f'{path.name}.part')
    partial.write_bytes(data)
    os.replace(partial, path)


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode an (H, W, 3) BGR image in the format of ``path``'s suffix; write it atomically."""
    ok, encoded = cv2.imencode(path.suffix, image)
    if not ok:
        raise ValueError(f'{path}: OpenCV cannot encode an image of shape {image.shape} as '
                         f'{path.suffix}')
    write_atomically(path, encoded.tobytes())


def write_people(path: Path, name: str, image: np.ndarray, people: List[dict]) -> None:
    """Write ``{"image", "height", "width", "people"}`` for one input image to ``path``
    (atomically); each person a dict of ``keypoints`` (17 x [x, y], image pixels),
    ``keypoint_scores`` and more."""
    write_atomically(
        path,
        json.dumps(dict(image=name, height=image.shape[0], width=image.shape[1],
                        people=people)).encode())


def peak_rss_mib() -> float:
    """The largest resident set size this process has had so far, in MiB (``ru_maxrss``, which
    Linux gives in KiB and macOS in bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == 'darwin' else peak / 2**10


@dataclass
class RunCounts:
    """What a run did with its inputs: how many it wrote and skipped, which ones failed."""
    written: int = 0
    skipped: int = 0
    failed: List[str] = field(default_factory=list)

    def summary(self, out_dir: Path) -> str:
        """``"N images written to DIR[, S skipped (results already there)][; F failed: a, b]"``."""
        line = f'{self.written} images written to {out_dir}'
        if self.skipped:
            line += f', {self.skipped} skipped (results already there)'
        if self.failed:
            line += f'; {len(self.failed)} failed: {", ".join(self.failed)}'
        return line


def process_frame(name: str, load: Callable[[], np.ndarray], predict: Predict, out_dir: Path,
                  draw: bool, skip_existing: bool, counts: RunCounts) -> None:
    """Run ``predict`` on one input and write ``<stem>.jpg`` (when ``draw``), then ``<stem>.json``
    into ``out_dir`` (the JSON last: it marks the input done); or skip it (``skip_existing`` and
    its JSON exists), or report on stderr why it cannot be read. Counts it in ``counts``."""
    stem = Path(name).stem
    json_path = out_dir / f'{stem}.json'
    if skip_existing and json_path.exists():
        counts.skipped += 1
        return
    try:
        image = load()
    except ImageFileError as error:
        tqdm.write(str(error), file=sys.stderr)
        counts.failed.append(name)
        return
    out_image = out_dir / f'{stem}.jpg' if draw else None
    people = predict(name, image, out_image)
    write_people(json_path, name, image, people)
    counts.written += 1
    tqdm.write(f'{name}: {len(people)} people -> {out_image or json_path}', file=sys.stdout)


def process_inputs(count: Optional[int],
                   frames: Iterator[Frame],
                   predict: Predict,
                   out_dir: Path,
                   draw: bool = True,
                   skip_existing: bool = False,
                   log_interval: int = 100) -> int:
    """Run ``predict`` over every frame of :func:`open_inputs`, writing the results into
    ``out_dir`` (created) as they come.

    Shows a progress bar (n/total) on stderr; prints a line per input written (stdout) or
    unreadable (stderr); every ``log_interval`` inputs (0: never) the counts so far and the peak
    RSS in MiB (stdout); at the end a summary line (stdout, or stderr when an input failed).

    Returns:
        int: The exit status: 1 if any input could not be read, else 0.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = RunCounts()
    with tqdm(total=count, unit='image', file=sys.stderr, dynamic_ncols=True) as progress:
        for name, load in frames:
            process_frame(name, load, predict, out_dir, draw, skip_existing, counts)
            progress.update()
            if log_interval and progress.n % log_interval == 0:
                progress.write(
                    f'[{progress.n}/{count or "?"}] {counts.written} written, '
                    f'{counts.skipped} skipped, {len(counts.failed)} failed, '
                    f'peak RSS {peak_rss_mib():.0f} MiB',
                    file=sys.stdout)
    print(counts.summary(out_dir), file=sys.stderr if counts.failed else sys.stdout)
    return 1 if counts.failed else 0
