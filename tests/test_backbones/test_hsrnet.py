# Copyright (c) OpenMMLab. All rights reserved.
"""HSRNet / HSR-MSNet: strides, channels, dilation, block layout; forward and
backward on CPU."""
import math

import pytest
import torch
import torch.nn as nn
from mmpose.models.backbones.resnet import Bottleneck
from mmpose.registry import MODELS

from custom_modules.backbones import HSRNet, MSNetBlock

STAGE_BLOCKS = {
    59: (3, 4, 6, 3, 3),
    110: (3, 4, 23, 3, 3),
    161: (3, 8, 36, 3, 3)
}


def build(**kwargs) -> HSRNet:
    return MODELS.build(dict(type='HSRNet', **kwargs))


@pytest.mark.parametrize('block', ['bottleneck', 'msnet'])
@pytest.mark.parametrize('depth', [59, 110, 161])
def test_stage_layout_strides_and_channels(depth, block):
    model = build(depth=depth, block=block, out_indices=(0, 1, 2, 3, 4))
    stages = [getattr(model, name) for name in model.res_layers]
    assert tuple(len(stage) for stage in stages) == STAGE_BLOCKS[depth]
    # depth = 1 + 3 * blocks + 1, as ResNet counts
    assert 2 + 3 * sum(STAGE_BLOCKS[depth]) == depth
    resnet_block = MSNetBlock if block == 'msnet' else Bottleneck
    for stage in stages[:3]:
        assert all(type(b) is resnet_block for b in stage)
    for stage in stages[3:]:
        assert all(type(b) is Bottleneck for b in stage)

    # the full forward of the deep variants is slow on 2 cores; 59 checks
    # shapes
    if depth == 59:
        model.eval()
        with torch.no_grad():
            outs = model(torch.randn(1, 3, 256, 192))
        assert [tuple(o.shape) for o in outs] == [(1, 256, 64, 48),
                                                  (1, 512, 32, 24),
                                                  (1, 1024, 16, 12),
                                                  (1, 1024, 16, 12),
                                                  (1, 1024, 16, 12)]


def test_dilated_stages_keep_stride_16_and_open_with_a_projection():
    model = build(depth=59)
    for name in ('layer4', 'layer5'):
        stage = getattr(model, name)
        for i, block in enumerate(stage):
            assert block.conv2.dilation == (2,
                                            2) and block.conv2.padding == (2,
                                                                           2)
            assert block.conv2.stride == (1, 1) and block.conv1.stride == (1,
                                                                           1)
            # bottleneck C (projection shortcut) opens the stage, bottlenecks D
            # follow (identity)
            if i == 0:
                assert isinstance(block.downsample[0], nn.Conv2d)
                assert block.downsample[0].kernel_size == (1, 1)
                assert block.downsample[0].stride == (1, 1)
            else:
                assert block.downsample is None
    for name in ('layer1', 'layer2', 'layer3'):
        assert all(b.conv2.dilation == (1, 1) for b in getattr(model, name))


def test_dilated_stage_width_is_an_argument():
    model = build(depth=59, dilated_stage_channels=256, out_indices=(3, 4))
    outs = model(torch.randn(1, 3, 64, 48))
    assert [o.shape[1] for o in outs] == [256, 256]
    # bottleneck width = channels / 4
    assert model.layer4[0].conv2.out_channels == 64


def test_msnet_block_layout_split_and_se():
    block = MSNetBlock(256, 256, scales=4, base_width=26)
    assert block.width == 26  # floor(64 * 26 / 64)
    assert block.conv1.out_channels == 4 * 26
    # every subgroup has a 3x3 conv (Res2Net: 3)
    assert len(block.subgroup_convs) == 4
    assert all(c.in_channels == c.out_channels == 26
               for c in block.subgroup_convs)

    # The SE block sits after the last conv, before the residual addition:
    # scaling its output to zero must leave exactly ReLU(identity).
    block.eval()
    x = torch.randn(2, 256, 8, 6)
    with torch.no_grad():
        block.se_layer.conv2.conv.bias.fill_(-1e4)  # sigmoid -> 0
        torch.testing.assert_close(block(x), torch.relu(x))


