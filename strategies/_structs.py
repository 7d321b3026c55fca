from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from conformance.layout import (
    SCALAR_KINDS,
    Array,
    Field,
    Scalar,
    ScalarKind,
    Struct,
    StructValue,
    Type,
    is_c_identifier,
    scalar_range,
)

# Small kinds first: a scalar field shrinks towards i8.
_KIND_ORDER: tuple[ScalarKind, ...] = (
    "i8", "u8", "i16", "u16", "i32", "u32", "f32", "ptr", "i64", "u64", "f64",
)
assert sorted(_KIND_ORDER) == sorted(SCALAR_KINDS)

_FIRST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_REST = "abcdefghijklmnopqrstuvwxyz0123456789_ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALIGNS = (1, 2, 4, 8, 16, 32)


def _identifier(n: int) -> str:
    """The ``n``-th identifier: a first character, then up to 9 more, as digits of ``n``
    (0 is ``a``; small numbers are short names)."""
    n, first = divmod(n, len(_FIRST))
    rest = []
    while n:
        n, digit = divmod(n - 1, len(_REST))
        rest.append(_REST[digit])
    return _FIRST[first] + "".join(rest)


# One choice per name, not one per character (a schema draws a name per field and per struct,
# and drawing them a character at a time was most of a schema's cost); shrinks towards "a".
_IDENTIFIERS = st.integers(0, len(_FIRST) * len(_REST) ** 9 - 1).map(_identifier).filter(is_c_identifier)
_OPTIONAL_ALIGNS = st.one_of(st.none(), st.sampled_from(_ALIGNS))
_KINDS = st.sampled_from(_KIND_ORDER).map(Scalar)
# What a field (or an array element) is: scalars twice as often as the others; shrinks to "scalar".
_SHAPES = st.sampled_from(("scalar", "scalar", "array", "struct"))
_MORE = st.sampled_from((False, True, True, True))  # another field? Shrinks to no.


@cache
def _counts(most: int) -> st.SearchStrategy[int]:
    return st.integers(1, most)  # built once per bound: building strategies in a draw is slow


def _fresh(name: str, taken: set[str]) -> str:
    """``name``, or ``name1``, ``name2``, ... whichever is not taken yet; now taken."""
    candidate, n = name, 0
    while candidate in taken or not is_c_identifier(candidate):
        n += 1
        candidate = f"{name}{n}"
    taken.add(candidate)
    return candidate


