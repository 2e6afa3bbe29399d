# HSRNet-59 (HSR-MSNet paper, Table 1 method "g"): SimpleBaseline with the
# DetNet-59-style high spatial resolution backbone (output stride 16) and two
# deconv layers (stride 16 -> 4). The paper's training (Sec. 4): one GPU, batch
# 32, Adam, lr 1e-4, 140 epochs, lr x0.1 at epochs 90 and 120. Tested on COCO
# val2017 with the AP-56.4 person detections, with flip test: the paper does
# not say whether it flips; mmpose's SimpleBaseline config, inherited here,
# does (model.test_cfg.flip_test=True).
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_res50_8xb64-210e_coco-256x192.py', '../_base_/reliability.py'
]

# the project's reliability block (docs/robustness.md)
custom_hooks = _base_.reliability.custom_hooks
default_hooks = dict(
    checkpoint=_base_.reliability.checkpoint,
    visualization=_base_.reliability.visualization)

train_cfg = dict(max_epochs=140, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [
    # mmpose's 500-iteration warm-up, which the paper does not mention: kept
    # from SimpleBaseline's config, as mmpose trains every top-down model
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=140,
        milestones=[90, 120],
        gamma=0.1,
        by_epoch=True),
]
# the paper's total batch: `tools/train.py --auto-scale-lr` on N GPUs of 32
# multiplies the lr by N
auto_scale_lr = dict(base_batch_size=32)

model = dict(
    backbone=dict(
        _delete_=True,
        type='HSRNet',
        depth=59,
        block='bottleneck',
        # DetNet-59 ImageNet weights, as the paper initialises HSRNet-59:
        # download them from github.com/guoruoqian/DetNet_pytorch (no OpenMMLab
        # URL exists) and convert them with
        # tools/model_converters/detnet2hsrnet.py.
        init_cfg=dict(
            type='Pretrained', checkpoint='data/pretrained/detnet59.pth')),
    head=dict(
        in_channels=1024,
        deconv_out_channels=(256, 256),
        deconv_kernel_sizes=(4, 4)))

# mmpose's base config has 2 workers (for 8 GPUs); one GPU at batch 32 needs
# more to keep busy (tools/analysis/benchmark_dataloader.py)
train_dataloader = dict(
    _base_.reliability.dataloader, batch_size=32, num_workers=8)
val_dataloader = test_dataloader = _base_.reliability.dataloader
val_evaluator = test_evaluator = _base_.reliability.evaluator
