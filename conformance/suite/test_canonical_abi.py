"""The Component Model's canonical ABI across hosts, against the engine (``conformance.canonical_abi``).

For each generated WIT type ``T`` a guest component is made (``canonical_abi/guests.py``: a
core module in WAT with a logging bump ``cabi_realloc``, ``echo``, ``digest``, counting
post-return functions, wrapped by jco's wasm-tools) and one script runs on the host:
``echo(v)``, ``digest([v])`` (``T`` passed in memory, the bytes the host lowered returned),
then the guest's counters and ``cabi_realloc`` log. Where ``T`` holds a string, the component's
``canon lift`` says a generated string encoding (UTF-8, UTF-16 or latin1+UTF-16): the host lowers
and lifts its strings in it. A host the ``component_utf16`` or ``component_latin1_utf16`` probe
found without that encoding runs the example in the next one it has (latin1+UTF-16, then UTF-16,
then UTF-8), saying so in a note, so that every host runs the same examples. The engine says
what each must be:

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
  allocates even 0 bytes: ``realloc(0, 0, 1, 0)``, ``realloc(0, 0, 2, 0)`` into UTF-16).

Beside the generated examples, ``test_known_cases`` runs all four on the few values that once
showed a host wrong, so that a run always shows what the divergence files pin for them.
- post-return: once per call, for ``echo`` and for ``digest``.

The module needs the ``component_model`` probe (a host whose driver answers ``unsupported``
to a component call has it absent, and these are skipped); where the guest component cannot be
made (no node or no jco here: ``make setup-js``), each is skipped saying so.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import Script, WasmRuntime
from conformance.canonical_abi import (
    BOOL,
    STRING,
    STRING_ENCODINGS,
    U8,
    U32,
    BumpAllocator,
    Err,
    List,
    Option,
    ReallocCall,
    Result,
    StringEncoding,
    Trap,
    Tuple,
    WitType,
    children,
    load,
    lower_values,
    same_value,
    type_to_json,
)
from conformance.canonical_abi.guests import ARENA, DIGEST_HEAD, LOG_CAPACITY, ComponentToolError, component
from conformance.canonical_abi.wire import from_wire, to_wire
from conformance.checks import fail_at, run_component_script
from conformance.script import ComponentCall, Outcome, ScriptResult
from conformance.strategies import wit_types, wit_values

pytestmark = pytest.mark.wasm_feature("component_model")

COUNTS = Tuple((U32, U32, U32))
ECHO, DIGEST, N_COUNTS, LOG = 1, 2, 3, 4
"""the operations of every script (0 is the instantiate)"""
MEMORY = 1 << 20
"""the engine's memory for its predictions: the guest grows its own as the host allocates"""


@cache
def _component(t: WitType, encoding: StringEncoding) -> Path | str:
    try:
        return component(t, encoding)
    except ComponentToolError as exc:
        return f"no guest component: {exc}"


def guest_component(t: WitType, encoding: StringEncoding = "utf8") -> Path:
    made = _component(t, encoding)
    if isinstance(made, str):
        pytest.skip(made)
    return made


@dataclass(frozen=True)
class Case:
    """One example: a WIT type, a value of it, and the guest's string encoding."""

    t: WitType
    v: Any
    encoding: StringEncoding = "utf8"

    def __repr__(self) -> str:
        return f"Case(T = {_wit(self.t)}, v = {self.v!r}, string-encoding={self.encoding})"


def has_strings(t: WitType) -> bool:
    return t == STRING or any(has_strings(c) for c in children(t))


# Strings are what the canonical ABI most often gets wrong (encodings, realloc, lengths), and one
# scalar among thirteen in wit_types(): half the types have one beside another generated type.
TYPES = st.one_of(wit_types(), wit_types(max_depth=2).map(lambda t: Tuple((STRING, t))))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    t = draw(TYPES, label="T")
    v = draw(wit_values(t), label="v")
    encoding = draw(st.sampled_from(STRING_ENCODINGS), label="string-encoding") if has_strings(t) else "utf8"
    return Case(t, v, encoding)


EMPTY_STRING = Case(STRING, "")
BOOL_AFTER_INT = Case(Result(U8, BOOL), Err(False))
"""err(false) of a result whose ok case is an integer (a bool is an int to Python's isinstance)"""
AFTER_AN_OPTION = Case(Result(Option(BOOL), U8), Err(0))
"""err(0) of a result whose ok case is an option (every value is an instance of object)"""
def on_host(runtime: WasmRuntime, case: Case) -> Case:
    """The case in the host's encoding: the one drawn, or where the probes found the host refuse
    it, the next one it has (noted: ``WasmRuntime.string_encoding``)."""
    return Case(case.t, case.v, cast(StringEncoding, runtime.string_encoding(case.encoding)))


