# Copyright (c) OpenMMLab. All rights reserved.
"""The image pyramid of multi-scale bottom-up testing, with where each image of
it sits."""
from mmpose.datasets.transforms import BottomupResize
from mmpose.registry import TRANSFORMS

#: the per-image keys :class:`PyramidBottomupResize` adds, base image first
PYRAMID_KEYS = ('pyramid_input_centers', 'pyramid_input_scales',
                'pyramid_input_sizes')


@TRANSFORMS.register_module()
class PyramidBottomupResize(BottomupResize):
    """mmpose's ``BottomupResize``, which also records where each image of its
    pyramid sits in the original image.

    With ``aug_scales``, ``BottomupResize`` resizes the image to
    ``input_size`` and to ``(int(w * s), int(h * s))`` for each scale ``s``,
    each rounded up to ``size_factor`` on its own and centred in its padding,
    so that an image of the pyramid is not the base image scaled by ``s`` (at
    800 px, ``size_factor=32``, ``resize_mode='expand'``, a 640x480 image is
    1067x800 in a 1088x800 input, and 555x416 in a 576x416 one at ``s = 0.5``,
    not 533x400 in a 544x400 one), but it records the ``input_center``,
    ``input_scale`` and ``input_size`` of the base image only.

    Here each image of the pyramid is made by ``BottomupResize`` at its size
    (the same pixels), and the three values of every image are recorded in
    lists, base image first: ``pyramid_input_centers``,
    ``pyramid_input_scales`` (each ``(2,)`` float32, image pixels) and
    ``pyramid_input_sizes`` (``(w, h)``), which
    :class:`~custom_modules.datasets.transforms.PackMultiScalePoseInputs`
    packs into the metainfo and
    :func:`~custom_modules.heads.pyramid_geometry.pyramid_to_base_input`
    reads. Without ``aug_scales`` it is ``BottomupResize`` (without UDP).

    Args: those of mmpose's ``BottomupResize``.

    Raises:
        ValueError: ``use_udp=True``: with UDP, ``BottomupResize`` puts the
            image in the top-left corner of its input, ``(size - 1) / image
            size`` input pixels per image pixel, which the ``input_center``,
            ``input_scale`` and ``input_size`` it records do not describe, so
            mmpose's mapping of the predictions back to the image misses by
            pixels (a point at (600, 400) of a 640x480 image: by 12 at 800,
            by 23 at half that size), and the images of a pyramid could not be
            placed.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.use_udp:
            raise ValueError(
                'PyramidBottomupResize: use_udp=True is not supported: a UDP '
                'resize is not the mapping that input_center / input_scale / '
                'input_size record, so keypoints mapped back to the image by '
                'them miss by pixels and the images of a pyramid cannot be '
                'placed; set use_udp=False')

    def transform(self, results: dict) -> dict:
        if not self.aug_scales:
            return super().transform(results)
        width, height = self.input_size
        sizes = [(width, height)] + [(int(width * s), int(height * s))
                                     for s in self.aug_scales]
        pyramid = [
            BottomupResize(
                input_size=size,
                size_factor=self.size_factor,
                resize_mode=self.resize_mode,
                pad_val=self.pad_val,
                use_udp=self.use_udp).transform(dict(results))
            for size in sizes
        ]
        results.update(pyramid[0])
        results['img'] = [level['img'] for level in pyramid]
        results['aug_scales'] = list(self.aug_scales)  # a config's tuple too
        for key in PYRAMID_KEYS:
            # 'pyramid_input_centers' <- each image's 'input_center'
            single = key[len('pyramid_'):-1]
            results[key] = [level[single] for level in pyramid]
        return results
