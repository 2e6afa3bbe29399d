# MLPE, Table I row f: ResNeSt-101 at 384x288, the slides' best setting.
_base_ = ['./td-hm_mlpe-resnest50_8xb32-210e_coco-384x288.py']

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='mmcls://resnest101')))
