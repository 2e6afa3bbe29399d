from .topdown_pipeline import (IMAGE_SUFFIXES, build_person_detector, coco_detections,
                               detect_persons, estimate_poses, load_person_boxes)

__all__ = [
    'IMAGE_SUFFIXES', 'build_person_detector', 'coco_detections', 'detect_persons',
    'estimate_poses', 'load_person_boxes'
]
