"""A host lifting a guest's bad result traps where the canonical ABI engine does, never lifts garbage.

Where the spec does not trap, it lifts what the engine (``conformance.canonical_abi``) lifts.

Each example is one call of a **trap guest** (``canonical_abi/guests.py``, :func:`trap_component`):
``bad(at, data, ret) -> T`` copies the bytes ``data`` to ``at`` in its memory and returns ``ret`` as
its one core result: ``T``'s flat value itself where ``T`` flattens to one ``i32`` (``char``,
``enum``, ``bool``), else the pointer to ``T`` in memory. The test chooses every byte and constant,
the component is made once per ``T`` (and string encoding), and the engine lifts the same memory
(:data:`TRAP_MEMORY` bytes, ``data`` at ``ARENA``, where the host lowered it, and at ``at``) with
``lift_values``. Each property asserts first that the engine says what the spec says for the bytes
it generated (a :class:`Trap`, or for ``bool`` a value), then that the host's outcome of the call
is the engine's: ``trap canonical-abi`` (docs/protocol.md, "Component calls") where it traps, else
``ok`` with its value.

- invalid strings: a returned ``string`` that is not valid UTF-8 (generated invalid sequences:
  stray continuation bytes, overlong forms, encoded surrogates, past U+10FFFF, truncated sequences,
  arbitrary bytes), or, for a component whose ``canon lift`` says ``string-encoding=utf16``, UTF-16
  with an unpaired surrogate, and for ``latin1+utf16`` the same in its UTF-16 form (a length with
  the top bit set; its Latin-1 form has no invalid bytes);
- lists and strings out of bounds or misaligned: a returned (pointer, length) whose bytes run past
  the end of memory (near the end, far past it, the pointer itself past it with length 0), whose
  length times the element size overflows 32 bits (wrapping to a small in-bounds size), or whose
  pointer is not aligned for the element (a ``list<u32>`` at an odd address; a latin1+utf16
  string, either form, at an odd one);
- the return area: where ``T``'s flat result is a pointer to it, a pointer not aligned to ``T``'s
  alignment, or one whose ``T`` runs past the end of memory, traps (``lift_flat_values``);
- realloc's answers, the other way: a host lowering a string or list into the guest (``take(v)``)
  whose ``cabi_realloc`` answers a pointer not aligned to what was asked, or one whose block runs
  past the end of memory (also where pointer plus size passes 2**32), traps before writing there;
- chars and discriminants: a ``char`` that is no Unicode scalar value (a surrogate, past
  0x10FFFF), flat or in memory, an ``enum``/``variant``/``option``/``result`` discriminant at or past
  its case count (flat or in memory, of 1 and 2 bytes): traps; a ``bool`` of 2 or more (flat, or a
  byte in memory) is ``true``, no trap (CanonicalABI.md's ``convert_int_to_bool``); a ``flags``
  value with bits set past its last label (flat, or in memory in 1, 2 or 4 bytes) lifts the labels'
  bits and ignores the others, no trap (``unpack_flags_from_int``).

A host that cannot load a latin1+utf16 component (the ``component_latin1_utf16`` probe absent:
jco's transpiler traps on one) runs those examples in UTF-16 instead, as the round-trip
properties do, so that every host runs the same examples.
"""

from __future__ import annotations

import json
import struct
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from conformance import Script, WasmRuntime
from conformance.canonical_abi import (
    BOOL,
    CHAR,
    STRING,
    STRING_ENCODINGS,
    U8,
    U16,
    U32,
    U64,
    UTF16_TAG,
    BumpAllocator,
    Enum,
    Flags,
    List,
    Option,
    ReallocCall,
    Result,
    StringEncoding,
    Trap,
    Tuple,
    Variant,
    VariantCase,
    WitType,
    alignment,
    lift_values,
    lower_values,
    same_value,
    size,
    type_to_json,
    wit,
)
from conformance.canonical_abi.guests import ARENA, TRAP_MEMORY, ComponentToolError, trap_component
from conformance.canonical_abi.wire import from_wire, to_wire
from conformance.checks import fail_at, run_component_script
from conformance.script import ComponentCall, Outcome
from conformance.strategies import wit_values

pytestmark = pytest.mark.wasm_feature("component_model")

