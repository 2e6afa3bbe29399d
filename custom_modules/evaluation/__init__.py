# Copyright (c) OpenMMLab. All rights reserved.
from .metrics import (AnnotationFileError, CheckedCocoMetric,
                      annotation_problems, derive_fields)

__all__ = [
    'AnnotationFileError', 'CheckedCocoMetric', 'annotation_problems',
    'derive_fields'
]
