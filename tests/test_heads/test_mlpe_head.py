# Copyright (c) OpenMMLab. All rights reserved.
"""MLPEHead: stage shapes (transposed convs or interpolation), the two losses,
OHKM on hand-made losses, prediction with flip test."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from custom_modules.heads import MLPEHead

CODEC = dict(
    type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=2)
SIZES = [(16, 16), (8, 8), (4, 4), (2, 2)]  # strides 4 to 32 of a 64x64 input


def feats(channels: int = 8, batch: int = 2):
    return tuple(torch.randn(batch, channels, h, w) for h, w in SIZES)


def samples(heatmaps: torch.Tensor, weights: torch.Tensor):
    out = []
    for hm, w in zip(heatmaps, weights):
        sample = PoseDataSample()
        sample.gt_fields = PixelData(heatmaps=hm)
        sample.gt_instance_labels = InstanceData(keypoint_weights=w[None])
        sample.set_metainfo(
            dict(
                flip_indices=list(range(17)),
                input_size=(64, 64),
                input_center=np.array([32., 32.]),
                input_scale=np.array([64., 64.])))
        out.append(sample)
    return out


@pytest.mark.parametrize('upsample', ['deconv', 'bilinear'])
@pytest.mark.parametrize('kernel_size', [3, 1])
def test_stages_share_the_finest_resolution(kernel_size, upsample):
    head = MLPEHead(
        in_channels=8,
        refine_channels=4,
        kernel_size=kernel_size,
        upsample=upsample,
        decoder=CODEC)
    inputs = feats()
    stage1, final = head.stage1(inputs[0]), head(inputs)
    assert stage1.shape == final.shape == (2, 17, 16, 16)
    # coarser levels get more conv blocks, and one 2x transposed conv per
    # halving or one bilinear interpolation by 2^l
    blocks = [
        sum(
            isinstance(m, torch.nn.Conv2d)
            and not isinstance(m, torch.nn.ConvTranspose2d)
            for m in b.modules()) for b in head.refine_branches
    ]
    deconvs = [
        sum(isinstance(m, torch.nn.ConvTranspose2d) for m in b.modules())
        for b in head.refine_branches
    ]
    interpolations = [[
        m.scale_factor for m in b.modules()
        if isinstance(m, torch.nn.Upsample)
    ] for b in head.refine_branches]
    assert blocks == [1, 2, 3, 4]
    if upsample == 'deconv':
        assert deconvs == [0, 1, 2, 3] and not any(interpolations)
    else:
        assert deconvs == [0, 0, 0, 0]
        assert interpolations == [[], [2], [4], [8]]


def test_an_unknown_upsampling_is_named():
    with pytest.raises(ValueError, match="'deconv' or 'bilinear', got 'nn'"):
        MLPEHead(in_channels=8, upsample='nn', decoder=CODEC)


def test_loss_has_both_stages_and_trains_every_parameter():
    """``loss_stage1`` is the target-weighted MSE of the stage-1 heatmaps (the
    mean over every heatmap pixel of the squared error times the keypoint's
    weight): a keypoint of weight 0 adds nothing, whatever its target; both
    losses together train every parameter."""
    torch.manual_seed(0)
    head = MLPEHead(in_channels=8, refine_channels=4, decoder=CODEC)
    inputs = feats()
    target = torch.rand(2, 17, 16, 16)
    weights = torch.ones(2, 17)
    weights[0, 5] = 0
    losses = head.loss(inputs, samples(target, weights))
    assert set(losses) == {'loss_stage1', 'loss_kpt', 'acc_pose'}
    with torch.no_grad():
        stage1 = head.stage1(inputs[0])
    expected = ((stage1 - target)**2 * weights[:, :, None, None]).mean()
    torch.testing.assert_close(losses['loss_stage1'], expected)
    # the unweighted MSE is another value: the weight counts
    assert not torch.isclose(losses['loss_stage1'],
                             ((stage1 - target)**2).mean())
    # another target for the weight-0 keypoint: the same stage-1 loss
    moved = target.clone()
    moved[0, 5] = 1 - moved[0, 5]
    again = head.loss(inputs, samples(moved, weights))
    torch.testing.assert_close(again['loss_stage1'], losses['loss_stage1'])
    (losses['loss_stage1'] + losses['loss_kpt']).backward()
    assert all(p.grad is not None for p in head.parameters())


def test_ohkm_keeps_the_top_k_keypoints_by_loss():
    """Hand-made per-keypoint losses: keypoint j of instance 0 is off by
    (j+1)/17 everywhere."""
    ohkm = MODELS.build(
        dict(type='KeypointOHKMMSELoss', use_target_weight=True, topk=4))
    target = torch.zeros(1, 17, 4, 4)
    errors = torch.arange(1, 18, dtype=torch.float32) / 17
    output = target + errors[None, :, None, None]
    per_keypoint = errors**2  # the mean squared error over each heatmap
    expected = per_keypoint.topk(4).values.mean()
    torch.testing.assert_close(
        ohkm(output, target, torch.ones(1, 17)), expected)
    # a zero target weight takes a keypoint out of the mining
    weights = torch.ones(1, 17)
    weights[0, 16] = 0
    expected = per_keypoint[:16].topk(4).values.mean()
    torch.testing.assert_close(ohkm(output, target, weights), expected)


def test_head_loss_is_ohkm_of_the_final_heatmaps():
    head = MLPEHead(
        in_channels=8,
        refine_channels=4,
        decoder=CODEC,
        loss_kpt=dict(
            type='KeypointOHKMMSELoss', use_target_weight=True, topk=3))
    inputs, target, weights = feats(), torch.rand(2, 17, 16,
                                                  16), torch.ones(2, 17)
    weights[0, :5] = 0  # unlabelled keypoints take no part in the mining
    final = head(inputs)
    per_keypoint = ((final - target)**2).mean(dim=(2, 3)) * weights
    # averaged over instances
    expected = per_keypoint.topk(3, dim=1).values.mean(dim=1).mean()
    losses = head.loss(inputs, samples(target, weights))
    torch.testing.assert_close(losses['loss_kpt'], expected)


def test_levels_that_do_not_double_are_named():
    head = MLPEHead(in_channels=8, refine_channels=4, decoder=CODEC)
    odd = tuple(
        torch.randn(1, 8, h, w) for h, w in [(16, 12), (8, 6), (4, 3), (2, 2)])
    with pytest.raises(ValueError, match='divisible by 32'):
        head(odd)


def test_predict_with_flip_test_averages_both_views():
    """The mirrored view's heatmaps come back mirrored with left and right
    swapped (COCO's flip indices) and are averaged with the original's."""
    coco_flip = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    head = MLPEHead(in_channels=8, refine_channels=4, decoder=CODEC).eval()
    batch = samples(torch.zeros(2, 17, 16, 16), torch.ones(2, 17))
    for sample in batch:
        sample.set_metainfo(dict(flip_indices=coco_flip))
    original, mirrored = feats(), feats()
    with torch.no_grad():
        preds, fields = head.predict([original, mirrored],
                                     batch,
                                     test_cfg=dict(
                                         flip_test=True,
                                         flip_mode='heatmap',
                                         shift_heatmap=False,
                                         output_heatmaps=True))
        expected = (head(original) + head(mirrored).flip(-1)[:, coco_flip]) / 2
    assert len(preds) == 2
    assert preds[0].keypoints.shape == (1, 17, 2)
    assert preds[0].keypoint_scores.shape == (1, 17)
    for i in range(2):
        torch.testing.assert_close(fields[i].heatmaps, expected[i])
