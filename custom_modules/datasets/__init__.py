from .checked_coco_dataset import CheckedCocoDataset
from .image_file import ImageFileError, image_file_problem, read_image_file
from .transforms import PackMultiScalePoseInputs

__all__ = [
    'CheckedCocoDataset', 'ImageFileError', 'image_file_problem', 'read_image_file',
    'PackMultiScalePoseInputs'
]