AT = 0x100
"""where ``bad`` copies the data: the return area, then whatever it points to"""
BAD = 1
"""the call's operation (0 is the instantiate)"""
TRAP = "trap canonical-abi"


def host_encoding(runtime: WasmRuntime, encoding: StringEncoding) -> StringEncoding:
    """The encoding the host runs the example in (``WasmRuntime.string_encoding``). The trap
    examples are made so that each traps in the next encoding too: a latin1+utf16 one as UTF-16.
    A host without UTF-16 runs none of them (a UTF-16 trap example is none in UTF-8): rejected,
    its other examples run."""
    here = runtime.string_encoding(encoding)
    if encoding != "utf8" and here == "utf8":
        reject()
    return cast(StringEncoding, here)


@cache
def _component(t: WitType, encoding: str) -> Path | str:
    try:
        return trap_component(t, encoding)
    except ComponentToolError as exc:
        return f"no guest component: {exc}"


def bad_script(t: WitType, encoding: str, data: bytes, ret: int) -> Script:
    made = _component(t, encoding)
    if isinstance(made, str):
        pytest.skip(made)
    return Script.of("component", [
        ComponentCall("bad", ("u32", type_to_json(List(U8)), "u32"), type_to_json(t), (AT, list(data), ret)),
    ], module=str(made), note=f"T = {wit(t)}, string-encoding={encoding}")


def engine_lift(t: WitType, encoding: StringEncoding, data: bytes, ret: int) -> Any:
    """What the engine lifts from the guest's memory after ``bad(AT, data, ret)``, or its Trap."""
    memory = bytearray(TRAP_MEMORY)
    memory[ARENA:ARENA + len(data)] = data  # the host lowered data there (the guest's first block)
    memory[AT:AT + len(data)] = data
    try:
        return lift_values([t], [ret], max_flat=1, memory=memory, string_encoding=encoding)[0]
    except Trap as exc:
        return exc


def check(runtime: WasmRuntime, t: WitType, encoding: StringEncoding, data: bytes, ret: int,
          spec_traps: bool, why: str = "") -> None:
    """The engine says what the spec says (a trap or not), and the host's outcome is the engine's.
    ``why`` the spec traps, where the property generates several reasons (``past-end``), is said
    beside the trap expected, so that a divergence can pin the one reason a host gets wrong."""
    assert len(data) <= ARENA - AT, "the data must fit below the host's copy of it"
    lifted = engine_lift(t, encoding, data, ret)
    assert isinstance(lifted, Trap) == spec_traps, (
        f"the engine lifted {lifted!r} from T = {wit(t)} ({encoding}), ret {ret:#x}, data {data.hex()}: "
        f"the spec {'traps' if spec_traps else 'does not trap'} there")
    script = bad_script(t, encoding, data, ret)
    result = run_component_script(runtime, script, f"the trap guest of T = {wit(t)}")
    got = result.outcomes[BAD]
    engine = f"  engine: {lifted}\n" if isinstance(lifted, Trap) else f"  engine: {lifted!r}\n"
    what = (f"T = {wit(t)}, string-encoding={encoding}: bad() returned {ret:#x}, memory at {AT:#x}: "
            f"{data.hex()}\n")
    if isinstance(lifted, Trap):
        if not (got.kind == "trap" and got.reason == "canonical-abi"):
            spec = [[Outcome.ok()], [Outcome.trap("canonical-abi")]]
            fail_at(runtime, script, result, BAD, TRAP + (f" ({why})" if why else ""),
                    f"{runtime.id}: lifted what the canonical ABI traps on, {what}  host:   {_short(got)}\n"
                    f"{engine}", spec=spec)
        return
    wire = to_wire(t, lifted)
    if not (got.kind == "ok" and same_value(from_wire(t, got.value), lifted)):
        fail_at(runtime, script, result, BAD, f"ok {json.dumps(wire)}",
                f"{runtime.id}: did not lift what the canonical ABI lifts, {what}  host:   {_short(got)}\n"
                f"{engine}",
                spec=[[Outcome.ok()], [Outcome.ok(wire)]])


def _short(o: Outcome) -> str:
    text = str(o)
    if len(text) <= 300:
        return text
    return f"{text[:300]}... ({len(o.value) if isinstance(o.value, list) else '?'} items)"


