"""Limits of memory types, and the embedder's own: what is fixed, and what is the host's to choose.

The core spec fixes which limits are valid: a 32-bit memory has at most 65536 pages (4 GiB), a
64-bit one (memory64) at most 2**48 pages, and a minimum is at most the maximum. Beyond that an
embedder may refuse more, as its *implementation limits*: the JavaScript API caps a 32-bit
memory at 65536 pages (as the core spec does) and leaves a memory64's maximum to the engine (V8
refuses one above 262144 pages, 16 GiB). Such a refusal is reported as the embedder's limit, not
as a failure, provided it is a limit: every maximum up to 65536 pages is accepted, and once one
maximum is refused, so is every larger one.

- A memory the host creates (``memory_new``) of 32 bits: valid limits are accepted (and the memory
  has them: its size, and a grow to its maximum and no further), invalid ones refused
  (``error bad-limits``).
- A module's memory64 with a declared maximum, and a host-created memory64: up to 65536 pages
  accepted, past 2**48 refused, and in between accepted or refused as a limit; the limit each
  runtime has is shown in the report ("where the spec allows more than one outcome").
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance import PAGE_SIZE, Grow, Instantiate, MemoryNew, Op, Outcome, Script, Size, WasmRuntime
from conformance.checks import _leave_out as leave_out
from conformance.checks import check_script, fail_at
from conformance.script import ScriptResult

GUEST = "limits"
MAX_32 = 65536
MAX_64 = 1 << 48
MEMORY64_CANDIDATES = (1, 2, 65535, 65536, 65537, 262144, 262145, 1 << 32, 1 << 40, MAX_64, MAX_64 + 1)
"""memory64 maxima to try: around the 32-bit cap, around V8's 262144, and around 2**48"""
HOLDER = '(module (memory (export "memory") 1))'
"""the module a script that only makes host memories instantiates (a script begins with one)"""


def said(outcome: Outcome) -> str:
    return outcome.kind if outcome.kind == "ok" else f"{outcome.kind} {outcome.reason}"


# --- 32-bit memories the host creates ------------------------------------------------------------


@st.composite
def limits_32(draw: st.DrawFn) -> tuple[int, int | None]:
    lo = draw(st.integers(0, 3))
    hi = draw(st.one_of(st.none(), st.integers(max(0, lo - 1), lo + 3),
                        st.sampled_from([MAX_32 - 1, MAX_32, MAX_32 + 1, (1 << 32) - 1, 1 << 32])))
    return lo, hi


@pytest.mark.wasm_feature("host_memory")
@given(case=limits_32())
@example(case=(1, MAX_32))
@example(case=(1, MAX_32 + 1))
@example(case=(2, 1))
@example(case=(0, 0))
@example(case=(1, 1 << 32))
def test_host_memory_limits(wasm_runtime: WasmRuntime, case: tuple[int, int | None]) -> None:
    """A 32-bit memory the host creates with valid limits (minimum at most the maximum, maximum at
    most 65536 pages) is made with them: its size is its minimum, and it grows to its maximum and
    no further. Invalid limits are refused (bad-limits)."""
    lo, hi = case
    valid = hi is None or lo <= hi <= MAX_32
    host_grow = wasm_runtime.features is None or wasm_runtime.features.has("host_grow")
    ops: list[Op] = [MemoryNew("m", lo, hi), Instantiate(), Size(memory="m")]
    if host_grow:
        ops.append(Grow(1, memory="m"))
    outcomes = check_script(wasm_runtime, Script(GUEST, tuple(ops), wat=HOLDER))
    if not valid:
        assert said(outcomes[0]) == "error bad-limits", (
            f"a memory of ({lo}, {hi}) pages is not a valid 32-bit memory: {outcomes[0]}")
        assert said(outcomes[2]) == "error no-memory"
        return
    assert outcomes[0] == Outcome.ok(), f"a memory of ({lo}, {hi}) pages is valid: {outcomes[0]}"
    assert outcomes[2] == Outcome.ok(lo * PAGE_SIZE)
    if host_grow:
        grows = hi is None or lo + 1 <= hi
        assert said(outcomes[3]) == ("ok" if grows else "error grow-failed"), (
            f"a grow by 1 of a memory of ({lo}, {hi}) pages: {outcomes[3]}")
        if grows:
            assert outcomes[3] == Outcome.ok(lo)


# --- memory64 maxima: fixed edges, and the embedder's limit between them ------------------------


