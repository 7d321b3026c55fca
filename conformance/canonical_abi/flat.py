"""Values as core values: lowering to and lifting from flat ``i32``/``i64``/``f32``/``f64`` values.

CanonicalABI.md, "Flat Lifting", "Flat Lowering", "Lifting and Lowering
Values". A flat ``i32`` or ``i64`` is an unsigned ``int`` (``[0, 2**32)``,
``[0, 2**64)``), a flat ``f32`` or ``f64`` a ``float``; :func:`lower` gives
one per :func:`~.abi.flatten` type, :func:`lift` takes as many.

Signed integers lower to their two's complement in 32 or 64 bits; lifting
keeps only the type's own low bits (an ``u8`` lifted from ``0x1ff`` is
``0xff``, as the spec does: no trap). In a variant, a case's value goes into
the joined slot types: an ``f32`` into an ``i32`` or ``i64`` slot as its bits,
an ``i32`` into an ``i64`` slot as it is, an ``f64`` into an ``i64`` as its
bits; the slots the case does not use are zero (``0.0`` in a float slot).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from .abi import (
    CoreType,
    alignment,
    case_index,
    field_values,
    flatten,
    flatten_types,
    make_case,
    make_record,
    record_fields,
    size,
    variant_cases,
)
from .context import Context, Realloc, StringEncoding, Trap
from .memory import (
    char_from_int,
    decode_f32,
    decode_f64,
    encode_f32,
    encode_f64,
    load_in,
    load_list,
    store_in,
    store_list,
)
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
from .values import check_value, f32_bits, f32_from_bits, f64_bits, f64_from_bits

__all__ = ["CoreValue", "lift", "lift_values", "lower", "lower_values"]

CoreValue: TypeAlias = int | float

_BITS = {"s8": 8, "u8": 8, "s16": 16, "u16": 16, "s32": 32, "u32": 32, "s64": 64, "u64": 64}


def lower_in(cx: Context, t: WitType, v: Any, path: str = "") -> list[CoreValue]:
    """The flat values of a checked value: the recursion under :func:`lower`."""
    what = path or "the value"
    match t:
        case Prim("bool"):
            return [int(v)]
        case Prim("f32"):
            return [f32_from_bits(encode_f32(v))]
        case Prim("f64"):
            return [f64_from_bits(encode_f64(v))]
        case Prim("char"):
            return [ord(v)]
        case Prim("string"):
            return list(store_string(cx, v, what))
        case Prim(kind):
            core_bits = 64 if _BITS[kind] == 64 else 32
            return [v % (1 << core_bits)]
        case List(element):
            return [store_list(cx, element, v, what), len(v)]
        case Record() | Tuple():
            flat: list[CoreValue] = []
            for (label, field), item in zip(record_fields(t), field_values(t, v), strict=True):
                flat += lower_in(cx, field, item, f"{path}.{label}")
            return flat
        case Variant() | Enum() | Option() | Result():
            index, payload = case_index(t, v)
            case = variant_cases(t)[index]
            slots = flatten(t)[1:]
            values: list[CoreValue] = []
            if case.type is not None:
                own = flatten(case.type)
                lowered = lower_in(cx, case.type, payload, f"{path}.{case.label}")
                values = [_widen(x, have, want) for x, have, want in zip(lowered, own, slots, strict=False)]
            values += [0.0 if slot in ("f32", "f64") else 0 for slot in slots[len(values):]]
            return [index, *values]
        case Flags(_, labels):
            return [sum(1 << i for i, label in enumerate(labels) if label in v)]
    raise CanonicalABIError(f"not a WIT type: {t!r}")


def _widen(x: CoreValue, have: CoreType, want: CoreType) -> CoreValue:
    """A case's flat value in its variant's joined slot type."""
    if have == want:
        return x
    if have == "f32":  # into i32 or i64
        assert isinstance(x, float)
        return encode_f32(x)
    if have == "f64":  # into i64
        assert isinstance(x, float)
        return encode_f64(x)
    return x  # i32 into i64


class _Flat:
    """The flat values being lifted, checked against their core types, taken one at a time."""

    def __init__(self, values: Sequence[CoreValue], types: Sequence[CoreType]) -> None:
        if len(values) != len(types):
            expected = f"{len(types)} flat values ({' '.join(types)})"
            raise CanonicalABIError(f"{expected} expected, got {len(values)}")
        for i, (x, core) in enumerate(zip(values, types, strict=True)):
            ok = (type(x) is int and 0 <= x < (1 << int(core[1:]))) if core[0] == "i" else type(x) is float
            if not ok:
                raise CanonicalABIError(f"flat value {i} should be an {core}, got {x!r}")
        self._values = iter(values)

    def next(self, want: CoreType) -> CoreValue:
        return next(self._values)


class _Payload:
    """A variant's payload slots (the joined types), read as a case's own flat types."""

    def __init__(self, outer: _Flat | _Payload, slots: Sequence[CoreType]) -> None:
        self._outer = outer
        self._slots = list(slots)

    def next(self, want: CoreType) -> CoreValue:
        have = self._slots.pop(0)
        return _narrow(self._outer.next(have), have, want)

    def skip_rest(self) -> None:
        for have in self._slots:
            self._outer.next(have)


def _narrow(x: CoreValue, have: CoreType, want: CoreType) -> CoreValue:
    """A value from a variant's joined slot, back in the case's own flat type."""
    if have == want:
        return x
    assert isinstance(x, int)
    if want == "f64":
        return f64_from_bits(x)
    x %= 1 << 32  # i64 into i32 or f32 wraps first
    return f32_from_bits(x) if want == "f32" else x


def lift_in(cx: Context, t: WitType, flat: _Flat | _Payload, path: str = "") -> Any:
    """Lift from flat values: the recursion under :func:`lift`."""
    what = path or "the value"

    def take_int(core: CoreType = "i32") -> int:
        x = flat.next(core)
        assert isinstance(x, int)
        return x

    match t:
        case Prim("bool"):
            return take_int() != 0
        case Prim("f32"):
            return decode_f32(f32_bits(flat.next("f32")))
        case Prim("f64"):
            return decode_f64(f64_bits(flat.next("f64")))
        case Prim("char"):
            return char_from_int(take_int(), what)
        case Prim("string"):
            ptr = take_int()
            return load_string(cx, ptr, take_int(), what)
        case Prim(kind):
            bits = _BITS[kind]
            x = take_int("i64" if bits == 64 else "i32") % (1 << bits)
            return x - (1 << bits) if kind.startswith("s") and x >= 1 << (bits - 1) else x
        case List(element):
            ptr = take_int()
            return load_list(cx, element, ptr, take_int(), what)
        case Record() | Tuple():
            return make_record(t, [lift_in(cx, field, flat, f"{path}.{label}")
                                   for label, field in record_fields(t)])
        case Variant() | Enum() | Option() | Result():
            cases = variant_cases(t)
            index = take_int()
            if index >= len(cases):
                raise Trap(f"{what}: discriminant {index}, but the type has {len(cases)} cases")
            payload_slots = _Payload(flat, flatten(t)[1:])
            case = cases[index]
            payload = None
            if case.type is not None:
                payload = lift_in(cx, case.type, payload_slots, f"{path}.{case.label}")
            payload_slots.skip_rest()
            return make_case(t, index, payload)
        case Flags(_, labels):
            bits = take_int()
            return frozenset(label for i, label in enumerate(labels) if bits >> i & 1)
    raise CanonicalABIError(f"not a WIT type: {t!r}")


def lower(
    t: WitType,
    value: Any,
    memory: bytearray | None = None,
    *,
    realloc: Realloc | None = None,
    string_encoding: StringEncoding = "utf8",
    source_encoding: StringEncoding = "utf8",
) -> list[CoreValue]:
    """The flat values of ``value`` ("lower_flat"); strings and lists go into ``memory`` by ``realloc``."""
    check_value(t, value)
    cx = Context(bytearray() if memory is None else memory, string_encoding, realloc, source_encoding)
    return lower_in(cx, t, value)


def lift(
    t: WitType,
    flat: Sequence[CoreValue],
    memory: bytearray | bytes | None = None,
    *,
    string_encoding: StringEncoding = "utf8",
) -> Any:
    """The value the flat values carry ("lift_flat"); :class:`Trap` on what the spec traps on."""
    cx = Context(_as_bytearray(memory), string_encoding)
    return lift_in(cx, t, _Flat(flat, flatten(t)))


def _as_bytearray(memory: bytearray | bytes | None) -> bytearray:
    if memory is None:
        return bytearray()
    return memory if isinstance(memory, bytearray) else bytearray(memory)


def lower_values(
    types: Sequence[WitType],
    values: Sequence[Any],
    *,
    max_flat: int,
    memory: bytearray | None = None,
    realloc: Realloc | None = None,
    string_encoding: StringEncoding = "utf8",
    source_encoding: StringEncoding = "utf8",
    out_ptr: int | None = None,
) -> list[CoreValue]:
    """A function's parameters or results as flat values ("lower_flat_values").

    Up to ``max_flat`` flat values (:data:`~.abi.MAX_FLAT_PARAMS`,
    :data:`~.abi.MAX_FLAT_RESULTS`) they are the values' own; past that the
    values are stored as one tuple, at ``out_ptr`` if given (a caller's
    return area: then no flat values) or else in a block from ``realloc``
    (then its pointer is the one flat value).
    """
    if len(types) != len(values):
        raise CanonicalABIError(f"{len(types)} types but {len(values)} values")
    for i, (t, v) in enumerate(zip(types, values, strict=True)):
        check_value(t, v, f"value {i}")
    cx = Context(bytearray() if memory is None else memory, string_encoding, realloc, source_encoding)
    if len(flatten_types(types)) <= max_flat:
        return [x for i, (t, v) in enumerate(zip(types, values, strict=True))
                for x in lower_in(cx, t, v, f"value {i}")]
    spilled = Tuple(tuple(types))
    if out_ptr is None:
        ptr = cx.allocate(alignment(spilled), size(spilled), "values")
    else:
        ptr = out_ptr
        cx.check_range(ptr, size(spilled), alignment(spilled), "values")
    store_in(cx, spilled, tuple(values), ptr)
    return [] if out_ptr is not None else [ptr]


def lift_values(
    types: Sequence[WitType],
    flat: Sequence[CoreValue],
    *,
    max_flat: int,
    memory: bytearray | bytes | None = None,
    string_encoding: StringEncoding = "utf8",
) -> list[Any]:
    """A function's parameters or results from flat values ("lift_flat_values"): past ``max_flat``
    flat values, the one flat value points to them as a tuple in memory."""
    cx = Context(_as_bytearray(memory), string_encoding)
    if len(flatten_types(types)) <= max_flat:
        it = _Flat(flat, flatten_types(types))
        return [lift_in(cx, t, it, f"value {i}") for i, t in enumerate(types)]
    ptr = _Flat(flat, ["i32"]).next("i32")
    assert isinstance(ptr, int)
    spilled = Tuple(tuple(types))
    cx.check_range(ptr, size(spilled), alignment(spilled), "values")
    return list(load_in(cx, spilled, ptr))
