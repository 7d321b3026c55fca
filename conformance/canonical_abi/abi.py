"""Where a WIT type's value lies in linear memory, and which core values carry it.

The rules, for a 32-bit memory (CanonicalABI.md, "Despecialization",
"Alignment", "Element Size", "Flattening"):

- ``tuple``, ``enum``, ``option`` and ``result`` are laid out as the record or
  variant they stand for: a tuple as a record of its types, an enum as a
  variant of payload-less cases, ``option<T>`` as ``variant { none, some(T) }``,
  ``result<T, E>`` as ``variant { ok(T), error(E) }``.
- Scalars: ``bool``, ``s8``, ``u8`` 1 byte; ``s16``, ``u16`` 2; ``s32``,
  ``u32``, ``f32``, ``char`` 4; ``s64``, ``u64``, ``f64`` 8. Size = alignment.
- ``string`` and ``list<T>``: a pointer and a length, 8 bytes, 4-aligned.
- A record: each field at the next multiple of its alignment; alignment the
  largest of its fields'; size rounded up to that.
- A variant: its discriminant, the smallest of ``u8``, ``u16``, ``u32`` that
  numbers its cases (:func:`discriminant_size`); the payload at the next
  multiple of the largest alignment of any case's type; alignment the larger
  of the discriminant's and the payloads'; size rounded up to it.
- Flags: a bit per label, label 0 the lowest bit, in 1, 2 or 4 bytes
  (up to 8, 16, 32 labels).

Flattening turns a type into core value types: a string or list is ``[i32,
i32]``, a record its fields' in order, a variant its discriminant's ``i32``
followed by, slot by slot, the *join* of its cases' flat types (equal types
stay, ``i32`` with ``f32`` is ``i32``, anything else ``i64``). A function
whose flat parameters would be more than :data:`MAX_FLAT_PARAMS` takes one
pointer instead; results more than :data:`MAX_FLAT_RESULTS` go through
memory (:func:`flatten_functype`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Literal, TypeAlias

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
    VariantCase,
    WitType,
)
from .values import Case, Err, Ok, Some

__all__ = [
    "MAX_FLAT_PARAMS",
    "MAX_FLAT_RESULTS",
    "PTR_SIZE",
    "CoreFuncType",
    "CoreType",
    "align_to",
    "alignment",
    "case_index",
    "discriminant_size",
    "field_offsets",
    "field_values",
    "flatten",
    "flatten_functype",
    "flatten_types",
    "join",
    "make_case",
    "make_record",
    "padding",
    "payload_offset",
    "record_fields",
    "size",
    "variant_cases",
]

CoreType: TypeAlias = Literal["i32", "i64", "f32", "f64"]

MAX_FLAT_PARAMS: Final = 16
MAX_FLAT_RESULTS: Final = 1
PTR_SIZE: Final = 4
"""Bytes in a pointer or a length: this engine lays out for 32-bit memories only."""

_PRIM_SIZE: Final = {
    "bool": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "s32": 4, "u32": 4, "s64": 8, "u64": 8,
    "f32": 4, "f64": 8, "char": 4,
}
_PRIM_FLAT: Final[dict[str, CoreType]] = {
    "bool": "i32", "s8": "i32", "u8": "i32", "s16": "i32", "u16": "i32", "s32": "i32", "u32": "i32",
    "s64": "i64", "u64": "i64", "f32": "f32", "f64": "f64", "char": "i32",
}

def align_to(n: int, alignment: int) -> int:
    """``n`` rounded up to a multiple of ``alignment``."""
    return -(-n // alignment) * alignment


@cache
def record_fields(t: Record | Tuple) -> tuple[tuple[str, WitType], ...]:
    """A record's fields as ``(label, type)``; a tuple's types, labelled ``0``, ``1``, ...

    ("Despecialization": a tuple is the record of its types.)
    """
    if isinstance(t, Tuple):
        return tuple((str(i), x) for i, x in enumerate(t.types))
    return tuple((f.label, f.type) for f in t.fields)


def field_values(t: Record | Tuple, v: Any) -> list[Any]:
    """A (checked) record's or tuple's values, in field order."""
    if isinstance(t, Tuple):
        return list(v)
    return [v[f.label] for f in t.fields]


def make_record(t: Record | Tuple, items: Sequence[Any]) -> Any:
    """The record (a dict) or tuple of these values in field order: the inverse of :func:`field_values`."""
    if isinstance(t, Tuple):
        return tuple(items)
    return {f.label: x for f, x in zip(t.fields, items, strict=True)}


@cache
def variant_cases(t: Variant | Enum | Option | Result) -> tuple[VariantCase, ...]:
    """The cases a variant-like type stands for ("Despecialization"): an enum's have no payload,
    an option's are ``none`` and ``some(T)``, a result's ``ok(T)`` and ``error(E)``."""
    match t:
        case Variant(_, cases):
            return cases
        case Enum(_, labels):
            return tuple(VariantCase(label) for label in labels)
        case Option(inner):
            return (VariantCase("none"), VariantCase("some", inner))
        case Result(ok, error):
            return (VariantCase("ok", ok), VariantCase("error", error))
    raise CanonicalABIError(f"not a variant-like type: {t!r}")


def case_index(t: Variant | Enum | Option | Result, v: Any) -> tuple[int, Any]:
    """The case number of a (checked) value of a variant-like type, and its payload."""
    match t:
        case Variant(_, cases):
            return next(i for i, c in enumerate(cases) if c.label == v.label), v.value
        case Enum(_, labels):
            return labels.index(v), None
        case Option():
            return (0, None) if v is None else (1, v.value)
        case Result():
            return (0, v.value) if isinstance(v, Ok) else (1, v.value)
    raise CanonicalABIError(f"not a variant-like type: {t!r}")


def make_case(t: Variant | Enum | Option | Result, index: int, payload: Any) -> Any:
    """The value of case ``index`` with ``payload``: the inverse of :func:`case_index`."""
    match t:
        case Variant(_, cases):
            return Case(cases[index].label, payload)
        case Enum(_, labels):
            return labels[index]
        case Option():
            return None if index == 0 else Some(payload)
        case Result():
            return Ok(payload) if index == 0 else Err(payload)
    raise CanonicalABIError(f"not a variant-like type: {t!r}")


def discriminant_size(case_count: int) -> int:
    """Bytes of a variant's discriminant: 1 up to 256 cases, 2 up to 65536, else 4 ("Alignment")."""
    if not 0 < case_count < (1 << 32):
        raise CanonicalABIError(f"a variant has 1 to 2**32 - 1 cases, not {case_count}")
    if case_count <= 1 << 8:
        return 1
    if case_count <= 1 << 16:
        return 2
    return 4


