# Copyright (c) OpenMMLab. All rights reserved.
"""A backbone's own initialisation before a checkpoint is loaded over it."""
import copy
from contextlib import contextmanager
from typing import Iterator, List, Union

import torch.nn as nn
from mmengine.model import PretrainedInit


@contextmanager
def pretrained_set_aside(module: nn.Module,
                         default: Union[dict, List[dict]]) -> Iterator[list]:
    """Yield the ``Pretrained`` entries of ``module.init_cfg`` (empty if none),
    with ``init_cfg`` set meanwhile to its other entries, or to ``default``
    where there are none; ``init_cfg`` as given afterwards.

    mmengine's ``init_weights`` runs only the load of a ``Pretrained`` entry on
    a module it names: whatever the checkpoint lacks keeps PyTorch's or a
    child's own initialisation. Inside the block, ``init_weights`` initialises
    everything; the caller then loads the yielded entries (``initialize``) over
    it.
    """
    given = module.init_cfg
    cfgs = given or []
    cfgs = [cfgs] if isinstance(cfgs, dict) else list(cfgs)
    pretrained = [
        c for c in cfgs if c.get('type') in ('Pretrained', PretrainedInit)
    ]
    if pretrained:
        module.init_cfg = ([c for c in cfgs if c not in pretrained]
                           or copy.deepcopy(default))
    try:
        yield pretrained
    finally:
        module.init_cfg = given
