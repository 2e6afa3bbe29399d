# HSR-MSNet-161 (Table 2), from torchvision's ImageNet ResNet-152 as
# td-hm_hsr-msnet-110 is from ResNet-101.
_base_ = ['./td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py']

model = dict(
    backbone=dict(
        depth=161,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet152')))
