"""What each guest module's exports do, written from the WAT's documented contract.

The model runs these on its own copy of the instance. They mirror the guest
exactly, byte order of accesses included, so that a trap half-way through a
loop leaves the same bytes in the model as in a correct runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from conformance.model.memory import Instance, Memory
from conformance.script import PAGE_SIZE, ValueType

U32 = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True)
class Branch:
    """One of several results the spec allows; ``label`` names it in the report.

    With ``any_nan`` set to a float type, a result whose bits are a NaN of that
    type matches any NaN of it: a host may change NaN bits when a float crosses
    the call boundary.
    """

    label: str
    results: tuple[int, ...]
    instance: Instance
    any_nan: ValueType | None = None
    refused: tuple[int, int] | None = None
    """for a memory.grow refused within its limit: (old pages, delta). The spec lets a grow
    fail for lack of resources; the checker believes it only where the runtime was not measured
    to reach that size in the same run, and never for a grow of 0 pages."""


ExportFn = Callable[..., "tuple[int, ...] | list[Branch]"]
_TYPE_CODES: dict[str, ValueType] = {"i": "i32", "I": "i64", "f": "f32", "F": "f64"}


@dataclass(frozen=True, slots=True)
class Export:
    """An export's signature and its behaviour (on the bit patterns of its values)."""

    params: tuple[ValueType, ...]
    results: tuple[ValueType, ...]
    fn: ExportFn


def export(signature: str, fn: ExportFn) -> Export:
    """``"ii:i"``: two i32 parameters, one i32 result (i i32, I i64, f f32, F f64)."""
    params, _, results = signature.partition(":")
    return Export(tuple(_TYPE_CODES[c] for c in params), tuple(_TYPE_CODES[c] for c in results), fn)


@dataclass(frozen=True)
class GuestModel:
    name: str
    pages: int
    maximum: int | None
    data: tuple[tuple[int, bytes], ...] = ()
    globals: dict[str, int] = field(default_factory=dict)
    exports: dict[str, Export] = field(default_factory=dict)
    address64: bool = False
    invalid: str = ""
    """why the spec rejects the module (it must not instantiate), or empty"""

    def instantiate(self) -> Instance:
        memory = Memory.of_pages(self.pages, self.maximum, address64=self.address64)
        for addr, blob in self.data:
            memory.data[addr:addr + len(blob)] = blob
        return Instance(memory, dict(self.globals))


def _size(inst: Instance) -> tuple[int, ...]:
    return (inst.memory.pages,)


def grow_answering(minus_one: int) -> ExportFn:
    """memory.grow whose -1 is ``minus_one`` (the i32 or the i64 bit pattern)."""

    def grow(inst: Instance, delta: int) -> list[Branch]:
        """The old size in pages, or -1 past the limit; within it a runtime may still refuse."""
        old = inst.memory.pages
        if old + delta > inst.memory.limit:
            return [Branch("memory.grow past the limit: -1", (minus_one,), inst)]
        grown = inst.clone()
        grown.memory.grow(delta)
        grown.grows += 1
        return [Branch("memory.grow succeeded", (old,), grown),
                Branch("memory.grow refused (-1)", (minus_one,), inst.clone(), refused=(old, delta))]

    return grow


_grow = grow_answering(U32)


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
        "size": export(":i", _size),
        "grow": export("i:i", _grow),
        "load_u8": export("i:i", _load_u8),
        "store_u8": export("ii:", _store_u8),
        "checksum": export("ii:i", _checksum),
        "copy": export("iii:", _copy),
        "fill": export("iii:", _fill),
        "reverse": export("ii:", _reverse),
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
        "size": export(":i", _size),
        "grow": export("i:i", _grow),
        "count_codepoints": export("ii:i", _count_codepoints),
        "ascii_upper": export("ii:", _ascii_upper),
        "copy_out": export("iiii:i", _copy_out),
        "get_greeting": export("ii:i", _get_greeting),
        "alloc": export("i:i", _alloc),
        "dealloc": export("ii:", _dealloc),
        "upper_alloc": export("ii:i", _upper_alloc),
    },
)

# --- scalars -------------------------------------------------------------------


def _store(width: int) -> ExportFn:
    def store(inst: Instance, addr: int, value: int) -> tuple[int, ...]:
        inst.memory.store(addr, value & ((1 << (8 * width)) - 1), width)
        return ()

    return store


def _load(width: int, signed: bool = False) -> ExportFn:
    def load(inst: Instance, addr: int) -> tuple[int, ...]:
        value = inst.memory.load(addr, width)
        if signed and value >> (8 * width - 1):
            value -= 1 << (8 * width)
        return (value & U32 if width <= 4 else value,)

    return load


CROSSING = "crossing the call boundary"
INTO_GUEST = "on its way into the guest (a float argument)"
OUT_OF_GUEST = "on its way out of the guest (a float result)"
IN_HOST_VALUE = "in the host's value type (the runtime kept it in memory)"


