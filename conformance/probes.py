"""Feature probes: what a runtime really does, asked once per run, never from a table.

Each probe is a boundary script on a probe guest (``guest-modules/probe_*.wat``) with the
outcomes the spec gives it. A probe has three answers, and only one of them is "absent":

- ``works``: every outcome as the spec says;
- ``absent``: the runtime *refused* the module or the instruction (``invalid-module``,
  ``unsupported``, a ``bad-call`` for a value type its host API cannot pass): the
  properties that need the feature are skipped with that reason;
- ``wrong``: the module loaded and answered wrongly (or the driver crashed or hung). That is a
  failure, never a missing feature: the properties that need the feature run and fail, and
  ``test_probes.py`` fails with the probe's own script.

The largest memory is found by growing the ``bytes`` guest in steps up to a cap that depends on
the profile; a runtime whose growth is virtual (a memory grown to the cap and by one page more
barely moves the driver's peak resident memory) is taken on to 65536 pages, 4 GiB, where it
costs nothing. The capacity probe's own answers must agree with each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

# (imported here, not when a JS host is first probed: Hypothesis draws on the constants of the
# local modules loaded so far, so a module imported while one runtime's tests run would give the
# next runtime other examples than the first had)
from conformance.canonical_abi.guests import ensure_transpiled
from conformance.driver_process import DriverProcess, memory_of
from conformance.guests import module_of
from conformance.script import (
    PAGE_SIZE,
    Call,
    ComponentCall,
    Grow,
    Import,
    Instantiate,
    MemoryNew,
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

FEATURES = ("bulk_memory", "multi_memory", "memory64", "host_grow", "view", "i64_boundary", "extended_const",
            "import_memory", "host_memory", "shared_memory", "const_global", "resizable_buffer",
            "component_model", "component_utf16", "component_latin1_utf16")
STRING_ENCODING_PROBES = {"utf16": "component_utf16", "latin1+utf16": "component_latin1_utf16"}
"""the probe of each string encoding a component's canon lift may ask for besides UTF-8"""
STRING_ENCODING_FALLBACK = {"latin1+utf16": "utf16", "utf16": "utf8"}
HOST_APIS = ("host_grow", "view")
"""Host APIs a runtime may lack (error unsupported): only where the probe found one refused does
the model accept "unsupported" for it later."""
CAPACITY_STEPS = (16, 256, 4096, 16384, 32768, 65536)
VIRTUAL_GROWTH_MIB = 64
"""Growing to 1 GiB raised the driver's peak resident memory by less than this: growth is virtual."""
VIRTUAL_GROWTH_SECONDS = 2.0
FOUR_GIB_PAGES = 65536
REFUSALS = {"invalid-module", "unsupported"}
"""Error reasons by which a runtime refuses a module or an instruction: the feature is absent."""
i32 = Value.i32
i64 = Value.i64
ProbeState = Literal["works", "absent", "wrong"]


@dataclass(frozen=True, slots=True)
class Probe:
    """One feature's probe: its script and the outcomes the spec gives each operation."""

    feature: str
    script: Script
    expected: tuple[Outcome, ...]
    refusals: frozenset[str] = frozenset(REFUSALS)
    why_absent: str = ""
    spec_only: bool = False
    """the reference runtime lacks the feature: its outcomes are checked against ``expected`` alone"""


EXTENDED_CONST_WAT = """(module
  (memory (export "memory") 1)
  (data (i32.sub (i32.add (i32.const 8) (i32.mul (i32.const 2) (i32.const 4))) (i32.const 3)) "\\2a"))
"""


