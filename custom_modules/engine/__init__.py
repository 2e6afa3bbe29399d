# Copyright (c) OpenMMLab. All rights reserved.
from .atomic_local_backend import AtomicLocalBackend
from .hooks import FiniteLossHook

__all__ = ['AtomicLocalBackend', 'FiniteLossHook']
