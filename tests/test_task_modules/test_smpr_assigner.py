# Copyright (c) OpenMMLab. All rights reserved.
"""SMPR's targets on hand-built scenes: pseudo boxes, OKS, levels, shrunk-box
positives, OKS positives and the auxiliary heatmap labels."""
import math

import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.models.task_modules.prior_generators import MlvlPointGenerator

from custom_modules.task_modules import SMPRAssigner, pseudo_boxes

STRIDES = (8, 16, 32, 64, 128)
INPUT = 512
# the dataset configs as the SMPR configs name them (mmpose finds them in its
# package)
COCO_METAINFO = 'configs/_base_/datasets/coco.py'
CROWDPOSE_METAINFO = 'configs/_base_/datasets/crowdpose.py'
COCO_SIGMAS = parse_pose_metainfo(dict(
    from_file=COCO_METAINFO))['sigmas'].tolist()


def locations(size: int = INPUT):
    sizes = [(math.ceil(size / s), math.ceil(size / s)) for s in STRIDES]
    points = MlvlPointGenerator(
        STRIDES, offset=0.5).grid_priors(
            sizes, device='cpu', with_stride=True)
    levels = torch.cat(
        [torch.full((len(p), ), i) for i, p in enumerate(points)])
    points = torch.cat(points)
    return points[:, :2], points[:, 2], levels


def person(x1: float,
           y1: float,
           x2: float,
           y2: float,
           num_visible: int = 17,
           num_keypoints: int = 17) -> torch.Tensor:
    """Keypoints spread over the box (corners included), the first
    `num_visible` visible."""
    t = torch.linspace(0, 1, num_keypoints)
    keypoints = torch.stack([x1 + (x2 - x1) * t, y1 + (y2 - y1) * t.flip(0)],
                            dim=1)
    keypoints[0], keypoints[1] = torch.tensor([x1, y1]), torch.tensor([x2, y2])
    visible = torch.zeros(num_keypoints)
    visible[:num_visible] = 1
    return keypoints, visible


def instances(*people, areas=None) -> InstanceData:
    keypoints = torch.stack([p[0] for p in people]) if people else torch.zeros(
        0, 17, 2)
    visible = torch.stack([p[1]
                           for p in people]) if people else torch.zeros(0, 17)
    if areas is None:
        areas = [(k[:, 0].max() - k[:, 0].min()) *
                 (k[:, 1].max() - k[:, 1].min()) * 0.5 for k, _ in people]
    return InstanceData(
        keypoints=keypoints,
        keypoints_visible=visible,
        areas=torch.as_tensor(areas, dtype=torch.float32).reshape(-1))


def assign(gt: InstanceData, pred=None, **kwargs):
    points, strides, levels = locations()
    if pred is None:  # every location predicts the first person exactly
        pred = (gt.keypoints[:1] if len(gt) else torch.zeros(1, 17, 2)).expand(
            len(points), -1, -1)
    return SMPRAssigner(**kwargs).assign(points, strides, levels, pred,
                                         gt), points, levels


def test_pseudo_box_is_tight_box_of_visible_keypoints_and_needs_two_points():
    keypoints = torch.tensor([[[10., 20.], [30., 5.], [500., 500.]],
                              [[7., 7.], [7., 7.], [0., 0.]]])
    visible = torch.tensor([[1., 1., 0.], [1., 1., 0.]])
    boxes, valid = pseudo_boxes(keypoints, visible)
    assert boxes[0].tolist() == [10., 5., 30., 20.]
    assert valid.tolist() == [True, False] and boxes[1].tolist() == [0.] * 4


