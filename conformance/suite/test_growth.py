"""Growth at the edges: grow sequences, views held across a grow, the 4 GiB cap, memory64.

The guests are memories of any declared limits (``mem32-1-4``: 1 page, at most
4; see ``conformance/model/limits.py``), generated from their names. The model
fixes what each grow returns (the old size in pages, or -1 past the limit), what
the host and the guest see as the size, that old bytes stay and new pages are
zero; it lets a runtime refuse a grow within the limit (for lack of resources)
and records that it did.

Growing a memory really allocates on some runtimes, so outside the thorough
profile a memory without a maximum grows to at most :data:`SMALL_PAGES`; the
grows that reach 4 GiB are ``wasm_thorough``. ``test_memory_cap.py`` checks the
cap itself (sizes and grows at 65535 and 65536 pages, the last bytes of 4 GiB) in
every profile, wherever the capacity probe found a memory that large cheap.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from conformance import (
    PAGE_SIZE,
    Call,
    Grow,
    Op,
    Outcome,
    Read,
    Script,
    Size,
    Value,
    View,
    ViewLength,
    ViewRead,
    ViewWrite,
    WasmRuntime,
    Write,
    check_script,
)
from conformance.model.limits import limits_name, limits_wat
from conformance.model.memory import MAX_PAGES_32

SMALL_PAGES = 64
"""Outside the thorough profile, the most pages a successful grow may reach."""
LIMITS: list[tuple[int, int | None]] = [
    (1, 1), (2, 2),                  # minimum equal to maximum (maximum 0 has its own property)
    (0, None), (1, None),            # no maximum: the 4 GiB cap is the limit
    (1, 3), (0, 4), (3, 8), (1, 16),
    (1, MAX_PAGES_32),               # the largest maximum a 32-bit memory may declare
]


def script(name: str, ops: list[Op]) -> Script:
    return Script.of(name, ops, wat=limits_wat(name))


class GrowMachine(RuleBasedStateMachine):
    """Guest memory.grow and host grows interleaved with writes, reads and size queries.

    The steps only collect operations; the whole sequence runs as one script at
    the end and the model checks it operation by operation (every script starts
    from a fresh instance, so running each prefix would only repeat work).
    """

    runtime: WasmRuntime
    address64 = False

    @initialize(limits=st.sampled_from(LIMITS))
    def declare(self, limits: tuple[int, int | None]) -> None:
        self._declare(limits)

    def _declare(self, limits: tuple[int, int | None]) -> None:
        self.minimum, self.maximum = limits
        self.name = limits_name(self.minimum, self.maximum, address64=self.address64)
        self.ops: list[Op] = []
        self.pages = self.minimum  # the size if every grow the limit allows succeeds
        self.written: dict[int, int] = {}  # address -> length of host writes, re-read at the end

    # -- what the model expects, to aim the draws at the edges --------------------

    @property
    def cap(self) -> int:
        return 1 << 48 if self.address64 else MAX_PAGES_32

    @property
    def limit(self) -> int:
        return self.cap if self.maximum is None else min(self.maximum, self.cap)

    @property
    def reachable(self) -> int:
        """The most pages a successful grow may reach in this profile."""
        return self.limit if self.runtime.profile == "thorough" else min(self.limit, SMALL_PAGES)

    def deltas(self) -> st.SearchStrategy[int]:
        room = self.limit - self.pages
        # 1: the commonest grow of all (a runtime that mishandles exactly that is found by it)
        edges = [0, 1, room, room + 1, self.cap - self.pages + 1, 2**31 - 1 - self.pages]
        if self.address64:
            edges += [2**32, 2**32 + 1, 2**48]  # past any resources, but within the type's range
        else:  # deltas of 2**31 and more are test_grow_by_a_huge_delta_fails's
            edges = [d for d in edges if d < 2**31]
        fits = self.reachable - self.pages
        return st.one_of(
            st.sampled_from([d for d in edges if d >= 0]),
            st.integers(0, max(0, min(fits, 3))),
            st.integers(0, 2 * max(fits, 1)),
        ).map(lambda d: d if d <= fits or d > room else fits)  # a successful grow stays reachable

    def value(self, n: int) -> Value:
        return Value.i64(n) if self.address64 else Value.i32(n)

    def grew(self, delta: int) -> list[Op]:
        """Count a grow the model will let succeed, and the host's look at the pages it added: their
        first and last bytes, zero however they came (a grow that leaves the memory it took from
        the system, or the bytes of a buffer it moved, dirty shows at those edges); nothing for a
        grow that may be refused (a read past the end has its own properties)."""
        if self.pages + delta > self.limit:
            return []
        old, self.pages = self.pages, self.pages + delta
        if not delta or self.pages > self.reachable:
            return []
        return [Read(old * PAGE_SIZE, 8), Read(self.pages * PAGE_SIZE - 8, 8)]

    def edge_addresses(self, length: int, *, inside: bool = False) -> st.SearchStrategy[int]:
        """Flush with the end, across it, at it; the first byte of the newest page; 0.

        ``inside``: only spans within memory (host accesses past the end have properties
        of their own in test_bytes.py, where each binding's habit there is a known divergence).
        """
        size = self.pages * PAGE_SIZE
        starts = [size - length, size - length + 1, size, 0, size - PAGE_SIZE]
        ok = [a for a in starts if a >= 0 and (not inside or a + length <= size)]
        return st.sampled_from(ok) if ok else st.nothing()

    # -- steps ------------------------------------------------------------------------

    @rule(data=st.data())
    def guest_grow(self, data: st.DataObject) -> None:
        delta = data.draw(self.deltas(), label="guest memory.grow by")
        self.ops += [Call("grow", (self.value(delta),)), Call("size"), Size()]
        self.ops += self.grew(delta)

    @rule(data=st.data())
    def host_grow(self, data: st.DataObject) -> None:
        features = self.runtime.features
        if features is not None and not features.has("host_grow"):
            return  # the model accepts "unsupported", but the sizes drawn later would be off
        delta = data.draw(self.deltas(), label="host grow by")
        self.ops += [Grow(delta), Size(), Call("size")]
        self.ops += self.grew(delta)

    @rule(data=st.data(), payload=st.binary(min_size=1, max_size=8))
    def host_write_at_the_edge(self, data: st.DataObject, payload: bytes) -> None:
        if self.pages == 0:
            return
        addr = data.draw(self.edge_addresses(len(payload), inside=True), label="host write at")
        self.ops.append(Write(addr, payload))
        self.written[addr] = len(payload)

    @rule(data=st.data(), byte=st.integers(0, 255))
    def guest_store_at_the_edge(self, data: st.DataObject, byte: int) -> None:
        addr = data.draw(self.edge_addresses(1, inside=True), label="guest store at")
        self.ops += [Call("store_u8", (self.value(addr), Value.i32(byte))),
                     Call("load_u8", (self.value(addr),))]

    @rule(data=st.data())
    def look_at_the_edge(self, data: st.DataObject) -> None:
        """The last bytes of memory and the first of the newest page: zero unless written."""
        size = self.pages * PAGE_SIZE
        if size < 8:
            return
        addr = data.draw(self.edge_addresses(8, inside=True), label="look at")
        self.ops += [Read(max(0, size - 16), min(16, size)), Call("load_i64", (self.value(addr),))]

    def teardown(self) -> None:
        if not hasattr(self, "ops") or not self.ops:
            return
        old_bytes = [Read(addr, length) for addr, length in sorted(self.written.items())]
        # Only now one access past the end: a trap (which may poison an instance, an allowed
        # choice) would leave later grows undone and the sizes drawn above off.
        end = self.pages * PAGE_SIZE
        past = [Call("load_u8", (self.value(end),)), Call("load_i64", (self.value(max(0, end - 7)),))]
        check_script(self.runtime, script(self.name, [*self.ops, Size(), *old_bytes, *past]))


def _run_machine(runtime: WasmRuntime, machine: type[GrowMachine]) -> None:
    class Machine(machine):  # type: ignore[valid-type,misc]
        pass

    Machine.runtime = runtime
    # At least STATEFUL_FLOOR runs of the machine: a run is a dozen rules, and a rule that finds a
    # bug (a host grow that adds dirty pages, say) must come up with its right arguments; with the
    # quick profile's 20 runs, random seeds missed such faults about one time in four
    run_state_machine_as_test(Machine, settings=settings(
        stateful_step_count=12, max_examples=max(settings().max_examples, STATEFUL_FLOOR)))


STATEFUL_FLOOR = 50


def test_grow_sequences_agree_with_the_model(wasm_runtime: WasmRuntime) -> None:
    """Every grow returns the old size or -1; guest and host agree on the size; old bytes stay;
    new pages are zero; limits of every shape (no maximum, maximum 0, minimum = maximum)."""
    _run_machine(wasm_runtime, GrowMachine)


class Grow64Machine(GrowMachine):
    address64 = True

    @initialize(limits=st.sampled_from([(1, 1), (0, None), (1, None), (1, 4), (2, MAX_PAGES_32 + 1)]))
    def declare(self, limits: tuple[int, int | None]) -> None:
        self._declare(limits)


@pytest.mark.wasm_feature("memory64")
def test_memory64_grow_sequences_agree_with_the_model(wasm_runtime: WasmRuntime) -> None:
    """The same on a memory64 memory: i64 sizes, deltas and addresses, -1 as an i64."""
    _run_machine(wasm_runtime, Grow64Machine)


@given(delta=st.one_of(st.just(1), st.integers(1, 2**31 - 1)), host=st.booleans())
def test_a_maximum_of_zero_pages_is_a_maximum(wasm_runtime: WasmRuntime, delta: int, host: bool) -> None:
    """(memory 0 0) never grows: every grow but of 0 pages is -1 (a runtime reading a maximum of 0
    as no maximum would grow it)."""
    grow: Op = Grow(delta) if host else Call("grow", (Value.i32(delta),))
    check_script(wasm_runtime, script("mem32-0-0", [grow, Call("size"), Size(), Call("grow", (Value.i32(0),)),
                                                   Call("load_u8", (Value.i32(0),))]))


# --- huge deltas -----------------------------------------------------------------------

HUGE = st.one_of(st.sampled_from([2**31, 2**31 + 1, 2**32 - 1, 2**32 - 2]), st.integers(2**31, 2**32 - 1))


@given(limits=st.sampled_from([(1, None), (0, 0), (1, 3), (1, MAX_PAGES_32)]), delta=HUGE,
       host=st.booleans())
def test_grow_by_a_huge_delta_fails(wasm_runtime: WasmRuntime, limits: tuple[int, int | None],
                                    delta: int, host: bool) -> None:
    """A delta of 2**31 or more is unsigned: four billion pages is past any limit (-1, or the host
    API's error), never a shrink, and the memory keeps its size and bytes."""
    name = limits_name(*limits)
    filled = [Write(0, b"kept")] if limits[0] else []
    grow: Op = Grow(delta) if host else Call("grow", (Value.i32(delta),))
    check_script(wasm_runtime, script(name, [*filled, grow, Call("size"), Size(),
                                             *([Read(0, 4)] if limits[0] else [])]))


@given(delta=st.one_of(st.sampled_from([MAX_PAGES_32, 2**32, 2**32 + 1, 2**33, 2**48, 2**63]),
                       st.integers(MAX_PAGES_32, 2**64 - 1)))
def test_host_grow_past_the_cap_fails(wasm_runtime: WasmRuntime, delta: int) -> None:
    """A host grow whose delta takes a 32-bit memory past 65536 pages fails, for any delta the
    host API takes (one that truncates 2**32 + 1 to 1 would grow instead)."""
    check_script(wasm_runtime, script("mem32-1-none", [
        Write(PAGE_SIZE - 4, b"kept"), Grow(delta), Size(), Call("size"), Read(PAGE_SIZE - 4, 4)]))


# --- the 4 GiB cap -------------------------------------------------------------------------

VALID_AT_THE_CAP = [(0, MAX_PAGES_32), (1, MAX_PAGES_32), (MAX_PAGES_32 - 1, None), (MAX_PAGES_32, None),
                    (MAX_PAGES_32, MAX_PAGES_32)]
INVALID = [(MAX_PAGES_32 + 1, None), (0, MAX_PAGES_32 + 1), (1, MAX_PAGES_32 + 1),
           (MAX_PAGES_32 + 1, MAX_PAGES_32 + 1), (2, 1), (1, 0), (0, 2**32), (2**32, None)]


@pytest.mark.parametrize("limits", [lim for lim in VALID_AT_THE_CAP if lim[0] <= SMALL_PAGES] + INVALID,
                         ids=lambda lim: limits_name(*lim))
def test_declared_limits_at_the_cap(wasm_runtime: WasmRuntime, limits: tuple[int, int | None]) -> None:
    """A minimum or maximum of 65536 pages is valid; 65537, or a minimum above the maximum, is
    invalid and the module must not instantiate."""
    name = limits_name(*limits)
    check_script(wasm_runtime, script(name, [Size(), Call("size")]))


@pytest.mark.wasm_thorough
@pytest.mark.parametrize("limits", [lim for lim in VALID_AT_THE_CAP if lim[0] > SMALL_PAGES],
                         ids=lambda lim: limits_name(*lim))
def test_declared_minimum_at_the_cap_instantiates(wasm_runtime: WasmRuntime,
                                                  limits: tuple[int, int | None]) -> None:
    """A memory that starts at (nearly) 4 GiB: its last byte is addressable, one more grow is -1
    (the runtime may refuse to instantiate for lack of resources: recorded)."""
    size = limits[0] * PAGE_SIZE
    check_script(wasm_runtime, script(limits_name(*limits), [
        Size(), Call("size"), Call("store_u8", (Value.i32(size - 1), Value.i32(7))),
        Call("load_u8", (Value.i32(size - 1),)), Read(size - 2, 2),
        Call("grow", (Value.i32(MAX_PAGES_32 - limits[0] + 1),)), Call("grow", (Value.i32(0),))]))


@pytest.mark.wasm_thorough
def test_grow_to_4_gib(wasm_runtime: WasmRuntime) -> None:
    """A memory without a maximum grows to exactly 65536 pages (or is refused, recorded), its last
    byte is addressable from both sides, and one page more is -1."""
    last = MAX_PAGES_32 * PAGE_SIZE - 1
    grow: list[Op] = [Write(0, b"first"), Call("grow", (Value.i32(MAX_PAGES_32 - 1),)), Size(), Call("size")]
    if _refused(check_script(wasm_runtime, script("mem32-1-none", grow))[2]):
        return  # allowed, and recorded as this runtime's choice; the rest needs the memory
    check_script(wasm_runtime, script("mem32-1-none", [
        *grow, Call("store_u8", (Value.i32(last), Value.i32(0xA5))), Read(last - 3, 4),
        Write(last, b"\x5a"), Call("load_u8", (Value.i32(last),)),
        Call("grow", (Value.i32(1),)), Grow(1), Read(0, 5)]))


def _refused(outcome: Outcome) -> bool:
    """A memory.grow that answered -1."""
    return outcome.kind == "ok" and outcome.value[0].signed == -1


# --- memory64 --------------------------------------------------------------------------------


@pytest.mark.wasm_feature("memory64")
@given(addr=st.one_of(
    st.sampled_from([2**32, 2**32 + 1, 2**32 + PAGE_SIZE - 1, 2**33, 2**63, 2**64 - 1, 2**64 - 8]),
    st.integers(2**32, 2**64 - 1),
    st.integers(PAGE_SIZE - 8, PAGE_SIZE + 8),
))
def test_memory64_addresses_are_not_truncated(wasm_runtime: WasmRuntime, addr: int) -> None:
    """An i64 address is used whole: 2**32 + a is past a 1-page memory64 and traps, where a runtime
    that cut it to 32 bits would reach byte a."""
    low = addr & 0xFFFF_FFFF
    marker = [Write(low, b"\x2a")] if low < PAGE_SIZE else []
    check_script(wasm_runtime, script("mem64-1-none", [
        *marker, Call("load_u8", (Value.i64(addr),)), Call("store_u8", (Value.i64(addr), Value.i32(9))),
        Call("load_i64", (Value.i64(addr),)), Read(0, 16), Read(PAGE_SIZE - 16, 16)]))


@pytest.mark.wasm_feature("memory64")
@pytest.mark.wasm_thorough
def test_memory64_grows_past_4_gib(wasm_runtime: WasmRuntime) -> None:
    """memory64 grows past 65536 pages, and addresses beyond 4 GiB reach their own bytes."""
    beyond = MAX_PAGES_32 * PAGE_SIZE + 8
    grow: list[Op] = [Write(8, b"\x11"), Call("grow", (Value.i64(MAX_PAGES_32),)), Call("size"), Size()]
    if _refused(check_script(wasm_runtime, script("mem64-1-none", grow))[2]):
        return
    check_script(wasm_runtime, script("mem64-1-none", [
        *grow, Call("store_u8", (Value.i64(beyond), Value.i32(0x22))), Call("load_u8", (Value.i64(beyond),)),
        Call("load_u8", (Value.i64(8),)), Call("load_i64", (Value.i64(beyond - 8),))]))


# --- views across a grow -------------------------------------------------------------------------

GROWS: dict[str, Op] = {
    # how the memory grows (or fails to: its maximum is 2 pages) while the host holds a view
    "guest": Call("grow", (Value.i32(1),)),
    "host": Grow(1),
    "guest-0": Call("grow", (Value.i32(0),)),
    "host-0": Grow(0),
    "guest-failed": Call("grow", (Value.i32(3),)),
    "host-failed": Grow(3),
}


@given(how=st.sampled_from(sorted(GROWS)), pattern=st.binary(min_size=1, max_size=16),
       addr=st.integers(0, PAGE_SIZE - 16), byte=st.integers(0, 255))
def test_views_across_a_grow(wasm_runtime: WasmRuntime, how: str, pattern: bytes, addr: int,
                             byte: int) -> None:
    """A host view taken before a grow (by the guest, by the host, of 0 pages, or one that fails),
    then read and written: it is detached, or it still shows live memory. Never stale bytes after
    the guest changed them, never a lost write, never a crash. A view taken after sees it all."""
    second = PAGE_SIZE  # the first byte of the page a grow adds
    ops: list[Op] = [
        Write(addr, pattern), View("before"), ViewRead("before", addr, len(pattern)),
        GROWS[how], Size(),
        # the guest changes a byte the view showed: a stale view would still show the old one
        Call("store_u8", (Value.i32(addr), Value.i32(byte))),
        ViewLength("before"), ViewRead("before", addr, len(pattern)),
        # a write through the old view must land (or be refused), never vanish
        ViewWrite("before", addr, pattern[::-1]), Read(addr, len(pattern)),
        Call("load_u8", (Value.i32(addr),)),
        ViewRead("before", second, 4),
        View("after"), ViewLength("after"), ViewRead("after", addr, len(pattern)),
        Call("store_u8", (Value.i32(second), Value.i32(0x5A))), ViewRead("after", second, 4),
    ]
    check_script(wasm_runtime, script("mem32-1-2", ops))
