"""Instantiation and tables at their edges: active segments that do not fit, and call_indirect.

An active data segment is copied into memory at instantiation, an active element
segment into its table; one that does not fit makes instantiation trap (out of
bounds memory access, out of bounds table access), and a segment of 0 elements
exactly at the end fits. ``call_indirect`` through an index at or past the
table's size traps ``table-out-of-bounds``, through a null entry or a function
of another type ``indirect-call``.

The modules are generated per example (carried as text in the script). The
model does not know them: every runtime must give the reference runtime's
outcome for each operation, and the property asserts the spec's outcome
itself, so the reference is checked too.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from conformance import (
    PAGE_SIZE,
    Call,
    Instantiate,
    Op,
    Outcome,
    Read,
    Script,
    Value,
    WasmRuntime,
    check_script,
)

U32 = 0xFFFF_FFFF
i32 = Value.i32


def said(outcome: Outcome) -> str:
    return outcome.kind if outcome.kind == "ok" else f"{outcome.kind} {outcome.reason}"


@st.composite
def data_segments(draw: st.DrawFn) -> tuple[int, int, bytes]:
    """(pages, offset, bytes): a memory of 0 to 2 pages and a segment near its end, or anywhere."""
    pages = draw(st.integers(0, 2))
    data = draw(st.binary(min_size=0, max_size=8))
    end = pages * PAGE_SIZE
    offset = draw(st.one_of(st.integers(max(0, end - 10), end + 2), st.integers(0, U32)))
    return pages, offset, data


def data_module(pages: int, offset: int, data: bytes) -> str:
    text = "".join(f"\\{b:02x}" for b in data)
    return (f'(module (memory (export "memory") {pages})\n'
            f'  (data (i32.const {offset}) "{text}")\n'
            '  (func (export "pages") (result i32) (memory.size)))')


@given(segment=data_segments())
@example(segment=(1, PAGE_SIZE - 1, b"ab"))  # straddles the end
@example(segment=(1, PAGE_SIZE, b""))  # 0 bytes at the end: fits
@example(segment=(1, PAGE_SIZE + 1, b""))  # 0 bytes one past the end: traps
@example(segment=(0, 0, b""))
def test_active_data_segments_at_instantiation(wasm_runtime: WasmRuntime,
                                               segment: tuple[int, int, bytes]) -> None:
    """An active data segment that fits is in memory after instantiation; one that does not
    (its end past the memory's, even with 0 bytes) makes instantiation trap out-of-bounds."""
    pages, offset, data = segment
    end = pages * PAGE_SIZE
    fits = offset + len(data) <= end
    at = min(offset, end)
    ops: list[Op] = [Call("pages"), Read(at, len(data) if fits else 0)]
    module = data_module(pages, offset, data)
    outcomes = check_script(wasm_runtime, Script.of("data-segment", ops, wat=module))
    if fits:
        assert [said(o) for o in outcomes] == ["ok"] * 3
        assert outcomes[1].value == (i32(pages),) and outcomes[2].value == data
    else:
        assert [said(o) for o in outcomes] == ["trap out-of-bounds", "error no-instance", "error no-instance"]


@st.composite
def tables(draw: st.DrawFn) -> tuple[int, int, tuple[str, ...], tuple[int, ...]]:
    """(table size, segment offset, the segment's functions, call_indirect indices)."""
    size = draw(st.integers(0, 6))
    elements = tuple(draw(st.lists(st.sampled_from(["$f", "$g"]), max_size=4)))
    offset = draw(st.one_of(st.integers(0, size + 1), st.integers(0, U32)))
    indices = tuple(draw(st.lists(st.one_of(st.integers(0, size + 1), st.integers(0, U32)),
                                  min_size=1, max_size=4)))
    return size, offset, elements, indices


def table_module(size: int, offset: int, elements: tuple[str, ...]) -> str:
    return (f'(module (memory (export "memory") 1)\n'
            '  (type $v_i (func (result i32)))\n'
            f'  (table {size} funcref)\n'
            f'  (elem (i32.const {offset}) {" ".join(elements)})\n'
            '  (func $f (result i32) (i32.const 42))\n'
            '  (func $g (param i32) (result i32) (local.get 0))\n'
            '  (func (export "call") (param $i i32) (result i32)\n'
            '    (call_indirect (type $v_i) (local.get $i))))')


@given(table=tables())
@example(table=(5, 0, ("$f", "$g", "$f"), (0, 1, 3, 4, 5)))  # a function, another type, null, past
@example(table=(2, 1, ("$f", "$f"), (0,)))  # the segment straddles the table's end
@example(table=(2, 2, (), (1,)))  # 0 elements at the end: fits
@example(table=(2, 3, (), (1,)))  # 0 elements one past the end: traps
def test_tables_and_call_indirect(wasm_runtime: WasmRuntime,
                                  table: tuple[int, int, tuple[str, ...], tuple[int, ...]]) -> None:
    """An active element segment that does not fit its table makes instantiation trap
    table-out-of-bounds. call_indirect through an index past the table traps
    table-out-of-bounds, through a null entry or a function of another type indirect-call;
    each call runs on a fresh instance, so that no runtime's habit after a trap matters."""
    size, offset, elements, indices = table
    ops: list[Op] = []
    for n, index in enumerate(indices):
        ops += [Instantiate()] if n else []
        ops.append(Call("call", (i32(index),)))
    module = table_module(size, offset, elements)
    outcomes = check_script(wasm_runtime, Script.of("element-segment", ops, wat=module))
    if offset + len(elements) > size:
        assert said(outcomes[0]) == "trap table-out-of-bounds"
        return
    for n, index in enumerate(indices):
        call = outcomes[2 * n + 1]
        entry = elements[index - offset] if offset <= index < offset + len(elements) else None
        if index >= size:
            assert said(call) == "trap table-out-of-bounds", (index, call)
        elif entry == "$f":
            assert call == Outcome.ok((i32(42),)), (index, call)
        else:  # null, or a function of another type
            assert said(call) == "trap indirect-call", (index, call)
