# Copyright (c) OpenMMLab. All rights reserved.
"""tools/model_converters/vgg2vggfront.py: torchvision's VGG-19 weights make
VGGFront's first ten convs compute what torchvision's do; a file of another
model, of other shapes or no checkpoint at all is refused, named."""
import sys

import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint
from torchvision.models import vgg19

from custom_modules.backbones import VGGFront
from conftest import run_command


def convert(repo_root, src, dst):
    return run_command([
        sys.executable, 'tools/model_converters/vgg2vggfront.py',
        str(src),
        str(dst)
    ],
                       check=False)


def test_torchvision_vgg19_converts_to_the_same_features(repo_root, tmp_path):
    torch.manual_seed(0)
    source = vgg19(weights=None).eval()
    src, dst = tmp_path / 'vgg19.pth', tmp_path / 'vgg19_front.pth'
    torch.save(source.state_dict(), src)
    proc = convert(repo_root, src, dst)
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
    proc = convert(repo_root, src, tmp_path / 'out.pth')
    assert proc.returncode != 0
    assert 'resnet.pth' in proc.stderr and 'features.0.weight' in proc.stderr


def test_other_shapes_are_refused_naming_them(repo_root, tmp_path):
    """A VGG-19 for grey images: every name in place, the first conv's input
    one channel wide."""
    state = vgg19(weights=None).state_dict()
    state['features.0.weight'] = state['features.0.weight'][:, :1]
    src, dst = tmp_path / 'vgg19_grey.pth', tmp_path / 'out.pth'
    torch.save(state, src)
    proc = convert(repo_root, src, dst)
    assert proc.returncode == 1 and not dst.exists()
    assert proc.stderr.strip().splitlines()[-1] == (
        f"{src}: not torchvision's VGG-19: 1 of the 20 tensors of conv1_1 "
        '... conv4_2 with another shape (e.g. features.0.weight [64, 1, 3, 3] '
        "in the checkpoint, [64, 3, 3, 3] in VGGFront's "
        'features.0.conv.weight)')


@pytest.mark.parametrize('content', [b'<html>not found</html>', b''])
def test_a_file_that_is_no_checkpoint_is_named(repo_root, tmp_path, content):
    src = tmp_path / 'vgg19-dcbb9e9d.pth'
    src.write_bytes(content)
    proc = convert(repo_root, src, tmp_path / 'out.pth')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f'{src}: cannot be read as a PyTorch checkpoint')


def test_the_converted_front_loads_with_openposes_cpm_init(tmp_path):
    """The configs' ``init_cfg=Pretrained`` of the converted file: its convs
    load, the CPM convs it lacks start from N(0, 0.01) with zero biases as in
    OpenPose (mmengine alone left ``ConvModule``'s Kaiming init, std 0.03 and
    0.04); a file that has CPM convs loads them too."""
    torch.manual_seed(0)
    trained = VGGFront()
    trained.init_weights()
    features_only = {
        f'features.{key}': value
        for key, value in trained.features.state_dict().items()
    }
    path = tmp_path / 'vgg19_front.pth'
    torch.save({'state_dict': features_only}, path)
    front = VGGFront(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    front.init_weights()
    for key, value in features_only.items():
        torch.testing.assert_close(front.state_dict()[key], value)
    for module in front.cpm:
        assert abs(module.conv.weight.std().item() - 0.01) < 1e-3
        assert not module.conv.bias.any()
    whole = tmp_path / 'whole.pth'
    torch.save({'state_dict': trained.state_dict()}, whole)
    front = VGGFront(init_cfg=dict(type='Pretrained', checkpoint=str(whole)))
    front.init_weights()
    torch.testing.assert_close(front.cpm[1].conv.weight,
                               trained.cpm[1].conv.weight)
    # from scratch, the default Kaiming init everywhere
    scratch = VGGFront()
    scratch.init_weights()
    assert scratch.cpm[0].conv.weight.std().item() > 0.02


def test_a_pretrained_init_given_as_a_class_and_a_second_call(tmp_path):
    """mmengine accepts ``type=PretrainedInit``; a second ``init_weights``
    leaves the weights as they are (mmengine warns)."""
    from mmengine.model import PretrainedInit
    torch.manual_seed(0)
    trained = VGGFront()
    trained.init_weights()
    path = tmp_path / 'features.pth'
    torch.save(
        {
            'state_dict': {
                f'features.{k}': v
                for k, v in trained.features.state_dict().items()
            }
        }, path)
    front = VGGFront(init_cfg=dict(type=PretrainedInit, checkpoint=str(path)))
    front.init_weights()
    assert abs(front.cpm[0].conv.weight.std().item() - 0.01) < 1e-3
    before = {k: v.clone() for k, v in front.state_dict().items()}
    front.init_weights()
    for key, value in front.state_dict().items():
        assert torch.equal(value, before[key]), key
