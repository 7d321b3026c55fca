"""The faults of component calls (conformance/suite/test_canonical_abi.py), mixed into the faulty driver.

Each is wrong in one way that one property of the canonical ABI sees and the others do not:

- lift-drops-payload:  the host's lifting of a variant, option or result drops a case's payload, giving
                       its type's zero value instead (echo's result only: the lowering is right)
- list-big-endian:     the host stores the integers of digest's ``list<T>`` argument's elements
                       big-endian (as a host that stores scalars in its own byte order would; the
                       list's sizes, pointers and the string bytes are right, so it allocates as before)
- post-return-ignored: the host never calls a function's post-return (the component's ``canon lift``
                       options are read without their ``post-return``: wasmtime's Python binding runs
                       post-return inside each call, so only the component it is given can skip it)

And of the traps (conformance/suite/test_canonical_abi_traps.py), each answering a value where the
canonical ABI traps; emulated: wasmtime traps, and the fault answers what such a host would lift from
the trap guest's memory, rebuilt from ``bad``'s arguments (one page, ``data`` at ``ARENA`` and at ``at``):

- string-lift-lossy:   a returned string that is not valid in its encoding (invalid UTF-8, an unpaired
                       surrogate) is lifted with U+FFFD in place of the bad sequence
- list-length-clamped: a string's or list's (pointer, length) past the end of memory is lifted cut at
                       the end (as many whole elements as fit; none where the pointer is past it)
- char-replaced:       a char that is no Unicode scalar value is lifted as U+FFFD
- return-area-unaligned: a result in memory at a pointer not aligned to its type is lifted from there
- realloc-answer-unchecked: a string or list is lowered into whatever block cabi_realloc answers, not
                       aligned as asked or past the end of memory (``take`` returns as if written)

And two more, not emulated:

- flags-extra-bits-trap: a flags value with bits set past its last label traps (the spec ignores those
                       bits): the call's result is wasmtime's, and the fault traps where the value
                       ``bad`` returned (flat, or the flags' bytes in its data) has such bits
- string-encoding-ignored: the host lowers and lifts strings as UTF-8 whatever the component's
                       ``canon lift`` says (wasmtime given the component with its lifts' encoding
                       option rewritten to UTF-8: its real lowering and lifting, into a guest that
                       reads UTF-16 or latin1+UTF-16)
"""

from __future__ import annotations

import struct
from typing import Any

from conformance.canonical_abi import UTF16_TAG, load, size, type_from_json
from conformance.canonical_abi import Trap as EngineTrap
from conformance.canonical_abi.binary import (
    lift_string_encoding,
    with_lift_string_encoding,
    without_lift_option,
)
from conformance.canonical_abi.guests import ARENA, TRAP_MEMORY
from conformance.canonical_abi.wire import to_wire
from conformance.drivers._protocol import Trap
from conformance.drivers.wasmtime_component import is_component

POST_RETURN = 0x05
"""the canonical option post-return"""
TRAP_FAULTS = ("string-lift-lossy", "list-length-clamped", "char-replaced", "return-area-unaligned")
COMPONENT_FAULTS = ("lift-drops-payload", "list-big-endian", "post-return-ignored",
                    "flags-extra-bits-trap", "string-encoding-ignored", "realloc-answer-unchecked",
                    *TRAP_FAULTS)
_WIDTHS = {"u16": 2, "s16": 2, "u32": 4, "s32": 4, "u64": 8, "s64": 8}


def zero(t: Any) -> Any:
    """The wire value of type ``t``'s zero: false, 0, "", [], the first case, none, ok."""
    if isinstance(t, str):
        return {"bool": False, "char": "\0", "string": "", "s64": "0", "u64": "0", "f64": "0"}.get(t, 0)
    kind = t["kind"]
    if kind in ("list", "flags"):
        return []
    if kind == "record":
        return {label: zero(ft) for label, ft in t["fields"]}
    if kind == "tuple":
        return [zero(x) for x in t["types"]]
    if kind == "variant":
        label, ct = t["cases"][0]
        return {"case": label, "value": None if ct is None else zero(ct)}
    if kind == "enum":
        return t["labels"][0]
    if kind == "option":
        return None
    return {"ok": None if t.get("ok") is None else zero(t["ok"])}


