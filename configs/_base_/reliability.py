# The project's reliability block (docs/robustness.md): the dataset checks its
# inputs (CheckedCocoDataset), the evaluator its annotation file before any
# inference (CheckedCocoMetric), a non-finite loss stops training before
# anything of its iteration is saved (FiniteLossHook), checkpoints are written
# whole or not at all (the `atomic_local` backend), and --show/--show-dir draw
# with MultilevelPoseVisualizationHook (mmpose's hook, doing what its options
# say: maps drawn where they are, drawings of validation saved, --interval).
#
# mmengine refuses two `_base_` files that define the same key, and mmpose's
# configs define custom_hooks, default_hooks and the dataloaders, so this file
# keeps its settings under the one key `reliability`; a config inherits it next
# to its mmpose config and takes them by name:
#
#   _base_ = [
#       'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
#       'td-hm_res50_8xb64-210e_coco-256x192.py',
#       '../_base_/reliability.py']
#   custom_hooks = _base_.reliability.custom_hooks
#   default_hooks = dict(checkpoint=_base_.reliability.checkpoint,
#                        visualization=_base_.reliability.visualization)
#   train_dataloader = val_dataloader = test_dataloader = \
#       _base_.reliability.dataloader
#   val_evaluator = test_evaluator = _base_.reliability.evaluator
# importing this project registers the dataset, the hook and the backend
custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)

reliability = dict(
    # mmpose's default custom hooks (SyncBuffersHook) and FiniteLossHook
    custom_hooks=[dict(type='SyncBuffersHook'),
                  dict(type='FiniteLossHook')],
    # the CheckpointHook's file backend
    checkpoint=dict(backend_args=dict(backend='atomic_local')),
    # merged into default_hooks.visualization (mmpose's, switched off until
    # --show / --show-dir)
    visualization=dict(type='MultilevelPoseVisualizationHook'),
    # merged into each of train_dataloader, val_dataloader and test_dataloader
    dataloader=dict(dataset=dict(type='CheckedCocoDataset')),
    # merged into val_evaluator and test_evaluator
    evaluator=dict(type='CheckedCocoMetric'),
)
