from __future__ import annotations

import string
from functools import cache
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from conformance.canonical_abi import (
    BOOL,
    CHAR,
    F32,
    F64,
    MAX_FLAGS,
    S8,
    S16,
    S32,
    S64,
    STRING,
    U8,
    U16,
    U32,
    U64,
    WIT_KEYWORDS,
    Case,
    Enum,
    Err,
    Field,
    Flags,
    List,
    Ok,
    Option,
    Prim,
    Record,
    Result,
    Some,
    Tuple,
    Variant,
    VariantCase,
    WitType,
    int_range,
)

# Small types first: a type shrinks towards u8.
_SCALARS: tuple[Prim, ...] = (U8, BOOL, S8, U16, S16, U32, S32, CHAR, F32, U64, S64, F64, STRING)

# Labels as bindings generators meet them: single letters, kebab-case words, acronyms.
_LABELS: tuple[str, ...] = (
    *string.ascii_lowercase,
    "first-name", "x-y", "is-ok", "HTTP", "url-HTTP", "to-JSON", "a1", "b2c", "value", "tag",
)
assert not WIT_KEYWORDS & set(_LABELS)

# Enums of 255..258 labels cross the u8/u16 discriminant boundary (256 cases); shrinks to 1 label.
_MANY_LABELS = tuple(f"e{i:03d}" for i in range(258))
_PLACEHOLDER = "t"


def _letters(n: int) -> str:
    """0 -> a, 25 -> z, 26 -> ba, ...: a lower-case word for each number."""
    out = string.ascii_lowercase[n % 26]
    while n >= 26:
        n //= 26
        out = string.ascii_lowercase[n % 26] + out
    return out


def _named(t: WitType, counter: list[int]) -> WitType:
    """``t`` with every record, variant, enum and flags renamed ``rec-a``, ``var-b``, ... (unique)."""

    def name(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}-{_letters(counter[0] - 1)}"

    match t:
        case List(element):
            return List(_named(element, counter))
        case Tuple(types):
            return Tuple(tuple(_named(x, counter) for x in types))
        case Option(inner):
            return Option(_named(inner, counter))
        case Result(ok, error):
            return Result(None if ok is None else _named(ok, counter),
                          None if error is None else _named(error, counter))
        case Record(_, fields):
            renamed = tuple(Field(f.label, _named(f.type, counter)) for f in fields)
            return Record(name("rec"), renamed)
        case Variant(_, cases):
            recased = tuple(VariantCase(c.label, None if c.type is None else _named(c.type, counter))
                            for c in cases)
            return Variant(name("var"), recased)
        case Enum(_, labels):
            return Enum(name("enm"), labels)
        case Flags(_, labels):
            return Flags(name("flg"), labels)
    return t


def _labels(max_size: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(_LABELS), min_size=1, max_size=max_size, unique_by=str.lower)


@cache
def _types(depth: int, width: int) -> st.SearchStrategy[WitType]:
    scalars = st.sampled_from(_SCALARS)
    if depth == 0:
        return scalars
    inner = _types(depth - 1, width)
    maybe_inner = st.one_of(st.none(), inner)

    def fields_of(labels: list[str]) -> st.SearchStrategy[tuple[Field, ...]]:
        return st.tuples(*(st.builds(Field, st.just(label), inner) for label in labels))

    def cases_of(labels: list[str]) -> st.SearchStrategy[tuple[VariantCase, ...]]:
        return st.tuples(*(st.builds(VariantCase, st.just(label), maybe_inner) for label in labels))

    fields = _labels(width).flatmap(fields_of)
    cases = _labels(width).flatmap(cases_of)
    few = _labels(width).map(tuple)
    many = st.integers(255, 258).map(lambda n: _MANY_LABELS[:n])
    enum_labels = st.one_of(few, few, few, many)  # a big enum one time in four
    compounds: list[st.SearchStrategy[WitType]] = [
        st.builds(List, inner),
        st.builds(Option, inner),
        st.builds(Result, maybe_inner, maybe_inner),
        st.lists(inner, min_size=1, max_size=width).map(lambda ts: Tuple(tuple(ts))),
        fields.map(lambda fs: Record(_PLACEHOLDER, fs)),
        cases.map(lambda cs: Variant(_PLACEHOLDER, cs)),
        enum_labels.map(lambda labels: Enum(_PLACEHOLDER, labels)),
        st.integers(1, MAX_FLAGS).map(lambda n: Flags(_PLACEHOLDER, (*_LABELS, *_MANY_LABELS)[:n])),
    ]
    return st.one_of(scalars, *compounds)


