"""Storing a value into linear memory and loading it back (CanonicalABI.md, "Storing", "Loading").

:func:`store` writes a value's ``size(t)`` bytes at a pointer (little-endian,
padding left as it was: :func:`~.abi.padding`), and puts strings and lists in
blocks it gets from ``realloc``, which it points to. :func:`load` reads one
back and traps (:class:`~.context.Trap`) on what the spec traps on: a
discriminant past the last case, a ``char`` that is not a Unicode scalar
value, a string or list out of bounds, misaligned or longer than 2**28 - 1
bytes, a string not valid in its encoding. Like the spec, it does not trap on
a ``bool`` byte above 1 (any non-zero is true) or on flag bits past the last
label (ignored).
"""

from __future__ import annotations

import math
from typing import Any, Final

from .abi import (
    PTR_SIZE,
    alignment,
    case_index,
    discriminant_size,
    field_offsets,
    field_values,
    make_case,
    make_record,
    payload_offset,
    record_fields,
    size,
    variant_cases,
)
from .context import Context, Realloc, StringEncoding, Trap
from .strings import load_string, store_string
from .types import (
    CanonicalABIError,
    Enum,
    Flags,
    List,
    Option,
    Prim,
    Record,
    Result,
    Tuple,
    Variant,
    WitType,
)
from .values import (
    CANONICAL_F32_NAN,
    CANONICAL_F64_NAN,
    check_value,
    f32_bits,
    f32_from_bits,
    f64_bits,
    f64_from_bits,
)

__all__ = [
    "MAX_LIST_BYTE_LENGTH",
    "load",
    "load_in",
    "store",
    "store_in",
]

MAX_LIST_BYTE_LENGTH: Final = (1 << 28) - 1
"""A lifted list longer than this many bytes traps."""

_INT_SIZE: Final = {"s8": 1, "u8": 1, "s16": 2, "u16": 2, "s32": 4, "u32": 4, "s64": 8, "u64": 8}


def encode_f32(x: float) -> int:
    """The bits a store or lower gives an f32: the canonical NaN for every NaN (deterministic profile)."""
    return CANONICAL_F32_NAN if math.isnan(x) else f32_bits(x)


def encode_f64(x: float) -> int:
    return CANONICAL_F64_NAN if math.isnan(x) else f64_bits(x)


def decode_f32(bits: int) -> float:
    """An f32 from its bits, every NaN made canonical ("canonicalize_nan32")."""
    x = f32_from_bits(bits)
    return f32_from_bits(CANONICAL_F32_NAN) if math.isnan(x) else x


def decode_f64(bits: int) -> float:
    x = f64_from_bits(bits)
    return f64_from_bits(CANONICAL_F64_NAN) if math.isnan(x) else x


def char_from_int(i: int, what: str) -> str:
    """A ``char`` from its code point; :class:`Trap` if it is not a Unicode scalar value."""
    if i >= 0x110000 or 0xD800 <= i <= 0xDFFF:
        raise Trap(f"{what}: {i:#x} is not a Unicode scalar value")
    return chr(i)


def store_in(cx: Context, t: WitType, v: Any, ptr: int, path: str = "") -> None:
    """Store a checked value at an aligned, in-bounds ``ptr``: the recursion under :func:`store`."""
    what = path or "the value"
    match t:
        case Prim("bool"):
            cx.write_int(ptr, int(v), 1)
        case Prim("f32"):
            cx.write_int(ptr, encode_f32(v), 4)
        case Prim("f64"):
            cx.write_int(ptr, encode_f64(v), 8)
        case Prim("char"):
            cx.write_int(ptr, ord(v), 4)
        case Prim("string"):
            begin, units = store_string(cx, v, what)
            cx.write_int(ptr, begin, PTR_SIZE)
            cx.write_int(ptr + PTR_SIZE, units, PTR_SIZE)
        case Prim(kind):
            cx.write_int(ptr, v, _INT_SIZE[kind], signed=kind.startswith("s"))
        case List(element):
            begin = store_list(cx, element, v, what)
            cx.write_int(ptr, begin, PTR_SIZE)
            cx.write_int(ptr + PTR_SIZE, len(v), PTR_SIZE)
        case Record() | Tuple():
            fields = zip(record_fields(t), field_values(t, v), field_offsets(t), strict=True)
            for (label, field), item, offset in fields:
                store_in(cx, field, item, ptr + offset, f"{path}.{label}")
        case Variant() | Enum() | Option() | Result():
            index, payload = case_index(t, v)
            cases = variant_cases(t)
            cx.write_int(ptr, index, discriminant_size(len(cases)))
            case = cases[index]
            if case.type is not None:
                store_in(cx, case.type, payload, ptr + payload_offset(t), f"{path}.{case.label}")
        case Flags(_, labels):
            bits = sum(1 << i for i, label in enumerate(labels) if label in v)
            cx.write_int(ptr, bits, size(t))
        case _:
            raise CanonicalABIError(f"not a WIT type: {t!r}")


