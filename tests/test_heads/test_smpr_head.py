# Copyright (c) OpenMMLab. All rights reserved.
"""SMPRHead: the forward's shapes and gradient paths, losses on awkward scenes,
flip test, and the decode oracle (targets of the sample's ground truth decoded
by the inference path give COCO AP >= 0.95), and the two ways of computing its
deformable convolutions. mmcv's deformable convolution against the sampling
one is checked in ``tests/test_ops``."""
import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from custom_modules.heads import SMPRHead
from custom_modules.ops import grid_sample_deform_conv as sampling_module
from conftest import blank_pyramid

SAMPLE_ANN = Path(__file__).resolve().parents[1] / 'data/coco/test_coco.json'
COCO_FLIP_INDICES = parse_pose_metainfo(
    dict(from_file='configs/_base_/datasets/coco.py'))['flip_indices']


def crowdpose_style_metainfo() -> dict:
    """A dataset config's ``dataset_info`` of 14 keypoints (CrowdPose's names,
    order and sigmas): six left/right pairs, then the top of the head and the
    neck."""
    names = [
        f'{side}_{part}'
        for part in ('shoulder', 'elbow', 'wrist', 'hip', 'knee', 'ankle')
        for side in ('left', 'right')
    ] + ['top_head', 'neck']
    mirror = {'left': 'right', 'right': 'left'}
    keypoint_info = {
        i:
        dict(
            name=name,
            id=i,
            swap=f"{mirror[name.split('_')[0]]}_{name.split('_')[1]}"
            if name.split('_')[0] in mirror else '')
        for i, name in enumerate(names)
    }
    return dict(
        dataset_name='crowdpose_style',
        keypoint_info=keypoint_info,
        skeleton_info={},
        joint_weights=[1.] * 14,
        sigmas=[
            .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089,
            .089, .079, .079
        ])


def small_head(**kwargs) -> SMPRHead:
    cfg = dict(
        type='SMPRHead',
        in_channels=16,
        feat_channels=16,
        stacked_convs=1,
        heatmap_channels=16,
        norm_cfg=dict(type='GN', num_groups=4))
    head = MODELS.build(dict(cfg, **kwargs))
    head.init_weights()
    return head


def pyramid(size: int = 128, batch: int = 2, channels: int = 16):
    return tuple(
        torch.randn(batch, channels, math.ceil(size / s), math.ceil(size / s))
        for s in (8, 16, 32, 64, 128))


def sample(people, size: int = 128) -> PoseDataSample:
    data = PoseDataSample(
        metainfo=dict(input_size=(size, size), batch_input_shape=(size, size)))
    keypoints = torch.stack([p for p in people]) if people else torch.zeros(
        0, 17, 2)
    visible = torch.ones(len(people), 17)
    data.gt_instance_labels = InstanceData(
        keypoints=keypoints,
        keypoints_visible=visible,
        areas=torch.full((len(people), ), 1500.))
    return data


def a_person(x: float, y: float) -> torch.Tensor:
    return torch.stack([x + torch.arange(17.) * 3, y + torch.arange(17.) * 5],
                       dim=1)


def test_forward_gives_every_level_its_maps():
    head = small_head()
    cls, score, init, refined = head(pyramid())
    for level, size in enumerate((16, 8, 4, 2, 1)):
        assert cls[level].shape == score[level].shape == (2, 1, size, size)
        assert init[level].shape == refined[level].shape == (2, 34, size, size)


def test_losses_are_finite_on_an_empty_image_and_a_one_keypoint_person():
    torch.manual_seed(0)
    head = small_head()
    one_keypoint = sample([a_person(30, 20)])
    one_keypoint.gt_instance_labels.keypoints_visible[0, 1:] = 0
    losses = head.loss(pyramid(), [sample([]), one_keypoint])
    assert set(losses) == {
        'loss_cls', 'loss_heatmap', 'loss_kpt_init', 'loss_kpt_refine',
        'loss_pose_score'
    }
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_kpt_init'] == 0 and losses['loss_kpt_refine'] == 0
    sum(losses.values()).backward()  # the zero losses keep the graph


