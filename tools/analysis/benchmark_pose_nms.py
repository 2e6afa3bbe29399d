# Copyright (c) OpenMMLab. All rights reserved.
"""Time of SMPR's pose NMS: Soft-NMS as mmcv runs it (every round, on the CPU)
against the project's ``soft_nms_first`` (the kept rounds only, torch ops on
the candidates' device), and mmcv's hard NMS for scale.

    python tools/analysis/benchmark_pose_nms.py
    python tools/analysis/benchmark_pose_nms.py --people 5 20 \\
        --per-person 50 150 --device cuda

Scenes: ``crowded_boxes`` (``custom_modules.testing.synthetic_scenes``),
``--per-person`` candidate boxes jittered around each of ``--people`` person
boxes, distinct scores; every combination of the two lists. (SMPR's test
config keeps up to 1000 candidates per level above score 0.05 before NMS and
20 people after it; the sample model with random weights sends about 3,400.)
The candidates are on ``--device``; the calls are the ways ``pose_nms`` can
suppress them:

- ``mmcv soft_nms``: ``batched_nms(..., dict(type='soft_nms',
  iou_threshold=0.3))``: mmcv copies the boxes to the CPU and runs all rounds
  there (``pose_nms``'s Soft-NMS for up to ``CPU_SOFT_NMS_MAX`` candidates on
  the CPU);
- ``soft_nms_first``: the same Soft-NMS, its first ``--max-per-img`` rounds
  (all of them in a scene of fewer candidates) as torch ops on the device
  (``pose_nms``'s Soft-NMS elsewhere);
- ``mmcv nms``: hard NMS, IoU 0.5 (mmcv's CUDA kernel on a GPU).

Times are medians of ``--repeats`` calls after ``--warmup``, the three calls
taking turns; on a GPU each call ends with ``torch.cuda.synchronize()``.
"same" says whether ``soft_nms_first`` kept the first ``--max-per-img`` poses
mmcv's Soft-NMS kept (all of them if it kept fewer), in its order.

Prints a markdown table; ``--out`` also writes it to a file.
"""
import argparse
from typing import List, Optional

import torch
from mmcv.ops import batched_nms

from custom_modules.post_processing import soft_nms_first
from custom_modules.testing.synthetic_scenes import crowded_boxes
from custom_modules.utils.benchmark_timing import (at_least, emit_report,
                                                   interleaved_medians_ms,
                                                   markdown_table,
                                                   synchronized, torch_device)

SOFT_NMS = dict(type='soft_nms', iou_threshold=0.3)
HARD_NMS = dict(type='nms', iou_threshold=0.5)


def scene_row(num_people: int, per_person: int,
              args: argparse.Namespace) -> list:
    """The table row of one scene (module doc)."""
    boxes, scores = (
        x.to(args.device) for x in crowded_boxes(num_people, per_person))
    labels = torch.zeros(len(scores), dtype=torch.long, device=args.device)

    def mmcv_nms(nms_cfg):
        return batched_nms(
            boxes, scores, labels, dict(nms_cfg), class_agnostic=True)

    calls = [
        lambda: mmcv_nms(SOFT_NMS),
        lambda: soft_nms_first(
            boxes, scores, args.max_per_img, iou_threshold=0.3),
        lambda: mmcv_nms(HARD_NMS),
    ]
    times = interleaved_medians_ms(
        [synchronized(call, args.device) for call in calls], args.warmup,
        args.repeats)
    _, mmcv_keep = calls[0]()
    keep, _ = calls[1]()
    same = torch.equal(keep.cpu(), mmcv_keep[:args.max_per_img].cpu())
    return [
        str(num_people),
        str(len(scores)), f'{times[0]:.2f}', f'{times[1]:.2f}',
        f'{times[0] / times[1]:.1f}x', 'yes' if same else '**no**',
        f'{times[2]:.2f}'
    ]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--people',
        type=at_least(1),
        nargs='+',
        default=[1, 5, 20],
        help='people in the scenes')
    parser.add_argument(
        '--per-person',
        type=at_least(1),
        nargs='+',
        default=[50, 150],
        help='candidate boxes around each person')
    parser.add_argument(
        '--max-per-img',
        type=at_least(1),
        default=20,
        help="poses kept (SMPR's test_cfg.max_per_img)")
    parser.add_argument(
        '--device',
        type=torch_device,
        default='cpu',
        help="where the candidates are: 'cpu' or a CUDA device ('cuda:0')")
    parser.add_argument('--warmup', type=at_least(0), default=3)
    parser.add_argument('--repeats', type=at_least(1), default=30)
    parser.add_argument('--out', help='also write the markdown table here')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    rows = [
        scene_row(people, per_person, args) for people in args.people
        for per_person in args.per_person
    ]
    header = [
        'people', 'candidates', 'mmcv soft_nms, all rounds, CPU (ms)',
        f'soft_nms_first, min({args.max_per_img}, candidates) rounds, '
        f'{args.device} (ms)', 'speed-up', 'same',
        f'mmcv nms, {args.device} (ms)'
    ]
    emit_report(
        f'Pose NMS on {args.device}, torch {torch.__version__}, '
        f'{torch.get_num_threads()} threads, median of {args.repeats} calls '
        f'after {args.warmup}\n\n{markdown_table(header, rows)}', args.out)


if __name__ == '__main__':
    main()
