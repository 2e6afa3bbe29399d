from .hsrnet import HSRNet
from .msnet_block import MSNetBlock
from .vgg_front import VGGFront

__all__ = ['HSRNet', 'MSNetBlock', 'VGGFront']
