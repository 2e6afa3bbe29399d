# HSR-MSNet-59 at 384x288 input (heatmaps 96x72): HSRNet-59 at 384x288 with
# MSNet blocks, as td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py at 256x192
# (its initialisation too).
_base_ = ['./td-hm_hsrnet-59_1xb32-140e_coco-384x288.py']

model = dict(backbone=dict(block='msnet'))
