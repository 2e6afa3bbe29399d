# Copyright (c) OpenMMLab. All rights reserved.
"""GridSampleDeformConv2d computes mmcv's DeformConv2d: forward and gradients,
for the geometries SMPR uses and others (stride, dilation, offsets reaching
outside the image, 1-pixel maps); in bf16 and fp16 it samples at float32
positions; inputs that do not fit are refused."""
import pytest
import torch
from mmcv.ops import DeformConv2d

from custom_modules.ops import (GridSampleDeformConv2d,
                                grid_sample_deform_conv2d,
                                replace_deform_convs)


@pytest.mark.parametrize(
    'size, stride, padding, dilation, deform_groups',
    [
        ((9, 11), 1, 1, 1, 4),  # SMPR's: 3x3, padding 1, four deform groups
        ((8, 7), 2, 1, 1, 1),
        ((10, 10), 1, 2, 2, 2),
        ((1, 1), 1, 1, 1, 4),  # SMPR's P7 of a small input
    ])
def test_matches_mmcv_forward_and_backward(size, stride, padding, dilation,
                                           deform_groups):
    torch.manual_seed(0)
    dcn = DeformConv2d(
        8,
        6,
        3,
        stride=stride,
        padding=padding,
        dilation=dilation,
        deform_groups=deform_groups).double()
    x = torch.randn(2, 8, *size, dtype=torch.float64, requires_grad=True)
    out_size = [(s + 2 * padding - dilation * 2 - 1) // stride + 1
                for s in size]
    # offsets of a few pixels: many taps land between pixels and some outside
    # the image
    offset = (
        torch.randn(2, deform_groups * 18, *out_size, dtype=torch.float64) * 2)
    offset.requires_grad_()
    ours = GridSampleDeformConv2d(dcn)(x, offset)
    theirs = dcn(x, offset)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-6)
    upstream = torch.randn_like(theirs)
    grads = torch.autograd.grad(ours, (x, offset, dcn.weight), upstream)
    grads_mmcv = torch.autograd.grad(theirs, (x, offset, dcn.weight), upstream)
    for name, g, g_mmcv in zip(('input', 'offset', 'weight'), grads,
                               grads_mmcv):
        # bilinear sampling is not differentiable where a sample falls exactly
        # on a pixel line; random offsets make that a measure-zero event, so
        # the gradients agree
        torch.testing.assert_close(g, g_mmcv, atol=1e-6, rtol=1e-6, msg=name)


def test_replace_deform_convs_swaps_every_dcn_and_shares_weights():
    model = torch.nn.Sequential(
        DeformConv2d(4, 4, 3, padding=1),
        torch.nn.ModuleList(
            [torch.nn.Conv2d(4, 4, 1),
             DeformConv2d(4, 4, 3, padding=1)]))
    weight = model[1][1].weight
    assert replace_deform_convs(model) == 2
    assert isinstance(model[0], GridSampleDeformConv2d)
    assert isinstance(model[1][1], GridSampleDeformConv2d)
    assert isinstance(model[1][0], torch.nn.Conv2d)
    assert model[1][1].weight is weight
    assert replace_deform_convs(model) == 0


def test_grouped_convolution_is_refused():
    with pytest.raises(ValueError, match='groups=2'):
        GridSampleDeformConv2d(DeformConv2d(4, 4, 3, groups=2))


@pytest.mark.parametrize('dtype, tolerance', [(torch.bfloat16, 1e-2),
                                              (torch.float16, 2e-3)])
def test_reduced_precision_samples_at_float32_positions(dtype, tolerance):
    """In bf16 / fp16 the sampling positions and the interpolation stay
    float32: on a 128-pixel map, where bf16 would round positions to half a
    pixel and fp16 to 1/16 (errors of 37% and 4.6% of the largest output,
    measured), the output is the float32 function's of the same rounded
    inputs to the precision of the last product."""
    torch.manual_seed(0)
    x = torch.randn(1, 8, 128, 128).to(dtype).requires_grad_()
    offset = (torch.rand(1, 72, 128, 128) * 4 - 2).to(dtype)
    weight = (torch.randn(8, 8, 3, 3) / 8).to(dtype)
    geometry = ((1, 1), (1, 1), (1, 1), 4)
    out = grid_sample_deform_conv2d(x, offset, weight, *geometry)
    reference = grid_sample_deform_conv2d(x.detach().float(), offset.float(),
                                          weight.float(), *geometry)
    assert out.dtype == dtype
    error = (out.float() - reference).abs().max() / reference.abs().max()
    assert error < tolerance
    out.sum().backward()
    assert x.grad.dtype == dtype and torch.isfinite(x.grad).all()


def test_inputs_that_do_not_fit_are_named():
    x, weight = torch.randn(1, 8, 10, 10), torch.randn(6, 8, 3, 3)
    geometry = ((1, 1), (1, 1), (1, 1), 4)
    with pytest.raises(
            ValueError,
            match=r'offset \(1, 72, 9, 10\) .* the offset must be '
            r'\(1, 72, 10, 10\)'):
        grid_sample_deform_conv2d(x, torch.randn(1, 72, 9, 10), weight,
                                  *geometry)
    with pytest.raises(ValueError, match=r'must be \(1, 72, 10, 10\)'):
        grid_sample_deform_conv2d(x, torch.randn(1, 36, 10, 10), weight,
                                  *geometry)
