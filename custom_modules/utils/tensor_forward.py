"""A pose estimator's network as a plain ``Tensor -> tuple of Tensors`` module."""
from typing import List, Tuple, Union

import torch.nn as nn
from torch import Tensor

Nested = Union[Tensor, List['Nested'], Tuple['Nested', ...]]


def flatten_tensors(outputs: Nested) -> List[Tensor]:
    """The tensors of nested lists and tuples, depth first, in order."""
    if isinstance(outputs, Tensor):
        return [outputs]
    return [tensor for item in outputs for tensor in flatten_tensors(item)]


class TensorForward(nn.Module):
    """``inputs (B, 3, H, W)`` -> the network outputs of a pose estimator as a flat tuple of
    tensors: its ``_forward`` (backbone, neck, head; no data preprocessing, no decoding, no flip
    test), the signature that mmengine's complexity counter and ``torch.onnx.export`` trace.

    The order is the head's: a heatmap head gives ``(heatmaps,)``; the PAF heads one joint map
    ``(B, 19, h, w)`` per stage then one limb field ``(B, 38, h, w)`` per stage; SMPRHead per level
    (P3 first) the person logits, then the pose-score logits, the initial and the refined offsets.
    """

    def __init__(self, estimator: nn.Module) -> None:
        super().__init__()
        self.estimator = estimator

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        return tuple(flatten_tensors(self.estimator._forward(inputs)))
