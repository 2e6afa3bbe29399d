# Copyright (c) OpenMMLab. All rights reserved.
"""Run a pose estimator's network in onnxruntime, from the file
``tools/deployment/export_onnx.py`` writes, while everything else stays the
estimator's PyTorch and numpy code.

The split is the export's: the file holds the network (backbone, neck,
``head.forward``: what ``TensorForward`` traces), and
:func:`run_network_in_onnxruntime` swaps exactly that part of an estimator for
an onnxruntime ``InferenceSession``. Data preprocessing, the flip test (the
head calls its forward on the mirrored input too), multi-scale testing, the
head's ``predict`` and the codecs' decoding are left as they are, so
``inference_topdown`` / ``inference_bottomup`` / ``model.test_step`` decode the
file's outputs with the same code as PyTorch's.
"""
import warnings
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from .network_patch import (Nested, config_input_hw, model_device, own_network,
                            patch_network, unpatch_network)

# the exported file's one input (tools/deployment/export_onnx.py)
INPUT_NAME = 'input'
# (H, W) of the input from which a model with a dynamic-size file (bottom-up,
# SMPR) records the structure of its head's outputs: a multiple of every stride
# up to 128 (SMPR's P7), small enough to cost little; the config's input size
# if the network refuses it
PROBE_SIZE = (128, 128)
# a tensor is None; a list or tuple is (its type, the structures of its items)
Structure = Union[None, Tuple[type, List['Structure']]]


class OnnxLoadError(RuntimeError):
    """onnxruntime cannot load the ONNX file (not an ONNX model, or operators
    it does not have); the message names the file and onnxruntime's reason."""


class OnnxModelMismatchError(ValueError):
    """An ONNX file that is not the export of the estimator it should run for.

    Its input or its outputs (count, names, fixed sizes) differ; the message
    names the file and the difference.
    """


def flatten_tensors(outputs: Nested) -> List[Tensor]:
    """The tensors of nested lists and tuples, depth first, in order (the order
    of the exported file's outputs)."""
    if isinstance(outputs, Tensor):
        return [outputs]
    return [tensor for item in outputs for tensor in flatten_tensors(item)]


def output_structure(outputs: Nested) -> Structure:
    """The nesting of ``outputs`` (lists and tuples of tensors), without the
    tensors: what :func:`unflatten_tensors` rebuilds."""
    if isinstance(outputs, Tensor):
        return None
    if isinstance(outputs, (list, tuple)):
        return type(outputs), [output_structure(item) for item in outputs]
    raise TypeError('head outputs must be tensors in lists and tuples, got '
                    f'{type(outputs)}')


def count_tensors(structure: Structure) -> int:
    """How many tensors ``structure`` holds."""
    if structure is None:
        return 1
    return sum(count_tensors(item) for item in structure[1])


def unflatten_tensors(structure: Structure,
                      tensors: Sequence[Tensor]) -> Nested:
    """The inverse of :func:`flatten_tensors`: ``tensors`` (depth first) nested
    as ``structure`` (from :func:`output_structure`)."""
    if len(tensors) != count_tensors(structure):
        raise ValueError(f'{len(tensors)} tensors for a structure of '
                         f'{count_tensors(structure)}')
    items = iter(tensors)

    def build(node: Structure) -> Nested:
        if node is None:
            return next(items)
        kind, children = node
        return kind(build(child) for child in children)

    return build(structure)


def network_output_names(head: nn.Module, num_outputs: int) -> List[str]:
    """Names of the ``num_outputs`` flattened outputs of ``head.forward`` in an
    exported file: the head's ``output_names()`` (the PAF heads, SMPRHead); for
    a head without one (mmpose's heatmap heads, MLPEHead), ``heatmaps`` for a
    single output and ``output{i}`` for several."""
    if not hasattr(head, 'output_names'):
        return (['heatmaps'] if num_outputs == 1 else
                [f'output{i}' for i in range(num_outputs)])
    names = list(head.output_names())
    if len(names) != num_outputs:
        raise RuntimeError(
            f'{type(head).__name__}.output_names() names {len(names)} '
            f'outputs, its forward gives {num_outputs}')
    return names


def _probe(model: nn.Module, input_hw: Tuple[int, int]) -> Nested:
    """The head's outputs for a zero input of ``input_hw`` through the PyTorch
    network, in eval mode (no batch-norm statistics updated), the model's mode
    restored after."""
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            inputs = torch.zeros(1, 3, *input_hw, device=model_device(model))
            return own_network(model)(inputs)
    finally:
        model.train(training)


