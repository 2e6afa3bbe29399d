# Copyright (c) OpenMMLab. All rights reserved.
"""Convert torchvision's ImageNet VGG-19 weights for ``VGGFront`` (the trunk of
MLN and OpenPose).

    python tools/model_converters/vgg2vggfront.py vgg19-dcbb9e9d.pth \\
        checkpoints/vgg19_front.pth

torchvision's ``vgg19.features`` interleaves convs, ReLUs and pools
(``features.{0,2,5,...}``); ``VGGFront.features`` holds ``ConvModule``s and
pools (``features.{0,1,3,...}.conv``). The first ten convs (conv1_1 ...
conv4_2) are renumbered; the rest of VGG-19 and its classifier are dropped;
``cpm.*`` (conv4_3_CPM, conv4_4_CPM) are not in the file: loaded by the
backbone's ``init_cfg=Pretrained``, they start from N(0, 0.01) as in OpenPose
(``VGGFront.init_weights``).

The converted tensors are checked against ``VGGFront()``'s before anything is
written, each in the shape of the backbone's tensor it becomes (only those: the
file is partial by design, ``cpm.*`` are not in it).

The output is ``{'state_dict': ...}``, what the backbone's
``init_cfg=dict(type='Pretrained', checkpoint=...)`` in ``configs/mln/`` loads.
"""
import argparse
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List

import torch

# positions of conv1_1 ... conv4_2 in torchvision's vgg19.features and in
# VGGFront.features
TORCHVISION_CONVS = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21)
VGGFRONT_CONVS = (0, 1, 3, 4, 6, 7, 8, 9, 11, 12)


def convert(vgg_state: Dict[str, torch.Tensor],
            ) -> 'OrderedDict[str, torch.Tensor]':
    """torchvision ``vgg19`` keys -> ``VGGFront`` keys (see the module doc)."""
    converted = OrderedDict()
    for src, dst in zip(TORCHVISION_CONVS, VGGFRONT_CONVS):
        for kind in ('weight', 'bias'):
            key = f'features.{src}.{kind}'
            if key not in vgg_state:
                raise KeyError(key)
            converted[f'features.{dst}.conv.{kind}'] = vgg_state[key]
    return converted


def shape_differences(vgg_state: Dict[str, torch.Tensor],
                      front_state: Dict[str, torch.Tensor]) -> List[str]:
    """``'features.<i>.<kind> [shape] in the checkpoint, [shape] in VGGFront's
    features.<j>.conv.<kind>'`` for each tensor :func:`convert` takes whose
    shape is not that of its counterpart in ``front_state``
    (``VGGFront().state_dict()``)."""
    differences = []
    for src, dst in zip(TORCHVISION_CONVS, VGGFRONT_CONVS):
        for kind in ('weight', 'bias'):
            theirs = f'features.{src}.{kind}'
            ours = f'features.{dst}.conv.{kind}'
            # () for a non-tensor
            found = list(getattr(vgg_state[theirs], 'shape', ()))
            expected = list(front_state[ours].shape)
            if found != expected:
                differences.append(f'{theirs} {found} in the checkpoint, '
                                   f'{expected} in VGGFront\'s {ours}')
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'src', help='torchvision VGG-19 checkpoint (a state dict)')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    args = parser.parse_args()
    from custom_modules.apis.checkpoint_check import (CheckpointFileError,
                                                      load_weights_file)
    from custom_modules.backbones import VGGFront
    try:
        checkpoint = load_weights_file(args.src)
    except CheckpointFileError as error:
        raise SystemExit(str(error))
    state = checkpoint.get('state_dict', checkpoint)
    try:
        converted = convert(state)
    except KeyError as missing:
        raise SystemExit(
            f'{args.src}: no {missing} tensor, so no torchvision VGG-19 '
            'checkpoint')
    differences = shape_differences(state, VGGFront().state_dict())
    if differences:
        raise SystemExit(
            f'{args.src}: not torchvision\'s VGG-19: {len(differences)} of '
            f'the {2 * len(TORCHVISION_CONVS)} tensors of conv1_1 ... conv4_2 '
            f'with another shape (e.g. {"; ".join(differences[:3])})')
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=converted), args.dst)
    print(f'{len(converted)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
