"""The ``bulk`` guest: the bulk memory instructions as merged into the spec (WebAssembly 2.0).

Each bulk instruction checks its bounds before it writes anything, so one that
traps leaves memory as it was: no partial fill, copy or init. Operands are
unsigned i32s and the checks do not wrap (``d + n`` is compared in full width).

- ``memory.fill d val n``: traps if ``d + n`` is past the end of memory.
- ``memory.copy d s n``: traps if ``s + n`` or ``d + n`` is past the end; the
  regions may overlap in either direction and the result is that of copying
  through a temporary buffer (memmove).
- ``memory.init x d s n``: traps if ``s + n`` is past the end of segment ``x``
  or ``d + n`` past the end of memory. A dropped segment has length 0: init
  from it traps unless ``s == 0`` and ``n == 0``.
- ``data.drop x``: the segment's length becomes 0; dropping it again is fine.

With ``n == 0`` nothing is written, but the bounds are still checked: ``d`` (and
``s``) exactly at the end is fine, one past it traps.

Which segments an instance has dropped is kept in its globals (``dropped0``,
``dropped1``), so that each clone the checker makes carries its own.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.model.guests import ExportFn, GuestModel, _grow, _load_u8, _size, _store_u8, export, register
from conformance.model.memory import Instance, ModelTrap

SEGMENTS: tuple[bytes, ...] = (
    b"passive segment 0:\x00\x01\x02\x03\x7f\x80\xfe\xff<end0>",
    b"\xd1\xd2\xd3",
)
"""The passive data segments of guest-modules/bulk.wat, by index: never in memory until
an init copies them."""


def _dropped(index: int) -> str:
    return f"dropped{index}"


def segment(inst: Instance, index: int) -> bytes:
    """Segment ``index`` as the instance sees it now: empty once dropped."""
    return b"" if inst.globals[_dropped(index)] else SEGMENTS[index]


def _check(inst: Instance, what: str, addr: int, n: int) -> None:
    end = len(inst.memory.data)
    if addr + n > end:
        raise ModelTrap("out-of-bounds", f"{what}: {n} bytes at {addr} (memory is {end} bytes)")


def _fill(inst: Instance, d: int, val: int, n: int) -> tuple[int, ...]:
    _check(inst, "memory.fill", d, n)
    inst.memory.data[d:d + n] = bytes([val & 0xFF]) * n
    return ()


def _copy(inst: Instance, d: int, s: int, n: int) -> tuple[int, ...]:
    _check(inst, "memory.copy source", s, n)
    _check(inst, "memory.copy destination", d, n)
    data = inst.memory.data
    data[d:d + n] = data[s:s + n]  # read whole before writing: memmove
    return ()


def _init(index: int) -> ExportFn:
    def init(inst: Instance, d: int, s: int, n: int) -> tuple[int, ...]:
        seg = segment(inst, index)
        if s + n > len(seg):
            state = "dropped" if inst.globals[_dropped(index)] else f"{len(seg)} bytes"
            raise ModelTrap("out-of-bounds", f"memory.init: {n} bytes at {s} of segment {index} ({state})")
        _check(inst, "memory.init destination", d, n)
        inst.memory.data[d:d + n] = seg[s:s + n]
        return ()

    return init


def _drop(index: int) -> Callable[[Instance], tuple[int, ...]]:
    def drop(inst: Instance) -> tuple[int, ...]:
        inst.globals[_dropped(index)] = 1
        return ()

    return drop


def _unreachable(inst: Instance) -> tuple[int, ...]:
    raise ModelTrap("unreachable", "unreachable executed")


def _div_u(inst: Instance, a: int, b: int) -> tuple[int, ...]:
    if b == 0:
        raise ModelTrap("integer-divide-by-zero", f"i32.div_u {a} by 0")
    return (a // b,)


BULK = GuestModel(
    name="bulk",
    pages=1,
    maximum=None,
    globals={_dropped(i): 0 for i in range(len(SEGMENTS))},
    exports={
        "size": export(":i", _size),
        "grow": export("i:i", _grow),
        "load_u8": export("i:i", _load_u8),
        "store_u8": export("ii:", _store_u8),
        "fill": export("iii:", _fill),
        "copy": export("iii:", _copy),
        "init0": export("iii:", _init(0)),
        "init1": export("iii:", _init(1)),
        "drop0": export(":", _drop(0)),
        "drop1": export(":", _drop(1)),
        "unreachable": export(":", _unreachable),
        "div_u": export("ii:i", _div_u),
    },
)

register(BULK)
