# HSR-MSNet's person detector (paper Sec. 3.1): MMDetection 3.x YOLOv3 with a
# DarkNet-53 backbone at 608x608, trained on all 80 COCO classes; the top-down
# tools keep category 0 (person). COCO val2017 box AP 33.7 (all classes,
# MMDetection's model zoo). Weights:
# https://download.openmmlab.com/mmdetection/v2.0/yolo/yolov3_d53_mstrain-608_273e_coco/yolov3_d53_mstrain-608_273e_coco_20210518_115020-a2c3acb8.pth
# The person category, its score threshold and an extra NMS are the tools'
# arguments (--det-cat-id 0, --bbox-thr, --nms-thr); the detector's own
# thresholds are MMDetection's (model.test_cfg: score_thr 0.05, NMS IoU 0.45),
# changeable in a config that inherits this one.
_base_ = ['mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py']
