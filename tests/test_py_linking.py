"""Linking through the Python drivers: host memories, memory imports, named instances.

Real scripts through :class:`DriverProcess` on wasmtime (the reference), wasmer (both
compilers), pywasm and wasm3 (docs/protocol.md, "Linking"). Each outcome's kind, value and
reason is asserted exactly: where the spec fixes it (limits matching at link time against the
provided memory's current size and maximum, segments written up to an instantiation trap, a
grow seen by every instance of a memory) the same on every runtime that links, and where a
runtime differs, its own answer, named as the finding it is. wasm3 (pywasm3) cannot link at
all and must say so, with the reason. A runtime not installed here is skipped with its reason.
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
    ViewWrite,
    Write,
    describe_op,
)

i32 = Value.i32
LINKING = ("wasmtime", "wasmer-cranelift", "wasmer-singlepass", "pywasm")
"""the runtimes whose drivers link"""
WASMER = ("wasmer-cranelift", "wasmer-singlepass")

EXPORTER = """(module (memory (export "memory") 1 2)
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""
IMP12 = """(module (import "env" "memory" (memory 1 2))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""
IMP1 = '(module (import "env" "memory" (memory 1)) (func (export "size") (result i32) (memory.size)))'
SEGMENTS = """(module (import "env" "memory" (memory 1))
  (data (i32.const 0) "ab") (data (i32.const 10) "cd")
  (data (i32.const 65535) "xy") (data (i32.const 20) "zz"))"""
TRAPPER = """(module (import "env" "memory" (memory 1)) (func (export "boom") (unreachable))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"""
FUNC_IMPORT = '(module (import "env" "f" (func)))'
MODULES = (("imp12", IMP12), ("imp1", IMP1), ("segments", SEGMENTS), ("trapper", TRAPPER),
           ("func_import", FUNC_IMPORT))


def env(ref: str, name: str = "memory") -> tuple[Import, ...]:
    return (Import("env", name, ref),)


@pytest.fixture(scope="module", params=(*LINKING, "wasm3"))
def driver(request: pytest.FixtureRequest) -> Iterator[DriverProcess]:
    process = DriverProcess(known_runtimes()[request.param])
    try:
        process.start()
    except RuntimeUnavailable as exc:
        process.close()
        pytest.skip(str(exc))
    yield process
    process.close()


@pytest.fixture
def linker(driver: DriverProcess) -> DriverProcess:
    if driver.spec.id not in LINKING:
        pytest.skip(f"{driver.spec.id} cannot link (test_wasm3_says_it_cannot_link)")
    return driver


def run(driver: DriverProcess, ops: Sequence[Op]) -> tuple[Outcome, ...]:
    result = driver.run(Script("py_linking", tuple(ops), wat=EXPORTER, modules=MODULES))
    assert result.status == "ok", result.detail
    assert len(result.outcomes) == len(ops)
    return result.outcomes


def expect(ops: Sequence[Op], got: Sequence[Outcome], want: Sequence[Outcome]) -> None:
    wrong = [f"{describe_op(op)}: got {g}, expected {w}" for op, g, w in zip(ops, got, want, strict=True)
             if not g.same_as(w)]
    assert not wrong, "\n".join(wrong)


OK = Outcome.ok()


def err(reason: str) -> Outcome:
    return Outcome.error(reason)


def test_host_memory_given_to_two_instances(linker: DriverProcess) -> None:
    ops: list[Op] = [
        MemoryNew("m", 1, 2), Write(3, b"\x07", memory="m"),  # before any instance
        Instantiate(module="imp12", name="u1", imports=env("m")),
        Instantiate(module="imp12", name="u2", imports=env("m")),
        Call("load", (i32(3),), instance="u1"), Call("store", (i32(5), i32(9)), instance="u1"),
        Call("load", (i32(5),), instance="u2"), Read(5, 1, memory="m"),
        Call("grow", (i32(1),), instance="u1"), Call("size", instance="u2"), Call("size"),
        Size(memory="m"), Call("grow", (i32(1),), instance="u2"), Grow(1, memory="m"),
        Write(70000, b"\x33", memory="m"), Call("load", (i32(70000),)),
        View("v", memory="m"), ViewWrite("v", 6, b"\x44"), Call("load", (i32(6),), instance="u1"),
        ViewLength("v"),
        Size(),  # the importer exports no memory
    ]
    want = [OK, OK, OK, OK, Outcome.ok((i32(7),)), Outcome.ok(()), Outcome.ok((i32(9),)),
            Outcome.ok(b"\x09"), Outcome.ok((i32(1),)), Outcome.ok((i32(2),)), Outcome.ok((i32(2),)),
            Outcome.ok(2 * PAGE_SIZE), Outcome.ok((i32(-1),)), err("grow-failed"), OK,
            Outcome.ok((i32(0x33),)), Outcome.ok(2 * PAGE_SIZE), OK, Outcome.ok((i32(0x44),)),
            Outcome.ok(2 * PAGE_SIZE), err("no-memory")]
    expect(ops, run(linker, ops), want)


def test_an_instance_exports_the_memory_another_imports(linker: DriverProcess) -> None:
    ops: list[Op] = [
        Instantiate(name="a"), Instantiate(module="imp12", name="b", imports=env("a.memory")),
        Call("store", (i32(3), i32(7))), Call("load", (i32(3),), instance="a"), Read(3, 1, memory="a.memory"),
        Call("grow", (i32(1),), instance="a"), Call("size"), Size(memory="a.memory"),
        Instantiate(module="imp12", name="c", imports=env("a.load")),  # a function is no memory
        Instantiate(module="imp12", name="c", imports=env("z.memory")),
        Call("load", (i32(3),), instance="b"), Read(3, 1), Call("load", (i32(0),), instance="c"),
    ]
    want = [OK, OK, Outcome.ok(()), Outcome.ok((i32(7),)), Outcome.ok(b"\x07"), Outcome.ok((i32(1),)),
            Outcome.ok((i32(2),)), Outcome.ok(2 * PAGE_SIZE), err("no-memory"), err("no-memory"),
            Outcome.ok((i32(7),)), err("no-instance"), err("no-instance")]
    expect(ops, run(linker, ops), want)


def test_limits_are_matched_at_link_time(linker: DriverProcess) -> None:
    """The import's minimum against the memory's current size (not its initial one), and an
    import with a maximum wants a memory with a maximum no larger."""
    ops: list[Op] = [
        MemoryNew("nomax", 1), MemoryNew("big", 1, 3), MemoryNew("small", 0, 2), MemoryNew("tight", 1, 1),
        Instantiate(module="imp12", name="a", imports=env("nomax")),
        Instantiate(module="imp12", name="b", imports=env("big")),
        Instantiate(module="imp12", name="c", imports=env("small")),
        Grow(1, memory="small"),
        Instantiate(module="imp12", name="d", imports=env("small")), Call("size", instance="d"),
        Instantiate(module="imp12", name="e", imports=env("tight")), Call("grow", (i32(1),), instance="e"),
        Instantiate(module="imp1", name="f", imports=env("nomax")),
        Instantiate(module="imp1", name="g", imports=env("big")),
        Instantiate(module="imp12", name="h"),  # no import given
        Instantiate(module="imp12", name="i", imports=env("nope")),
        Instantiate(module="func_import", name="j", imports=env("big", "f")),  # a memory for a function
    ]
    want = [OK, OK, OK, OK, err("link-error"), err("link-error"), err("link-error"), Outcome.ok(0),
            OK, Outcome.ok((i32(1),)), OK, Outcome.ok((i32(-1),)), OK, OK, err("link-error"),
            err("no-memory"), err("link-error")]
    expect(ops, run(linker, ops), want)


def test_memory_new_limits(linker: DriverProcess) -> None:
    rt = linker.spec.id
    ops: list[Op] = [MemoryNew("a", 2, 1), MemoryNew("b", 1, 65537), MemoryNew("c", 65537),
                     MemoryNew("d", 0, 0), Grow(1, memory="d"), Size(memory="d"),
                     MemoryNew("e", 1, 2, shared=True), MemoryNew("f", 1, shared=True),
                     MemoryNew("g", 1, 2, index="i64"), Instantiate()]
    got = run(linker, ops)
    if rt == "pywasm":
        # findings, as for a module's own memory (conformance/divergences/pywasm.toml): no
        # maximum is validated (65537 pages is accepted), and a maximum of 0 reads as none
        want = [err("bad-limits"), OK, err("bad-limits"), OK, Outcome.ok(0), Outcome.ok(PAGE_SIZE),
                err("unsupported"), err("unsupported"), err("unsupported"), OK]
    elif rt in WASMER:
        want = [err("bad-limits"), err("bad-limits"), err("bad-limits"), OK, err("grow-failed"),
                Outcome.ok(0), err("unsupported"), err("unsupported"), err("unsupported"), OK]
    else:
        want = [err("bad-limits"), err("bad-limits"), err("bad-limits"), OK, err("grow-failed"),
                Outcome.ok(0), OK, err("bad-limits"), OK, OK]
    expect(ops, got, want)
    if rt in WASMER:
        assert "enables no threads" in got[6].message and "no index type" in got[8].message
    if rt == "pywasm":
        assert "no shared memories" in got[6].message and "no i64 memories" in got[8].message


def test_segments_up_to_an_instantiation_trap_stay_written(linker: DriverProcess) -> None:
    ops: list[Op] = [
        MemoryNew("m", 1), Write(30, b"\x55", memory="m"),
        Instantiate(module="segments", name="s", imports=env("m")),
        Read(0, 2, memory="m"), Read(10, 2, memory="m"), Read(20, 2, memory="m"),
        Read(65535, 1, memory="m"), Read(30, 1, memory="m"), Read(0, 1), Call("boom", instance="s"),
        Instantiate(module="trapper", name="t", imports=env("m")), Call("load", (i32(0),)),
        Size(memory="m"),
    ]
    got = run(linker, ops)
    after = [OK, Outcome.ok((i32(0x61),))]
    if linker.spec.id == "pywasm":
        # finding: pywasm's one stack keeps the trapped segment's frames, and its next
        # Runtime.instance in that store would resume them (IndexError): the driver refuses
        after = [err("poisoned"), err("no-instance")]
    want = [OK, OK, Outcome.trap("out-of-bounds"), Outcome.ok(b"ab"), Outcome.ok(b"cd"),
            Outcome.ok(b"\0\0"), Outcome.ok(b"\0"), Outcome.ok(b"\x55"), err("no-instance"),
            err("no-instance"), *after, Outcome.ok(PAGE_SIZE)]
    expect(ops, got, want)


def test_a_trap_in_one_instance(linker: DriverProcess) -> None:
    ops: list[Op] = [
        MemoryNew("m", 1), Instantiate(module="trapper", name="x", imports=env("m")),
        Instantiate(module="trapper", name="y", imports=env("m")),
        Call("boom", instance="x"), Call("load", (i32(0),), instance="x"),
        Call("load", (i32(0),), instance="y"), Call("load", (i32(0),)),
        Instantiate(module="imp1", name="z", imports=env("m")), Call("size"),
        Write(0, b"\x01", memory="m"), Read(0, 1, memory="m"),
    ]
    got = run(linker, ops)
    if linker.spec.id == "pywasm":
        # finding: a trap poisons pywasm's whole store (one stack), not only its instance
        rest = [err("poisoned"), err("poisoned"), err("poisoned"), err("poisoned"), err("no-instance")]
    else:
        zero = Outcome.ok((i32(0),))
        rest = [zero, zero, zero, OK, Outcome.ok((i32(1),))]
    want = [OK, OK, OK, Outcome.trap("unreachable"), *rest, OK, Outcome.ok(b"\x01")]
    expect(ops, got, want)


def test_a_plain_instantiate_is_as_before(linker: DriverProcess) -> None:
    ops: list[Op] = [
        MemoryNew("m", 1, 2), Instantiate(module="imp12", name="a", imports=env("m")),
        Instantiate(), Call("load", (i32(0),)), Call("store", (i32(1), i32(2)), instance="a"),
        Read(1, 1, memory="m"), Read(1, 1), Size(), Call("grow", (i32(1),)), Size(),
        Instantiate(module="imp12", imports=env("m")), Call("load", (i32(1),)),
    ]
    want = [OK, OK, OK, Outcome.ok((i32(0),)), Outcome.ok(()), Outcome.ok(b"\x02"), Outcome.ok(b"\0"),
            Outcome.ok(PAGE_SIZE), Outcome.ok((i32(1),)), Outcome.ok(2 * PAGE_SIZE), OK,
            Outcome.ok((i32(2),))]
    expect(ops, run(linker, ops), want)
    # and the next script starts without the last one's memories and instances
    ops = [Instantiate(), Read(0, 1, memory="m"), Call("load", (i32(0),), instance="a")]
    expect(ops, run(linker, ops), [OK, err("no-memory"), err("no-instance")])


def test_wasm3_says_it_cannot_link(driver: DriverProcess) -> None:
    if driver.spec.id != "wasm3":
        pytest.skip("only wasm3's driver cannot link")
    ops: list[Op] = [Instantiate(), Call("load", (i32(0),)), MemoryNew("m", 1, 2),
                     Instantiate(module="imp12", name="b", imports=env("m")), Read(0, 1, memory="m"),
                     Call("load", (i32(0),), instance="b"), Instantiate(name="a")]
    got = run(driver, ops)
    expect(ops, got, [OK, Outcome.ok((i32(0),)), err("unsupported"), err("unsupported"), err("unsupported"),
                      err("unsupported"), err("unsupported")])
    assert got[2].message == "pywasm3 has no API to create a memory on the host"
    assert got[3].message.startswith("pywasm3 has no API to give a module a memory import")
    assert "no named instances or memories" in got[4].message
