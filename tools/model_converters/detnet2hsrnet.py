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


def unprefixed(key: str) -> str:
    """``key`` without the ``module.`` of a (Distributed)DataParallel save."""
    return key[len('module.'):] if key.startswith('module.') else key


def convert(detnet_state: Dict[str, torch.Tensor]
            ) -> 'OrderedDict[str, torch.Tensor]':
    """DetNet_pytorch keys -> ``HSRNet`` keys (see the module doc)."""
    converted = OrderedDict()
    for key, value in detnet_state.items():
        key = unprefixed(key)
        if key.startswith('fc.'):
            continue
        converted[EXTRA_CONV.sub(r'\1.downsample.', key)] = value
    return converted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='DetNet_pytorch checkpoint (a state dict)')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    args = parser.parse_args()
    from custom_modules.apis.checkpoint_check import (CheckpointFileError,
                                                      CheckpointMismatchError,
                                                      check_checkpoint_matches,
                                                      load_weights_file)
    from custom_modules.backbones import HSRNet
    try:
        checkpoint = load_weights_file(args.src)
    except CheckpointFileError as error:
        raise SystemExit(str(error))
    state = checkpoint.get('state_dict', checkpoint.get('model', checkpoint))
    if not any(EXTRA_CONV.match(unprefixed(key)) for key in state):
        raise SystemExit(
            f'{args.src}: no "layer4.0.extra_conv" keys, so no DetNet_pytorch '
            'ImageNet checkpoint (a detector\'s has them under RCNN_layer4)')
    converted = convert(state)
    # every tensor of HSRNet-59, in its shape, and nothing else (the backbone's
    # Pretrained init would load a partial file with a warning only)
    try:
        check_checkpoint_matches(
            HSRNet(depth=59), dict(state_dict=converted), name=args.src)
    except CheckpointMismatchError as error:
        raise SystemExit(f'{error} (converted by {Path(__file__).name})')
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=converted), args.dst)
    print(f'{len(converted)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
