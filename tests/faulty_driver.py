"""A driver that is wrong in exactly one way, for showing that each property can fail.

    python tests/faulty_driver.py FAULT

It is the real wasmtime driver with one fault added, so that everything but the
fault is right. FAULT is one of:

- stale:          host reads and view reads return the bytes as they were at the last
                  host write (or instantiation), not what the guest wrote since
- off-by-one-end: host bounds checks refuse a span that ends exactly at the end of memory
- drop-byte:      host writes of two or more bytes lose their last byte
- lenient-end:    host writes past the end are cut short silently instead of refused
- swallow-trap:   a trapping call is reported as returning zeros
- sticky-instance: a second (instantiate) in a script keeps the old instance
- dirty-grow:     a host grow leaves a non-zero byte in the first new page
- big-endian:     host reads and writes of 2, 4 or 8 bytes reverse their byte order, as a host
                  that encodes scalars big-endian would
- float-bits:     float call results come back with their lowest bit flipped
- zeroed-reuse:   a block an allocator export (alloc, c_malloc) returns is zero-filled, as a
                  binding that "helpfully" zeroes allocations would
- no-free:        calls of the freeing exports (dealloc, c_free) are dropped, answered ok
- misaligned-alloc: allocator exports (alloc, c_malloc, c_arena_alloc) answer their pointer + 1
- signed-grow:    the guest's memory.grow result is reported as the old size for a delta
                  past the limit (as a runtime that read the delta as signed would)
- grow-new-size:  every grow, by the host or the guest, answers the new size in pages, not the old
- ignore-maximum: memories are compiled without their declared maximum (the module's memory
                  section rewritten), as a runtime that ignores the maximum would run them
- lax-limits:     memory limits the spec rejects are accepted: a minimum or maximum above 65536
                  pages is taken as 65536, a minimum above the maximum raises the maximum
- partial-bulk:   a memory.fill or memory.copy (guest bulk) that traps first writes its in-bounds
                  part, as a byte loop would
- forward-copy:   memory.copy (guest bulk) copies lowest address first, like memcpy, not memmove
- short-fill:     memory.fill (guest bulk) of 2 or more bytes sets one byte fewer
- init-offset:    memory.init (guest bulk) copies from the start of the segment whatever its offset
- drop-ignored:   data.drop (guest bulk) does nothing
- zero-end-trap:  a bulk op (guest bulk) of length 0 with an address exactly at the end of memory traps
- lenient-zero:   a bulk op (guest bulk) of length 0 never traps, past the end included
- wrong-after-trap: after a trap, every call on that instance answers zeros and does nothing
- shared-memories: a store to memory k > 0 (guest multi, store_u8_k) is also made in memory 0
- shared-grow:    a grow of memory k > 0 (guest multi, grow_k) that succeeds grows memory 0 too
- wrapping-offset: a guest load or store adds its static offset to its address at 32 bits, wrapping,
                  as compiled code that computes the effective address in 32 bits would (modules
                  sent as text: each `offset=N` access rewritten as an i32.add of N and offset 0)
- edge-off-by-one: a guest load that ends exactly at the end of memory traps, as a bounds check
                  `ea + width >= size` would (modules sent as text: each load first loads the byte
                  just after its last one, and drops it)
- short-copy-down: memory.copy (any guest's copy export) to a lower address copies one byte too few
- refuse-zero-grow: every grow of 0 pages, by the host or the guest, is refused (-1, grow-failed)
- refuse-grow-by-one: every grow of exactly 1 page is refused, though larger ones (the capacity
                  probe's) succeed
- lax-validation: a module sent as text whose code or data segment fails validation (an operand of the
                  wrong type, an alignment hint above the natural one, a memory the module does not
                  have) is instantiated anyway (ok, no instance), and each call of it answers ok and
                  no results, as a runtime that never validates and skips what it cannot run would
- const-sub-as-add: an active data segment's offset (modules sent as text) evaluates i32.sub as
                  i32.add, as an engine evaluating Wasm 3.0's extended constant expressions with the
                  wrong operator would
- global-offset-ignored: an active data segment's offset (modules sent as text) reads the module's
                  own globals as 0, as an engine that evaluated global.get of a non-imported global
                  before its initialiser would
- segment-link-error: an instantiation that traps (an active segment that does not fit) is reported
                  as a link error, as the wasm3 and pywasm drivers once did
- table-trap-other: the traps of call_indirect (past the table, null entry, another type) are
                  reported as trap other
- unsupported-big-grow: a host grow of 2 pages or more answers "unsupported" (no host-side grow),
                  though the probe's grow of 1 page worked
- short-read:     host reads past the end return the bytes up to the end, fewer than asked (as
                  wasmtime's Memory.read does), stated rather than inherited
- padded-read:    host reads past the end return the full length, zero-padded past the end
- poison-after-trap: after a trap, every call on that instance answers "poisoned" (as pywasm's
                  driver does), while memory operations go on
- fused-overread, narrowed-load, scaled-index-wrap, offset-folded-into-index, add-folded-into-offset,
  rmw-lost-trap:  backend bugs of instruction selection (modules sent as text, rewritten as
                  tests/isel_faults.py says): a narrow load merged into a wider memory operand, a
                  wide load narrowed, a scaled index or an added constant folded into a 64-bit
                  address without the 32-bit wrap, the offset folded into the index before scaling,
                  a load-op-store fused with the store's width
- straddle-wrong-page, straddle-store-lost, chunked-read, chunked-write (accesses across an
  internal 64 KiB page boundary), cap-size-wrap, host-size-u32, cap-grow-refused, cap-grow-past,
  cap-wrap-access (memory at 65536 pages, the 4 GiB cap): see tests/boundary_faults.py
- negative-i64-bad-call: a call with an i64 argument of the high bit set answers bad-call, as a
                  host whose BigInt conversion takes only non-negative values would
- size-wraps:     a guest's size export answers the page count modulo 65536 (0 at 4 GiB), as a
                  16-bit page counter would
- view-unsupported-grown: taking a view of a memory of more than one page answers "unsupported"
                  (no view), though the probe's view of one page worked
- lax-import-limits: an imported memory's maximum is not checked at link time (a provided memory
                  with a larger maximum, or none, links), as a binding that matched the minimum only
- segments-checked-first: an instantiation whose active data segment does not fit writes none of
                  its segments into the imported memory (the pre-bulk-memory rule)
- import-stale-read: a host read of a memory named by reference (an imported one) gives the bytes as
                  the host's writes and the instantiation left them: guests' stores since are unseen
- size-at-link:   an instance that imports its memory answers memory.size (its size export) with the
                  pages the memory had when it was linked, as if grows by others were not seen
- lax-host-limits: a 32-bit memory the host creates with a maximum past 65536 pages is made, with 65536
- memory64-max-unchecked: a module's memory64 declaring a maximum past 2**48 pages (modules sent as
                  text) is instantiated, with 2**48
- host-memory64-max-ignored: a memory64 the host creates is made without its maximum (it grows past it)
- shared-view-follows, host-shared-detach, narrow-rmw-sign-extended, wait-unshared-times-out,
  shared-no-maximum, link-ignores-shared: shared memories, see tests/shared_faults.py
- resizable-view-fixed: a length-tracking view over a resizable buffer keeps the length it was taken
                  with (tests/resizable_views.py, which gives every faulty runtime such views)
- lift-drops-payload, list-big-endian, post-return-ignored, flags-extra-bits-trap,
  string-encoding-ignored: component calls (the canonical ABI), see tests/component_faults.py
- realloc-answer-unchecked: a string or list lowered into whatever block the guest's realloc answers
- string-lift-lossy, list-length-clamped, char-replaced, return-area-unaligned: a component call's
                  result lifted where the canonical ABI traps (U+FFFD for invalid strings and chars,
                  lists cut at the end of memory, a misaligned result read where it is), see
                  tests/component_faults.py
(The canonical ABI's realloc fault is jco's glue on node, edited: tests/jco_faults.js.)
- segfault:       the driver process dies of SIGSEGV on any call
- hang:           the driver never answers a script that calls an export
"""