def wit_types(*, max_depth: int = 3, max_width: int = 4) -> st.SearchStrategy[WitType]:
    """WIT value types (:mod:`conformance.canonical_abi`): scalars, ``string``, and ``list``,
    ``option``, ``result``, ``tuple``, ``record``, ``variant``, ``enum`` and ``flags`` of them.

    Nested at most ``max_depth`` deep below the top; records, tuples and
    variants have 1 to ``max_width`` members, labelled from a pool of
    single letters, kebab-case words and acronyms (never a WIT keyword).
    Enums have 1 to ``max_width`` labels, or 255 to 258 (across the ``u8`` to
    ``u16`` discriminant); flags 1 to 32 labels (1, 2 and 4 bytes). Every
    named type has a name of its own (``rec-a``, ``var-b``, ...), so
    :func:`~conformance.canonical_abi.wit_typedefs` can declare them all.

    Shrinks towards ``u8``: scalars first, then shallower types, fewer
    members, smaller scalar types.
    """
    for name, value, low in (("max_depth", max_depth, 0), ("max_width", max_width, 1)):
        if type(value) is not int or value < low:
            raise InvalidArgument(f"{name} must be an int >= {low}, got {value!r}")
    return _types(max_depth, max_width).map(lambda t: _named(t, [0]))


_EDGE_CHARS = ("\x00", "\x7f", "\x80", "\xff", "\u0100", "\u07ff", "\u0800", "\ud7ff", "\ue000",
               "\uffff", "\U00010000", "\U0010ffff")
_CHARS = st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from(_EDGE_CHARS))
_LATIN1 = st.characters(max_codepoint=0xFF)


@cache
def _strings(max_length: int) -> st.SearchStrategy[str]:
    # Latin-1-only text half the time, so latin1+utf16 lowers both ways.
    return st.one_of(st.text(_LATIN1, max_size=max_length), st.text(_CHARS, max_size=max_length))


@cache
def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(lo, hi), st.sampled_from(sorted({0, 1, lo, hi, lo + 1, hi - 1})))


@cache
def _values(t: WitType, max_length: int) -> st.SearchStrategy[Any]:
    def of(x: WitType) -> st.SearchStrategy[Any]:
        return _values(x, max_length)

    match t:
        case Prim("bool"):
            return st.booleans()
        case Prim("f32"):
            return st.floats(width=32)
        case Prim("f64"):
            return st.floats()
        case Prim("char"):
            return _CHARS
        case Prim("string"):
            return _strings(max_length * 4)
        case Prim(kind):
            return _ints(*int_range(kind))
        case List(element):
            return st.lists(of(element), max_size=max_length)
        case Record(_, fields):
            return st.fixed_dictionaries({f.label: of(f.type) for f in fields})
        case Tuple(types):
            return st.tuples(*(of(x) for x in types))
        case Variant(_, cases):
            return st.one_of(*(
                st.just(Case(c.label)) if c.type is None else st.builds(Case, st.just(c.label), of(c.type))
                for c in cases
            ))
        case Enum(_, labels):
            return st.sampled_from(labels)
        case Option(inner):
            return st.one_of(st.none(), of(inner).map(Some))
        case Result(ok, error):
            return st.one_of(
                st.just(Ok()) if ok is None else of(ok).map(Ok),
                st.just(Err()) if error is None else of(error).map(Err),
            )
        case Flags(_, labels):
            return st.sets(st.sampled_from(labels)).map(frozenset)
    raise InvalidArgument(f"not a WIT type: {t!r}")


def wit_values(t: WitType, *, max_length: int = 4) -> st.SearchStrategy[Any]:
    """Values of the WIT type ``t``, in :mod:`conformance.canonical_abi.values`' shapes.

    Integers over their whole range and their edges; floats of the type's
    width including NaN, infinities and ``-0.0``; chars and strings over all
    Unicode scalar values (never a surrogate), with the edges of the UTF-8,
    UTF-16 and Latin-1 encodings, and half the strings Latin-1 only; lists of
    at most ``max_length`` elements, strings of at most ``4 * max_length``
    code points. Shrinks towards zero, ``False``, empty strings and lists,
    the first case of a variant or enum, ``None`` and ``Ok``.
    """
    if type(max_length) is not int or max_length < 0:
        raise InvalidArgument(f"max_length must be an int >= 0, got {max_length!r}")
    return _values(t, max_length)
