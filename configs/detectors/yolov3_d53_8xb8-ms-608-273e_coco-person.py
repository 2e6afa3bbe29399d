# HSR-MSNet's person detector (paper Sec. 3.1): MMDetection 3.x YOLOv3 with a DarkNet-53 backbone
# at 608x608, trained on all 80 COCO classes; the top-down tools keep category 0 (person).
# COCO val2017 box AP 33.7 (all classes, MMDetection's model zoo). Weights:
# https://download.openmmlab.com/mmdetection/v2.0/yolo/yolov3_d53_mstrain-608_273e_coco/yolov3_d53_mstrain-608_273e_coco_20210518_115020-a2c3acb8.pth
_base_ = ['mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py']

# Detector-side thresholds; the tools filter persons again with --det-cat-id / --bbox-thr / --nms-thr.
model = dict(
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        conf_thr=0.005,
        nms=dict(type='nms', iou_threshold=0.45),
        max_per_img=100))
