"""Imported memories: a memory the host creates, or one instance exports, given to other modules.

An embedder as often makes the memory itself and hands it to the module (``new
WebAssembly.Memory({initial, maximum})``, ``wasmtime.Memory(store, MemoryType(...))``) or lets
several instances share one (the seed's "running multiple modules"). What changes then:

- **Link-time matching.** A provided memory matches an import when its current size is at least
  the import's minimum and, where the import declares a maximum, the memory has one no larger.
  Otherwise instantiation is a link error; every other pair links.
- **One memory, many instances.** A grow by the host or by any instance is seen at once by every
  instance (``memory.size``) and by the host; a store by one is seen by the others' loads and by
  host reads, and a host write by every guest. A host view held across a grow behaves as for an
  exported memory: detached, or its old length, or live, never stale bytes.
- **Data segments into an imported memory.** Active segments are written in order; the first
  that does not fit makes instantiation trap, and the bytes of the segments before it stay written
  in the imported memory (the spec's semantics since bulk memory; older engines checked every
  segment first and wrote nothing).

Each property is run twice: with a memory the host creates (where the ``host_memory`` probe
works) and with one an instance exports (``import_memory``). The modules are generated per
example and carried as text in the script. The spec's outcome of each operation is computed
here, from a model of the one shared memory, and every runtime, the reference included, must
give it (where the spec allows several, as for a view after a grow, any of them; the report
shows which).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from conformance import (
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
    WasmRuntime,
    Write,
    check_script,
)
from conformance.checks import check_spec

i32 = Value.i32
MINUS_ONE = i32(-1)
MAX_PAGES = 65536
GUEST = "imports"

PROVIDERS = [pytest.param("host", marks=pytest.mark.wasm_feature("host_memory"), id="host"),
             pytest.param("instance", marks=pytest.mark.wasm_feature("import_memory"), id="instance")]
"""who provides the memory: the host (``memory_new``), or an instance that exports it"""

EXPORTS = """
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))"""


def limits(lo: int, hi: int | None) -> str:
    return f"{lo}" if hi is None else f"{lo} {hi}"


def user_module(lo: int, hi: int | None, segments: tuple[tuple[int, bytes], ...] = ()) -> str:
    """A module that imports its memory ("env" "memory") with these limits, with active data
    segments (offset, bytes) into it, in order."""
    data = "".join(f'\n  (data (i32.const {off}) "{_text(b)}")' for off, b in segments)
    return f'(module\n  (import "env" "memory" (memory {limits(lo, hi)})){data}{EXPORTS})'


def owner_module(lo: int, hi: int | None) -> str:
    """A module that defines the memory and exports it as "memory"."""
    return f'(module\n  (memory (export "memory") {limits(lo, hi)}){EXPORTS})'


def _text(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def provide(provider: str, lo: int, hi: int | None) -> tuple[list[Op], str]:
    """The operations that make the memory, and the reference to it."""
    if provider == "host":
        return [MemoryNew("m", lo, hi)], "m"
    return [Instantiate(name="a")], "a.memory"


def said(outcome: Outcome) -> str:
    return outcome.kind if outcome.kind == "ok" else f"{outcome.kind} {outcome.reason}"


# --- link-time matching ----------------------------------------------------------------------


@st.composite
def limit_pairs(draw: st.DrawFn) -> tuple[int, int | None, int, int, int | None]:
    """(the memory's minimum, its maximum, pages the host grows it by before linking, the import's
    minimum, its maximum): around the edges where matching changes."""
    lo = draw(st.integers(0, 3))
    hi = draw(st.one_of(st.none(), st.integers(lo, lo + 3)))
    grown = draw(st.integers(0, 2 if hi is None else hi - lo))
    current = lo + grown
    import_lo = draw(st.one_of(st.integers(max(0, current - 1), current + 1), st.integers(0, 5)))
    import_hi = draw(st.one_of(st.none(), st.integers(import_lo, import_lo + 4),
                               st.sampled_from([x for x in (hi, (hi or 0) - 1, (hi or 0) + 1)
                                                if x is not None and x >= import_lo] or [import_lo])))
    return lo, hi, grown, import_lo, import_hi


def links(current: int, hi: int | None, import_lo: int, import_hi: int | None) -> bool:
    """The spec's import matching for memories: the provided memory's type is its current size and
    its maximum."""
    return current >= import_lo and (import_hi is None or (hi is not None and hi <= import_hi))


@pytest.mark.parametrize("provider", PROVIDERS)
@given(case=limit_pairs())
@example(case=(1, 2, 0, 1, 2))  # the same limits: links
@example(case=(1, 2, 0, 2, None))  # smaller than the import's minimum
@example(case=(1, 2, 1, 2, None))  # grown to the import's minimum first: links
@example(case=(1, None, 0, 1, 4))  # no maximum where the import declares one
@example(case=(1, 3, 0, 1, 2))  # a larger maximum than the import's
@example(case=(1, 2, 0, 0, 3))  # a smaller maximum: links
@example(case=(0, None, 0, 0, 0))  # no maximum where the import declares one of 0 pages
@example(case=(0, 0, 0, 0, None))  # a memory of at most 0 pages: linked, it does not grow
def test_import_limits_match_at_link_time(wasm_runtime: WasmRuntime, provider: str,
                                          case: tuple[int, int | None, int, int, int | None]) -> None:
    """A provided memory links to an import if its current size is at least the import's minimum
    and, where the import declares a maximum, its own maximum exists and is no larger; otherwise
    instantiation is a link error. Once linked, the instance sees the memory's size and grows to
    the memory's own maximum."""
    lo, hi, grown, import_lo, import_hi = case
    current = lo + grown
    made, ref = provide(provider, lo, hi)
    if provider == "instance":  # the owner's own memory.grow
        before: Op = Call("grow", (i32(grown),), instance="a")
        grew = Outcome.ok((i32(lo),))
    else:
        if not _features(wasm_runtime)[1]:
            grown, current = 0, lo  # (no host grow: the memory is linked as made)
        before, grew = Grow(grown, memory=ref), Outcome.ok(lo)
    ops: list[Op] = [*made, before,
                     Instantiate(module="user", name="u", imports=(Import("env", "memory", ref),)),
                     Call("size", instance="u"), Call("grow", (i32(1),), instance="u"), Size(memory=ref)]
    script = Script(GUEST, tuple(ops), wat=owner_module(lo, hi),
                    modules=(("user", user_module(import_lo, import_hi)),))
    outcomes = check_script(wasm_runtime, script)
    n = len(made)
    assert outcomes[n] == grew, f"the grow before linking: {outcomes[n]}"
    linked = outcomes[n + 1]
    if not links(current, hi, import_lo, import_hi):
        event("link error")
        assert said(linked) == "error link-error", (
            f"a memory of {current} pages, maximum {hi}, must not link to an import of "
            f"({limits(import_lo, import_hi)}): {linked}")
        assert said(outcomes[n + 2]) == "error no-instance"
        assert outcomes[n + 4] == Outcome.ok(current * PAGE_SIZE)
        return
    event("links")
    assert linked == Outcome.ok(), (f"a memory of {current} pages, maximum {hi}, links to an import "
                                    f"of ({limits(import_lo, import_hi)}): {linked}")
    assert outcomes[n + 2] == Outcome.ok((i32(current),))
    grows = hi is None or current + 1 <= hi
    assert outcomes[n + 3] == Outcome.ok((i32(current) if grows else MINUS_ONE,)), (
        f"grow by 1 of a linked memory of {current} pages, its own maximum {hi}: {outcomes[n + 3]}")
    assert outcomes[n + 4] == Outcome.ok((current + grows) * PAGE_SIZE)


