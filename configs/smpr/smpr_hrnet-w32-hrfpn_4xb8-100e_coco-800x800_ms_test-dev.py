# SMPR HRNet-w32 with the multi-scale test on COCO test-dev2017, the protocol
# of the paper's Table III (70.2 AP for "Ours HRNet-w32*"): test-dev has no
# public keypoints, so the test writes a results json to submit to the COCO
# evaluation server instead of computing AP. The other SMPR configs test on
# val2017; the same lines below turn any of them to test-dev.
_base_ = ['./smpr_hrnet-w32-hrfpn_4xb8-100e_coco-800x800_ms.py']

data_root = 'data/coco/'
test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/image_info_test-dev2017.json',
        data_prefix=dict(img='test2017/')))
test_evaluator = dict(
    ann_file=data_root + 'annotations/image_info_test-dev2017.json',
    format_only=True,
    outfile_prefix='work_dirs/smpr_test-dev/keypoints_test-dev2017')