def _walk(t: Any, j: Any, leaf: Any, variant: Any) -> Any:
    """``j`` (a wire value of ``t``) with ``leaf(t, j)`` at each primitive, ``variant(t, case type, payload)``
    at each case's payload."""
    if isinstance(t, str):
        return leaf(t, j)
    kind = t["kind"]
    if kind == "list":
        return [_walk(t["element"], x, leaf, variant) for x in j]
    if kind == "record":
        return {label: _walk(ft, j[label], leaf, variant) for label, ft in t["fields"]}
    if kind == "tuple":
        return [_walk(x, y, leaf, variant) for x, y in zip(t["types"], j, strict=True)]
    if kind == "variant":
        ct = dict((label, ct) for label, ct in t["cases"])[j["case"]]
        payload = None if ct is None else variant(ct, _walk(ct, j["value"], leaf, variant))
        return {"case": j["case"], "value": payload}
    if kind == "option":
        return None if j is None else {"some": variant(t["type"], _walk(t["type"], j["some"], leaf, variant))}
    if kind == "result":
        key, ct = ("ok", t.get("ok")) if "ok" in j else ("error", t.get("error"))
        return {key: None if ct is None else variant(ct, _walk(ct, j[key], leaf, variant))}
    return j  # enum, flags


def _swapped(t: str, j: Any) -> Any:
    """An integer of ``t`` with its bytes reversed (its wire form kept: 64-bit ones as strings)."""
    width = _WIDTHS.get(t)
    if width is None:
        return j
    signed = t.startswith("s")
    n = int(j).to_bytes(width, "little", signed=signed)
    out = int.from_bytes(n, "big", signed=signed)
    return str(out) if width == 8 else out


def big_endian(t: Any, j: Any) -> Any:
    return _walk(t, j, _swapped, lambda _, v: v)


def payloads_dropped(t: Any, j: Any) -> Any:
    return _walk(t, j, lambda _, v: v, lambda ct, _: zero(ct))


def without_post_return(wasm: bytes) -> bytes:
    """The component with each ``canon lift``'s ``post-return`` option (0x05) left out."""
    return without_lift_option(wasm, POST_RETURN)


_INTS = {"u8": "<B", "s8": "<b", "u16": "<H", "s16": "<h", "u32": "<I", "s32": "<i", "u64": "<Q", "s64": "<q"}


class _Lenient:
    """A lift of the trap guest's memory that does not trap in one way (the fault's)."""

    def __init__(self, memory: bytes, encoding: str, fault: str) -> None:
        self.memory, self.encoding, self.fault = memory, encoding, fault

    def u32(self, ptr: int) -> int:
        return int(struct.unpack_from("<I", self.memory, ptr)[0])

    def load(self, t: Any, ptr: int) -> Any:
        if t == "char":
            return self.char(self.u32(ptr))
        if t == "string":
            return self.string(self.u32(ptr), self.u32(ptr + 4))
        if isinstance(t, str):
            value = struct.unpack_from(_INTS[t], self.memory, ptr)[0]
            return str(value) if t in ("u64", "s64") else value
        if t["kind"] == "tuple":
            out, at = [], ptr
            for x in t["types"]:  # the trap properties' tuples are of 4-byte fields
                out.append(self.load(x, at))
                at += 4
            return out
        element = t["element"]
        size = 8 if element == "string" else struct.calcsize(_INTS[element])
        begin, length = self.u32(ptr), self.u32(ptr + 4)
        return [self.load(element, begin + i * size) for i in range(self.clamped(begin, length, size))]

    def clamped(self, ptr: int, length: int, size: int) -> int:
        if self.fault == "list-length-clamped" and ptr + length * size > len(self.memory):
            return max(0, len(self.memory) - ptr) // size
        return length

    def string(self, ptr: int, units: int) -> str:
        unit, codec = (2, "utf-16-le") if self.encoding == "utf16" else (1, "utf-8")
        if self.encoding == "latin1+utf16":
            unit, codec = (2, "utf-16-le") if units & UTF16_TAG else (1, "latin-1")
            units &= ~UTF16_TAG
        units = self.clamped(ptr, units, unit)
        return self.memory[ptr:ptr + unit * units].decode(codec, errors="replace")

    def char(self, code: int) -> str:
        if self.fault == "char-replaced" and (code >= 0x110000 or 0xD800 <= code <= 0xDFFF):
            return "\ufffd"
        return chr(code)