def _flags_size(label_count: int) -> int:
    return 1 if label_count <= 8 else 2 if label_count <= 16 else 4


def _max_case_alignment(cases: Sequence[VariantCase]) -> int:
    return max((alignment(c.type) for c in cases if c.type is not None), default=1)


@cache
def alignment(t: WitType) -> int:
    """The type's alignment in bytes (CanonicalABI.md, "Alignment")."""
    match t:
        case Prim("string"):
            return PTR_SIZE
        case Prim(kind):
            return _PRIM_SIZE[kind]
        case List():
            return PTR_SIZE
        case Record() | Tuple():
            return max(alignment(x) for _, x in record_fields(t))
        case Variant() | Enum() | Option() | Result():
            cases = variant_cases(t)
            return max(discriminant_size(len(cases)), _max_case_alignment(cases))
        case Flags(_, labels):
            return _flags_size(len(labels))
    raise CanonicalABIError(f"not a WIT type: {t!r}")


@cache
def field_offsets(t: Record | Tuple) -> tuple[int, ...]:
    """Each field's offset from the record's start (a tuple's fields are its types)."""
    offsets: list[int] = []
    end = 0
    for _, x in record_fields(t):
        end = align_to(end, alignment(x))
        offsets.append(end)
        end += size(x)
    return tuple(offsets)


@cache
def payload_offset(t: Variant | Enum | Option | Result) -> int:
    """Where a variant's payload starts: after the discriminant, at the largest case alignment."""
    cases = variant_cases(t)
    return align_to(discriminant_size(len(cases)), _max_case_alignment(cases))


@cache
def size(t: WitType) -> int:
    """The type's size in bytes, its stride as a list element (CanonicalABI.md, "Element Size")."""
    match t:
        case Prim("string"):
            return 2 * PTR_SIZE
        case Prim(kind):
            return _PRIM_SIZE[kind]
        case List():
            return 2 * PTR_SIZE
        case Record() | Tuple():
            last = record_fields(t)[-1][1]
            return align_to(field_offsets(t)[-1] + size(last), alignment(t))
        case Variant() | Enum() | Option() | Result():
            largest = max((size(c.type) for c in variant_cases(t) if c.type is not None), default=0)
            return align_to(payload_offset(t) + largest, alignment(t))
        case Flags(_, labels):
            return _flags_size(len(labels))
    raise CanonicalABIError(f"not a WIT type: {t!r}")


