# SimpleBaseline ResNet-152, a baseline of Table 1, on the paper's schedule.
_base_ = ['./td-hm_res50_1xb32-140e_coco-256x192.py']

model = dict(
    backbone=dict(
        depth=152,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet152')))
