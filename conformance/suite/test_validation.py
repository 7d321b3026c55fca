"""Validation of memory code: modules the spec says are invalid are refused, their valid neighbours run.

Each example generates a pair of modules (carried as text in the script) from a small grammar:
an *invalid* module, and its *valid neighbour*, the same text but for the offending part:

- a load or store whose address operand is an i64, f32 or f64 in a 32-bit memory (an i32);
- a store whose value operand is of another type than the instruction stores (its own type);
- an alignment hint larger than the access's natural alignment (the natural one, or smaller);
- a load, store, ``memory.size``, ``memory.grow``, ``memory.fill`` or ``memory.copy`` in a module
  with no memory (the same module with one);
- an active data segment for a memory the module does not have (the same module with one);
- a memory index past the last memory of a module of 1 to 3 memories (an index of one of them),
  multi-memory syntax, only on a runtime whose ``multi_memory`` probe works.

The invalid module must be refused: ``error invalid-module`` at its ``instantiate`` (and then
``error no-instance`` at the call), or, for a runtime that compiles a function only when it is
first called, ``ok`` at the ``instantiate`` and ``error invalid-module`` at the first call of the
function (``docs/protocol.md``). The valid neighbour must instantiate, and its function must run
(``ok``), with the reference runtime's (wasmtime's) outcomes. The property checks the spec's
outcome itself, so the reference is checked too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from conformance import PAGE_SIZE, Call, Outcome, Read, Script, Size, WasmRuntime, check_script
from conformance.checks import fail_at
from conformance.model.paged import ACCESSES, STORES
from conformance.script import ScriptResult, ValueType, describe_op

GUEST = "validation"
TYPES: tuple[ValueType, ...] = ("i32", "i64", "f32", "f64")
"""the value types; an address of a 32-bit memory is the first"""
BULK = ("memory.size", "memory.grow", "memory.fill", "memory.copy")
"""the memory instructions other than loads and stores"""
ALL_ACCESSES = tuple(ACCESSES.values())


@dataclass(frozen=True, slots=True)
class Pair:
    """An invalid module and its valid neighbour; ``what`` says what makes the first invalid."""

    kind: str
    what: str
    invalid: str
    valid: str
    in_code: bool = True
    """the invalid part is in a function (a lazily compiling runtime may refuse it at the call)"""


# --- the grammar ----------------------------------------------------------------------------


def instruction(name: str, *, memory: int | None = None, offset: int = 0, align: int | None = None,
                address: str = "(i32.const 0)", value: str = "") -> tuple[str, str]:
    """(a memory instruction's text, its result type or "") with its operands folded in."""
    index = "" if memory is None else f" {memory}"
    if name in ACCESSES:
        access = ACCESSES[name]
        hint = f" align={access.width if align is None else align}"
        operands = f"{address} {value}" if access.store else address
        result = "" if access.store else access.type
        return f"({name}{index} offset={offset}{hint} {operands.strip()})", result
    if name == "memory.size":
        return f"(memory.size{index})", "i32"
    if name == "memory.grow":
        return f"(memory.grow{index} (i32.const 0))", "i32"
    if name == "memory.fill":
        return f"(memory.fill{index} (i32.const 8) (i32.const 165) (i32.const 4))", ""
    if name == "memory.copy":
        pair = "" if memory is None else f" {memory} {memory}"
        return f"(memory.copy{pair} (i32.const 8) (i32.const 0) (i32.const 4))", ""
    raise ValueError(name)


def module(memories: int, code: tuple[str, str], data: str = "") -> str:
    """A module of ``memories`` one-page memories (the first exported as ``memory``), an optional
    data segment, and one export ``f`` running ``code``."""
    body, result = code
    export = ' (export "memory")'
    mems = "".join(f"  (memory{export if n == 0 else ''} 1)\n" for n in range(memories))
    results = f" (result {result})" if result else ""
    return (f"(module\n{mems}" + (f"  {data}\n" if data else "")
            + f'  (func (export "f"){results}\n    {body}))')


def const(vtype: ValueType, n: int) -> str:
    return f"({vtype}.const {n})"


@st.composite
def address_pairs(draw: st.DrawFn) -> Pair:
    """A load or store whose address is an i64, f32 or f64, against the same with an i32."""
    access = draw(st.sampled_from(ALL_ACCESSES))
    bad = draw(st.sampled_from(TYPES[1:]))
    addr, offset = draw(st.integers(0, 64)), draw(st.integers(0, 64))
    value = const(access.type, draw(st.integers(0, 255))) if access.store else ""

    def text(vtype: ValueType) -> str:
        return module(1, instruction(access.name, offset=offset, address=const(vtype, addr), value=value))

    return Pair("address", f"{access.name} with an {bad} address", text(bad), text("i32"))


@st.composite
def value_pairs(draw: st.DrawFn) -> Pair:
    """A store of a value of another type than the instruction's, against one of its own type."""
    access = draw(st.sampled_from(STORES))
    bad = draw(st.sampled_from([t for t in TYPES if t != access.type]))
    addr, offset, n = draw(st.integers(0, 64)), draw(st.integers(0, 64)), draw(st.integers(0, 255))

    def text(vtype: ValueType) -> str:
        return module(1, instruction(access.name, offset=offset, address=const("i32", addr),
                                     value=const(vtype, n)))

    return Pair("value", f"{access.name} of an {bad} value", text(bad), text(access.type))


@st.composite
def align_pairs(draw: st.DrawFn) -> Pair:
    """An alignment hint 2 to 8 times the natural one, against the natural one or a smaller one."""
    access = draw(st.sampled_from(ALL_ACCESSES))
    big = access.width << draw(st.integers(1, 3))
    ok = draw(st.sampled_from([a for a in (1, 2, 4, 8) if a <= access.width]))
    addr, offset = draw(st.integers(0, 64)), draw(st.integers(0, 64))
    value = const(access.type, draw(st.integers(0, 255))) if access.store else ""

    def text(align: int) -> str:
        return module(1, instruction(access.name, offset=offset, align=align, address=const("i32", addr),
                                     value=value))

    return Pair("align", f"{access.name} align={big} (natural: {access.width})", text(big), text(ok))


def _value_for(name: str) -> str:
    access = ACCESSES.get(name)
    return const(access.type, 7) if access is not None and access.store else ""


@st.composite
def no_memory_pairs(draw: st.DrawFn) -> Pair:
    """A memory instruction in a module without memory, against the same module with one."""
    name = draw(st.sampled_from([a.name for a in ALL_ACCESSES] + list(BULK)))
    code = instruction(name, value=_value_for(name))
    return Pair("no-memory", f"{name} without a memory", module(0, code), module(1, code))


@st.composite
def data_pairs(draw: st.DrawFn) -> Pair:
    """An active data segment in a module without memory, against the same module with one."""
    data = draw(st.binary(max_size=4))
    offset = draw(st.integers(0, 64))
    text = "".join(f"\\{b:02x}" for b in data)
    segment = f'(data (i32.const {offset}) "{text}")'
    code = ("(i32.const 7)", "i32")
    return Pair("data", "a data segment without a memory", module(0, code, segment), module(1, code, segment),
                in_code=False)


@st.composite
def memory_index_pairs(draw: st.DrawFn, most: int = 3) -> Pair:
    """A memory index past the last of 1 to ``most`` memories (in an instruction or an active data
    segment), against the index of one of them."""
    memories = draw(st.integers(1, most))
    past, inside = draw(st.integers(memories, memories + 2)), draw(st.integers(0, memories - 1))
    name = draw(st.sampled_from([a.name for a in ALL_ACCESSES] + list(BULK) + ["data"]))
    def text(index: int) -> str:
        if name == "data":
            return module(memories, ("(i32.const 7)", "i32"), f'(data (memory {index}) (i32.const 0) "\\01")')
        return module(memories, instruction(name, memory=index, value=_value_for(name)))

    return Pair("memory-index", f"{name} of memory {past} of {memories}", text(past), text(inside),
                in_code=name != "data")


# --- the check ------------------------------------------------------------------------------


def _said(outcome: Outcome) -> str:
    return outcome.kind if outcome.kind == "ok" else f"{outcome.kind} {outcome.reason}"


def _fail(runtime: WasmRuntime, script: Script, outcomes: tuple[Outcome, ...], index: int, what: str,
          expected: str) -> NoReturn:
    test = runtime.current_test() or "script"
    fail_at(runtime, script, ScriptResult("ok", outcomes), index, expected,
            f"{runtime.id} breaks the spec in {test}: {what}\n"
            f"  operation {index}: {describe_op(script.ops[index])}\n"
            f"  expected: {expected}\n  got:      {outcomes[index]}\n"
            f"module:\n{script.wat}\nscript:\n{script.describe()}\n")


def check_refused(runtime: WasmRuntime, script: Script, what: str, in_code: bool) -> None:
    """The invalid module is refused: at its instantiate, or (``in_code``: the invalid part is in
    the function) at the first call of its function."""
    result = runtime.run(script)
    if result.status != "ok":
        check_script(runtime, script)  # reports the crash or timeout (or skips, unavailable)
        return
    outcomes = result.outcomes
    first, call = _said(outcomes[0]), _said(outcomes[1])
    event(f"refused at {'instantiate' if first != 'ok' else 'the call'}")
    if first == "error invalid-module":
        if call != "error no-instance":
            _fail(runtime, script, outcomes, 1, f"{what}: the module was refused", "error no-instance")
    elif first == "ok" and in_code:
        if call != "error invalid-module":
            _fail(runtime, script, outcomes, 1, f"{what}: the module is invalid (a runtime that compiles "
                  "lazily may say so at the first call)", "error invalid-module")
    else:
        _fail(runtime, script, outcomes, 0, f"{what}: the module is invalid", "error invalid-module")


def check_pair(runtime: WasmRuntime, pair: Pair) -> None:
    """The invalid module of ``pair`` is refused, and its valid neighbour instantiates and runs."""
    event(pair.kind)
    note = f"{pair.kind}: {pair.what}"
    invalid = Script.of(GUEST, [Call("f")], note=note, wat=pair.invalid)
    check_refused(runtime, invalid, pair.what, pair.in_code)
    valid = Script.of(GUEST, [Call("f")], note=f"the valid neighbour of {note}", wat=pair.valid)
    outcomes = check_script(runtime, valid)
    for index, outcome in enumerate(outcomes):
        if outcome.kind != "ok":
            _fail(runtime, valid, outcomes, index, f"the valid neighbour of {pair.what}", "ok.*")


# --- the properties -------------------------------------------------------------------------


@given(pair=address_pairs())
@example(pair=Pair("address", "i32.load with an i64 address",
                   module(1, instruction("i32.load", address="(i64.const 0)")),
                   module(1, instruction("i32.load"))))
def test_address_operand_must_be_i32(wasm_runtime: WasmRuntime, pair: Pair) -> None:
    """A load or store whose address is an i64, f32 or f64 in a 32-bit memory is an invalid
    module (refused at instantiate, or at the call by a lazily compiling runtime); the same with
    an i32 address instantiates and runs."""
    check_pair(wasm_runtime, pair)


@given(pair=value_pairs())
def test_stored_value_must_have_the_store_type(wasm_runtime: WasmRuntime, pair: Pair) -> None:
    """A store of a value of another type than the instruction's (an i64 to i32.store) is an
    invalid module; the same store of a value of its own type runs."""
    check_pair(wasm_runtime, pair)


@given(pair=align_pairs())
@example(pair=Pair("align", "i32.load align=8 (natural: 4)", module(1, instruction("i32.load", align=8)),
                   module(1, instruction("i32.load", align=4))))
def test_alignment_hint_at_most_natural(wasm_runtime: WasmRuntime, pair: Pair) -> None:
    """An alignment hint larger than the access's natural alignment (``i32.load align=8``) is an
    invalid module; the natural one, or a smaller one, runs."""
    check_pair(wasm_runtime, pair)


@given(pair=no_memory_pairs())
def test_memory_code_needs_a_memory(wasm_runtime: WasmRuntime, pair: Pair) -> None:
    """A load, store, memory.size, memory.grow, memory.fill or memory.copy in a module with no
    memory is an invalid module; the same module with a memory runs it."""
    check_pair(wasm_runtime, pair)


@given(pair=data_pairs())
def test_data_segment_needs_its_memory(wasm_runtime: WasmRuntime, pair: Pair) -> None:
    """An active data segment in a module with no memory is an invalid module (refused at
    instantiate: no function of it is wrong); the same module with a memory instantiates."""
    check_pair(wasm_runtime, pair)


@given(pair=memory_index_pairs(most=1))
@example(pair=Pair("memory-index", "memory.size of memory 1 of 1",
                   module(1, instruction("memory.size", memory=1)),
                   module(1, instruction("memory.size", memory=0))))
@example(pair=Pair("memory-index", "i32.load of memory 1 of 1",
                   module(1, instruction("i32.load", memory=1)),
                   module(1, instruction("i32.load", memory=0))))
def test_memory_index_past_the_only_memory(wasm_runtime: WasmRuntime, pair: Pair) -> None:
    """Memory 1, 2 or 3 of a module with one memory (in a load, store, memory.size, memory.grow,
    memory.fill, memory.copy or active data segment) is an invalid module on every runtime, with
    multi-memory or without; memory 0, the same instruction, runs."""
    check_pair(wasm_runtime, pair)


@pytest.mark.wasm_feature("multi_memory")
@given(pair=memory_index_pairs())
def test_memory_index_past_the_last_memory(wasm_runtime: WasmRuntime, pair: Pair) -> None:
    """A memory index past the last memory (in a load, store, memory.size, memory.grow,
    memory.fill, memory.copy or active data segment) is an invalid module; the index of one of
    the module's 1 to 3 memories runs (multi-memory runtimes only)."""
    check_pair(wasm_runtime, pair)


# --- Wasm 3.0: extended constant expressions as data offsets ---------------------------------

CONST_OPS = {"i32.add": lambda x, y: x + y, "i32.sub": lambda x, y: x - y, "i32.mul": lambda x, y: x * y}


@st.composite
def const_exprs(draw: st.DrawFn, depth: int = 3) -> tuple[str, int]:
    """An extended constant expression of i32 (Wasm 3.0: i32.add, i32.sub and i32.mul of constants)
    and its value, wrapped to 32 bits; small constants mostly, so that the value often lands in
    memory, and the edges of the i32 range."""
    if depth == 0 or draw(st.booleans()):
        n = draw(st.one_of(st.integers(0, 300), st.integers(-300, -1),
                           st.sampled_from([65535, 65536, 2**31 - 1, -(2**31), -1])))
        return f"(i32.const {n})", n % 2**32
    op = draw(st.sampled_from(sorted(CONST_OPS)))
    (a, x), (b, y) = draw(const_exprs(depth - 1)), draw(const_exprs(depth - 1))
    return f"({op} {a} {b})", CONST_OPS[op](x, y) % 2**32


@pytest.mark.wasm_feature("extended_const")
@given(expr=const_exprs(), data=st.binary(min_size=1, max_size=8), pages=st.integers(1, 2))
@example(expr=("(i32.sub (i32.const 3) (i32.const 5))", 2**32 - 2), data=b"\x2a", pages=1)
@example(expr=("(i32.mul (i32.const 256) (i32.const 256))", 65536), data=b"\x2a", pages=1)
def test_extended_constant_data_offsets(wasm_runtime: WasmRuntime, expr: tuple[str, int], data: bytes,
                                        pages: int) -> None:
    """An active data segment's offset as an extended constant expression (Wasm 3.0: i32.add,
    i32.sub, i32.mul) puts the segment at the expression's value, wrapped to 32 bits; past the end
    of memory, instantiation traps (on runtimes whose probe finds the expressions)."""
    text, offset = expr
    body = "".join(f"\\{b:02x}" for b in data)
    wat = f'(module\n  (memory (export "memory") {pages})\n  (data {text} "{body}"))'
    fits = offset + len(data) <= pages * PAGE_SIZE
    event("in memory" if fits else "past the end")
    op = Read(offset, len(data)) if fits else Size()
    outcomes = check_script(wasm_runtime, Script.of("extended-const", [op], wat=wat))
    if fits:
        assert outcomes[0].kind == "ok" and outcomes[1].value == data, f"the segment at {offset}: {outcomes}"
    else:
        assert (outcomes[0].kind, outcomes[0].reason) == ("trap", "out-of-bounds"), \
            f"a segment at {offset} of {len(data)} bytes in {pages} pages: {outcomes[0]}"


@st.composite
def global_offsets(draw: st.DrawFn, arithmetic: bool) -> tuple[tuple[int, ...], str, int]:
    """(the module's immutable i32 globals' values, a data offset reading one of them, its value):
    ``global.get`` of a global alone, or (where the runtime has extended constant expressions) in
    an i32.add or i32.sub with a constant or another global."""
    values = tuple(draw(st.lists(st.one_of(st.integers(0, 300), st.sampled_from([65535, 65536, -1])),
                                 min_size=1, max_size=3)))
    k = draw(st.integers(0, len(values) - 1))
    text, value = f"(global.get $g{k})", values[k] % 2**32
    if arithmetic and draw(st.booleans()):
        op = draw(st.sampled_from(["i32.add", "i32.sub"]))
        j = draw(st.integers(-1, len(values) - 1))
        other, y = ("(i32.const 3)", 3) if j < 0 else (f"(global.get $g{j})", values[j])
        text, value = f"({op} {text} {other})", CONST_OPS[op](value, y) % 2**32
    return values, text, value


@pytest.mark.wasm_feature("const_global")
@given(data=st.data(), segment=st.binary(min_size=1, max_size=8), pages=st.integers(1, 2))
def test_global_get_in_data_offsets(wasm_runtime: WasmRuntime, data: st.DataObject, segment: bytes,
                                    pages: int) -> None:
    """An active data segment's offset may read the module's own immutable globals (Wasm 3.0; before,
    only imported ones): the segment lands at the global's value, or, past the end of memory,
    instantiation traps (on runtimes whose probe finds it; with extended constant expressions where
    the runtime has them too)."""
    features = wasm_runtime.features
    arithmetic = features is None or features.has("extended_const")
    values, text, offset = data.draw(global_offsets(arithmetic))
    body = "".join(f"\\{b:02x}" for b in segment)
    globals_ = "".join(f"\n  (global $g{n} i32 (i32.const {v}))" for n, v in enumerate(values))
    wat = f'(module{globals_}\n  (memory (export "memory") {pages})\n  (data {text} "{body}"))'
    fits = offset + len(segment) <= pages * PAGE_SIZE
    event("in memory" if fits else "past the end")
    op = Read(offset, len(segment)) if fits else Size()
    outcomes = check_script(wasm_runtime, Script.of("global-offset", [op], wat=wat))
    if fits:
        assert outcomes[0].kind == "ok" and outcomes[1].value == segment, \
            f"the segment at {offset}: {outcomes}"
    else:
        assert (outcomes[0].kind, outcomes[0].reason) == ("trap", "out-of-bounds"), \
            f"a segment at {offset} of {len(segment)} bytes in {pages} pages: {outcomes[0]}"