def test_oks_is_cocos_definition_over_visible_keypoints():
    """The assigner's OKS (mmpose's ``PoseOKS`` with the metainfo's sigmas,
    from a file or a dict) weighs the visible keypoints only."""
    gt = torch.zeros(1, 17, 2)
    visible = torch.zeros(1, 17)
    visible[0, :2] = 1
    pred = torch.zeros(2, 17, 2)
    # 5 pixels off on the nose, an invisible point far off
    pred[1, 0] = torch.tensor([3., 4.])
    pred[1, 5] = 100.
    expected_nose = math.exp(-25 / (2 * 400 * (2 * COCO_SIGMAS[0])**2))
    dataset_info = dict(
        dataset_name='coco',
        keypoint_info={
            k: dict(name=f'k{k}', id=k, color=[0, 0, 0], type='', swap='')
            for k in range(17)
        },
        skeleton_info={},
        joint_weights=[1.] * 17,
        sigmas=COCO_SIGMAS)
    for metainfo in ('configs/_base_/datasets/coco.py', dataset_info):
        oks = SMPRAssigner(
            metainfo=metainfo).oks_calculator(pred[:, None], gt[None],
                                              visible[None],
                                              torch.tensor([400.]))
        assert torch.allclose(oks,
                              torch.tensor([[1.0], [(expected_nose + 1) / 2]]))


