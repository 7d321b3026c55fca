"""The ``multi`` guest: three memories in one instance (multi-memory), each on its own.

Memory 0 is the instance's ``memory`` (exported, so the host's reads and writes
reach it); memories 1 and 2 are ``Instance.extra[1]`` and ``[2]``, reached only
through the exports. Nothing done to one memory shows in another: a store, a
fill, a grow each act on the memory their instruction names, and each memory
grows up to its own maximum.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.model.guests import U32, Branch, Export, ExportFn, GuestModel, _grow, export, register
from conformance.model.memory import Instance, Memory, ModelTrap

LIMITS: tuple[tuple[int, int | None], ...] = ((1, None), (1, 2), (0, 1))
"""(minimum, maximum) in pages of memory 0, 1 and 2, as guest-modules/multi.wat declares them"""


def memory(inst: Instance, k: int) -> Memory:
    return inst.memory if k == 0 else inst.extra[k]


def _load_u8(k: int) -> ExportFn:
    def load(inst: Instance, addr: int) -> tuple[int, ...]:
        return (memory(inst, k).load8(addr),)

    return load


def _store_u8(k: int) -> ExportFn:
    def store(inst: Instance, addr: int, value: int) -> tuple[int, ...]:
        memory(inst, k).store8(addr, value)
        return ()

    return store


def _size(k: int) -> Callable[[Instance], tuple[int, ...]]:
    def size(inst: Instance) -> tuple[int, ...]:
        return (memory(inst, k).pages,)

    return size


def _grow_extra(k: int) -> ExportFn:
    """memory.grow of memory k > 0: the old size, or -1; within its limit a runtime may still refuse.

    Unlike a grow of memory 0 it leaves the host's views of memory 0 alone."""

    def grow(inst: Instance, delta: int) -> list[Branch]:
        mem = inst.extra[k]
        old = mem.pages
        if old + delta > mem.limit:
            return [Branch(f"memory.grow of memory {k} past its limit: -1", (U32,), inst)]
        grown = inst.clone()
        grown.extra[k].grow(delta)
        return [Branch(f"memory.grow of memory {k} succeeded", (old,), grown),
                Branch(f"memory.grow of memory {k} refused (-1)", (U32,), inst.clone(),
                       refused=(old, delta))]

    return grow


def _fill(k: int) -> ExportFn:
    def fill(inst: Instance, d: int, val: int, n: int) -> tuple[int, ...]:
        mem = memory(inst, k)
        if d + n > len(mem.data):
            raise ModelTrap("out-of-bounds",
                            f"memory.fill of memory {k}: {n} bytes at {d} (memory is {len(mem.data)} bytes)")
        mem.data[d:d + n] = bytes([val & 0xFF]) * n
        return ()

    return fill


class MultiGuestModel(GuestModel):
    """A guest whose memories past the first are declared in ``LIMITS``."""

    def instantiate(self) -> Instance:
        inst = super().instantiate()
        inst.extra = {k: Memory.of_pages(pages, maximum) for k, (pages, maximum) in enumerate(LIMITS) if k}
        return inst


def _exports() -> dict[str, Export]:
    out: dict[str, Export] = {}
    for k in range(len(LIMITS)):
        out[f"load_u8_{k}"] = export("i:i", _load_u8(k))
        out[f"store_u8_{k}"] = export("ii:", _store_u8(k))
        out[f"grow_{k}"] = export("i:i", _grow if k == 0 else _grow_extra(k))
        out[f"size_{k}"] = export(":i", _size(k))
        out[f"fill_{k}"] = export("iii:", _fill(k))
    return out


MULTI = MultiGuestModel(
    name="multi",
    pages=LIMITS[0][0],
    maximum=LIMITS[0][1],
    exports=_exports(),
)

register(MULTI)
