# Copyright (c) OpenMMLab. All rights reserved.
"""Batching of the image pyramids of multi-scale bottom-up testing."""
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.registry import MODELS


@MODELS.register_module()
class MultiScalePoseDataPreprocessor(PoseDataPreprocessor):
    """mmpose's ``PoseDataPreprocessor``, which also batches image pyramids.

    With :class:`~custom_modules.datasets.transforms.PackMultiScalePoseInputs`,
    a sample's ``inputs`` is a list of ``(C, H_s, W_s)`` images, one per scale,
    which mmengine's collate turns into one list of images per scale. Each
    scale is then normalised, padded and stacked as a batch of its own, and the
    model gets the list of ``(B, C, H_s, W_s)`` batches, base scale first, that
    ``BottomupPoseEstimator`` expects with ``test_cfg.multiscale_test=True``.
    The data samples' ``batch_input_shape`` and ``pad_shape`` are the base
    scale's; ``pyramid_batch_input_shapes`` has every scale's ``(H_s, W_s)``,
    base scale first (the width a mirrored batch is mirrored in). Any other
    batch is processed as ``PoseDataPreprocessor`` processes it.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        if not (isinstance(inputs, (list, tuple)) and inputs
                and isinstance(inputs[0], (list, tuple))):
            return super().forward(data, training)
        # the base scale last, so that its shapes are the ones left in the data
        # samples
        batches = [
            super(MultiScalePoseDataPreprocessor, self).forward(
                dict(data, inputs=list(scale_inputs)), training)
            for scale_inputs in reversed(inputs)
        ]
        inputs = [batch['inputs'] for batch in reversed(batches)]
        data_samples = batches[-1]['data_samples']
        shapes = [tuple(batch.shape[-2:]) for batch in inputs]
        for sample in data_samples:
            sample.set_metainfo(dict(pyramid_batch_input_shapes=shapes))
        return dict(inputs=inputs, data_samples=data_samples)
