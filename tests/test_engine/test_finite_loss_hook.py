# Copyright (c) OpenMMLab. All rights reserved.
"""FiniteLossHook in mmengine's Runner: a step of finite loss that sends a
weight to infinity stops training before the epoch's checkpoint saves it; a run
whose losses and weights stay finite is not stopped."""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset


class OneSample(Dataset):

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> dict:
        return dict(x=torch.ones(1))


class Line(BaseModel):
    """Loss ``scale * w * x``: finite at ``w = 1``; with SGD at a large
    learning rate one step sends ``w`` to -inf (float32)."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.w = torch.nn.Parameter(torch.ones(1))
        # a buffer without values (torch's inf-norm refuses empty tensors)
        self.register_buffer('nothing', torch.empty(0))

    def forward(self, x, data_samples=None, mode='loss'):
        return dict(loss_x=(self.w * x.sum()).sum() * self.scale)


def runner(work_dir, scale: float, lr: float) -> Runner:
    """Two epochs of one iteration each, a checkpoint after each epoch."""
    return Runner(
        model=Line(scale),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=OneSample(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        custom_hooks=[dict(type='FiniteLossHook')],
        default_scope='mmpose')


def test_a_step_that_makes_a_weight_infinite_is_stopped_before_saving(
        tmp_path):
    """The loss of iteration 1 is finite (1e30), its step makes ``w`` -inf:

    stopped at iteration 1, naming the weight, and no checkpoint holds it
    (without the weight check the epoch's checkpoint saved ``w = -inf`` and
    the next iteration's loss stopped the run, calling that checkpoint
    good).
    """
    import custom_modules  # noqa: F401  (registers the hook)
    with pytest.raises(FloatingPointError) as error:
        runner(tmp_path, scale=1e30, lr=1e10).train()
    assert str(error.value) == (
        'iteration 1 (epoch 1): weight w is no longer finite after a step of '
        f'finite losses on rank 0; training stopped before saving this '
        f'iteration (checkpoints in {tmp_path} are of earlier iterations)')
    assert list(tmp_path.glob('*.pth')) == []


def test_finite_training_runs_to_its_end(tmp_path):
    import custom_modules  # noqa: F401
    runner(tmp_path, scale=1.0, lr=0.1).train()
    final = torch.load(tmp_path / 'epoch_2.pth', weights_only=False)
    assert torch.isfinite(final['state_dict']['w']).all()
    assert float(final['state_dict']['w']) == pytest.approx(0.8)
