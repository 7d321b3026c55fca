"""Mixed boundary scripts: host accesses, guest calls with any arguments, and grows, interleaved.

Host reads and writes stay inside the first page, which every script has, so
that this property meets the host APIs' behaviour past the end only through
the guest (those are checked on their own in test_bytes.py). Guest calls take
any i32 arguments: in bounds, at the edge, past the end, wrapping at 2**32.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance import PAGE_SIZE, Call, Grow, Op, Read, Script, Size, Value, WasmRuntime, Write, check_script
from conformance.strategies import byte_arrays, placements

i32 = Value.i32

addresses = st.one_of(
    st.integers(0, PAGE_SIZE - 1),
    st.integers(PAGE_SIZE - 16, PAGE_SIZE + 16),
    st.integers(0, 2**32 - 1),
    st.integers(2**32 - 16, 2**32 - 1),
)
lengths = st.one_of(st.integers(0, 64), st.integers(0, 4096), st.just(2**32 - 1))


def host_writes() -> st.SearchStrategy[Op]:
    """Writes that fit; length 0 at the very end is test_zero_length_at_the_very_end's."""
    data: st.SearchStrategy[bytes] = byte_arrays(max_size=64)
    return data.flatmap(
        lambda data: placements(len(data), PAGE_SIZE).filter(lambda addr: bool(data) or addr < PAGE_SIZE)
        .map(lambda addr: Write(addr, data)))


def host_reads() -> st.SearchStrategy[Op]:
    return st.integers(0, 64).flatmap(
        lambda n: placements(n, PAGE_SIZE).filter(lambda addr: n > 0 or addr < PAGE_SIZE)
        .map(lambda addr: Read(addr, n)))


def guest_calls() -> st.SearchStrategy[Op]:
    small = st.integers(0, 4)
    return st.one_of(
        st.builds(lambda a: Call("load_u8", (i32(a),)), addresses),
        st.builds(lambda a, v: Call("store_u8", (i32(a), i32(v))), addresses, st.integers(0, 2**32 - 1)),
        st.builds(lambda p, n: Call("checksum", (i32(p), i32(n))), addresses, st.integers(0, 64)),
        st.builds(lambda s, n, d: Call("copy", (i32(s), i32(n), i32(d))), addresses, st.integers(0, 64),
                  addresses),
        st.builds(lambda p, n, v: Call("fill", (i32(p), i32(n), i32(v))), addresses, lengths,
                  st.integers(0, 255)),
        st.builds(lambda p, n: Call("reverse", (i32(p), i32(n))), addresses, st.integers(0, 64)),
        # A few pages, or past the 4 GiB limit. Deltas of 2**31 and more (negative when read
        # signed) are test_grow.py::test_guest_grow_past_the_limit_fails's, so that a runtime
        # wrong there alone still has every other script checked.
        st.builds(lambda d: Call("grow", (i32(d),)), st.one_of(small, st.integers(65536, 2**31 - 1))),
        st.just(Call("size")),
    )


operations = st.one_of(
    host_writes(), host_reads(), guest_calls(),
    st.builds(Grow, st.integers(0, 3)), st.just(Size()),
)


def meetings() -> st.SearchStrategy[list[Op]]:
    """One side writes bytes and the other reads those bytes back: an interleaving matters only
    where the two meet (a host read served from a stale copy, a host write the guest does not see,
    is found there and nowhere else)."""
    at = st.integers(0, PAGE_SIZE - 64)
    n = st.integers(1, 64)
    return st.one_of(
        st.builds(lambda a, v, k: [Call("store_u8", (i32(a), i32(v))), Read(a - a % k, k)],
                  at, st.integers(1, 255), n),
        st.builds(lambda a, k, v: [Call("fill", (i32(a), i32(k), i32(v))), Read(a, k)],
                  at, n, st.integers(0, 255)),
        st.builds(lambda a, k: [Call("reverse", (i32(a), i32(k))), Read(a, k)], at, n),
        st.builds(lambda a, data: [Write(a, data), Call("checksum", (i32(a), i32(len(data)))),
                                   Call("load_u8", (i32(a),))], at, byte_arrays(min_size=1, max_size=64)),
    )


@given(steps=st.lists(st.one_of(operations.map(lambda op: [op]), meetings()), min_size=1, max_size=12))
def test_mixed_scripts_agree_with_the_model(wasm_runtime: WasmRuntime, steps: list[list[Op]]) -> None:
    """Any interleaving of host reads and writes, guest calls with any i32 arguments and grows does
    what the model says, the two sides often reading back what the other just wrote."""
    check_script(wasm_runtime, Script.of("bytes", [op for step in steps for op in step]))
