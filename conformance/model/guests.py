"""What each guest module's exports do, written from the WAT's documented contract.

The model runs these on its own copy of the instance. They mirror the guest
exactly, byte order of accesses included, so that a trap half-way through a
loop leaves the same bytes in the model as in a correct runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.model.memory import Instance, Memory
from conformance.script import PAGE_SIZE

U32 = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True)
class Branch:
    """One of several results the spec allows; ``label`` names it in the report."""

    label: str
    results: tuple[int, ...]
    instance: Instance


ExportFn = Callable[..., "tuple[int, ...] | list[Branch]"]


@dataclass(frozen=True)
class GuestModel:
    name: str
    pages: int
    maximum: int | None
    data: tuple[tuple[int, bytes], ...] = ()
    globals: dict[str, int] = field(default_factory=dict)
    exports: dict[str, tuple[int, ExportFn]] = field(default_factory=dict)
    """export name -> (number of i32 parameters, function)"""

    def instantiate(self) -> Instance:
        memory = Memory.of_pages(self.pages, self.maximum)
        for addr, blob in self.data:
            memory.data[addr:addr + len(blob)] = blob
        return Instance(memory, dict(self.globals))


def _size(inst: Instance) -> tuple[int, ...]:
    return (inst.memory.pages,)


def _grow(inst: Instance, delta: int) -> list[Branch]:
    """memory.grow: the old size, or -1; within the limit a runtime may still refuse."""
    refused = Branch("memory.grow refused (-1)", (U32,), inst.clone())
    old = inst.memory.pages
    if old + delta > inst.memory.limit:
        return [Branch("memory.grow past the limit: -1", (U32,), inst)]
    grown = inst.clone()
    grown.memory.grow(delta)
    grown.grows += 1
    return [Branch("memory.grow succeeded", (old,), grown), refused]


def _load_u8(inst: Instance, addr: int) -> tuple[int, ...]:
    return (inst.memory.load8(addr),)


def _store_u8(inst: Instance, addr: int, value: int) -> tuple[int, ...]:
    inst.memory.store8(addr, value)
    return ()


def _checksum(inst: Instance, ptr: int, length: int) -> tuple[int, ...]:
    h = 0x811C9DC5
    for i in range(length):
        h = ((h ^ inst.memory.load8((ptr + i) & U32)) * 0x01000193) & U32
    return (h,)


def _copy(inst: Instance, src: int, length: int, dst: int) -> tuple[int, ...]:
    mem = inst.memory
    for i in range(length):
        mem.store8((dst + i) & U32, mem.load8((src + i) & U32))
    return ()


def _fill(inst: Instance, ptr: int, length: int, value: int) -> tuple[int, ...]:
    # The loop stores at ptr, ptr+1, ...: with ptr in bounds, the first address
    # out of bounds is the memory size (reached before any wrap at 2**32).
    data = inst.memory.data
    fits = max(0, min(length, len(data) - ptr))
    data[ptr:ptr + fits] = bytes([value & 0xFF]) * fits
    if fits < length:
        inst.memory.store8((ptr + fits) & U32, value)  # traps
    return ()


def _reverse(inst: Instance, ptr: int, length: int) -> tuple[int, ...]:
    mem = inst.memory
    lo, hi = ptr, (ptr + length - 1) & U32
    for _ in range(length >> 1):
        a, b = mem.load8(lo), mem.load8(hi)
        mem.store8(lo, b)
        mem.store8(hi, a)
        lo, hi = (lo + 1) & U32, (hi - 1) & U32
    return ()


BYTES = GuestModel(
    name="bytes",
    pages=1,
    maximum=None,
    exports={
        "size": (0, _size),
        "grow": (1, _grow),
        "load_u8": (1, _load_u8),
        "store_u8": (2, _store_u8),
        "checksum": (2, _checksum),
        "copy": (3, _copy),
        "fill": (3, _fill),
        "reverse": (2, _reverse),
    },
)

# --- strings -----------------------------------------------------------------

GREETING_ADDR = 0x10000
GREETING = b"hello from wasm"
HEAP_BASE = 0x10040


def _count_codepoints(inst: Instance, ptr: int, length: int) -> tuple[int, ...]:
    count = 0
    for i in range(length):
        if inst.memory.load8((ptr + i) & U32) & 0xC0 != 0x80:
            count += 1
    return (count,)


def _ascii_upper(inst: Instance, ptr: int, length: int) -> tuple[int, ...]:
    mem = inst.memory
    for i in range(length):
        addr = (ptr + i) & U32
        byte = mem.load8(addr)
        if 0x61 <= byte <= 0x7A:
            mem.store8(addr, byte - 0x20)
    return ()


def _copy_out(inst: Instance, src: int, length: int, out: int, cap: int) -> tuple[int, ...]:
    mem = inst.memory
    for i in range(min(length, cap)):
        mem.store8((out + i) & U32, mem.load8((src + i) & U32))
    return (length,)


def _get_greeting(inst: Instance, out: int, cap: int) -> tuple[int, ...]:
    return _copy_out(inst, GREETING_ADDR, len(GREETING), out, cap)


def _alloc(inst: Instance, n: int) -> tuple[int, ...]:
    ptr = (inst.globals["bump"] + 7) & ~7 & U32
    end = inst.memory.pages * PAGE_SIZE
    if n > (end - ptr) & U32:
        return (0,)
    inst.globals["bump"] = (ptr + n) & U32
    inst.globals["live"] = (inst.globals["live"] + 1) & U32
    return (ptr,)


def _dealloc(inst: Instance, ptr: int, n: int) -> tuple[int, ...]:
    if inst.globals["live"] == 0:
        return ()
    inst.globals["live"] -= 1
    if inst.globals["live"] == 0:
        inst.globals["bump"] = HEAP_BASE
    return ()


def _upper_alloc(inst: Instance, ptr: int, length: int) -> tuple[int, ...]:
    (block,) = _alloc(inst, (length + 4) & U32)
    if block == 0:
        return (0,)
    inst.memory.store32(block, length)
    _copy_out(inst, ptr, length, (block + 4) & U32, length)
    _ascii_upper(inst, (block + 4) & U32, length)
    return (block,)


STRINGS = GuestModel(
    name="strings",
    pages=2,
    maximum=None,
    data=((GREETING_ADDR, GREETING),),
    globals={"bump": HEAP_BASE, "live": 0},
    exports={
        "size": (0, _size),
        "grow": (1, _grow),
        "count_codepoints": (2, _count_codepoints),
        "ascii_upper": (2, _ascii_upper),
        "copy_out": (4, _copy_out),
        "get_greeting": (2, _get_greeting),
        "alloc": (1, _alloc),
        "dealloc": (2, _dealloc),
        "upper_alloc": (2, _upper_alloc),
    },
)

GUEST_MODELS: dict[str, GuestModel] = {g.name: g for g in (BYTES, STRINGS)}