# -- invalid strings ------------------------------------------------------------------------------

_CONT = st.integers(0x80, 0xBF)


def _seq(*parts: st.SearchStrategy[int]) -> st.SearchStrategy[bytes]:
    return st.tuples(*parts).map(bytes)


def _truncated() -> st.SearchStrategy[bytes]:
    """A lead byte with fewer continuation bytes than it announces."""
    def cut(lead: st.SearchStrategy[int], n: int) -> st.SearchStrategy[bytes]:
        return st.integers(0, n - 1).flatmap(lambda k: _seq(lead, *[_CONT] * k))

    return st.one_of(cut(st.integers(0xC2, 0xDF), 1), cut(st.integers(0xE1, 0xEC), 2),
                     cut(st.integers(0xF1, 0xF3), 3))


INVALID_UTF8_PIECES = st.one_of(
    _seq(_CONT),                                                   # a stray continuation byte
    _seq(st.sampled_from([0xC0, 0xC1]), _CONT),                    # an overlong 2-byte form
    _seq(st.just(0xE0), st.integers(0x80, 0x9F), _CONT),           # an overlong 3-byte form
    _seq(st.just(0xF0), st.integers(0x80, 0x8F), _CONT, _CONT),    # an overlong 4-byte form
    _seq(st.just(0xED), st.integers(0xA0, 0xBF), _CONT),           # a surrogate, encoded
    _seq(st.just(0xF4), st.integers(0x90, 0xBF), _CONT, _CONT),    # past U+10FFFF
    _seq(st.integers(0xF5, 0xFF)),                                 # never in UTF-8
    _truncated(),
)


def _invalid(encoded: bytes, codec: str) -> bool:
    try:
        encoded.decode(codec)
    except UnicodeDecodeError:
        return True
    return False


TEXT = st.text(max_size=8)
INVALID_UTF8 = st.one_of(
    st.tuples(TEXT, INVALID_UTF8_PIECES, TEXT).map(lambda x: x[0].encode() + x[1] + x[2].encode()),
    st.binary(min_size=1, max_size=24).filter(lambda b: _invalid(b, "utf-8")),
)
# A lone surrogate between valid UTF-16: a valid encoding never starts with a low surrogate nor ends
# with a high one, so the surrogate stays unpaired whichever it is.
UNPAIRED_UTF16 = st.tuples(TEXT, st.integers(0xD800, 0xDFFF), TEXT).map(
    lambda x: x[0].encode("utf-16-le") + struct.pack("<H", x[1]) + x[2].encode("utf-16-le"))


@given(data=st.data())
def test_invalid_strings_trap(wasm_runtime: WasmRuntime, data: st.DataObject) -> None:
    """A returned string not valid in the component's string encoding (invalid UTF-8; an unpaired
    surrogate in UTF-16, or in latin1+utf16's UTF-16 form) traps, as the engine's load_string
    does: never lifted with U+FFFD."""
    drawn: StringEncoding = data.draw(st.sampled_from(["utf8", "utf16", "latin1+utf16"]),
                                      label="string-encoding")
    text = data.draw(INVALID_UTF8 if drawn == "utf8" else UNPAIRED_UTF16, label="bytes")
    encoding = host_encoding(wasm_runtime, drawn)
    unit = 1 if encoding == "utf8" else 2
    offset = data.draw(st.integers(0, 3), label="offset") * unit
    ptr = AT + 8 + offset
    units = len(text) // unit | (UTF16_TAG if encoding == "latin1+utf16" else 0)
    blob = struct.pack("<II", ptr, units) + bytes(offset) + text
    check(wasm_runtime, STRING, encoding, blob, AT, spec_traps=True)


# -- lists and strings out of bounds or misaligned ------------------------------------------------

SEQUENCES: tuple[tuple[WitType, StringEncoding], ...] = (
    (STRING, "utf8"), (STRING, "utf16"), (STRING, "latin1+utf16"), (List(U8), "utf8"), (List(U16), "utf8"),
    (List(U32), "utf8"), (List(U64), "utf8"), (List(STRING), "utf8"),
)
U32_MAX = (1 << 32) - 1


