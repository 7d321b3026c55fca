"""The C layout engine (conformance.layout), its strategies, and clang as its ground truth.

The unit tests pin known wasm32 layouts; the properties check packing; the
last part compiles generated schemas to guests (conformance.cguest) and checks,
in wasmtime, that clang's sizeof/_Alignof/offsetof are the engine's and that
values cross between host packing and guest member access bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance.strategies import struct_schemas, struct_schemas_with_values, struct_values
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from conformance.cguest import (
    CompiledGuest,
    CompileError,
    Compiler,
    NoCompiler,
    compile_guest,
    default_cache_dir,
    demangle,
    find_compiler,
    generate_c,
    mangle,
)
from conformance.layout import (
    MAX_ALIGN,
    SCALAR_KINDS,
    Array,
    Field,
    LayoutError,
    LayoutValueError,
    Scalar,
    SchemaError,
    Struct,
    Type,
    align_of,
    c_declaration,
    f32_bits,
    f32_from_bits,
    f64_bits,
    f64_from_bits,
    is_c_identifier,
    leaves,
    offsets,
    pack,
    padding,
    size_of,
    unpack,
)

I8, U8, I16, U16 = Scalar("i8"), Scalar("u8"), Scalar("i16"), Scalar("u16")
I32, U32, I64, U64 = Scalar("i32"), Scalar("u32"), Scalar("i64"), Scalar("u64")
F32, F64, PTR = Scalar("f32"), Scalar("f64"), Scalar("ptr")


def S(name: str, *fields: Field, packed: bool = False, align: int | None = None) -> Struct:
    return Struct(name, fields, packed, align)


def F(name: str, t: Type, align: int | None = None) -> Field:
    return Field(name, t, align)


# ---------------------------------------------------------------------------
# Known layouts

@pytest.mark.parametrize(("kind", "size"), [
    ("i8", 1), ("u8", 1), ("i16", 2), ("u16", 2), ("i32", 4), ("u32", 4),
    ("i64", 8), ("u64", 8), ("f32", 4), ("f64", 8), ("ptr", 4),
])
def test_scalars_are_naturally_aligned_on_wasm32(kind: Any, size: int) -> None:
    assert size_of(Scalar(kind)) == align_of(Scalar(kind)) == size


def test_char_then_double_is_16_bytes_with_the_double_at_8() -> None:
    s = S("cd", F("a", I8), F("b", F64))
    assert (size_of(s), align_of(s), offsets(s)) == (16, 8, {"a": 0, "b": 8})


def test_i64_is_8_aligned_and_a_pointer_is_4_bytes() -> None:
    s = S("p", F("a", I8), F("p", PTR), F("q", I64), F("r", PTR))
    assert offsets(s) == {"a": 0, "p": 4, "q": 8, "r": 16}
    assert (size_of(s), align_of(s)) == (24, 8)


def test_members_go_at_the_next_multiple_of_their_alignment() -> None:
    s = S("m", F("a", I8), F("b", I16), F("c", I8), F("d", I32), F("e", U8))
    assert offsets(s) == {"a": 0, "b": 2, "c": 4, "d": 8, "e": 12}
    assert (size_of(s), align_of(s)) == (16, 4)


def test_packed_struct_has_no_padding_and_alignment_one() -> None:
    s = S("pk", F("a", I8), F("b", I32), F("c", I8), F("d", F64), packed=True)
    assert offsets(s) == {"a": 0, "b": 1, "c": 5, "d": 6}
    assert (size_of(s), align_of(s)) == (14, 1)
    assert padding(s) == []


def test_aligned_member_in_a_packed_struct_sets_its_alignment_even_below_natural() -> None:
    # clang: packed makes the member's alignment 1, then aligned(N) takes the max with N
    s = S("pa", F("a", I8), F("b", I32, align=2), F("c", I8), packed=True)
    assert offsets(s) == {"a": 0, "b": 2, "c": 6}
    assert (size_of(s), align_of(s)) == (8, 2)
    s8 = S("pa8", F("a", I8), F("b", I32, align=8), F("c", I8), packed=True)
    assert offsets(s8) == {"a": 0, "b": 8, "c": 12}
    assert (size_of(s8), align_of(s8)) == (16, 8)


def test_aligned_member_can_only_raise_alignment_in_an_ordinary_struct() -> None:
    low = S("lo", F("a", I8), F("b", I32, align=1))
    assert offsets(low)["b"] == 4 and size_of(low) == 8
    high = S("hi", F("a", I8), F("b", I8, align=16))
    assert offsets(high)["b"] == 16 and (size_of(high), align_of(high)) == (32, 16)


def test_aligned_struct_rounds_its_size_and_can_only_raise() -> None:
    al = S("al16", F("a", I8), align=16)
    assert (size_of(al), align_of(al)) == (16, 16)
    one = S("al1", F("a", I32), align=1)
    assert (size_of(one), align_of(one)) == (4, 4)
    packed4 = S("pk4", F("a", I8), F("b", I32), F("c", I8), packed=True, align=4)
    assert offsets(packed4) == {"a": 0, "b": 1, "c": 5}
    assert (size_of(packed4), align_of(packed4)) == (8, 4)


def test_arrays_of_over_aligned_structs_stride_by_the_rounded_size() -> None:
    al = S("al16", F("a", I8), align=16)
    s = S("ar", F("c", I8), F("arr", Array(al, 3)))
    assert offsets(s)["arr"] == 16
    assert [offsets(s)[f"arr[{i}].a"] for i in range(3)] == [16, 32, 48]
    assert size_of(s) == 64


def test_packed_struct_places_an_aligned_struct_member_at_alignment_one() -> None:
    al = S("al16", F("a", I8), align=16)
    s = S("pk", F("c", I8), F("n", al), F("arr", Array(al, 2)), packed=True)
    assert offsets(s) == {"c": 0, "n": 1, "n.a": 1, "arr": 17, "arr[0]": 17, "arr[0].a": 17,
                          "arr[1]": 33, "arr[1].a": 33}
    assert (size_of(s), align_of(s)) == (49, 1)


def test_packed_does_not_reach_into_a_nested_struct() -> None:
    inner = S("inner", F("a", I8), F("b", I32))
    s = S("outer", F("c", I8), F("n", inner), packed=True)
    assert offsets(s) == {"c": 0, "n": 1, "n.a": 1, "n.b": 5}
    assert size_of(s) == 9


def test_aligned_array_member_aligns_only_its_start() -> None:
    s = S("q", F("c", I8), F("arr", Array(I8, 3), align=8), F("d", I8))
    assert offsets(s) == {"c": 0, "arr": 8, "arr[0]": 8, "arr[1]": 9, "arr[2]": 10, "d": 11}
    assert (size_of(s), align_of(s)) == (16, 8)


def test_nested_and_multidimensional_paths() -> None:
    point = S("point", F("x", I16), F("y", I32))
    s = S("shape", F("tag", U8), F("n", point), F("pts", Array(point, 2)), F("m", Array(Array(U16, 2), 3)))
    o = offsets(s)
    assert (o["n"], o["n.x"], o["n.y"]) == (4, 4, 8)
    assert (o["pts[1]"], o["pts[1].x"], o["pts[1].y"]) == (20, 20, 24)
    assert (o["m"], o["m[1][0]"], o["m[2][1]"]) == (28, 32, 38)
    assert size_of(s) == 40
    assert [leaf.path for leaf in leaves(s)][:4] == ["tag", "n.x", "n.y", "pts[0].x"]
    assert "unsigned short m[3][2];" in c_declaration(s)


def test_c_declaration_has_each_struct_once_innermost_first_with_attributes() -> None:
    inner = S("inner", F("v", PTR, align=8), packed=True, align=4)
    s = S("outer", F("a", inner), F("b", Array(inner, 2)), F("f", F32))
    text = c_declaration(s)
    assert text.count("struct inner {") == 1 and text.index("struct inner {") < text.index("struct outer {")
    assert "void *v __attribute__((aligned(8)));" in text
    assert "} __attribute__((packed, aligned(4)));" in text
    assert "struct inner b[2];" in text


# ---------------------------------------------------------------------------
# Invalid schemas and values

@pytest.mark.parametrize("make", [
    lambda: Scalar("i128"),  # type: ignore[arg-type]
    lambda: Array(I8, 0),
    lambda: Array(I8, True),
    lambda: Array("i8", 2),  # type: ignore[arg-type]
    lambda: Field("a", I8, align=3),
    lambda: Field("a", I8, align=0),
    lambda: Field("a", I8, align=2 * MAX_ALIGN),
    lambda: Field("int", I8),
    lambda: Field("1a", I8),
    lambda: Field("a.b", I8),
    lambda: Field("__x", I8),
    lambda: Field("_X", I8),
    lambda: Field("é", I8),
    lambda: Field("a", int),  # type: ignore[arg-type]
    lambda: S("empty"),
    lambda: S("dup", F("a", I8), F("a", I16)),
    lambda: S("struct", F("a", I8)),
    lambda: S("x", F("a", I8), align=6),
    lambda: Struct("x", (F("a", I8),), packed=1),  # type: ignore[arg-type]
    lambda: Struct("x", "ab"),  # type: ignore[arg-type]
    lambda: Struct("x", (I8,)),  # type: ignore[arg-type]
    lambda: size_of(S("huge", F("a", Array(U64, 1 << 29)))),
    lambda: size_of(Array(Array(U8, 1 << 16), 1 << 16)),
    lambda: c_declaration(S("o", F("a", S("n", F("x", I8))), F("b", S("n", F("y", I8))))),
])
def test_invalid_schemas_are_refused_with_a_schema_error(make: Any) -> None:
    with pytest.raises(SchemaError) as info:
        make()
    assert isinstance(info.value, ValueError) and str(info.value)


def test_identifiers() -> None:
    assert all(map(is_c_identifier, ["a", "_a", "a_", "a1", "A_b9", "_1", "sizeof_", "bool_"]))
    assert not any(map(is_c_identifier, ["", "1", "a-b", "while", "_Bool", "__a", "_A", "bool", "asm"]))


POINT = S("point", F("tag", U8), F("x", I32), F("f", F32), F("d", F64), F("arr", Array(I16, 2)))


def test_pack_is_little_endian_with_zero_padding() -> None:
    value = {"tag": 0xAB, "x": -2, "f": f32_bits(1.0), "d": f64_bits(-0.0), "arr": [1, -1]}
    data = pack(POINT, value)
    assert data == (b"\xab\0\0\0" + b"\xfe\xff\xff\xff" + b"\x00\x00\x80\x3f" + b"\0" * 4
                    + b"\0" * 7 + b"\x80" + b"\x01\x00\xff\xff" + b"\0" * 4)
    assert unpack(POINT, data) == value
    assert padding(POINT) == [(1, 3), (12, 4), (28, 4)]


def test_float_bit_patterns_survive_exactly() -> None:
    snan32, nan64 = 0x7F800001, 0xFFF8_0000_DEAD_BEEF
    value = {"tag": 0, "x": 0, "f": snan32, "d": nan64, "arr": [0, 0]}
    assert unpack(POINT, pack(POINT, value)) == value
    assert f32_bits(f32_from_bits(0x3FC00000)) == 0x3FC00000
    assert f64_from_bits(f64_bits(2.5)) == 2.5


@pytest.mark.parametrize(("change", "message"), [
    ({"tag": 256}, "tag: 256 is out of range for u8"),
    ({"tag": -1}, "out of range"),
    ({"x": 1 << 31}, "x: 2147483648 is out of range for i32"),
    ({"f": 1.5}, "bit pattern"),
    ({"d": 1 << 64}, "out of range"),
    ({"tag": True}, "takes an int"),
    ({"arr": [1]}, "has 2 elements"),
    ({"arr": [1, 1 << 15]}, "arr[1]"),
    ({"arr": "ab"}, "takes a list"),
    ({"extra": 1}, "unknown 'extra'"),
])
def test_values_that_do_not_fit_are_refused(change: dict[str, Any], message: str) -> None:
    value = {"tag": 0, "x": 0, "f": 0, "d": 0, "arr": [0, 0]} | change
    with pytest.raises(LayoutValueError, match=message.replace("[", r"\[")):
        pack(POINT, value)


def test_missing_fields_and_wrong_lengths_are_refused() -> None:
    with pytest.raises(LayoutValueError, match="missing d"):
        pack(POINT, {"tag": 0, "x": 0, "f": 0, "arr": [0, 0]})
    with pytest.raises(LayoutValueError, match="32 bytes, got 31"):
        unpack(POINT, bytes(31))
    assert issubclass(LayoutValueError, LayoutError) and issubclass(LayoutError, ValueError)


# ---------------------------------------------------------------------------
# Properties of the engine and the strategies

@given(st.data())
def test_pack_unpack_round_trip(data: st.DataObject) -> None:
    schema = data.draw(struct_schemas(), label="schema")
    value = data.draw(struct_values(schema), label="value")
    packed = pack(schema, value)
    assert len(packed) == size_of(schema)
    assert unpack(schema, packed) == value


@given(st.data())
def test_padding_packs_as_zero_and_unpack_ignores_it(data: st.DataObject) -> None:
    schema = data.draw(struct_schemas(), label="schema")
    value = data.draw(struct_values(schema), label="value")
    packed = bytearray(pack(schema, value))
    for start, length in padding(schema):
        assert packed[start:start + length] == bytes(length)
        packed[start:start + length] = data.draw(st.binary(min_size=length, max_size=length))
    assert unpack(schema, packed) == value


@given(struct_schemas())
def test_leaves_tile_the_struct_in_order_within_its_size(schema: Struct) -> None:
    end = 0
    for leaf in leaves(schema):
        assert leaf.offset >= end  # increasing, no overlap
        end = leaf.offset + leaf.size
    assert end <= size_of(schema)
    assert size_of(schema) % align_of(schema) == 0
    covered = sum(leaf.size for leaf in leaves(schema)) + sum(n for _, n in padding(schema))
    assert covered == size_of(schema)


def _structs_in(t: Type) -> Iterator[Struct]:
    if isinstance(t, Array):
        yield from _structs_in(t.element)
    elif isinstance(t, Struct):
        yield t
        for f in t.fields:
            yield from _structs_in(f.type)


@given(struct_schemas(max_fields=4, max_depth=3, max_leaves=30))
def test_schemas_have_unique_c_names_and_stay_within_their_limits(schema: Struct) -> None:
    structs = list(_structs_in(schema))
    assert len({s.name for s in structs}) == len(structs)
    for s in structs:
        assert 1 <= len(s.fields) <= 4
        assert all(is_c_identifier(f.name) for f in s.fields)
    assert len(leaves(schema)) <= 30
    assert c_declaration(schema).count("struct ") >= len(structs)


@given(struct_schemas())
def test_mangled_names_are_distinct_identifiers_that_demangle(schema: Struct) -> None:
    paths = list(offsets(schema))
    names = [mangle(p) for p in paths]
    assert len(set(names)) == len(names)
    assert all(is_c_identifier("get_" + n) for n in names)
    assert [demangle(n) for n in names] == paths


def test_mangle_keeps_underscores_and_dots_apart() -> None:
    assert mangle("n.y") == "n_dy" and mangle("arr[2]") == "arr_2" and mangle("m[1][0]") == "m_1_0"
    assert mangle("a_b.c") != mangle("a.b_c")
    assert mangle("a._b") != mangle("a_.b")
    for bad in ["", ".a", "a..b", "a[", "[1]", "a[1]b", "a.1", "a b"]:
        with pytest.raises(ValueError):
            mangle(bad)
    with pytest.raises(ValueError):
        demangle("a_x")


@pytest.mark.parametrize("kwargs", [
    {"max_fields": 0}, {"max_depth": -1}, {"max_count": 0}, {"max_leaves": 0}, {"max_fields": 1.5},
])
def test_struct_schemas_validates_its_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        struct_schemas(**kwargs).example()
    with pytest.raises(InvalidArgument):
        struct_schemas_with_values(**kwargs).example()


@given(struct_schemas_with_values(max_fields=3, max_depth=1))
def test_schemas_with_values_pack(schema_and_value: tuple[Struct, dict[str, Any]]) -> None:
    schema, value = schema_and_value
    assert unpack(schema, pack(schema, value)) == value
    assert len(schema.fields) <= 3


def test_struct_values_needs_a_struct() -> None:
    with pytest.raises(InvalidArgument):
        struct_values(I8).example()


# ---------------------------------------------------------------------------
# Ground truth: the compiled guest (clang) against the engine

PAGE = 65536


@pytest.fixture(scope="module")
def compiler() -> Compiler:
    try:
        return find_compiler()
    except NoCompiler as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def cache_dir() -> Path:
    """Compiled guests persist across runs (``$WASM_CONFORMANCE_CACHE_DIR`` or ~/.cache)."""
    return default_cache_dir()


@pytest.fixture(scope="module")
def engine() -> Any:
    wasmtime = pytest.importorskip("wasmtime")
    return wasmtime.Engine()


def _signed(bits: int, width: int) -> int:
    return bits - (1 << width) if bits >> (width - 1) else bits


def check_against_guest(engine: Any, guest: CompiledGuest, value: dict[str, Any], fill: int = 0xA5) -> None:
    """The engine's layout is the guest's, and values cross host packing <-> guest members exactly.

    Runs the guest in wasmtime: sizeof, _Alignof and every offsetof; the
    export signatures; each getter on the struct the host packed; the setters
    into memory filled with ``fill``, which the host then unpacks (and whose
    padding the setters must leave alone).
    """
    import wasmtime

    schema = guest.schema
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module.from_file(engine, str(guest.path)), [])
    exports: Any = instance.exports(store)

    def call(name: str, *args: int) -> int:
        result: int = exports[name](store, *args)
        return result

    size, align = size_of(schema), align_of(schema)
    # one comparison for the whole layout, so that Hypothesis shrinks one failure, not several
    engine_layout = {"sizeof": size, "_Alignof": align} | {f.path: f.offset for f in guest.fields}
    clang_layout = {"sizeof": call("size_of"), "_Alignof": call("align_of")}
    clang_layout |= {f.path: call(f.offset_export) for f in guest.fields}
    differ = {k: (v, clang_layout[k]) for k, v in engine_layout.items() if v != clang_layout[k]}
    assert not differ, f"layout differs from clang's, as (engine, clang): {differ}"
    for f in guest.fields:
        assert [str(t) for t in exports[f.getter].type(store).results] == [f.wasm_type]
        assert [str(t) for t in exports[f.setter].type(store).params] == ["i32", f.wasm_type]

    memory = exports["memory"]
    base1 = memory.data_len(store) + align  # aligned, and past whatever the guest uses
    base2 = base1 + -(-size // align) * align + align
    needed = base2 + size - memory.data_len(store)
    memory.grow(store, -(-needed // PAGE))

    # host packs, guest reads
    packed = pack(schema, value)
    memory.write(store, packed, base1)
    flat = {leaf.path: v for leaf, v in zip(leaves(schema), _leaf_values(schema, value), strict=True)}
    for f in guest.fields:
        got = call(f.getter, base1) & ((1 << (32 if f.wasm_type == "i32" else 64)) - 1)
        assert got == f.to_wasm(flat[f.path]), f"get {f.path}: {got:#x} != {f.to_wasm(flat[f.path]):#x}"
        assert f.from_wasm(got) == flat[f.path]

    # guest writes, host unpacks (over garbage, which padding keeps)
    memory.write(store, bytes([fill]) * size, base2)
    for f in guest.fields:
        call(f.setter, base2, _signed(f.to_wasm(flat[f.path]), 32 if f.wasm_type == "i32" else 64))
    written = bytes(memory.read(store, base2, base2 + size))
    assert unpack(schema, written) == value
    for start, length in padding(schema):
        assert written[start:start + length] == bytes([fill]) * length, "a setter wrote padding"


def _leaf_values(t: Type, value: Any) -> Iterator[int]:
    if isinstance(t, Scalar):
        yield value
    elif isinstance(t, Array):
        for item in value:
            yield from _leaf_values(t.element, item)
    else:
        for f in t.fields:
            yield from _leaf_values(f.type, value[f.name])


@settings(max_examples=25, deadline=None)
@given(struct_schemas_with_values())
def test_layout_and_values_match_clang(
    engine: Any, compiler: Compiler, cache_dir: Path, schema_and_value: tuple[Struct, dict[str, Any]]
) -> None:
    schema, value = schema_and_value
    check_against_guest(engine, compile_guest(schema, cache_dir=cache_dir, compiler=compiler), value)


AL16 = S("al16", F("a", I8), align=16)
TRICKY = [
    S("char_double", F("a", I8), F("b", F64)),
    S("every_kind", *(F(f"k_{k}", Scalar(k)) for k in SCALAR_KINDS)),
    S("packed_aligned", F("a", I8), F("b", I32, align=2), F("c", I64, align=4), F("d", I8), packed=True),
    S("packed_over", F("a", I8), F("b", AL16), F("c", Array(AL16, 2)), F("d", U16, align=8), packed=True),
    S("arr_over", F("a", I8), F("b", Array(AL16, 3)), F("c", Array(Array(F32, 2), 2), align=32)),
    S("nested", F("a", U8), F("n", S("inner", F("x", I16), F("y_z", F64), packed=True, align=4)),
      F("p", Array(S("inner2", F("q", PTR), F("r", I8), align=8), 2))),
    S("under_score", F("a_b", S("c_d", F("e", I8), F("f_", I8))), F("a", S("b_c", F("d_e", I8)))),
]


@pytest.mark.parametrize("schema", TRICKY, ids=[s.name for s in TRICKY])
def test_tricky_layouts_match_clang(engine: Any, compiler: Compiler, cache_dir: Path, schema: Struct) -> None:
    guest = compile_guest(schema, cache_dir=cache_dir, compiler=compiler)
    assert [f.path for f in guest.fields] == [leaf.path for leaf in leaves(schema)]
    # all bits set: -1 for signed kinds, the maximum for unsigned ones, a negative NaN for floats
    check_against_guest(engine, guest, unpack(schema, b"\xff" * size_of(schema)))
    check_against_guest(engine, guest, unpack(schema, bytes(size_of(schema))), fill=0xFF)


def test_compiling_is_deterministic_and_cached(compiler: Compiler, tmp_path: Path) -> None:
    schema = TRICKY[3]
    first = compile_guest(schema, cache_dir=tmp_path / "one", compiler=compiler)
    second = compile_guest(schema, cache_dir=tmp_path / "two", compiler=compiler)
    again = compile_guest(schema, cache_dir=tmp_path / "one", compiler=compiler)
    assert not first.cached and not second.cached and again.cached
    assert first.sha256 == second.sha256 == again.sha256
    assert first.path.name == second.path.name  # the key: source, compiler, flags
    assert first.source == generate_c(schema) and "memory" in first.exports
    assert first.as_guest().sha256 == first.sha256


def test_a_damaged_cache_entry_is_rebuilt(compiler: Compiler, tmp_path: Path) -> None:
    schema = TRICKY[0]
    good = compile_guest(schema, cache_dir=tmp_path, compiler=compiler)
    good.path.write_bytes(b"\0asm")
    rebuilt = compile_guest(schema, cache_dir=tmp_path, compiler=compiler)
    assert not rebuilt.cached and rebuilt.sha256 == good.sha256


def test_a_replaced_cache_entry_is_rebuilt_not_run(compiler: Compiler, tmp_path: Path) -> None:
    """A cached module replaced by another valid one with the same exports is not trusted on its
    structure: its digest is checked, and it is built again."""
    schema = TRICKY[0]
    good = compile_guest(schema, cache_dir=tmp_path, compiler=compiler)
    impostor = bytearray(good.path.read_bytes())
    impostor[-1] ^= 1  # still a module of the same size and exports, different bytes
    good.path.write_bytes(bytes(impostor))
    rebuilt = compile_guest(schema, cache_dir=tmp_path, compiler=compiler)
    assert not rebuilt.cached and rebuilt.sha256 == good.sha256
    assert rebuilt.path.read_bytes() != bytes(impostor)


def test_a_failing_compiler_raises_compile_error(tmp_path: Path) -> None:
    broken = Compiler("false", ("false",), "false 1.0")
    with pytest.raises(CompileError, match="failed on struct char_double"):
        compile_guest(TRICKY[0], cache_dir=tmp_path, compiler=broken)


def test_no_compiler_is_one_line_saying_what_was_tried() -> None:
    with pytest.raises(NoCompiler) as info:
        find_compiler(clang="/nonexistent/clang", python="/nonexistent/python")
    message = str(info.value)
    assert "\n" not in message
    assert "/nonexistent/clang" in message and "ziglang" in message