def component_script(case: Case) -> Script:
    t, v = case.t, case.v
    tj, lj = type_to_json(t), type_to_json(List(t))
    note = f"T = {_wit(t)}" + (f", string-encoding={case.encoding}" if case.encoding != "utf8" else "")
    return Script.of("component", [
        ComponentCall("echo", (tj,), tj, (to_wire(t, v),)),
        ComponentCall("digest", (lj,), type_to_json(List(U8)), (to_wire(List(t), [v]),)),
        ComponentCall("counts", (), type_to_json(COUNTS)),
        ComponentCall("realloc-log", (), type_to_json(List(U32))),
    ], module=str(guest_component(t, case.encoding)), note=note)


def _wit(t: WitType) -> str:
    from conformance.canonical_abi import wit

    return wit(t)


def run(runtime: WasmRuntime, case: Case) -> tuple[Script, ScriptResult]:
    """The script's result; skipped where the host runs no components, failed where it broke."""
    t = case.t
    script = component_script(case)
    result = run_component_script(runtime, script, f"the guest of T = {_wit(t)}")
    for i, o in enumerate(result.outcomes):
        if o.kind != "ok":
            fail_at(runtime, script, result, i, "ok", f"{runtime.id}: operation {i} of the component script "
                    f"failed for T = {_wit(t)}\n{script.describe()}\n")
    return script, result


def predicted(case: Case, source: StringEncoding, fill: int = 0) -> tuple[bytearray, BumpAllocator]:
    """The engine's lowering of the script's two calls into a fresh guest in the case's string
    encoding, the host's strings from ``source``: memory and realloc calls."""
    t, v = case.t, case.v
    memory = bytearray([fill]) * MEMORY
    alloc = BumpAllocator(memory, start=ARENA)
    for types, values in (([t], [v]), ([List(t)], [[v]])):
        lower_values(types, values, max_flat=16, memory=memory, realloc=alloc, string_encoding=case.encoding,
                     source_encoding=source)
    return memory, alloc


def _calls(log: list[int]) -> list[ReallocCall]:
    return [ReallocCall(*log[i:i + 5]) for i in range(0, len(log), 5)]


def _log(calls: list[ReallocCall]) -> list[int]:
    return [x for c in calls for x in (c.old_ptr, c.old_size, c.alignment, c.new_size, c.result)]


def replay_spec(index: int, allowed: list[Outcome]) -> list[list[Outcome]]:
    """The outcomes the spec allows each operation of a script, for ``wasm-conformance replay``
    (checks.fail_at): ``allowed`` at operation ``index``, any ``ok`` at the others (what a property
    does not fix there, a host may choose), so that a replay judges every host by the spec, not by
    the reference runtime's choices."""
    return [[Outcome.ok()] if i == 0 else allowed if i == index else [Outcome.any_ok()]
            for i in range(LOG + 1)]


@given(case=cases())
def test_echo_round_trips(wasm_runtime: WasmRuntime, case: Case) -> None:
    """echo(v) is v: the host lowers v, the guest returns what it got, the host lifts it."""
    case = on_host(wasm_runtime, case)
    check_echo(wasm_runtime, case, *run(wasm_runtime, case))


def check_echo(wasm_runtime: WasmRuntime, case: Case, script: Script, result: ScriptResult) -> None:
    t, v = case.t, case.v
    got = from_wire(t, result.outcomes[ECHO].value)
    if not same_value(got, v):
        # (a NaN may come back as another NaN: there the reference runtime judges a replay)
        spec = replay_spec(ECHO, [Outcome.ok(to_wire(t, v))]) if v == v else None
        fail_at(wasm_runtime, script, result, ECHO, f"ok {to_wire(t, v)}",
                f"{wasm_runtime.id}: echo(v) is not v for T = {_wit(t)}\n  v:   {v!r}\n  got: {got!r}\n",
                spec=spec)


@given(case=cases())
def test_lowered_bytes_are_the_engines(wasm_runtime: WasmRuntime, case: Case) -> None:
    """The bytes the host stores for [v] (digest's parameter) are the spec's: the engine loads v
    back from them (in the guest's string encoding), and where the host allocated as the engine
    does, byte for byte (padding aside)."""
    case = on_host(wasm_runtime, case)
    check_lowered_bytes(wasm_runtime, case, *run(wasm_runtime, case))


def check_lowered_bytes(wasm_runtime: WasmRuntime, case: Case, script: Script, result: ScriptResult) -> None:
    t, v = case.t, case.v
    digest = bytes(from_wire(List(U8), result.outcomes[DIGEST].value))
    memory = bytearray(DIGEST_HEAD) + bytearray(digest)
    try:
        loaded = load(List(t), memory, DIGEST_HEAD, string_encoding=case.encoding)
    except Trap as exc:
        loaded = exc
    if not (isinstance(loaded, list) and len(loaded) == 1 and same_value(loaded[0], v)):
        fail_at(wasm_runtime, script, result, DIGEST, "the bytes of [v]",
                f"{wasm_runtime.id}: the list<T> it lowered for [v] does not load back as [v] "
                f"for T = {_wit(t)}, string-encoding={case.encoding}\n"
                f"  v:      {v!r}\n  loaded: {loaded!r}\n  bytes at {DIGEST_HEAD:#x}: {digest.hex()}\n")
    log = _calls(from_wire(List(U32), result.outcomes[LOG].value))
    source = next((e for e in STRING_ENCODINGS if predicted(case, e)[1].calls == log), None)
    if source is None:
        return  # allocated otherwise: test_realloc_calls_are_the_engines says how
    low, alloc = predicted(case, source, 0x00)
    high, _ = predicted(case, source, 0xFF)
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


