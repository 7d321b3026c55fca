"""The compiled guests (Rust on std's allocator, C on wasi-libc's malloc) do what their sources say.

Runs the committed ``guest-modules/rust_guest.wasm`` and ``guest-modules/c_alloc.wasm`` on
wasmtime. The allocator facts pinned here (which pointer comes back, which bytes a free
overwrites, when memory grows) are those of the committed binaries: both allocators are
dlmalloc, and wasm is deterministic, so every runtime shows the same.
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

GUEST_DIR = Path(__file__).resolve().parents[1] / "guest-modules"
BUILD_NATIVE = GUEST_DIR / "build_native.py"
PAGE = 65536

RUST_EXPORTS = {
    "memory", "alloc", "dealloc", "get_greeting", "point_sum", "point_size", "point_align",
    "point_write", "upper_alloc", "memory_pages", "__data_end", "__heap_base",
}  # fmt: skip
C_EXPORTS = {
    "memory", "c_malloc", "c_free", "c_fill", "c_checksum", "c_arena_reset", "c_arena_alloc",
    "memory_pages",
}  # fmt: skip
GREETING = b"hello from wasm"
ARENA_SIZE = 65536
SIZES = (1, 8, 100, 4096, 70000, 200000)


def unsigned(value: int) -> int:
    return value & 0xFFFF_FFFF


def signed(value: int) -> int:
    value = unsigned(value)
    return value - (1 << 32) if value >= 1 << 31 else value


def fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFF_FFFF
    return h


@cache
def engine() -> wasmtime.Engine:
    return wasmtime.Engine()


@cache
def module(name: str) -> wasmtime.Module:
    return wasmtime.Module.from_file(engine(), str(GUEST_DIR / name))


class Guest:
    """A fresh instance of one committed module, with i32 arguments and results as unsigned ints."""

    def __init__(self, name: str) -> None:
        self.store = wasmtime.Store(engine())
        self.instance = wasmtime.Instance(self.store, module(name), [])
        memory = self.instance.exports(self.store)["memory"]
        assert isinstance(memory, wasmtime.Memory)
        self.memory = memory

    def call(self, name: str, *args: int) -> int | None:
        func = self.instance.exports(self.store)[name]
        assert isinstance(func, wasmtime.Func)
        result = func(self.store, *(signed(a) for a in args))
        assert result is None or isinstance(result, int)
        return None if result is None else unsigned(result)

    def value(self, name: str, *args: int) -> int:
        result = self.call(name, *args)
        assert result is not None, f"{name} returned nothing"
        return result

    def read(self, addr: int, length: int) -> bytes:
        return bytes(self.memory.read(self.store, addr, addr + length))

    def write(self, addr: int, data: bytes) -> None:
        assert self.memory.write(self.store, data, addr) == len(data)

    def pages(self) -> int:
        return int(self.memory.size(self.store))


def changed_offsets(data: bytes, fill: int) -> set[int]:
    return {i for i, b in enumerate(data) if b != fill}


# -- both modules ---------------------------------------------------------------------------------


def test_build_native_check_passes_or_skips() -> None:
    proc = subprocess.run([sys.executable, str(BUILD_NATIVE), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for wasm in ("rust_guest.wasm", "c_alloc.wasm"):
        line = next((s for s in proc.stdout.splitlines() if s.startswith(f"{wasm}: ")), "")
        assert "up to date" in line or "skipped: " in line, proc.stdout


NATIVE = [("rust_guest.wasm", RUST_EXPORTS), ("c_alloc.wasm", C_EXPORTS)]


@pytest.mark.parametrize(("name", "exports"), NATIVE)
def test_module_has_no_imports_and_the_expected_exports(name: str, exports: set[str]) -> None:
    m = module(name)
    assert list(m.imports) == []
    assert {e.name for e in m.exports} == exports


@pytest.mark.parametrize("name", ["rust_guest.wasm", "c_alloc.wasm"])
def test_memory_pages_is_the_memory_size(name: str) -> None:
    g = Guest(name)
    assert g.value("memory_pages") == g.pages()
    g.memory.grow(g.store, 1)
    assert g.value("memory_pages") == g.pages()


# -- Rust ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cap", [0, 1, 5, 14, 15, 16, 64])
def test_greeting_copies_at_most_the_capacity_and_returns_the_full_length(cap: int) -> None:
    g = Guest("rust_guest.wasm")
    buf = g.value("alloc", 80)
    g.write(buf, b"\xee" * 80)
    assert g.value("get_greeting", buf, cap) == len(GREETING)
    n = min(cap, len(GREETING))
    assert g.read(buf, 80) == GREETING[:n] + b"\xee" * (80 - n)


def test_point_layout_is_repr_c() -> None:
    g = Guest("rust_guest.wasm")
    assert g.value("point_size") == 8
    assert g.value("point_align") == 4
    p = g.value("alloc", 8)
    g.call("point_write", p, 0x12345678, unsigned(-2))
    assert g.read(p, 8) == (0x12345678).to_bytes(4, "little") + (-2).to_bytes(4, "little", signed=True)


@given(x=st.integers(-(2**31), 2**31 - 1), y=st.integers(-(2**31), 2**31 - 1))
@settings(max_examples=50, deadline=None)
def test_point_sum_is_the_wrapping_sum_of_the_fields(x: int, y: int) -> None:
    g = Guest("rust_guest.wasm")
    p = g.value("alloc", 8)
    g.write(p, x.to_bytes(4, "little", signed=True) + y.to_bytes(4, "little", signed=True))
    assert signed(g.value("point_sum", p)) == signed(x + y)


@given(text=st.binary(max_size=300))
@settings(max_examples=50, deadline=None)
def test_upper_alloc_returns_a_length_prefixed_uppercased_block(text: bytes) -> None:
    g = Guest("rust_guest.wasm")
    src = g.value("alloc", len(text))
    g.write(src, text)
    block = g.value("upper_alloc", src, len(text))
    assert block % 4 == 0
    assert g.read(block, 4 + len(text)) == len(text).to_bytes(4, "little") + text.upper()
    assert g.read(src, len(text)) == text  # the input is left alone
    g.call("dealloc", block, len(text) + 4)
    # the freed block, last in the heap, is what the same request gets back
    assert g.value("alloc", len(text) + 4) == block


def test_alloc_of_zero_bytes_is_the_dangling_pointer() -> None:
    g = Guest("rust_guest.wasm")
    assert g.value("alloc", 0) == 1  # Vec::with_capacity(0) does not allocate
    g.call("dealloc", 1, 0)
    assert g.value("alloc", 0) == 1


# Pages after alloc(n) in a fresh instance (17 before the first allocation: a 1 MiB stack and data).
RUST_PAGES = {1: 18, 8: 18, 100: 18, 4096: 18, 70000: 19, 200000: 21}
C_PAGES = {1: 3, 8: 3, 100: 3, 4096: 3, 70000: 4, 200000: 6}


@pytest.mark.parametrize("n", SIZES)
def test_rust_block_freed_at_the_top_comes_back_with_its_bytes(n: int) -> None:
    g = Guest("rust_guest.wasm")
    assert g.pages() == 17
    p = g.value("alloc", n)
    assert g.pages() == RUST_PAGES[n]
    g.write(p, b"\xa5" * n)
    g.call("dealloc", p, n)
    assert g.value("alloc", n) == p
    assert g.read(p, n) == b"\xa5" * n
    assert g.pages() == RUST_PAGES[n]  # freeing never shrinks memory, reuse does not grow it


# Bytes of a freed block a dlmalloc bin overwrites: free-list links at the front (fd, bk for a
# small chunk; fd, bk, two children, parent and index for a tree chunk of 256 bytes and up),
# and the footer, the next chunk's prev_foot, where it falls inside the block.
RUST_OVERWRITTEN = {
    1: {0}, 8: set(range(8)), 100: set(range(8)) | set(range(96, 100)),
    4096: set(range(24)), 70000: set(range(24)), 200000: set(range(24)),
}  # fmt: skip
C_OVERWRITTEN = {
    1: {0}, 8: set(range(8)), 100: set(range(8)),
    4096: set(range(24)), 70000: set(range(24)), 200000: set(range(24)),
}  # fmt: skip


@pytest.mark.parametrize("n", SIZES)
def test_rust_block_freed_into_a_bin_comes_back_with_free_list_links(n: int) -> None:
    g = Guest("rust_guest.wasm")
    p = g.value("alloc", n)
    guard = g.value("alloc", 16)  # keeps p from merging into the top chunk
    assert guard > p
    g.write(p, b"\xa5" * n)
    g.call("dealloc", p, n)
    assert changed_offsets(g.read(p, n), 0xA5) == RUST_OVERWRITTEN[n]
    assert g.value("alloc", n) == p
    assert changed_offsets(g.read(p, n), 0xA5) == RUST_OVERWRITTEN[n]


# -- C -------------------------------------------------------------------------------------------


def test_c_fill_sets_exactly_the_bytes_asked() -> None:
    g = Guest("c_alloc.wasm")
    p = g.value("c_malloc", 32)
    g.write(p, bytes(32))
    g.call("c_fill", p + 4, 10, 0x1AB)  # memset takes the low 8 bits
    assert g.read(p, 32) == bytes(4) + b"\xab" * 10 + bytes(18)


@given(data=st.binary(max_size=500))
@settings(max_examples=50, deadline=None)
def test_c_checksum_is_fnv1a_and_agrees_with_bytes_wasm(data: bytes) -> None:
    c = Guest("c_alloc.wasm")
    p = c.value("c_malloc", len(data))
    c.write(p, data)
    w = Guest("bytes.wasm")
    w.write(64, data)
    assert c.value("c_checksum", p, len(data)) == fnv1a(data) == w.value("checksum", 64, len(data))


def test_c_malloc_of_zero_bytes_is_a_real_block() -> None:
    g = Guest("c_alloc.wasm")
    p = g.value("c_malloc", 0)
    assert p != 0 and p % 16 == 0
    assert g.value("c_malloc", 0) != p


@pytest.mark.parametrize("n", SIZES)
def test_c_block_freed_at_the_top_comes_back_with_its_bytes(n: int) -> None:
    g = Guest("c_alloc.wasm")
    assert g.pages() == 3
    p = g.value("c_malloc", n)
    assert p % 16 == 0
    assert g.pages() == C_PAGES[n]
    g.write(p, b"\xa5" * n)
    g.call("c_free", p)
    assert g.value("c_malloc", n) == p
    assert g.read(p, n) == b"\xa5" * n
    assert g.pages() == C_PAGES[n]


@pytest.mark.parametrize("n", SIZES)
def test_c_block_freed_into_a_bin_comes_back_with_free_list_links(n: int) -> None:
    g = Guest("c_alloc.wasm")
    p = g.value("c_malloc", n)
    guard = g.value("c_malloc", 16)
    assert guard > p
    g.write(p, b"\xa5" * n)
    g.call("c_free", p)
    assert changed_offsets(g.read(p, n), 0xA5) == C_OVERWRITTEN[n]
    assert g.value("c_malloc", n) == p
    assert changed_offsets(g.read(p, n), 0xA5) == C_OVERWRITTEN[n]


def test_c_arena_bumps_8_aligned_and_returns_0_when_full() -> None:
    g = Guest("c_alloc.wasm")
    g.call("c_arena_reset")
    first = g.value("c_arena_alloc", 1)
    assert first != 0 and first % 8 == 0
    assert [g.value("c_arena_alloc", n) for n in (1, 8, 3, 0)] == [first + k for k in (8, 16, 24, 32)]
    assert g.value("c_arena_alloc", ARENA_SIZE) == 0
    assert g.value("c_arena_alloc", 0xFFFF_FFFF) == 0
    # a refused request leaves the arena as it was
    assert g.value("c_arena_alloc", 8) == first + 32
    g.call("c_arena_reset")
    assert g.value("c_arena_alloc", ARENA_SIZE - 8) == first
    assert g.value("c_arena_alloc", 8) == first + ARENA_SIZE - 8
    assert g.value("c_arena_alloc", 1) == 0
    assert g.value("c_arena_alloc", 0) == first + ARENA_SIZE  # empty, one past the end
    g.call("c_arena_reset")
    assert g.value("c_arena_alloc", ARENA_SIZE - 7) == first
    assert g.value("c_arena_alloc", 1) == 0  # aligning up leaves no room


def test_c_arena_reset_hands_out_the_same_bytes_uncleared() -> None:
    g = Guest("c_alloc.wasm")
    g.call("c_arena_reset")
    a = g.value("c_arena_alloc", 16)
    g.write(a, b"A" * 16)
    g.call("c_arena_reset")
    assert g.value("c_arena_alloc", 16) == a
    assert g.read(a, 16) == b"A" * 16


def test_c_arena_is_static_and_apart_from_the_malloc_heap() -> None:
    g = Guest("c_alloc.wasm")
    pages = g.pages()
    g.call("c_arena_reset")
    a = g.value("c_arena_alloc", ARENA_SIZE)
    p = g.value("c_malloc", 16)
    assert a + ARENA_SIZE <= p or p + 16 <= a
    assert a + ARENA_SIZE <= pages * PAGE
    assert g.pages() == pages
