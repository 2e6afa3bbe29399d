# MLPE on COCO test-dev2017 (slides' Table II): the row-f model; test-dev has
# no public keypoints, so the test writes a results json to submit to the COCO
# server instead of computing AP.
_base_ = ['./td-hm_mlpe-resnest101_8xb32-210e_coco-384x288.py']

data_root = 'data/coco/'
test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/image_info_test-dev2017.json',
        bbox_file=data_root + 'person_detection_results/'
        'COCO_test-dev2017_detections_AP_H_609_person.json',
        data_prefix=dict(img='test2017/')))
test_evaluator = dict(
    type='CheckedCocoMetric',
    ann_file=data_root + 'annotations/image_info_test-dev2017.json',
    format_only=True,
    outfile_prefix='work_dirs/mlpe_test-dev/keypoints_test-dev2017')