RESIZABLE_WAT = """(module
  (memory (export "memory") 1 4)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "store_u8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))
"""
CONST_GLOBAL_WAT = """(module
  (global $at i32 (i32.const 13))
  (memory (export "memory") 1)
  (data (global.get $at) "\\2a"))
"""
IMPORTER_WAT = """(module
  (import "env" "memory" (memory 1 2))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))
"""
EXPORTER_WAT = """(module
  (memory (export "memory") 1 2)
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))
"""
SHARED_WAT = """(module
  (memory (export "memory") 1 2 shared)
  (func (export "add") (param i32 i32) (result i32) (i32.atomic.rmw.add (local.get 0) (local.get 1))))
"""
COMPONENT_WAT = """(component
  (core module $m
    (func (export "echo") (param i32) (result i32) (local.get 0)))
  (core instance $i (instantiate $m))
  (func (export "echo") (param "x" u32) (result u32) (canon lift (core func $i "echo"))))
"""
"""a component (the Component Model) whose export echo: func(x: u32) -> u32 returns x"""


def string_component_wat(encoding: str) -> str:
    """A component whose export echo: func(x: string) -> string returns x, its ``canon lift`` in
    ``encoding``; its realloc bumps and copies (a host may shrink or grow a string's block)."""
    return f"""(component
  (core module $m
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 0x100))
    (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
      (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $size)))
      (memory.copy (local.get $p) (local.get $old)
        (select (local.get $old_size) (local.get $size) (i32.lt_u (local.get $old_size) (local.get $size))))
      (local.get $p))
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 8) (local.get 0))
      (i32.store (i32.const 12) (local.get 1))
      (i32.const 8)))
  (core instance $i (instantiate $m))
  (func (export "echo") (param "x" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))
      string-encoding={encoding})))
"""


def _string_probe(feature: str, encoding: str) -> Probe:
    # Latin-1 and past it (a code point >= 0x100, one past the BMP): both forms of latin1+utf16
    texts = ("a\u00e9\u00ff", "\u20ac\U0001F600")
    calls = [ComponentCall("echo", ("string",), "string", (text,)) for text in texts]
    return Probe(feature, Script.of("probe_" + feature, calls, wat=string_component_wat(encoding)),
                 (Outcome.ok(), *(Outcome.ok(text) for text in texts)), frozenset(REFUSALS),
                 f"the host cannot lower and lift strings as {encoding}")
LINK_REFUSALS = REFUSALS | {"link-error"}
"""a driver or binding that cannot give a module imports may say so as a link error"""


def _link_probe(feature: str, ops: list[Any], expect: list[Outcome], why_absent: str) -> Probe:
    script = Script("probe_" + feature, tuple(ops), wat=EXPORTER_WAT, modules=(("importer", IMPORTER_WAT),))
    return Probe(feature, script, tuple(expect), frozenset(LINK_REFUSALS), why_absent)


def _probe(feature: str, guest: str, ops: list[Any], expect: list[Outcome], *,
           refusals: set[str] = REFUSALS, why_absent: str = "") -> Probe:
    return Probe(feature, Script.of(guest, ops), (Outcome.ok(), *expect), frozenset(refusals), why_absent)


