# Copyright (c) OpenMMLab. All rights reserved.
"""The inference fast path: the network in reduced precision (fp16 or bf16
weights and inputs), in channels-last memory, and on a GPU captured once per
input shape in a CUDA graph, so that a frame costs one graph launch instead of
hundreds of kernel launches.

Only the network changes (:func:`~.network_patch.patch_network`): the data
preprocessing, the flip and multi-scale tests, the head's ``predict`` and the
codecs run as before, on the network's outputs turned back into float32. Eager
execution on a GPU is bound by kernel launches for these networks at batch 1
(MLN: about 250 small convs), which a CUDA graph removes.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .network_patch import (Nested, Network, config_input_hw, map_tensors,
                            model_device, own_network, patch_network,
                            unpatch_network)
from .recently_used import RecentlyUsed

DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}
# input shapes a model keeps a CUDA graph for (top-down: one per batch bucket
# of person boxes, see captured_batch; bottom-up: one per image size); the
# least recently used beyond these is released
MAX_GRAPHS = 8
# eager runs on a side stream before a capture (cuDNN picks its algorithms)
WARMUP_RUNS = 3


class FastPathError(ValueError):
    """The fast path asked for cannot run here (the device, or the network in
    that precision); the message says what and what to use instead."""


@dataclass(frozen=True)
class FastPath:
    """How the network runs: ``precision`` 'fp32', 'fp16' or 'bf16';
    ``channels_last`` memory; ``cuda_graph``: captured once per input shape
    (CUDA only)."""
    precision: str = 'fp32'
    channels_last: bool = False
    cuda_graph: bool = False

    @property
    def enabled(self) -> bool:
        return self != FastPath()

    def describe(self) -> str:
        parts = [self.precision] + ['channels_last'] * self.channels_last
        return ' + '.join(parts + ['CUDA graph'] * self.cuda_graph)


def check_fast_path(fast_path: FastPath, device: torch.device) -> None:
    """Raise :class:`FastPathError` where ``fast_path`` cannot work on
    ``device``."""
    device = torch.device(device)
    if fast_path.precision not in DTYPES:
        raise FastPathError(
            f'unknown precision {fast_path.precision!r}: one of {list(DTYPES)}'
        )
    if fast_path.cuda_graph and device.type != 'cuda':
        raise FastPathError(
            f'a CUDA graph needs a CUDA device, not {device}: leave out '
            '--cuda-graph (or run with --device cuda:0)')
    if fast_path.precision == 'fp16' and device.type != 'cuda':
        raise FastPathError(
            f'fp16 inference needs a CUDA device, not {device} (a CPU has no '
            'fast half-precision convolutions): use --bf16 on a CPU')
    if fast_path.precision == 'bf16' and device.type == 'cuda' and \
            not torch.cuda.is_bf16_supported():
        raise FastPathError(
            f'{torch.cuda.get_device_name(device)} has no bf16: use --fp16')


def network_modules(model: nn.Module) -> Tuple[nn.Module, ...]:
    """The modules of the network: backbone, neck (if any) and head."""
    return tuple(
        module for module in (model.backbone, getattr(model, 'neck', None),
                              model.head) if module is not None)


def _convert(model: nn.Module, dtype: torch.dtype,
             channels_last: bool) -> None:
    """The network's parameters and buffers to ``dtype``; the weights of
    torch's convolutions to channels-last memory or back (other layers keep
    theirs: mmcv's deformable convolutions take contiguous weights only)."""
    memory_format = (
        torch.channels_last if channels_last else torch.contiguous_format)
    for module in network_modules(model):
        module.to(dtype=dtype)
        for layer in module.modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                layer.to(memory_format=memory_format)


def _network_state(model: nn.Module) -> List[Dict[str, Tensor]]:
    """Copies of the network modules' parameters and buffers (to undo a lossy
    conversion)."""
    return [{
        name: tensor.detach().clone()
        for name, tensor in module.state_dict().items()
    } for module in network_modules(model)]


def _restore(model: nn.Module, state: List[Dict[str, Tensor]]) -> None:
    """The network back in float32 and contiguous memory, with the values of
    ``state``."""
    _convert(model, torch.float32, False)
    for module, module_state in zip(network_modules(model), state):
        module.load_state_dict(module_state)


def captured_batch(batch: int) -> int:
    """The batch size a graph is captured for: ``batch`` rounded up to a power
    of two, so that a top-down model, whose batch is the people of a frame,
    keeps one graph for 3 and 4 people and one for 5 to 8 (6 graphs up to 32
    people) instead of capturing again each time the count changes."""
    return 1 << (batch - 1).bit_length()


