"""Who allocates, who frees, and what memory holds after a free.

The guests here are compiled from Rust (``guest-modules/rust/guest.rs``, the
standard library's allocator behind ``Vec``) and C (``guest-modules/c/alloc.c``,
wasi-libc's malloc). The model does not mirror those allocators: each runtime
is compared, outcome by outcome, with the reference runtime (WebAssembly is
deterministic, so all must agree), and each property asserts what the seed
says on top. A script cannot feed a returned pointer into a later operation,
so a property first runs the allocations alone to learn the pointers (the same
in every fresh instance), then the whole script with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from conformance import PAGE_SIZE, Call, Op, Outcome, Read, Script, Value, WasmRuntime, Write, check_script
from conformance.checks import learn
from conformance.strategies import byte_arrays
from conformance.text import encode_utf8, text_from_block

i32 = Value.i32
U32 = 0xFFFF_FFFF


@dataclass(frozen=True)
class Allocator:
    guest: str
    alloc: Callable[[int], Call]
    free: Callable[[int, int], Call]
    align: int


ALLOCATORS = {
    "rust-vec": Allocator("rust_guest", lambda n: Call("alloc", (i32(n),)),
                          lambda p, n: Call("dealloc", (i32(p), i32(n))), 1),
    "c-malloc": Allocator("c_alloc", lambda n: Call("c_malloc", (i32(n),)),
                          lambda p, n: Call("c_free", (i32(p),)), 16),
}
sizes = st.one_of(st.integers(1, 64), st.integers(65, 4096), st.sampled_from([8, 16, 100, 70_000]))


def result(outcome: Outcome) -> int:
    """The single i32 an ok call returned."""
    assert outcome.kind == "ok", outcome
    (value,) = outcome.value
    return int(value.bits)


def pointers(runtime: WasmRuntime, guest: str, ops: list[Op]) -> list[int]:
    """Run ``ops`` (checked) and return the i32 of each call that returns one, in order."""
    return [v for v in returned(runtime, guest, ops) if v is not None]


def learned(runtime: WasmRuntime, guest: str, ops: list[Op]) -> list[int]:
    """The pointers ``ops`` return in a fresh instance (:func:`conformance.checks.learn`: from the
    reference runtime; the script that uses them begins with the same ``ops``)."""
    outcomes = learn(runtime, Script.of(guest, ops))
    return [result(o) for op, o in zip(ops, outcomes[1:], strict=True)
            if isinstance(op, Call) and o.kind == "ok" and len(o.value) == 1]


def returned(runtime: WasmRuntime, guest: str, ops: list[Op]) -> list[int | None]:
    """Run ``ops`` (checked): per operation, the i32 its call returned, else None."""
    outcomes = check_script(runtime, Script.of(guest, ops))
    return [result(o) if isinstance(op, Call) and o.kind == "ok" and len(o.value) == 1 else None
            for op, o in zip(ops, outcomes[1:], strict=True)]


@given(kind=st.sampled_from(sorted(ALLOCATORS)), size=sizes, data=st.data())
@example(kind="c-malloc", size=100, data=None)
@example(kind="rust-vec", size=100, data=None)
def test_module_allocates_and_the_host_frees(wasm_runtime: WasmRuntime, kind: str, size: int,
                                             data: st.DataObject | None) -> None:
    """alloc, write, call, read, dealloc: the block is the guest's, in bounds, and freed again."""
    allocator = ALLOCATORS[kind]
    if data is None:
        payload = bytes(i % 251 for i in range(size))
    else:
        payload = data.draw(byte_arrays(min_size=size, max_size=size), label="payload")
    (block,) = learned(wasm_runtime, allocator.guest, [allocator.alloc(size)])
    assert block and block % allocator.align == 0, f"{kind} returned {block}"
    ops: list[Op] = [allocator.alloc(size), Write(block, payload), Read(block, size)]
    if kind == "c-malloc":
        ops.append(Call("c_checksum", (i32(block), i32(size))))
    ops += [allocator.free(block, size), Call("memory_pages")]
    outcomes = check_script(wasm_runtime, Script.of(allocator.guest, ops))
    assert outcomes[3].value == payload
    pages = result(outcomes[-1])
    assert block + size <= pages * PAGE_SIZE, "the block lies inside memory"