def test_msnet_subgroups_are_hierarchical():
    """In Equation 1, y_i depends on x_j for j <= i only (stride 1)."""
    block = MSNetBlock(64, 64, expansion=1, scales=4, base_width=64).eval()
    width = block.width
    x = torch.randn(1, block.width * 4, 6, 6, requires_grad=True)
    y = block._multiscale(x)
    for i in range(4):
        grad, = torch.autograd.grad(
            y[:, i * width:(i + 1) * width].sum(), x, retain_graph=True)
        per_group = [
            g.sum() for g in grad.abs().sum(dim=(0, 2, 3)).split(width)
        ]
        assert all(g > 0 for g in per_group[:i + 1])
        assert all(g == 0 for g in per_group[i + 1:])


def test_msnet_stride_two_block_uses_a_small_conv_per_subgroup():
    block = MSNetBlock(
        256,
        512,
        stride=2,
        downsample=nn.Sequential(
            nn.Conv2d(256, 512, 1, stride=2, bias=False), nn.BatchNorm2d(512)))
    assert all(c.stride == (2, 2) for c in block.subgroup_convs)
    assert block(torch.randn(1, 256, 16, 12)).shape == (1, 512, 8, 6)


@pytest.mark.parametrize('block', ['bottleneck', 'msnet'])
def test_forward_backward_reaches_every_parameter(block):
    model = build(depth=59, block=block, out_indices=(4, ))
    model.init_weights()
    model.train()
    out, = model(torch.randn(2, 3, 64, 48))
    out.mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_bad_arguments_are_named():
    with pytest.raises(KeyError, match='depth'):
        build(depth=50)
    with pytest.raises(ValueError, match='block'):
        build(depth=59, block='res2net')
    with pytest.raises(ValueError, match='out_indices'):
        build(depth=59, out_indices=(5, ))
    with pytest.raises(ValueError, match='out_indices'):
        build(depth=59, out_indices=(-1, ))
    with pytest.raises(ValueError, match='frozen_stages'):
        build(depth=59, frozen_stages=6)


def test_frozen_stages_cover_the_dilated_stages():
    model = build(depth=59, frozen_stages=4)
    model.train()
    assert not any(p.requires_grad for p in model.layer4.parameters())
    assert all(p.requires_grad for p in model.layer5.parameters())
    assert not model.layer4[0].bn1.training


def test_a_checkpoint_loads_over_resnets_initialisation(tmp_path):
    """A checkpoint that fits part of the network (as DetNet-59's fits the
    stem, shortcuts and dilated stages of HSR-MSNet-59) is loaded over those
    layers unchanged (no zero-init after it), a tensor of another shape is
    skipped; the other layers start from ResNet's initialisation (Kaiming
    convs, the last norm of each block at zero), not PyTorch's defaults."""
    torch.manual_seed(0)
    part = {
        key: torch.randn_like(value) if value.is_floating_point() else value
        for key, value in build(depth=59).state_dict().items()
        if key.startswith(('conv1.', 'bn1.', 'layer4.', 'layer5.'))
    }
    part['layer1.0.conv1.weight'] = torch.randn(64, 64, 1, 1)  # 88 wide here
    path = tmp_path / 'part.pth'
    torch.save(dict(state_dict=part), path)
    model = build(
        depth=59,
        block='msnet',
        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    state = model.state_dict()
    for key, value in part.items():
        if key != 'layer1.0.conv1.weight':
            assert torch.equal(state[key], value), key
    conv = model.layer1[0].conv1.weight  # (88, 64, 1, 1)
    kaiming_std = math.sqrt(2 / (conv.shape[0] * conv[0, 0].numel()))
    assert conv.std().item() == pytest.approx(kaiming_std, rel=0.1)
    assert not model.layer1[0].norm3.weight.any()
