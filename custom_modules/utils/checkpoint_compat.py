# Copyright (c) OpenMMLab. All rights reserved.
"""Load OpenMMLab checkpoints under ``torch.load(weights_only=True)``.

torch >= 2.6 loads with ``weights_only=True`` unless told otherwise, and
mmengine 0.10.7 calls ``torch.load(filename, map_location=...)`` without the
argument in every checkpoint loader (local files, URLs, ``open-mmlab://``). A
checkpoint written by mmengine's ``CheckpointHook`` holds more than tensors:
the message hub's ``HistoryBuffer`` objects (NumPy arrays inside) and the
dataset meta information (NumPy arrays of keypoint colours and sigmas).
Unpickling those under ``weights_only=True`` fails with ``Unsupported global:
... numpy._core.multiarray._reconstruct``, which breaks ``--resume``,
``load_from``, ``tools/test.py CONFIG CKPT`` and ``init_model``.

The fix keeps ``weights_only=True`` (no arbitrary code execution) and works at
torch's level, so every mmengine loader benefits:

1. the data classes such a checkpoint holds are added to torch's allow-list of
   safe globals (``torch.serialization.add_safe_globals``);
2. ``HistoryBuffer`` pickles its statistics methods (``mean``, ``max``, ...) by
   name. mmengine pickles the functions themselves, which protocol 2 writes as
   ``getattr(HistoryBuffer, 'mean')``, and ``getattr`` can never be
   allow-listed: it reaches any attribute of any loaded object.

A checkpoint holding anything else (e.g. one written by plain mmengine, with
those ``getattr`` calls) still fails with torch's own message naming the
offending global. For a checkpoint from a source you trust,
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` makes torch load it in full, as torch <
2.6 did.
"""
import warnings
from typing import List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

try:  # NumPy 2
    from numpy._core import multiarray
except ImportError:  # NumPy 1
    from numpy.core import multiarray


def openmmlab_checkpoint_globals() -> List[object]:
    """The globals that mmengine / mmpose checkpoints pickle besides tensors.

    Returns:
        list: NumPy's array reconstruction entry points (also under their NumPy
        1 names ``numpy.core.multiarray.*``, which checkpoints written with
        NumPy 1 refer to), every NumPy dtype class and scalar type (NumPy 2
        pickles ``np.dtype(np.float32)`` as ``numpy.dtypes.Float32DType``) and
        mmengine's ``HistoryBuffer``. Entries are objects or ``(object, pickled
        name)`` pairs, as ``torch.serialization.add_safe_globals`` takes them.
    """
    dtype_classes = {
        type(np.dtype(code))
        for code in np.typecodes['All'] if code not in 'O'
    }
    scalar_types = {
        np.dtype(code).type
        for code in np.typecodes['All'] if code not in 'O'
    }
    return [
        multiarray._reconstruct,
        multiarray.scalar,
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        np.ndarray,
        np.dtype,
        *sorted(dtype_classes, key=lambda t: t.__name__),
        *sorted(scalar_types, key=lambda t: t.__name__),
        HistoryBuffer,
    ]


_mmengine_history_buffer_setstate = HistoryBuffer.__setstate__


def _history_buffer_getstate(self: HistoryBuffer) -> dict:
    """``HistoryBuffer`` state with its statistics methods by name, e.g.
    ``['current', 'max']``."""
    state = {
        k: v
        for k, v in self.__dict__.items() if k != 'statistics_methods'
    }
    state['statistics_method_names'] = sorted(self._statistics_methods)
    return state


def _history_buffer_setstate(self: HistoryBuffer, state: dict) -> None:
    """Restore a ``HistoryBuffer`` pickled by name (this module) or by function
    (mmengine)."""
    state = dict(state)
    names = state.pop('statistics_method_names', [])
    self._set_default_statistics()
    unknown = [
        name for name in names if name not in HistoryBuffer._statistics_methods
    ]
    if unknown:
        warnings.warn(
            f'HistoryBuffer statistics {unknown} of the checkpoint are not '
            'registered in this process; the logged values load, those '
            'statistics are unavailable')
    _mmengine_history_buffer_setstate(self, state)


def allow_openmmlab_checkpoint_globals() -> None:
    """Let ``weights_only=True`` loads read the checkpoints mmengine writes
    (see the module doc).

    Adds :func:`openmmlab_checkpoint_globals` to torch's allow-list and makes
    ``HistoryBuffer`` pickle its statistics methods by name. Idempotent; the
    allow-list step is a no-op on torch versions without
    ``torch.serialization.add_safe_globals`` (< 2.4), which do not default to
    ``weights_only=True``.
    """
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    HistoryBuffer.__setstate__ = _history_buffer_setstate
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(openmmlab_checkpoint_globals())