def test_person_loss_is_averaged_over_final_positives_plus_one_per_image():
    """The authors' ``avg_factor=num_pos + num_imgs``: with no person, the
    focal loss summed over every location, divided by the batch size."""
    from mmdet.models.losses import FocalLoss
    torch.manual_seed(0)
    head = small_head()
    feats = pyramid()
    losses = head.loss(feats, [sample([]), sample([])])
    cls_logits = torch.cat([m.flatten() for m in head(feats)[0]])
    summed = FocalLoss(
        reduction='sum')(cls_logits.reshape(-1, 1),
                         torch.ones(len(cls_logits), dtype=torch.long))
    torch.testing.assert_close(losses['loss_cls'], summed / 2)


def test_every_loss_normaliser_is_the_mean_over_processes(monkeypatch):
    """Under DDP each normaliser (positives, keypoint pixels, OKS sum) is
    ``reduce_mean``'s over the processes, as mmdet's dense heads do: with the
    other processes' factors three times this one's, every normalised loss is a
    third of the single-process value."""
    import custom_modules.heads.smpr_head as smpr_head
    torch.manual_seed(0)
    # every initial positive a final one (a refinement loss to normalise)
    head = small_head(assigner=dict(type='SMPRAssigner', pos_oks_thr=0.0))
    feats = pyramid()
    batch = [sample([a_person(20, 10), a_person(60, 30)]), sample([])]
    alone = head.loss(feats, batch)
    monkeypatch.setattr(smpr_head, 'reduce_mean', lambda x: x * 3)
    shared = head.loss(feats, batch)
    for name in ('loss_cls', 'loss_heatmap', 'loss_kpt_init',
                 'loss_kpt_refine'):
        assert alone[name] > 0, name
        torch.testing.assert_close(shared[name], alone[name] / 3, msg=name)
    torch.testing.assert_close(shared['loss_pose_score'],
                               alone['loss_pose_score'])


def test_refinement_leaves_the_initial_pose_and_every_loss_trains_something():
    torch.manual_seed(0)
    # every initial positive a final one, whatever the untrained initial poses
    head = small_head(assigner=dict(type='SMPRAssigner', pos_oks_thr=0.0))
    losses = head.loss(
        pyramid(),
        [sample([a_person(20, 10), a_person(60, 30)]),
         sample([])])
    losses['loss_kpt_refine'].backward(retain_graph=True)
    # the refinement trains its own conv and the sampling offsets, never the
    # initial pose
    assert head.init_out.weight.grad is None
    assert head.refine_out.weight.grad.abs().sum() > 0
    assert head.dcn_offset.weight.grad.abs().sum() > 0
    head.zero_grad()
    losses['loss_kpt_init'].backward(retain_graph=True)
    assert (head.init_out.weight.grad.abs().sum() > 0
            and head.refine_out.weight.grad is None)
    head.zero_grad()
    losses['loss_heatmap'].backward(retain_graph=True)
    assert (head.heatmap_out.weight.grad.abs().sum() > 0
            and head.cls_out.weight.grad is None)
    head.zero_grad()
    losses['loss_pose_score'].backward(retain_graph=True)
    assert head.pose_score_out.weight.grad.abs().sum() > 0
    losses['loss_cls'].backward()
    assert head.cls_out.weight.grad.abs().sum() > 0


def test_deform_conv_auto_samples_on_the_cpu_and_in_bf16_only():
    cpu, cuda, meta = (torch.device(d) for d in ('cpu', 'cuda:0', 'meta'))
    cases = [(cpu, torch.float32), (cuda, torch.float32),
             (cuda, torch.float16), (cuda, torch.bfloat16),
             (meta, torch.float32)]
    for setting, expected in (
        ('auto', [True, False, False, True, False]),
        ('mmcv', [False] * 5),
        ('grid_sample', [True] * 5),
    ):
        head = small_head(deform_conv=setting)
        assert [head.samples_deform_convs(*case)
                for case in cases] == expected, setting
    message = (
        r"deform_conv must be one of \('auto', 'mmcv', 'grid_sample'\), "
        r"got 'grid-sample'")
    with pytest.raises(ValueError, match=message):
        small_head(deform_conv='grid-sample')
    head = small_head()
    with pytest.raises(ValueError, match=message):
        head.deform_conv = 'grid-sample'  # set later, as the tools do
    assert head.deform_conv == 'auto'


