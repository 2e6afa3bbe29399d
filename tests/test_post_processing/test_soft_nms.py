# Copyright (c) OpenMMLab. All rights reserved.
"""Soft-NMS as torch ops (``soft_nms_first``) against mmcv's ``soft_nms``, its
reference: the same boxes, order and scores for its first ``max_num`` rows;
and it stays on the boxes' device."""
import importlib

import pytest
import torch
from mmcv.ops import batched_nms, soft_nms

from custom_modules.post_processing import (keypoint_boxes, pose_nms,
                                            soft_nms_first)
from custom_modules.testing import SimulatedDeviceTensor, simulated_device
from custom_modules.testing.synthetic_scenes import crowded_boxes

pose_nms_module = importlib.import_module(
    'custom_modules.post_processing.pose_nms')


@pytest.mark.parametrize('method', ['naive', 'linear', 'gaussian'])
@pytest.mark.parametrize('offset', [0, 1])
@pytest.mark.parametrize('max_num', [1, 20, 100, 1000])
def test_equals_mmcvs_soft_nms_truncated(method, offset, max_num):
    boxes, scores = crowded_boxes(30, 12, seed=max_num + offset)
    dets, inds = soft_nms(
        boxes.clone(),
        scores.clone(),
        0.3,
        sigma=0.5,
        min_score=0.05,
        method=method,
        offset=offset)
    keep, kept_scores = soft_nms_first(
        boxes,
        scores,
        max_num,
        iou_threshold=0.3,
        sigma=0.5,
        min_score=0.05,
        method=method,
        offset=offset)
    # mmcv runs all rounds; the scores fall below min_score before that
    assert len(inds) < len(boxes)
    assert torch.equal(keep, inds[:max_num])
    torch.testing.assert_close(
        kept_scores, dets[:max_num, 4], rtol=1e-6, atol=1e-7)
    assert torch.equal(boxes[keep], dets[:max_num, :4])


def test_boxes_under_min_score_leave_and_rounds_end_when_none_is_left():
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [50., 50., 60., 60.], [100., 0., 110., 5.]])
    # the fourth starts under min_score: it leaves in the first round
    scores = torch.tensor([0.9, 0.8, 0.7, 0.0005])
    keep, kept_scores = soft_nms_first(boxes, scores, 10, method='naive')
    dets, inds = soft_nms(boxes, scores, 0.3, method='naive')
    # the second overlaps the first by IoU 0.68: naive sets it to 0
    assert keep.tolist() == inds.tolist() == [0, 2]
    torch.testing.assert_close(kept_scores, dets[:, 4])


def test_no_box_and_bad_arguments():
    keep, kept_scores = soft_nms_first(torch.zeros(0, 4), torch.zeros(0), 20)
    assert keep.shape == kept_scores.shape == (0, )
    boxes, scores = crowded_boxes(2, 2)
    with pytest.raises(ValueError, match="method 'hard'"):
        soft_nms_first(boxes, scores, 20, method='hard')
    with pytest.raises(ValueError, match='offset 2'):
        soft_nms_first(boxes, scores, 20, offset=2)


def poses_spanning(boxes: torch.Tensor) -> torch.Tensor:
    """``(N, 3, 2)`` poses whose keypoints span ``boxes``: two corners and the
    centre."""
    keypoints = torch.stack(
        [boxes[:, :2], boxes[:, 2:], (boxes[:, :2] + boxes[:, 2:]) / 2], dim=1)
    assert torch.equal(keypoint_boxes(keypoints), boxes)
    return keypoints


def mmcv_batched_nms(boxes: torch.Tensor, scores: torch.Tensor,
                     nms_cfg: dict) -> tuple:
    """The reference: mmcv's ``batched_nms`` of one class, ``(dets, keep)``
    (``dets`` ``(M, 5)``: boxes and scores after suppression)."""
    return batched_nms(
        boxes,
        scores,
        torch.zeros(len(boxes), dtype=torch.long),
        dict(nms_cfg),
        class_agnostic=True)


@pytest.mark.parametrize('people, per_person, torch_rounds', [(30, 12, False),
                                                              (90, 12, True)])
def test_pose_nms_keeps_the_poses_of_mmcvs_batched_soft_nms(
        people, per_person, torch_rounds, monkeypatch):
    """On the CPU: mmcv's kernel up to ``CPU_SOFT_NMS_MAX`` candidates,
    ``soft_nms_first`` beyond (counted); the poses and scores mmcv's
    ``batched_nms`` with ``type='soft_nms'`` gives either way."""
    boxes, scores = crowded_boxes(people, per_person, seed=3)
    assert (len(boxes) > pose_nms_module.CPU_SOFT_NMS_MAX) == torch_rounds
    nms_cfg = dict(type='soft_nms', iou_threshold=0.3)
    dets, inds = mmcv_batched_nms(boxes, scores, nms_cfg)
    calls = []
    monkeypatch.setattr(
        pose_nms_module, 'soft_nms_first',
        lambda *args, **kwargs: calls.append(1) or soft_nms_first(
            *args, **kwargs))
    keep, kept_scores = pose_nms(poses_spanning(boxes), scores, nms_cfg, 20)
    assert len(calls) == int(torch_rounds)
    assert torch.equal(keep, inds[:20])
    torch.testing.assert_close(kept_scores, dets[:20, 4])


