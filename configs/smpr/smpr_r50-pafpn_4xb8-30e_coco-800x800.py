# SMPR with PAFPN instead of FPN (Table I, last row: 61.6 AP on COCO minival),
# as in the authors' R50 config (P3-P7 from C3-C5, extra convs on the outputs
# with ReLU).
_base_ = ['./smpr_r50-fpn_4xb8-30e_coco-800x800.py']

model = dict(neck=dict(type='mmdet.PAFPN'))
