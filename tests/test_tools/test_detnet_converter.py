# Copyright (c) OpenMMLab. All rights reserved.
"""tools/model_converters/detnet2hsrnet.py: DetNet_pytorch's detnet59 state
dict, written from its definition (not from HSRNet), loads into HSRNet-59
strictly after conversion, every tensor in its place; a file of another model,
of other shapes or no checkpoint at all is refused, named."""
import sys

import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint

from custom_modules.backbones import HSRNet
from conftest import run_command


def detnet59_state(seed: int = 0) -> dict:
    """``detnet59 = DetNet(Bottleneck, [3, 4, 6, 3, 3])`` of DetNet_pytorch's
    ``lib/model/fpn/detnet_backbone.py`` as its state dict: bottleneck widths
    64/128/256/256/256, expansion 4 (outputs 256/512/1024/1024/1024), the
    projection shortcut ``downsample`` opening stages 1-3 and ``extra_conv``
    (1x1 conv + BN, "bottleneck B") opening the dilated stages 4-5, and the
    ImageNet classifier ``fc`` (1024 -> 1000)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}

    def conv(name, out, inp, kernel):
        state[f'{name}.weight'] = torch.randn(
            out, inp, kernel, kernel, generator=generator)

    def bn(name, channels):
        for kind in ('weight', 'bias', 'running_mean'):
            state[f'{name}.{kind}'] = torch.randn(
                channels, generator=generator)
        state[f'{name}.running_var'] = torch.rand(
            channels, generator=generator) + 0.5
        state[f'{name}.num_batches_tracked'] = torch.tensor(0)

    conv('conv1', 64, 3, 7)
    bn('bn1', 64)
    inplanes = 64
    for stage, (planes, blocks) in enumerate(
            zip((64, 128, 256, 256, 256), (3, 4, 6, 3, 3)), 1):
        for block in range(blocks):
            prefix = f'layer{stage}.{block}'
            conv(f'{prefix}.conv1', planes, inplanes, 1)
            bn(f'{prefix}.bn1', planes)
            conv(f'{prefix}.conv2', planes, planes, 3)
            bn(f'{prefix}.bn2', planes)
            conv(f'{prefix}.conv3', planes * 4, planes, 1)
            bn(f'{prefix}.bn3', planes * 4)
            if block == 0:
                shortcut = 'downsample' if stage <= 3 else 'extra_conv'
                conv(f'{prefix}.{shortcut}.0', planes * 4, inplanes, 1)
                bn(f'{prefix}.{shortcut}.1', planes * 4)
            inplanes = planes * 4
    state['fc.weight'] = torch.randn(1000, 1024, generator=generator)
    state['fc.bias'] = torch.randn(1000, generator=generator)
    return state


def hsrnet_name(detnet_name: str) -> str:
    return detnet_name.replace('.0.extra_conv.', '.0.downsample.')


def convert(repo_root, src, dst):
    return run_command([
        sys.executable, 'tools/model_converters/detnet2hsrnet.py',
        str(src),
        str(dst)
    ],
                       check=False)


def test_detnet59_loads_strictly_into_hsrnet(repo_root, tmp_path):
    detnet = detnet59_state()
    src, dst = tmp_path / 'detnet59.pth', tmp_path / 'hsrnet59.pth'
    # DataParallel's prefix, as DetNet_pytorch saved its ImageNet model
    torch.save({f'module.{key}': value for key, value in detnet.items()}, src)
    proc = convert(repo_root, src, dst)
    assert proc.returncode == 0, proc.stderr

    target = HSRNet(depth=59)
    load_checkpoint(target, str(dst), map_location='cpu', strict=True)
    loaded = target.state_dict()
    for key, value in detnet.items():
        if not key.startswith('fc.'):
            torch.testing.assert_close(
                loaded[hsrnet_name(key)], value, msg=key)
    assert len(loaded) == len(detnet) - 2


def test_a_checkpoint_of_another_model_is_named(repo_root, tmp_path):
    src = tmp_path / 'resnet.pth'
    torch.save({'conv1.weight': torch.zeros(1)}, src)
    proc = convert(repo_root, src, tmp_path / 'out.pth')
    assert proc.returncode != 0
    assert 'resnet.pth' in proc.stderr and 'extra_conv' in proc.stderr


def test_a_detnet_detector_checkpoint_is_refused(repo_root, tmp_path):
    """DetNet_pytorch's FPN detector ({'model': ...} with ``RCNN_layer*``
    names) has ``extra_conv`` keys too; it converted to a file of no HSRNet
    name, which the backbone's Pretrained init loads with a warning only."""
    detector = {
        f'RCNN_layer{key[5]}.0.{key.split(".", 1)[1]}': value
        for key, value in detnet59_state().items() if key.startswith('layer')
    }
    src, dst = tmp_path / 'fpn_1_10_1000.pth', tmp_path / 'out.pth'
    torch.save(dict(session=1, epoch=1, model=detector), src)
    proc = convert(repo_root, src, dst)
    assert proc.returncode != 0 and not dst.exists()
    assert 'fpn_1_10_1000.pth: no "layer4.0.extra_conv" keys' in proc.stderr


def test_other_shapes_are_refused_naming_them(repo_root, tmp_path):
    """DetNet-Keras's detnet59 ends its dilated stages in 256 channels, not
    1024: every name in place, the shapes not HSRNet-59's."""
    detnet = detnet59_state()
    for key in list(detnet):
        if key.startswith('layer5.') and '.conv3.' in key:
            detnet[key] = detnet[key][:256]
    src, dst = tmp_path / 'detnet59_keras.pth', tmp_path / 'out.pth'
    torch.save(detnet, src)
    proc = convert(repo_root, src, dst)
    assert proc.returncode != 0 and not dst.exists()
    assert 'detnet59_keras.pth: not a checkpoint of HSRNet' in proc.stderr
    assert ('with another shape: 3 (e.g. layer5.0.conv3.weight [256, 256, 1, '
            '1] in the checkpoint, [1024, 256, 1, 1] in the model') in (
                proc.stderr)


@pytest.mark.parametrize('content', [b'<html>not found</html>', b''])
def test_a_file_that_is_no_checkpoint_is_named(repo_root, tmp_path, content):
    src = tmp_path / 'detnet59.pth'
    src.write_bytes(content)
    proc = convert(repo_root, src, tmp_path / 'out.pth')
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f'{src}: cannot be read as a PyTorch checkpoint')
