# Copyright (c) OpenMMLab. All rights reserved.
"""Helpers for the project's tests (as ``mmpose.testing``)."""
from .simulated_device import (SIMULATED, DeviceMixError,
                               SimulatedDeviceTensor, simulated_device,
                               tensors_off_device)

__all__ = [
    'SIMULATED', 'DeviceMixError', 'SimulatedDeviceTensor', 'simulated_device',
    'tensors_off_device'
]
