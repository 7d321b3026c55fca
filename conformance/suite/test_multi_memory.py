"""Multi-memory: three memories in one instance, each with its own bytes, size and limits.

Guest ``multi`` (guest-modules/multi.wat, model in conformance/model/multi.py):
memory 0 (exported as "memory", so the host's writes and reads reach it) has 1
page and no maximum, memory 1 has 1 page and at most 2, memory 2 has 0 pages
and at most 1. A store, a fill or a grow names one memory and touches no
other; each memory grows up to its own maximum (past it, -1) whatever the
others do.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance import PAGE_SIZE, Call, Op, Read, Script, Size, Value, WasmRuntime, Write, check_script
from conformance.model.multi import LIMITS

pytestmark = pytest.mark.wasm_feature("multi_memory")

MEMORIES = range(len(LIMITS))
U32 = 0xFFFF_FFFF
i32 = Value.i32

# Addresses shared by all memories, so that a write that leaks into another memory lands
# where a load looks: both ends of the first page, most often.
addresses = st.one_of(st.sampled_from([0, 1, PAGE_SIZE - 1]), st.integers(0, PAGE_SIZE - 1))
# Deltas that keep every memory small: a few pages, or far past any limit.
deltas = st.sampled_from([0, 1, 2, 3, 1 << 16, 1 << 31, U32])


def others(k: int) -> list[int]:
    return [j for j in MEMORIES if j != k]


@st.composite
def separate_writes(draw: st.DrawFn) -> list[Op]:
    """Writes to one memory each (a host write to memory 0, a store, a fill), each followed by
    loads of the same address from every other memory."""
    ops: list[Op] = [Call("grow_2", (i32(1),))]  # memory 2 starts with no page
    for _ in range(draw(st.integers(1, 6))):
        how = draw(st.sampled_from(["host", "store", "fill"]))
        k = 0 if how == "host" else draw(st.sampled_from(MEMORIES))
        value = draw(st.integers(1, 255))
        if how == "host":
            data = draw(st.binary(min_size=1, max_size=16).map(lambda b: bytes(x | 0x80 for x in b)))
            addr = min(draw(addresses), PAGE_SIZE - len(data))
            ops.append(Write(addr, data))
            touched = [addr, addr + len(data) - 1]
        elif how == "store":
            addr = draw(addresses)
            ops.append(Call(f"store_u8_{k}", (i32(addr), i32(value))))
            touched = [addr]
        else:
            n = draw(st.integers(1, 64))
            addr = min(draw(addresses), PAGE_SIZE - n)
            ops.append(Call(f"fill_{k}", (i32(addr), i32(value), i32(n))))
            touched = [addr, addr + n - 1]
        for j in others(k):
            ops += [Call(f"load_u8_{j}", (i32(a),)) for a in touched]
        ops.append(Call(f"load_u8_{k}", (i32(touched[0]),)))
    return [*ops, Read(0, 64), Read(PAGE_SIZE - 64, 64)]


@given(ops=separate_writes())
@example(ops=[Call("grow_2", (i32(1),)), Call("store_u8_1", (i32(0), i32(7))), Call("load_u8_0", (i32(0),)),
              Call("load_u8_2", (i32(0),)), Call("load_u8_1", (i32(0),)), Read(0, 1)])
@example(ops=[Call("grow_2", (i32(1),)), Write(PAGE_SIZE - 1, b"\x99"),
              Call("load_u8_1", (i32(PAGE_SIZE - 1),)), Call("load_u8_2", (i32(PAGE_SIZE - 1),)),
              Call("fill_2", (i32(PAGE_SIZE - 1), i32(5), i32(1))),
              Call("load_u8_0", (i32(PAGE_SIZE - 1),)), Read(PAGE_SIZE - 1, 1)])
def test_memories_are_separate(wasm_runtime: WasmRuntime, ops: list[Op]) -> None:
    """A byte written to one memory (by the host into memory 0, by a store or a fill into any) is
    seen in that memory and in no other."""
    check_script(wasm_runtime, Script.of("multi", ops))


def _sizes() -> list[Op]:
    return [*(Call(f"size_{k}") for k in MEMORIES), Size()]


@st.composite
def grows(draw: st.DrawFn) -> list[Op]:
    """Grows of any memory by a small or huge delta, each followed by every memory's size and
    the host's size of memory 0; then loads at the page edges of each memory."""
    ops: list[Op] = []
    for _ in range(draw(st.integers(1, 8))):
        k = draw(st.sampled_from(MEMORIES))
        ops.append(Call(f"grow_{k}", (i32(draw(deltas)),)))
        ops += _sizes()
    for k in MEMORIES:
        ops += [Call(f"load_u8_{k}", (i32(a),)) for a in (PAGE_SIZE - 1, PAGE_SIZE, 2 * PAGE_SIZE - 1)]
    return ops


