# Copyright (c) OpenMMLab. All rights reserved.
"""tools/model_converters/detnet2hsrnet.py: a DetNet_pytorch-style state dict
loads into HSRNet-59 strictly after conversion, every tensor in its place."""
import subprocess
import sys

import torch
from mmengine.runner.checkpoint import load_checkpoint

from custom_modules.backbones import HSRNet


def test_detnet_keys_load_strictly_into_hsrnet(repo_root, tmp_path):
    torch.manual_seed(0)
    source = HSRNet(depth=59)
    detnet_state = {}
    # DetNet_pytorch's names for the same tensors
    for key, value in source.state_dict().items():
        if key.startswith(('layer4.', 'layer5.')):
            key = key.replace('.0.downsample.', '.0.extra_conv.')
        detnet_state[key] = value.clone()
    detnet_state['fc.weight'] = torch.zeros(1000, 1024)
    detnet_state['fc.bias'] = torch.zeros(1000)
    assert 'layer4.0.extra_conv.0.weight' in detnet_state
    src, dst = tmp_path / 'detnet59.pth', tmp_path / 'hsrnet59.pth'
    torch.save(detnet_state, src)

    proc = subprocess.run([
        sys.executable, 'tools/model_converters/detnet2hsrnet.py',
        str(src),
        str(dst)
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr

    target = HSRNet(depth=59)
    load_checkpoint(target, str(dst), map_location='cpu', strict=True)
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value, msg=key)


def test_a_checkpoint_of_another_model_is_named(repo_root, tmp_path):
    src = tmp_path / 'resnet.pth'
    torch.save({'conv1.weight': torch.zeros(1)}, src)
    proc = subprocess.run([
        sys.executable, 'tools/model_converters/detnet2hsrnet.py',
        str(src),
        str(tmp_path / 'out.pth')
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert 'resnet.pth' in proc.stderr and 'extra_conv' in proc.stderr
