# Copyright (c) OpenMMLab. All rights reserved.
"""Convert DetNet-59 ImageNet weights (github.com/guoruoqian/DetNet_pytorch)
for ``HSRNet``.

    python tools/model_converters/detnet2hsrnet.py detnet59.pth \\
        data/pretrained/detnet59.pth

DetNet_pytorch names its layers as torchvision's ResNet does, which ``HSRNet``
(a subclass of mmpose's ``ResNet``) shares, except for two things:

- the projection shortcut that opens each dilated stage is
  ``layer{4,5}.0.extra_conv.{0,1}`` there and ``layer{4,5}.0.downsample.{0,1}``
  here;
- the ImageNet classifier ``fc.*`` has no counterpart and is dropped.

The output is ``{'state_dict': ...}``, what ``init_cfg=dict(type='Pretrained',
checkpoint=...)`` in
``configs/hsr_msnet/td-hm_hsrnet-59_1xb32-140e_coco-256x192.py`` loads.
"""
import argparse
import re
from collections import OrderedDict
from pathlib import Path
from typing import Dict

import torch

EXTRA_CONV = re.compile(r'^(layer[45]\.0)\.extra_conv\.')


def convert(detnet_state: Dict[str, torch.Tensor]
            ) -> 'OrderedDict[str, torch.Tensor]':
    """DetNet_pytorch keys -> ``HSRNet`` keys (see the module doc)."""
    converted = OrderedDict()
    for key, value in detnet_state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if key.startswith('fc.'):
            continue
        converted[EXTRA_CONV.sub(r'\1.downsample.', key)] = value
    return converted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='DetNet_pytorch checkpoint (a state dict)')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    args = parser.parse_args()
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    state = checkpoint.get('state_dict', checkpoint.get('model', checkpoint))
    if not any(key.endswith('extra_conv.0.weight') for key in state):
        raise KeyError(
            f'{args.src}: no "layer4.0.extra_conv" keys, so no DetNet_pytorch '
            'checkpoint')
    converted = convert(state)
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=converted), args.dst)
    print(f'{len(converted)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
