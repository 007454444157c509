"""The Protocol Buffers wire format, read-only: a message's bytes as a sequence of fields.

Who calls it: `protobuf_objects` walks each message of a Kubernetes protobuf body with
`read_fields` and turns the raw values into JSON with its schema table.

What it owns: varints (field keys, integers, booleans), the two fixed-width wire types and
length-delimited values (strings, bytes, nested messages, map entries). It knows nothing
of field meanings. Pure: bytes in, values out, no I/O.

    WireError(ValueError)  truncated input, an over-long varint, or a wire type this
                           reader does not handle (the deprecated groups, 3 and 4)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

VARINT = 0
FIXED64 = 1
LENGTH_DELIMITED = 2
FIXED32 = 5

_MAX_VARINT_BYTES = 10


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


@dataclass(frozen=True, slots=True)
class WireField:
    """One field as it appears on the wire; `value` is an int or the delimited bytes."""

    number: int
    wire_type: int
    value: int | bytes


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at `pos` and the position after it."""
    result = 0
    for index in range(_MAX_VARINT_BYTES):
        if pos + index >= len(data):
            raise WireError("the message ends inside a varint")
        byte = data[pos + index]
        result |= (byte & 0x7F) << (7 * index)
        if byte < 0x80:
            return result, pos + index + 1
    raise WireError("a varint is longer than 10 bytes")


def to_signed(value: int) -> int:
    """An int32/int64 varint as the signed number it encodes.

    Negative int32 and int64 values are both sent as 64-bit two's complement (ten bytes).
    """
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def read_fields(data: bytes) -> Iterator[WireField]:
    """Every field of one message, in wire order (repeated fields appear once per item)."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 0x07
        if number == 0:
            raise WireError("field number 0 is not valid")
        value: int | bytes
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == LENGTH_DELIMITED:
            length, pos = read_varint(data, pos)
            if pos + length > len(data):
                raise WireError(f"field {number} claims {length} bytes past the end")
            value, pos = data[pos : pos + length], pos + length
        elif wire_type in (FIXED64, FIXED32):
            width = 8 if wire_type == FIXED64 else 4
            if pos + width > len(data):
                raise WireError(f"field {number} ends inside a fixed-width value")
            value, pos = int.from_bytes(data[pos : pos + width], "little"), pos + width
        else:
            raise WireError(f"field {number} has wire type {wire_type}, which is not supported")
        yield WireField(number, wire_type, value)
