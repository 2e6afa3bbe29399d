# Copyright (c) OpenMMLab. All rights reserved.
from .input_mapping import image_to_input, input_to_image

__all__ = ['image_to_input', 'input_to_image']