def judge_limit(runtime: WasmRuntime, what: str, tried: list[tuple[int, Script, ScriptResult, int]]) -> None:
    """Each (maximum, script, result, index of the operation that made the memory) in increasing
    maximum: a maximum up to 65536 pages accepted, past 2**48 refused, and the refusals in between
    a limit (every maximum past a refused one refused too). What it did between 65536 and 2**48
    pages is noted for the report, which shows the edge."""
    refused_at: int | None = None
    for maximum, script, result, index in tried:
        if result.status != "ok":
            check_script(runtime, script)  # a crash or a timeout fails as every property's does
        got = result.outcomes[index]
        refused = got.kind == "error" and got.reason in ("invalid-module", "bad-limits")
        expected = ""
        if maximum > MAX_64 and not refused:
            expected = f"a refusal: a maximum of {maximum} pages is past 2**48, invalid for any memory64"
        elif maximum <= MAX_32 and not got.same_as(Outcome.ok()):
            expected = f"ok: a memory64 maximum of {maximum} pages is within any embedder's limits"
        elif refused_at is not None and not refused and maximum <= MAX_64:
            expected = (f"a refusal: {refused_at} pages was refused as the embedder's limit, so a larger "
                        f"maximum ({maximum}) must be too")
        elif not refused and got.kind != "ok":
            expected = f"ok, or a refusal (the embedder's limit), for a maximum of {maximum} pages"
        if expected:
            fail_at(runtime, script, result, index, expected,
                    f"{runtime.id}: {what} with a maximum of {maximum} pages gave {got}; "
                    f"expected {expected}\n"
                    f"{script.describe()}\n")
        if refused and maximum <= MAX_64 and refused_at is None:
            refused_at = maximum
        if MAX_32 < maximum <= MAX_64:  # where the embedder chooses: the report shows the edge
            runtime.note(f"{what}: {'refuses' if refused else 'accepts'} a maximum of {maximum} pages")


maxima = st.lists(st.sampled_from(MEMORY64_CANDIDATES), min_size=2, max_size=4, unique=True).map(sorted)


@pytest.mark.wasm_feature("memory64")
@given(tried=maxima)
@example(tried=[65536, 262144, 262145, MAX_64, MAX_64 + 1])
def test_memory64_declared_maximum(wasm_runtime: WasmRuntime, tried: list[int]) -> None:
    """A module's memory64 with a declared maximum instantiates up to 65536 pages, is refused past
    2**48 (invalid), and in between instantiates, or is refused as the embedder's limit: once one
    maximum is refused, every larger one is."""
    runs = []
    for maximum in tried:
        script = Script.of(GUEST, [Size()], wat=f'(module (memory (export "memory") i64 1 {maximum}))')
        runs.append((maximum, script, wasm_runtime.run(script), 0))
    judge_limit(wasm_runtime, "a module's memory64", runs)


@pytest.mark.wasm_feature("host_memory", "memory64")
@given(tried=maxima)
@example(tried=[2, 65536, 262144, 262145, MAX_64, MAX_64 + 1])
def test_host_memory64_maximum(wasm_runtime: WasmRuntime, tried: list[int]) -> None:
    """The same for a memory64 the host creates: up to 65536 pages made, past 2**48 refused
    (bad-limits), in between made or refused as the embedder's limit; a small maximum is the
    memory's (a grow past it fails). A host API that cannot make a 64-bit memory at all
    (unsupported) leaves the example out."""
    runs = []
    host_grow = wasm_runtime.features is None or wasm_runtime.features.has("host_grow")
    for maximum in tried:
        ops: list[Op] = [MemoryNew("m", 1, maximum, index="i64"), Instantiate(), Size(memory="m")]
        if maximum <= 2 and host_grow:  # a small maximum is the memory's: it grows to it, no further
            ops += [Grow(maximum, memory="m")]
        script = Script(GUEST, tuple(ops), wat=HOLDER)
        result = wasm_runtime.run(script)
        if result.status == "ok" and said(result.outcomes[0]) == "error unsupported":
            leave_out(wasm_runtime, f"{wasm_runtime.id} cannot create a 64-bit memory on the host: "
                                    f"{result.outcomes[0].message}")
        runs.append((maximum, script, result, 0))
        if len(ops) == 4 and result.status == "ok" and said(result.outcomes[3]) != "error grow-failed":
            fail_at(wasm_runtime, script, result, 3, "error grow-failed",
                    f"{wasm_runtime.id}: a host-created memory64 of 1 page, at most {maximum}, grown by "
                    f"{maximum} pages gave {result.outcomes[3]}, past its maximum\n{script.describe()}\n")
    judge_limit(wasm_runtime, "a host-created memory64", runs)
