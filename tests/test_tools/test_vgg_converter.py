# Copyright (c) OpenMMLab. All rights reserved.
"""tools/model_converters/vgg2vggfront.py: torchvision's VGG-19 weights make
VGGFront's first ten convs compute what torchvision's do."""
import subprocess
import sys

import torch
from mmengine.runner.checkpoint import load_checkpoint
from torchvision.models import vgg19

from custom_modules.backbones import VGGFront


def test_torchvision_vgg19_converts_to_the_same_features(repo_root, tmp_path):
    torch.manual_seed(0)
    source = vgg19(weights=None).eval()
    src, dst = tmp_path / 'vgg19.pth', tmp_path / 'vgg19_front.pth'
    torch.save(source.state_dict(), src)
    proc = subprocess.run([
        sys.executable, 'tools/model_converters/vgg2vggfront.py',
        str(src),
        str(dst)
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr

    front = VGGFront()
    front.eval()  # mmpose backbones' train() returns None: no chaining
    converted = torch.load(dst, weights_only=True)['state_dict']
    missing = set(front.state_dict()) - set(converted)
    assert missing and all(key.startswith('cpm.') for key in missing)
    load_checkpoint(front, str(dst), map_location='cpu', strict=False)
    x = torch.rand(1, 3, 64, 64)
    # torchvision's features[:23] end with conv4_2 + ReLU
    with torch.no_grad():
        torch.testing.assert_close(front.features(x), source.features[:23](x))


def test_a_checkpoint_of_another_model_is_named(repo_root, tmp_path):
    src = tmp_path / 'resnet.pth'
    torch.save({'conv1.weight': torch.zeros(1)}, src)
    proc = subprocess.run([
        sys.executable, 'tools/model_converters/vgg2vggfront.py',
        str(src),
        str(tmp_path / 'out.pth')
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert 'resnet.pth' in proc.stderr and 'features.0.weight' in proc.stderr
