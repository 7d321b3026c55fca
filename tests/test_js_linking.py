"""Linking in the JavaScript driver (docs/protocol.md, "Linking"), on node, bun and deno.

Real scripts through DriverProcess, each outcome asserted: host memories (``memory_new``, that
is ``new WebAssembly.Memory``) given to modules as imports, a memory shared by instances and
the host (a grow through one seen by all), named instances and memory references, the JS
API's refusals (limits a module's import does not accept: link-error; limits the constructor
does not: bad-limits), shared memories (a SharedArrayBuffer is never detached: a view keeps its
old length across a grow, a new view and the size show the new one), unknown names, and a
failed instantiate that leaves the host memory as the spec says (the data segments before the
failing one stay written). An engine that is not installed is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from conformance.driver_process import DriverProcess, RuntimeUnavailable
from conformance.runtimes import known_runtimes
from conformance.script import (
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
    Write,
)

i32 = Value.i32
JS = ("node", "bun", "deno")

# The script's own module: an instance that defines and exports its memory (1 to 2 pages).
OWNER = """(module
  (memory (export "memory") 1 2)
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"""

# A module that imports its memory (1 to 4 pages) and exports it again.
USER = """(module
  (import "env" "memory" (memory 1 4))
  (export "memory" (memory 0))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))"""

# Imports a memory of 1 to 2 pages (OWNER's exported one fits).
SMALL_USER = """(module
  (import "env" "memory" (memory 1 2))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"""

# Imports a shared memory of 1 to 3 pages and adds to it atomically.
SHARED_USER = """(module
  (import "env" "memory" (memory 1 3 shared))
  (func (export "add") (param i32 i32) (result i32) (i32.atomic.rmw.add (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""

# Data segments at 0 and 10 fit in one page; the third (3 bytes at 65534) does not: instantiation
# traps after writing the first two (the spec's order: segments before the failing one stay).
SEGMENTS = """(module
  (import "env" "memory" (memory 1 2))
  (data (i32.const 0) "ab")
  (data (i32.const 10) "cd")
  (data (i32.const 65534) "xyz")
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"""

MODULES = (("user", USER), ("small", SMALL_USER), ("shared", SHARED_USER), ("segments", SEGMENTS))


@pytest.fixture(scope="module", params=JS)
def driver(request: pytest.FixtureRequest) -> Iterator[DriverProcess]:
    spec = known_runtimes()[request.param]
    if spec.missing:
        pytest.skip(f"{request.param}: {spec.missing}")
    process = DriverProcess(spec)
    try:
        process.start()
    except RuntimeUnavailable as exc:
        process.close()
        pytest.skip(str(exc))
    yield process
    process.close()


def run(driver: DriverProcess, ops: Sequence[Op]) -> list[Outcome]:
    script = Script("js-linking", tuple(ops), wat=OWNER, modules=MODULES)
    result = driver.run(script)
    assert result.status == "ok", f"{driver.spec.id}: {result.status} {result.detail}"
    assert len(result.outcomes) == len(ops)
    return list(result.outcomes)


def said(outcome: Outcome) -> str:
    """What is asserted on: ``ok <value>``, ``error no-memory``, ``trap out-of-bounds``."""
    if outcome.kind != "ok":
        return f"{outcome.kind} {outcome.reason}"
    value = outcome.value
    if isinstance(value, bytes):
        return f"ok {value.hex()}"
    if isinstance(value, tuple):
        return "ok " + " ".join(str(v.bits) for v in value) if value else "ok []"
    return "ok" if value is None else f"ok {value}"


def check(driver: DriverProcess, steps: Sequence[tuple[Op, str]]) -> list[Outcome]:
    outcomes = run(driver, [op for op, _ in steps])
    got = [said(o) for o in outcomes]
    want = [w for _, w in steps]
    assert got == want, f"{driver.spec.id}: " + "".join(
        f"\n  {op!r}: {g} (message {o.message!r})" + ("" if g == w else f"   <-- expected {w}")
        for (op, w), g, o in zip(steps, got, outcomes, strict=True))
    return outcomes


def imports(ref: str) -> tuple[Import, ...]:
    return (Import("env", "memory", ref),)


def test_a_host_memory_shared_by_two_instances_and_the_host(driver: DriverProcess) -> None:
    three = 2 * PAGE_SIZE + 5
    check(driver, [
        (MemoryNew("m", 1, 4), "ok"),
        (Write(0, b"\x2a", memory="m"), "ok"),  # host memories need no instance
        (Instantiate(module="user", name="a", imports=imports("m")), "ok"),
        (Instantiate(module="user", name="b", imports=imports("m")), "ok"),
        (Call("load", (i32(0),), instance="a"), "ok 42"),
        (Call("store", (i32(7), i32(9)), instance="a"), "ok []"),
        (Read(7, 1), "ok 09"),  # plain operations go to the current instance, b, the same memory
        (Call("grow", (i32(1),), instance="a"), "ok 1"),  # the guest grows it through a
        (Call("size", (), instance="b"), "ok 2"),  # b sees it
        (Size(memory="m"), f"ok {2 * PAGE_SIZE}"),  # so does the host
        (Grow(1, memory="m"), "ok 2"),  # the host grows it
        (Call("size", (), instance="a"), "ok 3"),
        (Size(memory="b.memory"), f"ok {3 * PAGE_SIZE}"),  # b's export is the same memory
        (Size(), f"ok {3 * PAGE_SIZE}"),
        (Call("store", (i32(three), i32(5)), instance="b"), "ok []"),
        (Read(three, 1, memory="m"), "ok 05"),
        (Read(three, 1, memory="a.memory"), "ok 05"),
        (Write(three + 1, b"\x06", memory="a.memory"), "ok"),
        (Call("load", (i32(three + 1),), instance="b"), "ok 6"),
        (Grow(2, memory="m"), "error grow-failed"),  # past the maximum of 4
        (Grow(1, memory="m"), "ok 3"),
        (Call("grow", (i32(1),), instance="b"), f"ok {2**32 - 1}"),  # -1: at the maximum
        (Size(memory="m"), f"ok {4 * PAGE_SIZE}"),
    ])


def test_a_module_memory_given_to_another_instance(driver: DriverProcess) -> None:
    check(driver, [
        (Instantiate(name="owner"), "ok"),
        (Instantiate(module="small", name="u", imports=imports("owner.memory")), "ok"),
        (Call("store", (i32(3), i32(8)), instance="u"), "ok []"),
        (Call("load", (i32(3),), instance="owner"), "ok 8"),
        (Read(3, 1, memory="owner.memory"), "ok 08"),
        # the current instance (u) exports no memory
        (Read(3, 1), "error no-memory"),
        # owner's memory is not shared: an import of a shared memory refuses it (link-time matching)
        (Instantiate(module="shared", name="x", imports=imports("owner.memory")), "error link-error"),
        (Call("load", (i32(3),), instance="x"), "error no-instance"),
        (Read(3, 1), "error no-instance"),  # after a failed instantiate
        (Call("load", (i32(3),), instance="owner"), "ok 8"),  # named ones still run
    ])


def test_imports_the_module_does_not_accept_are_link_errors(driver: DriverProcess) -> None:
    check(driver, [
        (MemoryNew("big", 1, 5), "ok"),
        (MemoryNew("unbounded", 1), "ok"),
        (MemoryNew("shared", 1, 3, shared=True), "ok"),
        (MemoryNew("plain", 1, 3), "ok"),
        (MemoryNew("small", 1, 2), "ok"),
        (Instantiate(module="user", name="a", imports=imports("big")), "error link-error"),  # max 5 > 4
        (Instantiate(module="user", name="a", imports=imports("unbounded")), "error link-error"),
        (Instantiate(module="user", name="a", imports=imports("shared")), "error link-error"),
        (Instantiate(module="shared", name="a", imports=imports("plain")), "error link-error"),
        (Instantiate(module="user", name="a"), "error link-error"),  # an import not given
        (Instantiate(module="user", name="a", imports=(Import("env", "other", "small"),)),
         "error link-error"),
        (Instantiate(module="user", name="a", imports=imports("small")), "ok"),
        (Call("size", (), instance="a"), "ok 1"),
    ])


def test_limits_the_host_api_refuses_are_bad_limits(driver: DriverProcess) -> None:
    check(driver, [
        (MemoryNew("inverted", 2, 1), "error bad-limits"),  # RangeError
        (MemoryNew("shared-unbounded", 1, None, shared=True), "error bad-limits"),  # TypeError
        (MemoryNew("too-large", 65537), "error bad-limits"),  # the JS API's 65536 pages
        (MemoryNew("max-too-large", 1, 65537), "error bad-limits"),
        (MemoryNew("largest", 0, 65536), "ok"),
        (Size(memory="largest"), "ok 0"),
        (Read(0, 1, memory="inverted"), "error no-memory"),  # a refused memory is not kept
        (Instantiate(), "ok"),
    ])


def test_a_shared_memory_is_never_detached(driver: DriverProcess) -> None:
    check(driver, [
        (MemoryNew("s", 1, 3, shared=True), "ok"),
        (View("old", memory="s"), f"ok {PAGE_SIZE}"),
        (Instantiate(module="shared", name="t", imports=imports("s")), "ok"),
        (Call("add", (i32(0), i32(5))), "ok 0"),
        (Call("add", (i32(0), i32(5))), "ok 5"),
        (ViewRead("old", 0, 4), "ok 0a000000"),
        (Grow(1, memory="s"), "ok 1"),
        (ViewLength("old"), f"ok {PAGE_SIZE}"),  # the SharedArrayBuffer keeps its length
        (ViewRead("old", 0, 4), "ok 0a000000"),  # and is not detached
        (ViewRead("old", PAGE_SIZE - 1, 2), "error out-of-range"),  # past its own length
        (Size(memory="s"), f"ok {2 * PAGE_SIZE}"),  # memory.buffer now is the longer one
        (View("new", memory="s"), f"ok {2 * PAGE_SIZE}"),
        (ViewWrite("new", PAGE_SIZE, b"\x07"), "ok"),
        (Read(PAGE_SIZE, 1, memory="s"), "ok 07"),
        (Call("grow", (i32(0),)), "ok 2"),  # a grow of 0 pages by the guest
        (Grow(0, memory="s"), "ok 2"),  # and by the host
        (ViewLength("new"), f"ok {2 * PAGE_SIZE}"),
        (ViewRead("new", PAGE_SIZE, 1), "ok 07"),
        (ViewWrite("old", 1, b"\x01"), "ok"),  # the old view still writes the live memory
        (Read(0, 2, memory="s"), "ok 0a01"),
        (Call("grow", (i32(1),)), "ok 2"),
        (ViewLength("new"), f"ok {2 * PAGE_SIZE}"),
        (Size(memory="t.memory"), "error no-memory"),  # SHARED_USER exports no memory
        (Size(memory="s"), f"ok {3 * PAGE_SIZE}"),
    ])


def test_an_unshared_host_memory_detaches_as_the_js_api_says(driver: DriverProcess) -> None:
    check(driver, [
        (MemoryNew("m", 1, 3), "ok"),
        (View("v", memory="m"), f"ok {PAGE_SIZE}"),
        (Instantiate(module="user", name="a", imports=imports("m")), "ok"),
        (ViewWrite("v", 0, b"\x01"), "ok"),  # instantiating keeps views of host memories
        (Grow(0, memory="m"), "ok 1"),  # even a grow of 0 pages detaches the ArrayBuffer
        (ViewLength("v"), "ok 0"),
        (ViewRead("v", 0, 1), "error detached"),
        (View("w", memory="a.memory"), f"ok {PAGE_SIZE}"),
        (ViewRead("w", 0, 1), "ok 01"),
    ])


def test_unknown_names(driver: DriverProcess) -> None:
    check(driver, [
        (MemoryNew("m", 1, 4), "ok"),
        (Read(0, 1, memory="nope"), "error no-memory"),
        (Instantiate(name="a"), "ok"),
        (Write(0, b"\x01", memory="a.nope"), "error no-memory"),  # no such export
        (Size(memory="a.load"), "error no-memory"),  # an export that is no memory
        (Grow(1, memory="zz.memory"), "error no-memory"),  # no such instance
        (View("v", memory="nope"), "error no-memory"),
        (Call("load", (i32(0),), instance="zz"), "error no-instance"),
        (Instantiate(module="user", name="b", imports=imports("nope")), "error no-memory"),
        (Call("load", (i32(0),), instance="b"), "error no-instance"),
        (Call("load", (i32(0),), instance="a"), "ok 0"),
        (Size(memory="m"), f"ok {PAGE_SIZE}"),
    ])


def test_a_failed_instantiate_leaves_the_host_memory_usable(driver: DriverProcess) -> None:
    check(driver, [
        (MemoryNew("m", 1, 2), "ok"),
        (Instantiate(module="segments", name="s", imports=imports("m")), "trap out-of-bounds"),
        # the segments before the failing one were written, the failing one not at all
        (Read(0, 2, memory="m"), "ok 6162"),
        (Read(10, 2, memory="m"), "ok 6364"),
        (Read(PAGE_SIZE - 2, 2, memory="m"), "ok 0000"),
        (Call("load", (i32(0),), instance="s"), "error no-instance"),
        (Read(0, 1), "error no-instance"),
        (Size(), "error no-instance"),
        (Write(5, b"\x09", memory="m"), "ok"),
        (Grow(1, memory="m"), "ok 1"),
        (Instantiate(module="segments", name="s", imports=imports("m")), "ok"),  # fits in 2 pages
        (Read(PAGE_SIZE - 2, 3), "error no-memory"),  # segments exports no memory
        (Read(PAGE_SIZE - 2, 3, memory="m"), "ok 78797a"),
        (Call("load", (i32(5),), instance="s"), "ok 9"),
    ])


def test_a_64_bit_host_memory_or_the_engines_refusal(driver: DriverProcess) -> None:
    ops: list[Op] = [MemoryNew("w", 1, 2, index="i64"), Write(3, b"\x05", memory="w"),
                     Read(3, 1, memory="w"), Grow(1, memory="w"), Grow(1, memory="w"),
                     Size(memory="w"), MemoryNew("x", 2, 1, index="i64"), Instantiate()]
    outcomes = run(driver, ops)
    if driver.spec.id == "deno":  # V8 15 has memory64, with the JS API's BigInt limits
        assert [said(o) for o in outcomes] == [
            "ok", "ok", "ok 05", "ok 1", "error grow-failed", f"ok {2 * PAGE_SIZE}",
            "error bad-limits", "ok"], outcomes
        return
    if outcomes[0].kind == "ok":  # an engine newer than this one's pin: it must work
        assert [said(o) for o in outcomes] == [
            "ok", "ok", "ok 05", "ok 1", "error grow-failed", f"ok {2 * PAGE_SIZE}",
            "error bad-limits", "ok"], outcomes
        return
    # Node 20 (V8 11.3) and Bun 1.4 (JavaScriptCore) have no memory64: the engine's own words,
    # never a 32-bit memory made by ignoring the option
    assert [said(o) for o in outcomes] == [
        "error unsupported", "error no-memory", "error no-memory", "error no-memory",
        "error no-memory", "error no-memory", "error unsupported", "ok"], outcomes
    assert "no 64-bit memory on the host" in outcomes[0].message
    assert "CompileError" in outcomes[0].message or "Memory64" in outcomes[0].message
