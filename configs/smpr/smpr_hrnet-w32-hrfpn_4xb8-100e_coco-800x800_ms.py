# SMPR HRNet-w32 tested as the paper's starred row (Table III, "Ours
# HRNet-w32*": 70.2 AP on COCO test-dev): the authors' multi-scale test
# (`multiscale_val_pipeline`), each image with its mirror; the candidates of
# all ten are merged before the pose NMS. Training is the single-scale
# config's; test a checkpoint of it with this one.
_base_ = ['./smpr_hrnet-w32-hrfpn_4xb8-100e_coco-800x800.py']

model = dict(test_cfg=dict(flip_test=True, multiscale_test=True))
val_dataloader = dict(
    dataset=dict(pipeline={{_base_.multiscale_val_pipeline}}))
test_dataloader = val_dataloader
