"""CPU time per image of single-stage SMPR and of the top-down pipeline as people are added.

    python tools/analysis/benchmark_single_stage.py                   # 1, 5, 20 people, 800x800
    python tools/analysis/benchmark_single_stage.py --people 1 2 5 10 20 --repeats 3 --out b.md

Scenes: ``--people`` people from the annotated poses of ``tests/data/coco/test_coco.json``, placed
on a grid over a ``--image-size`` canvas of random pixels (the people's keypoints and boxes are
known; the pixels only feed the networks). Every model has random weights (``init_model`` with no
checkpoint), which does not change its cost; all run in this one process, batch 1, and take turns
(SMPR, detector, pose model, SMPR, ...), each time the median of ``--repeats`` runs after
``--warmup`` runs.

- SMPR (``--smpr-config``, R50-FPN by default): ``inference_bottomup`` end to end (resize to the
  config's 800 shorter side, network, decoding, Soft-NMS) on the scene. With random weights no
  location passes the score threshold, so the post-processing of a trained model is timed apart:
  ``SMPRHead.predict`` on the maps a perfect model would give for the scene (every positive of the
  assigner scoring 1, its pose exact), the candidates and Soft-NMS of ``N`` people.
- Top-down: the person detector (``--detector-config``, YOLOv3 at 608) end to end
  (``detect_persons``), then the pose model (``--pose-config``, HSR-MSNet-59 at 256x192) on the
  scene's ``N`` person boxes (``estimate_poses``: crops, one batch, heatmap decoding).

Prints a markdown table; ``--out`` also writes it to a file.
"""
import argparse
import math
from pathlib import Path
from typing import Callable, Tuple

import numpy as np
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmpose.apis import inference_bottomup, init_model
from mmpose.structures import PoseDataSample

from custom_modules.apis.topdown_pipeline import (build_person_detector, detect_persons,
                                                  estimate_poses)
from custom_modules.task_modules import perfect_smpr_outputs, pseudo_boxes
from custom_modules.utils import (emit_report, interleaved_medians_ms, load_templates, make_scene,
                                  markdown_table)

REPO_ROOT = Path(__file__).resolve().parents[2]
SMPR_CONFIG = REPO_ROOT / 'configs/smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py'
DETECTOR_CONFIG = REPO_ROOT / 'configs/detectors/yolov3_d53_8xb8-ms-608-273e_coco-person.py'
POSE_CONFIG = REPO_ROOT / 'configs/hsr_msnet/td-hm_hsr-msnet-59_8xb32-140e_coco-256x192.py'
TEMPLATE_FILE = REPO_ROOT / 'tests/data/coco/test_coco.json'
NOTE = ('Paper (Lin et al., SMPR, Sec. IV-C1): "the inference time of SMPR is independent of the '
        'number of person in the input image"; no timings are given.')


def scene(num_people: int, size: int,
          rng: np.random.Generator) -> Tuple[np.ndarray, InstanceData]:
    """A ``size`` x ``size`` BGR image of random pixels and ``num_people`` people on it as
    ``InstanceData``: ``keypoints`` ``(N, 17, 2)``, ``keypoints_visible`` ``(N, 17)``, ``bboxes``
    ``(N, 4)`` (the visible keypoints' box) and ``areas`` ``(N,)`` (half the box, as mmpose
    estimates a person's area from a box)."""
    keypoints, visible = map(torch.from_numpy,
                             make_scene(load_templates(TEMPLATE_FILE), num_people, size, size))
    boxes, _ = pseudo_boxes(keypoints, visible)
    areas = 0.5 * (boxes[:, 2:] - boxes[:, :2]).prod(1)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return image, InstanceData(keypoints=keypoints, keypoints_visible=visible, bboxes=boxes,
                               areas=areas)


def smpr_post_processing(model: torch.nn.Module, gt: InstanceData,
                         size: int) -> Callable[[], list]:
    """``SMPRHead.predict`` on a perfect model's maps for the scene ``gt``, input ``size`` x
    ``size``."""
    head = model.head
    featmap_sizes = [(math.ceil(size / s), math.ceil(size / s)) for s in head.strides]
    outputs, _ = perfect_smpr_outputs(head, gt, featmap_sizes)
    data = PoseDataSample(metainfo=dict(input_size=(size, size), batch_input_shape=(size, size)))
    test_cfg = dict(model.test_cfg, flip_test=False)

    def run() -> list:
        forward = head.forward
        head.forward = lambda feats: outputs
        try:
            return head.predict(None, [data], test_cfg)
        finally:
            head.forward = forward
    return run


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--smpr-config', default=str(SMPR_CONFIG))
    parser.add_argument('--detector-config', default=str(DETECTOR_CONFIG))
    parser.add_argument('--pose-config', default=str(POSE_CONFIG))
    parser.add_argument('--people', type=int, nargs='+', default=[1, 5, 20])
    parser.add_argument('--image-size', type=int, default=800, help='square canvas side, pixels')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads(),
                        help='torch CPU threads (default: torch\'s default for this machine)')
    parser.add_argument('--out', help='also write the markdown table here')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    smpr = init_model(args.smpr_config, None, device='cpu')
    pose_model = init_model(args.pose_config, None, device='cpu')
    detector = build_person_detector(args.detector_config, None, device='cpu')
    # building the detector made mmdet the default scope; every step below runs in mmpose's
    init_default_scope('mmpose')
    rows = []
    for num_people in args.people:
        image, people = scene(num_people, args.image_size, rng)
        post = smpr_post_processing(smpr, people, args.image_size)
        # the detector's boxes are looser than the keypoints' box: 10% on each side
        margin = 0.1 * (people.bboxes[:, 2:] - people.bboxes[:, :2]).repeat(1, 2)
        boxes = (people.bboxes + margin * torch.tensor([-1, -1, 1, 1])).numpy()
        found = len(post()[0].keypoints)
        with torch.no_grad():
            smpr_ms, post_ms, detector_ms, pose_ms = interleaved_medians_ms(
                [lambda: inference_bottomup(smpr, image), post,
                 lambda: detect_persons(detector, image),
                 lambda: estimate_poses(pose_model, image, boxes)], args.warmup, args.repeats)
        smpr_total, topdown_total = smpr_ms + post_ms, detector_ms + pose_ms
        rows.append([str(num_people), f'{smpr_ms:.0f}', f'{post_ms:.1f} ({found} found)',
                     f'{smpr_total:.0f}', f'{detector_ms:.0f}', f'{pose_ms:.0f}',
                     f'{topdown_total:.0f}', f'{topdown_total / smpr_total:.2f}'])
    header = ['people', 'SMPR end to end (ms)', 'SMPR post-processing, trained (ms)',
              'SMPR total (ms)', 'detector (ms)', 'pose model on the boxes (ms)',
              'top-down total (ms)', 'top-down / SMPR']
    text = (f'CPU: {args.threads} threads, torch {torch.__version__}, {args.image_size}x'
            f'{args.image_size} images, median of {args.repeats} runs after {args.warmup} '
            f'warm-up runs\nSMPR: {Path(args.smpr_config).name}; top-down: '
            f'{Path(args.detector_config).name} + {Path(args.pose_config).name}\n\n'
            f'{markdown_table(header, rows)}\n\n{NOTE}')
    emit_report(text, args.out)


if __name__ == '__main__':
    main()
