"""Struct layout across the boundary, with a real compiler as the ground truth.

For each generated struct schema, C is generated and compiled for wasm32
(``conformance/cguest.py``: clang, or ``zig cc``), exporting sizeof, alignof,
every field's offset, and a getter and a setter per field. The host's layout
engine (``conformance/layout.py``), the compiler and every runtime must agree:
the host packs and the guest reads each field; the guest writes each field and
the host unpacks; and the memory image is the same byte for byte on every
runtime (each is compared with the reference runtime, operation by operation).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import PAGE_SIZE, Call, Op, Read, Script, Size, Value, WasmRuntime, Write, check_script
from conformance.cguest import CompiledGuest, CompileError, NoCompiler, compile_guest, default_cache_dir
from conformance.checks import learn
from conformance.layout import Scalar, Struct, align_of, pack, size_of, unpack
from conformance.strategies import struct_schemas, struct_values

SCRATCH = 16 * 1024
"""The struct goes this far below the end of the guest's memory: past its data and stack."""


@cache
def _compiled(schema: Struct, cache_dir: Path) -> CompiledGuest:
    return compile_guest(schema, cache_dir=cache_dir)


def compiled(schema: Struct) -> CompiledGuest:
    try:
        return _compiled(schema, default_cache_dir())
    except NoCompiler as exc:
        pytest.skip(str(exc))
    except CompileError as exc:
        raise AssertionError(f"the generated C for struct {schema.name} did not compile: {exc}") from None


def leaf_bits(guest: CompiledGuest, packed: bytes) -> list[int]:
    """Each leaf's value, read from packed bytes by the engine's offsets, as the guest's wasm value."""
    out = []
    for f in guest.fields:
        width = Scalar(f.kind).size
        value = f.from_wasm(int.from_bytes(packed[f.offset:f.offset + width], "little"))
        out.append(f.to_wasm(value))
    return out


# The same schemas on every runtime (derandomized), so that each compiled guest is
# compiled once and the memory images of all runtimes can be compared.
@settings(derandomize=True)
@given(schema=struct_schemas(), data=st.data())
def test_engine_compiler_and_runtime_agree_on_layout(wasm_runtime: WasmRuntime, schema: Struct,
                                                     data: st.DataObject) -> None:
    """The host's layout engine, clang and the runtime agree on size, alignment, offsets and the bytes
    each side writes, for a generated struct schema (nested, arrays, packed, over-aligned)."""
    guest = compiled(schema)
    first = data.draw(struct_values(schema), label="packed by the host")
    second = data.draw(struct_values(schema), label="written by the guest")
    name, module = guest.as_guest().name, str(guest.path)
    size = size_of(schema)
    memory_size = learn(wasm_runtime, Script.of(name, [Size()], module=module))[1].value
    base = (memory_size - SCRATCH) & ~63
    if base < PAGE_SIZE or size > SCRATCH:
        pytest.skip(f"struct {schema.name} ({size} bytes) does not fit the guest's scratch space")
    host_bytes = pack(schema, first)
    i32 = Value.i32
    ops: list[Op] = [Size(), Call("size_of"), Call("align_of"),
                     *(Call(f.offset_export) for f in guest.fields), Write(base, host_bytes)]
    ops += [Call(f.getter, (i32(base),)) for f in guest.fields]
    ops += [Call(f.setter, (i32(base), Value(f.wasm_type, bits)))
            for f, bits in zip(guest.fields, leaf_bits(guest, pack(schema, second)), strict=True)]
    ops.append(Read(base, size))
    outcomes = check_script(wasm_runtime, Script.of(name, ops, module=module))[2:]

    def returned(i: int) -> int:
        (v,) = outcomes[i].value
        return int(v.bits)

    n = len(guest.fields)
    assert (returned(0), returned(1)) == (size, align_of(schema)), "sizeof, alignof: compiler vs engine"
    for i, f in enumerate(guest.fields):
        assert returned(2 + i) == f.offset, f"offsetof({f.path}): compiler vs engine"
    got = [returned(3 + n + i) for i in range(n)]
    assert got == leaf_bits(guest, host_bytes), "the guest read the host's packing"
    assert outcomes[-1].value == pack(schema, second), "the guest's writes, byte for byte"
    assert unpack(schema, outcomes[-1].value) == second, "the host unpacks what the guest wrote"
