# Copyright (c) OpenMMLab. All rights reserved.
"""A second device for CPU-only tests of tensor placement.

Code that runs on a GPU must create every tensor on the device of its inputs: a
``torch.full(...)`` without ``device=`` lands on the CPU, and the first op that
mixes it with a CUDA tensor fails (``indices should be either on cpu or on the
same device as the indexed tensor``). On a machine without a GPU all tensors
are on the CPU and such a line passes every test.

:func:`simulated_device` makes a device that is not the CPU without any
hardware. Tensors moved to it (``x.to('meta')``, ``module.to('meta')``,
``torch.zeros(..., device=x.device)``) are :class:`SimulatedDeviceTensor`: they
report ``device == meta`` (a device type with a no-op device guard, so no
driver is touched) while their values live in a real CPU tensor, so that every
op computes real values and data-dependent code (boolean masks, ``nonzero``,
``.item()``) runs as it would on a GPU. Every aten op that takes a simulated
tensor and a CPU tensor with one or more dimensions raises
:class:`DeviceMixError`, as CUDA does, with the exceptions CUDA makes (CPU
index tensors into a device tensor, copies between devices); ``.numpy()`` of a
simulated tensor raises as it does for a CUDA tensor. mmcv's compiled ops
(``ext_module`` of ``mmcv.ops`` modules: deformable convolution, NMS) get the
CPU values of simulated tensors, after the same check.

Example::

    with simulated_device() as device:
        model = model.to(device)
        # raises on a tensor made on the CPU
        losses = model.loss(inputs.to(device), data_samples)
"""
import sys
from contextlib import contextmanager
from itertools import chain
from typing import Any, Callable, Dict, Iterator, List, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

#: The device type simulated tensors report.
SIMULATED = torch.device('meta')

aten = torch.ops.aten
#: Ops that take CPU index tensors into a tensor on a device (CUDA allows it):
#: position of the index list among the arguments.
_INDEX_ARGUMENTS = {
    aten.index.Tensor: 1,
    aten.index_put.default: 1,
    aten.index_put_.default: 1,
    aten._index_put_impl_.default: 1,
}
#: Ops that copy between devices.
_TRANSFERS = {
    aten.copy_.default, aten._to_copy.default, aten._copy_from.default
}


class DeviceMixError(RuntimeError):
    """An op was given tensors on the simulated device and on the CPU."""


class SimulatedDeviceTensor(torch.Tensor):
    """A tensor on the simulated device: the metadata of ``data`` (shape,
    strides, dtype) on :data:`SIMULATED`, its values in ``data`` (a CPU
    tensor)."""

    data_on_cpu: torch.Tensor

    @staticmethod
    def __new__(cls,
                data: torch.Tensor,
                requires_grad: bool = False) -> 'SimulatedDeviceTensor':
        tensor = torch.Tensor._make_wrapper_subclass(
            cls,
            data.shape,
            strides=data.stride(),
            storage_offset=data.storage_offset(),
            dtype=data.dtype,
            layout=data.layout,
            device=SIMULATED,
            requires_grad=requires_grad)
        tensor.data_on_cpu = data
        return tensor

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        return f'SimulatedDeviceTensor({self.data_on_cpu!r})'

    # CUDA tensors copy to the host; torch refuses it for subclasses
    def tolist(self) -> Any:
        return self.data_on_cpu.tolist()

    def numpy(self, *, force: bool = False) -> Any:
        raise TypeError(
            f"can't convert {self.device} device type tensor to numpy. Use "
            'Tensor.cpu() to copy the tensor to host memory first. (as CUDA '
            'says)')

    def new_tensor(self,
                   data: Any,
                   dtype=None,
                   device=None,
                   requires_grad=False) -> torch.Tensor:
        """As ``Tensor.new_tensor`` (whose C++ path would drop the values on
        the device)."""
        return _tensor(
            data,
            dtype=dtype or self.dtype,
            device=device or self.device,
            requires_grad=requires_grad)

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        check_placement(func, args, kwargs)
        target = kwargs.get('device')
        if target is not None:
            kwargs['device'] = torch.device('cpu')
        out = func(*tree_map(_values, args), **tree_map(_values, kwargs))
        if target is not None and torch.device(target).type == 'cpu':
            return out  # a transfer to the CPU: plain tensors
        return tree_map(_simulated, out)


def _values(value: Any) -> Any:
    return (value.data_on_cpu
            if isinstance(value, SimulatedDeviceTensor) else value)


