# OpenPose's COCO body model with the weights CMU trained (Cao et al., CVPR
# 2017), the MLN paper's baseline [11]: `pose_iter_440000.caffemodel` or its
# PyTorch port `body_pose_model.pth`, converted by
# tools/model_converters/openpose2mmpose.py (projects/mln/README.md, "CMU's
# weights"). For testing and inference:
#   python tools/test.py configs/mln/paf_openpose-vgg19_cmu-coco-368x368.py \
#       checkpoints/openpose_coco_cmu.pth
_base_ = ['./paf_openpose-vgg19_1xb28-100e_coco-368x368.py']

model = dict(
    # CMU's network reads OpenCV's BGR image as it is: pixel / 256 - 0.5
    data_preprocessor=dict(bgr_to_rgb=False),
    # every weight comes from the converted checkpoint
    backbone=dict(init_cfg=None),
    # CMU's Python reference finds the peaks of the resized heatmaps smoothed
    # by a Gaussian of sigma 3 (input pixels)
    head=dict(decoder=dict(peak_sigma=3.0)))