def test_runs_on_the_boxes_device_without_mmcvs_cpu_kernel(monkeypatch):
    """``pose_nms`` on the simulated device (``custom_modules.testing``), which
    fails on a tensor made on the CPU, with mmcv's ``softnms`` kernel made to
    fail."""
    mmcv_nms = importlib.import_module('mmcv.ops.nms')
    boxes, scores = crowded_boxes(30, 12, seed=1)
    expected = soft_nms_first(boxes, scores, 20)

    def no_cpu_kernel(*args, **kwargs):
        raise AssertionError("mmcv's CPU soft-NMS kernel was called")

    monkeypatch.setattr(mmcv_nms.ext_module, 'softnms', no_cpu_kernel)
    with simulated_device() as device:
        # pose_nms of candidates off the CPU: the rounds as torch ops
        keep, kept_scores = pose_nms(
            poses_spanning(boxes).to(device), scores.to(device),
            dict(type='soft_nms', iou_threshold=0.3), 20)
        assert isinstance(keep, SimulatedDeviceTensor)
        assert isinstance(kept_scores, SimulatedDeviceTensor)
        keep, kept_scores = keep.cpu(), kept_scores.cpu()
    assert torch.equal(keep, expected[0])
    assert torch.equal(kept_scores, expected[1])


def test_reads_the_host_once():
    """No round reads a tensor on the host (on a GPU each read waits for the
    device): one read, the count of rounds that found a box, at the end."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class HostReads(TorchDispatchMode):
        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is torch.ops.aten._local_scalar_dense.default:
                HostReads.count += 1
            return func(*args, **(kwargs or {}))

    boxes, scores = crowded_boxes(30, 12, seed=2)
    with HostReads():
        keep, _ = soft_nms_first(boxes, scores, 20)
    assert len(keep) == 20 and HostReads.count == 1


def test_degenerate_scores_and_boxes_as_mmcv():
    """All scores -inf: mmcv keeps the first box, so does this.

    Boxes of no area (IoU 0/0, NaN) with the gaussian method: mmcv keeps them
    with NaN scores, so does this.
    """
    boxes, _ = crowded_boxes(2, 3, seed=4)
    scores = torch.full((6, ), float('-inf'))
    dets, inds = soft_nms(boxes, scores, 0.3)
    keep, kept_scores = soft_nms_first(boxes, scores, 20)
    assert keep.tolist() == inds.tolist() == [0]
    points = torch.tensor([[5., 5., 5., 5.], [5., 5., 5., 5.],
                           [0., 0., 10., 10.], [40., 40., 50., 50.]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    dets, inds = soft_nms(points, scores, 0.3, method='gaussian')
    keep, kept_scores = soft_nms_first(points, scores, 20, method='gaussian')
    assert keep.tolist() == inds.tolist()
    assert kept_scores[1:].isnan().any()
    torch.testing.assert_close(kept_scores, dets[:, 4], equal_nan=True)


@pytest.mark.parametrize('per_person', [10, 40])  # mmcv's path, the other
def test_both_paths_of_pose_nms_take_the_same_configs(per_person):
    boxes, scores = crowded_boxes(30, per_person, seed=5)
    keypoints = poses_spanning(boxes)
    assert (len(boxes) > pose_nms_module.CPU_SOFT_NMS_MAX) == (
        per_person == 40)
    reference = pose_nms(keypoints, scores,
                         dict(type='soft_nms', iou_threshold=0.5), 20)
    # mmcv's old name of the threshold; batched_nms's own keys; half floats
    for nms_cfg, dtype in [
        (dict(type='soft_nms', iou_thr=0.5), torch.float32),
        (dict(
            type='soft_nms',
            iou_threshold=0.5,
            split_thr=100,
            class_agnostic=True), torch.float32),
        (dict(type='soft_nms', iou_threshold=0.5), torch.float16),
    ]:
        keep, _ = pose_nms(keypoints.to(dtype), scores.to(dtype), nms_cfg, 20)
        if dtype == torch.float32:
            assert torch.equal(keep, reference[0]), nms_cfg
        else:  # rounded boxes and scores: most of the same poses
            assert len(set(keep.tolist()) & set(reference[0].tolist())) > 15
    with pytest.raises(ValueError, match=r"\['max_num'\].*max_per_img"):
        pose_nms(keypoints, scores, dict(type='soft_nms', max_num=5), 20)


@pytest.mark.parametrize('nms_cfg', [
    dict(type='soft_nms', iou_threshold=0.3),
    dict(type='nms', iou_threshold=0.3)
])
@pytest.mark.parametrize('per_person', [10, 40])  # mmcv's path, the other
def test_max_per_img_of_zero_or_less_keeps_every_survivor(nms_cfg, per_person):
    """-1 and 0 keep what mmcv's ``batched_nms`` keeps (mmdet's convention,
    ``multiclass_nms`` limits only above 0), on both paths of Soft-NMS and
    with NMS."""
    boxes, scores = crowded_boxes(30, per_person, seed=7)
    dets, inds = mmcv_batched_nms(boxes, scores, nms_cfg)
    assert 20 < len(inds) < len(boxes)
    for max_per_img in (-1, 0):
        keep, kept_scores = pose_nms(
            poses_spanning(boxes), scores, nms_cfg, max_per_img)
        assert torch.equal(keep, inds), max_per_img
        torch.testing.assert_close(kept_scores, dets[:, 4])
