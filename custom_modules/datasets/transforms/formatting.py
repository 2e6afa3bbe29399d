# Copyright (c) OpenMMLab. All rights reserved.
"""Packing of the image pyramids that multi-scale bottom-up testing feeds the
model."""
from mmpose.datasets.transforms import PackPoseInputs
from mmpose.datasets.transforms.formatting import image_to_tensor
from mmpose.registry import TRANSFORMS

from .pyramid_resize import PYRAMID_KEYS


@TRANSFORMS.register_module()
class PackMultiScalePoseInputs(PackPoseInputs):
    """mmpose's ``PackPoseInputs``, which also packs an image pyramid.

    ``BottomupResize(aug_scales=[...])`` leaves ``img`` as a list, one image
    per scale and each of its own size; ``PackPoseInputs`` stacks them into one
    tensor and so fails. Here they are packed as a list of ``(C, H_s, W_s)``
    tensors, the base scale first, for
    :class:`~custom_modules.data_preprocessors.MultiScalePoseDataPreprocessor`;
    the data sample is packed from the base scale. A single image is packed as
    ``PackPoseInputs`` packs it. Add ``'aug_scales'`` to ``meta_keys`` so that
    ``BottomupPoseEstimator`` sees the scales. Where each image of the pyramid
    sits (:class:`~custom_modules.datasets.transforms.PyramidBottomupResize`'s
    ``pyramid_*`` lists) is packed into the metainfo whenever the pyramid is.
    """

    def transform(self, results: dict) -> dict:
        images = results.get('img')
        if not isinstance(images, (list, tuple)):
            return super().transform(results)
        packed = super().transform(dict(results, img=images[0]))
        packed['inputs'] = [image_to_tensor(image) for image in images]
        packed['data_samples'].set_metainfo(
            {key: results[key]
             for key in PYRAMID_KEYS if key in results})
        return packed
