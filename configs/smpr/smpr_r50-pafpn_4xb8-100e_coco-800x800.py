# SMPR R50-PAFPN with the schedule of the paper's main results (Table III, COCO
# test-dev 64.7 AP, 67.1 with multi-scale test): 100 epochs, lr / 10 at 80 and
# 90.
_base_ = ['./smpr_r50-pafpn_4xb8-30e_coco-800x800.py']

train_cfg = dict(max_epochs=100, val_interval=10)
param_scheduler = [
    dict(type='ConstantLR', factor=1.0 / 3, begin=0, end=500, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=100,
        milestones=[80, 90],
        gamma=0.1,
        by_epoch=True),
]
