# Copyright (c) OpenMMLab. All rights reserved.
from .hsrnet import HSRNet
from .mobilenet_thin import MobileNetThin
from .msnet_block import MSNetBlock
from .vgg_front import VGGFront

__all__ = ['HSRNet', 'MobileNetThin', 'MSNetBlock', 'VGGFront']