PROBES: dict[str, Probe] = {p.feature: p for p in (
    _probe("bulk_memory", "probe_bulk_memory",
           [Write(0, bytes(range(1, 17))), Call("fill", (i32(8), i32(4), i32(0xAB))),
            Call("copy", (i32(0), i32(9), i32(2))), Call("copy", (i32(13), i32(11), i32(3))),
            Read(0, 17)],
           [Outcome.ok(), Outcome.ok(()), Outcome.ok(()), Outcome.ok(()),
            # a copy down (dst < src), then an overlapping copy up (dst > src): memmove both ways
            Outcome.ok(bytes([0xAB, 0xAB, 3, 4, 5, 6, 7, 8, 0xAB, 0xAB, 0xAB, 0xAB, 13, 0xAB, 13, 14, 0]))]),
    _probe("multi_memory", "probe_multi_memory",
           [Call("store_in_second", (i32(3), i32(7))), Read(3, 1),
            Call("load_from_second", (i32(3),))],
           [Outcome.ok(()), Outcome.ok(b"\x00"), Outcome.ok((i32(7),))]),
    _probe("memory64", "probe_memory64",
           [Write(PAGE_SIZE - 1, b"\x05"), Call("load_u8", (i64(PAGE_SIZE - 1),)),
            # an address of 64 bits, not cut to 32: past the end of a 1-page memory
            Call("load_u8", (i64((1 << 32) + PAGE_SIZE - 1),)), Call("size")],
           [Outcome.ok(), Outcome.ok((i32(5),)), Outcome.trap("out-of-bounds"), Outcome.ok((i64(1),))],
           why_absent="a runtime without memory64 refuses the module"),
    # the host API grows memory (wasm3's Python binding has no such call)
    _probe("host_grow", "bytes", [Grow(1), Size(), Call("size")],
           [Outcome.ok(1), Outcome.ok(2 * PAGE_SIZE), Outcome.ok((i32(2),))]),
    # a zero-copy view of memory the host keeps (wasmtime's data_ptr, a JS Uint8Array, ...)
    _probe("view", "bytes",
           [View("v"), ViewWrite("v", 8, b"\x2a"), Read(8, 1), Write(9, b"\x07"), ViewRead("v", 8, 2),
            ViewLength("v")],
           [Outcome.ok(PAGE_SIZE), Outcome.ok(), Outcome.ok(b"\x2a"), Outcome.ok(), Outcome.ok(b"\x2a\x07"),
            Outcome.ok(PAGE_SIZE)]),
    # i64 values cross the call boundary both ways (a JS API before BigInt integration cannot)
    # (a positive value first: a host that passes those and refuses a negative one is wrong, not
    # lacking i64)
    _probe("i64_boundary", "scalars",
           [Call("store_i64", (i32(8), i64(0x0102030405060708))), Read(8, 8), Call("load_i64", (i32(8),)),
            Call("store_i64", (i32(16), i64(0x8070605040302010))), Read(16, 8), Call("load_i64", (i32(16),))],
           [Outcome.ok(()), Outcome.ok(bytes.fromhex("0807060504030201")),
            Outcome.ok((i64(0x0102030405060708),)),
            Outcome.ok(()), Outcome.ok(bytes.fromhex("1020304050607080")),
            Outcome.ok((i64(0x8070605040302010),))],
           refusals=REFUSALS | {"bad-call"}),
    # Wasm 3.0's extended constant expressions (i32.add, i32.sub, i32.mul) as a data segment's
    # offset: 8 + 2 * 4 - 3 = 13 (a runtime without them refuses the module)
    Probe("extended_const", Script.of("probe_extended_const", [Read(12, 3)], wat=EXTENDED_CONST_WAT),
          (Outcome.ok(), Outcome.ok(b"\x00\x2a\x00")), frozenset(REFUSALS),
          "a runtime without extended constant expressions refuses the module"),
    # Wasm 3.0: global.get of the module's own immutable global in a data segment's offset (before,
    # only an imported global's)
    Probe("const_global", Script.of("probe_const_global", [Read(12, 3)], wat=CONST_GLOBAL_WAT),
          (Outcome.ok(), Outcome.ok(b"\x00\x2a\x00")), frozenset(REFUSALS),
          "a runtime that allows only imported globals in constant expressions refuses the module"),
    # the JavaScript API's Memory.prototype.toResizableBuffer: a length-tracking view that a grow
    # resizes in place, never detaches (a host without such views answers unsupported)
    Probe("resizable_buffer",
          Script.of("probe_resizable_buffer",
                    [View("r", kind="resizable"), Call("grow", (i32(1),)), ViewLength("r"),
                     Call("store_u8", (i32(PAGE_SIZE + 4), i32(7))), ViewRead("r", PAGE_SIZE + 4, 1)],
                    wat=RESIZABLE_WAT),
          (Outcome.ok(), Outcome.ok(PAGE_SIZE), Outcome.ok((i32(1),)), Outcome.ok(2 * PAGE_SIZE),
           Outcome.ok(()), Outcome.ok(b"\x07")),
          frozenset(REFUSALS), "the host has no resizable buffer views", spec_only=True),
    # the Component Model: a component's export called with a WIT value, lifted and lowered by the host
    # (a u32 past 2**31: an unsigned value, not a signed i32); a driver that runs no components
    # refuses (unsupported, or its instantiate invalid-module)
    Probe("component_model",
          Script.of("probe_component_model",
                    [ComponentCall("echo", ("u32",), "u32", (7,)),
                     ComponentCall("echo", ("u32",), "u32", (0xFFFF_FFFE,))], wat=COMPONENT_WAT),
          (Outcome.ok(), Outcome.ok(7), Outcome.ok(0xFFFF_FFFE)),
          frozenset(REFUSALS), "the host runs no components"),
    # strings in a component whose canon lift says string-encoding=utf16, or latin1+utf16
    _string_probe("component_utf16", "utf16"),
    _string_probe("component_latin1_utf16", "latin1+utf16"),
    # one instance exports its memory, a second imports it: each sees the other's stores
    _link_probe("import_memory",
                [Instantiate(name="a"), Instantiate(module="importer", name="b",
                                                    imports=(Import("env", "memory", "a.memory"),)),
                 Call("store", (i32(3), i32(7)), instance="b"), Call("load", (i32(3),), instance="a"),
                 Read(3, 1, memory="a.memory"), Size(memory="a.memory")],
                [Outcome.ok(), Outcome.ok(), Outcome.ok(()), Outcome.ok((i32(7),)), Outcome.ok(b"\x07"),
                 Outcome.ok(PAGE_SIZE)],
                "the driver cannot give a module an imported memory"),
    # the host creates a memory and gives it to a module
    _link_probe("host_memory",
                [MemoryNew("m", 1, 2), Instantiate(module="importer", name="b",
                                                   imports=(Import("env", "memory", "m"),)),
                 Write(3, b"\x07", memory="m"), Call("load", (i32(3),)), Call("store", (i32(4), i32(9))),
                 Read(4, 1, memory="m"), Size(memory="m")],
                [Outcome.ok(), Outcome.ok(), Outcome.ok(), Outcome.ok((i32(7),)), Outcome.ok(()),
                 Outcome.ok(b"\x09"), Outcome.ok(PAGE_SIZE)],
                "the host API cannot create a memory"),
    # a module defines a shared memory (the threads proposal) and runs an atomic read-modify-write
    Probe("shared_memory",
          Script.of("probe_shared_memory", [Call("add", (i32(0), i32(5))), Call("add", (i32(0), i32(5))),
                                            Read(0, 4), Size()], wat=SHARED_WAT),
          (Outcome.ok(), Outcome.ok((i32(0),)), Outcome.ok((i32(5),)), Outcome.ok(b"\x0a\0\0\0"),
           Outcome.ok(PAGE_SIZE)),
          frozenset(LINK_REFUSALS), "a runtime without threads refuses a shared memory"),
)}


