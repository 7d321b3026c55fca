"""Faults at internal page boundaries and at the 4 GiB cap, for ``faulty_driver.py``.

Page boundaries (``conformance/suite/test_page_boundaries.py`` must catch them):

- straddle-wrong-page: a guest load whose bytes straddle an internal 64 KiB page boundary takes
                  the bytes past the boundary from the start of its first byte's page, as an
                  interpreter that finds the page once, from the first byte, would (modules sent
                  as text: each load rewritten to assemble such an access byte by byte)
- straddle-store-lost: a guest store that straddles an internal page boundary writes only its
                  bytes before the boundary (modules sent as text)
- chunked-read:   a host read (and a view read) that crosses an internal page boundary is copied
                  in 64 KiB chunks of which each after the first starts one byte early: the byte
                  before the boundary is repeated, the last byte lost
- chunked-write:  a host write (and a view write) that crosses an internal page boundary leaves
                  the first byte of each later chunk, the one at the boundary, unwritten

The 4 GiB cap (``conformance/suite/test_memory_cap.py`` must catch them):

- cap-size-wrap:  memory.size, and the old size memory.grow answers, are a 16-bit page count:
                  65536 pages answer 0 (modules sent as text: memory.size and memory.grow
                  rewritten; the capacity probe's committed guest keeps the right answer)
- host-size-u32:  the host's size of memory is a u32 byte count: 4 GiB is 0
- cap-grow-refused: a grow to exactly 65536 pages of a memory whose declared maximum is 65536 is
                  refused (its maximum in bytes computed in 32 bits), by the guest and the host
- cap-grow-past:  the cap check is off by one: a grow to 65537 pages answers the old size, as
                  if it had grown (the memory grows to 65536)
- cap-wrap-access: in a memory of 65536 pages, a guest load or store whose bytes pass 2**32 (by
                  its address, or an offset that carries it past) wraps them onto address 0
                  instead of trapping, as 32-bit address arithmetic with no guard region would
                  (modules sent as text)
"""

from __future__ import annotations

import re
from collections.abc import Callable

PAGE = 65536
TEXT_FAULTS = ("straddle-wrong-page", "straddle-store-lost", "cap-wrap-access", "cap-size-wrap")
PAGE_FAULTS = ("straddle-wrong-page", "straddle-store-lost", "chunked-read", "chunked-write")
CAP_FAULTS = ("cap-size-wrap", "host-size-u32", "cap-grow-refused", "cap-grow-past", "cap-wrap-access")
BOUNDARY_FAULTS = PAGE_FAULTS + CAP_FAULTS

_ACCESS = re.compile(
    r"^(\s*)((i32|i64|f32|f64)\.(load|store)(8|16|32)?(_[su])?) offset=(\d+) (align=\d+)(\)*)[ \t]*$",
    re.MULTILINE)
_MEMORY64 = re.compile(r"\(memory\b[^\n]*\bi64\b")
_TYPES = ("i32", "i64", "f32", "f64")


# --- module text ---------------------------------------------------------------------------

def _hit(fault: str) -> list[str]:
    """``$bf_hit(ea: i64, w: i32) -> i32``: the access of ``w`` bytes at ``ea`` is one the fault bends."""
    if fault == "cap-wrap-access":  # a 4 GiB memory, bytes past 2**32
        return ["memory.size", "i32.const 65536", "i32.eq",
                "local.get $ea", "local.get $w", "i64.extend_i32_u", "i64.add", "i64.const 4294967296",
                "i64.gt_u", "i32.and"]
    # crosses an internal page boundary, inside memory
    return ["local.get $ea", "i64.const 65535", "i64.and", "local.get $w", "i64.extend_i32_u", "i64.add",
            "i64.const 65536", "i64.gt_u",
            "local.get $ea", "local.get $w", "i64.extend_i32_u", "i64.add",
            "memory.size", "i64.extend_i32_u", "i64.const 16", "i64.shl", "i64.le_u", "i32.and"]


def _addr(fault: str) -> list[str]:
    """``$bf_addr(ea: i64, i: i32) -> i32``: where the fault puts byte ``i`` of the access."""
    if fault == "straddle-wrong-page":  # within the first byte's page
        return ["local.get $ea", "i64.const -65536", "i64.and", "local.get $ea", "local.get $i",
                "i64.extend_i32_u", "i64.add", "i64.const 65535", "i64.and", "i64.or", "i32.wrap_i64"]
    return ["local.get $ea", "local.get $i", "i64.extend_i32_u", "i64.add", "i32.wrap_i64"]  # wrapped


def _helpers(fault: str) -> str:
    funcs = {
        "$bf_hit (param $ea i64) (param $w i32) (result i32)": _hit(fault),
        "$bf_addr (param $ea i64) (param $i i32) (result i32)": _addr(fault),
        # the w bytes at the fault's addresses, little-endian, zero-extended
        "$bf_load (param $ea i64) (param $w i32) (result i64) (local $v i64) (local $i i32)": [
            "local.get $w", "local.set $i", "block $done", "loop $next",
            "local.get $i", "i32.eqz", "br_if $done",
            "local.get $i", "i32.const 1", "i32.sub", "local.set $i",
            "local.get $v", "i64.const 8", "i64.shl",
            "local.get $ea", "local.get $i", "call $bf_addr", "i64.load8_u", "i64.or", "local.set $v",
            "br $next", "end", "end", "local.get $v"],
        # the n low bytes of bits at the fault's addresses
        "$bf_store (param $ea i64) (param $bits i64) (param $n i32) (local $i i32)": [
            "block $done", "loop $next",
            "local.get $i", "local.get $n", "i32.ge_u", "br_if $done",
            "local.get $ea", "local.get $i", "call $bf_addr",
            "local.get $bits", "local.get $i", "i64.extend_i32_u", "i64.const 8", "i64.mul", "i64.shr_u",
            "i64.store8",
            "local.get $i", "i32.const 1", "i32.add", "local.set $i", "br $next", "end", "end"],
        "$bf_size (result i32)": ["memory.size", "i32.const 65535", "i32.and"],
        "$bf_grow (param $delta i32) (result i32) (local $v i32)": [
            "local.get $delta", "memory.grow", "local.set $v",
            "local.get $v", "local.get $v", "i32.const 65535", "i32.and",
            "local.get $v", "i32.const -1", "i32.eq", "select"],
    }
    globals_ = [f"  (global $bf_{t} (mut {t}) ({t}.const 0))" for t in _TYPES]
    return "\n".join([*globals_, '  (global $bf_ea (mut i64) (i64.const 0))',
                      *(f"  (func {head}\n    " + "\n    ".join(body) + ")" for head, body in funcs.items())])


