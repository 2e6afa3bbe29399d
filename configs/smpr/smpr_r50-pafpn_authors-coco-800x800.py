# SMPR R50-PAFPN with the weights its authors released (github cmdi-dlut/SMPR,
# README, "Pretrained Models"), converted by
# tools/model_converters/smpr2mmpose.py (projects/smpr/README.md, "The authors'
# weights"). For testing and inference:
#   python tools/test.py configs/smpr/smpr_r50-pafpn_authors-coco-800x800.py \
#       checkpoints/smpr_r50_authors.pth
# The network is the R50-PAFPN config's; what the authors' mmdetection 1.x
# modules do differently is set here.
_base_ = ['./smpr_r50-pafpn_4xb8-100e_coco-800x800.py']

model = dict(
    # their input: OpenCV's BGR image minus Caffe's ImageNet means, not divided
    data_preprocessor=dict(
        mean=[102.9801, 115.9465, 122.7717],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    # their caffe-style ResNet: the stride of a stage's first block on its 1x1
    # conv; every weight comes from the converted checkpoint
    backbone=dict(style='caffe', init_cfg=None),
    # their PAFPN: a ReLU after every conv (lateral, output, extra, bottom-up)
    neck=dict(act_cfg=dict(type='ReLU')),
    # their Soft-NMS, mmdetection 1.x's CPU soft_nms, counts both end pixels
    # in widths and heights (+1); mmcv's default is 0
    test_cfg=dict(nms=dict(offset=1)))
