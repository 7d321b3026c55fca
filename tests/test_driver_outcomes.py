"""Every driver says what its runtime did in the protocol's terms, the same way where the spec agrees.

Small modules, each carried as text in its script, run on every built-in runtime
available here (one that cannot load is skipped with its reason), and each
outcome's kind and reason is asserted: the traps of call_indirect, active
segments out of bounds at instantiation, a function that does not compile
(wasm3 compiles at a function's first call), NaN bits through the JavaScript
driver on a cold and a hot engine, and where a NaN's bits were lost.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from conformance.driver_process import DriverProcess, RuntimeUnavailable
from conformance.model import check
from conformance.runtimes import BUILTIN
from conformance.script import PAGE_SIZE, Call, Instantiate, Op, Outcome, Read, Script, Value, Write
from conformance.suite.test_endianness import (
    ARGUMENT_BY_RUNTIME,
    ARGUMENT_IN_HOST_VALUE,
    where_the_argument_changed,
)

i32 = Value.i32
U32 = 0xFFFF_FFFF
JS = ("bun", "deno", "node")


@pytest.fixture(scope="module", params=sorted(BUILTIN))
def driver(request: pytest.FixtureRequest) -> Iterator[DriverProcess]:
    process = DriverProcess(BUILTIN[request.param])
    try:
        process.start()
    except RuntimeUnavailable as exc:
        process.close()
        pytest.skip(str(exc))
    yield process
    process.close()


def run(driver: DriverProcess, ops: Sequence[Op], wat: str = "",
        guest: str = "driver-outcomes") -> list[Outcome]:
    result = driver.run(Script.of(guest, ops, wat=wat))
    assert result.status == "ok", f"{driver.spec.id}: {result.status} {result.detail}"
    return list(result.outcomes)


def said(outcome: Outcome) -> str:
    """``trap indirect-call``, ``error no-instance``, ``ok``: what is asserted on, without the message."""
    return outcome.kind if outcome.kind == "ok" else f"{outcome.kind} {outcome.reason}"


# -- call_indirect ------------------------------------------------------------------------------

# A table of 5: $f (the expected type) at 0 and 3, $g (another type) at 1, null at 2 (between
# segments) and at 4 (after the last one); 5 and up are past the table.
TABLE = """(module
  (memory (export "memory") 1)
  (type $v_i (func (result i32)))
  (table 5 funcref)
  (elem (i32.const 0) $f $g)
  (elem (i32.const 3) $f)
  (func $f (result i32) (i32.const 42))
  (func $g (param i32) (result i32) (local.get 0))
  (func (export "call") (param $i i32) (result i32)
    (call_indirect (type $v_i) (local.get $i))))"""

# index -> the spec's outcome (wast: "indirect call type mismatch", "uninitialized element",
# "undefined element"): a null entry and a signature mismatch are both indirect-call
TABLE_TRAPS = {
    1: "trap indirect-call",
    2: "trap indirect-call",
    4: "trap indirect-call",
    5: "trap table-out-of-bounds",
    U32: "trap table-out-of-bounds",
}


@pytest.mark.parametrize("index", sorted(TABLE_TRAPS))
def test_call_indirect_traps(driver: DriverProcess, index: int) -> None:
    """Past the table: table-out-of-bounds; a null entry or another type: indirect-call. Then a
    fresh instance calls through the table as usual."""
    outcomes = run(driver, [Call("call", (i32(index),)), Instantiate(), Call("call", (i32(0),)),
                            Call("call", (i32(3),))], TABLE)
    want = TABLE_TRAPS[index]
    if driver.spec.id == "wasm3" and index == 4:
        # wasm3's table ends where its last element segment ends, not at the declared size: it
        # says "undefined element" (an index past its table) for a null entry after the last
        # segment. The driver reports that as it is; the suite reports the divergence.
        want = "trap table-out-of-bounds"
    if driver.spec.id == "firefox" and want == "trap table-out-of-bounds":
        # SpiderMonkey says "index out of bounds" for a table index past the end, its words for
        # memory too: the driver cannot tell them apart (divergences/firefox.toml pins it)
        assert outcomes[1] == Outcome.trap("out-of-bounds", "index out of bounds"), outcomes[1]
        want = "trap out-of-bounds"
    assert said(outcomes[1]) == want, outcomes[1]
    assert outcomes[3] == Outcome.ok((i32(42),)) and outcomes[4] == Outcome.ok((i32(42),))


# -- active segments at instantiation ---------------------------------------------------------


def data_module(offset: int, text: str) -> str:
    return (f'(module (memory (export "memory") 1) (data (i32.const {offset}) "{text}")\n'
            '  (func (export "one") (result i32) (i32.const 1)))')


def elem_module(offset: int, count: int) -> str:
    funcs = " ".join(["$f"] * count)
    return (f'(module (memory (export "memory") 1) (table 2 funcref) (elem (i32.const {offset}) {funcs})\n'
            '  (func $f (export "one") (result i32) (i32.const 1)))')


END = PAGE_SIZE
SEGMENTS = {
    # name: (module, the outcome of (instantiate))
    "data straddling the end": (data_module(END - 1, "ab"), "trap out-of-bounds"),
    "data ending at the end": (data_module(END - 2, "ab"), "ok"),
    "empty data at the end": (data_module(END, ""), "ok"),
    "empty data one past the end": (data_module(END + 1, ""), "trap out-of-bounds"),
    "data far past the end": (data_module(U32 - 1, "ab"), "trap out-of-bounds"),
    "elements straddling the table's end": (elem_module(1, 2), "trap table-out-of-bounds"),
    "elements ending at the table's end": (elem_module(0, 2), "ok"),
    "no elements at the table's end": (elem_module(2, 0), "ok"),
    "no elements one past the table's end": (elem_module(3, 0), "trap table-out-of-bounds"),
    "elements far past the table's end": (elem_module(U32 - 1, 1), "trap table-out-of-bounds"),
}
# wasm3 sizes its table to fit the element segments (the declared size is not checked): these
# instantiate there. Nothing for the driver to translate; the suite reports the divergence.
WASM3_GROWS_ITS_TABLE = ("elements straddling the table's end", "no elements one past the table's end")


@pytest.mark.parametrize("name", sorted(SEGMENTS))
def test_active_segments_at_instantiation(driver: DriverProcess, name: str) -> None:
    """An active segment that does not fit traps at (instantiate), as the spec's instantiation
    does (out-of-bounds for memory, table-out-of-bounds for a table); one that ends exactly at
    the end fits, an empty one included. No instance is left after the trap."""
    module, want = SEGMENTS[name]
    outcomes = run(driver, [Call("one"), Read(END - 2, 2)], module)
    if driver.spec.id == "wasm3" and name in WASM3_GROWS_ITS_TABLE:
        want = "ok"
    if driver.spec.id == "firefox" and want == "trap table-out-of-bounds":
        # SpiderMonkey's words for a table index past the end are its memory ones (firefox.toml)
        assert outcomes[0] == Outcome.trap("out-of-bounds", "index out of bounds"), outcomes[0]
        want = "trap out-of-bounds"
    assert said(outcomes[0]) == want, outcomes[0]
    if want == "ok":
        assert outcomes[1] == Outcome.ok((i32(1),))
        assert outcomes[2] == Outcome.ok(b"ab" if name == "data ending at the end" else b"\0\0")
    else:
        assert [said(o) for o in outcomes[1:]] == ["error no-instance"] * 2


BULK = """(module
  (memory (export "memory") 1)
  (data $d "ab")
  (func (export "init") (param $dst i32) (param $src i32) (param $n i32)
    (memory.init $d (local.get $dst) (local.get $src) (local.get $n))))"""

INITS = {
    # (dst, src, n): the outcome of memory.init
    (END, 0, 0): "ok",
    (END + 1, 0, 0): "trap out-of-bounds",
    (END - 2, 0, 2): "ok",
    (END - 1, 0, 2): "trap out-of-bounds",
    (0, 2, 0): "ok",
    (0, 3, 0): "trap out-of-bounds",
    (0, 1, 2): "trap out-of-bounds",
}


@pytest.mark.parametrize("args", sorted(INITS))
def test_memory_init_at_the_ends(driver: DriverProcess, args: tuple[int, int, int]) -> None:
    """memory.init of 0 bytes at the end of memory or of the segment is fine, one past traps."""
    outcomes = run(driver, [Call("init", tuple(i32(a) for a in args))], BULK)
    if outcomes[0].kind != "ok":
        assert driver.spec.id == "wasm3" and said(outcomes[0]) == "error invalid-module", outcomes[0]
        pytest.skip(f"wasm3 refuses passive data segments: {outcomes[0].message}")
    assert said(outcomes[1]) == INITS[args], outcomes[1]


# -- a function that does not compile --------------------------------------------------------

INVALID = """(module
  (memory (export "memory") 1)
  (func $bad (result i32) (i64.const 0))
  (func (export "ok") (result i32) (i32.const 1))
  (func (export "via_bad") (result i32) (call $bad))
  (func (export "bad") (result i32) (i64.const 0)))"""


def test_a_function_that_does_not_compile_is_an_invalid_module(driver: DriverProcess) -> None:
    """The module is invalid: the runtime says so at (instantiate), or, if it compiles a function
    only when it is first called (wasm3) or never validates (pywasm), at that call. An export
    that exists is never reported missing; one that does not is."""
    outcomes = run(driver, [Call("ok"), Call("nosuch"), Call("bad"), Instantiate(), Call("via_bad")], INVALID)
    if said(outcomes[0]) == "error invalid-module":
        assert all(said(o) == "error no-instance" for o in outcomes[1:4])
        return
    assert driver.spec.id in ("wasm3", "pywasm"), f"{driver.spec.id} instantiated an invalid module"
    assert outcomes[1] == Outcome.ok((i32(1),))
    assert said(outcomes[2]) == "error no-such-export"
    assert said(outcomes[3]) == "error invalid-module", outcomes[3]
    assert said(outcomes[5]) == "error invalid-module", outcomes[5]


# -- compiled modules reused across scripts -------------------------------------------------

COUNTER = """(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\\01")
  (global $g (mut i32) (i32.const 0))
  (func (export "bump") (result i32)
    (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g)))"""


def test_a_reused_compiled_module_is_instantiated_afresh(driver: DriverProcess) -> None:
    """A driver compiles a module once and reuses it in later scripts (docs/protocol.md), but
    every (instantiate) is a new instance: its globals and memory start as the module says, in
    the next script, after a second (instantiate), and for a module asked "fresh"."""
    ops: list[Op] = [Read(0, 1), Call("bump"), Call("bump"), Write(0, b"\xff"), Read(0, 1)]
    want = [Outcome.ok(), Outcome.ok(b"\x01"), Outcome.ok((i32(1),)), Outcome.ok((i32(2),)), Outcome.ok(),
            Outcome.ok(b"\xff")]
    again = list(want)
    if driver.spec.id == "pywasm":  # a second instance of a ModuleDesc lacks its active data
        again[1] = Outcome.ok(b"\x00")  # segments (pinned in divergences/pywasm.toml), in one script
    for fresh in (False, False, True, False):
        result = driver.run(Script.of("counter", [*ops, Instantiate(), *ops], wat=COUNTER), fresh=fresh)
        assert result.status == "ok", f"{driver.spec.id}: {result.status} {result.detail}"
        assert list(result.outcomes) == want + again, (fresh, result.outcomes)


def test_an_invalid_module_is_refused_at_every_script(driver: DriverProcess) -> None:
    """Only a module that compiled is kept: one the runtime refused is refused again."""
    for _ in range(3):
        outcomes = run(driver, [Call("ok")], INVALID)
        if driver.spec.id not in ("wasm3", "pywasm"):
            assert said(outcomes[0]) == "error invalid-module", outcomes[0]
            assert said(outcomes[1]) == "error no-instance", outcomes[1]


# -- NaN bits through the JavaScript driver ---------------------------------------------------

F64_SNAN = 0x7FF4000000000001
F64_NEGATIVE_SNAN = 0xFFF4000000000001
F64_QNAN_PAYLOAD = 0x7FF8000000000ABC
NANS = (F64_SNAN, F64_NEGATIVE_SNAN, F64_QNAN_PAYLOAD)


def nan_ops() -> list[Op]:
    ops: list[Op] = []
    for n, bits in enumerate(NANS):
        ops += [Call("f64_from_bits_at", (i32(8 * n), Value("i64", bits))), Read(8 * n, 8),
                Call("f64_from_bits", (Value("i64", bits),)), Call("f64_bits", (Value("f64", bits),)),
                Call("echo_f64", (Value("f64", bits),))]
    return ops


@pytest.mark.parametrize("runtime", JS)
def test_js_driver_keeps_float_bits_cold_and_hot(runtime: str) -> None:
    """The JavaScript driver changes no float bits itself: the first calls of a fresh engine
    (V8's cold path, where an array of doubles canonicalised NaNs) give what the same calls
    give once the engine is hot. Where the engine's Number holds a NaN whole (V8), an f64 NaN
    result reaches the host exactly; JavaScriptCore's Number holds one NaN only."""
    process = DriverProcess(BUILTIN[runtime])
    try:
        try:
            hello = process.start()
        except RuntimeUnavailable as exc:
            pytest.skip(str(exc))
        cold = run(process, nan_ops(), guest="scalars")
        for _ in range(150):  # 150 scripts of 20 rounds: thousands of calls of each export
            run(process, nan_ops() * 20, guest="scalars")
        hot = run(process, nan_ops(), guest="scalars")
    finally:
        process.close()
    assert [str(o) for o in cold] == [str(o) for o in hot]
    for n, bits in enumerate(NANS):
        at_result, at_read, plain_result = 1 + 5 * n, 2 + 5 * n, 3 + 5 * n
        assert cold[at_read] == Outcome.ok(bits.to_bytes(8, "little"))  # the runtime kept it
        for index in (at_result, plain_result):
            got = cold[index].value[0].bits
            if hello.info.get("engine") == "V8":
                assert got == bits, f"{runtime}: result {index} is {got:#x}, not {bits:#x}"
            else:
                assert got == 0x7FF8000000000000, f"{runtime}: result {index} is {got:#x}"


# -- where NaN bits are lost --------------------------------------------------------------------

IN_HOST = "NaN payload quieted in the host's value type (the runtime kept it in memory)"
REPLACED_IN_HOST = ("NaN payload replaced by another NaN in the host's value type "
                    "(the runtime kept it in memory)")


@pytest.mark.parametrize("kind", ["f32", "f64"])
def test_nan_bits_lost_are_put_where_they_were_lost(driver: DriverProcess, kind: str) -> None:
    """A float result whose NaN payload changed while the runtime kept it whole in memory is put
    down to the host's value type; a runtime that changes the bits in memory too differs from the
    model at the read (wasm3's f32: a known divergence)."""
    bits, width, wire = (0x7FA00001, 4, "i32") if kind == "f32" else (F64_SNAN, 8, "i64")
    script = Script.of("scalars", [Call(f"{kind}_from_bits_at", (i32(16), Value(wire, bits))),  # type: ignore[arg-type]
                                   Read(16, width), Call(f"{kind}_bits", (Value(kind, bits),))])  # type: ignore[arg-type]
    result = driver.run(script)
    assert result.status == "ok", result.detail
    verdict = check(script, result.outcomes)
    if driver.spec.id == "wasm3" and kind == "f32":
        assert verdict.mismatch is not None and verdict.mismatch.index == 2  # the bytes in memory
        return
    assert verdict.ok, verdict.mismatch and verdict.mismatch.describe()
    returned = result.outcomes[1].value[0].bits
    assert result.outcomes[2].value == bits.to_bytes(width, "little")
    quieted = bits | (1 << (22 if width == 4 else 51))
    in_host = [c for c in verdict.choices if "host's value type" in c]
    assert in_host == ([] if returned == bits else [IN_HOST if returned == quieted else REPLACED_IN_HOST])
    assert not any("crossing the call boundary" in c for c in verdict.choices)
    where = where_the_argument_changed(kind, bits, result.outcomes[1], result.outcomes[3])
    received = result.outcomes[3].value[0].bits
    if received == bits:
        assert where == ""
    else:
        assert where == (ARGUMENT_BY_RUNTIME if returned == bits else ARGUMENT_IN_HOST_VALUE)


def test_a_negative_address_or_length_is_out_of_range(driver: DriverProcess) -> None:
    """Never an index from the end (a Python or JavaScript slice of [-8:-4]) nor a raw pointer before
    memory (wasmtime's view through ctypes died of SIGSEGV): every driver refuses it."""
    from conformance.script import View, ViewRead, ViewWrite, Write

    ops: list[Op] = [Read(-4, 4), Write(-1, b"\x01"), Read(0, -1), View("v"), ViewRead("v", -8, 4),
                     ViewWrite("v", -1, b"\x01")]
    outcomes = run(driver, ops, guest="bytes")[1:]
    for op, outcome in zip(ops, outcomes, strict=True):
        if isinstance(op, View):
            continue
        if isinstance(op, ViewRead | ViewWrite) and outcome.reason == "unsupported":
            continue  # a runtime without views
        assert (outcome.kind, outcome.reason) == ("error", "out-of-range"), (op, said(outcome))
