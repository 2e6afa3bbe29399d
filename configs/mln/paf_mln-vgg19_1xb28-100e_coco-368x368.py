# MLN (Huang et al., arXiv:1911.11686): VGG-19 front, joint and limb branches,
# feature transfer and refinement, greedy part-affinity-field grouping.
# Bottom-up, trained with mmpose's BottomupPoseEstimator. What the paper leaves
# open is chosen in projects/mln/README.md.
_base_ = ['mmpose::_base_/default_runtime.py', '../_base_/reliability.py']

# Sec. 3.2: SGD, lr 6e-5, momentum 0.9, weight decay 5e-4, mini-batch 28. The
# schedule is not given; 100 epochs with steps at 70 and 90 are chosen here,
# after mmpose's linear warm-up over 500 iterations (not in the paper).
train_cfg = dict(max_epochs=100, val_interval=10)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=6e-5, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=100,
        milestones=[70, 90],
        gamma=0.1,
        by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=28)

# the project's reliability block (docs/robustness.md), with
# CheckedCocoDataset as dataset_type
custom_hooks = _base_.reliability.custom_hooks
default_hooks = dict(
    checkpoint=dict(
        _base_.reliability.checkpoint, save_best='coco/AP', rule='greater'),
    visualization=_base_.reliability.visualization)

# mmpose's visualizer, whose --draw-heatmap panel also draws the limb fields
visualizer = dict(type='PAFPoseLocalVisualizer')

# OpenPose's COCO convention (18 keypoints with the neck, 19 limbs), stride 8.
# Eq. 1 gives no sigma: 1 heatmap pixel in its exp(-d^2 / sigma^2), a Gaussian
# of standard deviation 0.71 heatmap pixels (5.7 input pixels; OpenPose's is 7
# input pixels).
codec = dict(
    type='PartAffinityField',
    input_size=(368, 368),
    heatmap_size=(46, 46),
    sigma=1.0,
    limb_width=1.0)
heatmap_pixels = codec['heatmap_size'][0] * codec['heatmap_size'][1]

model = dict(
    # mmpose's BottomupPoseEstimator, which also takes the image pyramids of
    # multi-scale tests
    type='PyramidBottomupPoseEstimator',
    # Sec. 3.2: pixel values divided by 256, minus 0.5
    data_preprocessor=dict(
        type='MultiScalePoseDataPreprocessor',
        mean=[128, 128, 128],
        std=[256, 256, 256],
        bgr_to_rgb=True),
    backbone=dict(
        type='VGGFront',
        # ImageNet VGG-19 converted by tools/model_converters/vgg2vggfront.py
        init_cfg=dict(
            type='Pretrained', checkpoint='checkpoints/vgg19_front.pth')),
    head=dict(
        type='MLNHead',
        # eqs. 3-4 sum over pixels and channels; KeypointMSELoss averages, so
        # the weight C*H*W/2 restores Caffe's EuclideanLoss (sum / 2 per
        # image), the scale the paper's lr is for
        loss_heatmap=dict(
            type='KeypointMSELoss', loss_weight=19 * heatmap_pixels / 2),
        loss_paf=dict(
            type='KeypointMSELoss', loss_weight=38 * heatmap_pixels / 2),
        # maps are resized to the input image before grouping, as OpenPose does
        decoder=dict(codec, heatmap_size=codec['input_size'])),
    test_cfg=dict(
        flip_test=False, multiscale_test=False, restore_heatmap_size=True))

dataset_type = _base_.reliability.dataloader.dataset.type
data_mode = 'bottomup'
data_root = 'data/coco/'

# Sec. 3.2 "rotating, scaling and flipping", without numbers. OpenPose's
# (its COCO prototxt) are not these: it crops around one person scaled to 0.6
# of the crop's height, then by 0.5-1.1, rotated by up to 40 degrees
# (uniform). Here the whole image is cut by mmpose's BottomupRandomAffine,
# whose scale_factor is the size of the region cut out: 0.5-1.1 zooms in by
# 0.9-2x, which enlarges COCO's people as OpenPose's person-centred crop
# does; the rotation is mmpose's truncated normal within +-40 degrees. The
# flip follows the affine, where BottomupGetHeatmapMask mirrors the crowd mask
# too. BottomupRandomFlip is mmpose's RandomFlip given the input's (h, w):
# RandomFlip itself reads BottomupRandomAffine's (w, h) input_size as (h, w)
# and mirrors a non-square input (tf-pose's 368x432 config inherits this
# pipeline) about the wrong side (docs/installation.md).
train_pipeline = [
    dict(type='LoadImage'),
    dict(
        type='BottomupRandomAffine',
        input_size=codec['input_size'],
        scale_factor=(0.5, 1.1),
        rotate_factor=40,
        shear_factor=0),
    dict(type='BottomupRandomFlip', direction='horizontal'),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='BottomupGetHeatmapMask'),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    # the shorter side to 368, the longer one padded to a multiple of 8 (a
    # 640x480 image gives 368x496; the paper's 368x432 is the size of its
    # speed figures; OpenPose scales the height to 368, the same for landscape
    # images, where a portrait one is larger here); mmpose's BottomupResize,
    # which also records
    # where each image of a multi-scale test's pyramid sits (the head places
    # their maps by it); a multi-scale test adds `aug_scales` here (and sets
    # model.test_cfg.multiscale_test=True)
    dict(
        type='PyramidBottomupResize',
        input_size=codec['input_size'],
        size_factor=8,
        resize_mode='expand'),
    dict(
        type='PackMultiScalePoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'crowd_index', 'ori_shape',
                   'img_shape', 'input_size', 'input_center', 'input_scale',
                   'flip', 'flip_direction', 'flip_indices', 'raw_ann_info',
                   'skeleton_links', 'aug_scales')),
]

train_dataloader = dict(
    batch_size=28,
    # 28 samples of 15-20 ms each per batch and worker on one core
    # (tools/analysis/benchmark_dataloader.py): 8 workers keep up with a GPU's
    # 200 ms iterations
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CheckedCocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json',
    nms_mode='none',
    score_mode='bbox')
test_evaluator = val_evaluator
