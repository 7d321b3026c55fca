"""A trap does not poison the instance: after it, valid calls on the same instance do what they say.

A trap ends the call, not the instance: the spec lets the embedder call the
instance's exports again, and its memory holds what it held (a bulk op that
trapped wrote nothing; a store loop keeps the bytes stored before its trap).
A runtime whose instance cannot be called after a trap must say so (the
driver answers ``error poisoned``), and the checker takes that for what it is, a
divergence (pywasm's is a pinned known divergence); a new instance of the same
module must work from scratch; and no runtime may answer a later call wrongly.

Guest ``bulk`` (guest-modules/bulk.wat): it has a trap of every kind on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance import (
    PAGE_SIZE,
    Call,
    Instantiate,
    Op,
    Read,
    Script,
    Value,
    WasmRuntime,
    Write,
    check_script,
)
from conformance.model.bulk import SEGMENTS
from conformance.strategies import placements

pytestmark = pytest.mark.wasm_feature("bulk_memory")  # the guest uses memory.fill, memory.init, ...

MEMORY = PAGE_SIZE
U32 = 0xFFFF_FFFF
i32 = Value.i32
F = TypeVar("F", bound=Callable[..., Any])

TRAP_KINDS = ("load", "store", "fill", "copy", "init", "init-after-drop", "unreachable", "divide-by-zero")


@st.composite
def traps(draw: st.DrawFn, kind: str | None = None) -> list[Op]:
    """The calls that end in one trap of ``kind`` (any kind if None): the trap comes last."""
    kind = kind or draw(st.sampled_from(TRAP_KINDS))
    past = draw(st.one_of(st.integers(MEMORY, MEMORY + 8), st.integers(MEMORY, U32)))
    n = draw(st.integers(1, 64))
    straddle = draw(st.integers(MEMORY - n + 1, MEMORY))
    match kind:
        case "load":
            return [Call("load_u8", (i32(past),))]
        case "store":
            return [Call("store_u8", (i32(past), i32(draw(st.integers(0, 255)))))]
        case "fill":
            return [Call("fill", (i32(straddle), i32(draw(st.integers(0, 255))), i32(n)))]
        case "copy":
            return [Call("copy", (i32(0), i32(straddle), i32(n)))]
        case "init":
            return [Call("init0", (i32(0), i32(len(SEGMENTS[0])), i32(1)))]
        case "init-after-drop":
            n = draw(st.integers(1, len(SEGMENTS[0])))
            return [Call("drop0"), Call("init0", (i32(0), i32(0), i32(n)))]
        case "unreachable":
            return [Call("unreachable")]
    return [Call("div_u", (i32(draw(st.integers(0, U32))), i32(0)))]


@st.composite
def valid_calls(draw: st.DrawFn, data_at: int, data: bytes) -> list[Op]:
    """A call that must not trap, and a read that shows what it did."""
    kind = draw(st.sampled_from(["load", "store", "fill", "copy", "init", "divide", "size"]))
    n = draw(st.integers(1, 64))
    d = draw(placements(n, MEMORY))
    match kind:
        case "load":  # a byte the host wrote, not zero
            return [Call("load_u8", (i32(data_at + draw(st.integers(0, len(data) - 1))),))]
        case "store":
            return [Call("store_u8", (i32(d), i32(draw(st.integers(1, 255))))), Read(d, 1)]
        case "fill":
            return [Call("fill", (i32(d), i32(draw(st.integers(1, 255))), i32(n))), Read(d, n)]
        case "copy":
            return [Call("copy", (i32(d), i32(data_at), i32(min(n, len(data))))), Read(d, n)]
        case "init":  # segment 1 is never dropped here
            size = len(SEGMENTS[1])
            d = draw(placements(size, MEMORY))
            return [Call("init1", (i32(d), i32(0), i32(size))), Read(d, size)]
        case "divide":
            b = draw(st.integers(1, 0xFFFF))
            return [Call("div_u", (i32(draw(st.integers(b, U32))), i32(b)))]
    return [Call("size")]


@st.composite
def after_traps(draw: st.DrawFn) -> list[Op]:
    """The host writes, then rounds of (a trap, valid calls), then the host reads."""
    data = draw(st.binary(min_size=1, max_size=32).map(lambda b: bytes(x | 1 for x in b)))
    at = draw(placements(len(data), MEMORY))
    ops: list[Op] = [Write(at, data)]
    for _ in range(draw(st.integers(1, 3))):
        ops += draw(traps())
        for _ in range(draw(st.integers(1, 3))):
            ops += draw(valid_calls(at, data))
    return [*ops, Read(at, len(data))]


def _one_trap_then_valid(kind: str) -> list[Op]:
    """An example per trap kind: the trap, then a load of a byte the host wrote and a fill."""
    first = {
        "load": [Call("load_u8", (i32(MEMORY),))],
        "store": [Call("store_u8", (i32(MEMORY), i32(1)))],
        "fill": [Call("fill", (i32(MEMORY - 1), i32(9), i32(2)))],
        "copy": [Call("copy", (i32(0), i32(MEMORY - 1), i32(2)))],
        "init": [Call("init0", (i32(0), i32(len(SEGMENTS[0])), i32(1)))],
        "init-after-drop": [Call("drop0"), Call("init0", (i32(0), i32(0), i32(1)))],
        "unreachable": [Call("unreachable")],
        "divide-by-zero": [Call("div_u", (i32(7), i32(0)))],
    }[kind]
    return [Write(100, b"\x2a"), *first, Call("load_u8", (i32(100),)),
            Call("fill", (i32(200), i32(5), i32(3))), Read(200, 3), Call("div_u", (i32(42), i32(6)))]


def _with_trap_examples(fn: F) -> F:
    """``@example`` of each trap kind, so that every kind runs on every runtime in every profile."""
    for kind in reversed(TRAP_KINDS):
        fn = example(ops=_one_trap_then_valid(kind))(fn)
    return fn


@given(ops=after_traps())
@_with_trap_examples
def test_instance_keeps_working_after_any_trap(wasm_runtime: WasmRuntime, ops: list[Op]) -> None:
    """After a trap of any kind (out-of-bounds load, store, fill, copy or init, init after
    data.drop, unreachable, integer divide by zero), each later call on the same instance
    gives its right result (a driver that says the instance is poisoned diverges)."""
    check_script(wasm_runtime, Script.of("bulk", ops))


@given(trap=st.sampled_from([k for k in TRAP_KINDS if k != "init-after-drop"]).flatmap(traps),
       data=st.binary(min_size=1, max_size=32))
@example(trap=[Call("unreachable")], data=b"\x01")
def test_a_new_instance_after_a_trap_starts_afresh(wasm_runtime: WasmRuntime, trap: list[Op],
                                                   data: bytes) -> None:
    """After a trap, a new instance of the same module has memory all zero and works.

    (Passive segments dropped in the old instance are test_bulk.py::test_data_drop_is_per_instance.)"""
    check_script(wasm_runtime, Script.of("bulk", [
        Write(0, data),
        *trap,
        Instantiate(),
        Read(0, 64),
        Call("init1", (i32(64), i32(0), i32(len(SEGMENTS[1])))),
        Read(64, len(SEGMENTS[1])),
        Call("div_u", (i32(42), i32(6))),
        Call("size"),
    ]))
