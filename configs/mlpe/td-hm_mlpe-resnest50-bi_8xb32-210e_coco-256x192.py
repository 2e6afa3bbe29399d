# MLPE, Table I row b: feature enhancement, receptive field 3, bilinear
# upsampling in the fine-tuning network and in the neck's level merges
# (projects/mlpe/README.md).
_base_ = ['./td-hm_mlpe-resnest50_8xb32-210e_coco-256x192.py']

model = dict(neck=dict(upsample='bilinear'), head=dict(upsample='bilinear'))
