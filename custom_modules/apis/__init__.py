# Copyright (c) OpenMMLab. All rights reserved.
from .backends import BackendError, apply_backend
from .checkpoint_check import (CheckpointError, CheckpointFileError,
                               CheckpointMismatchError,
                               check_checkpoint_matches, init_pose_model)
from .demo_io import (IMAGE_SUFFIXES, VIDEO_SUFFIXES, InputError, Source,
                      open_source, write_image)
from .fast_network import FastPath, FastPathError, run_network_fast
from .frame_preprocessor import (BottomupFramePreprocessor,
                                 UnsupportedPipelineError, bottomup_inference)
from .onnxruntime_backend import (OnnxModelMismatchError,
                                  run_network_in_onnxruntime)
from .pose_drawing import draw_text_overlay, draw_tracked_people, track_colour
from .pose_tracker import OneEuroFilter, PoseTracker
from .stage_timer import StageTimer
from .topdown_pipeline import (build_person_detector, coco_detections,
                               detect_persons, estimate_poses,
                               load_person_boxes)
from .video_sink import VideoSink, video_fps

__all__ = [
    'BackendError',
    'apply_backend',
    'video_fps',
    'BottomupFramePreprocessor',
    'CheckpointError',
    'CheckpointFileError',
    'CheckpointMismatchError',
    'FastPath',
    'FastPathError',
    'UnsupportedPipelineError',
    'bottomup_inference',
    'run_network_fast',
    'IMAGE_SUFFIXES',
    'InputError',
    'Source',
    'StageTimer',
    'VIDEO_SUFFIXES',
    'VideoSink',
    'build_person_detector',
    'check_checkpoint_matches',
    'coco_detections',
    'detect_persons',
    'draw_text_overlay',
    'draw_tracked_people',
    'estimate_poses',
    'init_pose_model',
    'load_person_boxes',
    'open_source',
    'OneEuroFilter',
    'OnnxModelMismatchError',
    'PoseTracker',
    'run_network_in_onnxruntime',
    'track_colour',
    'write_image',
]
