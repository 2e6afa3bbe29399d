# Copyright (c) OpenMMLab. All rights reserved.
"""Hooks for the multi-process tests, imported through a test config's
``custom_imports``.

- ``FreezeNormHook``: batch-norm layers in eval mode during training, so that a
  batch split over processes is normalised as the whole batch is (by the
  running statistics; per-process batch statistics differ by definition, and
  SyncBN needs CUDA);
- ``RecordLossHook``: every process appends its loss terms of every iteration
  to ``<work_dir>/losses_rank<rank>.jsonl`` (mmengine logs rank 0's only).
"""
import json
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmpose.registry import HOOKS
from torch.nn.modules.batchnorm import _BatchNorm


@HOOKS.register_module()
class FreezeNormHook(Hook):

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        for module in runner.model.modules():
            if isinstance(module, _BatchNorm):
                module.eval()


@HOOKS.register_module()
class RecordLossHook(Hook):

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        losses = {
            name: float(torch.as_tensor(value))
            for name, value in outputs.items() if name.startswith('loss')
        }
        with open(
                osp.join(runner.work_dir, f'losses_rank{runner.rank}.jsonl'),
                'a') as f:
            f.write(json.dumps(dict(iter=runner.iter + 1, **losses)) + '\n')
