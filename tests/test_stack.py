# Copyright (c) OpenMMLab. All rights reserved.
"""The OpenMMLab stack installed by `make setup` is the pinned one and its
compiled ops work."""
import re
from importlib.metadata import version

import pytest
import torch


def pinned_versions(repo_root):
    """``{package: version}`` for every ``name==version`` line of
    requirements/constraints.txt."""
    pins = {}
    for line in (repo_root /
                 'requirements/constraints.txt').read_text().splitlines():
        match = re.match(r'^([A-Za-z0-9_.-]+)==([^,\s]+)', line)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


@pytest.mark.parametrize('package', [
    'torch', 'torchvision', 'mmcv', 'mmengine', 'mmdet', 'mmpose', 'numpy',
    'xtcocotools'
])
def test_installed_version_is_the_pinned_one(package, repo_root):
    pins = pinned_versions(repo_root)
    assert package in pins, (f'{package} is not pinned in '
                             'requirements/constraints.txt')
    # torch and torchvision carry a local build tag (2.13.0+cu130): compare the
    # public part.
    assert version(package).split('+')[0] == pins[package]


def test_stack_imports_and_registers_project():
    import mmcv.ops  # noqa: F401
    import mmdet  # noqa: F401
    import mmpose  # noqa: F401
    import torchvision.ops
    import xtcocotools.coco  # noqa: F401

    import custom_modules
    assert custom_modules.__version__
    # torchvision's compiled ops load with this torch build (the CPU-only torch
    # wheel breaks this)
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [50., 50., 60., 60.]])
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
    assert keep.tolist() == [0, 2]


def test_mmcv_nms_op_runs_on_cpu():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [50., 50., 60., 60.]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_deform_conv2d_forward_and_backward_on_cpu():
    from mmcv.ops import DeformConv2d
    torch.manual_seed(0)
    conv = DeformConv2d(4, 6, kernel_size=3, padding=1)
    x = torch.randn(2, 4, 9, 11, requires_grad=True)
    offset = torch.zeros(2, 2 * 3 * 3, 9, 11, requires_grad=True)
    out = conv(x, offset)
    assert out.shape == (2, 6, 9, 11)
    # With zero offsets a deformable convolution is an ordinary convolution.
    expected = torch.nn.functional.conv2d(x, conv.weight, padding=1)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert offset.grad is not None and offset.grad.abs().sum() > 0
    assert conv.weight.grad.abs().sum() > 0
