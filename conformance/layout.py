"""C struct layout for wasm32, as clang lays it out, and packing values into it.

A *schema* is a tree of frozen dataclasses::

    Struct("pair", (Field("tag", Scalar("u8")), Field("value", Scalar("f64"))))
    # struct pair { unsigned char tag; double value; };   size 16, value at 8

- :class:`Scalar` ``(kind)``: one of :data:`SCALAR_KINDS`. ``ptr`` is a wasm32
  pointer (``void *``): 4 bytes, its value an unsigned int.
- :class:`Array` ``(element, count)``: ``element[count]``, ``count >= 1``;
  arrays of arrays are C's multi-dimensional arrays (``Array(Array(t, 2), 3)``
  is ``t x[3][2]``).
- :class:`Struct` ``(name, fields, packed=False, align=None)``: ``packed`` is
  ``__attribute__((packed))`` on the struct, ``align`` its
  ``__attribute__((aligned(N)))``.
- :class:`Field` ``(name, type, align=None)``: ``align`` is
  ``__attribute__((aligned(N)))`` on the member.

The rules (clang's ``RecordLayoutBuilder`` for wasm32; ``tests/test_layout.py``
checks them against clang itself):

- A scalar's size and alignment are equal: 1, 2, 4 or 8 bytes; ``i64``, ``u64``
  and ``f64`` are 8-aligned, ``ptr`` is 4 bytes, 4-aligned.
- An array has its element's alignment and ``count`` times its size.
- A member's alignment is its type's alignment, or 1 in a packed struct;
  then, if the member has ``aligned(N)``, the larger of that and N. So in an
  ordinary struct ``aligned(N)`` can only raise a member's alignment, but in a
  packed struct it *sets* it, even below the type's own alignment (an ``int``
  with ``aligned(2)`` in a packed struct is 2-aligned).
- ``packed`` does not reach into member types: a nested struct keeps its own
  layout (and size), it is only placed at alignment 1, even when that struct
  type was declared ``aligned(N)``.
- Each member goes at the next offset that is a multiple of its alignment.
  The struct's alignment is the largest member alignment, raised (never
  lowered) by the struct's ``aligned(N)``; its size is the end of the last
  member rounded up to that alignment. An array of structs therefore never
  needs padding between elements.

Alignments are powers of two up to 2**28 (clang 14 silently ignores larger
ones); a type must be smaller than 2**32 bytes (clang 14 silently wraps
``sizeof``). An empty struct (a GNU extension with size 0) is refused.

Values: a struct is a ``dict`` from field name to value (in field order), an
array a ``list``, an integer or ``ptr`` a Python ``int`` in the kind's range.
**A float is its IEEE-754 bit pattern as an unsigned ``int``** (``f32`` in
``[0, 2**32)``, ``f64`` in ``[0, 2**64)``), never a Python ``float``: that way
NaN payloads, signalling NaNs and ``-0.0`` survive packing, unpacking and
comparison. :func:`f32_bits`, :func:`f64_bits` and their inverses convert.
Padding packs as zero bytes and is ignored by :func:`unpack`; all numbers are
little-endian.
"""

from __future__ import annotations

import re
import struct as _struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Literal, TypeAlias, get_args

__all__ = [
    "MAX_ALIGN",
    "MAX_SIZE",
    "SCALAR_KINDS",
    "Array",
    "Field",
    "LayoutError",
    "LayoutValueError",
    "Leaf",
    "Scalar",
    "ScalarKind",
    "SchemaError",
    "Struct",
    "StructValue",
    "Type",
    "align_of",
    "c_declaration",
    "c_type",
    "f32_bits",
    "f32_from_bits",
    "f64_bits",
    "f64_from_bits",
    "is_c_identifier",
    "leaves",
    "offsets",
    "pack",
    "padding",
    "scalar_range",
    "size_of",
    "unpack",
]

ScalarKind: TypeAlias = Literal["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64", "ptr"]
SCALAR_KINDS: Final[tuple[ScalarKind, ...]] = get_args(ScalarKind)

