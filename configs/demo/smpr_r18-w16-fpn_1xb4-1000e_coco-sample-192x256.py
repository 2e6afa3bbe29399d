# SMPR at a quarter of its width (ResNet-18 from 16 channels, a 32-channel FPN
# and head with two convs per tower) at 192x256 (256 wide), trained from
# scratch on the 4-image COCO sample bundled in tests/data/coco (12 people
# with keypoints) and evaluated on the same images: it shows the whole
# single-stage path
# (assignment, the five losses, deformable aggregation, pose NMS, CocoMetric)
# learning in a few CPU minutes; it is no model to use on other images.
_base_ = ['../smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py']

data_root = '{{ fileDirname }}/../../tests/data/coco/'
codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=(256, 192))

train_cfg = dict(max_epochs=1000, val_interval=250)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='Adam', lr=2e-3),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=30, start_factor=0.01, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=1000,
        milestones=[850],
        gamma=0.1,
        by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(
    logger=dict(interval=30),
    checkpoint=dict(interval=250, max_keep_ckpts=1, save_best=None))

model = dict(
    backbone=dict(
        depth=18,
        base_channels=16,
        stem_channels=16,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    head=dict(
        in_channels=32,
        feat_channels=32,
        stacked_convs=2,
        heatmap_channels=32,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)))

# The whole image in the input (its longer side to 256) at train and test time:
# with the paper's shorter side to the input and a random crop, the people at
# the sides of these 3:2 images were rarely seen in training (measured: AP
# 0.017 after 300 epochs at 320x320).
train_pipeline = [
    dict(type='LoadImage'),
    # before the affine: mmpose 1.3.2's RandomFlip mirrors keypoints about the
    # input's height once an affine has set a (w, h) `input_size` (README,
    # stack breakages)
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='BottomupRandomAffine',
        input_size=codec['input_size'],
        scale_type='long',
        shift_factor=0.05,
        scale_factor=(0.85, 1.15),
        rotate_factor=5,
        shear_prob=0,
        distribution='uniform'),
    dict(
        type='FilterAnnotations', by_kpt=True, by_box=False, keep_empty=False),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    # mmpose's BottomupResize, which also records where each image of a
    # multi-scale test's pyramid sits (the head maps their poses back by it)
    dict(
        type='PyramidBottomupResize',
        input_size=codec['input_size'],
        size_factor=32,
        resize_mode='fit'),
    # a multi-scale test adds `aug_scales` to the PyramidBottomupResize (the
    # `_ms` configs)
    dict(
        type='PackMultiScalePoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'crowd_index', 'ori_shape',
                   'img_shape', 'input_size', 'input_center', 'input_scale',
                   'flip', 'flip_direction', 'flip_indices', 'raw_ann_info',
                   'aug_scales')),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='test_coco.json',
        data_prefix=dict(img=''),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='test_coco.json',
        data_prefix=dict(img=''),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'test_coco.json')
test_evaluator = val_evaluator
