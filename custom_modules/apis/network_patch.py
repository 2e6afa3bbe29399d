# Copyright (c) OpenMMLab. All rights reserved.
"""Swap the network of an mmpose pose estimator (backbone, neck,
``head.forward``) for another way of running it, leaving everything else as it
is: data preprocessing, the flip test (the head calls its forward on the
mirrored input too), multi-scale testing, the head's ``predict`` and the
codecs. The onnxruntime backend (:mod:`.onnxruntime_backend`) and the GPU fast
path (:mod:`.fast_network`) are both such a swap.

How: the estimator's ``extract_feat`` returns the preprocessed batch itself (a
:class:`NetworkInput`) and the head's ``forward`` hands it to the replacement,
which returns what the head's own forward would (the same nesting of tensors).
Both are instance attributes, so :func:`unpatch_network` shows the class
methods again; ``head.loss`` raises, as the patched model only predicts.
"""
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

Nested = Union[Tensor, List['Nested'], Tuple['Nested', ...]]
# a replacement network: the preprocessed batch (B, 3, H, W) in, the head's
# forward outputs out
Network = Callable[[Tensor], Nested]

PATCHED_ESTIMATOR = ('extract_feat', 'network_patch')
PATCHED_HEAD = ('forward', 'loss')


class NetworkInput:
    """What the patched ``extract_feat`` hands the head: the preprocessed batch
    ``(B, 3, H, W)``, which the patched ``head.forward`` runs through the
    replacement network.

    Not a feature tuple, so that code that would read features from it fails
    instead of computing on the input.
    """

    __slots__ = ('inputs', )

    def __init__(self, inputs: Tensor) -> None:
        self.inputs = inputs


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (the CPU for a model without
    any)."""
    for tensor in model.parameters():
        return tensor.device
    return torch.device('cpu')


def config_input_hw(model: nn.Module) -> Optional[Tuple[int, int]]:
    """``(H, W)`` of the network input of the model's config
    (``codec.input_size`` is ``(w, h)``), if it has one."""
    try:
        width, height = model.cfg.codec['input_size']
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return int(height), int(width)


def map_tensors(outputs: Nested, fn: Callable[[Tensor], Tensor]) -> Nested:
    """``outputs`` with ``fn`` applied to each tensor, lists and tuples
    kept."""
    if isinstance(outputs, Tensor):
        return fn(outputs)
    return type(outputs)(map_tensors(item, fn) for item in outputs)


def own_network(model: nn.Module) -> Network:
    """The model's own network (its class's ``extract_feat`` and
    ``head.forward``), unaffected by a patch made later."""
    extract_feat = type(model).extract_feat.__get__(model)
    head_forward = type(model.head).forward.__get__(model.head)
    return lambda inputs: head_forward(extract_feat(inputs))


def patch_network(model: nn.Module, network: Network,
                  description: str) -> None:
    """Make ``model`` run ``network`` in place of its backbone, neck and
    ``head.forward``.

    Args:
        model: An mmpose estimator (with ``extract_feat`` and a ``head``);
            patched in place.
        network: The replacement, called with the preprocessed batch.
        description: How the network runs, for messages and
            ``model.network_patch`` (e.g. ``'in onnxruntime from m.onnx'``).
    """
    if (getattr(model, 'head', None) is None
            or not hasattr(model, 'extract_feat')):
        raise TypeError(
            f'{type(model).__name__} is no mmpose pose estimator with a head')
    head_name = type(model.head).__name__

    def forward(feats: NetworkInput) -> Nested:
        if not isinstance(feats, NetworkInput):
            raise TypeError(
                f'{head_name}.forward runs {description}: it takes the '
                'estimator\'s '
                f'extract_feat(inputs), got {type(feats).__name__}')
        return network(feats.inputs)

    def loss(*args, **kwargs):
        raise RuntimeError(
            f'{head_name} runs its network {description}: the model predicts '
            'only; build it again to train')

    # plain functions, no reference to the model: a deep copy of the model
    # stays patched
    model.extract_feat = NetworkInput
    model.network_patch = description
    model.head.forward = forward
    model.head.loss = loss


def unpatch_network(model: nn.Module) -> None:
    """Undo :func:`patch_network` (the class methods show again); nothing if
    not patched."""
    patched: Dict[nn.Module, Tuple[str, ...]] = {model: PATCHED_ESTIMATOR}
    if getattr(model, 'head', None) is not None:
        patched[model.head] = PATCHED_HEAD
    for module, names in patched.items():
        for name in names:
            module.__dict__.pop(name, None)
