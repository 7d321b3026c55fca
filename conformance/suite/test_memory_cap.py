"""memory.size, memory.grow and the last bytes at 65536 pages, the 4 GiB cap of a 32-bit memory.

A 32-bit memory holds at most 65536 pages: memory.size then answers 65536 (which
does not fit in 16 bits), the host sees 2**32 bytes (which does not fit in a u32),
memory.grow by 0 answers 65536 and by anything more -1, a grow that would cross
the cap is -1 and leaves memory as it was, and an access is in bounds up to
address 0xFFFFFFFF, while one whose bytes (or whose address plus static offset)
pass 2**32 traps rather than wrapping to address 0.

A 4 GiB memory is only a reservation on most engines (no page is committed until
written) but really allocated on others, so these properties run where the
capacity probe (``conformance/probes.py``) grew the runtime's memory to at least
65535 pages in this run, which it tries where growth proves virtual; never by a
table of runtime names. Elsewhere they are skipped with what the probe measured.
Where the probe reached 65536 pages, a grow to at most that many may not be
refused (the model believes a refusal for lack of resources only past what the
probe reached); where it reached 65535 (wasmer refuses the 65536th page), the
refusal is allowed, as the spec allows it, and recorded as the runtime's choice.
The guests are the ``paged-`` family (``conformance/model/paged.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from hypothesis import event, example, given
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
from conformance.model.memory import MAX_PAGES_32
from conformance.model.paged import ACCESSES, LOADS, STORES, Access, access_export, paged_name, paged_wat

CAP = MAX_PAGES_32
TOP = CAP * PAGE_SIZE
"""2**32: the size of a memory of 65536 pages, one past its last address"""
NEAR = 65535
"""the fewest pages the probe must have reached for these properties to run"""
i32 = Value.i32


def reached(runtime: WasmRuntime) -> int:
    """The pages the capacity probe grew ``runtime``'s memory to; skips unless at least :data:`NEAR`."""
    features = runtime.features
    pages = features.max_pages if features is not None else None
    if features is None or pages is None or features.cheap_pages < NEAR:
        tried = features.capacity_cap if features is not None else "?"
        growth = features.growth if features is not None else "not probed"
        pytest.skip(f"the capacity probe grew {runtime.id}'s memory to {pages} pages (it tried up to "
                    f"{tried} in the {runtime.profile} profile; growth {growth}): a memory at the "
                    "4 GiB cap is not known to be cheap here")
    return pages


BUDGET = {"quick": 5.0, "default": 20.0, "thorough": 120.0}
"""Seconds one property may spend on one runtime, per profile. Where a grow at the cap really
commits or copies 4 GiB (measured here, not assumed: wasmtime's moving memory copies the old
memory on every grow), the examples after the budget is spent are let go, and the report says so."""
_spent: dict[tuple[str, str], float] = {}


def run_within_budget(runtime: WasmRuntime, script: Script) -> None:
    """``check_script``, unless this property has spent :data:`BUDGET` on ``runtime`` already."""
    key = (runtime.id, runtime.current_test())
    spent = _spent.get(key, 0.0)
    if spent > BUDGET.get(runtime.profile, BUDGET["default"]):
        event("budget spent: example let go")
        runtime.note(f"scripts at the 4 GiB cap took {spent:.0f} s here: later examples let go")
        return
    began = time.monotonic()
    try:
        check_script(runtime, script)
    finally:
        _spent[key] = spent + time.monotonic() - began


def grow_op(delta: int, *, host: bool) -> Op:
    return Grow(delta) if host else Call("grow", (i32(delta),))


# --- memory.size and memory.grow at the cap ------------------------------------------------------

LIMITS: list[tuple[int, int | None]] = [
    (1, None), (0, None), (1, CAP), (0, CAP), (CAP - 1, None), (CAP - 1, CAP), (CAP, None), (CAP, CAP),
]
EXCESS = st.one_of(st.sampled_from([1, 2, 3, 7, 8, 15, 16, 255, 256, 65535, 65536]), st.integers(1, 2**20))
"""how far past the cap a grow that crosses it would take the memory, in pages"""


@dataclass(frozen=True)
class Route:
    """A memory of ``limits`` grown in steps to the cap: ``stops`` are the sizes it reaches in turn
    (by the host's grow where ``hosts`` says), each after a grow that would cross the cap by
    ``crossings`` pages (0: none)."""

    limits: tuple[int, int | None]
    stops: tuple[int, ...]
    hosts: tuple[bool, ...]
    crossings: tuple[int, ...]
    final_crossing: int

    @property
    def name(self) -> str:
        return paged_name(*self.limits)


