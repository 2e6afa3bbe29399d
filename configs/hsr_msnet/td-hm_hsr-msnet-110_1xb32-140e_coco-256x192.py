# HSR-MSNet-110 (Table 2): "the first four stages" initialised "from ResNet
# pretrained models" (Sec. 4.2): torchvision's ImageNet ResNet-101, loaded over
# what fits: the stem and the projection shortcuts of stages 1-3 (0.7 M of its
# 36.7 M parameters); the MSNet blocks and the dilated stages start from
# ResNet's initialisation (HSRNet.init_weights).
_base_ = ['./td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py']

model = dict(
    backbone=dict(
        depth=110,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
