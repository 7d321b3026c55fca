"""Byte arrays crossing the boundary as ptr/len, up to and past the end of memory."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from conformance import (
    PAGE_SIZE,
    Call,
    Read,
    Script,
    Size,
    Value,
    View,
    ViewRead,
    ViewWrite,
    WasmRuntime,
    Write,
    check_script,
)
from conformance.strategies import byte_arrays, out_of_bounds_spans, placements

MEMORY = PAGE_SIZE  # the bytes guest has one page
i32 = Value.i32


def data_and_address(max_size: int = 1024) -> st.SearchStrategy[tuple[bytes, int]]:
    """Bytes and an address where they fit, flush with the end included.

    Length 0 at the very end (addr == memory size) is left to its own property,
    test_zero_length_at_the_very_end, so that a runtime wrong there alone still
    has every other placement checked.
    """
    placed: st.SearchStrategy[tuple[bytes, int]] = byte_arrays(max_size=max_size).flatmap(
        lambda data: st.tuples(st.just(data), placements(len(data), MEMORY))
    )
    return placed.filter(lambda p: bool(p[0]) or p[1] < MEMORY)


def test_zero_length_at_the_very_end(wasm_runtime: WasmRuntime) -> None:
    """ptr == memory size with length 0 is in bounds, for the host and for the guest."""
    end = i32(MEMORY)
    check_script(wasm_runtime, Script.of("bytes", [
        Read(MEMORY, 0),
        Call("checksum", (end, i32(0))),
        Call("copy", (i32(0), i32(0), end)),
        Call("fill", (end, i32(0), i32(1))),
        Write(MEMORY, b""),
        Size(),
    ]))


@given(placed=data_and_address())
@example(placed=(b"\xff", MEMORY - 1))  # the last byte
def test_host_write_then_read_round_trips(wasm_runtime: WasmRuntime, placed: tuple[bytes, int]) -> None:
    """Bytes the host writes at any address, flush with the end included, read back the same."""
    data, addr = placed
    check_script(wasm_runtime, Script.of("bytes", [Write(addr, data), Read(addr, len(data)), Size()]))


@given(placed=data_and_address())
@example(placed=(b"\x00\x01", MEMORY - 2))
def test_guest_reads_what_the_host_wrote(wasm_runtime: WasmRuntime, placed: tuple[bytes, int]) -> None:
    """The guest reads (checksums, loads) exactly the bytes the host wrote, wherever they are."""
    data, addr = placed
    n = len(data)
    check_script(wasm_runtime, Script.of("bytes", [
        Write(addr, data),
        Call("checksum", (i32(addr), i32(n))),
        Call("load_u8", (i32(addr),)) if n else Call("size"),
    ]))


@given(placed=data_and_address(), how=st.sampled_from(["copy", "fill", "reverse"]),
       dst=st.integers(0, MEMORY), value=st.integers(0, 255))
def test_host_reads_what_the_guest_wrote(wasm_runtime: WasmRuntime, placed: tuple[bytes, int],
                                         how: str, dst: int, value: int) -> None:
    """The host reads exactly what the guest wrote (copied, filled, reversed in place)."""
    data, addr = placed
    n = len(data)
    dst = min(dst, MEMORY - n)
    guest_writes = {
        "copy": Call("copy", (i32(addr), i32(n), i32(dst))),
        "fill": Call("fill", (i32(addr), i32(n), i32(value))),
        "reverse": Call("reverse", (i32(addr), i32(n))),
    }[how]
    target = dst if how == "copy" else addr
    check_script(wasm_runtime, Script.of("bytes", [
        Write(addr, data), guest_writes, Read(target, n), Read(addr, n),
    ]))


@given(span=out_of_bounds_spans(MEMORY), fn=st.sampled_from(["checksum", "copy_in", "copy_out", "fill"]))
@example(span=(MEMORY, 1), fn="checksum")  # one byte past the end
@example(span=(MEMORY - 1, 2), fn="fill")  # straddles the end
def test_guest_access_past_the_end_traps(wasm_runtime: WasmRuntime, span: tuple[int, int],
                                         fn: str) -> None:
    """A ptr/len reaching past the end traps out-of-bounds; bytes touched before it stay touched."""
    ptr, n = span
    tail = max(0, MEMORY - 64)
    call = {
        "checksum": Call("checksum", (i32(ptr), i32(n))),
        "copy_in": Call("copy", (i32(ptr), i32(n), i32(0))),  # source past the end
        "copy_out": Call("copy", (i32(0), i32(n), i32(ptr))),  # destination past the end
        "fill": Call("fill", (i32(ptr), i32(n), i32(0xA5))),
    }[fn]
    check_script(wasm_runtime, Script.of("bytes", [
        Write(0, bytes(range(1, 65))),
        call,
        Read(tail, MEMORY - tail),  # what the trapped loop wrote before the trap
        Read(0, 64),
        Size(),
    ]))


@given(span=out_of_bounds_spans(MEMORY, max_len=64).filter(lambda s: s[0] < 1 << 32))
@example(span=(MEMORY, 1))
@example(span=(MEMORY - 3, 4))
def test_host_read_past_the_end_is_an_error(wasm_runtime: WasmRuntime, span: tuple[int, int]) -> None:
    """A host read that reaches past the end is refused, not cut short."""
    ptr, n = span
    check_script(wasm_runtime, Script.of("bytes", [Read(ptr, n)]))


@given(span=out_of_bounds_spans(MEMORY, max_len=64), fill=st.integers(1, 255))
@example(span=(MEMORY, 1), fill=1)
@example(span=(MEMORY - 3, 4), fill=0xEE)
def test_host_write_past_the_end_is_an_error(wasm_runtime: WasmRuntime, span: tuple[int, int],
                                             fill: int) -> None:
    """A host write that reaches past the end is refused and writes nothing; memory keeps its size."""
    ptr, n = span
    check_script(wasm_runtime, Script.of("bytes", [
        Write(ptr, bytes([fill]) * n),
        Size(),
        Read(MEMORY - 64, 64),
    ]))


@given(placed=data_and_address(max_size=256), dst=st.integers(0, MEMORY))
def test_view_shares_memory_with_the_guest(wasm_runtime: WasmRuntime, placed: tuple[bytes, int],
                                           dst: int) -> None:
    """Bytes written through a host view are the guest's bytes, and the other way round."""
    data, addr = placed
    n = len(data)
    dst = min(dst, MEMORY - n)
    check_script(wasm_runtime, Script.of("bytes", [
        View("v"),
        ViewWrite("v", addr, data),
        Call("checksum", (i32(addr), i32(n))),
        Call("copy", (i32(addr), i32(n), i32(dst))),
        ViewRead("v", dst, n),
        Read(dst, n),
    ]))


@given(span=out_of_bounds_spans(MEMORY, max_len=16), placed=data_and_address(max_size=64))
def test_instance_after_a_trap(wasm_runtime: WasmRuntime, span: tuple[int, int],
                               placed: tuple[bytes, int]) -> None:
    """After a trap the instance keeps working (a driver that says it cannot be called diverges)."""
    ptr, n = span
    data, addr = placed
    check_script(wasm_runtime, Script.of("bytes", [
        Write(addr, data),
        Call("checksum", (i32(ptr), i32(n))),
        Call("checksum", (i32(addr), i32(len(data)))),
        Call("store_u8", (i32(addr), i32(7))),
        Read(addr, len(data)),
    ]))