def _make_session(onnx_file: Path, device: torch.device,
                  num_threads: Optional[int], allow_spinning: bool):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if num_threads is not None:
        if int(num_threads) < 1:
            raise ValueError(
                f'num_threads must be a positive number, got {num_threads}')
        options.intra_op_num_threads = int(num_threads)
    options.add_session_config_entry('session.intra_op.allow_spinning',
                                     '1' if allow_spinning else '0')
    providers = ['CPUExecutionProvider']
    available = onnxruntime.get_available_providers()
    if device.type == 'cuda' and 'CUDAExecutionProvider' in available:
        providers.insert(0, ('CUDAExecutionProvider',
                             dict(device_id=device.index or 0)))
    try:
        session = onnxruntime.InferenceSession(
            str(onnx_file), sess_options=options, providers=providers)
    except Exception as error:  # onnxruntime's own exception types
        hint = ''
        if 'mmcv' in str(error).lower():
            hint = (
                '; it holds mmcv custom operators (exported with --dcn mmcv), '
                'which stock '
                'onnxruntime cannot run: export with --dcn grid-sample')
        reason = (
            str(error).strip().splitlines()[0]
            if str(error).strip() else type(error).__name__)
        raise OnnxLoadError(
            f'onnxruntime cannot load {onnx_file}: {reason}{hint}') from error
    if device.type == 'cuda' and (session.get_providers()[0]
                                  != 'CUDAExecutionProvider'):
        # the pinned onnxruntime is the CPU package; onnxruntime-gpu falls
        # back to the CPU when its CUDA provider does not load
        warnings.warn(
            f'onnxruntime runs {onnx_file} on the CPU, not {device}: its '
            f'providers here are {available} (the onnxruntime-gpu package '
            'runs it on a GPU)')
    return session


def _shape(dims: Sequence) -> str:
    return '[' + ', '.join(str(d) for d in dims) + ']'


def _check_input(onnx_file: Path, session,
                 model: nn.Module) -> Tuple[Optional[int], ...]:
    """The file's input dims (``None`` where dynamic), checked: one 4-D input
    named ``input`` with 3 channels, and a fixed size (top-down) equal to the
    config's input size."""
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].name != INPUT_NAME:
        raise OnnxModelMismatchError(
            f'{onnx_file}: the file takes inputs {[i.name for i in inputs]}, '
            'an export of '
            f'tools/deployment/export_onnx.py takes one, {INPUT_NAME!r}')
    dims = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)
    if len(dims) != 4 or dims[1] not in (3, None):
        raise OnnxModelMismatchError(
            f'{onnx_file}: the file\'s input has shape '
            f'{_shape(inputs[0].shape)}, the model takes (B, 3, H, W)')
    config_hw = config_input_hw(model)
    if (None not in dims[2:] and config_hw is not None
            and tuple(dims[2:]) != config_hw):
        raise OnnxModelMismatchError(
            f'{onnx_file}: the file takes {dims[2]}x{dims[3]} (H x W) inputs, '
            'the model\'s '
            f'config {config_hw[0]}x{config_hw[1]} (codec.input_size)')
    return dims


def _check_outputs(onnx_file: Path, session, model: nn.Module,
                   probe: List[Tensor], fixed_size: bool) -> List[str]:
    """The names of the file's outputs, checked against the head's: their
    number and names, in order, and every fixed dim but the batch (all dims but
    the batch for a fixed-size file, whose probe ran at its size)."""
    outputs = session.get_outputs()
    names = network_output_names(model.head, len(probe))
    found = [o.name for o in outputs]
    head = type(model.head).__name__
    if found != names:
        if len(found) != len(names):
            what = (f'{len(found)} outputs, the model\'s {head} gives '
                    f'{len(names)}')
        else:
            i = next(i for i, (a, b) in enumerate(zip(found, names)) if a != b)
            what = (f'output {i} is {found[i]!r}, the model\'s {head} names '
                    f'it {names[i]!r}')
        raise OnnxModelMismatchError(
            f'{onnx_file} is not an export of this model: the file has {what} '
            f'(file: {", ".join(found)}; model: {", ".join(names)})')
    for output, tensor in zip(outputs, probe):
        dims = list(output.shape)
        theirs = list(tensor.shape)
        differs = len(dims) != len(theirs) or any(
            isinstance(d, int) and d != t and (i == 1 or fixed_size)
            for i, (d, t) in enumerate(zip(dims, theirs)) if i > 0)
        if differs:
            model_dims = (['B'] + theirs[1:] if fixed_size else
                          (['B'] + theirs[1:2] + ['?'] * (len(theirs) - 2)))
            raise OnnxModelMismatchError(
                f'{onnx_file} is not an export of this model: its output '
                f'{output.name!r} has shape {_shape(dims)}, the model\'s '
                f'{head} gives {_shape(model_dims)}')
    return names


