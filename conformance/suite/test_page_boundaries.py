"""Accesses whose bytes straddle an internal 64 KiB page boundary of a multi-page memory.

An engine or a host binding that keeps memory in 64 KiB pieces, or copies it in
64 KiB chunks, or computes a page once from an access's first byte, is right for
every access inside one page and wrong only where an access crosses from page k-1
into page k. End-of-memory properties (test_address_wrap.py) never cross an
internal boundary; these do, on memories of 2 to 4 pages:

- the guest loads and stores with every instruction (each width, the narrow loads
  signed and unsigned, the narrow stores, floats as their bits) starting 1 to
  width - 1 bytes before ``k * 65536`` for every internal k, with static offsets
  that move the address across the boundary (or across whole pages);
- the host reads and writes (its copying API and a kept view) spans that cross
  one boundary or, a page long or more, two.

The memory holds a known pattern around every boundary (a byte differs from its
neighbours and from the byte at the same place in any other page), so bytes read
from the wrong page, dropped or repeated show. The guest is the ``paged-`` family
(``conformance/model/paged.py``): one export per instruction and offset, the
module generated per example with only the exports it calls, and the model
checks every value and every byte, neighbours included.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from hypothesis import event, example, given
from hypothesis import strategies as st

from conformance import (
    PAGE_SIZE,
    Call,
    Op,
    Read,
    Script,
    Value,
    View,
    ViewRead,
    ViewWrite,
    WasmRuntime,
    Write,
    check_script,
)
from conformance.model.paged import ACCESSES, LOADS, STORES, Access, access_export, paged_name, paged_wat
from conformance.strategies import boundary_spans, straddling_addresses

AROUND = 16
"""bytes the host fills on each side of every page boundary (and at the start and end of memory)"""
OFFSETS = (0, 1, 2, 3, 4, 7, 8, 255, 4095, 4096, 65535, 65536, 65537, 131072)
"""static offsets: small ones move the address across the boundary, page-sized ones across pages"""


def pattern_byte(addr: int, seed: int) -> int:
    """The byte the host puts at ``addr``: never 0, different from its neighbours' and from the
    byte at the same place in every other page of a memory of up to 4 pages."""
    return (addr // PAGE_SIZE * 37 + addr % PAGE_SIZE * 11 + seed) % 255 + 1


def pattern(addr: int, length: int, seed: int) -> bytes:
    """``pattern_byte`` of each address of ``[addr, addr + length)`` (page by page, a period at a time)."""
    out = bytearray()
    while length > 0:
        take = min(length, PAGE_SIZE - addr % PAGE_SIZE)
        period = _period(pattern_byte(addr, seed) - 1)
        out += period * (take // len(period)) + period[:take % len(period)]
        addr, length = addr + take, length - take
    return bytes(out)


@cache
def _period(start: int) -> bytes:
    """255 bytes of the pattern within a page, from the one that is ``start + 1``."""
    return bytes((start + 11 * i) % 255 + 1 for i in range(255))


def filled_spans(pages: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` on each side of every page boundary, memory's start and end included.

    Each span is within one page: the guest's properties set memory up and read it back without
    a host access that crosses a boundary (the host's own are test_host_accesses_...'s).
    """
    spans = []
    for k in range(pages + 1):
        if k:
            spans.append((k * PAGE_SIZE - AROUND, k * PAGE_SIZE))
        if k < pages:
            spans.append((k * PAGE_SIZE, k * PAGE_SIZE + AROUND))
    return spans


def fill(pages: int, seed: int) -> list[Op]:
    return [Write(lo, pattern(lo, hi - lo, seed)) for lo, hi in filled_spans(pages)]


def read_back(pages: int) -> list[Op]:
    return [Read(lo, hi - lo) for lo, hi in filled_spans(pages)]


def around(ea: int) -> list[Op]:
    """Reads of the filled spans on both sides of the boundary nearest ``ea``."""
    boundary = round(ea / PAGE_SIZE) * PAGE_SIZE
    return [Read(boundary - AROUND, AROUND), Read(boundary, AROUND)]


@dataclass(frozen=True)
class GuestAccess:
    """One call of ``OP@OFFSET`` whose effective address is ``ea``."""

    access: Access
    offset: int
    ea: int
    value: int = 0
    """a store's value bits"""

    @property
    def export(self) -> str:
        return access_export(self.access.name, self.offset)

    @property
    def call(self) -> Call:
        addr = Value.i32(self.ea - self.offset)
        if self.access.store:
            bits = Value.i64(self.value) if self.access.int_type == "i64" else Value.i32(self.value)
            return Call(self.export, (addr, bits))
        return Call(self.export, (addr,))

    def where(self) -> str:
        before = -self.ea % PAGE_SIZE
        if 0 < before < self.access.width:
            return f"{self.access.width}-byte access, {before} byte(s) before the boundary"
        return "ends on the boundary" if before == self.access.width else "starts on the boundary"