_SIZE: Final[dict[str, int]] = {
    "i8": 1, "u8": 1, "i16": 2, "u16": 2, "i32": 4, "u32": 4,
    "i64": 8, "u64": 8, "f32": 4, "f64": 8, "ptr": 4,
}
_C_TYPE: Final[dict[str, str]] = {
    "i8": "signed char", "u8": "unsigned char", "i16": "short", "u16": "unsigned short",
    "i32": "int", "u32": "unsigned int", "i64": "long long", "u64": "unsigned long long",
    "f32": "float", "f64": "double", "ptr": "void *",
}

MAX_ALIGN: Final = 1 << 28
"""The largest alignment accepted: clang 14 silently ignores ``aligned(N)`` above it."""
MAX_SIZE: Final = (1 << 32) - 1
"""The largest size accepted: ``sizeof`` is a 32-bit ``size_t`` on wasm32."""

StructValue: TypeAlias = dict[str, Any]
"""A struct's value: field name -> int (floats as bit patterns), list (array) or dict (struct)."""


class LayoutError(ValueError):
    """Base of this module's errors."""


class SchemaError(LayoutError):
    """A schema that is not a valid C struct for wasm32."""


class LayoutValueError(LayoutError):
    """A value that does not fit its schema: wrong shape, wrong type, out of range, wrong length."""


# C11 and C23 keywords, the GNU ones clang knows in its default (gnu) mode,
# and the spellings that are macros or keywords once a standard header is in.
_C_WORDS: Final = frozenset("""
    auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic
    _Imaginary _Noreturn _Static_assert _Thread_local alignas alignof bool constexpr false
    nullptr static_assert thread_local true typeof typeof_unqual _BitInt _Decimal32
    _Decimal64 _Decimal128 asm complex imaginary noreturn offsetof NULL
""".split())
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def is_c_identifier(name: str) -> bool:
    """Whether ``name`` can name a struct or member in any C mode clang has.

    An ASCII C identifier that is not a keyword (C11, C23, GNU) and not
    reserved to the implementation (``__x``, ``_X``).
    """
    return (
        isinstance(name, str)
        and _IDENTIFIER.match(name) is not None
        and name not in _C_WORDS
        and not name.startswith("__")
        and not (name.startswith("_") and name[1:2].isupper())
    )


def _check_align(align: object, what: str) -> None:
    if align is None:
        return
    if type(align) is not int or align < 1 or align & (align - 1):
        raise SchemaError(f"{what}: aligned({align!r}) is not a power of two")
    if align > MAX_ALIGN:
        raise SchemaError(f"{what}: aligned({align}) is above 2**28, which clang 14 silently ignores")


@dataclass(frozen=True, slots=True)
class Scalar:
    """A C scalar: ``kind`` is one of :data:`SCALAR_KINDS`."""

    kind: ScalarKind

    def __post_init__(self) -> None:
        if self.kind not in _SIZE:
            raise SchemaError(f"unknown scalar kind {self.kind!r} (known: {', '.join(SCALAR_KINDS)})")

    @property
    def size(self) -> int:
        """Size in bytes, which is also the alignment."""
        return _SIZE[self.kind]

    @property
    def is_float(self) -> bool:
        return self.kind in ("f32", "f64")

    @property
    def signed(self) -> bool:
        """Whether the C type is a signed integer (so narrow values sign-extend)."""
        return self.kind.startswith("i")


@dataclass(frozen=True, slots=True)
class Array:
    """``element[count]``; ``count >= 1``."""

    element: Type
    count: int

    def __post_init__(self) -> None:
        if not isinstance(self.element, Scalar | Array | Struct):
            raise SchemaError(f"an array element must be a Scalar, Array or Struct, got {self.element!r}")
        if type(self.count) is not int or self.count < 1:
            raise SchemaError(f"an array needs a count >= 1, got {self.count!r}")


@dataclass(frozen=True, slots=True)
class Field:
    """A struct member; ``align`` is ``__attribute__((aligned(N)))`` on it."""

    name: str
    type: Type
    align: int | None = None

    def __post_init__(self) -> None:
        if not is_c_identifier(self.name):
            raise SchemaError(f"field name {self.name!r} is not a usable C identifier")
        if not isinstance(self.type, Scalar | Array | Struct):
            raise SchemaError(
                f"field {self.name!r}: type must be a Scalar, Array or Struct, got {self.type!r}"
            )
        _check_align(self.align, f"field {self.name!r}")