@pytest.fixture
def count_kernel_calls(monkeypatch):
    """Calls of mmcv's deformable-convolution forward kernel and of the
    sampling function, as they happen."""
    import mmcv.ops.deform_conv as mmcv_deform_conv

    calls = {'mmcv': 0, 'sampling': 0}

    class CountingExtension:

        def __init__(self, extension):
            self.extension = extension

        def __getattr__(self, name):
            function = getattr(self.extension, name)
            if name != 'deform_conv_forward':
                return function

            def counted(*args, **kwargs):
                calls['mmcv'] += 1
                return function(*args, **kwargs)

            return counted

    monkeypatch.setattr(mmcv_deform_conv, 'ext_module',
                        CountingExtension(mmcv_deform_conv.ext_module))
    sampling = sampling_module.grid_sample_deform_conv2d

    def counted(*args, **kwargs):
        calls['sampling'] += 1
        return sampling(*args, **kwargs)

    import custom_modules.heads.smpr_head as head_module
    monkeypatch.setattr(head_module, 'grid_sample_deform_conv2d', counted)
    return calls


@pytest.mark.parametrize('setting, mmcv_calls, sampling_calls',
                         [('auto', 0, 10), ('grid_sample', 0, 10),
                          ('mmcv', 10, 0)])
def test_each_setting_runs_its_kernel(count_kernel_calls, setting, mmcv_calls,
                                      sampling_calls):
    small_head(deform_conv=setting)(pyramid())
    assert count_kernel_calls == dict(mmcv=mmcv_calls, sampling=sampling_calls)


def test_sampling_gives_mmcvs_outputs_losses_and_gradients():
    """The default on the CPU (sampling) against mmcv's kernel, the same
    weights: the head's outputs, its five losses and every parameter's
    gradient, to float32 rounding."""
    torch.manual_seed(0)
    sampling = small_head()
    # offsets of a few pixels, as a trained head's, so that taps fall between
    # and outside pixels
    torch.nn.init.normal_(sampling.dcn_offset.weight, std=3.)
    kernel = copy.deepcopy(sampling)
    kernel.deform_conv = 'mmcv'
    feats = pyramid()
    for ours, theirs in zip(sampling(feats), kernel(feats)):
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    data = [sample([a_person(20, 10), a_person(60, 30)]), sample([])]
    losses = [head.loss(feats, data) for head in (sampling, kernel)]
    for name in losses[1]:
        torch.testing.assert_close(
            losses[0][name], losses[1][name], atol=1e-5, rtol=1e-4, msg=name)
    for head, loss in zip((sampling, kernel), losses):
        sum(loss.values()).backward()
    for (name, ours), theirs in zip(sampling.named_parameters(),
                                    kernel.parameters()):
        if ours.grad is None:
            assert theirs.grad is None, name
            continue
        torch.testing.assert_close(
            ours.grad,
            theirs.grad,
            atol=1e-5 * max(1.,
                            theirs.grad.abs().max().item()),
            rtol=1e-3,
            msg=name)
    assert sampling.dcn_cls.weight.grad.abs().sum() > 0


def use_outputs(head: SMPRHead, *outputs) -> None:
    """Make ``head.forward`` return ``outputs`` (one per call) instead of
    computing them."""
    calls = iter(outputs)
    head.forward = lambda feats: next(calls)


def test_decode_oracle_on_the_samples_ground_truth_gives_ap_above_095():
    """The inference path (scores, per-level top-k, decoding, Soft-NMS, 20
    people) recovers the ground truth from the targets the assigner makes of
    it: the input is each image at its own size, so input pixels are image
    pixels."""
    coco = COCO(str(SAMPLE_ANN))
    head = small_head()
    results = []
    for image_id in coco.getImgIds():
        image = coco.loadImgs(image_id)[0]
        anns = [
            a for a in coco.loadAnns(
                coco.getAnnIds(imgIds=image_id, iscrowd=False))
            if a['num_keypoints'] > 0
        ]
        keypoints = torch.tensor([a['keypoints'] for a in anns],
                                 dtype=torch.float32).view(-1, 17, 3)
        gt = InstanceData(
            keypoints=keypoints[..., :2],
            keypoints_visible=keypoints[..., 2] > 0,
            areas=torch.tensor([a['area'] for a in anns]))
        width, height = image['width'], image['height']
        featmap_sizes = [(math.ceil(height / s), math.ceil(width / s))
                         for s in head.strides]
        targets = head.perfect_targets(gt, featmap_sizes)
        # exact initial poses: every initial positive is a final one
        assert torch.equal(targets.final_pos, targets.init_inds >= 0)
        use_outputs(head,
                    head.perfect_outputs(gt, featmap_sizes, (height, width)))
        data = PoseDataSample(
            metainfo=dict(
                input_size=(width, height), batch_input_shape=(height, width)))
        pred = head.predict(None, [data],
                            dict(score_thr=0.05, nms_pre=1000,
                                 max_per_img=20))[0]
        for pose, score in zip(pred.keypoints, pred.bbox_scores):
            results.append(
                dict(
                    image_id=image_id,
                    category_id=1,
                    score=float(score),
                    keypoints=np.concatenate([pose, np.ones((17, 1))],
                                             1).ravel().tolist()))
    evaluator = COCOeval(
        coco,
        coco.loadRes(results),
        'keypoints',
        np.array(head.assigner.sigmas),
        use_area=True)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[0] >= 0.95


