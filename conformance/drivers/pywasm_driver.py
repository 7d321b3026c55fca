"""Driver for pywasm, a WebAssembly interpreter in pure Python (PyPI ``pywasm``).

Host API used: the exported ``MemInst`` (``get``/``put`` copy, ``grow``), and
its ``bytearray`` for sizes; a view is a ``memoryview`` of that bytearray.
pywasm signals every trap as a plain ``AssertionError`` (or a Python arithmetic
error); the driver names the trap from where in pywasm it was raised.
"""

from __future__ import annotations

import copy
import io
import os
import struct
import sys
import traceback
from typing import TYPE_CHECKING, Any, Dict, List

if TYPE_CHECKING or __package__:
    from ._protocol import (
        BufferViews,
        CompiledModules,
        Driver,
        HostError,
        Trap,
        TypedValue,
        Unavailable,
        from_python,
        serve,
        to_python,
    )
else:  # run as a file, possibly by another interpreter
    from _protocol import (
        BufferViews,
        CompiledModules,
        Driver,
        HostError,
        Trap,
        TypedValue,
        Unavailable,
        from_python,
        serve,
        to_python,
    )

try:
    import pywasm
except ImportError as exc:  # pragma: no cover - depends on the machine
    pywasm = None
    _IMPORT_ERROR = f"cannot import pywasm: {exc}"

_TYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64"}


def _classify(exc: BaseException) -> Trap | HostError:
    """Name a trap from the pywasm source line that raised it."""
    if isinstance(exc, ZeroDivisionError):
        return Trap("integer-divide-by-zero", str(exc))
    if isinstance(exc, RecursionError):
        return Trap("stack-exhausted", str(exc))
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if os.sep + "pywasm" + os.sep in f.filename]
    last = frames[-1] if frames else None
    line = (last.line or "").strip() if last else ""
    where = f"{last.name}: {line}" if last else f"{type(exc).__name__}: {exc}"
    # the instruction being run: the innermost line of pywasm's interpreter loop
    running = next(((f.line or "").strip() for f in reversed(frames) if f.name == "evaluate"), "")
    # memory.init past the end of its data segment is out of bounds too (as in the spec's tests)
    if last and (last.name in ("evaluate_mem_load", "evaluate_mem_save") or "len(mems.data)" in line
                 or "len(data.data)" in line):
        return Trap("out-of-bounds", where)
    # call_indirect: an index past the table is an IndexError of the table's list; a null
    # entry fails into_ref's assertion; a function of another type, the type assertion
    if running.startswith("addr = tabl.elem["):
        if isinstance(exc, IndexError):
            return Trap("table-out-of-bounds", f"{where} (call_indirect past the table)")
        return Trap("indirect-call", f"{where} (call_indirect of a null entry)")
    if line == "assert self.store.func[addr].type == type":
        return Trap("indirect-call", f"{where} (call_indirect of a function of another type)")
    # table.init (an active element segment too), table.copy: past the table or the segment
    if any(w in line for w in ("len(tabl.elem)", "len(tabx.elem)", "len(taby.elem)", "len(elem.data)")):
        return Trap("table-out-of-bounds", where)
    if line == "assert 0":
        return Trap("unreachable", where)
    if last and last.name == "invocate" and line == "assert a == b.type":
        # Runtime.invocate made the arguments from the function's own type, so this is the
        # results' check: pywasm does not validate, and ran a function that returns a value
        # of another type than its signature says
        return HostError("invalid-module", f"pywasm does not validate modules, and a function returned "
                                           f"a value its type does not allow ({where})")
    return Trap("other", where)


