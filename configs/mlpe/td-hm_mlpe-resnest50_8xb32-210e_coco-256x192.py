# MLPE, slides' Table I row c: ResNeSt-50, 256x192, feature enhancement on,
# receptive field 3, deconv upsampling; two-stage head (stage-1 MSE,
# fine-tuning network with OHKM). The slides give no training setting: mmpose's
# COCO top-down schedule (Adam 5e-4, 210 epochs, lr x0.1 at 170 and 200) with 8
# GPUs x 32, as mmpose's ResNeSt-101 384x288 config.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_resnest50_8xb64-210e_coco-256x192.py', '../_base_/reliability.py'
]

# the project's reliability block (docs/robustness.md)
custom_hooks = _base_.reliability.custom_hooks
default_hooks = dict(
    checkpoint=_base_.reliability.checkpoint,
    visualization=_base_.reliability.visualization)

auto_scale_lr = dict(base_batch_size=256)

codec = dict(
    type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

model = dict(
    backbone=dict(out_indices=(0, 1, 2, 3)),
    neck=dict(
        type='MLPENeck',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        feature_enhancement=True,
        kernel_size=3,
        upsample='deconv'),
    head=dict(
        _delete_=True,
        type='MLPEHead',
        in_channels=256,
        out_channels=17,
        num_levels=4,
        refine_channels=128,
        kernel_size=3,
        loss_stage1=dict(type='KeypointMSELoss', use_target_weight=True),
        loss_kpt=dict(
            type='KeypointOHKMMSELoss', use_target_weight=True, topk=8),
        decoder=codec))

train_dataloader = dict(_base_.reliability.dataloader, batch_size=32)
val_dataloader = test_dataloader = _base_.reliability.dataloader
val_evaluator = test_evaluator = _base_.reliability.evaluator