def _unit(t: WitType, encoding: str, tagged: bool) -> tuple[int, int]:
    """Size and alignment of one element (a string's code unit: latin1+utf16's are 1 byte, or 2
    where the length is tagged UTF-16, and 2-aligned either way)."""
    if t == STRING:
        if encoding == "latin1+utf16":
            return (2 if tagged else 1), 2
        return (1, 1) if encoding == "utf8" else (2, 2)
    assert isinstance(t, List)
    return size(t.element), alignment(t.element)


def _align_up(x: int, a: int) -> int:
    return -(-x // a) * a


@given(data=st.data())
def test_out_of_bounds_and_misaligned_lists_trap(wasm_runtime: WasmRuntime, data: st.DataObject) -> None:
    """A returned (pointer, length) of a string or list that runs past the end of memory (the
    length times the element size, also where that product overflows 32 bits), or whose pointer is
    misaligned for its element, traps: never a list cut at the end of memory, or read elsewhere."""
    t, drawn = data.draw(st.sampled_from(SEQUENCES), label="T")
    tagged = drawn == "latin1+utf16" and data.draw(st.booleans(), label="UTF-16 form")
    unit, align = _unit(t, drawn, tagged)
    # a latin1+utf16 length has 31 bits: its top one is the tag, and 2 * (2**31 - 1) cannot overflow
    most = U32_MAX // unit if drawn != "latin1+utf16" else UTF16_TAG - 1
    kinds = (["past-end"] + (["overflow"] if unit > 1 and drawn != "latin1+utf16" else [])
             + (["misaligned"] if align > 1 else []))
    kind = data.draw(st.sampled_from(kinds), label="kind")
    if kind == "past-end":
        length = data.draw(st.one_of(st.integers(0, 64), st.integers(0, most)), label="length")
        low = _align_up(max(0, TRAP_MEMORY + 1 - length * unit), align)
        ptr = data.draw(st.one_of(st.integers(low, low + 64 * align), st.integers(low, U32_MAX)).map(
            lambda p: min(_align_up(p, align), U32_MAX - U32_MAX % align)), label="ptr")
    elif kind == "overflow":
        # length * unit is 2**32 + wrapped: wrapped bytes would fit at ptr, the whole never does
        wrapped = data.draw(st.integers(0, 64), label="wrapped") * unit
        length = ((1 << 32) + wrapped) // unit
        ptr = data.draw(st.integers(AT + 8, ARENA).map(lambda p: _align_up(p, align)), label="ptr")
    else:
        length = data.draw(st.integers(0, 16), label="length")
        ptr = data.draw(st.integers(AT + 8, ARENA).filter(lambda p: p % align != 0), label="ptr")
    # as UTF-16 (the host has no latin1+utf16), the same bytes untagged: no less past the end (a
    # Latin-1 length counts 2 bytes a unit then), nor less misaligned, so the spec traps there too
    encoding = host_encoding(wasm_runtime, drawn)
    tag = UTF16_TAG if tagged and encoding == "latin1+utf16" else 0
    check(wasm_runtime, t, encoding, struct.pack("<II", ptr, length | tag), AT, spec_traps=True, why=kind)


# -- the return area -----------------------------------------------------------------------------

SPILLED: tuple[WitType, ...] = (STRING, List(U32), Tuple((U64, U8)), Option(U64), Result(STRING, U32))
"""types whose flat result is more than one value: bad returns a pointer to them"""


@given(data=st.data())
def test_misaligned_or_out_of_bounds_return_area_traps(wasm_runtime: WasmRuntime,
                                                       data: st.DataObject) -> None:
    """Where T's flat result is a pointer to it in memory, a pointer not aligned to T's alignment,
    or one whose T runs past the end of memory, traps (lift_flat_values): the value there is
    never lifted, however valid its bytes."""
    t = data.draw(st.sampled_from(SPILLED), label="T")
    width, align = size(t), alignment(t)
    if data.draw(st.booleans(), label="misaligned"):
        # T's zero (an empty string or list, none, ok) at an address off its alignment
        ret = AT + data.draw(st.integers(1, align - 1), label="off by")
        blob = bytes(ret - AT + width)
    else:
        low = _align_up(TRAP_MEMORY - width + 1, align)
        ret = data.draw(st.one_of(st.integers(low, low + 64), st.integers(low, U32_MAX)).map(
            lambda p: min(_align_up(p, align), U32_MAX - U32_MAX % align)), label="ret")
        blob = b""
    check(wasm_runtime, t, "utf8", blob, ret, spec_traps=True)


# -- realloc's answers ----------------------------------------------------------------------------

TAKEN: tuple[tuple[WitType, StringEncoding], ...] = (
    (STRING, "utf8"), (STRING, "utf16"), (STRING, "latin1+utf16"), (List(U8), "utf8"), (List(U32), "utf8"),
    (List(U64), "utf8"), (List(STRING), "utf8"),
)


def _taken_value(t: WitType) -> st.SearchStrategy[Any]:
    """A value that makes the host allocate (a non-empty string or list)."""
    if t == STRING:
        return st.text(min_size=1, max_size=8)
    assert isinstance(t, List)
    return st.lists(wit_values(t.element), min_size=1, max_size=4)


def _first_requests(t: WitType, v: Any, encoding: StringEncoding) -> list[ReallocCall]:
    """The first realloc call of lowering ``v`` into the guest, for each source a host's strings
    may come from (their alignment is the same; their sizes may differ)."""
    firsts = []
    for source in STRING_ENCODINGS:
        memory = bytearray(TRAP_MEMORY)
        alloc = BumpAllocator(memory, start=ARENA)
        lower_values([t], [v], max_flat=16, memory=memory, realloc=alloc, string_encoding=encoding,
                     source_encoding=source)
        firsts.append(alloc.calls[0])
    return firsts


@given(data=st.data())
def test_bad_realloc_answers_trap(wasm_runtime: WasmRuntime, data: st.DataObject) -> None:
    """Where the guest's cabi_realloc answers a pointer not aligned to the alignment asked for, or
    one whose block runs past the end of memory (or past 2**32), the host lowering a string or list
    into it traps, as the spec's check of realloc's answer does: it never writes there."""
    t, drawn = data.draw(st.sampled_from(TAKEN), label="T")
    v = data.draw(_taken_value(t), label="v")
    encoding = host_encoding(wasm_runtime, drawn)
    firsts = _first_requests(t, v, drawn)
    align = firsts[0].alignment
    assert all(c.alignment == align for c in firsts)
    smallest = min(c.new_size for c in firsts)
    kinds = ["past-end"] + (["misaligned"] if align > 1 else [])
    kind = data.draw(st.sampled_from(kinds), label="kind")
    if kind == "misaligned":
        # in bounds whatever the source: the block at 0x8000 + a little, 24 bytes at most
        answer = 0x8000 + data.draw(st.integers(0, 64), label="at") * align + data.draw(
            st.integers(1, align - 1), label="off by")
    else:
        low = _align_up(TRAP_MEMORY - smallest + 1, align)
        answer = data.draw(st.one_of(st.integers(low, low + 64), st.integers(low, U32_MAX)).map(
            lambda p: min(_align_up(p, align), U32_MAX - U32_MAX % align)), label="answer")
    for source in STRING_ENCODINGS:  # the spec traps whatever the host's source
        try:
            lower_values([t], [v], max_flat=16, memory=bytearray(TRAP_MEMORY), realloc=lambda *_: answer,
                         string_encoding=encoding, source_encoding=source)
        except Trap:
            continue
        raise AssertionError(f"the engine lowered {v!r} into realloc's answer {answer:#x} from {source}")
    made = _component(t, encoding)
    if isinstance(made, str):
        pytest.skip(made)
    script = Script.of("component", [
        ComponentCall("set-realloc", ("u32",), None, (answer,)),
        ComponentCall("take", (type_to_json(t),), None, (to_wire(t, v),)),
    ], module=str(made), note=f"T = {wit(t)}, string-encoding={encoding}")
    result = run_component_script(wasm_runtime, script, f"the trap guest of T = {wit(t)}")
    got = result.outcomes[2]
    if not (got.kind == "trap" and got.reason == "canonical-abi"):
        fail_at(wasm_runtime, script, result, 2, f"{TRAP} ({kind})",
                f"{wasm_runtime.id}: lowered {v!r} (T = {wit(t)}, string-encoding={encoding}) into the block "
                f"cabi_realloc answered at {answer:#x} (asked for alignment {align}, {smallest}+ bytes, in "
                f"{TRAP_MEMORY:#x} bytes of memory)\n  host: {_short(got)}\n",
                spec=[[Outcome.ok()], [Outcome.ok()], [Outcome.trap("canonical-abi")]])


# -- chars and discriminants ----------------------------------------------------------------------

BAD_CHAR = st.one_of(st.integers(0xD800, 0xDFFF), st.integers(0x110000, U32_MAX),
                     st.sampled_from([0xD800, 0xDFFF, 0x110000, U32_MAX]))
ENUM_SIZES = (1, 2, 3, 256, 257)


def _enum(n: int) -> Enum:
    return Enum(f"e{n}", tuple(f"l{i}" for i in range(n)))


def _flags(n: int) -> Flags:
    return Flags(f"f{n}", tuple(f"b{i}" for i in range(n)))


FLAG_COUNTS = (1, 3, 7, 9, 15, 17, 31)
"""flags of 1, 2 and 4 bytes, each with bits to spare past its last label"""
THREE = Variant("v", (VariantCase("a", U32), VariantCase("b", None), VariantCase("c", STRING)))
DISCRIMINATED: tuple[WitType, ...] = (Option(U32), Result(U32, U8), THREE)


@given(data=st.data())
def test_out_of_range_chars_and_discriminants(wasm_runtime: WasmRuntime, data: st.DataObject) -> None:
    """A returned char that is no Unicode scalar value, or a discriminant at or past the cases of
    an enum, variant, option or result, traps (flat or in memory); a bool of 2 or more does not
    trap but lifts as true, and flags with bits set past their last label lift their labels' bits
    (the others ignored, no trap): the host's outcome is the engine's."""
    case = data.draw(st.sampled_from(["char", "char-in-memory", "enum", "enum-in-memory", "variant",
                                      "bool", "bool-in-memory", "flags", "flags-in-memory"]), label="case")
    blob, traps = b"", True
    if case == "char":
        t: WitType = CHAR
        ret = data.draw(BAD_CHAR, label="code point")
    elif case == "char-in-memory":
        t, ret = Tuple((CHAR, CHAR)), AT
        bad, good = data.draw(BAD_CHAR, label="code point"), data.draw(st.integers(0, 0xD7FF), label="good")
        first = data.draw(st.booleans(), label="bad first")
        blob = struct.pack("<II", *((bad, good) if first else (good, bad)))
    elif case == "enum":
        n = data.draw(st.sampled_from(ENUM_SIZES), label="labels")
        t, ret = _enum(n), data.draw(st.integers(n, U32_MAX), label="discriminant")
    elif case == "enum-in-memory":
        n = data.draw(st.sampled_from([n for n in ENUM_SIZES if n != 256]), label="labels")
        width = 1 if n <= 256 else 2
        disc = data.draw(st.integers(n, (1 << 8 * width) - 1), label="discriminant")
        t, ret = Tuple((_enum(n), U32)), AT
        blob = disc.to_bytes(width, "little") + bytes(8 - width)
    elif case == "variant":
        t, ret = data.draw(st.sampled_from(DISCRIMINATED), label="T"), AT
        disc = data.draw(st.integers(2 if t != THREE else 3, 255), label="discriminant")
        blob = bytes([disc]) + bytes(15)
    elif case == "bool":
        t, ret, traps = BOOL, data.draw(st.integers(2, U32_MAX), label="value"), False
    elif case in ("flags", "flags-in-memory"):
        n = data.draw(st.sampled_from(FLAG_COUNTS), label="labels")
        flags = _flags(n)
        width = size(flags)
        known = data.draw(st.integers(0, (1 << n) - 1), label="label bits")
        extra = data.draw(st.integers(1, (1 << 8 * width - n) - 1), label="bits past the labels") << n
        traps = False
        if case == "flags":
            t, ret = flags, known | extra
        else:
            t, ret = Tuple((flags, U32)), AT
            blob = (known | extra).to_bytes(width, "little") + bytes(8 - width)
    else:
        t, ret, traps = Tuple((BOOL, U32)), AT, False
        blob = bytes([data.draw(st.integers(2, 255), label="byte")]) + bytes(3) + struct.pack(
            "<I", data.draw(st.integers(0, U32_MAX), label="u32"))
    check(wasm_runtime, t, "utf8", blob, ret, spec_traps=traps)
