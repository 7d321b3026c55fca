"""Feature probes: what a runtime really does, asked once per run, never from a table.

Each probe is a boundary script on a probe guest (``guest-modules/probe_*.wat``).
A feature is present when its module instantiates and its instructions do what
they say; the largest memory is found by growing the ``bytes`` guest in steps
up to a cap that depends on the profile (a grow can really allocate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.driver_process import DriverProcess
from conformance.script import PAGE_SIZE, Call, Grow, Outcome, Read, Script, Size, Value, Write

FEATURES = ("bulk_memory", "multi_memory", "memory64", "host_grow")
CAPACITY_STEPS = (16, 256, 4096, 16384, 32768, 65536)
i32 = Value.i32


@dataclass
class Features:
    present: dict[str, bool] = field(default_factory=dict)
    detail: dict[str, str] = field(default_factory=dict)
    max_pages: int | None = None
    capacity_cap: int = 0

    def has(self, feature: str) -> bool:
        return self.present.get(feature, False)

    def why_not(self, feature: str) -> str:
        return self.detail.get(feature, "not probed")

    def to_json(self) -> dict[str, Any]:
        return {
            "features": self.present,
            "detail": self.detail,
            "max_pages": self.max_pages,
            "max_pages_probed_up_to": self.capacity_cap,
        }


def _ran(process: DriverProcess, guest: str, ops: list[Any], expect: list[Outcome]) -> tuple[bool, str]:
    result = process.run(Script.of(guest, ops))
    if result.status != "ok":
        return False, f"{result.status}: {result.detail}"
    first = result.outcomes[0]
    if first.kind != "ok":
        return False, f"module refused: {first}"
    for op, got, want in zip(ops, result.outcomes[1:], expect, strict=True):
        if not got.same_as(want):
            return False, f"{type(op).__name__.lower()} gave {got}, expected {want}"
    return True, "works"


def probe(process: DriverProcess, capacity_cap: int) -> Features:
    """Probe one runtime (its driver already started)."""
    out = Features(capacity_cap=capacity_cap)
    checks: dict[str, tuple[str, list[Any], list[Outcome]]] = {
        "bulk_memory": ("probe_bulk_memory",
                        [Call("fill", (i32(8), i32(4), i32(0xAB))),
                         Call("copy", (i32(0), i32(9), i32(2))), Read(0, 4)],
                        [Outcome.ok(()), Outcome.ok(()), Outcome.ok(b"\xab\xab\x00\x00")]),
        "multi_memory": ("probe_multi_memory",
                         [Call("store_in_second", (i32(3), i32(7))), Read(3, 1),
                          Call("load_from_second", (i32(3),))],
                         [Outcome.ok(()), Outcome.ok(b"\x00"), Outcome.ok((i32(7),))]),
        "memory64": ("probe_memory64",
                     [Write(PAGE_SIZE - 1, b"\x05"), Call("load_u8", (Value.i64(PAGE_SIZE - 1),))],
                     [Outcome.ok(), Outcome.ok((i32(5),))]),
        # the host API grows memory (wasm3's Python binding has no such call)
        "host_grow": ("bytes", [Grow(1), Size(), Call("size")],
                      [Outcome.ok(1), Outcome.ok(2 * PAGE_SIZE), Outcome.ok((i32(2),))]),
    }
    for feature, (guest, ops, expect) in checks.items():
        out.present[feature], out.detail[feature] = _ran(process, guest, ops, expect)
    out.max_pages = _capacity(process, capacity_cap)
    return out


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
