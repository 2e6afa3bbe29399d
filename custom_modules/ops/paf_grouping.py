# Copyright (c) OpenMMLab. All rights reserved.
"""The compiled grouping of part affinity field candidates
(``csrc/paf_grouping.c``), loaded with ctypes.

``setup.py`` builds the C file into ``_paf_grouping*.so`` next to this module
(``pip install -e .``, which ``make setup`` runs) and compiles the file's
SHA-256 into it; a library built from another version of the file is not used.
The library has no Python API, so one build serves every Python version.
:class:`~custom_modules.codecs.PartAffinityField` groups with it when it is
there (its ``grouping`` argument) and otherwise with its numpy reference, which
computes the same people.
"""
import ctypes
import functools
import hashlib
import sysconfig
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

SOURCE = Path(__file__).resolve().parent / 'csrc' / 'paf_grouping.c'
LIBRARY_PATTERN = '_paf_grouping*.so'
BUILD_HINT = (
    'build it with `pip install --no-build-isolation --no-deps -e .` '
    '(or `make setup`) in the repository')
# error codes of the C functions
ERRORS = {
    -1: 'candidates not sorted by keypoint, or a keypoint type outside the '
    'skeleton',
    -2: 'out of memory',
    -3: 'samples for another number of pairs than the candidates make',
    -4: 'fields without pixels',
}

_i64, _f32, _f64, _ptr = (ctypes.c_int64, ctypes.c_float, ctypes.c_double,
                          ctypes.c_void_p)
SIGNATURES = {
    'paf_grouping_source_hash': (ctypes.c_char_p, []),
    'paf_count_pairs': (_i64, [_ptr, _i64, _i64, _ptr, _i64]),
    'paf_pair_samples': (ctypes.c_int, [
        _ptr, _i64, _i64, _ptr, _i64, _ptr, _ptr, _i64, _i64, _i64, _i64, _i64,
        _ptr, _ptr
    ]),
    'paf_group': (_i64, [
        _ptr, _ptr, _ptr, _i64, _i64, _ptr, _i64, _ptr, _i64, _i64, _i64, _ptr,
        _ptr, _i64, _f32, _i64, _i64, _i64, _f64, _ptr, _ptr, _ptr
    ]),
}


class CompiledGroupingError(RuntimeError):
    """The compiled grouping is missing, stale, or refused its input."""


def source_hash() -> str:
    """The first 16 hex digits of the C file's SHA-256, as ``setup.py``
    compiles them into the library."""
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]


def _open(path: Path) -> Tuple[Optional[ctypes.CDLL], str]:
    """The library at ``path`` with its functions declared and its source hash
    checked, and ``''``; or ``None`` and why not."""
    try:
        library = ctypes.CDLL(str(path))
    except OSError as error:
        return None, f'{path} does not load ({error}); {BUILD_HINT}'
    for name, (result, arguments) in SIGNATURES.items():
        function = getattr(library, name, None)
        if function is None:
            return None, (f'{path} lacks {name}: built from another version '
                          f'of {SOURCE.name}; {BUILD_HINT}')
        function.restype, function.argtypes = result, arguments
    built = library.paf_grouping_source_hash().decode()
    if SOURCE.exists() and built != source_hash():
        return None, (f'{path} was built from another version of {SOURCE} '
                      f'(hash {built}, the file now {source_hash()}); '
                      f'{BUILD_HINT}')
    return library, ''


@functools.lru_cache(maxsize=None)
def _load() -> Tuple[Optional[ctypes.CDLL], str]:
    """The library and ``''``, or ``None`` and why it cannot be used.

    This Python's build (``_paf_grouping`` + its extension suffix) is tried
    first, then any other (the library does not use Python's API).
    """
    folder = SOURCE.parent.parent
    own = folder / ('_paf_grouping' + sysconfig.get_config_var('EXT_SUFFIX'))
    found = sorted(folder.glob(LIBRARY_PATTERN), key=lambda p: p != own)
    if not found:
        return None, (f'no {LIBRARY_PATTERN} in {folder} (the compiled '
                      f'grouping is not built); {BUILD_HINT}')
    reasons = []
    for path in found:
        library, reason = _open(path)
        if library is not None:
            return library, ''
        reasons.append(reason)
    return None, '; '.join(reasons)


