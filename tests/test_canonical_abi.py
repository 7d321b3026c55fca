"""The canonical ABI engine (conformance.canonical_abi) against the spec, and its strategies.

Three kinds of check:

- **The spec's own code as oracle.** ``tests/data/canonical_abi_cases.json``
  holds what the reference ``design/mvp/canonical-abi/definitions.py`` of
  WebAssembly/component-model (at the commit its ``about`` names) computes
  for 60 types (48 written by hand from CanonicalABI.md's text, 12 drawn by
  :func:`wit_types`) and 122 values of them: size, alignment, flat types, the
  memory after ``store`` and after ``lower_flat`` (every byte, from a memory
  prefilled with 0xEE so padding shows), every ``realloc`` call, the flat
  values; for types holding strings, in all 9 pairs of destination and
  source string encoding. Also 26 ``flatten_functype`` answers. A one-off
  script outside the project made it: it imported definitions.py (with
  ``DETERMINISTIC_PROFILE = True``, a 32-bit memory, and ``reallocate``
  calling a bump allocator with :class:`BumpAllocator`'s rules), converted
  each case to the reference's types and values, ran it, and checked that
  its ``load`` and ``lift_flat`` gave the value back. The reference code is
  not part of the project; nothing here needs the network.
- **Cases from CanonicalABI.md's text**, spelled out: padding, discriminant
  sizes, flags sizes, option and result layouts, the joins, the flat limits,
  the traps.
- **Properties** over :func:`wit_types` and :func:`wit_values`: round trips
  through memory and through flat values in every encoding, ``store``
  writing exactly the non-padding bytes of ``size(t)`` and nothing outside
  them and its allocations, latin1+utf16 choosing Latin-1 exactly when every
  code point is below 256.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conformance.strategies import wit_types, wit_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.canonical_abi import (
    BOOL,
    CHAR,
    F32,
    F64,
    MAX_FLAT_PARAMS,
    MAX_FLAT_RESULTS,
    S8,
    S64,
    STRING,
    STRING_ENCODINGS,
    U8,
    U16,
    U32,
    U64,
    UTF16_TAG,
    AbiValueError,
    BumpAllocator,
    Case,
    CoreFuncType,
    Enum,
    Err,
    Field,
    Flags,
    List,
    Option,
    Record,
    Result,
    Some,
    StringEncoding,
    Trap,
    Tuple,
    Variant,
    VariantCase,
    WitType,
    WitTypeError,
    alignment,
    discriminant_size,
    field_offsets,
    flatten,
    flatten_functype,
    is_wit_identifier,
    lift,
    lift_values,
    load,
    lower,
    lower_values,
    nominal_types,
    padding,
    payload_offset,
    same_value,
    size,
    store,
    type_from_json,
    type_to_json,
    value_from_json,
    value_to_json,
    wit,
    wit_typedefs,
)

CASES = json.loads((Path(__file__).parent / "data" / "canonical_abi_cases.json").read_text("utf-8"))
SETUP = CASES["setup"]


def rec(name: str, *fields: tuple[str, WitType]) -> Record:
    return Record(name, tuple(Field(label, t) for label, t in fields))


def var(name: str, *cases: tuple[str, WitType | None]) -> Variant:
    return Variant(name, tuple(VariantCase(label, t) for label, t in cases))


def _type_id(case: dict[str, Any]) -> str:
    return wit(type_from_json(case["type"]))


# ---------------------------------------------------------------- the reference's answers


@pytest.mark.parametrize("case", CASES["types"], ids=_type_id)
def test_size_alignment_and_flat_types_are_the_reference_s(case: dict[str, Any]) -> None:
    t = type_from_json(case["type"])
    assert (size(t), alignment(t), list(flatten(t))) == (case["size"], case["alignment"], case["flat"]), (
        f"{wit(t)}: (size, alignment, flat) differ from definitions.py ({case['note']})"
    )


def _memory() -> bytearray:
    prefill: int = SETUP["prefill"]
    memory_size: int = SETUP["memory_size"]
    return bytearray([prefill]) * memory_size


def _allocator(memory: bytearray, t: WitType) -> BumpAllocator:
    return BumpAllocator(memory, start=-(-(SETUP["ptr"] + size(t)) // 8) * 8)


def _calls(a: BumpAllocator) -> list[list[int]]:
    return [[c.old_ptr, c.old_size, c.alignment, c.new_size, c.result] for c in a.calls]


def _runs() -> list[Any]:
    out = []
    for case in CASES["types"]:
        t = type_from_json(case["type"])
        for i, v in enumerate(case["values"]):
            for run in v["runs"]:
                name = f"{wit(t)}-v{i}-{run['string_encoding']}-from-{run['source_encoding']}"
                out.append(pytest.param(t, v["value"], run, id=name))
    return out


def _flat_bits(t: WitType, flat: list[Any]) -> list[int]:
    from conformance.canonical_abi.values import f32_bits, f64_bits

    bits = []
    for core, x in zip(flatten(t), flat, strict=True):
        if isinstance(x, float):
            bits.append(f32_bits(x) if core == "f32" else f64_bits(x))
        else:
            bits.append(x)
    return bits


@pytest.mark.parametrize(("t", "value_json", "run"), _runs())
def test_store_and_lower_give_the_reference_s_bytes_and_reallocs(
    t: WitType, value_json: Any, run: dict[str, Any]
) -> None:
    value = value_from_json(t, value_json)
    encodings: dict[str, Any] = {"string_encoding": run["string_encoding"],
                                 "source_encoding": run["source_encoding"]}
    memory = _memory()
    alloc = _allocator(memory, t)
    store(t, value, memory, SETUP["ptr"], realloc=alloc, **encodings)
    assert _calls(alloc) == run["store"]["realloc"], "store: realloc calls differ from definitions.py"
    assert memory[:alloc.end].hex() == run["store"]["memory"], "store: memory differs from definitions.py"

    memory = _memory()
    alloc = _allocator(memory, t)
    flat = lower(t, value, memory, realloc=alloc, **encodings)
    assert _flat_bits(t, flat) == run["lower"]["flat"], "lower: flat values differ from definitions.py"
    assert _calls(alloc) == run["lower"]["realloc"], "lower: realloc calls differ from definitions.py"
    assert memory[:alloc.end].hex() == run["lower"]["memory"], "lower: memory differs from definitions.py"


@pytest.mark.parametrize(("t", "value_json", "run"), _runs())
def test_load_and_lift_read_the_reference_s_bytes(t: WitType, value_json: Any, run: dict[str, Any]) -> None:
    from conformance.canonical_abi.values import f32_from_bits, f64_from_bits

    value = value_from_json(t, value_json)
    enc = run["string_encoding"]
    memory = bytearray.fromhex(run["store"]["memory"]) + bytearray(16)
    assert same_value(load(t, memory, SETUP["ptr"], string_encoding=enc), value)
    memory = bytearray.fromhex(run["lower"]["memory"]) + bytearray(16)
    flat = [f32_from_bits(x) if core == "f32" else f64_from_bits(x) if core == "f64" else x
            for core, x in zip(flatten(t), run["lower"]["flat"], strict=True)]
    assert same_value(lift(t, flat, memory, string_encoding=enc), value)


@pytest.mark.parametrize("case", CASES["functypes"], ids=lambda c: f"{len(c['params'])}-{c['context']}")
def test_flatten_functype_is_the_reference_s(case: dict[str, Any]) -> None:
    params = [type_from_json(x) for x in case["params"]]
    results = [type_from_json(x) for x in case["results"]]
    got = flatten_functype(params, results, context=case["context"])
    assert got == CoreFuncType(tuple(case["core_params"]), tuple(case["core_results"]))


def test_the_oracle_table_has_what_its_docstring_says() -> None:
    assert len(CASES["types"]) == 60
    assert sum(len(c["values"]) for c in CASES["types"]) == 122
    assert len(CASES["functypes"]) == 26
    assert "definitions.py" in CASES["about"]


# ---------------------------------------------------------------- CanonicalABI.md's text, by hand


def test_scalar_sizes_are_their_alignments() -> None:
    expected = {BOOL: 1, S8: 1, U8: 1, U16: 2, U32: 4, F32: 4, CHAR: 4, U64: 8, S64: 8, F64: 8}
    for t, n in expected.items():
        assert (size(t), alignment(t)) == (n, n), t
    assert (size(STRING), alignment(STRING)) == (8, 4)
    assert (size(List(F64)), alignment(List(F64))) == (8, 4)


def test_record_fields_go_at_their_alignment_and_the_size_rounds_up() -> None:
    r = rec("r", ("a", U8), ("b", U32), ("c", U8), ("d", U16))
    assert field_offsets(r) == (0, 4, 8, 10)
    assert (size(r), alignment(r)) == (12, 4)
    r = rec("r", ("a", U8), ("b", U64), ("c", U8))
    assert (field_offsets(r), size(r), alignment(r)) == ((0, 8, 16), 24, 8)
    assert padding(r, {"a": 1, "b": 2, "c": 3}) == [(1, 7), (17, 7)]
    assert size(Tuple((U8, U16))) == 4 and field_offsets(Tuple((U8, U16))) == (0, 2)


@pytest.mark.parametrize(("cases", "disc"), [(1, 1), (256, 1), (257, 2), (65536, 2), (65537, 4)])
def test_the_discriminant_is_the_smallest_integer_for_the_case_count(cases: int, disc: int) -> None:
    assert discriminant_size(cases) == disc


def test_variant_discriminant_sizes_and_payload_offsets() -> None:
    e = Enum("e", tuple(f"c{i}" for i in range(257)))
    assert (size(e), alignment(e)) == (2, 2)
    v = Variant("v", (*(VariantCase(f"c{i}") for i in range(256)), VariantCase("x", U8)))
    assert (payload_offset(v), size(v), alignment(v)) == (2, 4, 2)
    v = var("v", ("a", U8), ("b", U64))
    assert (payload_offset(v), size(v), alignment(v)) == (8, 16, 8)
    assert padding(v, Case("a", 1)) == [(1, 7), (9, 7)]
    assert padding(v, Case("b", 1)) == [(1, 7)]


@pytest.mark.parametrize(("labels", "nbytes"), [(1, 1), (8, 1), (9, 2), (16, 2), (17, 4), (32, 4)])
def test_flags_take_the_smallest_of_1_2_4_bytes(labels: int, nbytes: int) -> None:
    f = Flags("f", tuple(f"l{i}" for i in range(labels)))
    assert (size(f), alignment(f), flatten(f)) == (nbytes, nbytes, ("i32",))
    memory = bytearray(4)
    store(f, frozenset({f"l{labels - 1}"}), memory, 0)
    assert int.from_bytes(memory, "little") == 1 << (labels - 1)


@pytest.mark.parametrize("labels", [0, 33])
def test_flags_of_0_or_more_than_32_labels_are_refused(labels: int) -> None:
    # The spec has asserted 0 < n <= 32 since "Limit number of flags to 32" (an older
    # CanonicalABI.md stored 33+ flags as several i32s, and 0 flags in 0 bytes).
    with pytest.raises(WitTypeError):
        Flags("f", tuple(f"l{i}" for i in range(labels)))


def test_option_and_result_are_laid_out_as_their_variants() -> None:
    assert (size(Option(U8)), payload_offset(Option(U8))) == (2, 1)
    assert (size(Option(U64)), alignment(Option(U64)), payload_offset(Option(U64))) == (16, 8, 8)
    assert (size(Result(None, None)), flatten(Result(None, None))) == (1, ("i32",))
    assert (size(Result(U32, STRING)), flatten(Result(U32, STRING))) == (12, ("i32", "i32", "i32"))
    memory = bytearray(16)
    store(Option(Option(U32)), Some(None), memory, 0)
    assert memory[0] == 1 and memory[4] == 0  # some(none): outer case 1, inner case 0
    assert load(Option(Option(U32)), memory, 0) == Some(None)


@pytest.mark.parametrize(("cases", "flat"), [
    ((F32, U32), ("i32", "i32")),
    ((F32, F32), ("i32", "f32")),
    ((F64, U64), ("i32", "i64")),
    ((F32, F64), ("i32", "i64")),
    ((U32, U64), ("i32", "i64")),
    ((Tuple((F32, U8)), Tuple((U8, F32, F64))), ("i32", "i32", "i32", "f64")),
    ((None, STRING), ("i32", "i32", "i32")),
])
def test_a_variant_joins_its_cases_flat_types_slot_by_slot(cases: tuple[WitType | None, ...],
                                                           flat: tuple[str, ...]) -> None:
    v = Variant("v", tuple(VariantCase(f"c{i}", t) for i, t in enumerate(cases)))
    assert flatten(v) == flat


def test_a_joined_slot_carries_an_f32_as_its_bits() -> None:
    v = var("v", ("a", F32), ("b", F64))
    assert lower(v, Case("a", 1.0)) == [0, 0x3F800000]
    assert lower(v, Case("b", 1.0)) == [1, 0x3FF0000000000000]
    assert lift(v, [0, 0xFFFFFFFF_3F800000]) == Case("a", 1.0)  # i64 -> i32 wraps, then f32 bits


def test_every_nan_is_stored_lowered_and_loaded_as_the_canonical_nan() -> None:
    from conformance.canonical_abi.values import f32_bits, f32_from_bits, f64_bits, f64_from_bits

    memory = bytearray(8)
    store(F32, f32_from_bits(0xFFC00123), memory, 0)
    assert memory[:4] == (0x7FC00000).to_bytes(4, "little")
    store(F64, f64_from_bits(0xFFF0000000000123), memory, 0)
    assert memory == (0x7FF8000000000000).to_bytes(8, "little")
    assert f32_bits(lower(F32, f32_from_bits(0x7FC0BEEF))[0]) == 0x7FC00000
    assert f32_bits(load(F32, (0xFFFFFFFF).to_bytes(4, "little"), 0)) == 0x7FC00000
    assert f64_bits(lift(F64, [f64_from_bits(0xFFF8000000000001)])) == 0x7FF8000000000000


def test_the_flat_limits_send_values_through_memory() -> None:
    assert flatten_functype([U8] * MAX_FLAT_PARAMS, [], context="lift").params == ("i32",) * 16
    assert flatten_functype([U8] * 17, [], context="lift") == CoreFuncType(("i32",), ())
    assert flatten_functype([STRING] * 9, [], context="lower") == CoreFuncType(("i32",), ())
    assert MAX_FLAT_RESULTS == 1
    assert flatten_functype([], [STRING], context="lift") == CoreFuncType((), ("i32",))
    assert flatten_functype([U8], [STRING], context="lower") == CoreFuncType(("i32", "i32"), ())
    assert flatten_functype([], [F64], context="lift") == CoreFuncType((), ("f64",))


def test_values_past_the_flat_limit_go_as_a_tuple_in_memory() -> None:
    memory = bytearray(256)
    alloc = BumpAllocator(memory, start=16)
    types = [U8] * 17
    flat = lower_values(types, list(range(17)), max_flat=MAX_FLAT_PARAMS, memory=memory, realloc=alloc)
    assert flat == [16] and alloc.calls[0].new_size == 17
    assert lift_values(types, flat, max_flat=MAX_FLAT_PARAMS, memory=memory) == list(range(17))
    assert lower_values([U64], [5], max_flat=MAX_FLAT_RESULTS) == [5]
    assert lower_values([STRING], ["ab"], max_flat=1, memory=memory, realloc=alloc, out_ptr=64) == []
    assert lift_values([STRING], [64], max_flat=1, memory=memory) == ["ab"]


def test_strings_carry_code_units_and_latin1_utf16_tags_utf16() -> None:
    memory = bytearray(64)
    cases: list[tuple[str, StringEncoding, int]] = [
        ("\xe9", "utf8", 2), ("\xe9", "utf16", 1), ("\xe9", "latin1+utf16", 1),
        ("\U0001F600", "utf16", 2), ("\u20ac", "latin1+utf16", 1 | UTF16_TAG),
    ]
    for text, enc, units in cases:
        ptr, n = lower(STRING, text, memory, realloc=BumpAllocator(memory, start=8), string_encoding=enc)
        assert n == units, (text, enc)
        assert lift(STRING, [ptr, n], memory, string_encoding=enc) == text


def test_utf16_to_utf8_allocates_optimistically_then_the_worst_case_then_shrinks() -> None:
    memory = bytearray(64)
    alloc = BumpAllocator(memory, start=8)
    lower(STRING, "a\u20acb", memory, realloc=alloc, source_encoding="utf16")
    assert [(c.old_size, c.alignment, c.new_size) for c in alloc.calls] == [(0, 1, 3), (3, 1, 9), (9, 1, 5)]


# ---------------------------------------------------------------- traps


@pytest.mark.parametrize(("t", "flat", "memory", "enc", "why"), [
    (Enum("e", ("a", "b")), [2], b"", "utf8", "discriminant 2"),
    (CHAR, [0xD800], b"", "utf8", "not a Unicode scalar value"),
    (CHAR, [0x110000], b"", "utf8", "not a Unicode scalar value"),
    (STRING, [0, 2], b"\xc3\x28", "utf8", "invalid utf-8"),
    (STRING, [0, 1], b"\x00\xd8", "utf16", "invalid utf-16-le"),
    (STRING, [1, 1], b"\x00a\x00", "utf16", "not 2-aligned"),
    (STRING, [0, 5], b"abcd", "utf8", "past the end of memory"),
    (STRING, [0, 1 << 28], b"", "utf8", "longer than a string may be"),
    (STRING, [0, UTF16_TAG | 1], b"\x00\xdc", "latin1+utf16", "invalid utf-16-le"),
    (List(U32), [2, 1], bytes(8), "utf8", "not 4-aligned"),
    (List(U8), [4, 1], bytes(4), "utf8", "past the end of memory"),
    (List(U64), [0, 1 << 25], b"", "utf8", "longer than a list may be"),
])
def test_lifting_bad_data_traps(t: WitType, flat: list[int], memory: bytes, enc: StringEncoding,
                                why: str) -> None:
    with pytest.raises(Trap, match=why):
        lift(t, flat, bytearray(memory), string_encoding=enc)


def test_loading_bad_data_traps_and_the_spec_s_lenient_cases_do_not() -> None:
    with pytest.raises(Trap, match="discriminant 3"):
        load(Option(U8), bytes([3, 0]), 0)
    with pytest.raises(Trap, match="not 4-aligned"):
        load(U32, bytes(8), 2)
    assert load(BOOL, bytes([2]), 0) is True  # any non-zero byte is true
    assert load(Flags("f", ("a",)), bytes([0xFF]), 0) == frozenset({"a"})  # bits past the labels ignored
    assert lift(U8, [0x1FF]) == 0xFF and lift(S8, [0xFF]) == -1  # high bits dropped, no trap


def test_a_realloc_answer_out_of_bounds_or_misaligned_traps() -> None:
    memory = bytearray(32)
    with pytest.raises(Trap, match="not 4-aligned"):
        store(List(U32), [1], memory, 0, realloc=lambda *_: 2)
    with pytest.raises(Trap, match="past the end"):
        store(STRING, "abc", memory, 0, realloc=lambda *_: 30)


def test_values_not_of_their_type_are_refused_before_anything_is_written() -> None:
    memory = bytearray(8)
    bad: list[tuple[WitType, object]] = [
        (U8, 256), (U8, True), (BOOL, 1), (F32, 0.1), (CHAR, "\ud800"), (STRING, "a\udc00"),
        (Option(U8), 3), (Result(None, U8), Err()), (Flags("f", ("a",)), {"b"}),
        (rec("r", ("a", U8)), {"a": 1, "b": 2}), (Tuple((U8,)), [1]),
    ]
    for t, v in bad:
        with pytest.raises(AbiValueError):
            store(t, v, memory, 0)
    assert memory == bytearray(8)


# ---------------------------------------------------------------- types, WIT text, JSON


def test_types_follow_the_grammar() -> None:
    bad: list[Callable[[], object]] = [lambda: Record("r", ()), lambda: Tuple(()), lambda: Enum("e", ()),
                lambda: Variant("v", ()), lambda: Record("r", (Field("a", U8), Field("A", U8))),
                lambda: Record("Bad_name", (Field("a", U8),)), lambda: Field("a--b", U8),
                lambda: Field("1a", U8), lambda: Field("aB", U8)]
    for make in bad:
        with pytest.raises(WitTypeError):
            make()
    assert all(map(is_wit_identifier, ["a", "red-green", "parse-XML-doc", "HTTP", "a1", "x-2d"]))


def test_wit_text_of_types() -> None:
    point = rec("point", ("x", S64), ("type", List(CHAR)))
    t = Result(Option(point), Tuple((U8, Enum("e", ("enum", "b")))))
    assert wit(t) == "result<option<point>, tuple<u8, e>>"
    assert wit(Result(None, U8)) == "result<_, u8>" and wit(Result(U8)) == "result<u8>"
    assert wit(Result()) == "result" and wit(Flags("flags", ("a",))) == "%flags"
    assert wit_typedefs(t) == (
        "record point {\n    x: s64,\n    %type: list<char>,\n}\n\nenum e {\n    %enum,\n    b,\n}\n"
    )
    with pytest.raises(WitTypeError, match="two different types"):
        wit_typedefs(Tuple((Enum("e", ("a",)), Enum("e", ("b",)))))


# ---------------------------------------------------------------- properties

_PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_TYPED_VALUES = wit_types().flatmap(lambda t: st.tuples(st.just(t), wit_values(t)))
_ENCODINGS = st.sampled_from(STRING_ENCODINGS)


@_PROPERTY
@given(_TYPED_VALUES, _ENCODINGS, _ENCODINGS)
def test_load_gives_back_what_store_stored(tv: tuple[WitType, Any], enc: StringEncoding,
                                           source: StringEncoding) -> None:
    t, v = tv
    memory = bytearray(1 << 16)
    ptr = 8 * alignment(t)
    store(t, v, memory, ptr, realloc=BumpAllocator(memory, start=1024), string_encoding=enc,
          source_encoding=source)
    back = load(t, memory, ptr, string_encoding=enc)
    assert same_value(back, v), f"{wit(t)} in {enc} from {source}: stored {v!r}, loaded {back!r}"


@_PROPERTY
@given(_TYPED_VALUES, _ENCODINGS)
def test_store_writes_exactly_the_non_padding_bytes_of_its_size(tv: tuple[WitType, Any],
                                                                enc: StringEncoding) -> None:
    """Stored twice, over memories of all 0x00 and all 0xFF: a byte of the value's ``size(t)``
    that is not padding comes out the same (it was written), a padding byte and every byte
    outside the value and the blocks ``realloc`` handed out comes out as it was."""
    t, v = tv
    ptr, n = 8 * alignment(t), size(t)
    results = []
    for fill in (0x00, 0xFF):
        memory = bytearray([fill]) * (1 << 16)
        alloc = BumpAllocator(memory, start=1024)
        store(t, v, memory, ptr, realloc=alloc, string_encoding=enc)
        untouched = bytearray([fill]) * len(memory)
        for block, length in [(ptr, n), *alloc.blocks()]:
            untouched[block:block + length] = memory[block:block + length]
        assert memory == untouched, f"{wit(t)}: store wrote outside the value and its allocations"
        results.append(memory[ptr:ptr + n])
    holes = bytearray(n)
    for offset, length in padding(t, v):
        holes[offset:offset + length] = b"\x01" * length
    for i in range(n):
        if holes[i]:
            assert (results[0][i], results[1][i]) == (0x00, 0xFF), f"{wit(t)}: padding byte {i} was written"
        else:
            assert results[0][i] == results[1][i], f"{wit(t)}: byte {i} of the value was not written"


@_PROPERTY
@given(_TYPED_VALUES, _ENCODINGS)
def test_lift_gives_back_what_lower_lowered(tv: tuple[WitType, Any], enc: StringEncoding) -> None:
    t, v = tv
    memory = bytearray(1 << 16)
    flat = lower(t, v, memory, realloc=BumpAllocator(memory), string_encoding=enc)
    assert len(flat) == len(flatten(t))
    back = lift(t, flat, memory, string_encoding=enc)
    assert same_value(back, v), f"{wit(t)} in {enc}: lowered {v!r} to {flat}, lifted {back!r}"


@_PROPERTY
@given(st.lists(_TYPED_VALUES, max_size=6), st.sampled_from([MAX_FLAT_PARAMS, MAX_FLAT_RESULTS]))
def test_lift_values_gives_back_what_lower_values_lowered(
    tvs: list[tuple[WitType, Any]], max_flat: int
) -> None:
    types, values = [t for t, _ in tvs], [v for _, v in tvs]
    memory = bytearray(1 << 16)
    flat = lower_values(types, values, max_flat=max_flat, memory=memory, realloc=BumpAllocator(memory))
    assert len(flat) <= max_flat or len(flat) == len(flatten_functype(types, [], context="lift").params)
    assert same_value(lift_values(types, flat, max_flat=max_flat, memory=memory), values)


@settings(max_examples=200, deadline=None)
@given(wit_values(STRING, max_length=16), st.sampled_from(STRING_ENCODINGS))
def test_latin1_utf16_chooses_latin1_exactly_when_every_code_point_is_below_256(
    text: str, source: StringEncoding
) -> None:
    memory = bytearray(1024)
    ptr, units = lower(STRING, text, memory, realloc=BumpAllocator(memory), string_encoding="latin1+utf16",
                       source_encoding=source)
    assert isinstance(ptr, int) and isinstance(units, int)
    latin1 = all(ord(c) < 256 for c in text)
    assert (units & UTF16_TAG == 0) == latin1, f"{text!r} from {source}: code units {units:#x}"
    expected = text.encode("latin-1") if latin1 else text.encode("utf-16-le")
    assert memory[ptr:ptr + len(expected)] == expected


@_PROPERTY
@given(_TYPED_VALUES)
def test_types_and_values_go_to_json_and_back(tv: tuple[WitType, Any]) -> None:
    t, v = tv
    t2 = type_from_json(json.loads(json.dumps(type_to_json(t))))
    assert t2 == t
    assert same_value(value_from_json(t2, json.loads(json.dumps(value_to_json(t, v)))), v)


@_PROPERTY
@given(wit_types())
def test_generated_types_can_all_be_declared_in_one_wit_document(t: WitType) -> None:
    names = [n.name for n in nominal_types(t)]
    assert len(names) == len(set(names))
    text = wit_typedefs(t)
    for n in nominal_types(t):
        assert f" {n.name} {{\n" in text


def test_wit_types_shrink_towards_u8() -> None:
    from hypothesis import find

    assert find(wit_types(), lambda t: True) == U8
    small = find(wit_types(), lambda t: isinstance(t, Record))
    assert small == Record("rec-a", (Field("a", U8),))
