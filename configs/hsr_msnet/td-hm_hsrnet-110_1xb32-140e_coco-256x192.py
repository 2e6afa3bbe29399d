# HSRNet-110 (Table 1 method "h"): ResNet-101's stages 1-4 + two dilated
# stages. The ResNet stages start from torchvision's ImageNet ResNet-101, as
# the paper does; the dilated stages start from ResNet's initialisation
# (HSRNet.init_weights; their shapes differ from ResNet's conv5_x, whose
# weights are skipped with a warning).
_base_ = ['./td-hm_hsrnet-59_1xb32-140e_coco-256x192.py']

model = dict(
    backbone=dict(
        depth=110,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