# --- data segments into an imported memory --------------------------------------------------------


@st.composite
def segment_cases(draw: st.DrawFn) -> tuple[int, tuple[tuple[int, bytes], ...]]:
    """(the memory's pages, active segments (offset, non-zero bytes)) with some past its end."""
    pages = draw(st.integers(1, 2))
    end = pages * PAGE_SIZE
    count = draw(st.integers(1, 4))
    segments = []
    for _ in range(count):
        data = bytes(draw(st.lists(st.integers(1, 255), min_size=1, max_size=6)))
        offset = draw(st.one_of(st.integers(0, 64), st.integers(max(0, end - 8), end + 4),
                                st.integers(0, end + PAGE_SIZE)))
        segments.append((offset, data))
    return pages, tuple(segments)


def after_segments(pages: int, segments: tuple[tuple[int, bytes], ...]) -> tuple[bytearray, int | None]:
    """The memory after instantiation writes the segments in order, and the index of the first that
    does not fit (None if all do): the spec's semantics."""
    memory = bytearray(pages * PAGE_SIZE)
    for index, (offset, data) in enumerate(segments):
        if offset + len(data) > len(memory):
            return memory, index
        memory[offset:offset + len(data)] = data
    return memory, None


@pytest.mark.parametrize("provider", PROVIDERS)
@given(case=segment_cases())
@example(case=(1, ((0, b"\x01\x02"), (PAGE_SIZE - 1, b"\x03\x04"))))  # the second straddles the end
@example(case=(1, ((8, b"\x05"), (PAGE_SIZE + 1, b"\x06"), (16, b"\x07"))))  # one after the failing one
@example(case=(1, ((PAGE_SIZE - 2, b"\x09\x09"), (0, b"\x08"))))  # all fit
def test_data_segments_into_an_imported_memory(wasm_runtime: WasmRuntime, provider: str,
                                               case: tuple[int, tuple[tuple[int, bytes], ...]]) -> None:
    """Active data segments are written into the imported memory in order; the first that does not
    fit makes instantiation trap out-of-bounds, and every segment before it stays written there
    (seen by the host and by the memory's other instance), no segment after it is written, and the
    failed instance does not exist."""
    pages, segments = case
    memory, failing = after_segments(pages, segments)
    made, ref = provide(provider, pages, None)
    end = pages * PAGE_SIZE
    spans = sorted({(off, min(len(data), end - off)) for off, data in segments if off < end})
    ops: list[Op] = [*made, Instantiate(module="user", name="u", imports=(Import("env", "memory", ref),)),
                     Call("size", instance="u"), *(Read(off, n, memory=ref) for off, n in spans)]
    if provider == "instance":
        ops += [Call("load", (i32(off),), instance="a") for off, _ in spans]
    script = Script(GUEST, tuple(ops), wat=owner_module(pages, None),
                    modules=(("user", user_module(1, None, segments)),))
    outcomes = check_script(wasm_runtime, script)
    n = len(made)
    if failing is None:
        event("every segment fits")
        assert outcomes[n] == Outcome.ok() and outcomes[n + 1] == Outcome.ok((i32(pages),))
    else:
        event(f"segment {failing} of {len(segments)} does not fit")
        assert said(outcomes[n]) == "trap out-of-bounds", (
            f"segment {failing} ({segments[failing][0]}, {len(segments[failing][1])} bytes) does not fit "
            f"a memory of {pages} pages: instantiation must trap, got {outcomes[n]}")
        assert said(outcomes[n + 1]) == "error no-instance"
    reads = outcomes[n + 2:n + 2 + len(spans)]
    for (off, length), got in zip(spans, reads, strict=True):
        want = bytes(memory[off:off + length])
        assert got == Outcome.ok(want), (
            f"bytes {off}..{off + length} of the imported memory after instantiation: {got}, expected "
            f"{want.hex()} (the segments before the first that does not fit are written, in order, "
            "and none after it)")
    for (off, _), got in zip(spans, outcomes[n + 2 + len(spans):], strict=False):
        assert got == Outcome.ok((i32(memory[off]),)), f"the owner's load of {off}: {got}"


