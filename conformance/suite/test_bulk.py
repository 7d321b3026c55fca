"""Bulk memory at the edge: memory.fill, memory.copy, memory.init and data.drop.

The bulk memory instructions as merged into the spec check their bounds before
they write: one that traps writes nothing. ``n == 0`` with an operand exactly
at the end of memory (or of the segment) is fine; one past it traps. A copy
between overlapping regions is a memmove in either direction. An init from a
dropped segment traps unless ``s == 0`` and ``n == 0``; dropping twice is fine.

Guest ``bulk`` (guest-modules/bulk.wat, model in conformance/model/bulk.py):
one page, passive segments 0 (32 bytes) and 1 (3 bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance import (
    PAGE_SIZE,
    Call,
    Instantiate,
    Op,
    Read,
    Script,
    Value,
    WasmRuntime,
    Write,
    check_script,
)
from conformance.model.bulk import SEGMENTS
from conformance.strategies import placements

pytestmark = pytest.mark.wasm_feature("bulk_memory")

MEMORY = PAGE_SIZE  # the bulk guest has one page
U32 = 0xFFFF_FFFF
MARGIN = 16
i32 = Value.i32
F = TypeVar("F", bound=Callable[..., Any])


def pattern(lo: int, hi: int, seed: int = 0) -> bytes:
    """Recognisable bytes for [lo, hi): no two nearby addresses alike, so a shifted copy shows.
    Byte ``a`` is ``(31 * a + (a >> 8) + seed) & 0xFF``: the seed's 0 pattern, made once, shifted
    by a translation table (a whole memory's pattern per example was a second of each runtime's run)."""
    if hi > len(_PATTERN):
        _PATTERN.extend((a * 31 + (a >> 8)) & 0xFF for a in range(len(_PATTERN), hi))
    out = bytes(_PATTERN[lo:hi])
    return out.translate(_SHIFTED[seed & 0xFF]) if seed & 0xFF else out


_PATTERN = bytearray()
_SHIFTED = [bytes((i + s) & 0xFF for i in range(256)) for s in range(256)]


def window(*spans: tuple[int, int]) -> tuple[int, int]:
    """[lo, hi) covering the in-memory part of each (addr, n) span, with a margin either side."""
    lo = max(0, min(min(a, MEMORY) for a, _ in spans) - MARGIN)
    hi = min(MEMORY, max(min(a + n, MEMORY) for a, n in spans) + MARGIN)
    return lo, hi


def lengths(most: int = MEMORY) -> st.SearchStrategy[int]:
    """A length, often small, sometimes as large as all of memory."""
    return st.one_of(st.sampled_from([0, 1, 2, 3, 4, 8]), st.integers(0, 64), st.integers(0, most))


def edges(n: int, end: int = MEMORY) -> st.SearchStrategy[int]:
    """Operands at and past the end of a region of ``end`` bytes, for a length ``n``:
    end - n (flush), end, end + 1 and 2**32 - 1."""
    return st.sampled_from(sorted({v for v in (end - n, end, end + 1, U32) if 0 <= v <= U32}))


def operands(n: int, end: int = MEMORY) -> st.SearchStrategy[int]:
    """An address for ``n`` bytes in a region of ``end`` bytes: mostly where they fit, at
    its edges, or anywhere in the i32 range."""
    choices = [edges(n, end), st.integers(0, U32)]
    if n <= end:
        choices.insert(0, placements(n, end))
    return st.one_of(choices)


def with_examples(name: str, cases: list[Any]) -> Callable[[F], F]:
    """``@example(name=case)`` for every case: each runs on every runtime, in every profile."""
    def decorate(fn: F) -> F:
        for case in reversed(cases):
            fn = example(**{name: case})(fn)
        return fn

    return decorate


# --- in bounds ---------------------------------------------------------------------


@st.composite
def fills(draw: st.DrawFn) -> tuple[int, int, int]:
    n = draw(lengths())
    return draw(placements(n, MEMORY)), draw(st.integers(0, 0x1FF)), n


@given(fill=fills(), seed=st.integers(0, 255))
@example(fill=(MEMORY - 3, 0x1AB, 3), seed=0)  # flush with the end; val wider than a byte
@example(fill=(0, 0, MEMORY), seed=1)  # all of memory
def test_fill_sets_exactly_its_bytes(wasm_runtime: WasmRuntime, fill: tuple[int, int, int],
                                     seed: int) -> None:
    """memory.fill in bounds sets [d, d+n) to the low byte of val and nothing around it."""
    d, val, n = fill
    lo, hi = window((d, n))
    check_script(wasm_runtime, Script.of("bulk", [
        Write(lo, pattern(lo, hi, seed)),
        Call("fill", (i32(d), i32(val), i32(n))),
        Read(lo, hi - lo),
        *([Call("load_u8", (i32(d + n - 1),))] if n else []),
    ]))


@st.composite
def copies(draw: st.DrawFn) -> tuple[int, int, int]:
    """(d, s, n) in bounds; mostly overlapping, by a small shift either way."""
    n = draw(lengths())
    s = draw(placements(n, MEMORY))
    if draw(st.booleans()):
        shift = draw(st.one_of(st.sampled_from([-1, 1]), st.integers(-n - 1, n + 1)))
        d = min(max(0, s + shift), MEMORY - n)
    else:
        d = draw(placements(n, MEMORY))
    return d, s, n


@given(copy=copies(), seed=st.integers(0, 255))
@example(copy=(1, 0, 8), seed=0)  # overlapping, destination above: a forward byte loop smears
@example(copy=(0, 1, 8), seed=0)  # overlapping, destination below
@example(copy=(MEMORY - 5, MEMORY - 8, 5), seed=0)  # overlapping, flush with the end
@example(copy=(1, 0, MEMORY - 1), seed=0)  # all but one byte, shifted up
def test_copy_is_memmove_in_both_directions(wasm_runtime: WasmRuntime, copy: tuple[int, int, int],
                                            seed: int) -> None:
    """memory.copy in bounds copies [s, s+n) to [d, d+n) as if through a buffer, overlap or not."""
    d, s, n = copy
    lo, hi = window((d, n), (s, n))
    check_script(wasm_runtime, Script.of("bulk", [
        Write(lo, pattern(lo, hi, seed)),
        Call("copy", (i32(d), i32(s), i32(n))),
        Read(lo, hi - lo),
    ]))


@st.composite
def inits(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """(segment, d, s, n) in bounds of the segment and of memory."""
    k = draw(st.sampled_from(range(len(SEGMENTS))))
    size = len(SEGMENTS[k])
    n = draw(st.integers(0, size))
    s = draw(st.one_of(st.sampled_from(sorted({0, size - n})), st.integers(0, size - n)))
    return k, draw(placements(n, MEMORY)), s, n


@given(init=inits())
@example(init=(0, 0, 0, len(SEGMENTS[0])))  # all of segment 0
@example(init=(0, MEMORY - 5, len(SEGMENTS[0]) - 5, 5))  # its tail, flush with the end of memory
@example(init=(1, MEMORY - 2, 1, 2))
def test_init_copies_from_the_segment(wasm_runtime: WasmRuntime, init: tuple[int, int, int, int]) -> None:
    """memory.init in bounds copies bytes [s, s+n) of the passive segment to [d, d+n)."""
    k, d, s, n = init
    lo, hi = window((d, n))
    check_script(wasm_runtime, Script.of("bulk", [
        Write(lo, pattern(lo, hi)),
        Call(f"init{k}", (i32(d), i32(s), i32(n))),
        Read(lo, hi - lo),
    ]))


# --- init and drop -------------------------------------------------------------------


@st.composite
def segment_ops(draw: st.DrawFn) -> list[Op]:
    """inits (at the segment's edges: s and n at 0, its length, one past) and drops, in any
    order, each init followed by a read of its destination."""
    ops: list[Op] = []
    for _ in range(draw(st.integers(1, 8))):
        k = draw(st.sampled_from(range(len(SEGMENTS))))
        if draw(st.integers(0, 2)) == 0:
            ops.append(Call(f"drop{k}"))
            continue
        size = len(SEGMENTS[k])
        s = draw(st.one_of(st.sampled_from([0, 1, size, size + 1]), st.integers(0, size)))
        n = draw(st.one_of(st.sampled_from([0, 1, size - s if s <= size else 0]), st.integers(0, size)))
        d = draw(st.one_of(placements(n, MEMORY), st.sampled_from([0, MEMORY])))
        ops.append(Call(f"init{k}", (i32(d), i32(s), i32(n))))
        start = min(d, MEMORY)
        ops.append(Read(start, min(n, MEMORY - start)))
    return ops


_DROP_CASES: list[list[Op]] = [
    [Call("drop0"), Call("init0", (i32(0), i32(0), i32(1)))],  # any byte of a dropped segment traps
    [Call("drop0"), Call("init0", (i32(0), i32(0), i32(0)))],  # n == 0 and s == 0: fine
    [Call("drop0"), Call("init0", (i32(0), i32(1), i32(0)))],  # n == 0 but s == 1: traps
    [Call("drop1"), Call("drop1"), Call("init0", (i32(8), i32(0), i32(4))), Read(8, 4)],  # the other whole
    [Call("init1", (i32(0), i32(3), i32(0))), Call("init1", (i32(0), i32(4), i32(0)))],  # s at, past the end
]


@given(ops=segment_ops())
@with_examples("ops", _DROP_CASES)
def test_init_and_drop(wasm_runtime: WasmRuntime, ops: list[Op]) -> None:
    """A dropped segment has length 0 (init from it traps unless s == 0 and n == 0), dropping it
    again is fine, the other segment is untouched; an init past its segment's end traps."""
    check_script(wasm_runtime, Script.of("bulk", ops))


@given(drops=st.lists(st.sampled_from(["drop0", "drop1"]), min_size=1, max_size=3),
       trap=st.booleans())
@example(drops=["drop0"], trap=False)
def test_data_drop_is_per_instance(wasm_runtime: WasmRuntime, drops: list[str], trap: bool) -> None:
    """data.drop drops the segment of that instance only: a new instance of the same module (the
    driver instantiates its compiled module again) has both passive segments whole."""
    check_script(wasm_runtime, Script.of("bulk", [
        *(Call(d) for d in drops),
        *([Call("init0", (i32(0), i32(0), i32(1)))] if trap else []),
        Instantiate(),
        Call("init0", (i32(0), i32(0), i32(len(SEGMENTS[0])))),
        Call("init1", (i32(64), i32(0), i32(len(SEGMENTS[1])))),
        Read(0, 64 + len(SEGMENTS[1])),
    ]))


# --- zero lengths at and past the end -----------------------------------------------------


def test_zero_length_at_the_very_end_is_fine(wasm_runtime: WasmRuntime) -> None:
    """n == 0 with d (or s) exactly at the end of memory, or s at the end of the segment: no trap."""
    end = i32(MEMORY)
    zero = i32(0)
    check_script(wasm_runtime, Script.of("bulk", [
        Call("fill", (end, i32(0xAA), zero)),
        Call("copy", (end, zero, zero)),
        Call("copy", (zero, end, zero)),
        Call("copy", (end, end, zero)),
        Call("init0", (end, zero, zero)),
        Call("init0", (zero, i32(len(SEGMENTS[0])), zero)),
        Call("init1", (end, i32(len(SEGMENTS[1])), zero)),
        Read(MEMORY - 4, 4),
        Call("size"),
    ]))


_PAST_THE_END = [
    (fn, where, at)
    for fn, where in [("fill", "d"), ("copy", "d"), ("copy", "s"), ("init0", "d"), ("init0", "s"),
                      ("init1", "d"), ("init1", "s")]
    for at in ("end+1", "max")
]


@given(case=st.sampled_from(_PAST_THE_END))
@with_examples("case", _PAST_THE_END)
def test_zero_length_past_the_end_traps(wasm_runtime: WasmRuntime, case: tuple[str, str, str]) -> None:
    """n == 0 with d (or s) one past the end of memory, or of the segment, or at 2**32 - 1: a trap
    out-of-bounds, and memory is as it was."""
    fn, where, at = case
    end = len(SEGMENTS[int(fn[-1])]) if fn.startswith("init") and where == "s" else MEMORY
    bad = end + 1 if at == "end+1" else U32
    d, s = (bad, 0) if where == "d" else (0, bad)
    args = (i32(d), i32(0x5A), i32(0)) if fn == "fill" else (i32(d), i32(s), i32(0))
    check_script(wasm_runtime, Script.of("bulk", [
        Write(MEMORY - 4, b"\x01\x02\x03\x04"),
        Call(fn, args),
        Read(MEMORY - 4, 4),
    ]))


# --- a trapping bulk op writes nothing -------------------------------------------------------


@st.composite
def trapping_ops(draw: st.DrawFn) -> Call:
    """A fill, copy or init whose bounds check fails, often with part of it in bounds."""
    fn = draw(st.sampled_from(["fill", "copy_d", "copy_s", "init0", "init1", "init_s"]))
    n = draw(st.one_of(st.integers(1, 64), st.integers(1, MEMORY), st.just(U32)))
    straddles = st.integers(max(0, MEMORY - n + 1), MEMORY)  # part in bounds, part past the end
    past = st.one_of(straddles, st.sampled_from([MEMORY + 1, U32]), st.integers(MEMORY, U32))
    inside = placements(min(n, MEMORY), MEMORY)
    if fn == "fill":
        return Call("fill", (i32(draw(past)), i32(draw(st.integers(1, 255))), i32(n)))
    if fn == "copy_d":
        return Call("copy", (i32(draw(past)), i32(draw(inside)), i32(n)))
    if fn == "copy_s":
        return Call("copy", (i32(draw(inside)), i32(draw(past)), i32(n)))
    if fn == "init_s":  # in memory, past the end of the segment
        k = draw(st.sampled_from(range(len(SEGMENTS))))
        size = len(SEGMENTS[k])
        s = draw(st.integers(0, size))
        n = draw(st.integers(size - s + 1, size - s + 8))
        return Call(f"init{k}", (i32(draw(placements(n, MEMORY))), i32(s), i32(n)))
    k = int(fn[-1])
    n = draw(st.integers(1, len(SEGMENTS[k])))
    return Call(fn, (i32(draw(st.integers(MEMORY - n + 1, MEMORY + 1))), i32(0), i32(n)))


@given(op=trapping_ops(), seed=st.integers(0, 255))
@example(op=Call("fill", (i32(MEMORY - 2), i32(0xEE), i32(4))), seed=0)
@example(op=Call("copy", (i32(MEMORY - 2), i32(0), i32(4))), seed=0)
@example(op=Call("copy", (i32(0), i32(MEMORY - 2), i32(4))), seed=0)
@example(op=Call("init0", (i32(MEMORY - 2), i32(0), i32(4))), seed=0)
@example(op=Call("init0", (i32(0), i32(30), i32(4))), seed=0)
def test_trapping_bulk_op_writes_nothing(wasm_runtime: WasmRuntime, op: Call, seed: int) -> None:
    """A bulk op out of bounds traps before writing: every byte of memory is as the host left it."""
    check_script(wasm_runtime, Script.of("bulk", [
        Write(0, pattern(0, MEMORY, seed)),
        op,
        Read(0, MEMORY),
    ]))


# --- sequences -----------------------------------------------------------------------------


@st.composite
def bulk_ops(draw: st.DrawFn) -> list[Op]:
    """Host writes and bulk ops with operands at the edges (in or out of bounds), then reads."""
    ops: list[Op] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["write", "fill", "copy", "init", "drop", "grow"]))
        n = draw(lengths(MEMORY + 1))
        if kind == "write":
            data = draw(st.binary(min_size=1, max_size=64))
            ops.append(Write(draw(placements(len(data), MEMORY)), data))
        elif kind == "fill":
            ops.append(Call("fill", (i32(draw(operands(n))), i32(draw(st.integers(0, 255))), i32(n))))
        elif kind == "copy":
            ops.append(Call("copy", (i32(draw(operands(n))), i32(draw(operands(n))), i32(n))))
        elif kind == "init":
            k = draw(st.sampled_from(range(len(SEGMENTS))))
            size = len(SEGMENTS[k])
            n = draw(st.integers(0, size + 1))
            ops.append(Call(f"init{k}", (i32(draw(operands(n))), i32(draw(operands(n, size))), i32(n))))
        elif kind == "drop":
            ops.append(Call(f"drop{draw(st.sampled_from(range(len(SEGMENTS))))}"))
        else:
            ops.append(Call("grow", (i32(draw(st.sampled_from([0, 1]))),)))
    ops += [Call("size"), Read(0, 64), Read(MEMORY - 64, 64)]
    return ops


@given(ops=bulk_ops())
@example(ops=[Write(0, b"\x01\x02\x03\x04"), Call("copy", (i32(MEMORY - 4), i32(0), i32(8))),
              Call("fill", (i32(MEMORY - 2), i32(0xEE), i32(4))), Call("size"), Read(0, 64),
              Read(MEMORY - 64, 64)])
def test_bulk_sequences_agree_with_the_model(wasm_runtime: WasmRuntime, ops: list[Op]) -> None:
    """Any sequence of host writes, bulk ops at the edges and grows does what the spec says."""
    check_script(wasm_runtime, Script.of("bulk", ops))
