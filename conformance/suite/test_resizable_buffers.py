"""Resizable buffers: the JavaScript API's answer to the detached view (``toResizableBuffer``).

The seed's first pitfall is a host view of memory that a grow detaches. The JS API now lets a
host make the memory's buffer resizable (a memory with a maximum only): a grow then resizes
that buffer in place and detaches nothing. Views over it are of two kinds:

- a **length-tracking** view (``new Uint8Array(memory.toResizableBuffer())``): its length is the
  memory's size at every moment, and it reads and writes live memory;
- a **fixed-length** view over the resizable buffer (``new Uint8Array(rab, 0, n)``): it keeps its
  length across grows, and reads and writes live memory within it.

Neither is ever detached, by a grow of any size, by the host or the guest, successful or not,
nor by asking for the resizable buffer again. A memory without a maximum cannot be made
resizable (``error bad-limits``). Runs where the ``resizable_buffer`` probe works (engines with
``toResizableBuffer``); the outcome of every operation is computed here from the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import (
    PAGE_SIZE,
    Call,
    Grow,
    Op,
    Outcome,
    Script,
    Size,
    Value,
    View,
    ViewLength,
    ViewRead,
    ViewWrite,
    WasmRuntime,
    Write,
)
from conformance.checks import check_spec

pytestmark = pytest.mark.wasm_feature("resizable_buffer")
i32 = Value.i32
GUEST = "resizable"


def module(lo: int, hi: int | None) -> str:
    limits = f"{lo}" if hi is None else f"{lo} {hi}"
    return (f'(module\n  (memory (export "memory") {limits})\n'
            '  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))\n'
            '  (func (export "load_u8") (param i32) (result i32) (i32.load8_u (local.get 0)))\n'
            '  (func (export "store_u8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))')


@dataclass
class Model:
    data: bytearray
    maximum: int
    views: dict[str, int | None] = field(default_factory=dict)
    """view name -> its fixed length, or None for a length-tracking one"""

    def grow(self, delta: int) -> int | None:
        old = len(self.data) // PAGE_SIZE
        if old + delta > self.maximum:
            return None
        self.data.extend(bytes(delta * PAGE_SIZE))
        return old

    def length(self, name: str) -> int:
        fixed = self.views[name]
        return len(self.data) if fixed is None else fixed


@st.composite
def sequences(draw: st.DrawFn, host_grow: bool) -> tuple[int, int, list[Op], list[Outcome]]:
    """(pages, maximum, operations after instantiation, the outcome of each)."""
    lo = draw(st.integers(1, 2))
    hi = draw(st.integers(lo, lo + 3))
    model = Model(bytearray(lo * PAGE_SIZE), hi)
    ops: list[Op] = []
    want: list[Outcome] = []

    def take(kind: str) -> None:
        name = f"v{len(model.views)}"
        model.views[name] = None if kind == "resizable" else len(model.data)
        ops.append(View(name, kind=kind))
        want.append(Outcome.ok(len(model.data)))

    take(draw(st.sampled_from(["resizable", "resizable-fixed"])))
    kinds = ["grow", "grow", "store", "write", "view", "read", "read", "write_view", "length", "size"]
    kinds += ["host_grow"] if host_grow else []
    for _ in range(draw(st.integers(2, 12))):
        kind = draw(st.sampled_from(kinds))
        size = len(model.data)
        if kind in ("grow", "host_grow"):
            delta = draw(st.one_of(st.integers(0, 2), st.just(hi + 1)))
            old = model.grow(delta)
            if kind == "grow":
                ops.append(Call("grow", (i32(delta),)))
                want.append(Outcome.ok((i32(-1 if old is None else old),)))
            else:
                ops.append(Grow(delta))
                want.append(Outcome.ok(old) if old is not None else Outcome.error("grow-failed"))
        elif kind == "store":
            addr, value = draw(st.integers(0, size - 1)), draw(st.integers(1, 255))
            model.data[addr] = value
            ops.append(Call("store_u8", (i32(addr), i32(value))))
            want.append(Outcome.ok(()))
        elif kind == "write":
            data = bytes(draw(st.lists(st.integers(1, 255), min_size=1, max_size=4)))
            addr = draw(st.integers(0, size - len(data)))
            model.data[addr:addr + len(data)] = data
            ops.append(Write(addr, data))
            want.append(Outcome.ok())
        elif kind == "view":
            take(draw(st.sampled_from(["resizable", "resizable-fixed"])))
        elif kind in ("read", "write_view", "length"):
            name = draw(st.sampled_from(sorted(model.views)))
            length = model.length(name)
            if kind == "length":
                ops.append(ViewLength(name))
                want.append(Outcome.ok(length))
                continue
            n = draw(st.integers(1, 4))
            # mostly within the view; sometimes across its end (a fixed view of the old length)
            addr = draw(st.one_of(st.integers(0, max(0, length - n)), st.integers(max(0, length - 2), size)))
            inside = addr + n <= length
            if kind == "read":
                ops.append(ViewRead(name, addr, n))
                want.append(Outcome.ok(bytes(model.data[addr:addr + n])) if inside
                            else Outcome.error("out-of-range"))
            else:
                data = bytes(draw(st.lists(st.integers(1, 255), min_size=n, max_size=n)))
                if inside:
                    model.data[addr:addr + n] = data
                ops.append(ViewWrite(name, addr, data))
                want.append(Outcome.ok() if inside else Outcome.error("out-of-range"))
        else:
            ops.append(Size())
            want.append(Outcome.ok(size))
    # what the guest sees at the end: every byte the views wrote, where the model has it
    for addr in sorted({0, len(model.data) - 1}):
        ops.append(Call("load_u8", (i32(addr),)))
        want.append(Outcome.ok((i32(model.data[addr]),)))
    return lo, hi, ops, want


@given(data=st.data())
def test_resizable_views_across_grows(wasm_runtime: WasmRuntime, data: st.DataObject) -> None:
    """Views over a memory's resizable buffer are never detached: across grows by the host and
    the guest (of 0 pages, within the maximum, and refused past it), a length-tracking view has
    the memory's size and a fixed-length one the length it was taken with, and both read and
    write live memory (past a view's own length is out-of-range)."""
    features = wasm_runtime.features
    host_grow = features is None or features.has("host_grow")
    lo, hi, ops, want = data.draw(sequences(host_grow))
    script = Script.of(GUEST, ops, wat=module(lo, hi))
    check_spec(wasm_runtime, script, [(o,) for o in (Outcome.ok(), *want)],
               "on views over a resizable buffer")


@given(lo=st.integers(0, 2))
def test_a_memory_without_a_maximum_is_not_made_resizable(wasm_runtime: WasmRuntime, lo: int) -> None:
    """The JS API makes only a memory with a maximum resizable: asking for the resizable buffer of
    one without is refused (bad-limits), and the memory stays as it was."""
    script = Script.of(GUEST, [View("r", kind="resizable"), Size(), Call("grow", (i32(1),)), Size()],
                       wat=module(lo, None))
    expected = [Outcome.ok(), Outcome.error("bad-limits"), Outcome.ok(lo * PAGE_SIZE), Outcome.ok((i32(lo),)),
                Outcome.ok((lo + 1) * PAGE_SIZE)]
    check_spec(wasm_runtime, script, [(o,) for o in expected],
               f"on the resizable buffer of a memory of {lo} pages without a maximum")