# --- one memory, several instances ------------------------------------------------------------------


@dataclass
class Shared:
    """The model of one memory several instances share: its bytes, its maximum, the host's views."""

    data: bytearray
    maximum: int
    views: dict[str, int] = field(default_factory=dict)
    """view name -> its length when taken"""
    grown_since: dict[str, bool] = field(default_factory=dict)
    """view name -> a grow succeeded since it was taken"""

    @property
    def pages(self) -> int:
        return len(self.data) // PAGE_SIZE

    def grow(self, delta: int) -> int | None:
        old = self.pages
        if old + delta > self.maximum:
            return None
        self.data.extend(bytes(delta * PAGE_SIZE))
        for name in self.grown_since:
            self.grown_since[name] = True
        return old


Expected = tuple[Outcome, ...]


@st.composite
def instance_steps(draw: st.DrawFn, provider: str, grows: bool, views: bool, host_grow: bool
                   ) -> tuple[int, int | None, list[Op], list[Expected], tuple[str, ...]]:
    """(the memory's pages, its maximum, the operations after it is made, the outcomes the spec allows
    for each, the names the views' choices are recorded under)."""
    lo = draw(st.integers(1, 2))
    hi = draw(st.one_of(st.none(), st.integers(lo, lo + 3)))
    model = Shared(bytearray(lo * PAGE_SIZE), MAX_PAGES if hi is None else hi)
    ops: list[Op] = []
    allowed: list[Expected] = []
    ref = "m" if provider == "host" else "a.memory"
    instances = ["a"] if provider == "instance" else []
    # a few addresses the steps come back to (a store and a later load meet), and the edge
    hot = draw(st.lists(st.integers(0, lo * PAGE_SIZE - 1), min_size=1, max_size=3))

    def address(size: int, span: int = 1, inside: bool = False) -> int:
        edge = [size - span] if inside else [size - span, size - 1, size, size + 1]
        addr = draw(st.one_of(st.sampled_from(hot + edge), st.integers(0, size - span)))
        return min(addr, size - span) if inside else addr

    if grows and host_grow and draw(st.booleans()):  # a grow before any importer is instantiated
        delta = draw(st.integers(0, 2))
        old = model.grow(delta)
        ops.append(Grow(delta, memory=ref))
        allowed.append((Outcome.ok(old),) if old is not None else (Outcome.error("grow-failed"),))
    ops.append(Instantiate(module="user", name="b", imports=(Import("env", "memory", ref),)))
    allowed.append((Outcome.ok(),))
    instances.append("b")
    kinds = ["store", "load", "write", "read"]
    if grows:
        kinds += ["grow", "size", "size", "late"] + (["host_grow"] if host_grow else [])
    if views:
        kinds += ["view", "view_read", "view_length"]
    for _ in range(draw(st.integers(3, 14))):
        kind = draw(st.sampled_from(kinds))
        who = draw(st.sampled_from(instances))
        size = len(model.data)
        if kind == "late" and "c" not in instances:  # an importer instantiated after the grows
            ops.append(Instantiate(module="user", name="c", imports=(Import("env", "memory", ref),)))
            allowed.append((Outcome.ok(),))
            instances.append("c")
        elif kind == "store":
            addr = address(size)
            value = draw(st.integers(1, 255))
            ops.append(Call("store", (i32(addr), i32(value)), instance=who))
            if 0 <= addr < size:
                model.data[addr] = value
                allowed.append((Outcome.ok(()),))
            else:
                allowed.append((Outcome.trap("out-of-bounds"),))
        elif kind == "load":
            addr = address(size)
            ops.append(Call("load", (i32(addr),), instance=who))
            allowed.append((Outcome.ok((i32(model.data[addr]),)),) if 0 <= addr < size
                           else (Outcome.trap("out-of-bounds"),))
        elif kind == "write":
            data = bytes(draw(st.lists(st.integers(1, 255), min_size=1, max_size=4)))
            addr = address(size, len(data), inside=True)
            model.data[addr:addr + len(data)] = data
            ops.append(Write(addr, data, memory=ref))
            allowed.append((Outcome.ok(),))
        elif kind == "read":
            length = draw(st.integers(1, 4))
            addr = address(size, length, inside=True)
            ops.append(Read(addr, length, memory=ref))
            allowed.append((Outcome.ok(bytes(model.data[addr:addr + length])),))
        elif kind == "grow":
            delta = draw(st.integers(0, 2))
            old = model.grow(delta)
            ops.append(Call("grow", (i32(delta),), instance=who))
            allowed.append((Outcome.ok((MINUS_ONE if old is None else i32(old),)),))
        elif kind == "host_grow":
            delta = draw(st.integers(0, 2))
            old = model.grow(delta)
            ops.append(Grow(delta, memory=ref))
            allowed.append((Outcome.ok(old),) if old is not None else (Outcome.error("grow-failed"),))
        elif kind == "size":
            if draw(st.booleans()):
                ops.append(Call("size", instance=who))
                allowed.append((Outcome.ok((i32(model.pages),)),))
            else:
                ops.append(Size(memory=ref))
                allowed.append((Outcome.ok(size),))
        elif kind == "view":
            name = f"v{len(model.views)}"
            model.views[name], model.grown_since[name] = size, False
            ops.append(View(name, memory=ref))
            allowed.append((Outcome.ok(size),))
        elif kind in ("view_read", "view_length") and model.views:
            name = draw(st.sampled_from(sorted(model.views)))
            taken = model.views[name]
            grown = model.grown_since[name]
            if kind == "view_length":
                ops.append(ViewLength(name))
                allowed.append((Outcome.ok(taken),) if not grown
                               else (Outcome.ok(0), Outcome.ok(taken), Outcome.ok(size)))
                continue
            length = draw(st.integers(1, 4))
            addr = address(max(taken, size), length, inside=True)
            ops.append(ViewRead(name, addr, length))
            live = Outcome.ok(bytes(model.data[addr:addr + length]))
            if not grown:
                allowed.append((live,) if addr + length <= taken else (Outcome.error("out-of-range"),))
            else:  # detached, its old length, or live: never stale bytes
                choices = [Outcome.error("detached")]
                choices.append(live if addr + length <= taken else Outcome.error("out-of-range"))
                if addr + length <= size:
                    choices.append(live)
                allowed.append(tuple(choices))
    return lo, hi, ops, allowed, ()