def test_two_people_of_different_sizes_go_to_their_levels_near_their_centres():
    small = person(40, 42, 100, 130)  # 60x88
    large = person(200, 100, 460, 470)  # 260x370
    targets, points, levels = assign(instances(small, large))
    expected = (((40, 42, 100, 130), 0), ((200, 100, 460, 470), 2))
    for index, (box, level) in enumerate(expected):
        mine = targets.init_inds == index
        assert mine.any()
        # largest side distances 50-54, 204-230
        assert set(levels[mine].tolist()) == {level}
        stride = STRIDES[level]
        centre = torch.tensor([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        assert ((points[mine] - centre).abs() < 1.5 * stride).all()
        # every location of the shrunk box at that level: 3x3 of them
        assert mine.sum() == 9
        torch.testing.assert_close(
            targets.keypoints[mine],
            instances(small, large).keypoints[index].expand(9, -1, -1))
    assert (targets.keypoint_weights[targets.init_inds < 0] == 0).all()


def test_overlapping_people_share_no_location_and_ties_go_to_the_smaller():
    # same centre, both on P3: the smaller box wins every shared location
    big, small = person(100, 100, 224, 224), person(132, 132, 192, 192)
    targets, _, _ = assign(
        instances(big, small), regress_ranges=((-1, 1e8), ) * 5)
    on_p3 = targets.init_inds[:64 * 64]
    assert (on_p3 == 1).sum() == 9 and (on_p3 == 0).sum() == 0


def test_one_visible_keypoint_and_an_empty_image_give_no_positive_and_no_nan():
    targets, _, _ = assign(instances(person(50, 50, 150, 250, num_visible=1)))
    assert (targets.init_inds == -1).all() and not targets.final_pos.any()
    assert torch.isfinite(targets.oks).all()
    targets, _, _ = assign(instances())
    assert (targets.init_inds == -1).all() and not targets.final_pos.any()
    assert (targets.oks == 0).all() and torch.isfinite(targets.keypoints).all()


def test_final_positives_need_a_good_initial_pose_or_the_best_one():
    one = person(40, 42, 100, 130)
    gt = instances(one)
    points, _, _ = locations()
    # exact poses: every initial positive is a final one, with OKS 1
    targets, _, _ = assign(gt)
    init_pos = targets.init_inds >= 0
    assert torch.equal(targets.final_pos, init_pos) and torch.allclose(
        targets.oks[init_pos], torch.ones(9))
    # poses 40 px off everywhere but at one location inside the shrunk box (10
    # px off): that location is the person's best, so it is the only final
    # positive
    pred = one[0][None].repeat(len(points), 1, 1) + 40
    best = torch.nonzero(init_pos)[4, 0]
    pred[best] = one[0] + 10
    targets, _, _ = assign(gt, pred=pred)
    assert targets.final_pos.nonzero().flatten().tolist() == [best.item()]
    assert targets.oks[best] < 0.5
    # a threshold the 10-px pose passes makes it positive in its own right
    oks_best = targets.oks[best].item()
    targets, _, _ = assign(gt, pred=pred, pos_oks_thr=oks_best / 2)
    assert targets.final_pos[best] and targets.final_pos.sum() == 1


def test_heatmap_labels_mark_each_visible_keypoints_nearest_location():
    keypoints = torch.zeros(1, 17, 2)
    # location (row 2, col 5) exactly
    keypoints[0, 3] = torch.tensor([4 + 8 * 5, 4 + 8 * 2])
    keypoints[0, 4] = torch.tensor([1000., 1000.])  # off the map
    visible = torch.zeros(1, 17)
    visible[0, 3:5] = 1
    gt = InstanceData(
        keypoints=keypoints, keypoints_visible=visible, areas=torch.ones(1))
    labels = SMPRAssigner().heatmap_labels(gt, (6, 8), 8, 17)
    assert labels[2, 5] == 3 and (labels == 17).sum() == 6 * 8 - 1


def test_heatmap_labels_leave_out_people_who_take_no_part_in_training():
    """A person with one visible keypoint (a pseudo box under ``min_box_size``)
    is no positive of the regression, nor a keypoint pixel of the heatmap; the
    others' keypoints stay."""
    keypoints = torch.zeros(2, 17, 2)
    keypoints[0, 0] = torch.tensor([4 + 8 * 1, 4 + 8 * 1])  # alone
    keypoints[1, 5] = torch.tensor([4 + 8 * 3, 4 + 8 * 2])
    keypoints[1, 6] = torch.tensor([4 + 8 * 6, 4 + 8 * 4])
    visible = torch.zeros(2, 17)
    visible[0, 0] = visible[1, 5] = visible[1, 6] = 1
    gt = InstanceData(
        keypoints=keypoints, keypoints_visible=visible, areas=torch.ones(2))
    labels = SMPRAssigner().heatmap_labels(gt, (6, 8), 8, 17)
    assert labels[1, 1] == 17
    assert labels[2, 3] == 5 and labels[4, 6] == 6
    assert (labels == 17).sum() == 6 * 8 - 2


def test_sigmas_come_from_the_datasets_metainfo_for_any_number_of_keypoints():
    """COCO's by default; CrowdPose's 14 keypoints from its dataset config: the
    OKS of a pose off on one keypoint is COCO's definition with that dataset's
    sigma."""
    assert SMPRAssigner().sigmas == SMPRAssigner(metainfo=COCO_METAINFO).sigmas
    assert SMPRAssigner().sigmas == pytest.approx(COCO_SIGMAS)
    assigner = SMPRAssigner(metainfo=CROWDPOSE_METAINFO)
    crowdpose_sigmas = parse_pose_metainfo(dict(
        from_file=CROWDPOSE_METAINFO))['sigmas']
    assert len(assigner.sigmas) == 14
    assert assigner.sigmas == pytest.approx(crowdpose_sigmas.tolist())

    keypoints, visible = person(
        40, 42, 100, 130, num_visible=14, num_keypoints=14)
    area = 1000.
    gt = InstanceData(
        keypoints=keypoints[None],
        keypoints_visible=visible[None],
        areas=torch.tensor([area]))
    points, strides, levels = locations()
    pred = keypoints.expand(len(points), -1, -1).clone()
    # 5 pixels off on the top of the head
    pred[:, 12] += torch.tensor([3., 4.])
    targets = assigner.assign(points, strides, levels, pred, gt)
    top_head = math.exp(-25 / (2 * area * (2 * crowdpose_sigmas[12])**2))
    torch.testing.assert_close(
        targets.oks, torch.full((len(points), ), (13 + top_head) / 14))
    assert (targets.init_inds
            >= 0).sum() == 9 and targets.keypoints.shape[1:] == (14, 2)


def test_poses_and_sigmas_of_different_lengths_are_named():
    points, strides, levels = locations()
    gt = instances(person(40, 42, 100, 130))
    with pytest.raises(ValueError, match='17 keypoints, OKS sigmas of 14'):
        SMPRAssigner(metainfo=CROWDPOSE_METAINFO).assign(
            points, strides, levels, torch.zeros(len(points), 17, 2), gt)
    with pytest.raises(FileNotFoundError, match='nowhere.py'):
        SMPRAssigner(metainfo='configs/_base_/datasets/nowhere.py')