def join(a: CoreType, b: CoreType) -> CoreType:
    """The core type that carries either of two cases' values in one slot ("Flattening")."""
    if a == b:
        return a
    if {a, b} == {"i32", "f32"}:
        return "i32"
    return "i64"


@cache
def flatten(t: WitType) -> tuple[CoreType, ...]:
    """The core value types that carry a value of ``t`` (CanonicalABI.md, "Flattening")."""
    match t:
        case Prim("string") | List():
            return ("i32", "i32")
        case Prim(kind):
            return (_PRIM_FLAT[kind],)
        case Record() | Tuple():
            return tuple(x for _, field in record_fields(t) for x in flatten(field))
        case Variant() | Enum() | Option() | Result():
            slots: list[CoreType] = []
            for c in variant_cases(t):
                if c.type is None:
                    continue
                for i, x in enumerate(flatten(c.type)):
                    if i < len(slots):
                        slots[i] = join(slots[i], x)
                    else:
                        slots.append(x)
            return ("i32", *slots)  # every discriminant size flattens to an i32
        case Flags():
            return ("i32",)
    raise CanonicalABIError(f"not a WIT type: {t!r}")


def flatten_types(ts: Sequence[WitType]) -> tuple[CoreType, ...]:
    """The flat types of several values in a row (a function's parameters)."""
    return tuple(x for t in ts for x in flatten(t))


@dataclass(frozen=True, slots=True)
class CoreFuncType:
    """A core function's type: its parameter and result core types."""

    params: tuple[CoreType, ...]
    results: tuple[CoreType, ...]

    def __str__(self) -> str:
        params = f" (param {' '.join(self.params)})" if self.params else ""
        results = f" (result {' '.join(self.results)})" if self.results else ""
        return f"(func{params}{results})"


def flatten_functype(
    params: Sequence[WitType], results: Sequence[WitType], *, context: Literal["lift", "lower"]
) -> CoreFuncType:
    """The core type of a synchronous function of these parameter and result types ("Flattening").

    Over :data:`MAX_FLAT_PARAMS` flat parameters become one ``i32``, a pointer
    to them as a tuple in memory. Over :data:`MAX_FLAT_RESULTS` flat results
    are returned through memory: for ``canon lift`` (the core function is the
    callee) as an ``i32`` result pointing at them; for ``canon lower`` (the
    core code calls an import) as a last ``i32`` parameter, where the caller
    has room for them, and no result.
    """
    if context not in ("lift", "lower"):
        raise CanonicalABIError(f"context is 'lift' or 'lower', not {context!r}")
    flat_params = flatten_types(params)
    flat_results = flatten_types(results)
    if len(flat_params) > MAX_FLAT_PARAMS:
        flat_params = ("i32",)
    if len(flat_results) > MAX_FLAT_RESULTS:
        if context == "lift":
            flat_results = ("i32",)
        else:
            flat_params, flat_results = (*flat_params, "i32"), ()
    return CoreFuncType(flat_params, flat_results)


def _written(t: WitType, v: Any, offset: int) -> Iterator[tuple[int, int]]:
    """The ``(offset, length)`` runs a store of ``v`` writes in ``t``'s own bytes."""
    match t:
        case Record() | Tuple():
            fields = zip(record_fields(t), field_values(t, v), field_offsets(t), strict=True)
            for (_, field), item, off in fields:
                yield from _written(field, item, offset + off)
        case Variant() | Enum() | Option() | Result():
            index, payload = case_index(t, v)
            cases = variant_cases(t)
            yield offset, discriminant_size(len(cases))
            case_type = cases[index].type
            if case_type is not None:
                yield from _written(case_type, payload, offset + payload_offset(t))
        case _:
            yield offset, size(t)


def padding(t: WitType, v: Any) -> list[tuple[int, int]]:
    """The bytes of ``t``'s ``size(t)`` that storing ``v`` leaves as they were, as ``(offset, length)`` runs.

    The spec's ``store`` writes every scalar, pointer and length and nothing
    else: the gaps between record fields, the tail up to the size, and in a
    variant the bytes between the discriminant and the payload and the bytes
    past *this* case's payload. So a variant's padding depends on its value.
    (Inside a list or string, stored elsewhere, the same holds per element.)
    """
    covered = bytearray(size(t))
    for off, n in _written(t, v, 0):
        covered[off:off + n] = b"\x01" * n
    return [(m.start(), m.end() - m.start()) for m in re.finditer(b"\x00+", bytes(covered))]