class PywasmDriver(BufferViews, Driver):
    runtime_id = "pywasm"

    def __init__(self) -> None:
        if pywasm is None:
            raise Unavailable(_IMPORT_ERROR)
        self.parsed = CompiledModules()  # pristine, never instantiated: by module key
        self.working: Dict[str, Any] = {}  # this script's copies of them
        self.views: Dict[str, memoryview] = {}
        self.failed = ""

    def version(self) -> str:
        from importlib.metadata import version

        return version("pywasm")

    def info(self) -> Dict[str, Any]:
        return {"python": sys.version.split()[0]}

    def instantiate(self, wasm: bytes, key: str) -> None:
        for v in self.views.values():
            v.release()
        self.views = {}
        desc = self.working.get(key)
        if desc is None:
            pristine = self.parsed.get(key)
            if pristine is None:
                try:
                    pristine = self.parsed.put(key, pywasm.ModuleDesc.from_reader(io.BytesIO(wasm)))
                except Exception as exc:
                    raise HostError("invalid-module", f"{type(exc).__name__}: {exc}") from None
            desc = self.working[key] = _with_own_segments(pristine)
        self.runtime = pywasm.Runtime()
        try:
            self.instance = self.runtime.instance(desc)
        except Exception as exc:
            # Code run at instantiation (active segments, which pywasm runs as table.init and
            # memory.init, and the start function) traps; the checks of imports do not.
            ran = any(f.name == "evaluate" for f in traceback.extract_tb(exc.__traceback__))
            if ran and isinstance(exc, (AssertionError, ZeroDivisionError, RecursionError, IndexError)):
                raise _classify(exc) from None
            raise HostError("link-error", f"{type(exc).__name__}: {exc}") from None
        self.memory = None
        for e in self.instance.exps:
            if e.name == "memory" and e.data.kind == 0x02:
                self.memory = self.runtime.exported_memory(self.instance, "memory")

    def _mem(self) -> Any:
        if self.memory is None:
            raise HostError("no-memory", "the module exports no memory named 'memory'")
        return self.memory

    def new_script(self) -> None:
        self.working = {}

    def write(self, addr: int, data: bytes) -> None:
        # MemInst.put is a bytearray slice assignment: what it does past the end
        # is reported as it is.
        self._mem().put(addr, bytearray(data))

    def read(self, addr: int, length: int) -> bytes:
        return bytes(self._mem().get(addr, length))

    def call(self, func: str, args: List[TypedValue]) -> List[TypedValue]:
        exports = [e for e in self.instance.exps if e.name == func and e.data.kind == 0x00]
        if not exports:
            raise HostError("no-such-export", f"no exported function {func!r}")
        ftype = self.runtime.machine.store.func[exports[0].data.data].type
        if not self.usable_after_trap():  # a failed call that was no trap left its frames
            raise HostError("poisoned", f"pywasm's stack still holds a failed call's frames: {self.failed}")
        params = [to_python(t, bits) for t, bits in args]
        try:
            results = self.runtime.invocate(self.instance, func, params)
        except (AssertionError, ZeroDivisionError, RecursionError, IndexError, struct.error) as exc:
            outcome = _classify(exc)
            self.failed = outcome.message
            raise outcome from None
        types = [_TYPES.get(r.data, "?") for r in ftype.rets]
        return [from_python(t, v) for t, v in zip(types, results)]

    def raw_call(self, func: str, args: List[TypedValue]) -> Any:
        runtime, instance, params = self.runtime, self.instance, [to_python(t, bits) for t, bits in args]
        return lambda: runtime.invocate(instance, func, params)

    def usable_after_trap(self) -> bool:
        # pywasm leaves the trapped call's frames on its stack, and its next
        # invocation asserts that the stack is empty.
        stack = self.runtime.machine.stack
        return not (stack.frame or stack.label or stack.value)

    def grow(self, delta: int) -> int:
        mem = self._mem()
        old = int(mem.size)
        try:
            mem.grow(delta)
        except AssertionError:
            raise HostError("grow-failed", f"MemInst.grow({delta}) refused at {old} pages") from None
        except (MemoryError, BufferError) as exc:
            raise HostError("grow-failed", f"{type(exc).__name__}: {exc}") from None
        return old

    def size(self) -> int:
        return len(self._mem().data)

    def view(self, name: str) -> int:
        if name in self.views:
            self.views[name].release()
        view = memoryview(self._mem().data)
        self.views[name] = view
        return len(view)


def _with_own_segments(desc: Any) -> Any:
    """A parsed module for one script, sharing the parse but not its data segments' bytes.

    Instantiating a ModuleDesc clears its active data segments in place (data.drop on the
    bytearray its DataInst shares; a pinned divergence): a second instance of it in the same
    script shows that, as an embedder reusing the ModuleDesc would see; a later script gets
    its own copy of the segments, as it got a ModuleDesc of its own when each script parsed.
    """
    mine = copy.copy(desc)
    mine.data = []
    for segment in desc.data:
        own = copy.copy(segment)
        own.init = bytearray(segment.init)
        mine.data.append(own)
    return mine


if __name__ == "__main__":
    sys.exit(serve(PywasmDriver, PywasmDriver.runtime_id))
