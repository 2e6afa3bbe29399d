# Copyright (c) OpenMMLab. All rights reserved.
"""A frozen TensorFlow ``GraphDef`` (``.pb``) read without TensorFlow: its
nodes, their inputs and attributes, and the constants (the weights) as numpy
arrays.

Only the messages and attribute kinds of inference graphs are decoded
(TensorFlow's ``graph.proto``, ``node_def.proto``, ``attr_value.proto``,
``tensor.proto``, ``tensor_shape.proto``, ``types.proto``); anything else is
kept as its raw bytes.
"""
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Union

import numpy as np

from .protobuf_wire import iter_fields, packed_varints, signed64

# types.proto's DataType -> numpy (the ones a frozen float graph holds)
TF_DTYPES = {
    1: np.float32,
    2: np.float64,
    3: np.int32,
    4: np.uint8,
    5: np.int16,
    6: np.int8,
    9: np.int64,
    10: np.bool_,
    19: np.float16
}
AttrValue = Union[bytes, int, float, bool, list, np.ndarray, None]


@dataclass
class TFNode:
    """One ``NodeDef``.

    Attributes:
        name (str): The node's name (``MobilenetV1/Conv2d_0/Conv2D``).
        op (str): Its op type (``Conv2D``, ``Const``, ...).
        inputs (list[str]): Names of the nodes it reads (``name:1`` for a
            second output, ``^name`` for a control dependency), in order.
        attrs (dict): Decoded attributes: ``s`` as bytes, ``i`` as int, ``f``
            as float, ``b`` as bool, ``type`` as the numpy dtype (or the enum
            value where unknown), ``shape`` as a list of ints (-1: unknown),
            ``tensor`` as a numpy array, ``list`` as a list of those.
    """
    name: str
    op: str
    inputs: List[str] = field(default_factory=list)
    attrs: Dict[str, AttrValue] = field(default_factory=dict)


def read_graphdef(source: Union[str, Path, bytes]) -> Dict[str, TFNode]:
    """The nodes of a serialized ``GraphDef``, by name, in the file's order.

    Args:
        source: The ``.pb`` file or its bytes.

    Raises:
        ValueError: If the bytes are not a GraphDef (no node, or a malformed
            message), naming the file.
    """
    name = (
        str(source) if not isinstance(source, bytes) else 'the GraphDef bytes')
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        nodes = [
            _node(value) for number, wire, value in iter_fields(data)
            if number == 1 and wire == 2
        ]
    except (ValueError, IndexError, struct.error, UnicodeDecodeError) as err:
        raise ValueError(
            f'{name}: not a TensorFlow GraphDef ({err})') from None
    if not nodes or any(not node.name or not node.op for node in nodes):
        raise ValueError(f'{name}: not a TensorFlow GraphDef (no named nodes)')
    return {node.name: node for node in nodes}


def _node(buf: bytes) -> TFNode:
    node = TFNode(name='', op='')
    for number, _, value in iter_fields(buf):
        if number == 1:
            node.name = value.decode()
        elif number == 2:
            node.op = value.decode()
        elif number == 3:
            node.inputs.append(value.decode())
        elif number == 5:  # map<string, AttrValue> entry: key 1, value 2
            key, attr = '', None
            for entry_number, _, entry_value in iter_fields(value):
                if entry_number == 1:
                    key = entry_value.decode()
                else:
                    attr = _attr(entry_value)
            node.attrs[key] = attr
    return node


def _attr(buf: bytes) -> AttrValue:
    """An ``AttrValue`` (its one set field)."""
    result: AttrValue = None
    for number, _, value in iter_fields(buf):
        if number == 1:
            result = _list(value)
        else:
            result = _scalar(number, value)
    return result


def _scalar(number: int, value) -> AttrValue:
    if number == 2:
        return value
    if number == 3:
        return signed64(value)
    if number == 4:
        return struct.unpack('<f', value)[0]
    if number == 5:
        return bool(value)
    if number == 6:
        return TF_DTYPES.get(value, value)
    if number == 7:
        return _shape(value)
    if number == 8:
        return _tensor(value)
    return value


def _list(buf: bytes) -> list:
    """A ``ListValue``: s 2, i 3, f 4, b 5, type 6, shape 7, tensor 8 (numbers
    packed or not)."""
    items: list = []
    for number, wire, value in iter_fields(buf):
        if number in (3, 5, 6) and wire == 2:
            items += [_scalar(number, v) for v in packed_varints(value)]
        elif number == 4 and wire == 2:
            items += list(np.frombuffer(value, '<f4').astype(float))
        else:
            items.append(_scalar(number, value))
    return items


def _shape(buf: bytes) -> List[int]:
    """A ``TensorShapeProto``'s dims (``dim`` 2, each with ``size`` 1)."""
    dims = []
    for number, _, value in iter_fields(buf):
        if number == 2:
            size = 0
            for dim_number, _, dim_value in iter_fields(value):
                if dim_number == 1:
                    size = signed64(dim_value)
            dims.append(size)
    return dims


def _tensor(buf: bytes) -> np.ndarray:
    """A ``TensorProto``: ``tensor_content`` (4) or the typed repeated values
    (``float_val`` 5, ``double_val`` 6, ``int_val`` 7, ``int64_val`` 10,
    ``bool_val`` 11), one value filling the whole shape as TensorFlow does."""
    dtype, shape, content, values = np.float32, [], None, []
    for number, wire, value in iter_fields(buf):
        if number == 1:
            dtype = TF_DTYPES.get(value, value)
        elif number == 2:
            shape = _shape(value)
        elif number == 4:
            content = value
        elif number == 5:
            values += (
                list(np.frombuffer(value, '<f4'))
                if wire == 2 else [struct.unpack('<f', value)[0]])
        elif number == 6:
            values += (
                list(np.frombuffer(value, '<f8'))
                if wire == 2 else [struct.unpack('<d', value)[0]])
        elif number in (7, 10, 11):
            raw = packed_varints(value) if wire == 2 else [value]
            values += [signed64(v) for v in raw]
    if not isinstance(dtype, type):
        raise ValueError(f'TensorProto of unsupported dtype enum {dtype}')
    size = int(np.prod(shape)) if shape else 1
    if content is not None:
        array = np.frombuffer(
            content, dtype=np.dtype(dtype).newbyteorder('<')).astype(dtype)
    elif len(values) == 1 and size > 1:
        array = np.full(size, values[0], dtype=dtype)
    else:
        array = np.array(values, dtype=dtype)
    if array.size != size:
        raise ValueError(
            f'TensorProto of shape {shape} holds {array.size} values')
    return array.reshape(shape)