def compiled_grouping_error() -> str:
    """Why the compiled grouping cannot be used, ``''`` where it can."""
    return _load()[1]


def grouping_in_use() -> str:
    """``'compiled'``, or ``'numpy (<why>)'``: what ``PartAffinityField``'s
    default grouping runs here (for reports)."""
    reason = compiled_grouping_error()
    return f'numpy ({reason})' if reason else 'compiled'


def _library() -> ctypes.CDLL:
    library, reason = _load()
    if library is None:
        raise CompiledGroupingError(reason)
    return library


def _check(code: int, function: str) -> int:
    if code < 0:
        raise CompiledGroupingError(
            f'{function}: {ERRORS.get(code, f"error {code}")}')
    return code


def _check_candidates(joints: np.ndarray,
                      xy: np.ndarray,
                      peak_scores: Optional[np.ndarray] = None) -> None:
    """Refuse candidate arrays of different lengths (the C reads ``xy`` and
    ``peak_scores`` at every index of ``joints``)."""
    num_peaks = len(joints)
    lengths = [f'joints {joints.shape}', f'xy {xy.shape}']
    matching = joints.ndim == 1 and xy.shape == (num_peaks, 2)
    if peak_scores is not None:
        lengths.append(f'peak_scores {peak_scores.shape}')
        matching = matching and peak_scores.shape == (num_peaks, )
    if not matching:
        raise ValueError('CompiledGrouping: candidate arrays of different '
                         'lengths: ' + ', '.join(lengths))


def _check_size(height: int, width: int) -> None:
    if height < 1 or width < 1:
        raise ValueError(f'CompiledGrouping: fields of {height}x{width} '
                         'pixels')


def _address(array: Optional[np.ndarray]) -> Optional[int]:
    return None if array is None else array.ctypes.data


