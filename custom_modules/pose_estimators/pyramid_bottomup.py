# Copyright (c) OpenMMLab. All rights reserved.
"""A bottom-up pose estimator that predicts from image pyramids (multi-scale
testing)."""
import logging
from typing import List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.structures import PixelData
from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import (ForwardResults, InstanceList, OptSampleList,
                                 PixelDataList, SampleList)
from torch import Tensor

from ..structures import image_to_input
from ..utils.config_errors import did_you_mean

# ``frame`` in the metainfo of predicted fields already resampled into the
# original image (:func:`fields_to_image`)
IMAGE_FRAME = 'image'


@MODELS.register_module()
class PyramidBottomupPoseEstimator(BottomupPoseEstimator):
    """mmpose's ``BottomupPoseEstimator``, which also predicts from image
    pyramids.

    ``BottomupPoseEstimator.predict`` averages the heads' outputs over the
    images of a pyramid when ``test_cfg.multiscale_test=True``, but in mmpose
    1.3 no pyramid reaches it: the ``aug_scales`` images of ``BottomupResize``
    are stacked by ``PackPoseInputs``, by the data preprocessor and by
    ``BasePoseEstimator.forward``, and each fails on images of different sizes.
    With :class:`~custom_modules.datasets.transforms.PackMultiScalePoseInputs`
    and
    :class:`~custom_modules.data_preprocessors.MultiScalePoseDataPreprocessor`,
    the pyramid arrives as a list of ``(B, C, H_s, W_s)`` batches, base scale
    first, and is passed on as it is. A ``multiscale_test`` without
    ``aug_scales`` in the test pipeline is refused with the way to set them.

    Predicted maps (``test_cfg.output_heatmaps``, mmpose's ``--draw-heatmap``)
    are moved from the network input's frame into the original image's, as the
    keypoints are, so that they lie under the people they belong to when drawn.
    Everything else is ``BottomupPoseEstimator``'s.
    """

    #: the ``test_cfg`` keys this class and ``BottomupPoseEstimator`` read
    TEST_CFG_KEYS = frozenset({'flip_test', 'multiscale_test'})

    def __init__(self, *args, **kwargs) -> None:
        """``BottomupPoseEstimator``'s arguments; a ``test_cfg`` key that
        nothing reads is logged (:meth:`unread_test_cfg_keys`)."""
        super().__init__(*args, **kwargs)
        for problem in self.unread_test_cfg_keys():
            print_log(problem, logger='current', level=logging.WARNING)

    def unread_test_cfg_keys(self) -> List[str]:
        """What is said of each ``test_cfg`` key that neither this estimator
        nor its head reads (mmpose ignores them: a misspelt ``flip_tset=True``
        tests without flipping), with the closest known key; empty for a head
        that does not list its keys (``TEST_CFG_KEYS``)."""
        head_keys = getattr(self.head, 'TEST_CFG_KEYS', None)
        if head_keys is None:
            return []
        known = sorted(set(self.TEST_CFG_KEYS) | set(head_keys))
        problems = []
        for key in self.test_cfg:
            if key in known:
                continue
            # a close spelling only: a key of another model (top-down's
            # shift_heatmap, RTMO's nms_thr) is no misspelt one of these
            problems.append(
                f'test_cfg.{key} is read by nothing of this '
                f'{type(self).__name__} and its {type(self.head).__name__}: '
                'it changes nothing' +
                did_you_mean(key, known, cutoff=0.75, list_all=True))
        return problems

    def forward(self,
                inputs: Union[Tensor, List[Tensor]],
                data_samples: OptSampleList = None,
                mode: str = 'tensor') -> ForwardResults:
        if (mode == 'predict' and isinstance(inputs, list)
                and self.test_cfg.get('multiscale_test', False)):
            if self.metainfo is not None:
                for data_sample in data_samples:
                    data_sample.set_metainfo(self.metainfo)
            return self.predict(inputs, data_samples)
        if isinstance(inputs, list):
            raise ValueError(
                'an image pyramid (the test pipeline\'s aug_scales) reached '
                'a model with test_cfg.multiscale_test=False: set it True, or '
                'take aug_scales out of the pipeline')
        return super().forward(inputs, data_samples, mode)

    def predict(self, inputs: Union[Tensor, List[Tensor]],
                data_samples: OptSampleList) -> SampleList:
        if self.test_cfg.get('multiscale_test', False) and not isinstance(
                data_samples[0].metainfo.get('aug_scales'), list):
            raise ValueError(
                'test_cfg.multiscale_test=True needs the scales of the image '
                'pyramid: set `aug_scales` (e.g. [0.5, 1.5]) in the '
                'BottomupResize (or PyramidBottomupResize) of the test '
                'pipeline, with '
                'PackMultiScalePoseInputs (meta_keys with "aug_scales") after '
                'it and MultiScalePoseDataPreprocessor as the data '
                'preprocessor')
        return super().predict(inputs, data_samples)

    def add_pred_to_datasample(self, batch_pred_instances: InstanceList,
                               batch_pred_fields: Optional[PixelDataList],
                               batch_data_samples: SampleList) -> SampleList:
        """``BottomupPoseEstimator``'s, and every map of the predicted fields
        resampled from the input (``input_size``, the resized and padded image)
        into the original image (``ori_shape``), as the keypoints are mapped
        (``input_center``, ``input_scale``); the fields' metainfo says so
        (``frame='image'``: mmpose's ``merge_data_samples`` would map them
        again, :class:`~custom_modules.engine.MultilevelPoseVisualizationHook`
        does not)."""
        samples = super().add_pred_to_datasample(batch_pred_instances,
                                                 batch_pred_fields,
                                                 batch_data_samples)
        for sample in samples:
            if 'pred_fields' in sample:
                sample.pred_fields = fields_to_image(sample.pred_fields,
                                                     sample.metainfo)
        return samples


def fields_to_image(fields: PixelData, metainfo: dict) -> PixelData:
    """Every ``(C, h, w)`` map of ``fields`` (at the input's size or a fraction
    of it) resampled (bilinear) at the pixels of the original image
    ``ori_shape`` ``(H, W)``.

    Image pixel ``u`` is input position
    ``(u - center + scale / 2) * input_size / scale``, the inverse of mmpose's
    keypoint mapping (pixel centres at integer positions, as
    ``cv2.warpAffine``). The result's metainfo has ``frame='image'``
    (:data:`IMAGE_FRAME`).
    """
    height, width = metainfo['ori_shape'][:2]
    in_w, in_h = metainfo['input_size']
    center, scale = metainfo['input_center'], metainfo['input_scale']
    xs = torch.arange(width, dtype=torch.float32)
    ys = torch.arange(height, dtype=torch.float32)
    # input positions, then grid_sample's [-1, 1] (align_corners=False: -1 is
    # the left edge of input pixel 0, half a pixel before its centre); the same
    # grid for every map
    gx = (image_to_input(xs, center[0], scale[0], in_w) + 0.5) / in_w * 2 - 1
    gy = (image_to_input(ys, center[1], scale[1], in_h) + 0.5) / in_h * 2 - 1
    grid = torch.stack(torch.meshgrid(gx, gy, indexing='xy'), dim=-1)[None]
    out = PixelData()
    for key, maps in fields.items():
        maps = torch.as_tensor(maps)
        resampled = F.grid_sample(
            maps[None].float(),
            grid.to(maps.device),
            mode='bilinear',
            align_corners=False)
        out.set_field(resampled[0], key)
    out.set_metainfo(dict(frame=IMAGE_FRAME))
    return out
