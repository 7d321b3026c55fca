"""The Component Model's canonical ABI across hosts, against the engine (``conformance.canonical_abi``).

For each generated WIT type ``T`` a guest component is made (``canonical_abi/guests.py``: a
core module in WAT with a logging bump ``cabi_realloc``, ``echo``, ``digest``, counting
post-return functions, wrapped by jco's wasm-tools) and one script runs on the host:
``echo(v)``, ``digest([v])`` (``T`` passed in memory, the bytes the host lowered returned),
then the guest's counters and ``cabi_realloc`` log. The engine says what each must be:

- round trip: ``echo(v)`` is ``v`` (every NaN alike);
- lowering: the list ``digest`` got loads back, by the engine, as ``[v]`` (layout, endianness,
  string encoding), and where the host's ``cabi_realloc`` calls were the engine's, every byte
  the engine's ``store`` writes is the host's (padding aside);
- ``cabi_realloc``: called with exactly the arguments the engine's lowering makes for *some*
  source encoding of the host's strings. CanonicalABI.md ("Storing") makes a string's
  allocations a function of the ``String`` value's hint, its original encoding and code units;
  a host's own strings come with the hint the embedder gives them, which the spec leaves to it.
  So a host may lower as from UTF-8 (one exact allocation: wasmtime, and jco, which encodes
  first), from UTF-16 (grow to the worst case and shrink) or latin1+UTF-16; which one is noted as
  its choice. Any other sequence (a call left out, a size or an alignment no source gives) fails;
  a host that allocates nothing for an empty string is told apart in the failure (the spec
  allocates even 0 bytes: ``realloc(0, 0, 1, 0)``).
- post-return: once per call, for ``echo`` and for ``digest``.

The module needs the ``component_model`` probe (a host whose driver answers ``unsupported``
to a component call has it absent, and these are skipped); where the guest component cannot be
made (no node or no jco here: ``make setup-js``), each is skipped saying so.
"""

from __future__ import annotations

import math
import struct
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import Script, WasmRuntime
from conformance.canonical_abi import (
    STRING_ENCODINGS,
    U8,
    U32,
    BumpAllocator,
    List,
    ReallocCall,
    StringEncoding,
    Trap,
    Tuple,
    WitType,
    load,
    lower_values,
    same_value,
    type_to_json,
)
from conformance.canonical_abi.guests import ARENA, DIGEST_HEAD, LOG_CAPACITY, ComponentToolError, component
from conformance.canonical_abi.wire import from_wire, to_wire
from conformance.checks import fail_at
from conformance.script import ComponentCall, Outcome, ScriptResult
from conformance.strategies import wit_types, wit_values

pytestmark = pytest.mark.wasm_feature("component_model")

COUNTS = Tuple((U32, U32, U32))
ECHO, DIGEST, N_COUNTS, LOG = 1, 2, 3, 4
"""the operations of every script (0 is the instantiate)"""
MEMORY = 1 << 20
"""the engine's memory for its predictions: the guest grows its own as the host allocates"""


@cache
def _component(t: WitType) -> Path | str:
    try:
        return component(t)
    except ComponentToolError as exc:
        return f"no guest component: {exc}"


def guest_component(t: WitType) -> Path:
    made = _component(t)
    if isinstance(made, str):
        pytest.skip(made)
    return made


def component_script(t: WitType, v: Any) -> Script:
    tj, lj = type_to_json(t), type_to_json(List(t))
    return Script.of("component", [
        ComponentCall("echo", (tj,), tj, (to_wire(t, v),)),
        ComponentCall("digest", (lj,), type_to_json(List(U8)), (to_wire(List(t), [v]),)),
        ComponentCall("counts", (), type_to_json(COUNTS)),
        ComponentCall("realloc-log", (), type_to_json(List(U32))),
    ], module=str(guest_component(t)), note=f"T = {_wit(t)}")


def _wit(t: WitType) -> str:
    from conformance.canonical_abi import wit

    return wit(t)


def run(runtime: WasmRuntime, t: WitType, v: Any) -> tuple[Script, ScriptResult]:
    """The script's result; skipped where the host runs no components, failed where it broke."""
    script = component_script(t, v)
    result = runtime.run(script)
    if result.status == "unavailable":
        pytest.skip(result.detail)
    if result.status != "ok":
        fail_at(runtime, script, _whole(result), 0, "a result",
                f"{runtime.id}: {result.status}: {result.detail}\n")
    first = result.outcomes[0]
    if first.kind == "error" and first.reason == "unsupported" and "no jco here" in first.message:
        pytest.skip(first.message)
    for i, o in enumerate(result.outcomes):
        if o.kind != "ok":
            fail_at(runtime, script, result, i, "ok", f"{runtime.id}: operation {i} of the component script "
                    f"failed for T = {_wit(t)}\n{script.describe()}\n")
    return script, result