class CompiledGrouping:
    """Steps 2-5 of :class:`~custom_modules.codecs.PartAffinityField` (pair
    scores of eq. 6, greedy matching per limb, assembly into people), compiled,
    for one skeleton.

    Args:
        num_keypoints (int): ``M``, the skeleton's keypoint types.
        limbs (np.ndarray): (L, 2) keypoint types of each limb.
        num_tree_limbs (int): The first limbs, which join people; the others
            join two people only where they share no keypoint type.
        steps (np.ndarray): (S,) fractions of a segment where it is sampled.

    It holds no handle of the library (each call takes the loaded one), so it
    deep-copies and pickles with the codecs and models that hold it.

    Raises:
        CompiledGroupingError: the library is not built, or stale.
    """

    def __init__(self, num_keypoints: int, limbs: np.ndarray,
                 num_tree_limbs: int, steps: np.ndarray) -> None:
        _library()  # refuse at once, not at the first call
        self.num_keypoints = num_keypoints
        self.limbs = np.ascontiguousarray(limbs, dtype=np.int64)
        self.num_tree_limbs = num_tree_limbs
        self.steps = np.ascontiguousarray(steps, dtype=np.float32)

    def pair_samples(self, joints: np.ndarray, xy: np.ndarray, height: int,
                     width: int, flat: bool) -> Tuple[np.ndarray, ...]:
        """Where eq. 6 samples every candidate pair of every limb in the (2 L,
        ``height``, ``width``) fields.

        Args:
            joints (np.ndarray): (P,) keypoint type of each candidate,
                ascending.
            xy (np.ndarray): (P, 2) candidate positions, map pixels.
            height, width (int): The fields' size.
            flat (bool): Flat indices into the fields, or pixels.

        Returns:
            tuple: with ``flat``, ``(index,)``: (2, S, Q) int64, the flat
            indices of the x and y channels of each pair's limb at its
            samples; without, ``(limb, ys, xs)``: (Q,) the pairs' limbs and
            (S, Q) the sampled rows and columns. Pairs are listed limb-major,
            then by first candidate, then by second.
        """
        joints = np.ascontiguousarray(joints, dtype=np.int64)
        xy = np.ascontiguousarray(xy, dtype=np.float32)
        _check_candidates(joints, xy)
        _check_size(height, width)
        num_pairs = _check(
            _library().paf_count_pairs(
                _address(joints), len(joints), self.num_keypoints,
                _address(self.limbs), len(self.limbs)), 'paf_count_pairs')
        samples = np.empty((2, len(self.steps), num_pairs), np.int64)
        limb = None if flat else np.empty(num_pairs, np.int64)
        _check(
            _library().paf_pair_samples(
                _address(joints), len(joints), self.num_keypoints,
                _address(self.limbs), len(self.limbs), _address(xy),
                _address(self.steps), len(self.steps),
                height, width, num_pairs, int(flat), _address(samples),
                _address(limb)), 'paf_pair_samples')
        return (samples, ) if flat else (limb, *samples)

    def group(
        self,
        joints: np.ndarray,
        xy: np.ndarray,
        peak_scores: np.ndarray,
        height: int,
        width: int,
        *,
        paf_thr: float,
        min_passes: int,
        min_parts: int,
        min_mean_score: float,
        fields: Optional[np.ndarray] = None,
        samples: Optional[np.ndarray] = None
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Group candidates into people, the fields read from ``fields``
        (2 L, ``height``, ``width``) float32 or given as ``samples``
        (2, S, Q): the x and y channels at the pixels of
        :meth:`pair_samples`.

        Args:
            joints, xy, peak_scores (np.ndarray): (P,), (P, 2), (P,) the
                candidates, keypoint types ascending, map pixels.
            height, width (int): The fields' size.
            paf_thr (float): Minimum projected field of a passing sample.
            min_passes (int): Samples a pair needs to pass.
            min_parts (int): Minimum keypoints of a person kept.
            min_mean_score (float): Minimum mean score of a person kept.
            fields, samples (np.ndarray, optional): One of the two.

        Returns:
            tuple: ``keypoints`` (N, M, 2) map pixels, ``keypoint_scores``
            (N, M) with 0 for a missing keypoint, ``instance_scores`` (N,),
            people in the order of their first candidate before the limbs
            outside the tree join them (:meth:`PartAffinityField.group`).
        """
        joints = np.ascontiguousarray(joints, dtype=np.int64)
        xy = np.ascontiguousarray(xy, dtype=np.float32)
        peak_scores = np.ascontiguousarray(peak_scores, dtype=np.float32)
        num_peaks = len(joints)
        _check_candidates(joints, xy, peak_scores)
        _check_size(height, width)
        if (fields is None) == (samples is None):
            raise ValueError('CompiledGrouping.group: give fields or samples')
        if fields is not None:
            shape = (2 * len(self.limbs), height, width)
            if (fields.dtype != np.float32 or not fields.flags.c_contiguous
                    or fields.shape != shape):
                raise ValueError(
                    f'CompiledGrouping.group: fields must be C-contiguous '
                    f'float32 of shape {shape}, got {fields.dtype} '
                    f'{fields.shape}')
            sampled_pairs = 0
        else:
            samples = np.ascontiguousarray(samples, dtype=np.float32)
            if samples.ndim != 3 or samples.shape[:2] != (2, len(self.steps)):
                raise ValueError(
                    f'CompiledGrouping.group: samples must be (2, '
                    f'{len(self.steps)}, pairs), got {samples.shape}')
            sampled_pairs = samples.shape[2]
        keypoints = np.empty((num_peaks, self.num_keypoints, 2), np.float32)
        keypoint_scores = np.empty((num_peaks, self.num_keypoints), np.float32)
        instance_scores = np.empty(num_peaks, np.float32)
        num_people = _check(
            _library().paf_group(
                _address(joints), _address(xy),
                _address(peak_scores), num_peaks, self.num_keypoints,
                _address(self.limbs), len(self.limbs), _address(self.steps),
                len(self.steps), height, width, _address(fields),
                _address(samples), sampled_pairs, paf_thr, min_passes,
                self.num_tree_limbs, min_parts, min_mean_score,
                _address(keypoints), _address(keypoint_scores),
                _address(instance_scores)), 'paf_group')
        return (keypoints[:num_people], keypoint_scores[:num_people],
                instance_scores[:num_people])