def _nan_branches(bits: int, width: int, inst: Instance, where: str) -> list[Branch]:
    """A float that crosses the call boundary: its bits, or, for a NaN, the NaN quieted (its
    quiet bit set, the payload kept) or any other NaN; ``where`` says where it changed."""
    exact = Branch("", (bits,), inst)
    if not _is_nan(bits, width):
        return [exact]
    quieted = bits | (1 << (22 if width == 4 else 51))
    branches = [exact]
    if quieted != bits:
        branches.append(Branch(f"NaN payload quieted {where}", (quieted,), inst))
    branches.append(Branch(f"NaN payload replaced by another NaN {where}", (bits,), inst,
                           any_nan="f32" if width == 4 else "f64"))
    return branches


def _echo_float(width: int, where: str = CROSSING) -> ExportFn:
    """A float passed or returned as a float: its bits, or, for a NaN, another NaN."""

    def echo(inst: Instance, bits: int) -> list[Branch]:
        return _nan_branches(bits, width, inst, where)

    return echo


def _from_bits_at(width: int) -> ExportFn:
    """The float of ``bits``, stored at ``addr`` (exactly: stores keep every bit) and returned
    as a float. The script reads the stored bytes next, so a NaN that reaches the host changed
    while memory holds it whole was changed in the host's value type, not by the runtime."""

    def from_bits_at(inst: Instance, addr: int, bits: int) -> list[Branch]:
        inst.memory.store(addr, bits, width)
        return _nan_branches(bits, width, inst, IN_HOST_VALUE)

    return from_bits_at


def _is_nan(bits: int, width: int) -> bool:
    exp_bits, frac_bits = (8, 23) if width == 4 else (11, 52)
    exponent = (bits >> frac_bits) & ((1 << exp_bits) - 1)
    return exponent == (1 << exp_bits) - 1 and bits & ((1 << frac_bits) - 1) != 0


def is_nan(type_: str, bits: int) -> bool:
    return type_ in ("f32", "f64") and _is_nan(bits, 4 if type_ == "f32" else 8)


SCALARS = GuestModel(
    name="scalars",
    pages=1,
    maximum=None,
    exports={
        "store_i8": export("ii:", _store(1)),
        "store_i16": export("ii:", _store(2)),
        "store_i32": export("ii:", _store(4)),
        "store_i64": export("iI:", _store(8)),
        "store_f32": export("ii:", _store(4)),
        "store_f64": export("iI:", _store(8)),
        "load_i8_s": export("i:i", _load(1, signed=True)),
        "load_i8_u": export("i:i", _load(1)),
        "load_i16_s": export("i:i", _load(2, signed=True)),
        "load_i16_u": export("i:i", _load(2)),
        "load_i32": export("i:i", _load(4)),
        "load_i64": export("i:I", _load(8)),
        "load_f32": export("i:i", _load(4)),
        "load_f64": export("i:I", _load(8)),
        "echo_f32": export("f:f", _echo_float(4)),
        "echo_f64": export("F:F", _echo_float(8)),
        "f32_bits": export("f:i", _echo_float(4, INTO_GUEST)),
        "f64_bits": export("F:I", _echo_float(8, INTO_GUEST)),
        "f32_from_bits": export("i:f", _echo_float(4, OUT_OF_GUEST)),
        "f64_from_bits": export("I:F", _echo_float(8, OUT_OF_GUEST)),
        "f32_from_bits_at": export("ii:f", _from_bits_at(4)),
        "f64_from_bits_at": export("iI:F", _from_bits_at(8)),
    },
)

class _GuestModels(dict[str, GuestModel]):
    """Guest models by name: the registered ones, and members of parametrised families
    (``mem32-1-4``: a memory of 1 to 4 pages) made from their names on demand."""

    def __init__(self, models: Iterable[GuestModel]) -> None:
        super().__init__((m.name, m) for m in models)
        self.families: list[Callable[[str], GuestModel | None]] = []

    def __missing__(self, name: str) -> GuestModel:
        for family in self.families:
            model = family(name)
            if model is not None:
                return model
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        if super().__contains__(name):
            return True
        return isinstance(name, str) and any(family(name) is not None for family in self.families)


GUEST_MODELS = _GuestModels((BYTES, STRINGS, SCALARS))
"""Every guest the model knows, by name. Models of other guests live in modules of their own
beside this one, each registering its guests with :func:`register` (or a family of guests
with :func:`register_family`), imported by the package."""


def register_family(family: Callable[[str], GuestModel | None]) -> None:
    """A family of guests: ``family(name)`` is the model of the guest called ``name``, or None."""
    GUEST_MODELS.families.append(family)


def register(*models: GuestModel) -> None:
    for model in models:
        if model.name in GUEST_MODELS and GUEST_MODELS[model.name] is not model:
            raise ValueError(f"two models of guest {model.name!r}")
        GUEST_MODELS[model.name] = model