@dataclass(frozen=True, slots=True)
class Struct:
    """``struct name { fields }``, with ``__attribute__((packed))`` and ``aligned(align)`` if given.

    ``fields`` may be given as any sequence; it is kept as a tuple.
    """

    name: str
    fields: tuple[Field, ...]
    packed: bool = False
    align: int | None = None

    def __post_init__(self) -> None:
        if not is_c_identifier(self.name):
            raise SchemaError(f"struct name {self.name!r} is not a usable C identifier")
        if isinstance(self.fields, str | bytes) or not isinstance(self.fields, Sequence):
            raise SchemaError(f"struct {self.name}: fields must be a sequence of Field, got {self.fields!r}")
        object.__setattr__(self, "fields", tuple(self.fields))
        if not self.fields:
            raise SchemaError(f"struct {self.name} has no fields (an empty struct is not standard C)")
        seen: set[str] = set()
        for f in self.fields:
            if not isinstance(f, Field):
                raise SchemaError(f"struct {self.name}: {f!r} is not a Field")
            if f.name in seen:
                raise SchemaError(f"struct {self.name}: two fields named {f.name!r}")
            seen.add(f.name)
        if type(self.packed) is not bool:
            raise SchemaError(f"struct {self.name}: packed must be a bool, got {self.packed!r}")
        _check_align(self.align, f"struct {self.name}")


Type: TypeAlias = Scalar | Array | Struct


@dataclass(frozen=True, slots=True)
class _StructLayout:
    size: int
    align: int
    offsets: tuple[int, ...]