@dataclass
class Features:
    present: dict[str, bool] = field(default_factory=dict)
    """the feature works as the spec says"""
    state: dict[str, ProbeState] = field(default_factory=dict)
    detail: dict[str, str] = field(default_factory=dict)
    max_pages: int | None = None
    """the most pages the guest's memory.grow reached in this run (a lower bound of what the
    runtime can do: a refusal below it is not one for lack of resources)"""
    capacity_cap: int = 0
    growth: str = ""
    """whether growth is virtual (a reservation) or committed, as measured"""
    cheap_pages: int = 0
    """the most pages reached where growth is virtual (memory at that size costs nothing until
    touched): properties that need a 4 GiB memory run where this reaches 65535"""
    capacity_wrong: str = ""
    """the capacity probe's answers disagreed with each other (a failure, in test_probes.py)"""
    capacity_script: Script | None = None
    """the capacity probe's script whose answers disagreed"""

    def has(self, feature: str) -> bool:
        return self.present.get(feature, False)

    def absent(self, feature: str) -> bool:
        """The runtime refused the feature's module or instruction (a skip, not a failure)."""
        return self.state.get(feature) == "absent"

    def absent_apis(self) -> frozenset[str]:
        """The host APIs the probes found refused (the model accepts "unsupported" for these only)."""
        return frozenset(api for api in HOST_APIS if self.absent(api))

    def string_encoding(self, encoding: str) -> str:
        """The encoding a component's examples drawn in ``encoding`` run in on this host: that one,
        or where its probe found it refused, the next the host has (latin1+utf16, then utf16, then
        utf8). A probe that answered wrongly is no refusal: its examples still run there."""
        while encoding in STRING_ENCODING_PROBES and self.absent(STRING_ENCODING_PROBES[encoding]):
            encoding = STRING_ENCODING_FALLBACK[encoding]
        return encoding

    def why_not(self, feature: str) -> str:
        return self.detail.get(feature, "not probed")

    def to_json(self) -> dict[str, Any]:
        return {
            "features": self.present,
            "state": self.state,
            "detail": self.detail,
            "max_pages": self.max_pages,
            "max_pages_probed_up_to": self.capacity_cap,
            "growth": self.growth,
            "cheap_pages": self.cheap_pages,
            "capacity_wrong": self.capacity_wrong,
        }


