"""Memory that grows keeps its bytes; new pages are zero; host and guest agree on its size.

The thorough treatment of growth (limits, huge deltas, views across a grow, the
4 GiB cap) has its own issue; this checks the basics every script relies on.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance import (
    PAGE_SIZE,
    Call,
    Grow,
    Op,
    Read,
    Script,
    Size,
    Value,
    WasmRuntime,
    Write,
    check_script,
)
from conformance.strategies import byte_arrays

i32 = Value.i32


@given(data=byte_arrays(min_size=1, max_size=64), deltas=st.lists(st.tuples(
    st.sampled_from(["host", "guest"]), st.integers(0, 3)), min_size=1, max_size=3))
def test_grown_memory_keeps_old_bytes_and_new_pages_are_zero(
        wasm_runtime: WasmRuntime, data: bytes, deltas: list[tuple[str, int]]) -> None:
    """Each grow returns the old size in pages (or is refused); old data stays; new pages read zero."""
    ops: list[Op] = [Write(PAGE_SIZE - len(data), data)]
    for who, delta in deltas:
        ops.append(Grow(delta) if who == "host" else Call("grow", (i32(delta),)))
        ops += [Size(), Call("size")]
    # The guest looks at the first new page: zero bytes if memory grew, a trap if not (a host
    # read there would meet the host APIs' own, separately checked, behaviour past the end).
    ops += [Read(PAGE_SIZE - len(data), len(data)),
            Call("checksum", (i32(PAGE_SIZE), i32(64))),
            Call("load_u8", (i32(PAGE_SIZE),))]
    check_script(wasm_runtime, Script.of("bytes", ops))


@given(delta=st.one_of(
    st.sampled_from([65536, 2**31 - 1, 2**31, 2**32 - 1]),
    st.integers(65536, 2**32 - 1),
    st.integers(2**31, 2**32 - 1),
))
def test_guest_grow_past_the_limit_fails(wasm_runtime: WasmRuntime, delta: int) -> None:
    """memory.grow past 65536 pages returns -1 and leaves memory as it was.

    The delta is unsigned: 0xFFFFFFFF is four billion pages, not -1 (not a shrink).
    """
    check_script(wasm_runtime, Script.of("bytes", [
        Write(0, b"kept"),
        Call("grow", (i32(delta),)),
        Call("size"),
        Size(),
        Read(0, 4),
    ]))
