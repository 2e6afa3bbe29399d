from .mlpe_head import MLPEHead

__all__ = ['MLPEHead']