def judge(probe: Probe, result_status: str, outcomes: tuple[Outcome, ...], detail: str = "",
          ) -> tuple[ProbeState, str]:
    """What a probe's outcomes say: works, absent (refused) or wrong (loaded, answered wrongly)."""
    if result_status == "unavailable":
        return "absent", detail
    if result_status != "ok":
        return "wrong", f"{result_status} while probing: {detail}"
    answered = False  # an operation of the feature itself (a call, a grow) has already worked
    for op, got, want in zip(probe.script.ops, outcomes, probe.expected, strict=False):
        if got.same_as(want):
            answered = answered or op.op in ("call", "grow")
            continue
        if answered and got.kind == "error" and got.reason in probe.refusals:
            # partly there: it ran the feature's code, then refused more of it
            return "wrong", f"ran the feature's first operations, then {op.op} gave {got}, expected {want}"
        if got.kind == "error" and got.reason in probe.refusals:
            refused = "module refused" if op.op == "instantiate" else f"{op.op} refused"
            return "absent", f"{refused}: {got}" + (f" ({probe.why_absent})" if probe.why_absent else "")
        return "wrong", f"loads, but {op.op} gave {got}, expected {want}"
    if len(outcomes) != len(probe.expected):
        return "wrong", f"{len(outcomes)} outcomes for {len(probe.expected)} operations"
    return "works", "works"


def probe(process: DriverProcess, capacity_cap: int, *, virtual_cap: int | None = None) -> Features:
    """Probe one runtime (its driver already started).

    ``virtual_cap``: where growth proves virtual at ``capacity_cap`` pages, go on up to it.
    """
    out = Features(capacity_cap=capacity_cap)
    for feature, p in PROBES.items():
        if feature.startswith("component") and process.spec.family == "js":
            _transpiled_for_js(p.script)
        result = process.run(p.script)
        state, detail = judge(p, result.status, result.outcomes, result.detail)
        out.state[feature], out.detail[feature] = state, detail
        out.present[feature] = state == "works"
    virtual, out.growth = _growth_cost(process, capacity_cap)
    out.max_pages = _capacity(process, capacity_cap, out)
    if virtual and virtual_cap is not None and virtual_cap > capacity_cap and out.max_pages == capacity_cap:
        out.capacity_cap = virtual_cap
        out.max_pages = _capacity(process, virtual_cap, out)
    out.cheap_pages = (out.max_pages or 0) if virtual else min(out.max_pages or 0, capacity_cap)
    return out


def _transpiled_for_js(script: Script) -> None:
    """The probe's component transpiled by jco into its cache first: a JS host that cannot run the
    transpiler itself (deno) reads the glue from there, as it does every generated component's."""
    component = module_of(script.guest, script.module, script.wat).inline
    if component is not None:
        ensure_transpiled(component)  # (no node or jco here: the host says so itself)


