# Copyright (c) OpenMMLab. All rights reserved.
"""What a perfect network would output for a scene's people, for timing a
model's decoding as a trained model's maps would cost (random weights give maps
with nobody in them) and for checking decoding paths against each other: the
benchmarks of ``tools/analysis/`` and the tests."""
from typing import List, Tuple

import numpy as np
import torch
import torch.nn as nn

from ..apis.network_patch import map_tensors
from ..apis.onnxruntime_backend import flatten_tensors
from ..structures import image_to_input


def to_input_pixels(people, metainfo: dict):
    """``people`` (image pixels) in the network input's pixels of a bottom-up
    sample, inverting the mapping of mmpose's
    ``BottomupPoseEstimator.add_pred_to_datasample``."""
    mapping = [
        metainfo[key] for key in ('input_center', 'input_scale', 'input_size')
    ]
    moved = people.clone()
    moved.keypoints = image_to_input(people.keypoints, *mapping)
    moved.bboxes = image_to_input(people.bboxes.view(-1, 2, 2),
                                  *mapping).view(-1, 4)
    size, scale = (
        torch.as_tensor(metainfo[key], dtype=torch.float32)
        for key in ('input_size', 'input_scale'))
    moved.areas = people.areas * (size / scale).prod()
    return moved


def perfect_outputs(head: nn.Module, people, sizes: List[Tuple[int, int]],
                    input_shape: Tuple[int, int]) -> tuple:
    """What a perfect network would output for ``people`` (input pixels), as
    the head's ``forward`` gives it.

    The head's ``perfect_outputs`` (the codec's encoding for the PAF heads, the
    assigner's targets for SMPR) at its output sizes ``sizes`` (``(H, W)`` of
    each tensor of its first output list, per stage for PAF heads, per level
    for SMPR) and the network input's ``input_shape`` ``(H, W)``.
    """
    if not hasattr(head, 'perfect_outputs'):
        raise TypeError(
            f'{type(head).__name__} has no perfect_outputs(gt_instances, '
            'featmap_sizes, input_shape) method: the benchmark cannot give '
            "its decoding a perfect model's outputs")
    return head.perfect_outputs(people, sizes, input_shape)


def perfect_bottomup_outputs(model: nn.Module, image: np.ndarray,
                             people_list: list) -> list:
    """The outputs a perfect network would give ``model.head`` on ``image`` for
    each of ``people_list`` (``InstanceData`` in image pixels), on the model's
    device: the sizes of the head's outputs and the preprocessing's metainfo
    are those of one ``inference_bottomup`` of ``image`` (the head's forward
    restored afterwards). Turns the flip test off (the project's MLN and SMPR
    configs have it off): the perfect maps are those of the image as it is."""
    from mmpose.apis import inference_bottomup

    model.test_cfg = dict(model.test_cfg, flip_test=False)
    head = model.head
    forward = head.forward
    shapes = {}

    def probe(feats):
        outputs = forward(feats)
        shapes['sizes'] = [
            tuple(t.shape[-2:]) for t in flatten_tensors(outputs[0])
        ]
        return outputs

    head.forward = probe
    try:
        metainfo = inference_bottomup(model, image)[0].metainfo
    finally:
        head.forward = forward
    device = next(model.parameters()).device
    return [
        map_tensors(
            perfect_outputs(head, to_input_pixels(people, metainfo),
                            shapes['sizes'], metainfo['batch_input_shape']),
            lambda t: t.to(device)) for people in people_list
    ]
