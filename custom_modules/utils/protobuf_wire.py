# Copyright (c) OpenMMLab. All rights reserved.
"""The protobuf wire format, read without protobuf's generated classes: enough
to take weights out of a Caffe ``.caffemodel``
(``tools/model_converters/openpose2mmpose.py``) or a frozen TensorFlow
``GraphDef`` (:mod:`.tf_graphdef`) without Caffe or TensorFlow.

Reference: https://protobuf.dev/programming-guides/encoding/ (varints, the
four wire types used by proto2/proto3 messages, packed repeated fields).
"""
from typing import Iterator, List, Tuple, Union

WireValue = Union[int, bytes]


def read_varint(buf: bytes, pos: int) -> Tuple[int, int]:
    """The varint at ``buf[pos:]`` and the position after it.

    Raises:
        ValueError: If the buffer ends inside the varint.
    """
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError(
                'protobuf: truncated varint (the file ends inside a field)')
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def iter_fields(buf: bytes) -> Iterator[Tuple[int, int, WireValue]]:
    """``(field number, wire type, value)`` of each field of a message, in file
    order: varints (wire type 0) as ints, 64-bit (1) and 32-bit (5) values as
    their bytes, length-delimited values (2: strings, bytes, sub-messages,
    packed arrays) as bytes.

    Raises:
        ValueError: On groups (wire types 3, 4; no format read here uses them)
            or a field that runs past the end of ``buf``.
    """
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
            yield number, wire, value
            continue
        if wire == 2:
            size, pos = read_varint(buf, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
        else:
            raise ValueError(
                f'protobuf: wire type {wire} (groups) of field {number} is '
                'not supported')
        if pos + size > len(buf):
            raise ValueError(
                f'protobuf: field {number} runs past the end of its message')
        yield number, wire, buf[pos:pos + size]
        pos += size


def packed_varints(buf: bytes) -> List[int]:
    """The varints of a packed repeated field."""
    values, pos = [], 0
    while pos < len(buf):
        value, pos = read_varint(buf, pos)
        values.append(value)
    return values


def signed64(value: int) -> int:
    """A varint decoded as protobuf's ``int64`` (two's complement).

    For example, -1 is the varint ``2**64 - 1``.
    """
    return value - (1 << 64) if value >= 1 << 63 else value