def _growth_cost(process: DriverProcess, pages: int) -> tuple[bool, str]:
    """Whether growing memory costs nothing until it is touched (a reservation, as most engines
    make): a fresh instance grown to ``pages`` - 1 at once, then by 1 more page. An engine that
    commits what it grows (a zeroing realloc) or copies memory to grow it (no reservation: the
    last grow copies it all) raises the driver's peak resident memory by about the memory's size,
    and takes time in proportion; a reserving one barely moves it."""
    pid = getattr(process, "_pid", None)
    if not isinstance(pid, int) or not _reset_peak(pid):
        return False, "not measured (no /proc/PID/clear_refs to reset the peak with)"
    before = memory_of(pid)[0]
    began = time.monotonic()
    result = process.run(Script.of("bytes", [Call("grow", (i32(pages - 2),)), Call("grow", (i32(1),)),
                                             Call("size")]))
    seconds = time.monotonic() - began
    if result.status != "ok" or result.outcomes[-1].value != (i32(pages),):
        got = str(result.outcomes[-1]) if result.status == "ok" and result.outcomes else result.status
        return False, f"not measured: a memory grown towards {pages} pages ended with size {got}"
    pid = getattr(process, "_pid", pid)
    grown = (memory_of(pid)[1] - before) / (1 << 20) if isinstance(pid, int) else 0.0
    virtual = grown < VIRTUAL_GROWTH_MIB and seconds < VIRTUAL_GROWTH_SECONDS
    return virtual, (f"{'virtual' if virtual else 'committed'}: a memory grown to {pages - 1} pages and by "
                     f"1 more raised the driver's peak memory by {max(grown, 0):.0f} MiB in {seconds:.2f} s")


def _reset_peak(pid: int) -> bool:
    """Reset process ``pid``'s peak resident memory (VmHWM) to its current one."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _capacity(process: DriverProcess, cap: int, out: Features) -> int | None:
    """The most pages the guest's memory.grow reaches, up to ``cap``.

    One script grows in steps; if a step is refused, a bisection between the
    last size reached and the refused one finds the edge (each try a fresh
    instance grown in one go). Each script's answers must agree with each other (every grow
    answers the size before it, or -1; memory.size and the host's size say where it ended): a
    runtime whose answers do not is noted in ``out.capacity_wrong`` (test_probes.py fails it).
    """
    steps = [s for s in CAPACITY_STEPS if s < cap] + [cap]
    reached = _grown_to(process, steps, out)
    if reached is None or reached >= cap:
        return reached
    refused = next(s for s in steps if s > reached)
    while refused - reached > 1:
        mid = (reached + refused) // 2
        got = _grown_to(process, [mid], out)
        if got is None:
            return reached
        reached, refused = (mid, refused) if got >= mid else (reached, mid)
    return reached


def _grown_to(process: DriverProcess, targets: list[int], out: Features) -> int | None:
    """Grow the bytes guest (1 page) towards each target in turn; the size it ends at."""
    ops: list[Any] = []
    current = 1
    for target in targets:
        ops.append(Call("grow", (i32(target - current),)))
        current = target
    ops += [Call("size"), Size()]
    script = Script.of("bytes", ops)
    result = process.run(script)
    if result.status != "ok" or any(o.kind != "ok" for o in result.outcomes[-2:]):
        return None
    size = 1
    for target, outcome in zip(targets, result.outcomes[1:], strict=False):
        answer = outcome.value[0].bits if outcome.kind == "ok" and outcome.value else None
        if answer == size:
            size = target
        elif answer != 0xFFFF_FFFF:
            out.capacity_wrong = (f"grow towards {target} pages answered {outcome}, not the size "
                                  f"before it ({size}) or -1")
            out.capacity_script = script
            return size
    (pages,) = result.outcomes[-2].value
    host = result.outcomes[-1].value
    if int(pages.bits) != size or host != size * PAGE_SIZE:
        out.capacity_wrong = (f"after grows to {size} pages, memory.size answered {int(pages.bits)} "
                              f"and the host's size {host} bytes")
        out.capacity_script = script
    # (where the answers disagree, the size the grows reached still stands: the properties at
    # that size then run and fail, rather than being skipped for a memory they think smaller)
    return size
