# SMPR HRNet-w32, tested as the paper's starred rows (Table III, "Ours HRNet-w32*": 70.2 AP on COCO
# test-dev): the authors' multi-scale test, shorter sides 800, 1000, 1200, 400 and 600 (their
# ResNet_50_multi_testing.py), each image with its mirror; the candidates of all ten are merged
# before the pose NMS. Training is the single-scale config's; test a checkpoint of it with this one.
_base_ = ['./smpr_hrnet-w32-hrfpn_4xb8-100e_coco-800x800.py']

model = dict(test_cfg=dict(flip_test=True, multiscale_test=True))
# the image pyramid: scales of the 800 input, the first one (1.0) implied
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupResize', input_size=(800, 800), size_factor=32, resize_mode='expand',
         aug_scales=[1.25, 1.5, 0.5, 0.75]),
    dict(type='PackMultiScalePoseInputs',
         meta_keys=('id', 'img_id', 'img_path', 'crowd_index', 'ori_shape', 'img_shape',
                    'input_size', 'input_center', 'input_scale', 'flip', 'flip_direction',
                    'flip_indices', 'raw_ann_info', 'aug_scales')),
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