def run_network_in_onnxruntime(model: nn.Module,
                               onnx_file: Union[str, Path],
                               num_threads: Optional[int] = None,
                               allow_spinning: bool = False) -> None:
    """Make ``model`` run its network in onnxruntime from ``onnx_file``;
    patched in place.

    ``model`` is an mmpose estimator (``mmpose.apis.init_model``, the project's
    ``init_pose_model``) of the config the file was exported from by
    ``tools/deployment/export_onnx.py`` (``--dcn grid-sample``, the default,
    for SMPR: stock onnxruntime cannot run mmcv's operators). Afterwards
    ``inference_topdown``, ``inference_bottomup`` and ``model.test_step``
    compute the network (backbone, neck, ``head.forward``) in an onnxruntime
    ``InferenceSession`` of the file, and the rest in the model's own code,
    unchanged: data preprocessing, the flip test (the head's forward runs on
    the mirrored input through the file too), multi-scale testing, the head's
    ``predict`` and the codecs. The model's own weights are then unused (the
    file holds the network's); its PyTorch layers stay in memory.

    How (:func:`~.network_patch.patch_network`): the estimator's
    ``extract_feat`` returns the preprocessed batch itself, and the head's
    ``forward`` runs it through the session and nests the file's flat outputs
    (the head's forward outputs flattened depth first, as ``TensorForward``
    exports them) as the head's forward returns them: a structure recorded,
    with the output count, names and fixed sizes that the file is checked
    against, from one forward of a zero input through the PyTorch network at
    the file's input size (``PROBE_SIZE`` for files of dynamic size). Top-down
    files take a fixed input size and any batch (the boxes of an image);
    bottom-up and SMPR files any size (each image's, each scale's).
    ``head.loss`` raises: the patched model does not train. Calling this again
    swaps the file. After an error the model runs its network in PyTorch (an
    earlier file's patch undone).

    Args:
        model: The estimator; on CPU the session runs on onnxruntime's CPU
            provider; on a CUDA device on its CUDA provider if this onnxruntime
            has one (else on CPU), the outputs copied back to the model's
            device.
        onnx_file: The exported network (input ``input``, outputs named by the
            head).
        num_threads: onnxruntime's intra-op threads
            (``SessionOptions.intra_op_num_threads``); ``None``: onnxruntime's
            default (one per physical core).
        allow_spinning: Whether onnxruntime's threads busy-wait for work after
            a run (``session.intra_op.allow_spinning``, onnxruntime's default).
            Off by default: between two runs the frame's preprocessing,
            decoding and drawing need those cores; spinning made mmpose's
            preprocessing 3x slower on 2 cores (``benchmark_realtime.py``, MLN
            and OpenPose, 1 and 20 people, two runs each: 7-39 ms per frame,
            mean 22, against 5-13 ms, mean 8, without).

    Raises:
        FileNotFoundError: No such file.
        OnnxModelMismatchError: The file's input or outputs (count, names,
            fixed sizes) are not those of the model; the message names the file
            and what differs.
        RuntimeError: onnxruntime cannot load the file (e.g. mmcv custom
            operators).
    """
    onnx_file = Path(onnx_file)
    if (getattr(model, 'head', None) is None
            or not hasattr(model, 'extract_feat')):
        raise TypeError(
            f'{type(model).__name__} is no mmpose pose estimator with a head')
    unpatch_network(model)
    if not onnx_file.is_file():
        raise FileNotFoundError(f'no ONNX file {onnx_file}')
    device = model_device(model)
    session = _make_session(onnx_file, device, num_threads, allow_spinning)

    dims = _check_input(onnx_file, session, model)
    fixed_size = None not in dims[2:]
    try:
        probe = _probe(model, dims[2:] if fixed_size else PROBE_SIZE)
    except Exception:
        if fixed_size or config_input_hw(model) is None:
            raise
        probe = _probe(model, config_input_hw(model))
    structure = output_structure(probe)
    names = _check_outputs(onnx_file, session, model, flatten_tensors(probe),
                           fixed_size)

    def network(inputs: Tensor) -> Nested:
        cpu_inputs = inputs.detach().to('cpu', torch.float32)
        array = np.ascontiguousarray(cpu_inputs.numpy())
        outputs = session.run(names, {INPUT_NAME: array})
        dtype = inputs.dtype if inputs.is_floating_point() else torch.float32
        return unflatten_tensors(
            structure,
            [torch.from_numpy(x).to(inputs.device, dtype) for x in outputs])

    # a deep copy of the model shares the session and stays patched
    patch_network(model, network, f'in onnxruntime from {onnx_file}')
