from .topdown_pipeline import (IMAGE_SUFFIXES, coco_detections, detect_persons, estimate_poses,
                               load_person_boxes)

__all__ = [
    'IMAGE_SUFFIXES', 'coco_detections', 'detect_persons', 'estimate_poses', 'load_person_boxes'
]
