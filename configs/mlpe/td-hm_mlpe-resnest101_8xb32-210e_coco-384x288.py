# MLPE, Table I row f: ResNeSt-101 at 384x288, the slides' best setting.
_base_ = ['./td-hm_mlpe-resnest50_8xb32-210e_coco-384x288.py']

# ResNeSt-101's deep stem is 64-64-128 wide (stem_channels=128, as mmpretrain's
# resnest101 that made the checkpoint; the default 64 would leave the stem and
# layer1's first block unloaded, with a warning only).
model = dict(
    backbone=dict(
        depth=101,
        stem_channels=128,
        init_cfg=dict(type='Pretrained', checkpoint='mmcls://resnest101')))