def _round_up(n: int, align: int) -> int:
    return -(-n // align) * align


def _check_size(size: int, what: str) -> int:
    if size > MAX_SIZE:
        raise SchemaError(f"{what} would be {size} bytes, more than a wasm32 size_t holds")
    return size


@cache
def _layout(s: Struct) -> _StructLayout:
    offset = 0
    struct_align = 1
    offs: list[int] = []
    for f in s.fields:
        align = 1 if s.packed else align_of(f.type)
        if f.align is not None:
            align = max(align, f.align)
        offset = _round_up(offset, align)
        offs.append(offset)
        offset += size_of(f.type)
        struct_align = max(struct_align, align)
    if s.align is not None:
        struct_align = max(struct_align, s.align)
    size = _check_size(_round_up(offset, struct_align), f"struct {s.name}")
    return _StructLayout(size, struct_align, tuple(offs))


def size_of(t: Type) -> int:
    """``sizeof`` the type on wasm32, in bytes."""
    if isinstance(t, Scalar):
        return t.size
    if isinstance(t, Array):
        return _check_size(size_of(t.element) * t.count, f"array {t!r}")
    if isinstance(t, Struct):
        return _layout(t).size
    raise SchemaError(f"not a type: {t!r}")


def align_of(t: Type) -> int:
    """``_Alignof`` the type on wasm32, in bytes."""
    if isinstance(t, Scalar):
        return t.size
    if isinstance(t, Array):
        return align_of(t.element)
    if isinstance(t, Struct):
        return _layout(t).align
    raise SchemaError(f"not a type: {t!r}")


@dataclass(frozen=True, slots=True)
class Leaf:
    """A scalar somewhere in a struct: its path (``"n.y"``, ``"arr[2]"``), kind and byte offset."""

    path: str
    scalar: Scalar
    offset: int

    @property
    def kind(self) -> ScalarKind:
        return self.scalar.kind

    @property
    def size(self) -> int:
        return self.scalar.size


def _walk(t: Type, path: str, offset: int) -> Iterator[tuple[str, Type, int]]:
    """Every member, element and nested member below ``t``, pre-order, with absolute offsets."""
    if isinstance(t, Struct):
        layout = _layout(t)
        for f, off in zip(t.fields, layout.offsets, strict=True):
            sub = f"{path}.{f.name}" if path else f.name
            yield sub, f.type, offset + off
            yield from _walk(f.type, sub, offset + off)
    elif isinstance(t, Array):
        stride = size_of(t.element)
        for i in range(t.count):
            sub = f"{path}[{i}]"
            yield sub, t.element, offset + i * stride
            yield from _walk(t.element, sub, offset + i * stride)


def _require_struct(s: object) -> Struct:
    if not isinstance(s, Struct):
        raise SchemaError(f"expected a Struct, got {s!r}")
    return s


def offsets(struct: Struct) -> dict[str, int]:
    """The byte offset of every field, array element and nested field, in declaration order.

    Paths are C member designators: ``"a"``, ``"n"``, ``"n.y"``, ``"arr"``,
    ``"arr[2]"``, ``"pts[1].x"``, ``"m[1][0]"``; whole arrays and nested structs
    are included as well as the scalars inside them (:func:`leaves` has only those).
    """
    return {path: off for path, _, off in _walk(_require_struct(struct), "", 0)}


def leaves(struct: Struct) -> list[Leaf]:
    """Every scalar in the struct (each array element, nested fields), in declaration (= memory) order."""
    walk = _walk(_require_struct(struct), "", 0)
    return [Leaf(path, t, off) for path, t, off in walk if isinstance(t, Scalar)]


def padding(struct: Struct) -> list[tuple[int, int]]:
    """The padding of the struct as ``(offset, length)`` runs: the bytes no scalar covers."""
    covered = bytearray(size_of(_require_struct(struct)))
    for leaf in leaves(struct):
        covered[leaf.offset:leaf.offset + leaf.size] = b"\x01" * leaf.size
    runs: list[tuple[int, int]] = []
    for m in re.finditer(b"\x00+", bytes(covered)):
        runs.append((m.start(), m.end() - m.start()))
    return runs


def scalar_range(kind: ScalarKind) -> tuple[int, int]:
    """The inclusive range of a scalar's Python value (for floats: of its bit pattern)."""
    bits = 8 * _SIZE[kind]
    if kind.startswith("i"):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _pack_into(t: Type, value: object, buf: bytearray, offset: int, path: str) -> None:
    where = path or "the struct"
    if isinstance(t, Scalar):
        if type(value) is not int:
            hint = f" (a float is its bit pattern: see {t.kind}_bits())" if t.is_float else ""
            raise LayoutValueError(f"{where}: a {t.kind} takes an int{hint}, got {value!r}")
        lo, hi = scalar_range(t.kind)
        if not lo <= value <= hi:
            raise LayoutValueError(f"{where}: {value} is out of range for {t.kind} [{lo}, {hi}]")
        buf[offset:offset + t.size] = value.to_bytes(t.size, "little", signed=t.signed)
    elif isinstance(t, Array):
        if isinstance(value, str | bytes | bytearray) or not isinstance(value, Sequence):
            raise LayoutValueError(f"{where}: an array takes a list, got {value!r}")
        if len(value) != t.count:
            raise LayoutValueError(f"{where}: the array has {t.count} elements, got {len(value)}")
        stride = size_of(t.element)
        for i, item in enumerate(value):
            _pack_into(t.element, item, buf, offset + i * stride, f"{path}[{i}]")
    else:
        if not isinstance(value, Mapping):
            raise LayoutValueError(f"{where}: struct {t.name} takes a dict, got {value!r}")
        names = [f.name for f in t.fields]
        missing = [n for n in names if n not in value]
        extra = [repr(k) for k in value if k not in names]
        if missing or extra:
            raise LayoutValueError(
                f"{where}: struct {t.name} has fields {', '.join(names)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )
        for f, off in zip(t.fields, _layout(t).offsets, strict=True):
            _pack_into(f.type, value[f.name], buf, offset + off, f"{path}.{f.name}" if path else f.name)


def pack(struct: Struct, value: Mapping[str, Any]) -> bytes:
    """The struct's bytes: ``size_of(struct)`` bytes, little-endian, padding zero.

    ``value`` maps every field name (no more, no fewer) to its value; see the
    module docstring for the shapes. Raises :class:`LayoutValueError` naming
    the path of the first value that does not fit.
    """
    buf = bytearray(size_of(_require_struct(struct)))
    _pack_into(struct, value, buf, 0, "")
    return bytes(buf)


def _unpack(t: Type, data: bytes, offset: int) -> Any:
    if isinstance(t, Scalar):
        return int.from_bytes(data[offset:offset + t.size], "little", signed=t.signed)
    if isinstance(t, Array):
        stride = size_of(t.element)
        return [_unpack(t.element, data, offset + i * stride) for i in range(t.count)]
    placed = zip(t.fields, _layout(t).offsets, strict=True)
    return {f.name: _unpack(f.type, data, offset + off) for f, off in placed}


def unpack(struct: Struct, data: bytes | bytearray | memoryview) -> StructValue:
    """The value held in ``data``, which must be exactly ``size_of(struct)`` bytes; padding is ignored."""
    size = size_of(_require_struct(struct))
    raw = bytes(data)
    if len(raw) != size:
        raise LayoutValueError(f"struct {struct.name} is {size} bytes, got {len(raw)}")
    value: StructValue = _unpack(struct, raw, 0)
    return value


def f32_bits(x: float) -> int:
    """The bit pattern of ``x`` rounded to binary32 (a NaN's payload is what the conversion leaves)."""
    return int.from_bytes(_struct.pack("<f", x), "little")


def f64_bits(x: float) -> int:
    """The bit pattern of ``x`` as binary64."""
    return int.from_bytes(_struct.pack("<d", x), "little")


def f32_from_bits(bits: int) -> float:
    """The float a binary32 bit pattern holds (as a Python float; a signalling NaN may come back quiet)."""
    value: float = _struct.unpack("<f", bits.to_bytes(4, "little"))[0]
    return value


def f64_from_bits(bits: int) -> float:
    """The float a binary64 bit pattern holds."""
    value: float = _struct.unpack("<d", bits.to_bytes(8, "little"))[0]
    return value


def c_type(t: Type) -> str:
    """The C spelling of a scalar or struct type (``"unsigned short"``, ``"struct pair"``); not of arrays."""
    if isinstance(t, Scalar):
        return _C_TYPE[t.kind]
    if isinstance(t, Struct):
        return f"struct {t.name}"
    raise SchemaError("an array type has no C spelling of its own; see c_declaration()")


def _c_member(f: Field) -> str:
    dims = ""
    t: Type = f.type
    while isinstance(t, Array):
        dims += f"[{t.count}]"
        t = t.element
    base = c_type(t)
    sep = "" if base.endswith("*") else " "
    attr = f" __attribute__((aligned({f.align})))" if f.align is not None else ""
    return f"    {base}{sep}{f.name}{dims}{attr};"


def _structs_post_order(t: Type) -> Iterator[Struct]:
    if isinstance(t, Array):
        yield from _structs_post_order(t.element)
    elif isinstance(t, Struct):
        for f in t.fields:
            yield from _structs_post_order(f.type)
        yield t


def c_declaration(struct: Struct) -> str:
    """C source declaring the struct and every struct nested in it, each once, innermost first.

    Attributes are GNU ``__attribute__`` (clang, gcc). Scalars use the plain C
    types that have the right size on wasm32 (``signed char`` ... ``long long``,
    ``void *``), so no header is needed. Two different structs with the same
    name cannot both be declared: :class:`SchemaError`.
    """
    seen: dict[str, Struct] = {}
    parts: list[str] = []
    for s in _structs_post_order(_require_struct(struct)):
        if s.name in seen:
            if seen[s.name] != s:
                raise SchemaError(f"two different structs are named {s.name!r}")
            continue
        seen[s.name] = s
        attrs = (["packed"] if s.packed else []) + ([f"aligned({s.align})"] if s.align is not None else [])
        tail = f" __attribute__(({', '.join(attrs)}))" if attrs else ""
        body = "\n".join(_c_member(f) for f in s.fields)
        parts.append(f"struct {s.name} {{\n{body}\n}}{tail};\n")
    return "\n".join(parts)
