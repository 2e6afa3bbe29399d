# SimpleBaseline ResNet-50 at 384x288 input (heatmaps 96x72), the paper's
# higher-resolution baseline (HSR-MSNet paper, Table 1 method "f"; method "a"
# at 256x192): td-hm_res50_1xb32-140e_coco-256x192.py's model on
# td-hm_hsrnet-59_1xb32-140e_coco-384x288.py's data.
_base_ = ['./td-hm_hsrnet-59_1xb32-140e_coco-384x288.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    head=dict(
        in_channels=2048,
        deconv_out_channels=(256, 256, 256),
        deconv_kernel_sizes=(4, 4, 4)))
