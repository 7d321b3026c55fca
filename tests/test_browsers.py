"""The browsers as runtimes: firefox, chromium and webkit, each a headless page running
conformance/drivers/js/driver.js behind the bridge conformance/drivers/js/browser_host.js.

Real browsers, no mocks: each that is installed here says hello with its own version, answers a
script on the ``bytes`` guest as node does (a view held across a grow included), calls a
component's export through jco's glue (transpiled by the bridge, loaded by the page) as node does,
a page that never answers is a ``timeout`` after which the run goes on, and a browser killed
under the bridge makes the next script a ``crash`` and a restarted bridge works again; neither
leaves a process behind.
A browser that is not installed (make setup-browsers) is a skip with the bridge's reason.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from conformance.canonical_abi import S64, STRING, U8, Field, List, Record, type_to_json
from conformance.canonical_abi.guests import ComponentToolError, component
from conformance.canonical_abi.wire import to_wire
from conformance.driver_process import DriverProcess, RuntimeUnavailable, descendants
from conformance.runtimes import known_runtimes
from conformance.script import (
    PAGE_SIZE,
    Call,
    ComponentCall,
    Grow,
    Instantiate,
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
BROWSERS = ("firefox", "chromium", "webkit")
ENGINES = {"firefox": "SpiderMonkey", "chromium": "V8", "webkit": "JavaScriptCore"}
TIMEOUT = 5.0

# A call that never returns: the page's script runs for ever.
SPIN = '(module (memory (export "memory") 1) (func (export "spin") (loop (br 0))))'
SMALL = Script.of("bytes", [Write(0, b"ok"), Read(0, 2)])


def started(runtime: str, timeout: float = TIMEOUT) -> DriverProcess:
    spec = known_runtimes()[runtime]
    if spec.missing:
        pytest.skip(f"{runtime}: {spec.missing}")
    process = DriverProcess(spec, script_timeout=timeout)
    try:
        process.start()
    except RuntimeUnavailable as exc:
        process.close()
        pytest.skip(str(exc))
    return process


@pytest.fixture(scope="module")
def node() -> Iterator[DriverProcess]:
    process = started("node")
    yield process
    process.close()


@pytest.fixture(scope="module", params=BROWSERS)
def browser(request: pytest.FixtureRequest) -> Iterator[DriverProcess]:
    process = started(request.param)
    yield process
    process.close()


def said(outcome: Outcome) -> str:
    """What is compared: ``ok <value>``, ``error detached``, ``trap out-of-bounds`` (not the
    engine's own words)."""
    if outcome.kind != "ok":
        return f"{outcome.kind} {outcome.reason}"
    value = outcome.value
    if isinstance(value, bytes):
        return f"ok {value.hex()}"
    if isinstance(value, tuple):
        return "ok " + " ".join(str(v.bits) for v in value) if value else "ok []"
    return "ok" if value is None else f"ok {value}"


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan here may stay one: PID 1 need not reap)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def left_alive(pids: list[int], within: float = 5.0) -> list[int]:
    end = time.monotonic() + within
    while True:
        left = [p for p in pids if alive(p)]
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.1)


def tree(process: DriverProcess) -> list[int]:
    """The bridge and every process under it (the browser and its helpers)."""
    assert process.proc is not None
    return [process.proc.pid, *descendants(process.proc.pid)]


def test_the_hello_names_the_browser_and_its_version(browser: DriverProcess) -> None:
    hello = browser.hello
    assert hello is not None
    assert hello.runtime == browser.spec.id
    assert hello.version and hello.version != "?" and any(c.isdigit() for c in hello.version), hello
    assert str(hello.info["engine"]).startswith(ENGINES[browser.spec.id]), hello.info
    assert hello.info["cross_origin_isolated"] is True, hello.info  # COOP/COEP from the bridge's server
    assert not browser.binary  # the bridge offers hex only


