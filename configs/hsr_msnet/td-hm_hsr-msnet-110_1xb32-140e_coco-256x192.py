# HSR-MSNet-110 (Table 2). See td-hm_hsr-msnet-59 about its initialisation.
_base_ = ['./td-hm_hsr-msnet-59_1xb32-140e_coco-256x192.py']

model = dict(backbone=dict(depth=110))