def _whole(result: ScriptResult) -> ScriptResult:
    if result.outcomes:
        return result
    return ScriptResult(result.status, (Outcome.error(result.status, result.detail),), result.detail)


def predicted(t: WitType, v: Any, encoding: StringEncoding, fill: int = 0) -> tuple[bytearray, BumpAllocator]:
    """The engine's lowering of the script's two calls into a fresh guest: memory and realloc calls."""
    memory = bytearray([fill]) * MEMORY
    alloc = BumpAllocator(memory, start=ARENA)
    lower_values([t], [v], max_flat=16, memory=memory, realloc=alloc, source_encoding=encoding)
    lower_values([List(t)], [[v]], max_flat=16, memory=memory, realloc=alloc, source_encoding=encoding)
    return memory, alloc


def _calls(log: list[int]) -> list[ReallocCall]:
    return [ReallocCall(*log[i:i + 5]) for i in range(0, len(log), 5)]


@given(data=st.data())
def test_echo_round_trips(wasm_runtime: WasmRuntime, data: st.DataObject) -> None:
    """echo(v) is v: the host lowers v, the guest returns what it got, the host lifts it."""
    t = data.draw(wit_types(), label="T")
    v = data.draw(wit_values(t), label="v")
    script, result = run(wasm_runtime, t, v)
    got = from_wire(t, result.outcomes[ECHO].value)
    if not same_value(got, v):
        fail_at(wasm_runtime, script, result, ECHO, f"ok {to_wire(t, v)}",
                f"{wasm_runtime.id}: echo(v) is not v for T = {_wit(t)}\n  v:   {v!r}\n  got: {got!r}\n")


@given(data=st.data())
def test_lowered_bytes_are_the_engines(wasm_runtime: WasmRuntime, data: st.DataObject) -> None:
    """The bytes the host stores for [v] (digest's parameter) are the spec's: the engine loads v
    back from them, and where the host allocated as the engine does, byte for byte (padding aside)."""
    t = data.draw(wit_types(), label="T")
    v = data.draw(wit_values(t), label="v")
    script, result = run(wasm_runtime, t, v)
    digest = bytes(from_wire(List(U8), result.outcomes[DIGEST].value))
    memory = bytearray(DIGEST_HEAD) + bytearray(digest)
    try:
        loaded = load(List(t), memory, DIGEST_HEAD)
    except Trap as exc:
        loaded = exc
    if not (isinstance(loaded, list) and len(loaded) == 1 and same_value(loaded[0], v)):
        fail_at(wasm_runtime, script, result, DIGEST, "the bytes of [v]",
                f"{wasm_runtime.id}: the list<T> it lowered for [v] does not load back as [v] "
                f"for T = {_wit(t)}\n"
                f"  v:      {v!r}\n  loaded: {loaded!r}\n  bytes at {DIGEST_HEAD:#x}: {digest.hex()}\n")
    log = _calls(from_wire(List(U32), result.outcomes[LOG].value))
    encoding = next((e for e in STRING_ENCODINGS if predicted(t, v, e)[1].calls == log), None)
    if encoding is None:
        return  # allocated otherwise: test_realloc_calls_are_the_engines says how
    low, alloc = predicted(t, v, encoding, 0x00)
    high, _ = predicted(t, v, encoding, 0xFF)
    host = memory[ARENA:]
    end = alloc.end
    if len(host) != end - ARENA:
        fail_at(wasm_runtime, script, result, DIGEST, f"{end - ARENA} bytes of arena",
                f"{wasm_runtime.id}: the arena is {len(host)} bytes, the engine's {end - ARENA}\n")
    for i in range(ARENA, end):
        if low[i] == high[i] and host[i - ARENA] != low[i] and not _any_nan(low, host, i):
            fail_at(wasm_runtime, script, result, DIGEST, f"byte {low[i]:#04x} at {i:#x}",
                    f"{wasm_runtime.id}: byte {i:#x} of what it lowered for T = {_wit(t)} is "
                    f"{host[i - ARENA]:#04x}, the engine's store writes {low[i]:#04x}\n"
                    f"  v: {v!r}\n  host:   {bytes(host).hex()}\n  engine: {bytes(low[ARENA:end]).hex()}\n")


_NANS = ((8, struct.pack("<Q", 0x7FF8000000000000), "<d"), (4, struct.pack("<I", 0x7FC00000), "<f"))


def _any_nan(engine: bytearray, host: bytearray, i: int) -> bool:
    """Whether byte ``i`` is in a float the engine stored as its canonical NaN and the host as a NaN:
    a host may store any NaN (CanonicalABI.md's nondeterministic profile; the engine canonicalises).
    (An integer field that happens to hold the canonical NaN's bytes passes the same way.)"""
    for width, canonical, fmt in _NANS:
        start = i - (i - ARENA) % width
        if bytes(engine[start:start + width]) == canonical:
            got = bytes(host[start - ARENA:start - ARENA + width])
            if len(got) == width and math.isnan(struct.unpack(fmt, got)[0]):
                return True
    return False


