"""A bottom-up pose estimator that predicts from image pyramids (multi-scale testing)."""
from typing import List, Optional, Union

from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import OptSampleList
from torch import Tensor


@MODELS.register_module()
class PyramidBottomupPoseEstimator(BottomupPoseEstimator):
    """mmpose's ``BottomupPoseEstimator``, which also predicts from image pyramids.

    ``BottomupPoseEstimator.predict`` averages the heads' outputs over the images of a pyramid
    when ``test_cfg.multiscale_test=True``, but in mmpose 1.3 no pyramid reaches it: the
    ``aug_scales`` images of ``BottomupResize`` are stacked by ``PackPoseInputs``, by the data
    preprocessor and by ``BasePoseEstimator.forward``, and each fails on images of different
    sizes. With :class:`~custom_modules.datasets.transforms.PackMultiScalePoseInputs` and
    :class:`~custom_modules.data_preprocessors.MultiScalePoseDataPreprocessor`, the pyramid
    arrives as a list of ``(B, C, H_s, W_s)`` batches, base scale first, and is passed on as it
    is. A ``multiscale_test`` without ``aug_scales`` in the test pipeline is refused with the way
    to set them. Everything else is ``BottomupPoseEstimator``'s.
    """

    def forward(self,
                inputs: Union[Tensor, List[Tensor]],
                data_samples: OptSampleList = None,
                mode: str = 'tensor'):
        if mode == 'predict' and isinstance(inputs, list) and self.test_cfg.get(
                'multiscale_test', False):
            if self.metainfo is not None:
                for data_sample in data_samples:
                    data_sample.set_metainfo(self.metainfo)
            return self.predict(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    def predict(self, inputs: Union[Tensor, List[Tensor]], data_samples: Optional[list]):
        if self.test_cfg.get('multiscale_test', False) and not isinstance(
                data_samples[0].metainfo.get('aug_scales'), list):
            raise ValueError(
                'test_cfg.multiscale_test=True needs the scales of the image pyramid: set '
                '`aug_scales` (e.g. [0.5, 1.5]) in the BottomupResize of the test pipeline, with '
                'PackMultiScalePoseInputs (meta_keys with "aug_scales") after it and '
                'MultiScalePoseDataPreprocessor as the data preprocessor')
        return super().predict(inputs, data_samples)
