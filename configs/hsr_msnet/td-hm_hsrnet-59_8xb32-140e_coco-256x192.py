# HSRNet-59 (HSR-MSNet paper, Table 1 method "g"): SimpleBaseline with the DetNet-59-style high
# spatial resolution backbone (output stride 16) and two deconv layers (stride 16 -> 4).
# Paper schedule: Adam, lr 1e-4, batch 32, 140 epochs, lr x0.1 at epochs 90 and 120; flip test;
# COCO val2017 with the AP-56.4 person detections.
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py']

custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)

# Reliability (README "Robustness"): the dataset checks its inputs, a non-finite loss stops
# training before it is saved, checkpoints are written whole or not at all.
custom_hooks = [dict(type='SyncBuffersHook'), dict(type='FiniteLossHook')]
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))

train_cfg = dict(max_epochs=140, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=140, milestones=[90, 120], gamma=0.1, by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=256)

model = dict(
    backbone=dict(
        _delete_=True,
        type='HSRNet',
        depth=59,
        block='bottleneck',
        # DetNet-59 ImageNet weights, as the paper initialises HSRNet-59: download them from
        # github.com/guoruoqian/DetNet_pytorch (no OpenMMLab URL exists) and convert them with
        # tools/model_converters/detnet2hsrnet.py.
        init_cfg=dict(type='Pretrained', checkpoint='data/pretrained/detnet59.pth')),
    head=dict(
        in_channels=1024,
        deconv_out_channels=(256, 256),
        deconv_kernel_sizes=(4, 4)))

train_dataloader = dict(batch_size=32, dataset=dict(type='CheckedCocoDataset'))
val_dataloader = dict(dataset=dict(type='CheckedCocoDataset'))
test_dataloader = val_dataloader