def test_candidates_are_the_best_products_whose_person_score_passes():
    """As the authors' (mmdetection 1.x FCOS) test: per level the ``nms_pre``
    best locations by person x pose score (all with ``nms_pre`` <= 0), then
    those whose person score is above ``score_thr``, best first."""
    head = small_head()
    # P3 of a 16x16 input: 2x2 locations; A, B, C, D in raster order
    person = torch.tensor([0.9, 0.04, 0.5, 0.3])
    pose = torch.tensor([0.1, 1.0, 0.5, 0.9]).clamp(max=0.999)
    cls_logits = [torch.logit(person).reshape(1, 2, 2)
                  ] + [torch.full((1, 1, 1), -20.0) for _ in range(4)]
    score_logits = [torch.logit(pose).reshape(1, 2, 2)
                    ] + [torch.zeros(1, 1, 1) for _ in range(4)]
    refined = [torch.zeros(34, *m.shape[1:]) for m in cls_logits]

    def kept(**test_cfg) -> list:
        _, scores = head.candidates(cls_logits, score_logits, refined,
                                    test_cfg)
        return [round(float(score), 2) for score in scores]

    # products: A 0.09, B 0.04, C 0.25, D 0.27
    assert kept(nms_pre=2, score_thr=0.05) == [0.27, 0.25]
    assert kept(nms_pre=-1, score_thr=0.05) == [0.27, 0.25, 0.09]
    assert kept(nms_pre=0, score_thr=0.05) == [0.27, 0.25, 0.09]
    # D's person score fails: not replaced by the next best (A)
    assert kept(nms_pre=2, score_thr=0.35) == [0.25]


@pytest.mark.parametrize('metainfo', ['coco', 'crowdpose_style'])
def test_flip_test_maps_mirrored_poses_back(metainfo):
    """With the mirrored image's maps made from the mirrored ground truth, flip
    test finds the same person: the x coordinates and left/right keypoints (the
    metainfo's ``flip_indices``) come back, for COCO's 17 keypoints and for 14
    of another dataset.

    The original view's maps see nobody (every person logit ``-10``, its poses
    those of the truth), so the one person, its score and its keypoints can
    only come from the mirrored view.
    """
    if metainfo == 'coco':
        head, flip_indices = small_head(), COCO_FLIP_INDICES
    else:
        meta = crowdpose_style_metainfo()
        head = small_head(
            num_keypoints=14,
            assigner=dict(type='SMPRAssigner', metainfo=meta))
        flip_indices = parse_pose_metainfo(meta)['flip_indices']
        assert flip_indices == [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13]
    num_keypoints = len(flip_indices)
    size = 128
    truth = a_person(20, 10)[:num_keypoints]
    gt = InstanceData(
        keypoints=truth[None],
        keypoints_visible=torch.ones(1, num_keypoints),
        areas=torch.tensor([1500.]))
    mirrored = truth[flip_indices].clone()
    mirrored[:, 0] = size - 1 - mirrored[:, 0]
    gt_mirrored = InstanceData(
        keypoints=mirrored[None],
        keypoints_visible=torch.ones(1, num_keypoints),
        areas=torch.tensor([1500.]))
    featmap_sizes = [(math.ceil(size / s), ) * 2 for s in head.strides]
    original, mirrored_view = (
        head.perfect_outputs(truth_gt, featmap_sizes, (size, size))
        for truth_gt in (gt, gt_mirrored))
    cls, score, init, refined = original
    # the original view: nobody (sigmoid(-10) is far below score_thr), though
    # its poses would be the right ones
    nobody = [torch.full_like(level, -10.) for level in cls]
    # each view's maps from its own features (named here), not by call order
    maps = {
        'original image': (nobody, score, init, refined),
        'mirrored image': mirrored_view
    }
    head.forward = lambda feats: maps[feats]
    data = PoseDataSample(
        metainfo=dict(
            input_size=(size, size),
            batch_input_shape=(size, size),
            flip_indices=flip_indices))
    pred = head.predict(['original image', 'mirrored image'], [data],
                        dict(flip_test=True))[0]
    # the mirrored view's positives are one person after Soft-NMS
    assert len(pred.keypoints) == 1
    assert pred.keypoints.shape == (1, num_keypoints, 2)
    np.testing.assert_allclose(pred.keypoints[0], truth.numpy(), atol=1e-3)
    # its score: the mirrored maps' sigmoid(10) x sigmoid(10)
    np.testing.assert_allclose(
        pred.bbox_scores, [torch.sigmoid(torch.tensor(10.)).item()**2],
        rtol=1e-5)


