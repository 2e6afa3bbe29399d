from .atomic_local_backend import AtomicLocalBackend
from .hooks import FiniteLossHook

__all__ = ['AtomicLocalBackend', 'FiniteLossHook']
