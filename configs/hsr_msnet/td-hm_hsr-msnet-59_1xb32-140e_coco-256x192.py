# HSR-MSNet-59 (Table 2): HSRNet-59 with MSNet blocks (Res2Net-style subgroups,
# an extra 3x3 conv, per-subgroup stride-2 convs, SE) in the ResNet stages. No
# ImageNet weights of this backbone exist in public; the paper pretrains on
# ImageNet. Set `model.backbone.init_cfg` to your own ImageNet-pretrained
# HSR-MSNet checkpoint; without one the backbone starts from Kaiming init.
_base_ = ['./td-hm_hsrnet-59_1xb32-140e_coco-256x192.py']

model = dict(backbone=dict(block='msnet', init_cfg=None))
