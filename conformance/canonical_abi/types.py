"""WIT value types as frozen dataclasses, and their JSON form.

The types are those of the Component Model's ``defvaltype`` (Explainer.md,
"Type definitions") that carry data by value; handles, streams, futures,
``error-context``, ``map`` and fixed-length lists are not here::

    Record("point", (Field("x", S32), Field("y", S32)))     # record point { x: s32, y: s32 }
    Option(List(STRING))                                   # option<list<string>>
    Result(U8, None)                                       # result<u8>

- :class:`Prim` ``(kind)``: one of :data:`PRIM_KINDS`; the constants
  :data:`BOOL`, :data:`S8` ... :data:`STRING` are the only ones needed.
- :class:`List` ``(element)``: ``list<T>``.
- :class:`Record` ``(name, fields)``, fields :class:`Field` ``(label, type)``.
- :class:`Tuple` ``(types)``: ``tuple<...>``, at least one type.
- :class:`Variant` ``(name, cases)``, cases :class:`VariantCase` ``(label, type or None)``.
- :class:`Enum` ``(name, labels)``, :class:`Flags` ``(name, labels)``.
- :class:`Option` ``(type)``, :class:`Result` ``(ok, error)`` (either may be None).

Record, variant, enum and flags are nominal in WIT: they have a ``name``,
which (like every label) is a WIT identifier (:func:`is_wit_identifier`).
The rules of the type grammar are enforced on construction
(:class:`WitTypeError`): records, tuples, variants, enums and flags are never
empty (Explainer.md's ``+``); labels are unique within their type, compared
without case (the labels are *strongly-unique*); flags have at most 32 labels
(CanonicalABI.md, "Alignment": ``assert(0 < n <= 32)``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, get_args

__all__ = [
    "BOOL",
    "CHAR",
    "F32",
    "F64",
    "MAX_FLAGS",
    "PRIM_KINDS",
    "S8",
    "S16",
    "S32",
    "S64",
    "STRING",
    "U8",
    "U16",
    "U32",
    "U64",
    "WIT_KEYWORDS",
    "CanonicalABIError",
    "Enum",
    "Field",
    "Flags",
    "List",
    "Nominal",
    "Option",
    "Prim",
    "PrimKind",
    "Record",
    "Result",
    "Tuple",
    "Variant",
    "VariantCase",
    "WitType",
    "WitTypeError",
    "children",
    "is_wit_identifier",
    "nominal_types",
    "type_from_json",
    "type_to_json",
]

PrimKind: TypeAlias = Literal[
    "bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64", "char", "string"
]
PRIM_KINDS: Final[tuple[PrimKind, ...]] = get_args(PrimKind)

MAX_FLAGS: Final = 32
"""The most labels a ``flags`` type may have (the spec dropped larger flags in 2023)."""

# WIT.md, "Keywords": these need a '%' in front to be used as identifiers.
WIT_KEYWORDS: Final = frozenset("""
    as async bool borrow char constructor enum export f32 f64 flags from func future import include
    interface list map option own package record resource result s16 s32 s64 s8 static stream
    string tuple type u16 u32 u64 u8 use variant with world
