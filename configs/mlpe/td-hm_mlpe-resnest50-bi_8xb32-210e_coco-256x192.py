# MLPE, Table I row b: feature enhancement, receptive field 3, bilinear
# upsampling in the neck's level merges (the fine-tuning network keeps its
# transposed convolutions; projects/mlpe/README.md).
_base_ = ['./td-hm_mlpe-resnest50_8xb32-210e_coco-256x192.py']

model = dict(neck=dict(upsample='bilinear'))