@given(ops=grows())
@example(ops=[Call("grow_1", (i32(1),)), *_sizes(), Call("grow_1", (i32(1),)), *_sizes(),
              Call("grow_0", (i32(1),)), *_sizes(), Call("grow_2", (i32(1),)), *_sizes(),
              Call("grow_2", (i32(1),)), *_sizes(), Call("grow_0", (i32(2),)), *_sizes()])
@example(ops=[Call("grow_2", (i32(U32),)), *_sizes(), Call("grow_1", (i32(2),)), *_sizes()])
def test_memories_grow_on_their_own(wasm_runtime: WasmRuntime, ops: list[Op]) -> None:
    """Each memory grows by its own memory.grow only, up to its own maximum (past it, -1, while
    the others still grow); memory.size of one is not changed by a grow of another."""
    check_script(wasm_runtime, Script.of("multi", ops))


@st.composite
def multi_ops(draw: st.DrawFn) -> list[Op]:
    """Any mix of stores, loads, fills, grows and sizes on any memory, and host writes and reads
    of memory 0, with addresses at the page edges (in bounds or not)."""
    edge = st.one_of(addresses, st.sampled_from([PAGE_SIZE, 2 * PAGE_SIZE - 1, 2 * PAGE_SIZE, U32]))
    ops: list[Op] = []
    for _ in range(draw(st.integers(1, 12))):
        k = draw(st.sampled_from(MEMORIES))
        how = draw(st.sampled_from(["store", "load", "fill", "grow", "size", "host-write", "host-read"]))
        if how == "store":
            ops.append(Call(f"store_u8_{k}", (i32(draw(edge)), i32(draw(st.integers(0, 255))))))
        elif how == "load":
            ops.append(Call(f"load_u8_{k}", (i32(draw(edge)),)))
        elif how == "fill":
            ops.append(Call(f"fill_{k}", (i32(draw(edge)), i32(draw(st.integers(0, 255))),
                                          i32(draw(st.integers(0, 32))))))
        elif how == "grow":
            ops.append(Call(f"grow_{k}", (i32(draw(deltas)),)))
        elif how == "size":
            ops.append(Call(f"size_{k}"))
        elif how == "host-write":
            data = draw(st.binary(min_size=1, max_size=16))
            ops.append(Write(min(draw(addresses), PAGE_SIZE - len(data)), data))
        else:
            ops.append(Read(draw(addresses), 1))
    return [*ops, *_sizes(), *(Call(f"load_u8_{k}", (i32(0),)) for k in MEMORIES), Read(0, 16)]


@given(ops=multi_ops())
@example(ops=[Call("grow_2", (i32(1),)), Call("store_u8_2", (i32(0), i32(3))), Call("grow_1", (i32(1),)),
              *_sizes(), Call("load_u8_0", (i32(0),)), Read(0, 1)])
def test_multi_memory_sequences_agree_with_the_model(wasm_runtime: WasmRuntime, ops: list[Op]) -> None:
    """Any sequence of operations on the three memories does what the spec says, traps included."""
    check_script(wasm_runtime, Script.of("multi", ops))
