# Copyright (c) OpenMMLab. All rights reserved.
"""Deformable convolution in plain PyTorch operators, for export.

mmcv's ``DeformConv2d`` runs a C++/CUDA kernel that ONNX knows only as the
custom operator ``mmcv::MMCVDeformConv2d``: stock onnxruntime cannot run it
(mmcv 2.x ships no onnxruntime operators; mmdeploy has plugins for its own
backends). ``GridSampleDeformConv2d`` computes the same function with
``grid_sample`` (ONNX ``GridSample``, opset >= 16) and a matrix product, so a
model that uses it exports to standard ONNX. It is slower and uses more memory
than mmcv's kernel (it materialises the ``C x 9`` sampled columns); it is meant
for export, not for training.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.ops import DeformConv2d
from torch import Tensor


class GridSampleDeformConv2d(nn.Module):
    """The function of ``mmcv.ops.DeformConv2d`` (Dai et al. 2017, eq. 2) by
    bilinear sampling.

    Output pixel ``(y, x)`` sums, over the kernel taps ``(i, j)`` and input
    channels, the weight times the input read at ``(y * stride - padding + i *
    dilation + dy, x * stride - padding + j * dilation + dx)``, bilinearly,
    zero outside the image; ``(dy, dx)`` is the tap's offset for the channel's
    deform group, in input pixels. The offsets are laid out as mmcv's: ``(N,
    deform_groups * kh * kw * 2, H_out, W_out)``, per group the taps in
    row-major order, per tap ``(dy, dx)``.

    Args:
        dcn (DeformConv2d): the mmcv module whose weights (shared, not copied)
            and geometry this one takes. ``groups`` must be 1.
    """

    def __init__(self, dcn: DeformConv2d) -> None:
        super().__init__()
        if dcn.groups != 1:
            raise ValueError(
                f'GridSampleDeformConv2d: groups={dcn.groups} is not '
                'supported (only deform_groups may exceed 1)')
        self.weight = dcn.weight  # mmcv's DeformConv2d has no bias
        self.stride = dcn.stride
        self.padding = dcn.padding
        self.dilation = dcn.dilation
        self.deform_groups = dcn.deform_groups

    def forward(self, x: Tensor, offset: Tensor) -> Tensor:
        """``x`` ``(N, C_in, H, W)``, ``offset`` ``(N, 2 * deform_groups * kh *
        kw, H_out, W_out)`` -> ``(N, C_out, H_out, W_out)``."""
        n, channels, height, width = x.shape
        out_h, out_w = offset.shape[2:]
        kh, kw = self.weight.shape[2:]
        groups, taps = self.deform_groups, kh * kw
        # base sampling position of every tap at every output pixel, (taps,
        # H_out, W_out)
        tap_y = (torch.arange(kh, dtype=x.dtype, device=x.device) *
                 self.dilation[0]).repeat_interleave(kw)
        tap_x = (torch.arange(kw, dtype=x.dtype, device=x.device) *
                 self.dilation[1]).repeat(kh)
        out_y = (
            torch.arange(out_h, dtype=x.dtype, device=x.device) *
            self.stride[0] - self.padding[0])
        out_x = (
            torch.arange(out_w, dtype=x.dtype, device=x.device) *
            self.stride[1] - self.padding[1])
        base_y = tap_y[:, None, None] + out_y[None, :, None]
        base_x = tap_x[:, None, None] + out_x[None, None, :]
        offset = offset.reshape(n * groups, taps, 2, out_h, out_w)
        sample_y = base_y + offset[:, :, 0]
        sample_x = base_x + offset[:, :, 1]
        # pixel centres to grid_sample's [-1, 1] (align_corners=False: pixel i
        # spans [i - 0.5, i + 0.5]), sampling zero outside the image as mmcv
        # does
        grid = torch.stack([(2 * sample_x + 1) / width - 1,
                            (2 * sample_y + 1) / height - 1], -1)
        sampled = F.grid_sample(
            x.reshape(n * groups, channels // groups, height, width),
            grid.reshape(n * groups, taps * out_h, out_w, 2),
            mode='bilinear',
            padding_mode='zeros',
            align_corners=False)
        # channels (c, tap) as the weight's
        columns = sampled.reshape(n, channels * taps, out_h, out_w)
        return F.conv2d(columns, self.weight.flatten(1)[:, :, None, None])


def replace_deform_convs(module: nn.Module) -> int:
    """Replace, in place, every ``mmcv.ops.DeformConv2d`` under ``module`` by a
    :class:`GridSampleDeformConv2d` sharing its weights; returns how many were
    replaced."""
    replaced = 0
    for name, child in module.named_children():
        if type(child) is DeformConv2d:
            setattr(module, name, GridSampleDeformConv2d(child))
            replaced += 1
        else:
            replaced += replace_deform_convs(child)
    return replaced
