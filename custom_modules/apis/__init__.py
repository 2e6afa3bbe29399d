from .demo_io import VIDEO_SUFFIXES, read_frames, write_people
from .topdown_pipeline import (IMAGE_SUFFIXES, build_person_detector, coco_detections,
                               detect_persons, estimate_poses, load_person_boxes)

__all__ = [
    'IMAGE_SUFFIXES', 'VIDEO_SUFFIXES', 'build_person_detector', 'coco_detections',
    'detect_persons', 'estimate_poses', 'load_person_boxes', 'read_frames', 'write_people'
]