@given(kind=st.sampled_from(sorted(ALLOCATORS)), size=sizes, fill=st.integers(1, 255))
@example(kind="c-malloc", size=64, fill=0xAB)
def test_memory_reused_after_free_is_not_zero(wasm_runtime: WasmRuntime, kind: str, size: int,
                                              fill: int) -> None:
    """After free and alloc of the same size, the block comes back holding its old bytes."""
    allocator = ALLOCATORS[kind]
    (block,) = learned(wasm_runtime, allocator.guest, [allocator.alloc(size)])
    ops: list[Op] = [
        allocator.alloc(size),
        Write(block, bytes([fill]) * size),
        allocator.free(block, size),
        allocator.alloc(size),
        Read(block, size),
    ]
    outcomes = check_script(wasm_runtime, Script.of(allocator.guest, ops))
    again = result(outcomes[4])
    seen = outcomes[5].value
    assert again == block, f"{kind}: alloc({size}) after free gave {again}, not the freed {block}"
    # dlmalloc (Rust's std and wasi-libc) may keep its bookkeeping in the first bytes
    # of a free chunk (up to 24 for large ones); the rest is what the host left there.
    kept = sum(1 for b in seen if b == fill)
    assert kept >= size - 24, f"only {kept} of {size} bytes kept their old value"
    lost = size - kept
    wasm_runtime.note(f"{kind}: a freed block of the same size comes back holding its old bytes"
                      + (f" but {lost} (allocator metadata)" if lost else ""))


@given(text=st.text(max_size=40), extra=st.integers(1, 64))
@example(text="hi", extra=8)
def test_a_host_helper_does_not_assume_fresh_blocks_are_zero(wasm_runtime: WasmRuntime, text: str,
                                                             extra: int) -> None:
    """Text put in a reused malloc block reads back by its length, whatever the block held before."""
    raw = encode_utf8(text)
    cap = len(raw) + extra
    (block,) = learned(wasm_runtime, "c_alloc", [Call("c_malloc", (i32(cap),))])
    outcomes = check_script(wasm_runtime, Script.of("c_alloc", [
        Call("c_malloc", (i32(cap),)),
        Call("c_fill", (i32(block), i32(cap), i32(0x5A))),
        Call("c_free", (i32(block),)),
        Call("c_malloc", (i32(cap),)),
        Write(block, raw),
        Read(block, cap),
    ]))
    assert text_from_block(outcomes[6].value, len(raw)) == text


@given(cap=st.integers(0, 32), out=st.integers(0, PAGE_SIZE - 32))
@example(cap=15, out=0)
@example(cap=3, out=1024)
def test_host_allocates_the_rust_greeting_buffer(wasm_runtime: WasmRuntime, cap: int, out: int) -> None:
    """The seed's get_greeting(out_ptr, out_cap) -> len, from Rust, into a buffer the host chose."""
    # The host's buffer: a block it owns, at an offset it picks (clear of the guest's stack
    # and static data).
    (block,) = learned(wasm_runtime, "rust_guest", [Call("alloc", (i32(4096),))])
    out = block + out % (4096 - cap - 4)
    outcomes = check_script(wasm_runtime, Script.of("rust_guest", [
        Call("alloc", (i32(4096),)),
        Write(out, b"\xee" * (cap + 4)),
        Call("get_greeting", (i32(out), i32(cap))),
        Read(out, cap + 4),
    ]))
    assert result(outcomes[3]) == len("hello from wasm")
    shown = min(cap, 15)
    assert outcomes[4].value == b"hello from wasm"[:shown] + b"\xee" * (cap + 4 - shown)


@given(x=st.integers(-(2**31), 2**31 - 1), y=st.integers(-(2**31), 2**31 - 1))
def test_rust_repr_c_point_layout(wasm_runtime: WasmRuntime, x: int, y: int) -> None:
    """#[repr(C)] Point {x: i32, y: i32}: size 8, align 4, x at 0 and y at 4, little-endian."""
    (block,) = learned(wasm_runtime, "rust_guest", [Call("alloc", (i32(8),))])
    host_point = (x & U32).to_bytes(4, "little") + (y & U32).to_bytes(4, "little")
    outcomes = check_script(wasm_runtime, Script.of("rust_guest", [
        Call("point_size"), Call("point_align"),
        Call("alloc", (i32(8),)),
        Write(block, host_point),
        Call("point_sum", (i32(block),)),
        Call("point_write", (i32(block), i32(y), i32(x))),
        Read(block, 8),
    ]))
    assert (result(outcomes[1]), result(outcomes[2])) == (8, 4)
    assert result(outcomes[5]) == (x + y) & U32
    assert outcomes[7].value == host_point[4:] + host_point[:4]