from __future__ import annotations

import ctypes
import re
import sys
import time
from typing import Any

import wasmtime
from boundary_faults import (
    BOUNDARY_FAULTS,
    TEXT_FAULTS,
    cap_grow_fault,
    chunked_read,
    chunked_write,
    rewrite_boundaries,
)
from component_faults import COMPONENT_FAULTS, ComponentFaults
from isel_faults import ISEL_FAULTS, rewrite_isel
from resizable_views import RESIZABLE_FAULTS, ResizableViews
from shared_faults import SHARED_FAULTS, SharedFaults

from conformance.canonical_abi.binary import rewrite_sections, uleb128_bytes
from conformance.cguest import uleb128
from conformance.drivers._protocol import HostError, Trap, serve
from conformance.drivers.wasmtime_driver import WasmtimeDriver

EDGE_FAULTS = ("partial-bulk", "forward-copy", "short-fill", "init-offset", "drop-ignored", "zero-end-trap",
               "lenient-zero", "wrong-after-trap", "shared-memories", "shared-grow")
ADDRESS_FAULTS = ("wrapping-offset", "edge-off-by-one")
# Faults that a lenient verdict would let pass: a probe that takes a wrong answer for a missing
# feature, a grow refusal believed though the run measured the runtime reaching further.
LINK_FAULTS = ("lax-import-limits", "segments-checked-first", "import-stale-read", "size-at-link")
"""faults of imported memories (conformance/suite/test_imports.py)"""
LIMIT_FAULTS = ("lax-host-limits", "memory64-max-unchecked", "host-memory64-max-ignored")
"""faults of memory limits and embedder limits (conformance/suite/test_embedder_limits.py)"""
VERDICT_FAULTS = ("short-copy-down", "refuse-zero-grow", "refuse-grow-by-one", "unsupported-big-grow",
                  "negative-i64-bad-call", "size-wraps", "view-unsupported-grown")
