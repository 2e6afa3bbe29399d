# Copyright (c) OpenMMLab. All rights reserved.
"""Stop training at the first loss that is NaN or infinite, before anything of
it is saved."""
from typing import Optional

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmpose.registry import HOOKS


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise ``FloatingPointError`` after the first iteration with a non-finite
    loss term.

    Every ``loss*`` entry of the model's log variables is checked after every
    iteration (one scalar each; mmengine's ``CheckInvalidLossHook`` checks the
    total every 50). The message names the iteration, the epoch and each bad
    term with its value. Its priority runs it before the ``CheckpointHook``
    (``VERY_LOW``), so the weights of a non-finite step are never saved and the
    last checkpoint stays the last good one. With several processes a bad loss
    on any of them stops all of them (one all-reduce of a flag), instead of
    leaving the others waiting.
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
        flag = torch.tensor(float(bool(bad)))
        dist.all_reduce(flag, op='max')
        if flag.item() == 0:
            return
        terms = ', '.join(f'{name} = {value}' for name, value in bad.items())
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
        if not terms:
            terms = 'a loss of another process was not finite'
        raise FloatingPointError(
            f'{where}: {terms} on rank {runner.rank}; training stopped before '
            f'saving this iteration (checkpoints in {runner.work_dir} are of '
            'earlier iterations)')