_TRAPS_MEANT = {  # the fault's trap, by wasmtime's words
    "string-lift-lossy": ("invalid utf-8", "unpaired surrogate"),
    "list-length-clamped": ("out of bounds",),
    "char-replaced": ("out of range for `char`",),
    "return-area-unaligned": ("return pointer not aligned",),
    "realloc-answer-unchecked": ("realloc return",),
}


def lifted_anyway(fault: str, result: Any, args: list[Any], encoding: str) -> Any:
    """The wire value a host with ``fault`` lifts from the trap guest's ``bad(at, data, ret)``."""
    at, data, ret = int(args[0]), bytes(args[1]), int(args[2])
    memory = bytearray(TRAP_MEMORY)
    memory[ARENA:ARENA + len(data)] = data
    memory[at:at + len(data)] = data
    if fault == "return-area-unaligned":
        return _unaligned(result, memory, ret, encoding)
    lenient = _Lenient(bytes(memory), encoding, fault)
    if result == "char":
        return lenient.char(ret)
    return lenient.load(result, ret)


def _unaligned(result: Any, memory: bytearray, ret: int, encoding: str) -> Any:
    """The value of type ``result`` at ``ret`` lifted as if ``ret`` were aligned: its bytes moved to
    an aligned address above the trap guest's data (the pointers in them are absolute)."""
    t = type_from_json(result)
    aligned = 0x8000
    moved = bytearray(memory)
    moved[aligned:aligned + size(t)] = memory[ret:ret + size(t)]
    try:
        value = load(t, moved, aligned, string_encoding=encoding)  # type: ignore[arg-type]
    except EngineTrap as exc:  # what is inside traps even so
        raise Trap("canonical-abi", str(exc)) from None
    return to_wire(t, value)


def extra_flag_bits(result: Any, args: list[Any]) -> bool:
    """Whether the flags ``bad(at, data, ret)`` returned (flat, or first in a tuple in memory) have a
    bit set past their last label."""
    at, data, ret = int(args[0]), bytes(args[1]), int(args[2])
    flags = result if isinstance(result, dict) and result["kind"] == "flags" else None
    raw = ret
    if flags is None and isinstance(result, dict) and result["kind"] == "tuple":
        first = result["types"][0]
        if isinstance(first, dict) and first["kind"] == "flags":
            flags = first
            width = size(type_from_json(first))
            raw = int.from_bytes(data[ret - at:ret - at + width], "little")
    return flags is not None and raw >> len(flags["labels"]) != 0


class ComponentFaults:
    """Overrides of the wasmtime driver's component calls for COMPONENT_FAULTS."""

    fault: str
    string_encoding: str = "utf8"

    def instantiate(self, wasm: bytes, key: str) -> None:
        if self.fault == "post-return-ignored" and is_component(wasm):
            wasm, key = without_post_return(wasm), key + "#post-return-ignored"
        if self.fault == "string-encoding-ignored" and is_component(wasm):
            wasm, key = with_lift_string_encoding(wasm, "utf8"), key + "#utf8"
        if self.fault in TRAP_FAULTS and is_component(wasm):
            self.string_encoding = lift_string_encoding(wasm)
        super().instantiate(wasm, key)  # type: ignore[misc]

    def component_call(self, func: str, params: list[Any], result: Any, args: list[Any]) -> Any:
        if self.fault == "list-big-endian" and func == "digest":
            args = [big_endian(t, j) for t, j in zip(params, args, strict=True)]
        try:
            got = super().component_call(func, params, result, args)  # type: ignore[misc]
        except Trap as exc:
            meant = any(m in exc.message.lower() for m in _TRAPS_MEANT.get(self.fault, ()))
            if func == "bad" and exc.reason == "canonical-abi" and meant:
                return lifted_anyway(self.fault, result, args, self.string_encoding)
            if func == "take" and exc.reason == "canonical-abi" and meant:
                return None
            raise
        if self.fault == "flags-extra-bits-trap" and func == "bad" and extra_flag_bits(result, args):
            raise Trap("canonical-abi", "flags have bits set past the last label")
        if self.fault == "lift-drops-payload" and func == "echo" and result is not None:
            return payloads_dropped(result, got)
        return got
