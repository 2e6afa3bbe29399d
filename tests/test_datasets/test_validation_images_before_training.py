# Copyright (c) OpenMMLab. All rights reserved.
"""A validation set with bad images stops ``Runner.train`` before the first
training iteration (mmengine builds the val loop, and so the val dataset,
before it trains), with one message."""
from pathlib import Path
from typing import List, Optional

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from custom_modules.datasets import UnusableImagesError
from .faulty_coco import make_faulty_coco

pytestmark = pytest.mark.e2e


class IterationRecorder(Hook):
    """Records the iteration counter at the start of each training
    iteration."""

    def __init__(self) -> None:
        self.iterations: List[int] = []

    def before_train_iter(self,
                          runner: Runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        self.iterations.append(runner.iter)


def test_bad_validation_images_stop_training_before_its_first_iteration(
        demo_config: Path, tmp_path):
    """One epoch of 3 iterations, validated and saved after it, on the sample.

    The validation set has a truncated JPEG and a ``.jpg`` file of random
    bytes.
    """
    ann_file = make_faulty_coco(tmp_path / 'data', 'truncated_jpeg',
                                'corrupt_jpeg')
    cfg = Config.fromfile(demo_config)
    cfg.merge_from_dict({
        'work_dir':
        str(tmp_path / 'work'),
        'train_cfg.max_epochs':
        1,
        'train_cfg.val_interval':
        1,
        'default_hooks.checkpoint.interval':
        1,
        'val_dataloader.dataset.data_root':
        str(ann_file.parent),
        'val_dataloader.dataset.ann_file':
        ann_file.name,
        'val_dataloader.dataset.bbox_file':
        None,
        'val_evaluator.ann_file':
        str(ann_file),
    })
    runner = Runner.from_cfg(cfg)
    recorder = IterationRecorder()
    runner.register_hook(recorder)
    with pytest.raises(UnusableImagesError) as error:
        runner.train()
    assert recorder.iterations == [] and runner.iter == 0
    assert not list((tmp_path / 'work').rglob('*.pth'))
    data = ann_file.parent
    assert str(error.value).splitlines()[1:] == [
        f"  {data / 'corrupt.jpg'}: not an image OpenCV can decode (starts "
        f"with {(data / 'corrupt.jpg').read_bytes()[:8]!r})",
        f"  {data / 'truncated.jpg'}: truncated JPEG (no end-of-image marker "
        f"FF D9 in its {(data / 'truncated.jpg').stat().st_size} bytes)"
    ]
    assert str(error.value).startswith(f'2 of the 6 images of {ann_file} ')
