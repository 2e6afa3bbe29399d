# SMPR HRNet-w32-HRFPN with the weights its authors released (github
# cmdi-dlut/SMPR, README, "Pretrained Models"), converted by
# tools/model_converters/smpr2mmpose.py (projects/smpr/README.md, "The authors'
# weights"). For testing and inference:
#   python tools/test.py \
#       configs/smpr/smpr_hrnet-w32-hrfpn_authors-coco-800x800.py \
#       checkpoints/smpr_hrnet_authors.pth
# HRNet and HRFPN are the authors' modules as they are; their input is set
# here.
_base_ = ['./smpr_hrnet-w32-hrfpn_4xb8-100e_coco-800x800.py']

model = dict(
    # their input: OpenCV's BGR image minus Caffe's ImageNet means, not divided
    data_preprocessor=dict(
        mean=[102.9801, 115.9465, 122.7717],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    # their HRNet keeps its batch-norm statistics frozen (norm_eval), which
    # matters only for fine-tuning; every weight comes from the converted
    # checkpoint
    backbone=dict(norm_eval=True, init_cfg=None),
    # their Soft-NMS, mmdetection 1.x's CPU soft_nms, counts both end pixels
    # in widths and heights (+1); mmcv's default is 0
    test_cfg=dict(nms=dict(offset=1)))
