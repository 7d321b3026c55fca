"""Memories of any declared limits: one guest per (index type, minimum, maximum).

A guest of this family is named by its memory type, ``mem32-1-4`` (32-bit
addresses, 1 page at first, at most 4) or ``mem64-0-none`` (memory64, no
maximum), and its module text is generated from the name by :func:`limits_wat`,
so a script carries it (``Script.wat``) and replays anywhere. The spec's
limits: a 32-bit memory's minimum and maximum are at most 65536 pages (4 GiB),
a 64-bit memory's at most 2**48, and the minimum is at most the maximum; a
module that breaks them is invalid and must not instantiate.

Every member exports the same functions, on addresses of its index type:

- ``size() -> pages`` and ``grow(delta) -> old pages or -1`` (memory.size, memory.grow)
- ``load_u8(addr)``, ``store_u8(addr, value)``, ``load_i64(addr)``, ``store_i64(addr, value)``
"""

from __future__ import annotations

import re
from functools import cache

from conformance.model.guests import (
    GuestModel,
    _load,
    _load_u8,
    _size,
    _store,
    _store_u8,
    export,
    grow_answering,
    register_family,
)
from conformance.model.memory import MAX_PAGES_32, MAX_PAGES_64

_NAME = re.compile(r"mem(32|64)-(\d+)-(\d+|none)")


def limits_name(minimum: int, maximum: int | None, *, address64: bool = False) -> str:
    return f"mem{64 if address64 else 32}-{minimum}-{'none' if maximum is None else maximum}"


def parse_limits(name: str) -> tuple[int, int | None, bool] | None:
    """(minimum, maximum, address64) of a guest of this family, or None."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    bits, minimum, maximum = match.groups()
    return int(minimum), None if maximum == "none" else int(maximum), bits == "64"


def limits_wat(name: str) -> str:
    """The module text of the guest ``name`` (see the module docstring)."""
    parsed = parse_limits(name)
    if parsed is None:
        raise ValueError(f"not a memory-limits guest: {name!r}")
    minimum, maximum, address64 = parsed
    a = "i64" if address64 else "i32"
    limits = f"{minimum}" + ("" if maximum is None else f" {maximum}")
    return f"""(module
  (memory (export "memory") {"i64 " if address64 else ""}{limits})
  (func (export "size") (result {a}) memory.size)
  (func (export "grow") (param $delta {a}) (result {a}) (memory.grow (local.get $delta)))
  (func (export "load_u8") (param $addr {a}) (result i32) (i32.load8_u (local.get $addr)))
  (func (export "store_u8") (param $addr {a}) (param $value i32)
    (i32.store8 (local.get $addr) (local.get $value)))
  (func (export "load_i64") (param $addr {a}) (result i64) (i64.load (local.get $addr)))
  (func (export "store_i64") (param $addr {a}) (param $value i64)
    (i64.store (local.get $addr) (local.get $value)))
)
"""


def why_invalid(minimum: int, maximum: int | None, address64: bool) -> str:
    """The validation rule the limits break, or empty for valid limits."""
    cap = MAX_PAGES_64 if address64 else MAX_PAGES_32
    kind = "a 64-bit" if address64 else "a 32-bit"
    if minimum > cap:
        return f"the minimum of {kind} memory is at most {cap} pages"
    if maximum is not None and maximum > cap:
        return f"the maximum of {kind} memory is at most {cap} pages"
    if maximum is not None and minimum > maximum:
        return "the minimum is larger than the maximum"
    return ""


@cache
def limits_model(name: str) -> GuestModel | None:
    parsed = parse_limits(name)
    if parsed is None:
        return None
    minimum, maximum, address64 = parsed
    a = "I" if address64 else "i"
    return GuestModel(
        name=name, pages=minimum, maximum=maximum, address64=address64,
        invalid=why_invalid(minimum, maximum, address64),
        exports={
            "size": export(f":{a}", _size),
            "grow": export(f"{a}:{a}", grow_answering((1 << 64) - 1 if address64 else (1 << 32) - 1)),
            "load_u8": export(f"{a}:i", _load_u8),
            "store_u8": export(f"{a}i:", _store_u8),
            "load_i64": export(f"{a}:I", _load(8)),
            "store_i64": export(f"{a}I:", _store(8)),
        },
    )


register_family(limits_model)
