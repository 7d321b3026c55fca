"""Driver for pywasm, a WebAssembly interpreter in pure Python (PyPI ``pywasm``).

Host API used: the exported ``MemInst`` (``get``/``put`` copy, ``grow``), and
its ``bytearray`` for sizes; a view is a ``memoryview`` of that bytearray.
pywasm signals every trap as a plain ``AssertionError`` (or a Python arithmetic
error); the driver names the trap from where in pywasm it was raised.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import traceback
from typing import TYPE_CHECKING, Any, Dict, List

if TYPE_CHECKING or __package__:
    from ._protocol import (
        BufferViews,
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


def _classify(exc: BaseException) -> Trap:
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
    # memory.init past the end of its data segment is out of bounds too (as in the spec's tests)
    if last and (last.name in ("evaluate_mem_load", "evaluate_mem_save") or "len(mems.data)" in line
                 or "len(data.data)" in line):
        return Trap("out-of-bounds", where)
    if line == "assert 0":
        return Trap("unreachable", where)
    return Trap("other", where)


class PywasmDriver(BufferViews, Driver):
    runtime_id = "pywasm"

    def __init__(self) -> None:
        if pywasm is None:
            raise Unavailable(_IMPORT_ERROR)
        self.parsed: Dict[str, Any] = {}  # one entry: the current script's module
        self.views: Dict[str, memoryview] = {}

    def version(self) -> str:
        from importlib.metadata import version

        return version("pywasm")

    def info(self) -> Dict[str, Any]:
        return {"python": sys.version.split()[0]}

    def instantiate(self, wasm: bytes, key: str) -> None:
        for v in self.views.values():
            v.release()
        self.views = {}
        desc = self.parsed.get(key)
        if desc is None:
            try:
                desc = pywasm.ModuleDesc.from_reader(io.BytesIO(wasm))
            except Exception as exc:
                raise HostError("invalid-module", f"{type(exc).__name__}: {exc}") from None
            self.parsed = {key: desc}
        self.runtime = pywasm.Runtime()
        try:
            self.instance = self.runtime.instance(desc)
        except Exception as exc:
            raise HostError("link-error", f"{type(exc).__name__}: {exc}") from None
        self.memory = None
        for e in self.instance.exps:
            if e.name == "memory" and e.data.kind == 0x02:
                self.memory = self.runtime.exported_memory(self.instance, "memory")

    def _mem(self) -> Any:
        if self.memory is None:
            raise HostError("no-memory", "the module exports no memory named 'memory'")
        return self.memory

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
        params = [to_python(t, bits) for t, bits in args]
        try:
            results = self.runtime.invocate(self.instance, func, params)
        except (AssertionError, ZeroDivisionError, RecursionError, IndexError, struct.error) as exc:
            raise _classify(exc) from None
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


if __name__ == "__main__":
    sys.exit(serve(PywasmDriver, PywasmDriver.runtime_id))
