"""Memories of several pages, and of 65536, with one export per load or store and static offset.

A guest of this family is named by its memory type, ``paged-3-none`` (3 pages, no
maximum) or ``paged-65535-65536-natural`` (alignment hints at the natural
alignment, not 1). Its exports:

- ``size() -> pages`` and ``grow(delta) -> old pages or -1`` (memory.size, memory.grow)
- ``OP@OFFSET`` for any load or store instruction and static offset, such as
  ``i64.load16_s@65533`` (``(addr: i32) -> i64``) or ``f32.store@3``
  (``(addr: i32, bits: i32) -> ()``). A float load returns its bits (the guest
  reinterprets it as an integer), a float store takes them, so that no float
  crosses the call boundary.

A module holds only the ``OP@OFFSET`` exports its script calls (:func:`paged_wat`
writes it from their names), so it stays small and compiles quickly; the model
knows every such export by its name. Each access is alone on its line,
``OP offset=N align=A``, as in ``conformance/edge_modules.py``.

A signalling NaN a float load reads may come back quieted (whether NaN bits survive
memory is test_endianness.py's): the model then accepts any NaN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from conformance.model.guests import (
    ExportFn,
    GuestModel,
    _size,
    export,
    grow_answering,
    register_family,
)
from conformance.model.limits import why_invalid
from conformance.model.memory import Instance
from conformance.script import ValueType

U32 = 0xFFFF_FFFF
_NAME = re.compile(r"paged-(\d+)-(\d+|none)(-natural)?")
_EXPORT = re.compile(r"((?:i32|i64|f32|f64)\.(?:load|store)(?:8|16|32)?(?:_[su])?)@(\d+)")
_BITS = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}
_INT = {"i32": "i32", "i64": "i64", "f32": "i32", "f64": "i64"}
_CODE = {"i32": "i", "i64": "I"}


@dataclass(frozen=True, slots=True)
class Access:
    """A load or store instruction: ``i64.load16_s`` reads 2 bytes and sign-extends them to i64."""

    name: str
    width: int
    type: ValueType
    signed: bool = False

    @property
    def store(self) -> bool:
        return ".store" in self.name

    @property
    def int_type(self) -> ValueType:
        """The type of the bits the export takes or returns (a float's bits are an integer)."""
        return _INT[self.type]  # type: ignore[return-value]

    def extend(self, raw: int) -> int:
        """The loaded value's bits from the ``width`` little-endian bytes read as an unsigned number."""
        bits = 8 * self.width
        if self.signed and raw >> (bits - 1):
            raw -= 1 << bits
        return raw & ((1 << _BITS[self.type]) - 1)


def _accesses() -> dict[str, Access]:
    types: tuple[ValueType, ...] = ("i32", "i64", "f32", "f64")
    out = [Access(f"{t}.{kind}", _BITS[t] // 8, t) for t in types for kind in ("load", "store")]
    for t, narrow in (("i32", (8, 16)), ("i64", (8, 16, 32))):
        for n in narrow:
            out += [Access(f"{t}.load{n}_s", n // 8, t, signed=True), Access(f"{t}.load{n}_u", n // 8, t),  # type: ignore[arg-type]
                    Access(f"{t}.store{n}", n // 8, t)]  # type: ignore[arg-type]
    return {a.name: a for a in out}


ACCESSES = _accesses()
"""Every load and store instruction of a 32-bit memory, by name."""
LOADS = tuple(a for a in ACCESSES.values() if not a.store)
STORES = tuple(a for a in ACCESSES.values() if a.store)


@dataclass(frozen=True, slots=True)
class Paged:
    minimum: int
    maximum: int | None
    natural: bool = False
    """alignment hints at the access's width (otherwise 1)"""

    @property
    def name(self) -> str:
        return (f"paged-{self.minimum}-{'none' if self.maximum is None else self.maximum}"
                + ("-natural" if self.natural else ""))


def paged_name(minimum: int, maximum: int | None = None, *, natural: bool = False) -> str:
    return Paged(minimum, maximum, natural).name


def parse_paged(name: str) -> Paged | None:
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    minimum, maximum, natural = match.groups()
    return Paged(int(minimum), None if maximum == "none" else int(maximum), bool(natural))


def access_export(access: str, offset: int) -> str:
    """The export that runs ``access`` (an instruction name) with a static offset."""
    return f"{access}@{offset}"


def parse_export(name: str) -> tuple[Access, int] | None:
    match = _EXPORT.fullmatch(name)
    if match is None or match.group(1) not in ACCESSES or int(match.group(2)) > U32:
        return None
    return ACCESSES[match.group(1)], int(match.group(2))


# --- the module text ----------------------------------------------------------------


def _access_func(name: str, natural: bool) -> str:
    parsed = parse_export(name)
    if parsed is None:
        raise ValueError(f"not an access export: {name!r}")
    access, offset = parsed
    line = f"{access.name} offset={offset} align={access.width if natural else 1}"
    if access.store:
        value = ["local.get $value"] + ([f"{access.type}.reinterpret_{access.int_type}"]
                                        if access.type[0] == "f" else [])
        head = f'(func (export "{name}") (param $addr i32) (param $value {access.int_type})'
        body = ["local.get $addr", *value, line]
    else:
        head = f'(func (export "{name}") (param $addr i32) (result {access.int_type})'
        body = ["local.get $addr", line] + ([f"{access.int_type}.reinterpret_{access.type}"]
                                            if access.type[0] == "f" else [])
    return "  " + head + "".join(f"\n    {b}" for b in body) + ")"


@cache
def paged_wat(name: str, exports: tuple[str, ...] = ()) -> str:
    """The module text of the guest ``name`` with ``size``, ``grow`` and the access ``exports``.

    Texts are cached: a script that calls the same exports as an earlier one sends the very
    same module.
    """
    paged = parse_paged(name)
    if paged is None:
        raise ValueError(f"not a paged guest: {name!r}")
    limits = f"{paged.minimum}" + ("" if paged.maximum is None else f" {paged.maximum}")
    funcs = [_access_func(e, paged.natural) for e in sorted(set(exports))]
    return "\n".join([
        "(module",
        f'  (memory (export "memory") {limits})',
        '  (func (export "size") (result i32) memory.size)',
        '  (func (export "grow") (param $delta i32) (result i32) (memory.grow (local.get $delta)))',
        *funcs,
    ]) + ")\n"


# --- the model ------------------------------------------------------------------------


def _load(access: Access, offset: int) -> ExportFn:
    def load(inst: Instance, addr: int) -> tuple[int, ...]:
        # the effective address is the i32 plus the offset, not wrapped: past the end it traps
        # A float load, then reinterpreted to the integer the export returns, keeps every bit: the
        # spec canonicalises NaNs only in arithmetic, so a signalling NaN quieted here is wrong.
        return (access.extend(inst.memory.load(addr + offset, access.width)),)

    return load


def _store(access: Access, offset: int) -> ExportFn:
    def store(inst: Instance, addr: int, value: int) -> tuple[int, ...]:
        inst.memory.store(addr + offset, value & ((1 << (8 * access.width)) - 1), access.width)
        return ()

    return store


class _Exports(dict[str, object]):
    """``size``, ``grow`` and, made from its name on first use, any ``OP@OFFSET`` export."""

    def __missing__(self, name: str) -> object:
        parsed = parse_export(name)
        if parsed is None:
            raise KeyError(name)
        access, offset = parsed
        code = _CODE[access.int_type]
        made = export(f"i{code}:" if access.store else f"i:{code}",
                      _store(access, offset) if access.store else _load(access, offset))
        self[name] = made
        return made


@cache
def paged_model(name: str) -> GuestModel | None:
    paged = parse_paged(name)
    if paged is None:
        return None
    exports = _Exports(size=export(":i", _size), grow=export("i:i", grow_answering(U32)))
    return GuestModel(name=name, pages=paged.minimum, maximum=paged.maximum,
                      invalid=why_invalid(paged.minimum, paged.maximum, False),
                      exports=exports)  # type: ignore[arg-type]


register_family(paged_model)
