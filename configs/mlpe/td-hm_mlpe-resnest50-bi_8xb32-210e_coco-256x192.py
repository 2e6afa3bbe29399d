# MLPE, Table I row b: feature enhancement, receptive field 3, bilinear
# upsampling.
_base_ = ['./td-hm_mlpe-resnest50_8xb32-210e_coco-256x192.py']

model = dict(neck=dict(upsample='bilinear'))
