"""The faults of component calls (conformance/suite/test_canonical_abi.py), mixed into the faulty driver.

Each is wrong in one way that one property of the canonical ABI sees and the others do not:

- lift-drops-payload:  the host's lifting of a variant, option or result drops a case's payload, giving
                       its type's zero value instead (echo's result only: the lowering is right)
- list-big-endian:     the host stores the integers of digest's ``list<T>`` argument's elements
                       big-endian (as a host that stores scalars in its own byte order would; the
                       list's sizes, pointers and the string bytes are right, so it allocates as before)
- realloc-worst-case:  every ``cabi_realloc`` request of alignment 1 (a string's UTF-8, a list of bytes)
                       asks three times its size, as a host that allocates for UTF-8's worst case
                       would. Emulated: wasmtime's own requests cannot be changed
                       from Python, so the guest's log of the calls is answered so (``realloc-log``);
                       the bytes lowered and the number of calls are wasmtime's
- post-return-ignored: the host never calls a function's post-return (the component's ``canon lift``
                       options are read without their ``post-return``: wasmtime's Python binding runs
                       post-return inside each call, so only the component it is given can skip it)
"""

from __future__ import annotations

from typing import Any

from conformance.cguest import uleb128
from conformance.drivers.wasmtime_component import is_component

COMPONENT_FAULTS = ("lift-drops-payload", "list-big-endian", "realloc-worst-case", "post-return-ignored")
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
    """The component with each ``canon lift``'s ``post-return`` option (0x05) left out (its other
    sections kept); a canonical section holding anything but lifts is kept as it is."""
    out, at = bytearray(wasm[:8]), 8
    while at < len(wasm):
        section, body_at = wasm[at], at + 1
        size, body_at = uleb128(wasm, body_at)
        body = wasm[body_at:body_at + size]
        if section == 8:
            body = _lifts_without_post_return(body)
        out += bytes([section]) + _uleb(len(body)) + body
        at = body_at + size
    return bytes(out)


def _lifts_without_post_return(body: bytes) -> bytes:
    count, pos = uleb128(body, 0)
    new = bytearray(_uleb(count))
    for _ in range(count):
        if body[pos:pos + 2] != b"\x00\x00":
            return body  # not a lift: leave the section alone
        func, pos = uleb128(body, pos + 2)
        n, pos = uleb128(body, pos)
        opts = bytearray()
        kept = 0
        for _ in range(n):
            opt = body[pos]
            # memory, realloc, post-return, callback take an index; the others nothing
            end = uleb128(body, pos + 1)[1] if opt in (0x03, 0x04, 0x05, 0x07) else pos + 1
            if opt != 0x05:
                opts += body[pos:end]
                kept += 1
            pos = end
        ft, pos = uleb128(body, pos)
        new += b"\x00\x00" + _uleb(func) + _uleb(kept) + opts + _uleb(ft)
    return bytes(new)


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def worst_case_log(log: list[int]) -> list[int]:
    """The realloc log (five u32 a call) as a host that asks 3 times every byte-aligned block would
    have made it: each request of alignment 1 triples its sizes."""
    out = list(log)
    for i in range(0, len(out) - 4, 5):
        _, old_size, align, new_size, _ = out[i:i + 5]
        if align == 1:
            out[i + 1], out[i + 3] = 3 * old_size, 3 * new_size
    return out


class ComponentFaults:
    """Overrides of the wasmtime driver's component calls for COMPONENT_FAULTS."""

    fault: str

    def instantiate(self, wasm: bytes, key: str) -> None:
        if self.fault == "post-return-ignored" and is_component(wasm):
            wasm, key = without_post_return(wasm), key + "#post-return-ignored"
        super().instantiate(wasm, key)  # type: ignore[misc]

    def component_call(self, func: str, params: list[Any], result: Any, args: list[Any]) -> Any:
        if self.fault == "list-big-endian" and func == "digest":
            args = [big_endian(t, j) for t, j in zip(params, args, strict=True)]
        got = super().component_call(func, params, result, args)  # type: ignore[misc]
        if self.fault == "lift-drops-payload" and func == "echo" and result is not None:
            return payloads_dropped(result, got)
        if self.fault == "realloc-worst-case" and func == "realloc-log":
            return worst_case_log(list(got))
        return got