@dataclass(frozen=True)
class Layout:
    """The memory: its pages, the alignment hints of its accesses, the pattern's seed."""

    pages: int
    natural: bool
    seed: int

    @property
    def size(self) -> int:
        return self.pages * PAGE_SIZE

    @property
    def name(self) -> str:
        return paged_name(self.pages, natural=self.natural)

    def script(self, ops: list[Op], accesses: list[GuestAccess], note: str) -> Script:
        exports = tuple(sorted({a.export for a in accesses}))
        return Script.of(self.name, [*fill(self.pages, self.seed), *ops], note=note,
                         wat=paged_wat(self.name, exports))


# --- strategies ------------------------------------------------------------------------------

layouts = st.builds(Layout, pages=st.sampled_from([2, 3, 4]), natural=st.booleans(), seed=st.integers(0, 254))


_OFFSET_KINDS = st.one_of(st.tuples(st.just("menu"), st.sampled_from(OFFSETS)),
                         st.tuples(st.just("small"), st.integers(0, 64)),
                         st.tuples(st.just("any"), st.integers(0, 4 * PAGE_SIZE)))


def offset_below(kind: tuple[str, int], ea: int) -> int:
    """A static offset no larger than ``ea`` (the address before it is then ``ea - offset``): one of
    :data:`OFFSETS`, a small one, or any; shrinks towards 0."""
    what, n = kind
    if what == "any":
        return n % (ea + 1)
    return n if n <= ea else 0


@cache
def value_bits(access: Access) -> st.SearchStrategy[int]:
    """A store's value: any bits, the edges of each byte often (no signalling NaN for a float store:
    whether one survives is test_endianness.py's)."""
    bits = 64 if access.int_type == "i64" else 32
    anything = st.one_of(st.integers(0, (1 << bits) - 1),
                         st.sampled_from([0, (1 << bits) - 1, 0x8080_8080_8080_8080 & ((1 << bits) - 1),
                                          0x0102_0304_0506_0708 & ((1 << bits) - 1)]))
    if access.type[0] != "f":
        return anything
    frac = 23 if access.type == "f32" else 52
    exponent = ((1 << bits) - 1) >> 1 >> frac << frac
    quiet = 1 << (frac - 1)
    return anything.map(lambda b: b | quiet if b & exponent == exponent and b & ((1 << frac) - 1) else b)


@cache
def guest_accesses(size: int, kinds: tuple[Access, ...]) -> st.SearchStrategy[GuestAccess]:
    """One load or store of ``kinds`` across an internal page boundary of a memory of ``size`` bytes
    (strategies made once per memory size and kind: Hypothesis then reuses them)."""

    @st.composite
    def accesses(draw: st.DrawFn) -> GuestAccess:
        access = draw(st.sampled_from(kinds), label="instruction")
        ea = draw(straddling_addresses(access.width, size), label="effective address")
        offset = offset_below(draw(_OFFSET_KINDS, label="offset"), ea)
        value = draw(value_bits(access), label="value") if access.store else 0
        return GuestAccess(access, offset, ea, value)

    return accesses()


@st.composite
def load_cases(draw: st.DrawFn) -> tuple[Layout, list[GuestAccess]]:
    layout = draw(layouts, label="layout")
    return layout, draw(st.lists(guest_accesses(layout.size, LOADS), min_size=1, max_size=16), label="loads")


@st.composite
def store_cases(draw: st.DrawFn) -> tuple[Layout, list[GuestAccess]]:
    layout = draw(layouts, label="layout")
    stores = st.lists(guest_accesses(layout.size, STORES), min_size=1, max_size=10)
    return layout, draw(stores, label="stores")


# --- the guest's accesses ------------------------------------------------------------------------


def _case(pages: int, *accesses: tuple[str, int, int] | tuple[str, int, int, int], natural: bool = False,
          seed: int = 0) -> tuple[Layout, list[GuestAccess]]:
    """An explicit example: (instruction, offset, effective address[, value])."""
    made = [GuestAccess(ACCESSES[a[0]], a[1], a[2], *a[3:]) for a in accesses]
    if not all(a.offset <= a.ea and a.ea + a.access.width <= pages * PAGE_SIZE for a in made):
        raise ValueError(f"an access of {accesses} is not inside a memory of {pages} pages")
    return Layout(pages, natural, seed), made


P = PAGE_SIZE


@given(case=load_cases())
# (seed 151 puts a signalling NaN's bytes across the first boundary: its bits must load unchanged)
@example(case=_case(2, ("f64.load", 0, P - 1), ("f64.load", 8, P - 1), seed=151))
@example(case=_case(3, ("i32.load", 0, P - 2), ("i64.load", 0, P - 1), ("i64.load", 3, P - 7),
                    ("f64.load", 65536, 2 * P - 4), ("i32.load16_s", 0, P - 1), ("i64.load32_u", 1, P - 3)))
@example(case=_case(4, ("i64.load", 0, 3 * P - 5), ("i32.load8_s", 7, 2 * P - 1),
                    ("f32.load", 131072, 3 * P - 1), ("i64.load16_u", 65535, 2 * P - 1),
                    ("i64.load8_u", 0, 3 * P), ("i64.load32_s", 4, P - 2),
                    natural=True))
