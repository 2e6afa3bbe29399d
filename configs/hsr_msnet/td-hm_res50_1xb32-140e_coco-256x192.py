# SimpleBaseline ResNet-50 (Table 1 method "a"), the paper's baseline: mmpose's
# recipe (three deconv layers, stride 32 -> 4) on the paper's schedule (Adam
# 1e-4, batch 32, 140 epochs).
_base_ = ['./td-hm_hsrnet-59_1xb32-140e_coco-256x192.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    head=dict(
        in_channels=2048,
        deconv_out_channels=(256, 256, 256),
        deconv_kernel_sizes=(4, 4, 4)))
