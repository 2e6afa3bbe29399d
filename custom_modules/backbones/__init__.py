from .hsrnet import HSRNet
from .msnet_block import MSNetBlock

__all__ = ['HSRNet', 'MSNetBlock']