class _Draw:
    """One schema's drawing state: the limits, the leaves left, the struct names taken."""

    def __init__(self, draw: st.DrawFn, max_fields: int, max_count: int, max_leaves: int) -> None:
        self.draw = draw
        self.max_fields = max_fields
        self.max_count = max_count
        self.budget = max_leaves  # scalars still allowed
        self.struct_names: set[str] = set()

    def type(self, depth: int, in_array: bool, values: bool) -> tuple[Type, int, Any]:
        """A type, its number of leaves (at most the budget, which it does not spend) and,
        for a struct drawn with ``values``, its value (else None)."""
        shape = self.draw(_SHAPES)
        if shape == "struct" and depth > 0:
            saved = self.budget
            s, value = self.struct(depth - 1, values and not in_array)
            used = saved - self.budget
            self.budget = saved
            return s, used, value
        if shape == "array" and not in_array:
            element, n, _ = self.type(depth, in_array=True, values=False)
            count = self.draw(_counts(max(1, min(self.max_count, self.budget // n))))
            return Array(element, count), n * count, None
        return self.draw(_KINDS), 1, None

    def field(self, depth: int, names: set[str], values: bool) -> tuple[Field, Any]:
        """A field, and its value if ``values`` (drawn right after it, so that they shrink together)."""
        name = _fresh(self.draw(_IDENTIFIERS), names)
        ftype, n, value = self.type(depth, in_array=False, values=values)
        self.budget -= n
        f = Field(name, ftype, self.draw(_OPTIONAL_ALIGNS))
        if values and value is None:
            value = self.draw(_values(ftype))
        return f, value

    def struct(self, depth: int, values: bool) -> tuple[Struct, StructValue | None]:
        name = _fresh(self.draw(_IDENTIFIERS), self.struct_names)
        names: set[str] = set()
        fields: list[Field] = []
        value: StructValue = {}
        while len(fields) < self.max_fields and self.budget > 0:
            got = self.draw(_field_block(self, depth, names, values, first=not fields))
            if got is None:
                break
            fields.append(got[0])
            value[got[0].name] = got[1]
        schema = Struct(name, tuple(fields), self.draw(st.booleans()), self.draw(_OPTIONAL_ALIGNS))
        return schema, value if values else None


@st.composite
def _field_block(
    draw: st.DrawFn, state: _Draw, depth: int, names: set[str], values: bool, first: bool
) -> tuple[Field, Any] | None:
    """Whether there is another field, and that field, as one span of choices.

    As ``st.lists`` draws an element: the shrinker deletes a field by deleting
    its span, and "no more fields" is where it shrinks to.
    """
    if not draw(_MORE) and not first:
        return None
    return state.field(depth, names, values)


def _check_limits(max_fields: int, max_depth: int, max_count: int, max_leaves: int) -> None:
    for name, value, low in (("max_fields", max_fields, 1), ("max_depth", max_depth, 0),
                             ("max_count", max_count, 1), ("max_leaves", max_leaves, 1)):
        if type(value) is not int or value < low:
            raise InvalidArgument(f"{name} must be an int >= {low}, got {value!r}")


@st.composite
def _schemas(draw: st.DrawFn, max_fields: int, max_depth: int, max_count: int, max_leaves: int) -> Struct:
    return _Draw(draw, max_fields, max_count, max_leaves).struct(max_depth, values=False)[0]


@st.composite
def _schemas_with_values(
    draw: st.DrawFn, max_fields: int, max_depth: int, max_count: int, max_leaves: int
) -> tuple[Struct, StructValue]:
    schema, value = _Draw(draw, max_fields, max_count, max_leaves).struct(max_depth, values=True)
    assert value is not None
    return schema, value


def struct_schemas(
    *, max_fields: int = 6, max_depth: int = 2, max_count: int = 4, max_leaves: int = 64
) -> st.SearchStrategy[Struct]:
    """Struct schemas for :mod:`conformance.layout`: what a C header could declare for wasm32.

    One to ``max_fields`` fields per struct, each a scalar of any kind, an
    array (1 to ``max_count`` elements of a scalar, a struct, or an array of
    those: two dimensions at most) or a nested struct, structs nested at most
    ``max_depth`` deep below the top one; at most ``max_leaves`` scalars in
    all (so a guest compiled for it stays small), which may leave a struct
    with fewer fields. Any struct may be ``packed`` and any struct or field
    ``aligned(N)``, N up to 32 (below the natural alignment too, where it
    changes nothing except in a packed struct). Field names are C identifiers
    unique within their struct; struct names are unique across the schema.

    Shrinks towards a single ``i8`` field named ``a``: fewer fields, scalar
    fields, small kinds, short arrays, no attributes.
    """
    _check_limits(max_fields, max_depth, max_count, max_leaves)
    return _schemas(max_fields, max_depth, max_count, max_leaves)


def struct_schemas_with_values(
    *, max_fields: int = 6, max_depth: int = 2, max_count: int = 4, max_leaves: int = 64
) -> st.SearchStrategy[tuple[Struct, StructValue]]:
    """``(schema, value)``: a schema as :func:`struct_schemas` draws it and a value as :func:`struct_values`.

    Each field's value is drawn right after the field, so a failing example
    shrinks better than with ``struct_values(schema)`` drawn afterwards: the
    shrinker can delete a field together with its value, which it cannot do
    when the values are drawn in a second phase.
    """
    _check_limits(max_fields, max_depth, max_count, max_leaves)
    return _schemas_with_values(max_fields, max_depth, max_count, max_leaves)


@cache
def _int_values(lo: int, hi: int) -> st.SearchStrategy[int]:
    edges = [0, lo, hi, lo + 1, hi - 1, 1] + ([-1] if lo < 0 else [1 << ((hi - lo).bit_length() - 1)])
    return st.one_of(st.integers(lo, hi), st.sampled_from(edges))


@cache
def _float_bits(width: int) -> st.SearchStrategy[int]:
    """Bit patterns of binary32 (width 32) or binary64: any, and the ones that matter."""
    man = 23 if width == 32 else 52
    exp_all = ((1 << (width - 1 - man)) - 1) << man
    sign = 1 << (width - 1)
    special = [
        0, sign,                              # +0.0, -0.0
        exp_all, sign | exp_all,              # +inf, -inf
        exp_all | 1 << (man - 1),             # the canonical quiet NaN
        sign | exp_all | 1 << (man - 1),      # ... negative
        exp_all | 1,                          # a signalling NaN
        exp_all | 0x5A5A & ((1 << man) - 1),  # a signalling NaN with a payload
        1, sign | 1,                          # smallest subnormals
        exp_all - 1,                          # largest finite
        (exp_all >> 1) & exp_all,             # 1.0
    ]
    nans = st.builds(
        lambda s, payload: (sign if s else 0) | exp_all | payload,
        st.booleans(), st.integers(1, (1 << man) - 1),
    )
    return st.one_of(st.integers(0, (1 << width) - 1), st.sampled_from(special), nans)


@lru_cache(maxsize=4096)  # keyed by type: bounded, as a session draws many schemas
def _values(t: Type) -> st.SearchStrategy[Any]:
    if isinstance(t, Scalar):
        if t.kind == "f32":
            return _float_bits(32)
        if t.kind == "f64":
            return _float_bits(64)
        return _int_values(*scalar_range(t.kind))
    if isinstance(t, Array):
        return st.lists(_values(t.element), min_size=t.count, max_size=t.count)
    return st.fixed_dictionaries({f.name: _values(f.type) for f in t.fields})


def struct_values(schema: Struct) -> st.SearchStrategy[StructValue]:
    """Values for ``schema`` in the shape :func:`conformance.layout.pack` takes.

    A dict per struct (every field, in order), a list per array, an int per
    scalar: integers anywhere in their kind's range, their extremes (and 0,
    +-1) often; ``ptr`` any 32-bit address; floats as bit patterns (see
    :mod:`conformance.layout`): any pattern, plus +-0.0, +-infinity, quiet and
    signalling NaNs with either sign and any payload, subnormals, the largest
    finite. Shrinks towards all zero bits.
    """
    if not isinstance(schema, Struct):
        raise InvalidArgument(f"schema must be a conformance.layout.Struct, got {schema!r}")
    strategy: st.SearchStrategy[StructValue] = _values(schema)
    return strategy
