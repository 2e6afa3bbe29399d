# MLN on COCO test-dev (paper Table 1): results are written for the evaluation
# server.
_base_ = ['./paf_mln-vgg19_1xb28-100e_coco-368x368.py']

test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/image_info_test-dev2017.json',
        data_prefix=dict(img='test2017/')))
test_evaluator = dict(
    ann_file='data/coco/annotations/image_info_test-dev2017.json',
    format_only=True,
    outfile_prefix='work_dirs/mln_test-dev/results')
