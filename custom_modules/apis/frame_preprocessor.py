# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's bottom-up test preprocessing of video frames in torch ops on the
model's device.

``inference_bottomup`` prepares each frame on the CPU: ``BottomupResize`` warps
it with OpenCV into the padded network input (uint8), ``PackPoseInputs`` makes
a tensor of it and the data preprocessor, on the model's device, swaps BGR to
RGB and normalises. For a video on a GPU that is a copy of the padded image per
frame and several passes over it on the host.
:class:`BottomupFramePreprocessor` does the same on the device: the frame goes
up as uint8 once, and one ``grid_sample`` through the transform's own affine
matrix (kept per frame size), the channel swap and the normalisation make the
network input; the data samples carry the metainfo mmpose's pipeline would
give, so that ``model.predict`` decodes as after ``inference_bottomup``.

The two agree up to rounding: OpenCV interpolates with 5-bit fixed-point
weights and stores uint8, this keeps float32
(``tests/test_apis/test_frame_preprocessor.py`` bounds the difference).
"""
from typing import Callable, List, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dataset import Compose
from mmpose.structures import PoseDataSample
from mmpose.structures.bbox import get_warp_matrix
from torch import Tensor

from .recently_used import RecentlyUsed

# the transforms of a bottom-up test pipeline this preprocessor reproduces, in
# order
SUPPORTED = ('LoadImage', ('BottomupResize', 'PyramidBottomupResize'),
             ('PackPoseInputs', 'PackMultiScalePoseInputs'))
# the frame sizes whose sampling grids are kept (the least recently used goes)
MAX_GRIDS = 8


class UnsupportedPipelineError(ValueError):
    """The model's test pipeline or data preprocessor does something this
    preprocessor does not (the message names it); use
    ``inference_bottomup``."""


class BottomupFramePreprocessor:
    """Frames to network inputs and data samples, as the model's bottom-up test
    pipeline makes them, on the model's device.

    Args:
        model: An mmpose bottom-up estimator whose test pipeline is
            ``LoadImage``, ``BottomupResize`` (one scale, no UDP) and
            ``PackPoseInputs`` (or the project's ``PackMultiScalePoseInputs``)
            and whose data preprocessor normalises with ``mean`` / ``std``,
            optionally swapping BGR to RGB.

    Raises:
        UnsupportedPipelineError: Another pipeline or preprocessor.
    """

    def __init__(self, model: nn.Module) -> None:
        pipeline = model.cfg.test_dataloader.dataset.pipeline
        transforms = Compose(pipeline).transforms
        names = [type(t).__name__ for t in transforms]
        if len(names) != len(SUPPORTED) or not all(
                name == want or name in want
                for name, want in zip(names, SUPPORTED)):
            raise UnsupportedPipelineError(
                f'test pipeline {names}: the frame preprocessor reproduces '
                'LoadImage, BottomupResize (or PyramidBottomupResize), '
                'PackPoseInputs (or PackMultiScalePoseInputs) only')
        self.resize = transforms[1]
        if self.resize.aug_scales or self.resize.use_udp:
            raise UnsupportedPipelineError(
                'BottomupResize with aug_scales or use_udp: the frame '
                'preprocessor reproduces one scale without UDP')
        self.meta_keys = transforms[2].meta_keys
        preprocessor = model.data_preprocessor
        if not getattr(preprocessor, '_enable_normalize', False):
            raise UnsupportedPipelineError(
                f'{type(preprocessor).__name__} without normalisation: not '
                'reproduced')
        self.device = next(model.parameters()).device
        self.mean = (
            preprocessor.mean.view(1, 3, 1, 1).to(self.device, torch.float32))
        self.std = (
            preprocessor.std.view(1, 3, 1, 1).to(self.device, torch.float32))
        self.bgr_to_rgb = bool(preprocessor._channel_conversion)
        self.size_divisor = int(preprocessor.pad_size_divisor)
        self.pad_value = float(preprocessor.pad_value)
        # BottomupResize's border (per BGR channel), before the normalisation
        self.border = torch.as_tensor(
            self.resize.pad_val, dtype=torch.float32,
            device=self.device).expand(3).view(1, 3, 1, 1)
        self.dataset_meta = dict(model.dataset_meta)
        # the grids of the MAX_GRIDS frame sizes used last (a folder of
        # images of many sizes would keep one full-size grid per size)
        self._grids: RecentlyUsed[Tuple[Tensor,
                                        dict]] = RecentlyUsed(MAX_GRIDS)

    def _geometry(self, height: int, width: int) -> Tuple[Tensor, dict]:
        """:meth:`_make_geometry`, kept for the frame sizes used last."""
        return self._grids.get_or_make(
            (height, width), lambda: self._make_geometry(height, width))

    def _make_geometry(self, height: int, width: int) -> Tuple[Tensor, dict]:
        """The sampling grid ``(1, H_in, W_in, 2)`` of a ``height`` x ``width``
        frame and the metainfo BottomupResize gives it (its own size and matrix
        computations)."""
        actual, padded = self.resize._get_input_size((width, height),
                                                     self.resize.input_size)
        center = np.array([width / 2, height / 2], dtype=np.float32)
        scale = np.array(
            [width * padded[0] / actual[0], height * padded[1] / actual[1]],
            dtype=np.float32)
        warp = get_warp_matrix(
            center=center, scale=scale, rot=0, output_size=padded)
        # OpenCV's warpAffine samples the frame at inverse(warp) @ (x, y,
        # 1) of each output pixel (x, y); grid_sample with
        # align_corners=True puts pixel i at -1 + 2i / (n - 1)
        inverse = np.linalg.inv(np.vstack([warp, [0, 0, 1]]))[:2]
        out_w, out_h = int(padded[0]), int(padded[1])
        batch_h, batch_w = (-(-size // self.size_divisor) * self.size_divisor
                            for size in (out_h, out_w))
        ys, xs = np.meshgrid(np.arange(out_h), np.arange(out_w), indexing='ij')
        points = (
            np.stack([xs, ys, np.ones_like(xs)], -1).reshape(-1, 3)
            @ inverse.T)
        grid = np.empty_like(points)
        grid[:, 0] = 2 * points[:, 0] / max(width - 1, 1) - 1
        grid[:, 1] = 2 * points[:, 1] / max(height - 1, 1) - 1
        grid = torch.from_numpy(grid.reshape(1, out_h, out_w,
                                             2)).to(self.device, torch.float32)
        meta = dict(
            ori_shape=(height, width),
            img_shape=(out_h, out_w),
            input_size=(out_w, out_h),
            input_center=center,
            input_scale=scale,
            pad_shape=(batch_h, batch_w),
            batch_input_shape=(batch_h, batch_w))
        return grid, meta

    def __call__(
        self,
        frame: Union[np.ndarray, Tensor],
    ) -> Tuple[Tensor, List[PoseDataSample]]:
        """``(inputs, data_samples)`` of one BGR uint8 frame ``(H, W, 3)`` (a
        numpy array or a tensor on any device): ``inputs`` ``(1, 3, H_in,
        W_in)`` float32 on the model's device, for ``model.predict(inputs,
        data_samples)``."""
        if isinstance(frame, np.ndarray):
            # a view such as rgb[..., ::-1] has negative strides, which torch
            # cannot take
            frame = np.ascontiguousarray(frame)
        image = torch.as_tensor(frame).to(self.device, non_blocking=True)
        if image.dim() != 3 or image.shape[2] != 3:
            raise ValueError(
                f'a frame is (H, W, 3) BGR, got shape {tuple(image.shape)}')
        grid, meta = self._geometry(int(image.shape[0]), int(image.shape[1]))
        # shifted so that grid_sample's zero padding is BottomupResize's border
        # value
        image = image.permute(2, 0, 1)[None].float() - self.border
        inputs = F.grid_sample(
            image,
            grid,
            mode='bilinear',
            padding_mode='zeros',
            align_corners=True) + self.border
        if self.bgr_to_rgb:
            inputs = inputs.flip(1)
        inputs = (inputs - self.mean) / self.std
        batch_h, batch_w = meta['batch_input_shape']
        # the data preprocessor's padding
        if (batch_h, batch_w) != tuple(inputs.shape[2:]):
            inputs = F.pad(
                inputs,
                (0, batch_w - inputs.shape[3], 0, batch_h - inputs.shape[2]),
                value=self.pad_value)
        sample = PoseDataSample()
        metainfo = {
            k: v
            for k, v in self.dataset_meta.items() if k in self.meta_keys
        }
        metainfo.update(img_path=None, **meta)
        sample.set_metainfo(metainfo)
        return inputs, [sample]


def bottomup_inference(model: nn.Module,
                       on_device: bool = False
                       ) -> Callable[[np.ndarray], PoseDataSample]:
    """``infer(frame) -> data sample with pred_instances`` for a bottom-up
    model: mmpose's ``inference_bottomup``, or with ``on_device`` the frame
    prepared by a :class:`BottomupFramePreprocessor` and given to
    ``model.predict`` (flip and the decoding as in ``inference_bottomup``; no
    multi-scale test).

    Raises:
        UnsupportedPipelineError: ``on_device`` with a pipeline the
            preprocessor does not reproduce, or with
            ``test_cfg.multiscale_test``.
    """
    from mmpose.apis import inference_bottomup

    if not on_device:
        return lambda frame: inference_bottomup(model, frame)[0]
    if model.test_cfg.get('multiscale_test', False):
        raise UnsupportedPipelineError(
            'test_cfg.multiscale_test: the frame preprocessor makes one scale')
    preprocess = BottomupFramePreprocessor(model)

    def infer(frame: np.ndarray) -> PoseDataSample:
        with torch.no_grad():
            return model.predict(*preprocess(frame))[0]

    return infer
