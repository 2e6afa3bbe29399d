# Copyright (c) OpenMMLab. All rights reserved.
"""A CUDA tensor reaching an mmcv built without CUDA kernels stops with one
message naming the fix.

No GPU here: the condition is faked by making every tensor report ``is_cuda``
while the op modules' ``ext_module`` is the guard (what ``import
custom_modules`` installs in a CPU-only build).
"""
import importlib
import math

import pytest
import torch
from mmcv.ops import batched_nms, nms
from mmpose.registry import MODELS

import custom_modules  # noqa: F401  (registers, installs the guard)
from custom_modules.ops import (CudaGuardedExtension, MMCVWithoutCUDAError,
                                mmcv_has_cuda_ops)

# (`mmcv.ops.nms` is the function; the module is reached by name)
GUARDED_MODULES = tuple(
    importlib.import_module(f'mmcv.ops.{name}')
    for name in ('deform_conv', 'nms'))


@pytest.fixture
def fake_cuda_tensors(monkeypatch):
    """The guard in front of the DCN and NMS kernels, and every tensor claiming
    to be on CUDA."""
    for module in GUARDED_MODULES:
        extension = module.ext_module
        if not isinstance(extension, CudaGuardedExtension):
            monkeypatch.setattr(module, 'ext_module',
                                CudaGuardedExtension(extension))
    monkeypatch.setattr(torch.Tensor, 'is_cuda', property(lambda self: True))


def boxes_and_scores():
    torch.manual_seed(0)
    corners = torch.rand(20, 2) * 50
    boxes = torch.cat([corners, corners + 10 + torch.rand(20, 2) * 20], dim=1)
    return boxes, torch.rand(20)


def assert_names_the_fix(error: pytest.ExceptionInfo, op: str) -> None:
    message = str(error.value)
    assert f'({op})' in message
    assert 'FORCE_CUDA=1 make setup' in message
    assert 'built without CUDA kernels' in message


def test_importing_the_project_guards_exactly_a_cpu_only_build():
    for module in GUARDED_MODULES:
        assert isinstance(module.ext_module,
                          CudaGuardedExtension) == (not mmcv_has_cuda_ops())


def test_smpr_deformable_convolution_names_the_fix(fake_cuda_tensors):
    head = MODELS.build(
        dict(
            type='SMPRHead',
            in_channels=8,
            feat_channels=8,
            stacked_convs=1,
            heatmap_channels=8,
            norm_cfg=dict(type='GN', num_groups=2),
            # what 'auto' runs on a CUDA device (here the tensors only say
            # they are on one)
            deform_conv='mmcv'))
    feats = tuple(
        torch.randn(1, 8, math.ceil(64 / s), math.ceil(64 / s))
        for s in (8, 16, 32, 64, 128))
    with pytest.raises(MMCVWithoutCUDAError) as error:
        head(feats)
    assert_names_the_fix(error, 'deform_conv_forward')


def test_nms_names_the_fix(fake_cuda_tensors):
    boxes, scores = boxes_and_scores()
    with pytest.raises(MMCVWithoutCUDAError) as error:
        nms(boxes, scores, 0.5)
    assert_names_the_fix(error, 'nms')
    # the detector's path: mmdet's heads call batched_nms
    with pytest.raises(MMCVWithoutCUDAError):
        batched_nms(boxes, scores, torch.zeros(20, dtype=torch.long),
                    dict(type='nms', iou_threshold=0.5))


def test_guarded_kernels_give_the_same_results_on_the_cpu():
    boxes, scores = boxes_and_scores()
    extension = GUARDED_MODULES[1].ext_module
    raw = extension._extension if isinstance(
        extension, CudaGuardedExtension) else extension
    guarded = CudaGuardedExtension(raw)
    assert torch.equal(
        guarded.nms(boxes, scores, iou_threshold=0.5, offset=0),
        raw.nms(boxes, scores, iou_threshold=0.5, offset=0))
    assert guarded.nms is guarded.nms  # one wrapper per function
