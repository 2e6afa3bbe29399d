# HSRNet-161 (Table 1 method "i"): ResNet-152's stages 1-4 + two dilated
# stages.
_base_ = ['./td-hm_hsrnet-59_1xb32-140e_coco-256x192.py']

model = dict(
    backbone=dict(
        depth=161,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet152')))