class GraphedNetwork:
    """``network`` replayed from CUDA graphs, one per input shape and dtype
    (the :data:`MAX_GRAPHS` most recently used kept), the batch rounded up by
    :func:`captured_batch`.

    Each capture follows :data:`WARMUP_RUNS` eager runs on a side stream; a
    call copies its input into the graph's static input (zeros after it up
    to the captured batch), replays the graph and returns copies of the
    static outputs' first ``batch`` entries (valid after the next call). The
    network's outputs are batch-first and its samples independent (eval
    mode), as the estimators' are.
    """

    def __init__(self, network: Network, max_graphs: int = MAX_GRAPHS) -> None:
        self.network = network
        self.graphs: RecentlyUsed[Tuple['torch.cuda.CUDAGraph', Tensor,
                                        Nested]] = RecentlyUsed(max_graphs)

    def _capture(self, inputs: Tensor
                 ) -> Tuple['torch.cuda.CUDAGraph', Tensor, Nested]:
        static_input = inputs.clone()
        stream = torch.cuda.Stream(device=inputs.device)
        stream.wait_stream(torch.cuda.current_stream(inputs.device))
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(WARMUP_RUNS):
                self.network(static_input)
        torch.cuda.current_stream(inputs.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        # 'thread_local': a pipelined run draws and writes in another thread
        # (mmpose's heatmap panel reads the maps on the device), whose memory
        # calls would break a capture in the default mode ('global')
        with torch.cuda.graph(graph, capture_error_mode='thread_local'), \
                torch.no_grad():
            static_output = self.network(static_input)
        return graph, static_input, static_output

    def __call__(self, inputs: Tensor) -> Nested:
        batch = inputs.shape[0]
        padded = captured_batch(batch)
        if padded != batch:
            inputs = torch.cat([
                inputs,
                inputs.new_zeros((padded - batch, *inputs.shape[1:]))
            ])
        key = (tuple(inputs.shape), inputs.dtype, inputs.device,
               inputs.is_contiguous())
        graph, static_input, static_output = self.graphs.get_or_make(
            key, lambda: self._capture(inputs))
        static_input.copy_(inputs)
        graph.replay()
        return map_tensors(static_output, lambda t: t[:batch].clone())


def run_network_fast(model: nn.Module,
                     fast_path: FastPath,
                     probe_hw: Optional[Tuple[int, int]] = None) -> None:
    """Make ``model`` (an mmpose estimator) run its network on the fast path;
    patched in place.

    The backbone, neck and head are converted to ``fast_path.precision`` (and
    channels-last memory); each batch the data preprocessor makes (float32) is
    converted likewise, run through the network (or its CUDA graph for that
    shape) and the outputs are handed to the head's ``predict`` as float32 in
    the standard (contiguous) layout. The data preprocessor keeps float32 (its
    mean and std). ``head.loss`` raises: the fast model does not train.

    Args:
        model: The estimator, on the device it will run on.
        fast_path: What to use; checked with :func:`check_fast_path` against
            the model's device.
        probe_hw: ``(H, W)`` of a zero input run once through the fast network
            before the model is handed back, so that a network that cannot run
            so (e.g. an operator without a bf16 kernel) fails here, with the
            model left as it was; default: the config's input size
            (``codec.input_size``), else 256x256.

    Raises:
        FastPathError: The device cannot run ``fast_path``, or the network
            fails in it (the message names the model, the fast path and the
            operator's error); the model is then as it was, in float32.
    """
    device = model_device(model)
    check_fast_path(fast_path, device)
    unpatch_network(model)
    # the model's own network (float32, as after an earlier fast path)
    if not fast_path.enabled:
        _convert(model, torch.float32, False)
        return
    dtype = DTYPES[fast_path.precision]
    memory_format = (
        torch.channels_last
        if fast_path.channels_last else torch.contiguous_format)
    own = own_network(model)

    def eager(inputs: Tensor) -> Nested:
        return own(inputs.to(dtype=dtype, memory_format=memory_format))

    graphed = GraphedNetwork(eager) if fast_path.cuda_graph else None

    def network(inputs: Tensor) -> Nested:
        with torch.no_grad():
            outputs = graphed(inputs) if graphed is not None else eager(inputs)

        # float32 in standard layout, as the head's own forward gives (mmpose's
        # flip test views)
        def standard(t: Tensor) -> Tensor:
            return (t.float() if t.is_floating_point() else t).contiguous()

        return map_tensors(outputs, standard)

    state = _network_state(model)
    _convert(model, dtype, fast_path.channels_last)
    patch_network(model, network, f'on the fast path ({fast_path.describe()})')
    if probe_hw is None:
        probe_hw = config_input_hw(model) or (256, 256)
    try:
        network(torch.zeros(1, 3, *probe_hw, device=device))
    # an operator without a kernel for this dtype or device
    except Exception as error:
        unpatch_network(model)
        _restore(model, state)
        reason = (
            str(error).strip().splitlines()[0]
            if str(error).strip() else type(error).__name__)
        raise FastPathError(
            f'{type(model).__name__} ({type(model.backbone).__name__}) cannot '
            f'run on the fast path {fast_path.describe()} on {device}: '
            f'{reason}') from error
