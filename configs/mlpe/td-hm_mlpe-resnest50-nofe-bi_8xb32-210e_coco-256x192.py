# MLPE, Table I row a: no feature enhancement (GlobalNet pyramid only),
# receptive field 3, bilinear upsampling in the fine-tuning network and in the
# neck's level merges.
_base_ = ['./td-hm_mlpe-resnest50_8xb32-210e_coco-256x192.py']

model = dict(
    neck=dict(feature_enhancement=False, upsample='bilinear'),
    head=dict(upsample='bilinear'))
