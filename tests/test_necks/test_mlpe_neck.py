# Copyright (c) OpenMMLab. All rights reserved.
"""MLPENeck: shapes per level and per switch, and what each switch changes in
the data flow."""
import pytest
import torch
import torch.nn as nn

from custom_modules.necks import MLPENeck

IN_CHANNELS = [16, 32, 64, 128]
# strides 4, 8, 16, 32 of a 64x64 input
SIZES_64x64 = [(16, 16), (8, 8), (4, 4), (2, 2)]
# 48 / 32 is no integer: the last is rounded up
SIZES_64x48 = [(16, 12), (8, 6), (4, 3), (2, 2)]


def make_inputs(sizes):
    return tuple(
        torch.randn(2, c, h, w, requires_grad=True)
        for c, (h, w) in zip(IN_CHANNELS, sizes))


def neck(**kwargs) -> MLPENeck:
    return MLPENeck(IN_CHANNELS, out_channels=8, **kwargs)


@pytest.mark.parametrize('feature_enhancement', [True, False])
@pytest.mark.parametrize('kernel_size', [3, 1])
@pytest.mark.parametrize('upsample', ['bilinear', 'deconv'])
def test_shapes_forward_backward(feature_enhancement, kernel_size, upsample):
    inputs = make_inputs(SIZES_64x64)
    model = neck(
        feature_enhancement=feature_enhancement,
        kernel_size=kernel_size,
        upsample=upsample)
    outs = model(inputs)
    assert [tuple(o.shape) for o in outs] == [(2, 8, h, w)
                                              for h, w in SIZES_64x64]
    sum(o.sum() for o in outs).backward()
    assert all(x.grad is not None for x in inputs)
    assert all(p.grad is not None for p in model.parameters())
    lateral_convs = {lat.conv for lat in model.laterals}
    convs = [
        m for m in model.modules()
        if isinstance(m, nn.Conv2d) and m not in lateral_convs
    ]
    assert {c.kernel_size for c in convs} == {(kernel_size, kernel_size)}
    assert any(isinstance(m, nn.ConvTranspose2d) for m in model.modules()) == (
        upsample == 'deconv')


def dependence(model: MLPENeck, out_level: int, in_level: int) -> float:
    """Gradient magnitude of output level ``out_level`` with respect to input
    ``in_level``."""
    inputs = make_inputs(SIZES_64x48)
    model.eval()
    model(inputs)[out_level].sum().backward()
    # None: the output does not depend on that input at all
    grad = inputs[in_level].grad
    return 0.0 if grad is None else grad.abs().sum().item()


def test_low_levels_gain_semantics_with_or_without_enhancement():
    for feature_enhancement in (True, False):
        assert dependence(neck(feature_enhancement=feature_enhancement), 0,
                          3) > 0


def test_enhancement_gives_high_levels_the_spatial_detail_of_low_levels():
    assert dependence(neck(feature_enhancement=True), 3, 0) > 0
    assert dependence(neck(feature_enhancement=False), 3, 0) == 0


def test_bad_switches_and_sizes_are_named():
    with pytest.raises(ValueError, match='kernel_size'):
        neck(kernel_size=5)
    with pytest.raises(ValueError, match='upsample'):
        neck(upsample='nearest')
    with pytest.raises(ValueError, match='4 levels'):
        neck()(make_inputs(SIZES_64x48)[:3])
    # a transposed conv doubles 2x2 to 4x4, but the finer level of a 64x48
    # input is 4x3
    with pytest.raises(ValueError, match='divisible by 32'):
        neck(upsample='deconv')(make_inputs(SIZES_64x48))