@given(case=cases())
def test_realloc_calls_are_the_engines(wasm_runtime: WasmRuntime, case: Case) -> None:
    """cabi_realloc is called with the arguments the engine's lowering makes (old pointer, old
    size, alignment, new size) for one of the sources a host's strings may come from."""
    case = on_host(wasm_runtime, case)
    check_realloc_calls(wasm_runtime, case, *run(wasm_runtime, case))


def check_realloc_calls(wasm_runtime: WasmRuntime, case: Case, script: Script, result: ScriptResult) -> None:
    t, v = case.t, case.v
    total = from_wire(COUNTS, result.outcomes[N_COUNTS].value)[2]
    log = _calls(from_wire(List(U32), result.outcomes[LOG].value))
    engine = {e: predicted(case, e)[1].calls for e in STRING_ENCODINGS}

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
        unit = 1 if case.encoding == "utf8" else 2
        expected = f"realloc(0, 0, {unit}, 0) for each of its {empties} empty strings"
    else:
        expected = f"the calls of a {', '.join(STRING_ENCODINGS)} source"
    spec = None
    if total <= LOG_CAPACITY:
        spec = replay_spec(LOG, [Outcome.ok(_log(want)) for want in engine.values()])

    def show(calls: list[ReallocCall]) -> str:
        return "\n".join(f"    realloc({c.old_ptr:#x}, {c.old_size}, {c.alignment}, {c.new_size}) = "
                         f"{c.result:#x}" for c in calls) or "    (none)"
    fail_at(wasm_runtime, script, result, LOG, expected,
            f"{wasm_runtime.id}: cabi_realloc was called {total} times, not as the engine calls it for any "
            f"source encoding, for echo(v) and digest([v]), T = {_wit(t)}, string-encoding={case.encoding}\n"
            f"  v: {v!r}\n"
            f"  host:\n{show(log)}\n"
            + "".join(f"  engine ({e} source):\n{show(want)}\n" for e, want in engine.items()), spec=spec)


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
    """Whether ``log`` is ``want`` without exactly ``empties`` of its ``realloc(0, 0, 1 or 2, 0)`` calls
    (a block of 0 bytes moves no later one, so the rest is unchanged)."""
    i = skipped = 0
    for call in want:
        if i < len(log) and log[i] == call:
            i += 1
        elif (call.old_ptr, call.old_size, call.new_size) == (0, 0, 0) and call.alignment in (1, 2):
            skipped += 1
        else:
            return False
    return i == len(log) and skipped == empties


@given(case=cases())
def test_post_return_runs_once_per_call(wasm_runtime: WasmRuntime, case: Case) -> None:
    """Each call's post-return function runs exactly once, after the host has lifted the result."""
    case = on_host(wasm_runtime, case)
    check_post_return(wasm_runtime, case, *run(wasm_runtime, case))


def check_post_return(wasm_runtime: WasmRuntime, case: Case, script: Script, result: ScriptResult) -> None:
    t = case.t
    echo, digest, _ = from_wire(COUNTS, result.outcomes[N_COUNTS].value)
    if (echo, digest) != (1, 1):
        totals = sorted({len(predicted(case, e)[1].calls) for e in STRING_ENCODINGS})
        fail_at(wasm_runtime, script, result, N_COUNTS, "post-return counts (1, 1)",
                f"{wasm_runtime.id}: post-return ran {echo} times for echo and {digest} for digest "
                f"(once each), T = {_wit(t)}\n",
                spec=replay_spec(N_COUNTS, [Outcome.ok([1, 1, n]) for n in totals]))


KNOWN_CASES = {
    "empty-string": EMPTY_STRING,
    "bool-after-an-int": BOOL_AFTER_INT,
    "after-an-option": AFTER_AN_OPTION,
}
"""values that once showed a host wrong, where generated ones come across them only now and then"""


@pytest.mark.parametrize("known", KNOWN_CASES)
def test_known_cases(wasm_runtime: WasmRuntime, known: str) -> None:
    """The four properties above, on each of the known cases (so that a run always shows what
    the divergence files pin for them): echo, the bytes lowered, the cabi_realloc calls, post-return."""
    case = on_host(wasm_runtime, KNOWN_CASES[known])
    script, result = run(wasm_runtime, case)
    for check_one in (check_echo, check_lowered_bytes, check_realloc_calls, check_post_return):
        check_one(wasm_runtime, case, script, result)