def store_list(cx: Context, element: WitType, items: list[Any], what: str) -> int:
    """Store a list's elements in a block of their exact size from ``realloc``; its pointer."""
    stride = size(element)
    begin = cx.allocate(alignment(element), len(items) * stride, what)
    for i, item in enumerate(items):
        store_in(cx, element, item, begin + i * stride, f"{what}[{i}]")
    return begin


def load_in(cx: Context, t: WitType, ptr: int, path: str = "") -> Any:
    """Load from an aligned, in-bounds ``ptr``: the recursion under :func:`load`."""
    what = path or "the value"
    match t:
        case Prim("bool"):
            return cx.read_int(ptr, 1) != 0
        case Prim("f32"):
            return decode_f32(cx.read_int(ptr, 4))
        case Prim("f64"):
            return decode_f64(cx.read_int(ptr, 8))
        case Prim("char"):
            return char_from_int(cx.read_int(ptr, 4), what)
        case Prim("string"):
            return load_string(cx, cx.read_int(ptr, PTR_SIZE), cx.read_int(ptr + PTR_SIZE, PTR_SIZE), what)
        case Prim(kind):
            return cx.read_int(ptr, _INT_SIZE[kind], signed=kind.startswith("s"))
        case List(element):
            return load_list(cx, element, cx.read_int(ptr, PTR_SIZE), cx.read_int(ptr + PTR_SIZE, PTR_SIZE),
                             what)
        case Record() | Tuple():
            placed = zip(record_fields(t), field_offsets(t), strict=True)
            return make_record(t, [load_in(cx, field, ptr + offset, f"{path}.{label}")
                                   for (label, field), offset in placed])
        case Variant() | Enum() | Option() | Result():
            cases = variant_cases(t)
            index = cx.read_int(ptr, discriminant_size(len(cases)))
            if index >= len(cases):
                raise Trap(f"{what}: discriminant {index} at {ptr:#x}, but the type has {len(cases)} cases")
            case = cases[index]
            payload = None
            if case.type is not None:
                payload = load_in(cx, case.type, ptr + payload_offset(t), f"{path}.{case.label}")
            return make_case(t, index, payload)
        case Flags(_, labels):
            bits = cx.read_int(ptr, size(t))
            return frozenset(label for i, label in enumerate(labels) if bits >> i & 1)
    raise CanonicalABIError(f"not a WIT type: {t!r}")


def load_list(cx: Context, element: WitType, begin: int, length: int, what: str) -> list[Any]:
    """The ``length`` elements at ``begin``; :class:`Trap` if too long, misaligned or out of bounds."""
    stride = size(element)
    if length * stride > MAX_LIST_BYTE_LENGTH:
        raise Trap(f"{what}: {length} elements of {stride} bytes is longer than a list may be")
    cx.check_range(begin, length * stride, alignment(element), what)
    return [load_in(cx, element, begin + i * stride, f"{what}[{i}]") for i in range(length)]


def _check_pointer(ptr: object) -> None:
    if type(ptr) is not int or ptr < 0:
        raise CanonicalABIError(f"a pointer is an int >= 0, not {ptr!r}")


def store(
    t: WitType,
    value: Any,
    memory: bytearray,
    ptr: int,
    *,
    realloc: Realloc | None = None,
    string_encoding: StringEncoding = "utf8",
    source_encoding: StringEncoding = "utf8",
) -> None:
    """Store ``value`` (of type ``t``) at ``ptr`` in ``memory`` ("store").

    ``ptr`` must be ``alignment(t)``-aligned with ``size(t)`` bytes in memory
    (else :class:`Trap`: it is where a host would have a guest's pointer
    from). Strings and lists go into blocks from ``realloc`` (required if
    the value has any), strings in ``string_encoding``, allocated as for
    strings held in ``source_encoding`` (:mod:`.strings`). Raises
    :class:`~.values.AbiValueError` before writing anything if ``value`` is
    not of type ``t``.
    """
    check_value(t, value)
    _check_pointer(ptr)
    cx = Context(memory, string_encoding, realloc, source_encoding)
    cx.check_range(ptr, size(t), alignment(t), "store")
    store_in(cx, t, value, ptr)


def load(t: WitType, memory: bytearray | bytes, ptr: int, *, string_encoding: StringEncoding = "utf8") -> Any:
    """The value of type ``t`` at ``ptr`` in ``memory`` ("load"); :class:`Trap` on what the spec traps on."""
    _check_pointer(ptr)
    cx = Context(memory if isinstance(memory, bytearray) else bytearray(memory), string_encoding)
    cx.check_range(ptr, size(t), alignment(t), "load")
    return load_in(cx, t, ptr)
