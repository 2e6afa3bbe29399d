from .checkpoint_check import CheckpointMismatchError, check_checkpoint_matches, init_pose_model
from .demo_io import (IMAGE_SUFFIXES, VIDEO_SUFFIXES, InputError, open_inputs, process_inputs,
                      write_image, write_people)
from .pose_tracker import OneEuroFilter, PoseTracker
from .topdown_pipeline import (build_person_detector, coco_detections, detect_persons,
                               estimate_poses, load_person_boxes)

__all__ = [
    'CheckpointMismatchError', 'IMAGE_SUFFIXES', 'InputError', 'VIDEO_SUFFIXES',
    'build_person_detector', 'check_checkpoint_matches', 'coco_detections', 'detect_persons',
    'estimate_poses', 'init_pose_model', 'load_person_boxes', 'open_inputs', 'process_inputs',
    'OneEuroFilter', 'PoseTracker', 'write_image', 'write_people'
]
