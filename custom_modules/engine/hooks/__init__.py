# Copyright (c) OpenMMLab. All rights reserved.
from .finite_loss_hook import FiniteLossHook

__all__ = ['FiniteLossHook']
