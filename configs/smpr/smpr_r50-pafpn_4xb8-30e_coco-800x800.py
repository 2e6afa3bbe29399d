# SMPR with PAFPN instead of FPN (Table I, last row: 61.6 AP on COCO minival),
# P3-P7 from C3-C5 with extra convs on the outputs, as the authors' R50 config.
# mmdet 3.x's PAFPN has no activations; the authors' mmdetection 1.x PAFPN has
# a ReLU after every conv (`neck.act_cfg=dict(type='ReLU')`, which the
# `_authors` config sets for their weights).
_base_ = ['./smpr_r50-fpn_4xb8-30e_coco-800x800.py']

model = dict(neck=dict(type='mmdet.PAFPN'))