@st.composite
def routes(draw: st.DrawFn, *, host_grow: bool) -> Route:
    limits = draw(st.sampled_from(LIMITS), label="limits")
    minimum = limits[0]
    near = [CAP - k for k in (1, 2, 3, 16)] + [CAP // 2, 1]
    drawn = draw(st.lists(st.sampled_from(near), max_size=3), label="stops")
    stops = sorted({s for s in drawn if s > minimum})
    if minimum < CAP:
        stops.append(CAP)
    n = len(stops)
    hosts = draw(st.lists(st.booleans() if host_grow else st.just(False), min_size=n, max_size=n),
                 label="host grows")
    crossings = draw(st.lists(st.one_of(st.just(0), EXCESS), min_size=n, max_size=n), label="crossings")
    return Route(limits, tuple(stops), tuple(hosts), tuple(crossings), draw(EXCESS, label="past the cap"))


LAST = TOP - 1


def sizes() -> list[Op]:
    return [Call("size"), Size()]


def route_ops(route: Route) -> list[Op]:
    ops: list[Op] = sizes()
    current = route.limits[0]
    if current:
        ops.append(Write(0, b"first"))
    for stop, host, crossing in zip(route.stops, route.hosts, route.crossings, strict=True):
        if crossing:
            # one that would cross the cap: -1 (or the host's error), and the memory as it was
            ops += [grow_op(CAP - current + crossing, host=host), *sizes()]
        ops += [grow_op(stop - current, host=host), *sizes()]
        if not current:
            ops.append(Write(0, b"first"))
        current = stop
    ops += [
        Call("grow", (i32(0),)), Call("grow", (i32(1),)), Call("grow", (i32(route.final_crossing),)),
        Grow(0), Grow(1), *sizes(),
        # the last byte, from both sides; the first bytes kept
        Call("i32.store8@0", (i32(LAST), i32(0xA5))), Call("i32.load8_u@0", (i32(LAST),)), Read(LAST - 3, 4),
        Write(LAST, b"\x5a"), Call("i32.load8_u@0", (i32(LAST),)), Read(0, 5), *sizes(),
    ]
    return ops


@given(route=routes(host_grow=True))
@example(route=Route((1, None), (CAP - 1, CAP), (False, False), (1, 2), 1))
@example(route=Route((CAP - 1, CAP), (CAP,), (False,), (1,), 65536))
@example(route=Route((1, CAP), (CAP,), (True,), (0,), 1))
@example(route=Route((CAP, None), (), (), (), 1))
def test_size_and_grow_at_the_cap(wasm_runtime: WasmRuntime, route: Route) -> None:
    """A memory grown to (or declared at) 65535 and 65536 pages: memory.size answers 65535 and 65536
    and the host sees exactly 65535 * 65536 and 2**32 bytes; memory.grow by 1 at 65535 answers
    65535, by 0 at 65536 answers 65536, and by 1 (or any delta that would cross the cap, from any
    size) -1, the memory unchanged; its last byte is addressable from both sides, its first bytes kept."""
    reach = reached(wasm_runtime)
    features = wasm_runtime.features
    if features is not None and not features.has("host_grow"):
        route = Route(route.limits, route.stops, tuple(False for _ in route.hosts), route.crossings,
                      route.final_crossing)
    name = route.name
    exports = ("i32.load8_u@0", "i32.store8@0")
    run_within_budget(wasm_runtime, Script.of(name, route_ops(route), wat=paged_wat(name, exports),
                                              note=f"the probe grew this runtime's memory to {reach} pages"))


# --- the last bytes of a 4 GiB memory -------------------------------------------------------------

SETUPS = ("declared", "declared-maximum", "grown", "grown-by-the-host")
EDGE = 24
"""the bytes below 2**32 the host fills (and the first bytes of memory, where a wrapping access lands)"""


@dataclass(frozen=True)
class TopAccess:
    access: Access
    offset: int
    ea: int
    """the effective address, not wrapped: up to 2**32 + 7"""
    value: int = 0

    @property
    def export(self) -> str:
        return access_export(self.access.name, self.offset)

    @property
    def traps(self) -> bool:
        return self.ea + self.access.width > TOP

    @property
    def call(self) -> Call:
        addr = i32(self.ea - self.offset)
        if self.access.store:
            bits = Value.i64(self.value) if self.access.int_type == "i64" else i32(self.value)
            return Call(self.export, (addr, bits))
        return Call(self.export, (addr,))


@st.composite
def top_accesses(draw: st.DrawFn) -> TopAccess:
    access = draw(st.sampled_from(LOADS + STORES), label="instruction")
    width = access.width
    ea = draw(st.one_of(st.sampled_from([TOP - width, TOP - width + 1, TOP - 1, TOP]),
                        st.integers(TOP - width - 8, TOP + 7)), label="effective address")
    offsets = [0, 1, 7, PAGE_SIZE, 2**31, TOP - 1, TOP - width, TOP - width + 1]
    offset = draw(st.one_of(st.sampled_from(offsets), st.integers(0, TOP - 1)), label="offset")
    offset = min(max(offset, ea - (TOP - 1)), ea, TOP - 1)  # an offset and the address before it are u32
    value = draw(st.integers(0, (1 << (8 * width)) - 1), label="value") if access.store else 0
    if access.type[0] == "f":
        value |= 1 << (22 if access.type == "f32" else 51)  # never a signalling NaN (test_endianness.py's)
    return TopAccess(access, offset, ea, value)


def setup_ops(setup: str, seed: int) -> list[Op]:
    grow: list[Op] = []
    if setup == "grown":
        grow = [Call("grow", (i32(CAP - 1),))]
    elif setup == "grown-by-the-host":
        grow = [Grow(CAP - 1)]
    top = bytes((seed + 29 * i) % 255 + 1 for i in range(EDGE))
    low = bytes((seed + 31 * i + 128) % 255 + 1 for i in range(16))
    return [*grow, Write(TOP - EDGE, top), Write(0, low)]


def top_name(setup: str) -> str:
    if setup == "declared":
        return paged_name(CAP)
    if setup == "declared-maximum":
        return paged_name(CAP, CAP)
    return paged_name(1)


def _top(*accesses: tuple[str, int, int] | tuple[str, int, int, int]) -> list[TopAccess]:
    return [TopAccess(ACCESSES[a[0]], a[1], a[2], *a[3:]) for a in accesses]


@given(setup=st.sampled_from(SETUPS), accesses=st.lists(top_accesses(), min_size=1, max_size=8),
       seed=st.integers(0, 254))
@example(setup="grown", seed=0, accesses=_top(
    ("i64.load", 0, TOP - 8), ("i64.load", 0, TOP - 7), ("i32.load", 4, TOP - 2),
    ("i32.store16", 0, TOP - 2, 0xBEEF), ("i64.store", 8, TOP - 4, 2**64 - 1),
    ("f64.load", TOP - 1, TOP - 1)))
@example(setup="declared", seed=9, accesses=_top(
    ("i32.load8_u", TOP - 1, TOP - 1), ("i64.load32_s", 1, TOP - 4),
    ("f32.store", TOP - 4, TOP - 4, 0x7FC0_0001), ("i32.load", TOP - 1, TOP)))
def test_last_bytes_of_a_4gib_memory(wasm_runtime: WasmRuntime, setup: str, accesses: list[TopAccess],
                                     seed: int) -> None:
    """In a memory of 65536 pages (declared, or grown by the guest or the host) every load and store
    whose bytes end at or below 2**32 reaches them (little-endian, the neighbours untouched), and
    one whose bytes pass 2**32, by its address or by a static offset that carries the effective
    address past it, traps and writes nothing: it does not wrap onto address 0."""
    reach = reached(wasm_runtime)
    features = wasm_runtime.features
    if setup == "grown-by-the-host" and features is not None and not features.has("host_grow"):
        setup = "grown"
    name = top_name(setup)
    ops: list[Op] = setup_ops(setup, seed)
    for access in accesses:  # one instance: after a trap the instance keeps working (the core spec)
        ops.append(access.call)
        if access.access.store or access.traps:
            ops += [Read(TOP - EDGE, EDGE), Read(0, 16)]
    exports = tuple(sorted({a.export for a in accesses}))
    note = f"{setup}; the probe grew this runtime's memory to {reach} pages"
    run_within_budget(wasm_runtime, Script.of(name, ops, wat=paged_wat(name, exports), note=note))