""".split())

# Explainer.md, "Import and export names": label ::= first-fragment ('-' fragment)*, where a
# fragment is all lower-case ([a-z] first in the first one) or all upper-case (an acronym).
_LABEL: Final = re.compile(r"(?:[a-z][0-9a-z]*|[A-Z][0-9A-Z]*)(?:-(?:[0-9a-z]+|[0-9A-Z]+))*\Z")


class CanonicalABIError(ValueError):
    """Base of the canonical ABI engine's errors (a :class:`Trap` is not one: it is the guest's fault)."""


class WitTypeError(CanonicalABIError):
    """A type the Component Model does not allow: empty, a bad label, two labels alike, 33 flags."""


def is_wit_identifier(name: object) -> bool:
    """Whether ``name`` is a kebab-case label (``a``, ``red-green``, ``parse-XML-doc``).

    Keywords (:data:`WIT_KEYWORDS`) are labels too: WIT spells them with a
    leading ``%`` (:func:`~conformance.canonical_abi.wit.wit` does).
    """
    return isinstance(name, str) and _LABEL.match(name) is not None


def _check_label(label: object, what: str) -> None:
    if not is_wit_identifier(label):
        raise WitTypeError(f"{what}: {label!r} is not a WIT identifier (kebab-case words or ACRONYMS)")


def _check_unique(labels: Sequence[str], what: str) -> None:
    seen: dict[str, str] = {}
    for label in labels:
        if label.lower() in seen:
            raise WitTypeError(f"{what}: labels {seen[label.lower()]!r} and {label!r} are not unique")
        seen[label.lower()] = label


def _check_type(t: object, what: str) -> None:
    if not isinstance(t, _TYPE_CLASSES):
        raise WitTypeError(f"{what}: {t!r} is not a WIT type")


def _as_tuple(items: object, what: str) -> tuple[Any, ...]:
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise WitTypeError(f"{what}: expected a sequence, got {items!r}")
    if not items:
        raise WitTypeError(f"{what} is empty (the type grammar needs at least one)")
    return tuple(items)


@dataclass(frozen=True, slots=True)
class Prim:
    """A primitive type: ``bool``, ``s8`` ... ``u64``, ``f32``, ``f64``, ``char`` or ``string``."""

    kind: PrimKind

    def __post_init__(self) -> None:
        if self.kind not in PRIM_KINDS:
            raise WitTypeError(f"unknown primitive type {self.kind!r} (known: {', '.join(PRIM_KINDS)})")

    def __repr__(self) -> str:
        return self.kind.upper()


BOOL: Final = Prim("bool")
S8: Final = Prim("s8")
U8: Final = Prim("u8")
S16: Final = Prim("s16")
U16: Final = Prim("u16")
S32: Final = Prim("s32")
U32: Final = Prim("u32")
S64: Final = Prim("s64")
U64: Final = Prim("u64")
F32: Final = Prim("f32")
F64: Final = Prim("f64")
CHAR: Final = Prim("char")
STRING: Final = Prim("string")


@dataclass(frozen=True, slots=True)
class List:
    """``list<element>``."""

    element: WitType

    def __post_init__(self) -> None:
        _check_type(self.element, "list element")


@dataclass(frozen=True, slots=True)
class Field:
    """A record field: ``label: type``."""

    label: str
    type: WitType

    def __post_init__(self) -> None:
        _check_label(self.label, "field")
        _check_type(self.type, f"field {self.label}")


@dataclass(frozen=True, slots=True)
class Record:
    """``record name { fields }``: one field at least."""

    name: str
    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        _check_label(self.name, "record name")
        object.__setattr__(self, "fields", _as_tuple(self.fields, f"record {self.name}"))
        for f in self.fields:
            if not isinstance(f, Field):
                raise WitTypeError(f"record {self.name}: {f!r} is not a Field")
        _check_unique([f.label for f in self.fields], f"record {self.name}")


@dataclass(frozen=True, slots=True)
class Tuple:
    """``tuple<types>``: one type at least."""

    types: tuple[WitType, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", _as_tuple(self.types, "tuple"))
        for i, t in enumerate(self.types):
            _check_type(t, f"tuple element {i}")


@dataclass(frozen=True, slots=True)
class VariantCase:
    """A variant case: ``label`` or ``label(type)``."""

    label: str
    type: WitType | None = None

    def __post_init__(self) -> None:
        _check_label(self.label, "case")
        if self.type is not None:
            _check_type(self.type, f"case {self.label}")


@dataclass(frozen=True, slots=True)
class Variant:
    """``variant name { cases }``: one case at least."""

    name: str
    cases: tuple[VariantCase, ...]

    def __post_init__(self) -> None:
        _check_label(self.name, "variant name")
        object.__setattr__(self, "cases", _as_tuple(self.cases, f"variant {self.name}"))
        for c in self.cases:
            if not isinstance(c, VariantCase):
                raise WitTypeError(f"variant {self.name}: {c!r} is not a VariantCase")
        _check_unique([c.label for c in self.cases], f"variant {self.name}")


@dataclass(frozen=True, slots=True)
class Enum:
    """``enum name { labels }``: one label at least."""

    name: str
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_label(self.name, "enum name")
        object.__setattr__(self, "labels", _as_tuple(self.labels, f"enum {self.name}"))
        for label in self.labels:
            _check_label(label, f"enum {self.name}")
        _check_unique(self.labels, f"enum {self.name}")


@dataclass(frozen=True, slots=True)
class Option:
    """``option<type>``."""

    type: WitType

    def __post_init__(self) -> None:
        _check_type(self.type, "option")


@dataclass(frozen=True, slots=True)
class Result:
    """``result<ok, error>``; ``None`` for a side without a payload (``result<_, e>``, ``result``)."""

    ok: WitType | None = None
    error: WitType | None = None

    def __post_init__(self) -> None:
        if self.ok is not None:
            _check_type(self.ok, "result ok")
        if self.error is not None:
            _check_type(self.error, "result error")


@dataclass(frozen=True, slots=True)
class Flags:
    """``flags name { labels }``: 1 to :data:`MAX_FLAGS` labels."""

    name: str
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_label(self.name, "flags name")
        object.__setattr__(self, "labels", _as_tuple(self.labels, f"flags {self.name}"))
        if len(self.labels) > MAX_FLAGS:
            raise WitTypeError(f"flags {self.name} has {len(self.labels)} labels, more than {MAX_FLAGS}")
        for label in self.labels:
            _check_label(label, f"flags {self.name}")
        _check_unique(self.labels, f"flags {self.name}")


WitType: TypeAlias = Prim | List | Record | Tuple | Variant | Enum | Option | Result | Flags
Nominal: TypeAlias = Record | Variant | Enum | Flags
"""The types WIT declares by name (a ``typedef-item``)."""

_TYPE_CLASSES: Final = (Prim, List, Record, Tuple, Variant, Enum, Option, Result, Flags)


def children(t: WitType) -> tuple[WitType, ...]:
    """The types directly inside ``t``."""
    match t:
        case List(element):
            return (element,)
        case Record(_, fields):
            return tuple(f.type for f in fields)
        case Tuple(types):
            return types
        case Variant(_, cases):
            return tuple(c.type for c in cases if c.type is not None)
        case Option(inner):
            return (inner,)
        case Result(ok, error):
            return tuple(x for x in (ok, error) if x is not None)
        case _:
            return ()


def nominal_types(t: WitType) -> Iterator[Nominal]:
    """Every record, variant, enum and flags in ``t``, innermost first (the order WIT can declare them)."""
    for child in children(t):
        yield from nominal_types(child)
    if isinstance(t, Record | Variant | Enum | Flags):
        yield t


def type_to_json(t: WitType) -> Any:
    """``t`` as JSON data: a primitive is its name, others an object with ``"kind"``."""
    match t:
        case Prim(kind):
            return kind
        case List(element):
            return {"kind": "list", "element": type_to_json(element)}
        case Record(name, fields):
            return {"kind": "record", "name": name,
                    "fields": [[f.label, type_to_json(f.type)] for f in fields]}
        case Tuple(types):
            return {"kind": "tuple", "types": [type_to_json(x) for x in types]}
        case Variant(name, cases):
            return {"kind": "variant", "name": name,
                    "cases": [[c.label, None if c.type is None else type_to_json(c.type)] for c in cases]}
        case Enum(name, labels):
            return {"kind": "enum", "name": name, "labels": list(labels)}
        case Option(inner):
            return {"kind": "option", "type": type_to_json(inner)}
        case Result(ok, error):
            return {"kind": "result", "ok": None if ok is None else type_to_json(ok),
                    "error": None if error is None else type_to_json(error)}
        case Flags(name, labels):
            return {"kind": "flags", "name": name, "labels": list(labels)}
    raise WitTypeError(f"not a WIT type: {t!r}")


def _maybe(j: Any) -> WitType | None:
    return None if j is None else type_from_json(j)


def type_from_json(j: Any) -> WitType:
    """The type :func:`type_to_json` gave ``j`` for; :class:`WitTypeError` if ``j`` is not one."""
    if isinstance(j, str):
        return Prim(j)  # type: ignore[arg-type]  # checked by Prim
    if not isinstance(j, Mapping):
        raise WitTypeError(f"not a type in JSON: {j!r}")
    try:
        match j["kind"]:
            case "list":
                return List(type_from_json(j["element"]))
            case "record":
                return Record(j["name"], tuple(Field(label, type_from_json(x)) for label, x in j["fields"]))
            case "tuple":
                return Tuple(tuple(type_from_json(x) for x in j["types"]))
            case "variant":
                return Variant(j["name"], tuple(VariantCase(label, _maybe(x)) for label, x in j["cases"]))
            case "enum":
                return Enum(j["name"], tuple(j["labels"]))
            case "option":
                return Option(type_from_json(j["type"]))
            case "result":
                return Result(_maybe(j.get("ok")), _maybe(j.get("error")))
            case "flags":
                return Flags(j["name"], tuple(j["labels"]))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, WitTypeError):
            raise
        raise WitTypeError(f"not a type in JSON: {j!r} ({e})") from e
    raise WitTypeError(f"not a type in JSON: {j!r}")