def test_clamp_to_image_moves_keypoints_onto_the_images_border():
    """The authors' ``offset2kpt(..., max_shape=img_shape)``.

    Each coordinate is clamped to ``[0, w - 1]`` of the resized image, here a
    210x100 image whose resized width (268.8) is padded to 288 input pixels.
    """
    from custom_modules.datasets.transforms import PyramidBottomupResize
    from custom_modules.heads.pyramid_geometry import clamp_to_image
    results = PyramidBottomupResize(
        input_size=(128, 128), size_factor=32, resize_mode='expand').transform(
            dict(
                img=np.zeros((100, 210, 3), np.uint8),
                img_shape=(100, 210),
                ori_shape=(100, 210)))
    metainfo = dict(
        {
            key: results[key]
            for key in ('input_size', 'input_center', 'input_scale')
        },
        ori_shape=(100, 210))
    assert tuple(metainfo['input_size']) == (288, 128)
    inside = torch.tensor([[30.0, 60.0], [250.0, 100.0]])
    outside = torch.tensor([[-40.0, -5.0], [400.0, 300.0]])
    clamped = clamp_to_image(torch.cat([inside, outside]), metainfo)
    torch.testing.assert_close(clamped[:2], inside)
    # in image pixels: the first pixel, and the resized image's last one
    size, scale, center = (
        torch.tensor(metainfo[key], dtype=torch.float32)
        for key in ('input_size', 'input_scale', 'input_center'))
    image = clamped[2:] / size * scale + center - scale / 2
    per_pixel = 128 / 100
    torch.testing.assert_close(
        image,
        torch.tensor([[0.0, 0.0], [210 - 1 / per_pixel, 100 - 1 / per_pixel]]))


def test_predict_clamps_to_the_image_when_asked():
    """A person reaching out of a 128x128 image: its keypoints there come back
    on the border with ``clamp_to_image``, as predicted without it."""
    head, size = small_head(), 128
    truth = a_person(60, 40)  # x up to 108, y up to 120
    truth[-1] = torch.tensor([140.0, 150.0])  # an ankle out of the image
    gt = InstanceData(
        keypoints=truth[None],
        keypoints_visible=torch.ones(1, 17),
        areas=torch.tensor([5000.]))
    featmap_sizes = [(math.ceil(size / s), ) * 2 for s in head.strides]
    outputs = head.perfect_outputs(gt, featmap_sizes, (size, size))
    head.forward = lambda feats: outputs
    data = PoseDataSample(
        metainfo=dict(
            input_size=(size, size),
            batch_input_shape=(size, size),
            input_center=(size / 2, size / 2),
            input_scale=(size, size),
            ori_shape=(size, size)))
    as_predicted = head.predict(None, [data], {})[0].keypoints[0]
    clamped = head.predict(None, [data],
                           dict(clamp_to_image=True))[0].keypoints[0]
    np.testing.assert_allclose(as_predicted, truth.numpy(), atol=1e-3)
    expected = truth.clone()
    expected[-1] = torch.tensor([127.0, 127.0])
    np.testing.assert_allclose(clamped, expected.numpy(), atol=1e-3)


