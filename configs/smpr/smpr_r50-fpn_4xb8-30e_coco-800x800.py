# SMPR (Lin et al., 2020): single-stage multi-person pose regression on a
# ResNet-50 FPN, the setting of the paper's ablations (Table I: COCO minival,
# 30 epochs, lr / 10 at 25 and 28, mini-batch 32 on 4 GPUs). Trained and tested
# with mmpose's BottomupPoseEstimator.
_base_ = ['mmpose::_base_/default_runtime.py', '../_base_/reliability.py']

# Sec. IV-A: SGD, lr 0.02, momentum 0.9, weight decay 1e-4; the authors' code
# adds a constant warm-up of 500 iterations at lr / 3, double lr and no decay
# on biases, gradient clipping at 35.
train_cfg = dict(max_epochs=30, val_interval=5)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='ConstantLR', factor=1.0 / 3, begin=0, end=500, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=30,
        milestones=[25, 28],
        gamma=0.1,
        by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=32)

# the project's reliability block (docs/robustness.md), with
# CheckedCocoDataset as dataset_type
custom_hooks = _base_.reliability.custom_hooks
default_hooks = dict(
    checkpoint=dict(
        _base_.reliability.checkpoint, save_best='coco/AP', rule='greater'),
    visualization=_base_.reliability.visualization)

# the annotations' people, boxes and areas, packed for the head (pseudo boxes
# are made there)
codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=(800, 800))

model = dict(
    # mmpose's BottomupPoseEstimator, which also takes the image pyramids of
    # multi-scale tests
    type='PyramidBottomupPoseEstimator',
    data_preprocessor=dict(
        type='MultiScalePoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    # the authors' R50: frozen stem and first stage, frozen batch norm
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    # P3-P7 (strides 8-128); P6 and P7 from P5's output with ReLU in between
    neck=dict(
        type='mmdet.FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_output',
        relu_before_extra_convs=True,
        num_outs=5),
    head=dict(
        type='SMPRHead',
        num_keypoints=17,
        in_channels=256,
        feat_channels=256,
        stacked_convs=4,
        strides=(8, 16, 32, 64, 128),
        # the OKS sigmas are the dataset's (a dataset config; mmpose looks a
        # path that is no file up in its own configs/_base_/datasets); flip
        # test reads the samples' flip_indices
        assigner=dict(
            type='SMPRAssigner',
            regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 512),
                            (512, 1e8)),
            center_sample_radius=1.5,
            pos_oks_thr=0.5,
            metainfo='configs/_base_/datasets/coco.py')),
    # Sec. IV-A: Soft-NMS [1] at IoU 0.3; the authors keep 1000 per level, 20
    # per image, and move keypoints outside the image onto its border first
    test_cfg=dict(
        score_thr=0.05,
        nms_pre=1000,
        nms=dict(type='soft_nms', iou_threshold=0.3),
        max_per_img=20,
        clamp_to_image=True,
        flip_test=False,
        multiscale_test=False))

dataset_type = _base_.reliability.dataloader.dataset.type
data_mode = 'bottomup'
data_root = 'data/coco/'

# Sec. IV-A: the shorter side to 800, random horizontal flip, a random 800x800
# crop inside the image (the authors' Resize and RandomCrop as one warp)
train_pipeline = [
    dict(type='LoadImage'),
    # before the affine: mmpose 1.3.2's RandomFlip mirrors keypoints about the
    # input's height once an affine has set a (w, h) `input_size` (README,
    # stack breakages)
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='BottomupShortSideCrop', input_size=codec['input_size']),
    dict(
        type='FilterAnnotations', by_kpt=True, by_box=False, keep_empty=False),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
# the shorter side to 800, the longer one as the aspect ratio makes it (the
# paper caps it at 1333)
val_pipeline = [
    dict(type='LoadImage'),
    # mmpose's BottomupResize, which also records where each image of a
    # multi-scale test's pyramid sits (the head maps their poses back by it)
    dict(
        type='PyramidBottomupResize',
        input_size=codec['input_size'],
        size_factor=32,
        resize_mode='expand'),
    # a multi-scale test adds `aug_scales` to the PyramidBottomupResize (the
    # `_ms` configs)
    dict(
        type='PackMultiScalePoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'crowd_index', 'ori_shape',
                   'img_shape', 'input_size', 'input_center', 'input_scale',
                   'flip', 'flip_direction', 'flip_indices', 'raw_ann_info',
                   'aug_scales')),
]

# the authors' multi-scale test (the `_ms` configs; their
# ResNet_50_multi_testing.py): shorter sides 800, 1000, 1200, 400 and 600, as
# scales of the input, the first one (1.0) implied
multiscale_val_pipeline = [
    val_pipeline[0],
    dict(val_pipeline[1], aug_scales=[1.25, 1.5, 0.5, 0.75]),
    val_pipeline[2],
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
# the pose's score ranks it; no rescoring by keypoint confidences, no further
# NMS
val_evaluator = dict(
    type='CheckedCocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json',
    nms_mode='none',
    score_mode='bbox')
test_evaluator = val_evaluator
