# MLPE, Table I row d: feature enhancement, receptive field 1 (1x1 convs),
# deconv upsampling.
_base_ = ['./td-hm_mlpe-resnest50_8xb32-210e_coco-256x192.py']

model = dict(neck=dict(kernel_size=1), head=dict(kernel_size=1))
