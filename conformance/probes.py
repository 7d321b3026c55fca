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
the profile; in the default profile a runtime whose growth is virtual (its peak resident memory
barely moves while it grows to 1 GiB) is taken on to 65536 pages, 4 GiB, where it costs nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from conformance.driver_process import DriverProcess, memory_of
from conformance.script import (
    PAGE_SIZE,
    Call,
    Grow,
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

FEATURES = ("bulk_memory", "multi_memory", "memory64", "host_grow", "view", "i64_boundary")
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
    """how growing to 1 GiB moved the driver's peak resident memory: virtual or committed"""

    def has(self, feature: str) -> bool:
        return self.present.get(feature, False)

    def absent(self, feature: str) -> bool:
        """The runtime refused the feature's module or instruction (a skip, not a failure)."""
        return self.state.get(feature) == "absent"

    def absent_apis(self) -> frozenset[str]:
        """The host APIs the probes found refused (the model accepts "unsupported" for these only)."""
        return frozenset(api for api in HOST_APIS if self.absent(api))

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

    ``virtual_cap``: where growth to ``capacity_cap`` pages proves virtual, go on up to it.
    """
    out = Features(capacity_cap=capacity_cap)
    for feature, p in PROBES.items():
        result = process.run(p.script)
        state, detail = judge(p, result.status, result.outcomes, result.detail)
        out.state[feature], out.detail[feature] = state, detail
        out.present[feature] = state == "works"
    peak_before = _peak(process)
    began = time.monotonic()
    out.max_pages = _capacity(process, capacity_cap)
    seconds = time.monotonic() - began
    grown_mib = (_peak(process) - peak_before) / (1 << 20)
    if out.max_pages is not None and out.max_pages >= capacity_cap:
        virtual = grown_mib < VIRTUAL_GROWTH_MIB and seconds < VIRTUAL_GROWTH_SECONDS
        out.growth = (f"{'virtual' if virtual else 'committed'}: growing to {capacity_cap} pages "
                      f"raised the driver's peak memory by {max(grown_mib, 0):.0f} MiB in {seconds:.2f} s")
        if virtual and virtual_cap is not None and virtual_cap > capacity_cap:
            out.capacity_cap = virtual_cap
            out.max_pages = _capacity(process, virtual_cap)
    return out


def _peak(process: DriverProcess) -> int:
    pid = getattr(process, "_pid", None)
    return memory_of(pid)[1] if isinstance(pid, int) else 0


def _capacity(process: DriverProcess, cap: int) -> int | None:
    """The most pages the guest's memory.grow reaches, up to ``cap``.

    One script grows in steps; if a step is refused, a bisection between the
    last size reached and the refused one finds the edge (each try a fresh
    instance grown in one go).
    """
    steps = [s for s in CAPACITY_STEPS if s < cap] + [cap]
    reached = _grown_to(process, steps)
    if reached is None or reached >= cap:
        return reached
    refused = next(s for s in steps if s > reached)
    while refused - reached > 1:
        mid = (reached + refused) // 2
        got = _grown_to(process, [mid])
        if got is None:
            return reached
        reached, refused = (mid, refused) if got >= mid else (reached, mid)
    return reached


def _grown_to(process: DriverProcess, targets: list[int]) -> int | None:
    """Grow the bytes guest (1 page) towards each target in turn; the size it ends at."""
    ops: list[Any] = []
    current = 1
    for target in targets:
        ops.append(Call("grow", (i32(target - current),)))
        current = target
    ops.append(Call("size"))
    result = process.run(Script.of("bytes", ops))
    if result.status != "ok" or result.outcomes[-1].kind != "ok":
        return None
    (pages,) = result.outcomes[-1].value
    return int(pages.bits)