_FROM_I64 = {  # the value of a load from its w bytes zero-extended to an i64
    "i32.load": ["i32.wrap_i64"], "i32.load8_u": ["i32.wrap_i64"], "i32.load16_u": ["i32.wrap_i64"],
    "i32.load8_s": ["i32.wrap_i64", "i32.extend8_s"], "i32.load16_s": ["i32.wrap_i64", "i32.extend16_s"],
    "i64.load": [], "i64.load8_u": [], "i64.load16_u": [], "i64.load32_u": [],
    "i64.load8_s": ["i64.extend8_s"], "i64.load16_s": ["i64.extend16_s"], "i64.load32_s": ["i64.extend32_s"],
    "f32.load": ["i32.wrap_i64", "f32.reinterpret_i32"], "f64.load": ["f64.reinterpret_i64"],
}
_TO_I64 = {"i32": ["i64.extend_i32_u"], "i64": [], "f32": ["i32.reinterpret_f32", "i64.extend_i32_u"],
           "f64": ["i64.reinterpret_f64"]}


def _rewrite_access(fault: str, match: re.Match[str]) -> str:
    indent, op, type_, kind, bits, _sign, offset, align, close = match.groups()
    width = int(bits) // 8 if bits else int(type_[1:]) // 8
    original = f"{op} offset={offset} {align}"
    touched = {"straddle-wrong-page": kind == "load", "straddle-store-lost": kind == "store"}.get(fault, True)
    if not touched:
        return match.group(0)
    ea = ["i64.extend_i32_u", f"i64.const {offset}", "i64.add", "global.set $bf_ea",
          "global.get $bf_ea", f"i32.const {width}", "call $bf_hit"]
    address = ["global.get $bf_ea", f"i64.const {offset}", "i64.sub", "i32.wrap_i64"]
    if kind == "load":
        lines = [*ea, f"if (result {type_})", "global.get $bf_ea", f"i32.const {width}", "call $bf_load",
                 *_FROM_I64[op], "else", *address, original, "end"]
    else:
        before_the_boundary = ["i32.const 65536", "global.get $bf_ea", "i32.wrap_i64", "i32.const 65535",
                               "i32.and", "i32.sub"]
        count = before_the_boundary if fault == "straddle-store-lost" else [f"i32.const {width}"]
        lines = [f"global.set $bf_{type_}", *ea, "if", "global.get $bf_ea", f"global.get $bf_{type_}",
                 *_TO_I64[type_], *count, "call $bf_store", "else", *address, f"global.get $bf_{type_}",
                 original, "end"]
    return "\n".join(indent + line for line in lines) + close


def rewrite_boundaries(wat: str, fault: str) -> str:
    """Module text with the fault's instructions rewritten (see the module docstring); a module
    with a 64-bit memory is left as it is."""
    if _MEMORY64.search(wat):
        return wat
    if fault == "cap-size-wrap":
        text = re.sub(r"\(memory\.grow\b", "(call $bf_grow", wat)
        text = re.sub(r"\bmemory\.size\b", "call $bf_size", text)
    else:
        text = _ACCESS.sub(lambda m: _rewrite_access(fault, m), wat)
    return text.replace("(module", "(module\n" + _helpers(fault), 1)


# --- the host's copies ---------------------------------------------------------------------

def crossed(addr: int, length: int) -> list[int]:
    """The internal page boundaries strictly inside ``[addr, addr + length)``."""
    first = (addr // PAGE + 1) * PAGE
    return list(range(first, addr + length, PAGE))


def chunked_read(read: Callable[[int, int], bytes], addr: int, length: int) -> bytes:
    """chunked-read: from the first boundary crossed on, every byte is the one before it."""
    data = read(addr, length)
    inside = crossed(addr, len(data))
    if not inside:
        return data
    cut = inside[0] - addr
    return data[:cut] + data[cut - 1:-1]


def chunked_write(write: Callable[[int, bytes], None], read: Callable[[int, int], bytes], addr: int,
                  data: bytes) -> None:
    """chunked-write: the byte at each boundary crossed keeps its old value."""
    kept = [(b, read(b, 1)) for b in crossed(addr, len(data))]
    write(addr, data)
    for boundary, old in kept:
        write(boundary, old)


# --- grows at the cap ------------------------------------------------------------------------

def cap_grow_fault(fault: str, pages: int, delta: int, maximum: int | None) -> str:
    """What cap-grow-refused or cap-grow-past does to a grow of ``delta`` from ``pages``: "refuse",
    "to-the-cap" (answer the old size, grow to 65536), or "" (nothing)."""
    if fault == "cap-grow-refused" and maximum == PAGE and pages + delta == PAGE and delta:
        return "refuse"
    if fault == "cap-grow-past" and pages + delta == PAGE + 1 and (maximum is None or maximum >= PAGE):
        return "to-the-cap"
    return ""
