"""Python values of WIT types: their shapes, checking, comparing, and their JSON form.

=================  ===============================================================
type               value
=================  ===============================================================
``bool``           ``bool``
``s8`` ... ``u64`` ``int`` in the type's range
``f32``, ``f64``   ``float`` (an ``f32`` must be exactly a binary32 value)
``char``           ``str`` of one Unicode scalar value (no surrogate)
``string``         ``str`` without surrogates
``list<T>``        ``list``
``record``         ``dict`` from every field label (no more) to its value
``tuple<...>``     ``tuple``
``variant``        :class:`Case` ``(label, value)``, value ``None`` for a case without payload
``enum``           ``str``, one of the labels
``option<T>``      ``None`` or :class:`Some` ``(value)``: ``Some(None)`` is the ``some``
                   of an ``option<option<T>>``, distinct from ``None``
``result<T, E>``   :class:`Ok` ``(value)`` or :class:`Err` ``(value)``, value ``None`` for a
                   side without payload
``flags``          a ``set`` or ``frozenset`` of the labels that are set (loads give a frozenset)
=================  ===============================================================

Floats follow CanonicalABI.md's NaN rules: every NaN loaded or lifted is the
canonical NaN (``0x7fc00000``, ``0x7ff8000000000000``), and this engine stores
and lowers every NaN as that NaN too (the spec's deterministic profile; the
spec lets a host store any NaN). :func:`same_value` therefore takes all NaNs
as one value, and tells ``-0.0`` from ``0.0``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

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

__all__ = [
    "CANONICAL_F32_NAN",
    "CANONICAL_F64_NAN",
    "AbiValueError",
    "Case",
    "Err",
    "Ok",
    "Some",
    "check_value",
    "f32_bits",
    "f32_from_bits",
    "f64_bits",
    "f64_from_bits",
    "int_range",
    "same_value",
    "value_from_json",
    "value_to_json",
]

T = TypeVar("T")

CANONICAL_F32_NAN: Final = 0x7FC00000
CANONICAL_F64_NAN: Final = 0x7FF8000000000000


class AbiValueError(CanonicalABIError):
    """A value that is not of its type: wrong shape, out of range, an unknown label, a surrogate."""


@dataclass(frozen=True, slots=True)
class Case:
    """A variant's value: its case ``label`` and payload ``value`` (``None`` without a payload)."""

    label: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Some(Generic[T]):
    """The ``some`` of an option."""

    value: T


@dataclass(frozen=True, slots=True)
class Ok(Generic[T]):
    """The ``ok`` of a result (``Ok()`` when the result has no ok type)."""

    value: T | None = None


@dataclass(frozen=True, slots=True)
class Err(Generic[T]):
    """The ``error`` of a result (``Err()`` when the result has no error type)."""

    value: T | None = None


_INT_BITS: Final = {"s8": 8, "u8": 8, "s16": 16, "u16": 16, "s32": 32, "u32": 32, "s64": 64, "u64": 64}


def int_range(kind: str) -> tuple[int, int]:
    """The inclusive range of an integer type (``"s8"`` ... ``"u64"``)."""
    bits = _INT_BITS[kind]
    if kind.startswith("s"):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def f32_bits(x: float) -> int:
    """The binary32 bit pattern of ``x`` (which must be exactly a binary32 value, or NaN)."""
    return int.from_bytes(struct.pack("<f", x), "little")


def f32_from_bits(bits: int) -> float:
    value: float = struct.unpack("<f", bits.to_bytes(4, "little"))[0]
    return value


def f64_bits(x: float) -> int:
    return int.from_bytes(struct.pack("<d", x), "little")


def f64_from_bits(bits: int) -> float:
    value: float = struct.unpack("<d", bits.to_bytes(8, "little"))[0]
    return value


def _is_f32(x: float) -> bool:
    if math.isnan(x) or math.isinf(x):
        return True
    try:
        return f32_from_bits(f32_bits(x)) == x
    except OverflowError:
        return False


def _is_usv(c: str) -> bool:
    return not 0xD800 <= ord(c) <= 0xDFFF


