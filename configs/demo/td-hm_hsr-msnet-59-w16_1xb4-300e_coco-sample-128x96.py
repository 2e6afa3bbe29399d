# The `make demo` model: HSR-MSNet-59 at a quarter of its width (16 base
# channels instead of 64, a 256-channel dilated stage, 64-channel deconvs) at
# 128x96 input, trained from scratch (init_cfg=None: no checkpoint and
# PyTorch's default initialisation, not ResNet's Kaiming one) on the
# 4-image COCO sample bundled in tests/data/coco (12 people with keypoints),
# evaluated with CocoMetric on the boxes of the AP-56.4 person detector, as
# COCO val is. It shows the paper's model learning end to end in a few CPU
# minutes; it is no model to use on other images.
_base_ = ['../hsr_msnet/td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py']

data_root = '{{ fileDirname }}/../../tests/data/coco/'
codec = dict(
    type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1)

train_cfg = dict(max_epochs=300, val_interval=100)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=30, start_factor=0.01, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=300,
        milestones=[240],
        gamma=0.1,
        by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(
    logger=dict(interval=30),
    checkpoint=dict(interval=100, max_keep_ckpts=1, save_best=None))

model = dict(
    backbone=dict(
        base_channels=16,
        stem_channels=16,
        dilated_stage_channels=256,
        init_cfg=None),
    head=dict(in_channels=256, deconv_out_channels=(64, 64), decoder=codec))

# Milder augmentation than on COCO: 12 people cannot teach invariance to
# 80-degree rotations.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='RandomBBoxTransform', scale_factor=(0.8, 1.2), rotate_factor=20),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
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
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='test_coco.json',
        bbox_file=data_root + 'test_coco_det_AP_H_56.json',
        data_prefix=dict(img=''),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'test_coco.json')
test_evaluator = val_evaluator