def test_guest_loads_straddling_a_page_boundary(wasm_runtime: WasmRuntime,
                                                case: tuple[Layout, list[GuestAccess]]) -> None:
    """Every load instruction that starts 1 to width - 1 bytes before an internal page boundary,
    whatever static offset brought it there, loads the little-endian bytes on both sides of the
    boundary, extended as the instruction says (not bytes of another page, not zeros)."""
    layout, loads = case
    for load in loads:
        event(load.where())
    ops: list[Op] = [load.call for load in loads]
    check_script(wasm_runtime, layout.script(ops, loads, note="loads across internal page boundaries"))


@given(case=store_cases())
@example(case=_case(3, ("i64.store", 0, P - 3, 0x1122_3344_5566_7788), ("i32.store", 1, P - 1, 0xA1B2_C3D4),
                    ("f64.store", 65536, 2 * P - 7, 0x3FF0_0000_0000_0001), ("i32.store16", 0, P - 1, 0xBEEF),
                    ("i64.store32", 8, P - 2, 0xCAFE_F00D)))
@example(case=_case(4, ("f32.store", 3, 2 * P - 2, 0x4049_0FDB), ("i64.store16", 0, P - 1, 0x7F80),
                    ("i64.store", 131072, 3 * P - 4, 2**64 - 1), seed=7, natural=True))
def test_guest_stores_straddling_a_page_boundary(wasm_runtime: WasmRuntime,
                                                 case: tuple[Layout, list[GuestAccess]]) -> None:
    """Every store instruction across an internal page boundary writes all its bytes, little-endian,
    on both sides of it, and nothing else: the bytes around the boundary, and at the same place in
    the other pages, are as they were."""
    layout, stores = case
    ops: list[Op] = []
    for store in stores:
        event(store.where())
        ops += [store.call, *around(store.ea)]
    ops += read_back(layout.pages)
    check_script(wasm_runtime, layout.script(ops, stores, note="stores across internal page boundaries"))


# --- the host's accesses ------------------------------------------------------------------------------


HostStep = tuple[str, int, int]
"""(kind, addr, length): a host write, read, view write or view read of a span"""


@cache
def host_steps(size: int) -> st.SearchStrategy[list[HostStep]]:
    kinds = st.sampled_from(["write", "read", "view_write", "view_read"])
    spans = boundary_spans(size, max_len=48)
    return st.lists(st.tuples(kinds, spans).map(lambda ks: (ks[0], *ks[1])), min_size=1, max_size=8)


@st.composite
def host_cases(draw: st.DrawFn) -> tuple[Layout, list[HostStep], int]:
    layout = draw(layouts, label="layout")
    steps = draw(host_steps(layout.size), label="host steps")
    data_seed = draw(st.integers(0, 254), label="data seed")
    return layout, steps, data_seed


LOAD_BACK = ("i64.load", "i32.load", "i32.load16_u", "i64.load32_u")


@given(case=host_cases())
@example(case=(Layout(2, False, 0), [("write", P - 1, 2), ("read", P - 3, 8), ("view_write", P - 5, 9),
                                     ("view_read", P - 8, 16)], 3))
@example(case=(Layout(4, False, 9), [("write", P - 2, P + 4), ("read", 1, 2 * P), ("view_read", P, P + 1),
                                     ("view_write", 2 * P - 1, P + 2)], 0))
def test_host_accesses_straddling_a_page_boundary(wasm_runtime: WasmRuntime,
                                                  case: tuple[Layout, list[HostStep], int]) -> None:
    """The host writes and reads spans across internal page boundaries (short ones, and a page long
    or more across two), with its copying API and through a view: every byte lands where it was
    written, each once, none dropped or repeated where a copy in 64 KiB chunks would split the span;
    what the host wrote across a boundary, the guest loads there, and what it reads is memory."""
    layout, steps, data_seed = case
    ops: list[Op] = [View("v")]
    loads: list[GuestAccess] = []
    for n, (kind, addr, length) in enumerate(steps):
        event(f"host {kind} of {'a page or more' if length >= PAGE_SIZE else 'a short span'}")
        data = pattern(addr, length, (data_seed + 101 * (n + 1)) % 255)
        if kind == "write":
            ops.append(Write(addr, data))
        elif kind == "view_write":
            ops.append(ViewWrite("v", addr, data))
        elif kind == "read":
            ops.append(Read(addr, length))
        else:
            ops.append(ViewRead("v", addr, length))
        if kind.endswith("write"):
            # the guest loads across each boundary the span crossed, and the host reads around it
            for boundary in range(PAGE_SIZE, layout.size, PAGE_SIZE):
                if addr < boundary < addr + length:
                    access = ACCESSES[LOAD_BACK[(n + boundary // PAGE_SIZE) % len(LOAD_BACK)]]
                    load = GuestAccess(access, 0, boundary - max(1, access.width // 2))
                    loads.append(load)
                    ops += [load.call, *around(boundary)]
    ops += read_back(layout.pages)
    note = "host accesses across internal page boundaries"
    check_script(wasm_runtime, layout.script(ops, loads, note=note))
