# Copyright (c) OpenMMLab. All rights reserved.
"""Stop training at the first loss or weight that is NaN or infinite, before
anything of it is saved."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine import dist
from mmengine.hooks import Hook
from mmpose.registry import HOOKS
from torch.nn.utils import get_total_norm


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise ``FloatingPointError`` after the first iteration with a non-finite
    loss term, or whose step made a weight non-finite.

    Every ``loss*`` entry of the model's log variables is checked after every
    iteration (one scalar each; mmengine's ``CheckInvalidLossHook`` checks the
    total every 50), and so are the model's floating-point parameters and
    buffers (one fused max-abs over them all: training usually diverges by a
    step of a finite loss that sends weights to infinity, which the next loss
    shows one iteration later, after the epoch's checkpoint may have saved
    them). The message names the iteration, the epoch and each bad loss term
    with its value, or the first non-finite weight. Its priority runs it before
    the ``CheckpointHook`` (``VERY_LOW``), so the weights of a non-finite step
    are never saved and the last checkpoint stays the last good one. With
    several processes a bad loss or weight on any of them stops all of them
    (one all-reduce of a flag), instead of leaving the others waiting.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        bad = {
            name: float(value)
            for name, value in (outputs or {}).items()
            if name.startswith('loss')
            and not torch.isfinite(torch.as_tensor(value)).all()
        }
        weights = self._weights(runner.model)
        bad_weights = bool(weights) and not torch.isfinite(
            get_total_norm(weights, norm_type=float('inf'))).item()
        flag = torch.tensor(float(bool(bad) or bad_weights))
        dist.all_reduce(flag, op='max')
        if flag.item() == 0:
            return
        if bad:
            what = ', '.join(f'{name} = {value}'
                             for name, value in bad.items())
        elif bad_weights:
            what = (f'weight {self._first_non_finite(runner.model)} is no '
                    'longer finite after a step of finite losses')
        else:
            what = 'a loss or weight of another process was not finite'
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
        raise FloatingPointError(
            f'{where}: {what} on rank {runner.rank}; training stopped before '
            f'saving this iteration (checkpoints in {runner.work_dir} are of '
            'earlier iterations)')

    @staticmethod
    def _weights(model: nn.Module) -> list:
        """The model's floating-point parameters and buffers that hold values
        (torch's inf-norm refuses an empty tensor)."""
        return [
            t.detach() for t in (*model.parameters(), *model.buffers())
            if t.is_floating_point() and t.numel()
        ]

    @staticmethod
    def _first_non_finite(model: nn.Module) -> str:
        """The name of the model's first parameter or buffer with a non-finite
        value (a ``module.`` prefix of a distributed wrapper removed)."""
        for name, tensor in (*model.named_parameters(),
                             *model.named_buffers()):
            if tensor.is_floating_point() and not torch.isfinite(
                    tensor.detach()).all():
                return name.removeprefix('module.')
        return '?'
