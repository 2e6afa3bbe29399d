# Copyright (c) OpenMMLab. All rights reserved.
"""The simulated device computes real values and refuses what CUDA refuses."""
import sys

import mmcv.ops
import numpy as np
import pytest
import torch

from custom_modules.testing import (DeviceMixError, SimulatedDeviceTensor,
                                    simulated_device, tensors_off_device)


def test_tensors_made_for_the_device_hold_real_values():
    x = torch.arange(12.).reshape(3, 4)
    with simulated_device() as device:
        on_device = x.to(device)
        made = [
            torch.full((3, ), 2.0, device=on_device.device),
            torch.tensor([1, 2], device=device),
            torch.as_tensor(np.ones(2), device=device),
            on_device.new_tensor([5.0]),
            on_device.new_zeros(2),
            on_device.sum(0),
            on_device[on_device > 5],
        ]
        assert all(
            isinstance(t, SimulatedDeviceTensor) and t.device == device
            for t in made)
        assert made[0].cpu().tolist() == [2.0] * 3 and made[1].tolist() == [
            1, 2
        ]
        assert made[3].item() == 5.0 and made[5].cpu().tolist() == [
            12.0, 15.0, 18.0, 21.0
        ]
        assert made[6].cpu().tolist() == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
        # a transfer back is a plain tensor
        assert type(on_device.cpu()) is torch.Tensor
    # torch's own factories are back
    assert torch.tensor([1]).device.type == 'cpu'


def test_mixing_the_device_with_the_cpu_fails_as_on_cuda():
    with simulated_device() as device:
        x = torch.ones(4, 3, device=device)
        with pytest.raises(DeviceMixError, match='aten.add'):
            x + torch.ones(3)
        labels = torch.full((4, ), 1)  # made without device=
        with pytest.raises(DeviceMixError, match='index_put'):
            labels[torch.tensor([0, 1], device=device)] = 3
        with pytest.raises(TypeError, match='numpy'):
            x.numpy()
        # what CUDA allows: CPU scalars, CPU indices into a device tensor,
        # copies
        assert (x + torch.tensor(2.0)).cpu()[0, 0] == 3
        assert x[torch.tensor([0, 2])].shape == (2, 3)
        x[torch.tensor([1])] = 0
        x.copy_(torch.zeros(4, 3))
        assert x.cpu().abs().sum() == 0


def test_modules_train_and_mmcv_ops_run_on_the_device():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]],
                         dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    expected_keep = mmcv.ops.nms(boxes, scores, 0.5)[1]
    with simulated_device() as device:
        conv = conv.to(device)
        conv(torch.randn(1, 3, 8, 8, device=device)).sum().backward()
        assert isinstance(conv.weight.grad, SimulatedDeviceTensor)
        dets, keep = mmcv.ops.nms(boxes.to(device), scores.to(device), 0.5)
        assert isinstance(keep, SimulatedDeviceTensor)
        assert keep.cpu().tolist() == expected_keep.tolist() == [0, 2]
        with pytest.raises(DeviceMixError, match='nms'):
            mmcv.ops.nms(boxes.to(device), scores, 0.5)
        assert tensors_off_device({'a': [keep, torch.ones(2)]}) == [
            ("output['a'][1]", '(2,) float32 on cpu')
        ]
    extension = sys.modules['mmcv.ops.nms'].ext_module  # mmcv's own again
    assert type(extension).__name__ != '_SimulatedExtension'