@given(sizes_=st.lists(st.integers(1, 3000), min_size=1, max_size=8))
def test_arena_reset_per_request(wasm_runtime: WasmRuntime, sizes_: list[int]) -> None:
    """An arena gives the same blocks for the same request after a reset, and 0 when it is full."""
    request: list[Op] = [Call("c_arena_alloc", (i32(n),)) for n in sizes_]
    first = pointers(wasm_runtime, "c_alloc", [Call("c_arena_reset"), *request])
    again = pointers(wasm_runtime, "c_alloc",
                     [Call("c_arena_reset"), *request, Call("c_arena_reset"), *request])
    n = len(sizes_)
    assert again[:n] == first == again[n:]
    live = [p for p in first if p]
    assert all(p % 8 == 0 for p in live)
    assert all(a < b for a, b in pairwise(live)), "a bump arena hands out rising addresses"
    full = [size for size, p in zip(sizes_, first, strict=True) if p == 0]
    assert sum(sizes_) > 60_000 or not full, "the 64 KiB arena refused while it had room"


class LeakMachine(RuleBasedStateMachine):
    """alloc and free in any order; every step reruns the whole sequence (scripts start afresh).

    Invariants: memory never shrinks and holds every live block; after all blocks are
    freed, rounds of matched alloc/free reach a steady memory size.
    """

    runtime: WasmRuntime
    allocator = ALLOCATORS["c-malloc"]

    @initialize()
    def start(self) -> None:
        self.ops: list[Op] = []
        self.live: dict[int, int] = {}  # op index of the alloc -> size
        self.blocks: list[int | None] = []  # per op, the block an alloc returned
        self.pages: list[int] = []

    def run(self) -> None:
        values = returned(self.runtime, self.allocator.guest, [*self.ops, Call("memory_pages")])
        self.blocks = values[:-1]
        pages = values[-1]
        assert pages is not None
        self.pages.append(pages)

    @rule(size=st.one_of(st.integers(1, 512), st.integers(4096, 70_000)))
    def alloc(self, size: int) -> None:
        self.live[len(self.ops)] = size
        self.ops.append(self.allocator.alloc(size))
        self.run()

    @rule(data=st.data())
    def free(self, data: st.DataObject) -> None:
        if not self.live:
            return
        index = data.draw(st.sampled_from(sorted(self.live)), label="free the block of op")
        size = self.live.pop(index)
        block = self.blocks[index]
        assert block, f"alloc({size}) failed"
        self.ops.append(self.allocator.free(block, size))
        self.run()

    @invariant()
    def memory_never_shrinks_and_holds_the_live_blocks(self) -> None:
        if not self.pages:
            return
        assert self.pages == sorted(self.pages), f"memory.size went down: {self.pages}"
        assert sum(self.live.values()) <= self.pages[-1] * PAGE_SIZE

    def teardown(self) -> None:
        if not hasattr(self, "ops"):
            return
        for index, size in sorted(self.live.items()):
            block = self.blocks[index]
            assert block is not None
            self.ops.append(self.allocator.free(block, size))
        self.live.clear()
        # Rounds of a matched alloc and free: learn each round's block, then free it.
        pages = []
        for _ in range(3):
            self.ops.append(self.allocator.alloc(70_000))
            block = pointers(self.runtime, self.allocator.guest, self.ops)[-1]
            self.ops += [self.allocator.free(block, 70_000), Call("memory_pages")]
            pages.append(pointers(self.runtime, self.allocator.guest, self.ops)[-1])
        assert pages[1] == pages[2], f"matched alloc/free did not reach a steady size: {pages}"


def test_leaks_and_steady_state(wasm_runtime: WasmRuntime) -> None:
    """Alloc without free grows memory; matched frees reach a steady size (a state machine)."""

    class Machine(LeakMachine):
        runtime = wasm_runtime

    # Every step reruns the sequence so far: keep sequences short.
    run_state_machine_as_test(Machine, settings=settings(
        max_examples=min(settings().max_examples, 10), stateful_step_count=6))