def test_a_bytes_script_gives_what_node_gives(browser: DriverProcess, node: DriverProcess) -> None:
    end = PAGE_SIZE
    ops = (
        Instantiate(),
        Write(end - 2, b"\x01\x02"),
        Read(end - 2, 4),  # Uint8Array.slice clamps at the end: a short read, on every engine
        Call("checksum", (i32(end - 2), i32(2))),
        Write(end - 1, b"\x01\x02"),  # past the end: RangeError
        Call("load_u8", (i32(end),)),  # the guest past the end: a trap
        View("v"),
        ViewRead("v", end - 2, 2),
        Call("grow", (i32(1),)),  # the guest grows: the view's ArrayBuffer is detached
        ViewLength("v"),
        ViewRead("v", 0, 1),
        Size(),
        View("w"),
        Grow(1),  # the host grows
        ViewWrite("w", 0, b"\x09"),
        ViewLength("w"),
        Write(3 * PAGE_SIZE - 1, b"\x7f"),
        Read(3 * PAGE_SIZE - 1, 1),
        Call("load_u8", (i32(3 * PAGE_SIZE - 1),)),
        Call("size"),
        Grow(70000),  # past the largest memory: refused
    )
    script = Script("bytes", ops)
    got = browser.run(script)
    want = node.run(script)
    assert (got.status, want.status) == ("ok", "ok"), (got.detail, want.detail)
    pairs = zip(ops, got.outcomes, want.outcomes, strict=True)
    assert [said(o) for o in got.outcomes] == [said(o) for o in want.outcomes], "\n".join(
        f"{op!r}: {said(g)} / node {said(w)}" for op, g, w in pairs)


def test_a_component_call_gives_what_node_gives(browser: DriverProcess, node: DriverProcess) -> None:
    # a record with a string (UTF-8 in memory, realloc'd by the glue), an s64 (a BigInt) and a list
    t = Record("entry", (Field("name", STRING), Field("at", S64), Field("tags", List(U8))))
    value = {"name": "h\u00e9llo \U0001F600", "at": -(2**63), "tags": [0, 7, 255]}
    try:
        guest = component(t)
    except ComponentToolError as exc:
        pytest.skip(f"no guest component: {exc}")
    tj, wire = type_to_json(t), to_wire(t, value)
    script = Script.of("component", [ComponentCall("echo", (tj,), tj, (wire,)),
                                     ComponentCall("echo", (tj,), tj, (wire,)),  # the same instance again
                                     ComponentCall("no-such", (), None)], module=str(guest))
    got = browser.run(script)
    want = node.run(script)
    assert (got.status, want.status) == ("ok", "ok"), (got.detail, want.detail)
    assert [said(o) for o in got.outcomes] == [said(o) for o in want.outcomes]
    assert got.outcomes[1] == Outcome.ok(wire) and got.outcomes[2] == Outcome.ok(wire), got.outcomes
    assert got.outcomes[3].kind == "error" and got.outcomes[3].reason == "no-such-export", got.outcomes[3]
    again = browser.run(script)  # the page keeps the loaded glue: a second script instantiates it anew
    assert [said(o) for o in again.outcomes] == [said(o) for o in got.outcomes], again.detail


def test_a_page_that_never_answers_is_a_timeout_and_the_run_goes_on(browser: DriverProcess) -> None:
    before = tree(browser)
    began = time.monotonic()
    result = browser.run(Script("spin", (Instantiate(), Call("spin")), wat=SPIN))
    assert result.status == "timeout", result.detail
    assert time.monotonic() - began < TIMEOUT + 15
    assert left_alive(before) == []  # the bridge, the browser and its helpers: all gone
    assert browser.run(SMALL).status == "ok"


def test_a_killed_browser_is_a_crash_and_a_restarted_bridge_answers(browser: DriverProcess) -> None:
    assert browser.run(SMALL).status == "ok"
    assert browser.hello is not None
    pid = browser.hello.info.get("browser_pid")
    assert isinstance(pid, int) and alive(pid), browser.hello.info
    before = tree(browser)
    assert pid in before
    os.kill(pid, signal.SIGKILL)
    result = browser.run(SMALL)
    assert result.status == "crash", result.detail
    assert left_alive(before) == []
    again = browser.run(SMALL)
    assert again.status == "ok" and said(again.outcomes[-1]) == "ok 6f6b", again.detail


def test_a_bridge_killed_by_sigkill_takes_its_browser_along(browser: DriverProcess) -> None:
    # a bridge of its own: one killed between scripts is, to DriverProcess.start(), a driver that
    # exited before its hello, and the runtime would not be restarted for the later tests
    process = started(browser.spec.id)
    try:
        assert process.run(SMALL).status == "ok"
        before = tree(process)
        assert len(before) > 2  # the browser and its helpers
        assert process.proc is not None
        os.kill(process.proc.pid, signal.SIGKILL)  # the bridge alone: no exit handler of its runs
        assert left_alive(before) == []  # setpriv --pdeathsig, or a helper whose parent went
    finally:
        process.close()
