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

The output is ``{'state_dict': ...}``, what the backbone's
``init_cfg=dict(type='Pretrained', checkpoint=...)`` in ``configs/mln/`` loads.
"""
import argparse
from collections import OrderedDict
from pathlib import Path
from typing import Dict

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'src', help='torchvision VGG-19 checkpoint (a state dict)')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    args = parser.parse_args()
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    state = checkpoint.get('state_dict', checkpoint)
    try:
        converted = convert(state)
    except KeyError as missing:
        raise SystemExit(
            f'{args.src}: no {missing} tensor, so no torchvision VGG-19 '
            'checkpoint')
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=converted), args.dst)
    print(f'{len(converted)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
