# SMPR on HRNet-w32 (Table III: COCO test-dev 68.2 AP, 70.2 with multi-scale
# test). As in the authors' config: mmdet's HRFPN makes the five levels from
# HRNet's four branches, and the gradient is not clipped.
_base_ = ['./smpr_r50-pafpn_4xb8-100e_coco-800x800.py']

optim_wrapper = dict(clip_grad=None)
hrnet_w32_imagenet = ('https://download.openmmlab.com/mmpose/pretrain_models/'
                      'hrnet_w32-36af842e.pth')

model = dict(
    backbone=dict(
        _delete_=True,
        type='HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(
                num_modules=1,
                num_branches=1,
                block='BOTTLENECK',
                num_blocks=(4, ),
                num_channels=(64, )),
            stage2=dict(
                num_modules=1,
                num_branches=2,
                block='BASIC',
                num_blocks=(4, 4),
                num_channels=(32, 64)),
            stage3=dict(
                num_modules=4,
                num_branches=3,
                block='BASIC',
                num_blocks=(4, 4, 4),
                num_channels=(32, 64, 128)),
            stage4=dict(
                num_modules=3,
                num_branches=4,
                block='BASIC',
                num_blocks=(4, 4, 4, 4),
                num_channels=(32, 64, 128, 256),
                multiscale_output=True)),
        # the authors' HRNet (mmdet 1.x) keeps its ImageNet batch-norm
        # statistics frozen, as the R50 configs do (mmpose's trains them)
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=hrnet_w32_imagenet)),
    # HRNet's branches are at strides 4-32: HRFPN pools its fused map down to
    # strides 8-128
    neck=dict(
        _delete_=True,
        type='mmdet.HRFPN',
        in_channels=[32, 64, 128, 256],
        out_channels=256,
        num_outs=5,
        stride=2))