FAULTS = ("stale", "off-by-one-end", "drop-byte", "lenient-end", "swallow-trap", "sticky-instance",
          "dirty-grow", "signed-grow", "big-endian", "float-bits", "zeroed-reuse", "no-free",
          "misaligned-alloc", "grow-new-size", "ignore-maximum", "lax-limits", *EDGE_FAULTS,
          *ADDRESS_FAULTS, *VERDICT_FAULTS, *ISEL_FAULTS, *BOUNDARY_FAULTS, "lax-validation",
          "const-sub-as-add", "global-offset-ignored", "segment-link-error", "table-trap-other", "short-read",
          "padded-read",
          "poison-after-trap", *LINK_FAULTS, *LIMIT_FAULTS, *SHARED_FAULTS, *RESIZABLE_FAULTS,
          *COMPONENT_FAULTS, "segfault", "hang")


_MEMORY64 = re.compile(r'(\(memory \(export "memory"\) i64 \d+ )(\d+)\)')
_IMPORT_LIMITS = re.compile(r'\(import "env" "memory" \(memory (\d+) \d+\)\)')
LAX_VALIDATION = re.compile(r"type mismatch|alignment must not be larger than natural|unknown memory")
"""the validation errors (wasmtime's words) that lax-validation lets pass"""


def _fails_validation(engine: Any, wasm: bytes) -> bool:
    """Whether wasmtime refuses ``wasm`` for one of the errors of :data:`LAX_VALIDATION`."""
    try:
        wasmtime.Module(engine, wasm)
    except wasmtime.WasmtimeError as exc:
        return LAX_VALIDATION.search(str(exc)) is not None
    return False


