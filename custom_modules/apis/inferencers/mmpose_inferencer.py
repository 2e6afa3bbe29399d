# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's ``MMPoseInferencer`` on
:class:`~.pose2d_inferencer.MultilevelPose2DInferencer`."""
from typing import List, Optional, Tuple, Union

from mmpose.apis.inferencers import MMPoseInferencer
from mmpose.registry import INFERENCERS

from .pose2d_inferencer import MultilevelPose2DInferencer


@INFERENCERS.register_module(name='multilevel')
@INFERENCERS.register_module()
class MultilevelInferencer(MMPoseInferencer):
    """``MMPoseInferencer`` for this project's 2D models, with the inputs,
    backends, tracking, timing and output video of
    :class:`~.pose2d_inferencer.MultilevelPose2DInferencer`::

        inferencer = MultilevelInferencer(
            pose2d='mln', pose2d_weights=CKPT, tracking=dict())
        for result in inferencer('0', show=True, output_video='webcam.mp4'):
            ...
        # after Ctrl-C: the videos and predictions of the frames done
        inferencer.finish()

    Args:
        pose2d, pose2d_weights, device, scope: As ``MMPoseInferencer`` (3D
            models are not this project's).
        det_model, det_weights, det_cat_ids, show_progress: As
            ``MMPoseInferencer``.
        **extensions: ``backend``, ``onnx``, ``fast_path``,
            ``device_preprocess``, ``tracking`` of
            :class:`~.pose2d_inferencer.MultilevelPose2DInferencer`.
    """

    preprocess_kwargs: set = (
        MMPoseInferencer.preprocess_kwargs
        | MultilevelPose2DInferencer.preprocess_kwargs)
    visualize_kwargs: set = (
        MMPoseInferencer.visualize_kwargs
        | MultilevelPose2DInferencer.visualize_kwargs)

    def __init__(self,
                 pose2d: Union[str, dict],
                 pose2d_weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: str = 'mmpose',
                 det_model: Optional[Union[str, dict]] = None,
                 det_weights: Optional[str] = None,
                 det_cat_ids: Optional[Union[int, Tuple, List]] = None,
                 show_progress: bool = False,
                 **extensions) -> None:
        self.visualizer = None
        self.show_progress = show_progress
        self.inferencer = MultilevelPose2DInferencer(pose2d, pose2d_weights,
                                                     device, scope, det_model,
                                                     det_weights, det_cat_ids,
                                                     show_progress,
                                                     **extensions)

    def postprocess(self, *args, **kwargs) -> dict:
        """The 2D inferencer's (with ``track_id`` and its timing)."""
        return self.inferencer.postprocess(*args, **kwargs)

    def _finalize_video_processing(self, pred_out_dir: str = '') -> None:
        self.inferencer.finish(pred_out_dir)

    def finish(self, pred_out_dir: Optional[str] = None) -> None:
        """See
        :meth:`~.pose2d_inferencer.MultilevelPose2DInferencer.finish`."""
        self.inferencer.finish(pred_out_dir)
