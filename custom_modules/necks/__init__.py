from .mlpe_neck import MLPENeck

__all__ = ['MLPENeck']