def test_multiscale_flip_test_maps_poses_of_every_view_back():
    """Each image of a pyramid (PyramidBottomupResize: 640x480 at 128 px, 64
    and 256, sizes rounded up to 32 and centred) and its mirror see the same
    person where that image has it; merged before Soft-NMS, the six views give
    one person where the base image has it.

    Dividing by the scale put the 0.5 view's pose 4-5 pixels away, and
    mirroring it in a scaled base width another 16.
    """
    head = small_head()
    flip_indices = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    results = blank_pyramid(
        640,
        480,
        input_size=(128, 128),
        size_factor=32,
        resize_mode='expand',
        aug_scales=[0.5, 2.0])
    sizes = results['pyramid_input_sizes']
    assert [tuple(size) for size in sizes] == [(192, 128), (96, 64),
                                               (352, 256)]
    # a person in image pixels, and where each image of the pyramid has it
    person = a_person(300, 200)
    centers, scales = (
        results[key]
        for key in ('pyramid_input_centers', 'pyramid_input_scales'))

    def outputs(level: int, mirrored: bool):
        center, scale = (torch.as_tensor(x[level]) for x in (centers, scales))
        size = torch.as_tensor(sizes[level], dtype=torch.float32)
        keypoints = (person - center + scale / 2) * size / scale
        width, height = sizes[level]
        if mirrored:
            keypoints = keypoints[flip_indices]
            keypoints[:, 0] = width - 1 - keypoints[:, 0]
        gt = InstanceData(
            keypoints=keypoints[None],
            keypoints_visible=torch.ones(1, 17),
            areas=torch.tensor([1500. * (size[1] / 128)**2]))
        return head.perfect_outputs(gt, [
            (math.ceil(height / s), math.ceil(width / s)) for s in head.strides
        ], (height, width))

    use_outputs(
        head, *[
            outputs(level, mirrored) for level in range(3)
            for mirrored in (False, True)
        ])
    data = PoseDataSample(
        metainfo=dict(
            input_size=sizes[0],
            batch_input_shape=tuple(sizes[0][::-1]),
            aug_scales=[0.5, 2.0],
            flip_indices=flip_indices,
            pyramid_batch_input_shapes=[tuple(s[::-1]) for s in sizes],
            **{
                key: results[key]
                for key in results if key.startswith('pyramid_')
            }))
    pred = head.predict([[None, None]] * 3, [data],
                        dict(multiscale_test=True, flip_test=True))[0]
    assert len(pred.keypoints) == 1
    center, scale = (torch.as_tensor(x[0]) for x in (centers, scales))
    expected = (person - center + scale / 2) * torch.tensor([192., 128.
                                                             ]) / scale
    np.testing.assert_allclose(pred.keypoints[0], expected.numpy(), atol=1e-3)


def test_a_multiscale_test_without_the_pyramids_places_is_refused():
    head = small_head()
    data = PoseDataSample(
        metainfo=dict(
            input_size=(128, 128),
            batch_input_shape=(128, 128),
            aug_scales=[2.0]))
    with pytest.raises(ValueError, match='PyramidBottomupResize'):
        head.predict([pyramid(batch=1),
                      pyramid(256, batch=1)], [data],
                     dict(multiscale_test=True))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='oks_positives_of'):
        small_head(oks_positives_of='final')
    with pytest.raises(ValueError, match='14 OKS sigmas for 17 keypoints'):
        small_head(
            assigner=dict(
                type='SMPRAssigner', metainfo=crowdpose_style_metainfo()))
    with pytest.raises(ValueError, match='feature levels'):
        small_head()(pyramid()[:3])
    # flip test without the dataset's flip_indices in the metainfo, or with
    # another K's
    head = small_head()
    for metainfo in (dict(), dict(flip_indices=list(range(14)))):
        data = PoseDataSample(
            metainfo=dict(
                input_size=(128, 128),
                batch_input_shape=(128, 128),
                **metainfo))
        with pytest.raises(ValueError, match='flip_indices of 17 keypoints'):
            head.predict([pyramid(batch=1)] * 2, [data], dict(flip_test=True))


def test_output_names_name_the_flattened_forward():
    head = small_head()
    names = head.output_names()
    assert names[:5] == ['cls_p3', 'cls_p4', 'cls_p5', 'cls_p6', 'cls_p7']
    assert names[5] == 'pose_score_p3' and names[-1] == 'refined_p7'
    assert len(names) == sum(len(kind) for kind in head(pyramid()))