def run_steps(runtime: WasmRuntime, provider: str, lo: int, hi: int | None, ops: list[Op],
              allowed: list[Expected]) -> None:
    """Run the steps on the memory ``provider`` makes, and fail at the first outcome the spec does
    not allow."""
    made, _ = provide(provider, lo, hi)
    script = Script(GUEST, tuple(made + ops), wat=owner_module(lo, hi),
                    modules=(("user", user_module(1, None)),))
    expected: list[Expected] = [(Outcome.ok(),)] * len(made) + allowed
    outcomes = check_spec(runtime, script, expected, f"on a memory shared by instances ({provider}-provided)")
    for op, got, want in zip(script.ops, outcomes, expected, strict=True):
        if isinstance(op, ViewRead | ViewLength) and len(want) > 1:
            runtime.note(_view_choice(got))


def _view_choice(got: Outcome) -> str:
    if got.kind == "error":
        return f"a view held across a grow of an imported memory: {got.reason}"
    return "a view held across a grow of an imported memory: keeps working"


def _features(runtime: WasmRuntime) -> tuple[bool, bool]:
    features = runtime.features
    if features is None:
        return True, True
    return features.has("view"), features.has("host_grow")


@pytest.mark.parametrize("provider", PROVIDERS)
@given(data=st.data())
def test_writes_by_one_instance_are_seen_by_all(wasm_runtime: WasmRuntime, provider: str,
                                                data: st.DataObject) -> None:
    """Instances that share one memory (and the host) see each other's writes at once: a store by
    one instance is what another's load and a host read give, a host write what every load gives;
    an access past the end traps in every instance alike."""
    _, host_grow = _features(wasm_runtime)
    steps = instance_steps(provider, grows=False, views=False, host_grow=host_grow)
    lo, hi, ops, allowed, _ = data.draw(steps)
    run_steps(wasm_runtime, provider, lo, hi, ops, allowed)


@pytest.mark.parametrize("provider", PROVIDERS)
@given(data=st.data())
def test_grows_are_seen_by_every_instance(wasm_runtime: WasmRuntime, provider: str,
                                          data: st.DataObject) -> None:
    """The host and every instance grow one memory; each sees the same size at once (memory.size,
    the host's size), an instance made after a grow included, grows stop at the memory's own
    maximum, and new pages are zero. A host view held across a grow is detached, keeps its old
    length, or is live: it never shows stale bytes."""
    views, host_grow = _features(wasm_runtime)
    steps = instance_steps(provider, grows=True, views=views, host_grow=host_grow)
    lo, hi, ops, allowed, _ = data.draw(steps)
    run_steps(wasm_runtime, provider, lo, hi, ops, allowed)