def check_value(t: WitType, v: object, path: str = "") -> None:
    """Raise :class:`AbiValueError`, naming the path (``.f0[2].some``), if ``v`` is not a value of ``t``."""
    where = path or "the value"

    def fail(why: str) -> AbiValueError:
        return AbiValueError(f"{where}: {why}, got {v!r}")

    match t:
        case Prim("bool"):
            if type(v) is not bool:
                raise fail("a bool takes True or False")
        case Prim("f32" | "f64"):
            if type(v) is not float:
                raise fail(f"a {t.kind} takes a float")
            if t.kind == "f32" and not _is_f32(v):
                raise fail("an f32 takes a float that binary32 holds exactly")
        case Prim("char"):
            if type(v) is not str or len(v) != 1 or not _is_usv(v):
                raise fail("a char takes one Unicode scalar value (a str of length 1, no surrogate)")
        case Prim("string"):
            if type(v) is not str:
                raise fail("a string takes a str")
            if not all(map(_is_usv, v)):
                raise fail("a string holds Unicode scalar values, not surrogates")
        case Prim(kind):
            lo, hi = int_range(kind)
            if type(v) is not int or not lo <= v <= hi:
                raise fail(f"a {kind} takes an int in [{lo}, {hi}]")
        case List(element):
            if type(v) is not list:
                raise fail("a list takes a list")
            for i, item in enumerate(v):
                check_value(element, item, f"{path}[{i}]")
        case Record(name, fields):
            labels = [f.label for f in fields]
            if not isinstance(v, Mapping) or sorted(v) != sorted(labels):
                raise fail(f"record {name} takes a dict with exactly the keys {labels}")
            for f in fields:
                check_value(f.type, v[f.label], f"{path}.{f.label}")
        case Tuple(types):
            if type(v) is not tuple or len(v) != len(types):
                raise fail(f"a tuple of {len(types)} takes a tuple of that length")
            for i, (item_type, item) in enumerate(zip(types, v, strict=True)):
                check_value(item_type, item, f"{path}.{i}")
        case Variant(name, cases):
            if not isinstance(v, Case):
                raise fail(f"variant {name} takes a Case")
            for c in cases:
                if c.label == v.label:
                    if c.type is None:
                        if v.value is not None:
                            raise fail(f"case {c.label} has no payload")
                    else:
                        check_value(c.type, v.value, f"{path}.{c.label}")
                    break
            else:
                raise fail(f"variant {name} has no case {v.label!r}")
        case Enum(name, labels):
            if type(v) is not str or v not in labels:
                raise fail(f"enum {name} takes one of {list(labels)}")
        case Option(inner):
            if v is not None:
                if not isinstance(v, Some):
                    raise fail("an option takes None or Some(value)")
                check_value(inner, v.value, f"{path}.some")
        case Result(ok, error):
            if not isinstance(v, Ok | Err):
                raise fail("a result takes Ok(value) or Err(value)")
            side, label = (ok, "ok") if isinstance(v, Ok) else (error, "error")
            if side is None:
                if v.value is not None:
                    raise fail(f"this result has no {label} type")
            else:
                check_value(side, v.value, f"{path}.{label}")
        case Flags(name, labels):
            if not isinstance(v, set | frozenset) or not v <= set(labels):
                raise fail(f"flags {name} takes a set of its labels {list(labels)}")
        case _:
            raise AbiValueError(f"not a WIT type: {t!r}")


def same_value(a: object, b: object) -> bool:
    """Whether two values are the same WIT value: floats by bits, every NaN alike, bool is not int."""
    if type(a) is not type(b) and not (isinstance(a, set | frozenset) and isinstance(b, set | frozenset)):
        return False
    if isinstance(a, float):
        assert isinstance(b, float)
        return (math.isnan(a) and math.isnan(b)) or f64_bits(a) == f64_bits(b)
    if isinstance(a, list | tuple):
        assert isinstance(b, list | tuple)
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, Case):
        assert isinstance(b, Case)
        return a.label == b.label and same_value(a.value, b.value)
    if isinstance(a, Some | Ok | Err):
        assert isinstance(b, Some | Ok | Err)
        return same_value(a.value, b.value)
    return a == b


def value_to_json(t: WitType, v: Any) -> Any:
    """``v`` (a value of ``t``) as JSON data, without loss.

    Floats are their bit patterns (an int), so NaN, infinities and ``-0.0``
    survive; a tuple is an array; a variant ``{"case": label, "value": v}``;
    an option ``null`` or ``{"some": v}``; a result ``{"ok": v}`` or
    ``{"error": v}``; flags the array of labels set, in declaration order.
    """
    match t:
        case Prim("f32"):
            return f32_bits(v)
        case Prim("f64"):
            return f64_bits(v)
        case Prim():
            return v
        case List(element):
            return [value_to_json(element, x) for x in v]
        case Record(_, fields):
            return {f.label: value_to_json(f.type, v[f.label]) for f in fields}
        case Tuple(types):
            return [value_to_json(x, y) for x, y in zip(types, v, strict=True)]
        case Variant(_, cases):
            case_type = next(c.type for c in cases if c.label == v.label)
            payload = None if case_type is None else value_to_json(case_type, v.value)
            return {"case": v.label, "value": payload}
        case Enum():
            return v
        case Option(inner):
            return None if v is None else {"some": value_to_json(inner, v.value)}
        case Result(ok, error):
            side, key = (ok, "ok") if isinstance(v, Ok) else (error, "error")
            return {key: None if side is None else value_to_json(side, v.value)}
        case Flags(_, labels):
            return [label for label in labels if label in v]
    raise AbiValueError(f"not a WIT type: {t!r}")


def value_from_json(t: WitType, j: Any) -> Any:
    """The value :func:`value_to_json` gave ``j`` for (checked: :class:`AbiValueError` if it is not one)."""
    try:
        v = _from_json(t, j)
    except (KeyError, TypeError, ValueError, AttributeError, StopIteration) as e:
        if isinstance(e, AbiValueError):
            raise
        raise AbiValueError(f"not a value of {t!r} in JSON: {j!r} ({e})") from e
    check_value(t, v)
    return v


def _maybe_from_json(t: WitType | None, j: Any) -> Any:
    return None if t is None else _from_json(t, j)


def _from_json(t: WitType, j: Any) -> Any:
    match t:
        case Prim("f32"):
            return f32_from_bits(j)
        case Prim("f64"):
            return f64_from_bits(j)
        case Prim():
            return j
        case List(element):
            return [_from_json(element, x) for x in j]
        case Record(_, fields):
            return {f.label: _from_json(f.type, j[f.label]) for f in fields}
        case Tuple(types):
            return tuple(_from_json(x, y) for x, y in zip(types, j, strict=True))
        case Variant(_, cases):
            case_type = next(c.type for c in cases if c.label == j["case"])
            return Case(j["case"], _maybe_from_json(case_type, j["value"]))
        case Enum():
            return j
        case Option(inner):
            return None if j is None else Some(_from_json(inner, j["some"]))
        case Result(ok, error):
            if "ok" in j:
                return Ok(_maybe_from_json(ok, j["ok"]))
            return Err(_maybe_from_json(error, j["error"]))
        case Flags():
            return frozenset(j)
    raise AbiValueError(f"not a WIT type: {t!r}")