class FaultyDriver(ComponentFaults, ResizableViews, SharedFaults, WasmtimeDriver):
    def __init__(self, fault: str) -> None:
        super().__init__()
        self.fault = fault
        self.runtime_id = f"faulty-{fault}"
        self._last_key: str | None = None
        self.shadow = bytearray()
        self.instances = 0
        self.text = ""  # the module's text, where the request carries it (a generated module)
        self.lax = False  # lax-validation: the module instantiated failed validation

    def version(self) -> str:
        return f"{super().version()}+{self.fault}"

    def _edge_fault(self, func: str, args: Any) -> Any:
        """The faults of bulk memory (guest bulk), multi-memory (guest multi) and after a trap."""
        from conformance.drivers._protocol import Trap

        fault, values, bulk = self.fault, [v for _, v in args], "drop0" in self.exports
        if fault == "wrong-after-trap":
            if getattr(self, "_trapped", None) is self.instance:
                f = self.exports[func]
                assert isinstance(f, wasmtime.Func)
                return [(str(t), 0) for t in f.type(self.store).results]
            try:
                return super().call(func, args)
            except Trap:
                self._trapped = self.instance
                raise
        sized = bulk and func in ("fill", "copy", "init0", "init1")
        if sized and fault == "lenient-zero" and values[2] == 0:
            return []
        if sized and fault == "zero-end-trap" and values[2] == 0 and self.size() in (
                values[0], values[1] if func == "copy" else -1):
            raise Trap("out-of-bounds", "faulty: length 0 at the end of memory")
        if bulk and fault == "short-fill" and func == "fill" and values[2] >= 2:
            args = [args[0], args[1], ("i32", values[2] - 1)]
        if bulk and fault == "init-offset" and func in ("init0", "init1"):
            args = [args[0], ("i32", 0), args[2]]
        if bulk and fault == "drop-ignored" and func in ("drop0", "drop1"):
            return []
        size = self.size()
        if bulk and fault == "forward-copy" and func == "copy":
            d, s, n = values
            if n and d + n <= size and s + n <= size:
                mem = bytearray(super().read(0, size))
                for i in range(n):
                    mem[d + i] = mem[s + i]
                super().write(d, bytes(mem[d:d + n]))
                return []
        if bulk and fault == "partial-bulk" and func in ("fill", "copy"):
            try:
                return super().call(func, args)
            except Trap:
                d, src_or_val, n = values
                fits = max(0, min(n, size - d, size - src_or_val if func == "copy" else n))
                if fits and func == "copy":
                    super().write(d, super().read(src_or_val, fits))
                elif fits:
                    super().write(d, bytes([src_or_val & 0xFF]) * fits)
                raise
        results = super().call(func, args)
        if func[-2:] in ("_1", "_2") and (fault, func[:-2]) in (("shared-memories", "store_u8"),
                                                                 ("shared-grow", "grow")):
            if func.startswith("grow") and results[0][1] == 0xFFFFFFFF:
                return results
            try:
                super().call(func[:-1] + "0", args)
            except Trap:
                pass
        return results

    def new_script(self) -> None:
        super().new_script()
        self._last_key = None  # sticky-instance sticks within a script, not across scripts
        self._new_link_state()

    def instantiate(self, wasm: bytes, key: str) -> None:
        if self.fault == "sticky-instance" and key == self._last_key:
            return
        self._last_key = key
        if self.fault in ("ignore-maximum", "lax-limits"):
            wasm = rewrite_memory_limits(wasm, self.fault)
        if self.fault == "memory64-max-unchecked" and self.text:  # a maximum past 2**48 taken as 2**48
            text = _MEMORY64.sub(lambda m: f"{m[1]}{min(int(m[2]), 1 << 48)})", self.text)
            wasm, key = bytes(wasmtime.wat2wasm(text)), key + "#memory64-max-unchecked"
        if self.fault in ADDRESS_FAULTS and self.text:
            wasm = bytes(wasmtime.wat2wasm(rewrite_accesses(self.text, self.fault)))
        if self.fault in ISEL_FAULTS and self.text:
            wasm = bytes(wasmtime.wat2wasm(rewrite_isel(self.text, self.fault)))
        if self.fault == "global-offset-ignored" and self.text:  # a data offset's global.get read as 0
            text = re.sub(r"(?m)^(\s*\(data .*)$", lambda m: re.sub(r"\(global\.get \$\w+\)", "(i32.const 0)",
                                                                 m.group(1)), self.text)
            wasm, key = bytes(wasmtime.wat2wasm(text)), key + "#global-offset-ignored"
        if self.fault == "const-sub-as-add" and self.text:
            text = re.sub(r"(?m)^(\s*\(data .*)$", lambda m: m.group(1).replace("i32.sub", "i32.add"),
                          self.text)
            wasm = bytes(wasmtime.wat2wasm(text))
        if self.fault in TEXT_FAULTS and self.text:
            wasm = bytes(wasmtime.wat2wasm(rewrite_boundaries(self.text, self.fault)))
        self.lax = self.fault == "lax-validation" and bool(self.text) and _fails_validation(self.engine, wasm)
        if self.lax:
            self.memory = None  # (calls answer [] while self.lax; no memory to read)
            return
        try:
            super().instantiate(wasm, key)
        except Trap as trap:
            if self.fault == "segment-link-error":
                raise HostError("link-error", f"faulty: {trap.message}") from None
            raise
        if self.fault == "stale":  # (a copy of all memory: 4 GiB for a memory at the cap)
            self.shadow = bytearray(super().read(0, super().size()))

    def _bounds(self, addr: int, length: int) -> None:
        if self.fault == "off-by-one-end" and addr + length >= self.size():
            raise HostError("out-of-range", "faulty: off by one at the end")

    def write(self, addr: int, data: bytes) -> None:
        self._bounds(addr, len(data))
        if self.fault == "import-stale-read" and self.ref in self.shadows:
            shadow = self.shadows[self.ref]
            shadow.extend(bytes(max(0, addr + len(data) - len(shadow))))
            shadow[addr:addr + len(data)] = data
        if self.fault == "drop-byte" and len(data) >= 2:
            data = data[:-1]
        if self.fault == "big-endian" and len(data) in (2, 4, 8):
            data = data[::-1]
        if self.fault == "lenient-end":
            data = data[:max(0, self.size() - addr)]
            if not data:
                return
        if self.fault == "chunked-write":
            chunked_write(super().write, super().read, addr, data)
            return
        super().write(addr, data)
        self.shadow[addr:addr + len(data)] = data

    def read(self, addr: int, length: int) -> bytes:
        self._bounds(addr, length)
        if self.fault == "import-stale-read" and self.ref:
            return self._stale_read(addr, super().read(addr, length))
        if self.fault == "stale":
            return bytes(self.shadow[addr:addr + length])
        if self.fault in ("short-read", "padded-read") and addr + length > self.size():
            inside = super().read(addr, max(0, self.size() - addr)) if addr < self.size() else b""
            return inside if self.fault == "short-read" else inside + bytes(length - len(inside))
        if self.fault == "chunked-read":
            return chunked_read(super().read, addr, length)
        data = super().read(addr, length)
        return data[::-1] if self.fault == "big-endian" and length in (2, 4, 8) else data

    def usable_after_trap(self) -> bool:
        return self.fault != "poison-after-trap" and super().usable_after_trap()

    def view_read(self, name: str, addr: int, length: int) -> bytes:
        if self.fault == "chunked-read":
            return chunked_read(lambda a, n: super(FaultyDriver, self).view_read(name, a, n), addr, length)
        data = super().view_read(name, addr, length)
        if self.fault == "stale":
            return bytes(self.shadow[addr:addr + length])
        return data

    def _verdict_fault(self, func: str, args: Any) -> Any:
        """short-copy-down, refuse-zero-grow, refuse-grow-by-one (see the module docstring); None
        where the call is not one the fault touches."""
        values = [v for _, v in args]
        if self.fault == "negative-i64-bad-call" and any(t == "i64" and v >> 63 for t, v in args):
            raise HostError("bad-call", "faulty: cannot convert a negative i64 to a BigInt")
        if self.fault == "size-wraps" and func == "size":  # any guest's size export (i32 results)
            return [(t, v & 0xFFFF) for t, v in super().call(func, args)]
        if self.fault == "short-copy-down" and func == "copy" and values[0] < values[1] and values[2] > 1:
            return super().call(func, [args[0], args[1], ("i32", values[2] - 1)])
        refused = {"refuse-zero-grow": 0, "refuse-grow-by-one": 1}.get(self.fault)
        if refused is not None and func.startswith("grow") and values and values[-1] == refused:
            f = self.exports[func]
            assert isinstance(f, wasmtime.Func)
            (result,) = f.type(self.store).results
            return [(str(result), (1 << (64 if str(result) == "i64" else 32)) - 1)]
        return None

    def view_write(self, name: str, addr: int, data: bytes) -> None:
        if self.fault == "chunked-write":
            chunked_write(lambda a, d: super(FaultyDriver, self).view_write(name, a, d),
                          lambda a, n: super(FaultyDriver, self).view_read(name, a, n), addr, data)
            return
        super().view_write(name, addr, data)

    def size(self) -> int:
        size = super().size()
        return size % (1 << 32) if self.fault == "host-size-u32" else size

    def _cap_grow(self, delta: int) -> str:
        """What cap-grow-refused or cap-grow-past does to a grow of ``delta`` pages (boundary_faults.py)."""
        mem = self._mem()
        return cap_grow_fault(self.fault, super().size() // 65536, delta, mem.type(self.store).limits.max)

    def view(self, name: str) -> int:
        if self.fault == "view-unsupported-grown" and self.size() > 65536:
            raise HostError("unsupported", "faulty: no view of a memory of more than one page")
        return int(super().view(name))

    def grow(self, delta: int) -> int:
        cap = self._cap_grow(delta) if self.fault in ("cap-grow-refused", "cap-grow-past") else ""
        if cap == "refuse":
            raise HostError("grow-failed", "faulty: a grow to 65536 pages refused")
        if cap == "to-the-cap":
            return super().grow(delta - 1)
        if self.fault == "unsupported-big-grow" and delta >= 2:
            raise HostError("unsupported", "faulty: no host-side grow (of 2 pages or more)")
        if {"refuse-zero-grow": 0, "refuse-grow-by-one": 1}.get(self.fault) == delta:
            raise HostError("grow-failed", f"faulty: a grow of {delta} pages refused")
        old = super().grow(delta)
        if self.fault == "grow-new-size":
            return old + delta
        if self.fault == "dirty-grow" and delta:
            super().write(old * 65536, b"\xff")
        return old

    # -- imported memories (LINK_FAULTS) --------------------------------------------------------

    def memory_new(self, name: str, minimum: int, maximum: int | None, shared: bool, index: str) -> None:
        if index == "i64" and maximum is not None and maximum > 1 << 48 \
                and self.fault != "host-memory64-max-ignored":
            # wasmtime's own divergence (divergences/wasmtime.toml), not a fault of this driver's
            raise HostError("bad-limits", "a memory64 has at most 2**48 pages")
        if maximum is not None and self.fault == "lax-host-limits" and index == "i32" and maximum > 65536:
            maximum = 65536
        if self.fault == "host-memory64-max-ignored" and index == "i64":
            maximum = None
        super().memory_new(name, minimum, maximum, shared, index)

    def _new_link_state(self) -> None:
        self.ref = ""  # the memory reference the current operation names
        self.shadows: dict[str, bytearray] = {}  # import-stale-read: what host writes made of each
        self.linked_pages: dict[int, int] = {}  # size-at-link: an instance's pages when it was linked

    def link(self, wasm: bytes, key: str, name: str, imports: Any) -> None:
        if self.fault == "lax-import-limits" and self.text:
            # the import's maximum dropped: any provided maximum, or none, links
            text = _IMPORT_LIMITS.sub(r'(import "env" "memory" (memory \1))', self.text)
            wasm, key = bytes(wasmtime.wat2wasm(text)), key + "#lax-import-limits"
        saved = []
        if self.fault == "segments-checked-first":  # an older engine: a segment that does not fit
            for _, _, ref in imports:                # means none is written
                memory = self._resolve(ref)
                saved.append((memory, bytes(memory.read(self._world(), 0, memory.data_len(self._world())))))
        try:
            super().link(wasm, key, name, imports)
        except Trap:
            for memory, data in saved:
                memory.write(self._world(), data, 0)
            raise
        if self.fault == "import-stale-read":
            for _, _, ref in imports:
                memory = self._resolve(ref)
                self.shadows[ref] = bytearray(memory.read(self.store, 0, memory.data_len(self.store)))
        if self.fault == "size-at-link" and imports:
            self.linked_pages[id(self.exports)] = self.memory.data_len(self.store) // 65536 if self.memory \
                else int(self._resolve(imports[0][2]).data_len(self.store)) // 65536

    def select(self, instance: str, memory: str) -> None:
        super().select(instance, memory)
        self.ref = memory

    def _stale_read(self, addr: int, data: bytes) -> bytes:
        """import-stale-read: a host read of a memory named by reference, as the host's own writes
        (and the instantiation) left it: the guests' stores since are not seen."""
        shadow = self.shadows.get(self.ref)
        if shadow is None:
            return data
        out = bytearray(data)
        for i in range(len(out)):
            if addr + i < len(shadow):
                out[i] = shadow[addr + i]
        return bytes(out)

    def call(self, func: str, args: Any) -> Any:
        if self.fault == "size-at-link" and func == "size" and id(self.exports) in self.linked_pages:
            return [("i32", self.linked_pages[id(self.exports)])]  # grows since linking unseen
        if self.lax:
            return []  # lax-validation: the code of a module that failed validation is skipped
        if self.fault == "segfault":
            ctypes.string_at(0)  # a real segfault, as a buggy runtime would give
        if self.fault == "hang":
            time.sleep(3600)
        if self.fault in EDGE_FAULTS:
            return self._edge_fault(func, args)
        if self.fault in VERDICT_FAULTS:
            faulty = self._verdict_fault(func, args)
            if faulty is not None:
                return faulty
        if self.fault in ("cap-grow-refused", "cap-grow-past") and func == "grow" and args[0][0] == "i32":
            cap = self._cap_grow(args[0][1])
            if cap == "refuse":
                return [("i32", 0xFFFFFFFF)]
            if cap == "to-the-cap":
                return super().call(func, [("i32", args[0][1] - 1)])
        if self.fault == "signed-grow" and func == "grow" and args[0][1] >= 2**31:
            return [("i32", self.size() // 65536)]
        if self.fault == "grow-new-size" and func == "grow":
            results = super().call(func, args)
            type_, old = results[0]
            minus_one = (1 << (64 if type_ == "i64" else 32)) - 1
            return results if old == minus_one else [(type_, (old + args[0][1]) & minus_one)]
        if self.fault == "no-free" and func in ("dealloc", "c_free"):
            return []
        if self.fault == "misaligned-alloc" and func in ("alloc", "c_malloc", "c_arena_alloc"):
            return [(t, (v + 1) & 0xFFFFFFFF) for t, v in super().call(func, args)]
        if self.fault == "zeroed-reuse" and func in ("alloc", "c_malloc"):
            results = super().call(func, args)
            block, size = results[0][1], args[0][1]
            if block:
                super().write(block, bytes(size))
            return results
        if self.fault == "float-bits":
            results = super().call(func, args)
            return [(t, v ^ 1) if t in ("f32", "f64") else (t, v) for t, v in results]
        try:
            return super().call(func, args)
        except Exception as exc:
            if self.fault == "table-trap-other" and isinstance(exc, Trap) and exc.reason in (
                    "table-out-of-bounds", "indirect-call"):
                raise Trap("other", exc.message) from None
            if self.fault == "swallow-trap" and type(exc).__name__ == "Trap":
                f = self.exports[func]
                assert isinstance(f, wasmtime.Func)
                return [(str(t), 0) for t in f.type(self.store).results]
            raise


def rewrite_memory_limits(wasm: bytes, fault: str) -> bytes:
    """The module with its memory section's limits changed as ``fault`` says (other sections kept)."""
    def limits(body: bytes) -> bytes:
        count, pos = uleb128(body, 0)
        new = bytearray(uleb128_bytes(count))
        for _ in range(count):
            flags = body[pos]
            minimum, pos = uleb128(body, pos + 1)
            maximum = None
            if flags & 1:
                maximum, pos = uleb128(body, pos)
            cap = (1 << 48) if flags & 4 else 65536
            if fault == "ignore-maximum":
                maximum = None
            elif fault == "lax-limits":
                minimum = min(minimum, cap)
                maximum = None if maximum is None else max(min(maximum, cap), minimum)
            flags = (flags & ~1) | (maximum is not None)
            new += bytes([flags]) + uleb128_bytes(minimum)
            new += b"" if maximum is None else uleb128_bytes(maximum)
        return bytes(new)
    return rewrite_sections(wasm, 5, limits)  # the memory section


_ACCESS = re.compile(
    r"^(\s*)((i32|i64|f32|f64)\.(load|store)(8|16|32)?\S*) offset=(\d+) (align=\d+)(\)*)[ \t]*$",
    re.MULTILINE)


TYPES = ("i32", "i64", "f32", "f64")


def rewrite_accesses(wat: str, fault: str) -> str:
    """Module text (as conformance/edge_modules.py writes it: one access a line) with each
    ``offset=N`` access rewritten as ``fault`` says (see the module docstring)."""

    def access(match: re.Match[str]) -> str:
        indent, op, type_, kind, bits, offset, align, close = match.groups()
        width = int(bits) // 8 if bits else int(type_[1:]) // 8
        n = int(offset)
        if fault == "wrapping-offset" and kind == "load":
            lines = [f"i32.const {n}", "i32.add", f"{op} offset=0 {align}"]
        elif fault == "wrapping-offset":  # the value is on top of the address: set it aside
            lines = [f"global.set $fault_{type_}", f"i32.const {n}", "i32.add", f"global.get $fault_{type_}",
                     f"{op} offset=0 {align}"]
        elif kind == "load" and n + width < 1 << 32:
            lines = ["global.set $fault_i32", "global.get $fault_i32", "global.get $fault_i32",
                     f"i32.load8_u offset={n + width}", "drop", f"{op} offset={n} {align}"]
        else:
            lines = [f"{op} offset={n} {align}"]
        return "\n".join(indent + line for line in lines) + close

    globals_ = "".join(f"\n  (global $fault_{t} (mut {t}) ({t}.const 0))" for t in TYPES)
    return _ACCESS.sub(access, wat).replace("(module", "(module" + globals_, 1)


def _keep_module_text() -> None:
    """Let the driver see the text a request's module carries ("wat", beside its bytes)."""
    from conformance.drivers import _protocol

    module_bytes = _protocol._Session.module_bytes

    def with_text(session: Any, module: dict[str, Any]) -> Any:
        session.driver.text = str(module.get("wat", ""))
        return module_bytes(session, module)

    setattr(_protocol._Session, "module_bytes", with_text)  # noqa: B010


if __name__ == "__main__":
    _keep_module_text()
    fault = sys.argv[1] if len(sys.argv) > 1 else ""
    if fault not in FAULTS:
        sys.exit(f"usage: faulty_driver.py FAULT, FAULT one of {', '.join(FAULTS)}")
    sys.exit(serve(lambda: FaultyDriver(fault), f"faulty-{fault}"))
