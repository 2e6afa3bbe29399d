# HSR-MSNet-59 (Table 2): HSRNet-59 with MSNet blocks (Res2Net-style subgroups,
# an extra 3x3 conv, per-subgroup stride-2 convs, SE) in the ResNet stages.
# "HSR-MSNet-59 is derived from [DetNet]" (Sec. 4.2): it starts from the
# DetNet-59 checkpoint of HSRNet-59 (data/pretrained/detnet59.pth, see
# projects/hsr_msnet), of which the stem, the projection shortcuts and the
# dilated stages fit (9.5 M of its 17.4 M parameters); the MSNet blocks, which
# no public checkpoint has, start from ResNet's initialisation
# (HSRNet.init_weights).
_base_ = ['./td-hm_hsrnet-59_1xb32-140e_coco-256x192.py']

model = dict(backbone=dict(block='msnet'))
