# Copyright (c) OpenMMLab. All rights reserved.
"""Every family trains and predicts on a device that is not the CPU, without a
GPU.

A tensor made without the device of its inputs (``torch.full(...)`` without
``device=``, a ``from_numpy`` in the loss) passes every CPU test and crashes on
a GPU. Here each sample model's whole training step (data preprocessor,
backbone, neck, head, losses, assigner, backward) and prediction (flip test,
decoding, pose NMS), and the tracker on its predictions, run on the simulated
device of :mod:`custom_modules.testing`, which fails on the first op that mixes
the device with the CPU the way CUDA does.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import DATASETS, MODELS

from custom_modules.apis import PoseTracker
from custom_modules.task_modules import SMPRAssigner
from custom_modules.testing import (SimulatedDeviceTensor, simulated_device,
                                    tensors_off_device)
from conftest import REPO_ROOT, SAMPLE_CONFIGS


def batch(cfg: Config, split: str, size: int = 2) -> dict:
    """The first ``size`` samples of the config's ``split`` loader (the bundled
    COCO sample)."""
    dataset_cfg = cfg[f'{split}_dataloader'].dataset
    if split == 'test' and cfg.get('data_mode', 'topdown') == 'topdown':
        dataset_cfg = dict(dataset_cfg, bbox_file=None)  # ground-truth boxes
    dataset = DATASETS.build(dataset_cfg)
    return pseudo_collate([dataset[i] for i in range(size)])


@pytest.fixture(scope='module', params=sorted(SAMPLE_CONFIGS))
def family(request):
    cfg = Config.fromfile(REPO_ROOT / SAMPLE_CONFIGS[request.param])
    cfg.model.test_cfg.flip_test = True  # the flip path too
    return request.param, cfg


def test_training_step_and_prediction_stay_on_the_device(family):
    name, cfg = family
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    train_batch, test_batch = batch(cfg, 'train'), batch(cfg, 'test')
    with simulated_device() as device:
        model = model.to(device)
        model.train()
        data = model.data_preprocessor(train_batch, training=True)
        assert isinstance(data['inputs'], SimulatedDeviceTensor)
        losses = model(**data, mode='loss')
        assert tensors_off_device(losses) == [], (
            f'{name}: losses off the device')
        total = sum(losses.values())
        assert torch.isfinite(total).item(), losses
        total.backward()
        for param_name, param in model.named_parameters():
            if param.grad is not None:
                assert isinstance(param.grad,
                                  SimulatedDeviceTensor), param_name

        model.eval()
        with torch.no_grad():
            results = model.test_step(test_batch)
    assert len(results) == len(test_batch['data_samples'])
    instances = [r.pred_instances for r in results]
    # mln's random weights may find no one
    assert all(len(i.keypoints) > 0 for i in instances) or name == 'mln'

    # the tracker takes what predict gives (arrays on the host)
    coco = parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/coco.py'))
    tracker = PoseTracker(sigmas=coco['sigmas'])
    for pred in instances:
        ids, _ = tracker.update(pred.keypoints, pred.keypoint_scores)
        assert len(ids) == len(pred.keypoints)


def test_smpr_heatmap_labels_are_made_on_the_keypoints_device():
    """The line that crashed SMPR on a GPU: labels on the CPU indexed by device
    positions."""
    from mmengine.structures import InstanceData

    keypoints = torch.tensor([[[12.0, 20.0], [40.0, 8.0]]])
    visible = torch.ones(1, 2)
    with simulated_device() as device:
        gt = InstanceData(
            keypoints=keypoints.to(device),
            keypoints_visible=visible.to(device))
        labels = SMPRAssigner().heatmap_labels(gt, (4, 6), 8, 2, device)
        assert isinstance(labels, SimulatedDeviceTensor)
        assert labels.cpu()[2, 1] == 0 and labels.cpu()[0, 4] == 1
