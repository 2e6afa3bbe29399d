# Copyright (c) OpenMMLab. All rights reserved.
from .checked_coco_dataset import (CheckedCocoDataset, DatasetFileError,
                                   MissingImagesError, UnusableImagesError)
from .image_file import (ImageFileError, check_image_file, image_file_problem,
                         read_image_file)
from .transforms import PackMultiScalePoseInputs

__all__ = [
    'CheckedCocoDataset', 'DatasetFileError', 'MissingImagesError',
    'UnusableImagesError', 'ImageFileError', 'check_image_file',
    'image_file_problem', 'read_image_file', 'PackMultiScalePoseInputs'
]
