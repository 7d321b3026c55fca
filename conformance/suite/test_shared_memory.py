"""Shared memories (the threads proposal): never detached, atomics, wait and notify, limits.

- A shared memory is never detached or moved: a host view taken before a grow (by the host or the
  guest, of 0 pages, or refused past the maximum) keeps working with the length it had when taken,
  as a JavaScript ``SharedArrayBuffer`` does, while a new view and ``size`` have the new length; for
  a memory a module defines and exports, and for one the host creates and a module imports.
- Atomic read-modify-write (``atomic.rmw*.{add,sub,and,or,xor,xchg}`` and ``cmpxchg``, i32 and i64,
  8 to 64 bits wide) interleaved with host writes and reads: each returns the old value,
  zero-extended, and memory holds the new one, little-endian (a Python model here, not only the
  reference runtime); a misaligned effective address traps ``unaligned-atomic``, one past the end
  ``out-of-bounds``.
- ``memory.atomic.notify`` returns 0 with no waiters, shared or not; ``memory.atomic.wait32/64``
  traps on an unshared memory, and on a shared one returns 1 ("not-equal") at once for another
  value, whatever its timeout, and 2 ("timed-out") for the same value and a short timeout.
- A shared memory must declare a maximum: ``(memory 1 shared)`` is an invalid module, its neighbour
  ``(memory 1 N shared)`` is not; a host ``memory_new`` of a shared memory without a maximum is
  ``error bad-limits``; an import's ``shared`` must match the memory given (``link-error``), as its
  limits must.

The modules are generated per example (carried as text in the script). Every runtime must give the
reference runtime's (wasmtime's) outcome for each operation, and each property checks the spec's
outcomes itself, so the reference is checked too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from conformance import (
    PAGE_SIZE,
    Call,
    Grow,
    Import,
    Instantiate,
    MemoryNew,
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
from conformance.checks import fail_at
from conformance.script import ScriptResult, ValueType, describe_op

pytestmark = pytest.mark.wasm_feature("shared_memory")

i32 = Value.i32
U32 = 0xFFFF_FFFF
UNALIGNED = "unaligned-atomic"
"""the trap reason of an atomic access at a misaligned address (wasmtime's HEAP_MISALIGNED)"""
ANY_TRAP = Outcome.trap("*")
"""an expected outcome: a trap of any reason (the spec names none for a wait on unshared memory)"""
OK = Outcome.ok()


def _said(outcome: Outcome) -> str:
    return outcome.kind if outcome.kind == "ok" else f"{outcome.kind} {outcome.reason}"


def _matches(got: Outcome, want: Outcome) -> bool:
    if want is ANY_TRAP:
        return got.kind == "trap"
    return got.same_as(want)


def _fail(runtime: WasmRuntime, script: Script, outcomes: tuple[Outcome, ...], index: int, what: str,
          expected: str) -> NoReturn:
    test = runtime.current_test() or "script"
    fail_at(runtime, script, ScriptResult("ok", outcomes), index, expected,
            f"{runtime.id} breaks the spec in {test}: {what}\n"
            f"  operation {index}: {describe_op(script.ops[index])}\n"
            f"  expected: {expected}\n  got:      {outcomes[index]}\n"
            f"module:\n{script.wat}\n"
            + "".join(f"module {name}:\n{text}\n" for name, text in script.modules)
            + f"script:\n{script.describe()}\n")


def run_expecting(runtime: WasmRuntime, script: Script, expected: Sequence[Outcome], what: str) -> None:
    """Run ``script`` (compared with the reference runtime), then check each outcome against the
    spec's, ``expected``, one per operation."""
    outcomes = check_script(runtime, script)
    assert len(expected) == len(script.ops), "the property's own expectations are one per operation"
    for index, (got, want) in enumerate(zip(outcomes, expected, strict=True)):
        if not _matches(got, want):
            said = "trap (any reason)" if want is ANY_TRAP else str(want)
            _fail(runtime, script, outcomes, index, what, said)


class Bytes:
    """Linear memory as the model sees it: the bytes written, zero elsewhere."""

    def __init__(self) -> None:
        self.cells: dict[int, int] = {}

    def get(self, addr: int, length: int) -> bytes:
        return bytes(self.cells.get(a, 0) for a in range(addr, addr + length))

    def put(self, addr: int, data: bytes) -> None:
        for n, b in enumerate(data):
            self.cells[addr + n] = b

    def load(self, addr: int, width: int) -> int:
        return int.from_bytes(self.get(addr, width), "little")

    def store(self, addr: int, width: int, value: int) -> None:
        self.put(addr, (value & ((1 << 8 * width) - 1)).to_bytes(width, "little"))


def addresses(length: int) -> st.SearchStrategy[int]:
    """An address in [0, length), biased to both ends."""
    return st.one_of(st.integers(0, min(length, 16) - 1), st.integers(max(0, length - 16), length - 1),
                     st.integers(0, length - 1))


# --- 1. a shared memory is never detached ---------------------------------------------------------


def view_module(minimum: int, maximum: int, imported: bool) -> str:
    memory = (f'(import "env" "memory" (memory {minimum} {maximum} shared))' if imported
              else f'(memory (export "memory") {minimum} {maximum} shared)')
    return (f"(module\n  {memory}\n"
            '  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))\n'
            '  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))\n'
            '  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))')


@dataclass(frozen=True, slots=True)
class ViewCase:
    """A shared memory of ``minimum`` to ``maximum`` pages, the operations after its instantiation
    (views taken, grows, accesses through old views) and the spec's outcome of each."""

    minimum: int
    maximum: int
    ops: tuple[Op, ...]
    expected: tuple[Outcome, ...]


@st.composite
def view_cases(draw: st.DrawFn, ref: str) -> ViewCase:
    """Rounds of: a grow (host or guest; 0 pages, within the maximum, or past it), every view's
    length and the memory's size, a guest store read back through an old view and a write through
    an old view loaded by the guest, a read straddling that view's end, maybe a new view."""
    minimum = draw(st.integers(0, 2))
    maximum = draw(st.integers(max(minimum, 1), minimum + 3))
    pages = minimum
    memory = Bytes()
    views: dict[str, int] = {"v0": pages * PAGE_SIZE}
    ops: list[Op] = [View("v0", memory=ref)]
    expected: list[Outcome] = [Outcome.ok(pages * PAGE_SIZE)]

    def step(op: Op, outcome: Outcome) -> None:
        ops.append(op)
        expected.append(outcome)

    for _ in range(draw(st.integers(1, 4))):
        room = maximum - pages
        host = draw(st.booleans())
        delta = draw(st.one_of(st.integers(0, room + 1), st.sampled_from([0, room + 1]),
                               st.just(U32 if not host else 65536)))
        grows = pages + delta <= maximum
        if host:
            step(Grow(delta, memory=ref), Outcome.ok(pages) if grows else Outcome.error("grow-failed"))
        else:
            step(Call("grow", (i32(delta),)), Outcome.ok((i32(pages if grows else -1),)))
        event(f"{'host' if host else 'guest'} grow "
              + ("of 0" if delta == 0 else "within the maximum" if grows else "past the maximum"))
        pages += delta if grows else 0
        for name, length in views.items():
            step(ViewLength(name), Outcome.ok(length))
        step(Size(memory=ref), Outcome.ok(pages * PAGE_SIZE))
        name = draw(st.sampled_from(sorted(views)))
        length = views[name]
        if length:
            addr, byte = draw(addresses(length)), draw(st.integers(1, 255))
            step(Call("store8", (i32(addr), i32(byte))), Outcome.ok(()))
            memory.put(addr, bytes([byte]))
            start, end = max(0, addr - 3), min(length, addr + 4)
            step(ViewRead(name, start, end - start), Outcome.ok(memory.get(start, end - start)))
            addr = draw(addresses(length))
            data = bytes(draw(st.lists(st.integers(1, 255), min_size=1, max_size=min(4, length - addr))))
            step(ViewWrite(name, addr, data), OK)
            memory.put(addr, data)
            last = addr + len(data) - 1
            step(Call("load8", (i32(last),)), Outcome.ok((i32(data[-1]),)))
        # a read past the view's own length: refused, though memory may have grown past it
        at = length - draw(st.integers(0, min(length, 2)))
        step(ViewRead(name, at, 3), Outcome.error("out-of-range"))
        if draw(st.booleans()):
            new = f"v{len(views)}"
            views[new] = pages * PAGE_SIZE
            step(View(new, memory=ref), Outcome.ok(pages * PAGE_SIZE))
    return ViewCase(minimum, maximum, tuple(ops), tuple(expected))


# shared_memory first (and again, though the module is marked): a runtime without it skips with
# its reason, not with that of a host API it may lack as well
VIEW_FEATURES = ("shared_memory", "view", "host_grow")

_GROWN_BY_BOTH = ViewCase(1, 3, (
    View("v0"), Grow(1), ViewLength("v0"), Size(), Call("store8", (i32(65535), i32(7))),
    ViewRead("v0", 65532, 4),
    ViewWrite("v0", 65535, b"\x09"), Call("load8", (i32(65535),)), ViewRead("v0", 65535, 3), View("v1"),
    Call("grow", (i32(2),)), ViewLength("v0"), ViewLength("v1"), Size(), ViewRead("v1", 131071, 1)),
    (Outcome.ok(PAGE_SIZE), Outcome.ok(1), Outcome.ok(PAGE_SIZE), Outcome.ok(2 * PAGE_SIZE), Outcome.ok(()),
     Outcome.ok(b"\0\0\0\x07"), OK, Outcome.ok((i32(9),)), Outcome.error("out-of-range"),
     Outcome.ok(2 * PAGE_SIZE), Outcome.ok((i32(-1),)), Outcome.ok(PAGE_SIZE), Outcome.ok(2 * PAGE_SIZE),
     Outcome.ok(2 * PAGE_SIZE), Outcome.ok(b"\0")))


@pytest.mark.wasm_feature(*VIEW_FEATURES)
@given(case=view_cases(""))
@example(case=_GROWN_BY_BOTH)
def test_exported_shared_memory_is_never_detached(wasm_runtime: WasmRuntime, case: ViewCase) -> None:
    """A view of a module's exported shared memory taken before a grow (host or guest, of 0
    pages, or refused past the maximum) keeps its length and keeps working: it reads the guest's
    later stores, the guest loads its writes, a read past its length is refused; ``size`` and a
    new view have the new length."""
    script = Script.of("shared-views", case.ops, wat=view_module(case.minimum, case.maximum, imported=False))
    run_expecting(wasm_runtime, script, (OK, *case.expected),
                  "a shared memory is never detached: a view keeps its length and sees memory")


@pytest.mark.wasm_feature(*VIEW_FEATURES, "host_memory")
@given(case=view_cases("m"))
def test_host_shared_memory_is_never_detached(wasm_runtime: WasmRuntime, case: ViewCase) -> None:
    """The same for a shared memory the host creates (``memory_new ... shared``) and a module
    imports: views of it taken before a grow keep their length and see the guest's stores, and
    the guest sees their writes."""
    ops = (MemoryNew("m", case.minimum, case.maximum, shared=True),
           Instantiate(name="u", imports=(Import("env", "memory", "m"),)), *case.ops)
    script = Script("host-shared-views", ops, wat=view_module(case.minimum, case.maximum, imported=True))
    run_expecting(wasm_runtime, script, (OK, OK, *case.expected),
                  "a host-created shared memory is never detached: a view keeps its length and sees memory")


# --- 2. atomic read-modify-write --------------------------------------------------------------

RMW_OPS: dict[str, Callable[[int, int], int]] = {
    "add": lambda old, x: old + x,
    "sub": lambda old, x: old - x,
    "and": lambda old, x: old & x,
    "or": lambda old, x: old | x,
    "xor": lambda old, x: old ^ x,
    "xchg": lambda old, x: x,
}
BITS = {"i32": 32, "i64": 64}
WIDTHS = {"i32": (8, 16, 32), "i64": (8, 16, 32, 64)}
REGION = 64
"""the bytes at the start or the end of the page that a sequence's accesses share"""


@dataclass(frozen=True, slots=True)
class Atomic:
    """One atomic instruction of the generated module: ``i64.atomic.rmw16.cmpxchg_u offset=8``."""

    type: ValueType
    width: int
    op: str
    offset: int

    @property
    def instruction(self) -> str:
        if self.width == BITS[self.type]:
            return f"{self.type}.atomic.rmw.{self.op}"
        return f"{self.type}.atomic.rmw{self.width}.{self.op}_u"

    @property
    def export(self) -> str:
        return f"{self.type}_rmw{self.width}_{self.op}_{self.offset}"

    @property
    def size(self) -> int:
        return self.width // 8

    def func(self) -> str:
        swap = self.op == "cmpxchg"
        params = f"(param $a i32) (param $x {self.type})" + (f" (param $y {self.type})" if swap else "")
        operands = "(local.get $a) (local.get $x)" + (" (local.get $y)" if swap else "")
        return (f'  (func (export "{self.export}") {params} (result {self.type})\n'
                f"    ({self.instruction} offset={self.offset} {operands}))")


def atomic_module(atomics: Sequence[Atomic]) -> str:
    return ('(module\n  (memory (export "memory") 1 1 shared)\n'
            + "\n".join(a.func() for a in sorted(set(atomics), key=lambda a: a.export)) + ")")


@dataclass(frozen=True, slots=True)
class AtomicCase:
    atomics: tuple[Atomic, ...]
    ops: tuple[Op, ...]
    expected: tuple[Outcome, ...]


def operands(vtype: ValueType, width: int) -> st.SearchStrategy[int]:
    top = BITS[vtype]
    edges = sorted({0, 1, (1 << width) - 1, 1 << (width - 1), (1 << top) - 1,
                    1 << width if width < top else 0})
    return st.one_of(st.integers(0, 255), st.integers(0, (1 << top) - 1), st.sampled_from(edges))


@st.composite
def atomic_cases(draw: st.DrawFn) -> AtomicCase:
    """1 to 14 steps on the first or last 64 bytes of a one-page shared memory: atomic
    read-modify-writes and compare-exchanges (some at a misaligned effective address, some past
    the end), host writes and host reads; the Python model of the spec gives each outcome."""
    base = draw(st.sampled_from([0, PAGE_SIZE - REGION]))
    memory = Bytes()
    offsets: dict[tuple[str, int, str], int] = {}
    atomics: list[Atomic] = []
    ops: list[Op] = []
    expected: list[Outcome] = []
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["rmw"] * 5 + ["write", "read", "misaligned", "past-end"]))
        if kind == "write":
            addr = base + draw(st.integers(0, REGION - 1))
            data = draw(st.binary(min_size=1, max_size=min(8, base + REGION - addr)))
            ops.append(Write(addr, data))
            expected.append(OK)
            memory.put(addr, data)
            continue
        if kind == "read":
            addr = base + draw(st.integers(0, REGION - 1))
            length = draw(st.integers(1, base + REGION - addr))
            ops.append(Read(addr, length))
            expected.append(Outcome.ok(memory.get(addr, length)))
            continue
        vtype: ValueType = draw(st.sampled_from(["i32", "i64"]))
        width = draw(st.sampled_from([w for w in WIDTHS[vtype] if kind != "misaligned" or w > 8]))
        op = draw(st.sampled_from([*RMW_OPS, "cmpxchg"]))
        size, mask = width // 8, (1 << width) - 1
        key = (vtype, width, op)
        if key not in offsets:
            offsets[key] = draw(st.sampled_from([0, 0, size, 8, 24]))
        atomic = Atomic(vtype, width, op, offsets[key])
        atomics.append(atomic)
        if kind == "past-end":  # aligned, but its end past the page's
            # just past the page, or the last aligned i32 address and the static offset (the
            # effective address of 33 bits, not wrapped)
            k = draw(st.one_of(st.integers(PAGE_SIZE // size, (PAGE_SIZE + REGION) // size), st.just(-1)))
            ea = k * size if k >= 0 else U32 + 1 - size + atomic.offset
        else:
            # a misaligned one stays inside the page: not past the end as well
            ea = base + size * draw(st.integers(0, REGION // size - (2 if kind == "misaligned" else 1)))
            if kind == "misaligned":
                ea += draw(st.integers(1, size - 1))
        if ea < atomic.offset:
            ea += atomic.offset
        addr = ea - atomic.offset
        old = memory.load(ea, size) if kind == "rmw" else 0
        x = draw(st.one_of(operands(vtype, width), st.just(old)) if op == "cmpxchg"
                 else operands(vtype, width))
        if op == "cmpxchg" and width < BITS[vtype] and draw(st.booleans()):
            x |= draw(st.integers(1, (1 << (BITS[vtype] - width)) - 1)) << width  # wrapped before compared
        args = [i32(addr), Value(vtype, x)]
        if op == "cmpxchg":
            args.append(Value(vtype, draw(operands(vtype, width))))
        ops.append(Call(atomic.export, tuple(args)))
        if kind == "misaligned":
            expected.append(Outcome.trap(UNALIGNED))
        elif kind == "past-end":
            expected.append(Outcome.trap("out-of-bounds"))
        else:
            if op == "cmpxchg":
                new = args[2].bits if old == x & mask else old
            else:
                new = RMW_OPS[op](old, x)
            memory.store(ea, size, new & mask)
            expected.append(Outcome.ok((Value(vtype, old),)))  # the old value, zero-extended
        event(kind)
    ops.append(Read(base, REGION))
    expected.append(Outcome.ok(memory.get(base, REGION)))
    return AtomicCase(tuple(atomics), tuple(ops), tuple(expected))


_NARROW_CMPXCHG = AtomicCase(
    (Atomic("i32", 8, "cmpxchg", 0), Atomic("i64", 16, "add", 0), Atomic("i32", 16, "add", 0)),
    (Write(0, b"\x05\xff\xff"), Call("i32_rmw8_cmpxchg_0", (i32(0), i32(0x105), i32(0x1207))),
     Call("i64_rmw16_add_0", (i32(2), Value.i64(-1))), Call("i32_rmw16_add_0", (i32(1), i32(1))),
     Read(0, REGION)),
    (OK, Outcome.ok((i32(5),)), Outcome.ok((Value.i64(0xFF),)), Outcome.trap(UNALIGNED),
     Outcome.ok(b"\x07\xff\xfe\x00" + bytes(REGION - 4))))


@given(case=atomic_cases())
@example(case=_NARROW_CMPXCHG)
def test_atomic_read_modify_write(wasm_runtime: WasmRuntime, case: AtomicCase) -> None:
    """Atomic read-modify-writes (add, sub, and, or, xor, xchg) and compare-exchanges of i32 and
    i64, 8 to 64 bits wide, at aligned addresses, interleaved with host writes and reads: each
    returns the old value zero-extended (cmpxchg compares it with its expected value wrapped to
    the width), the host reads the new one little-endian; a misaligned effective address traps
    unaligned-atomic, one past the end out-of-bounds, and memory is left as it was."""
    script = Script.of("shared-atomics", case.ops, wat=atomic_module(case.atomics))
    run_expecting(wasm_runtime, script, (OK, *case.expected), "atomic read-modify-write on a shared memory")


# --- 3. wait and notify -----------------------------------------------------------------------


def wait_module(shared: bool) -> str:
    limits = "1 1 shared" if shared else "1 1"
    return (f'(module\n  (memory (export "memory") {limits})\n'
            '  (func (export "notify") (param i32 i32) (result i32)\n'
            "    (memory.atomic.notify (local.get 0) (local.get 1)))\n"
            '  (func (export "wait32") (param i32 i32 i64) (result i32)\n'
            "    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))\n"
            '  (func (export "wait64") (param i32 i64 i64) (result i32)\n'
            "    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2))))")


NOT_EQUAL, TIMED_OUT = 1, 2


@dataclass(frozen=True, slots=True)
class WaitCase:
    ops: tuple[Op, ...]
    shared: tuple[Outcome, ...]
    """the spec's outcomes on the shared memory"""
    unshared: tuple[Outcome, ...]
    """the spec's outcomes on the unshared one"""


@st.composite
def wait_cases(draw: st.DrawFn) -> WaitCase:
    """Host writes, then waits of 32 and 64 bits with the value in memory (a timeout of 0 to
    1000 ns) or another (any timeout, infinite included) and notifies of any count, at aligned
    addresses near both ends of the page."""
    memory = Bytes()
    ops: list[Op] = []
    shared: list[Outcome] = []
    unshared: list[Outcome] = []
    base = draw(st.sampled_from([0, PAGE_SIZE - REGION]))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["write", "wait32", "wait64", "notify"]))
        if kind == "write":
            addr = base + draw(st.integers(0, REGION - 8))
            data = draw(st.binary(min_size=1, max_size=8))
            memory.put(addr, data)
            ops.append(Write(addr, data))
            shared.append(OK)
            unshared.append(OK)
            continue
        if kind == "notify":
            addr = base + 4 * draw(st.integers(0, REGION // 4 - 1))
            ops.append(Call("notify", (i32(addr), i32(draw(st.integers(0, U32))))))
            shared.append(Outcome.ok((i32(0),)))
            unshared.append(Outcome.ok((i32(0),)))
            continue
        size = 4 if kind == "wait32" else 8
        vtype: ValueType = "i32" if size == 4 else "i64"
        addr = base + size * draw(st.integers(0, REGION // size - 1))
        value = memory.load(addr, size)
        equal = draw(st.booleans())
        if equal:
            timeout = draw(st.integers(0, 1000))
        else:
            value ^= 1 << draw(st.integers(0, 8 * size - 1))
            timeout = draw(st.sampled_from([0, 1, 1000, 10**9, -1, -(1 << 63), (1 << 63) - 1]))
        event(f"{kind} {'equal' if equal else 'not equal'}")
        ops.append(Call(kind, (i32(addr), Value(vtype, value), Value.i64(timeout))))
        shared.append(Outcome.ok((i32(TIMED_OUT if equal else NOT_EQUAL),)))
        unshared.append(ANY_TRAP)
    return WaitCase(tuple(ops), tuple(shared), tuple(unshared))


@given(case=wait_cases())
@example(case=WaitCase(
    (Write(8, b"\x2a"), Call("wait32", (i32(8), i32(42), Value.i64(0))),
     Call("wait64", (i32(8), Value.i64(43), Value.i64(-1))),
     Call("notify", (i32(8), i32(U32)))),
    (OK, Outcome.ok((i32(TIMED_OUT),)), Outcome.ok((i32(NOT_EQUAL),)), Outcome.ok((i32(0),))),
    (OK, ANY_TRAP, ANY_TRAP, Outcome.ok((i32(0),)))))
def test_wait_and_notify(wasm_runtime: WasmRuntime, case: WaitCase) -> None:
    """With no other thread: memory.atomic.notify returns 0 woken, on a shared or an unshared
    memory; memory.atomic.wait32/64 on a shared memory returns 1 (not-equal) at once for a value
    other than memory's, whatever the timeout (infinite too), and 2 (timed-out) for memory's own
    value and a timeout of 0 to 1000 ns; on an unshared memory it traps."""
    shared = Script.of("shared-wait", case.ops, wat=wait_module(shared=True))
    run_expecting(wasm_runtime, shared, (OK, *case.shared), "wait and notify on a shared memory")
    unshared = Script.of("unshared-wait", case.ops, wat=wait_module(shared=False))
    run_expecting(wasm_runtime, unshared, (OK, *case.unshared),
                  "wait on an unshared memory traps, notify returns 0")


# --- 4. a shared memory declares a maximum; imports match it ----------------------------------


def limits_text(minimum: int, maximum: int | None, shared: bool) -> str:
    return f"{minimum}" + ("" if maximum is None else f" {maximum}") + (" shared" if shared else "")


def defined_module(minimum: int, maximum: int | None, shared: bool) -> str:
    return (f'(module\n  (memory (export "memory") {limits_text(minimum, maximum, shared)})\n'
            '  (func (export "pages") (result i32) (memory.size)))')


def importing_module(minimum: int, maximum: int | None, shared: bool) -> str:
    return (f'(module\n  (import "env" "memory" (memory {limits_text(minimum, maximum, shared)}))\n'
            '  (func (export "pages") (result i32) (memory.size)))')


REFUSED = (Outcome.error("invalid-module"), Outcome.error("no-instance"), Outcome.error("no-instance"))


@given(minimum=st.integers(0, 4), extra=st.integers(0, 4))
@example(minimum=1, extra=1)
def test_shared_memory_needs_a_maximum(wasm_runtime: WasmRuntime, minimum: int, extra: int) -> None:
    """A module whose memory (defined, or imported) is shared without a maximum is invalid,
    refused at instantiate; its neighbour with a maximum (``(memory 1 N shared)``) instantiates,
    with the memory's minimum size."""
    maximum = minimum + extra
    for invalid in (defined_module(minimum, None, True), importing_module(minimum, None, True)):
        script = Script.of("shared-no-maximum", [Size(), Call("pages")], wat=invalid)
        run_expecting(wasm_runtime, script, REFUSED, "a shared memory without a maximum is an invalid module")
    valid = Script.of("shared-maximum", [Size(), Call("pages")], wat=defined_module(minimum, maximum, True))
    run_expecting(wasm_runtime, valid, (OK, Outcome.ok(minimum * PAGE_SIZE), Outcome.ok((i32(minimum),))),
                  "a shared memory with a maximum is valid")


@dataclass(frozen=True, slots=True)
class Limits:
    minimum: int
    maximum: int | None
    shared: bool

    def text(self) -> str:
        return limits_text(self.minimum, self.maximum, self.shared)


@st.composite
def limits(draw: st.DrawFn) -> Limits:
    """Memory limits a module or a host may declare: a shared memory has a maximum."""
    shared = draw(st.booleans())
    minimum = draw(st.integers(0, 3))
    maximum = draw(st.one_of(st.integers(minimum, minimum + 3), st.none() if not shared else st.nothing()))
    return Limits(minimum, maximum, shared)


@st.composite
def link_cases(draw: st.DrawFn) -> tuple[str, Limits, Limits]:
    """(where the memory comes from, its limits, the import's): half of them with limits that
    match, so that only ``shared`` decides."""
    source = draw(st.sampled_from(["host", "instance"]))
    imported = draw(limits())
    if draw(st.booleans()):
        shared = draw(st.booleans())
        minimum = draw(st.integers(imported.minimum, imported.minimum + 2))
        top = imported.maximum
        if top is not None and minimum > top:
            minimum = imported.minimum
        if top is None:
            unbounded = st.none() if not shared else st.nothing()
            maximum = draw(st.one_of(st.integers(minimum, minimum + 3), unbounded))
        else:
            maximum = draw(st.integers(minimum, top))
        given_ = Limits(minimum, maximum, shared)
    else:
        given_ = draw(limits())
    return source, given_, imported


def links(given_: Limits, imported: Limits) -> bool:
    """The spec's import matching of memory types: ``shared`` equal, the given minimum at least
    the import's, and its maximum (if the import has one) present and at most the import's."""
    if given_.shared != imported.shared or given_.minimum < imported.minimum:
        return False
    return imported.maximum is None or (given_.maximum is not None and given_.maximum <= imported.maximum)


@pytest.mark.wasm_feature("shared_memory", "host_memory", "import_memory")
@given(case=link_cases(), unbounded=st.integers(0, 3))
@example(case=("host", Limits(1, 2, True), Limits(1, 2, False)), unbounded=1)
@example(case=("instance", Limits(1, 2, False), Limits(1, 2, True)), unbounded=1)
def test_shared_limits_at_link(wasm_runtime: WasmRuntime, case: tuple[str, Limits, Limits],
                               unbounded: int) -> None:
    """The host cannot create a shared memory without a maximum (``error bad-limits``); a memory
    (created by the host, or exported by another instance) given to an import links only if it
    matches: ``shared`` the same, limits within the import's; otherwise ``link-error``."""
    source, given_, imported = case
    linked = links(given_, imported)
    why = 'links' if linked else 'shared differs' if given_.shared != imported.shared else 'limits differ'
    event(f"{source}: {why}")
    user = importing_module(imported.minimum, imported.maximum, imported.shared)
    first: list[Op] = [MemoryNew("s", unbounded, None, shared=True)]
    expected: list[Outcome] = [Outcome.error("bad-limits")]
    modules: tuple[tuple[str, str], ...] = ()
    if source == "host":
        first.append(MemoryNew("m", given_.minimum, given_.maximum, shared=given_.shared))
        ref, wat = "m", user
        user_op = Instantiate(name="u", imports=(Import("env", "memory", ref),))
    else:
        first.append(Instantiate(name="a"))
        ref, wat = "a.memory", defined_module(given_.minimum, given_.maximum, given_.shared)
        modules = (("user", user),)
        user_op = Instantiate(module="user", name="u", imports=(Import("env", "memory", ref),))
    expected.append(OK)
    ops = (*first, user_op, Size(memory=ref), Call("pages", instance="u"))
    expected += [OK if linked else Outcome.error("link-error"), Outcome.ok(given_.minimum * PAGE_SIZE),
                 Outcome.ok((i32(given_.minimum),)) if linked else Outcome.error("no-instance")]
    script = Script("shared-link", ops, note=f"{given_.text()} given to an import of {imported.text()}",
                    wat=wat, modules=modules)
    run_expecting(wasm_runtime, script, expected,
                  f"a memory of {given_.text()} given to an import of {imported.text()}")