def _simulated(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and not isinstance(
            value, SimulatedDeviceTensor):
        return SimulatedDeviceTensor(value)
    return value


def _describe(tensor: torch.Tensor) -> str:
    return f'{tuple(tensor.shape)} {str(tensor.dtype).replace("torch.", "")}'


def check_placement(func: Any, args: tuple, kwargs: dict) -> None:
    """Raise :class:`DeviceMixError` where ``func`` mixes simulated tensors
    with CPU tensors of one or more dimensions that CUDA would refuse (index
    tensors and transfers are allowed)."""
    if func in _TRANSFERS:
        return
    exempt: List[Any] = []
    if func in _INDEX_ARGUMENTS and len(args) > _INDEX_ARGUMENTS[func]:
        # CPU indices into a device tensor
        if isinstance(args[0], SimulatedDeviceTensor):
            exempt = [t for t in args[_INDEX_ARGUMENTS[func]] if t is not None]
    tensors = [
        t for t in tree_flatten((args, kwargs))[0]
        if isinstance(t, torch.Tensor)
    ]
    on_device = [t for t in tensors if isinstance(t, SimulatedDeviceTensor)]
    on_cpu = [
        t for t in tensors
        if not isinstance(t, SimulatedDeviceTensor) and t.dim() > 0
        and t.device.type == 'cpu' and not any(t is e for e in exempt)
    ]
    if on_device and on_cpu:
        raise DeviceMixError(
            f'{func}: tensors on the device '
            f'({", ".join(_describe(t) for t in on_device)}) and on the CPU '
            f'({", ".join(_describe(t) for t in on_cpu)}): a tensor was '
            'created without the device of its inputs')


def _on_simulated(device: Any) -> bool:
    return device is not None and torch.device(device).type == SIMULATED.type


_torch_tensor, _torch_as_tensor = torch.tensor, torch.as_tensor


def _tensor(data: Any,
            *,
            dtype=None,
            device=None,
            requires_grad=False,
            **kwargs) -> torch.Tensor:
    """``torch.tensor`` that keeps the values on the simulated device (torch's
    own builds the tensor outside the dispatcher, on a real ``meta`` device,
    without values)."""
    if not _on_simulated(device):
        return _torch_tensor(
            data,
            dtype=dtype,
            device=device,
            requires_grad=requires_grad,
            **kwargs)
    values = _torch_tensor(tree_map(_values, data), dtype=dtype, **kwargs)
    return SimulatedDeviceTensor(values, requires_grad=requires_grad)


def _as_tensor(data: Any, dtype=None, device=None) -> torch.Tensor:
    """``torch.as_tensor`` that keeps the values on the simulated device."""
    if not _on_simulated(device) or isinstance(data, torch.Tensor):
        return _torch_as_tensor(data, dtype=dtype, device=device)
    return SimulatedDeviceTensor(_torch_as_tensor(data, dtype=dtype))


class _SimulatedDeviceMode(TorchDispatchMode):
    """Creates tensors asked for on :data:`SIMULATED` (factories with
    ``device='meta'``, copies of CPU tensors to it) as
    :class:`SimulatedDeviceTensor` with real values."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        target = kwargs.get('device')
        plain_inputs = not any(
            isinstance(t, SimulatedDeviceTensor)
            for t in tree_flatten((args, kwargs))[0])
        if _on_simulated(target) and plain_inputs:
            kwargs['device'] = torch.device('cpu')
            return tree_map(_simulated, func(*args, **kwargs))
        return func(*args, **kwargs)


class _SimulatedExtension:
    """An mmcv ``ext_module`` whose functions get the CPU values of simulated
    tensors (after :func:`check_placement`) and return simulated tensors when
    they were given some."""

    def __init__(self, extension: Any) -> None:
        self._extension = extension

    def __getattr__(self, name: str) -> Any:
        function = getattr(self._extension, name)
        if not callable(function):
            return function

        def on_values(*args, **kwargs):
            check_placement(f'mmcv.ops {name}', args, kwargs)
            simulated = any(
                isinstance(v, SimulatedDeviceTensor)
                for v in chain(args, kwargs.values()))
            out = function(*tree_map(_values, args),
                           **tree_map(_values, kwargs))
            return tree_map(_simulated, out) if simulated else out

        return on_values


def _patch_mmcv_extensions() -> Dict[Any, Any]:
    """Route the ``ext_module`` of every loaded ``mmcv.ops`` module through
    :class:`_SimulatedExtension`; returns the originals by module."""
    import mmcv.ops  # noqa: F401  (loads every op module)

    originals = {}
    for name, module in list(sys.modules.items()):
        extension = (
            getattr(module, 'ext_module', None)
            if name.startswith('mmcv.ops.') else None)
        if extension is not None and not isinstance(extension,
                                                    _SimulatedExtension):
            originals[module] = extension
            module.ext_module = _SimulatedExtension(extension)
    return originals


@contextmanager
def simulated_device() -> Iterator[torch.device]:
    """Within the block, :data:`SIMULATED` acts as a second device with real
    values (module doc); yields it."""
    originals = _patch_mmcv_extensions()
    torch.tensor, torch.as_tensor = _tensor, _as_tensor
    try:
        with _SimulatedDeviceMode():
            yield SIMULATED
    finally:
        torch.tensor, torch.as_tensor = _torch_tensor, _torch_as_tensor
        for module, extension in originals.items():
            module.ext_module = extension


def tensors_off_device(value: Any,
                       path: str = 'output') -> List[Tuple[str, str]]:
    """``(where, what)`` of every tensor in ``value`` (nested lists, tuples,
    dicts, mmengine data elements) that is not on the simulated device."""
    found: List[Tuple[str, str]] = []
    if isinstance(value, SimulatedDeviceTensor):
        return found
    if isinstance(value, torch.Tensor):
        return [(path, f'{_describe(value)} on {value.device}')]
    items: Callable[[], Any] = None
    if isinstance(value, dict):
        items = value.items
    elif isinstance(value, (list, tuple)):
        items = lambda: enumerate(value)  # noqa: E731
    elif hasattr(value, 'all_items'):  # mmengine's BaseDataElement
        items = value.all_items
    if items is not None:
        for key, item in items():
            found += tensors_off_device(item, f'{path}[{key!r}]')
    return found
