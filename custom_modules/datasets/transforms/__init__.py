from .formatting import PackMultiScalePoseInputs

__all__ = ['PackMultiScalePoseInputs']