@given(data=st.data())
def test_realloc_calls_are_the_engines(wasm_runtime: WasmRuntime, data: st.DataObject) -> None:
    """cabi_realloc is called with the arguments the engine's lowering makes (old pointer, old
    size, alignment, new size) for one of the sources a host's strings may come from."""
    t = data.draw(wit_types(), label="T")
    v = data.draw(wit_values(t), label="v")
    script, result = run(wasm_runtime, t, v)
    total = from_wire(COUNTS, result.outcomes[N_COUNTS].value)[2]
    log = _calls(from_wire(List(U32), result.outcomes[LOG].value))
    engine = {e: predicted(t, v, e)[1].calls for e in STRING_ENCODINGS}

    def made(want: list[ReallocCall]) -> bool:
        return total == len(want) and (total > LOG_CAPACITY or log == want)

    sources = [e for e, want in engine.items() if made(want)]
    if sources:
        if len(sources) == 1:
            wasm_runtime.note(f"cabi_realloc: strings allocated as from a {sources[0]} source")
        return
    empties = _empty_strings(t, v) + _empty_strings(List(t), [v])
    if empties and total <= LOG_CAPACITY and any(_but_empty_strings(want, log, empties)
                                                  for want in engine.values()):
        expected = f"realloc(0, 0, 1, 0) for each of its {empties} empty strings"
    else:
        expected = f"the calls of a {', '.join(STRING_ENCODINGS)} source"

    def show(calls: list[ReallocCall]) -> str:
        return "\n".join(f"    realloc({c.old_ptr:#x}, {c.old_size}, {c.alignment}, {c.new_size}) = "
                         f"{c.result:#x}" for c in calls) or "    (none)"
    fail_at(wasm_runtime, script, result, LOG, expected,
            f"{wasm_runtime.id}: cabi_realloc was called {total} times, not as the engine calls it for any "
            f"source encoding, for echo(v) and digest([v]), T = {_wit(t)}\n  v: {v!r}\n"
            f"  host:\n{show(log)}\n"
            + "".join(f"  engine ({e} source):\n{show(want)}\n" for e, want in engine.items()))


def _empty_strings(t: WitType, v: Any) -> int:
    """How many empty strings the value holds (each a string store the spec allocates 0 bytes for)."""
    def count(tj: Any, j: Any) -> int:
        if tj == "string":
            return int(j == "")
        if isinstance(tj, str) or j is None:
            return 0
        kind = tj["kind"]
        if kind == "list":
            return sum(count(tj["element"], x) for x in j)
        if kind == "record":
            return sum(count(ft, j[label]) for label, ft in tj["fields"])
        if kind == "tuple":
            return sum(count(x, y) for x, y in zip(tj["types"], j, strict=True))
        if kind == "variant":
            ct = dict((label, ct) for label, ct in tj["cases"])[j["case"]]
            return 0 if ct is None else count(ct, j["value"])
        if kind == "option":
            return count(tj["type"], j["some"])
        if kind == "result":
            key, ct = ("ok", tj.get("ok")) if "ok" in j else ("error", tj.get("error"))
            return 0 if ct is None else count(ct, j[key])
        return 0
    return count(type_to_json(t), to_wire(t, v))


def _but_empty_strings(want: list[ReallocCall], log: list[ReallocCall], empties: int) -> bool:
    """Whether ``log`` is ``want`` without exactly ``empties`` of its ``realloc(0, 0, 1, 0)`` calls (a
    block of 0 bytes moves no later one, so the rest is unchanged)."""
    i = skipped = 0
    for call in want:
        if i < len(log) and log[i] == call:
            i += 1
        elif (call.old_ptr, call.old_size, call.alignment, call.new_size) == (0, 0, 1, 0):
            skipped += 1
        else:
            return False
    return i == len(log) and skipped == empties


@given(data=st.data())
def test_post_return_runs_once_per_call(wasm_runtime: WasmRuntime, data: st.DataObject) -> None:
    """Each call's post-return function runs exactly once, after the host has lifted the result."""
    t = data.draw(wit_types(), label="T")
    v = data.draw(wit_values(t), label="v")
    script, result = run(wasm_runtime, t, v)
    echo, digest, _ = from_wire(COUNTS, result.outcomes[N_COUNTS].value)
    if (echo, digest) != (1, 1):
        fail_at(wasm_runtime, script, result, N_COUNTS, "post-return counts (1, 1)",
                f"{wasm_runtime.id}: post-return ran {echo} times for echo and {digest} for digest "
                f"(once each), T = {_wit(t)}\n")
