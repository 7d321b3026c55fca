"""Driver for wasmtime through its Python binding (PyPI ``wasmtime``).

Host API used: ``Memory.read``/``write`` (copying), ``Memory.grow``,
``Memory.data_len``; views are raw ``data_ptr`` pointers with the length seen
when the view was taken, as a zero-copy host would hold them.
"""

from __future__ import annotations

import ctypes
import struct
import sys
from typing import TYPE_CHECKING, Any, Dict, List

if TYPE_CHECKING or __package__:
    from ._protocol import Driver, HostError, Trap, TypedValue, Unavailable, serve, signed
else:  # run as a file, possibly by another interpreter
    from _protocol import Driver, HostError, Trap, TypedValue, Unavailable, serve, signed

try:
    import wasmtime
except ImportError as exc:  # pragma: no cover - depends on the machine
    wasmtime = None  # type: ignore[assignment]
    _IMPORT_ERROR = f"cannot import wasmtime: {exc}"

_TRAP_REASONS = {
    "MEMORY_OUT_OF_BOUNDS": "out-of-bounds",
    "UNREACHABLE": "unreachable",
    "INTEGER_DIVISION_BY_ZERO": "integer-divide-by-zero",
    "INTEGER_OVERFLOW": "integer-overflow",
    "BAD_CONVERSION_TO_INTEGER": "invalid-conversion",
    "STACK_OVERFLOW": "stack-exhausted",
    "TABLE_OUT_OF_BOUNDS": "table-out-of-bounds",
    "INDIRECT_CALL_TO_NULL": "indirect-call",
    "BAD_SIGNATURE": "indirect-call",
    "HEAP_MISALIGNED": "unaligned-atomic",
}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class WasmtimeDriver(Driver):
    runtime_id = "wasmtime"

    def __init__(self) -> None:
        if wasmtime is None:
            raise Unavailable(_IMPORT_ERROR)
        self.engine = wasmtime.Engine(wasmtime.Config())
        self.compiled: Dict[str, Any] = {}  # one entry: the current script's module
        self.views: Dict[str, Any] = {}

    def version(self) -> str:
        from importlib.metadata import version

        return version("wasmtime")

    def info(self) -> Dict[str, Any]:
        return {"python": sys.version.split()[0], "library": wasmtime.__file__}

    def instantiate(self, wasm: bytes, key: str) -> None:
        module = self.compiled.get(key)
        if module is None:
            try:
                module = wasmtime.Module(self.engine, wasm)
            except wasmtime.WasmtimeError as exc:
                raise HostError("invalid-module", _first_line(exc)) from None
            self.compiled = {key: module}
        self.store = wasmtime.Store(self.engine)
        self.views = {}
        try:
            self.instance = wasmtime.Instance(self.store, module, [])
        except wasmtime.Trap as exc:
            raise self._trap(exc) from None
        except wasmtime.WasmtimeError as exc:
            raise HostError("link-error", _first_line(exc)) from None
        self.exports = self.instance.exports(self.store)
        memory = self.exports.get("memory")
        self.memory = memory if isinstance(memory, wasmtime.Memory) else None

    def _mem(self) -> Any:
        if self.memory is None:
            raise HostError("no-memory", "the module exports no memory named 'memory'")
        return self.memory

    def _trap(self, exc: Any) -> Trap:
        code = getattr(exc, "trap_code", None)
        reason = _TRAP_REASONS.get(code.name, "other") if code is not None else "other"
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        said = [ln for ln in lines if ln.startswith("wasm trap:")]
        return Trap(reason, said[0] if said else (lines[-1] if lines else str(code)))

    def write(self, addr: int, data: bytes) -> None:
        try:
            self._mem().write(self.store, data, addr)
        except (IndexError, ValueError) as exc:
            raise HostError("out-of-range", f"Memory.write: {exc}") from None

    def read(self, addr: int, length: int) -> bytes:
        # Memory.read slices like Python: past the end it returns fewer bytes.
        # That is reported as it is.
        return bytes(self._mem().read(self.store, addr, addr + length))

    def call(self, func: str, args: List[TypedValue]) -> List[TypedValue]:
        f = self.exports.get(func)
        if not isinstance(f, wasmtime.Func):
            raise HostError("no-such-export", f"no exported function {func!r}")
        params = [_to_val(t, bits) for t, bits in args]
        try:
            result = f(self.store, *params)
        except wasmtime.Trap as exc:
            raise self._trap(exc) from None
        except wasmtime.WasmtimeError as exc:
            raise HostError("bad-call", _first_line(exc)) from None
        types = [str(t) for t in f.type(self.store).results]
        if not types:
            return []
        values = result if len(types) > 1 else [result]
        return [_from_val(t, v) for t, v in zip(types, values)]

    def grow(self, delta: int) -> int:
        try:
            return int(self._mem().grow(self.store, delta))
        except wasmtime.WasmtimeError as exc:
            raise HostError("grow-failed", _first_line(exc)) from None

    def size(self) -> int:
        return int(self._mem().data_len(self.store))

    def view(self, name: str) -> int:
        mem = self._mem()
        ptr = ctypes.cast(mem.data_ptr(self.store), ctypes.c_void_p).value or 0
        length = int(mem.data_len(self.store))
        self.views[name] = (ptr, length)
        return length

    def _view(self, name: str, addr: int, length: int) -> int:
        if name not in self.views:
            raise HostError("no-such-view", f"no view named {name!r}")
        ptr, size = self.views[name]
        if addr + length > size:
            raise HostError("out-of-range", f"view {name} is {size} bytes")
        return int(ptr + addr)

    def view_read(self, name: str, addr: int, length: int) -> bytes:
        return ctypes.string_at(self._view(name, addr, length), length)

    def view_write(self, name: str, addr: int, data: bytes) -> None:
        ctypes.memmove(self._view(name, addr, len(data)), data, len(data))

    def view_length(self, name: str) -> int:
        if name not in self.views:
            raise HostError("no-such-view", f"no view named {name!r}")
        return int(self.views[name][1])


def _to_val(type_: str, bits: int) -> Any:
    if type_ == "i32":
        return wasmtime.Val.i32(signed("i32", bits))
    if type_ == "i64":
        return wasmtime.Val.i64(signed("i64", bits))
    if type_ == "f32":
        return wasmtime.Val.f32(struct.unpack("<f", struct.pack("<I", bits))[0])
    if type_ == "f64":
        return wasmtime.Val.f64(struct.unpack("<d", struct.pack("<Q", bits))[0])
    raise HostError("unsupported", f"value type {type_}")


def _from_val(type_: str, value: Any) -> TypedValue:
    if type_ in ("i32", "i64"):
        return (type_, int(value))
    if type_ == "f32":
        return (type_, struct.unpack("<I", struct.pack("<f", value))[0])
    if type_ == "f64":
        return (type_, struct.unpack("<Q", struct.pack("<d", value))[0])
    raise HostError("unsupported", f"result type {type_}")


if __name__ == "__main__":
    sys.exit(serve(WasmtimeDriver, WasmtimeDriver.runtime_id))
