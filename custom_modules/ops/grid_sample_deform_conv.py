# Copyright (c) OpenMMLab. All rights reserved.
"""Deformable convolution in plain PyTorch operators.

mmcv's ``DeformConv2d`` runs a C++/CUDA kernel that ONNX knows only as the
custom operator ``mmcv::MMCVDeformConv2d``: stock onnxruntime cannot run it
(mmcv 2.x ships no onnxruntime operators; mmdeploy has plugins for its own
backends). :func:`grid_sample_deform_conv2d` computes the same function with
``grid_sample`` (ONNX ``GridSample``, opset >= 16) and a matrix product, so a
model that uses it exports to standard ONNX.

It materialises the ``C x 9`` sampled columns (memory: 36 bytes per input
channel and output pixel in float32), but its operators are torch's
multi-threaded ones, where mmcv's CPU kernel runs one thread and writes its
gradients serially. On a 2-core CPU it was 3-8 times faster than mmcv's CPU
kernel forward and 10-18 times forward and backward on SMPR's shapes
(``tools/analysis/benchmark_deform_conv.py``); SMPR's head uses it on the CPU
by default (``SMPRHead(deform_conv='auto')``), mmcv's kernel on CUDA.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.ops import DeformConv2d
from torch import Tensor


class GridSampleDeformConv2d(nn.Module):
    """An ``mmcv.ops.DeformConv2d`` computed by
    :func:`grid_sample_deform_conv2d`: what ``replace_deform_convs`` puts in
    its place (ONNX export, counting multiply-accumulates).

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
        return grid_sample_deform_conv2d(x, offset, self.weight, self.stride,
                                         self.padding, self.dilation,
                                         self.deform_groups)


def grid_sample_deform_conv2d(x: Tensor, offset: Tensor, weight: Tensor,
                              stride: Tuple[int, int],
                              padding: Tuple[int, int], dilation: Tuple[int,
                                                                        int],
                              deform_groups: int) -> Tensor:
    """``mmcv.ops.deform_conv2d`` (Dai et al. 2017, eq. 2, no bias, ``groups``
    1) by bilinear sampling.

    Output pixel ``(y, x)`` sums, over the kernel taps ``(i, j)`` and input
    channels, the weight times the input read at ``(y * stride - padding + i *
    dilation + dy, x * stride - padding + j * dilation + dx)``, bilinearly,
    zero outside the image; ``(dy, dx)`` is the tap's offset for the channel's
    deform group, in input pixels. The offsets are laid out as mmcv's.

    Args:
        x (Tensor): ``(N, C_in, H, W)``.
        offset (Tensor): ``(N, 2 * deform_groups * kh * kw, H_out, W_out)``,
            per group the taps in row-major order, per tap ``(dy, dx)``.
        weight (Tensor): ``(C_out, C_in, kh, kw)``.
        stride, padding, dilation (tuple[int, int]): ``(y, x)``, as mmcv's.
        deform_groups (int): Groups of input channels sharing offsets.

    Returns:
        Tensor: ``(N, C_out, H_out, W_out)``.
    """
    n, channels, height, width = x.shape
    out_h, out_w = offset.shape[2:]
    kh, kw = weight.shape[2:]
    groups, taps = deform_groups, kh * kw
    expected = [(size + 2 * pad - dil * (k - 1) - 1) // step + 1
                for size, pad, dil, k, step in zip((
                    height, width), padding, dilation, (kh, kw), stride)]
    if (channels % groups or weight.shape[1] != channels
            or offset.shape[:2] != (n, 2 * groups * taps)
            or [out_h, out_w] != expected):
        raise ValueError(
            f'grid_sample_deform_conv2d: input {tuple(x.shape)}, offset '
            f'{tuple(offset.shape)} and weight {tuple(weight.shape)} do not '
            f'fit {deform_groups} deform groups, stride {tuple(stride)}, '
            f'padding {tuple(padding)}, dilation {tuple(dilation)}: the '
            f'offset must be ({n}, {2 * groups * taps}, {expected[0]}, '
            f'{expected[1]}), the weight take {channels} channels, and the '
            f'channels be a multiple of the groups')
    # the sampling positions and the bilinear interpolation in at least
    # float32 (in fp16 or bf16, positions near 100 pixels would be rounded to
    # 1/16 or 1/2 pixel); the weighted sum in the input's precision
    exact = torch.promote_types(x.dtype, torch.float32)
    # base sampling position of every tap at every output pixel, (taps,
    # H_out, W_out)
    tap_y = (torch.arange(kh, dtype=exact, device=x.device) *
             dilation[0]).repeat_interleave(kw)
    tap_x = (torch.arange(kw, dtype=exact, device=x.device) *
             dilation[1]).repeat(kh)
    out_y = (
        torch.arange(out_h, dtype=exact, device=x.device) * stride[0] -
        padding[0])
    out_x = (
        torch.arange(out_w, dtype=exact, device=x.device) * stride[1] -
        padding[1])
    base_y = tap_y[:, None, None] + out_y[None, :, None]
    base_x = tap_x[:, None, None] + out_x[None, None, :]
    offset = offset.to(exact).reshape(n * groups, taps, 2, out_h, out_w)
    sample_y = base_y + offset[:, :, 0]
    sample_x = base_x + offset[:, :, 1]
    # pixel centres to grid_sample's [-1, 1] (align_corners=False: pixel i
    # spans [i - 0.5, i + 0.5]), sampling zero outside the image as mmcv
    # does
    grid = torch.stack([(2 * sample_x + 1) / width - 1,
                        (2 * sample_y + 1) / height - 1], -1)
    sampled = F.grid_sample(
        x.to(exact).reshape(n * groups, channels // groups, height, width),
        grid.reshape(n * groups, taps * out_h, out_w, 2),
        mode='bilinear',
        padding_mode='zeros',
        align_corners=False)
    # channels (c, tap) as the weight's
    columns = sampled.reshape(n, channels * taps, out_h, out_w).to(x.dtype)
    return F.conv2d(columns, weight.flatten(1)[:, :, None, None])


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
