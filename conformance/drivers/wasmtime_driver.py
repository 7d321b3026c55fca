"""Driver for wasmtime through its Python binding (PyPI ``wasmtime``).

    python wasmtime_driver.py [cranelift|winch|pulley|moving-memory]

Host API used: ``Memory.read``/``write`` (copying), ``Memory.grow``,
``Memory.data_len``; views are raw ``data_ptr`` pointers with the length seen
when the view was taken, as a zero-copy host would hold them. Releases before
``Memory.read``/``write`` existed (5.x-8.x) are driven through ``data_ptr``,
the only host access they had, with the bounds check a careful host makes.

Configurations: ``cranelift`` (the default optimising compiler), ``winch``
(the baseline compiler, reachable only through the C API's strategy setter),
``pulley`` (the portable interpreter, selected as a target), and
``moving-memory`` (no virtual reservation and no guard pages, so memory may
move when it grows).
"""

from __future__ import annotations

import ctypes
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING or __package__:
    from ._protocol import (
        CompiledModules,
        Driver,
        HostError,
        Trap,
        TypedValue,
        Unavailable,
        from_python,
        serve,
        signed,
        to_python,
    )
else:  # run as a file, possibly by another interpreter
    from _protocol import (
        CompiledModules,
        Driver,
        HostError,
        Trap,
        TypedValue,
        Unavailable,
        from_python,
        serve,
        signed,
        to_python,
    )

if TYPE_CHECKING or __package__:
    from .wasmtime_component import Components, is_component
else:
    from wasmtime_component import Components, is_component

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


CONFIGS = ("cranelift", "winch", "pulley", "moving-memory")
_WINCH = 2  # wasmtime_strategy_t: 0 auto, 1 cranelift, 2 winch


def make_config(name: str) -> Any:
    """A ``wasmtime.Config`` for one of CONFIGS; Unavailable if this release cannot."""
    config = wasmtime.Config()
    try:
        if name == "winch":
            # The Python binding's Config.strategy knows only "auto" and
            # "cranelift"; Winch is reachable through the C setter alone.
            from wasmtime import _ffi as ffi

            ffi.wasmtime_config_strategy_set(config.ptr(), _WINCH)
        elif name == "pulley":
            config.target = "pulley64"
        elif name == "moving-memory":
            config.memory_reservation = 0
            config.memory_guard_size = 0
            config.memory_reservation_for_growth = 0
            config.memory_may_move = True
        if hasattr(type(config), "shared_memory"):  # host-created shared memories (threads)
            config.shared_memory = True
    except (AttributeError, ImportError, TypeError, wasmtime.WasmtimeError) as exc:
        raise Unavailable(f"wasmtime {_version()} cannot be configured for {name}: {exc}") from None
    return config


def _version() -> str:
    from importlib.metadata import version

    return version("wasmtime")


class WasmtimeDriver(Driver):
    runtime_id = "wasmtime"

    def __init__(self, config: str = "cranelift") -> None:
        if wasmtime is None:
            raise Unavailable(_IMPORT_ERROR)
        if config not in CONFIGS:
            raise Unavailable(f"unknown wasmtime configuration {config!r}; one of {', '.join(CONFIGS)}")
        self.config = config
        try:
            self.engine = wasmtime.Engine(make_config(config))
        except wasmtime.WasmtimeError as exc:
            raise Unavailable(f"wasmtime {_version()} has no {config} engine here: "
                              f"{_first_line(exc)}") from None
        # Memory.read/write arrived after 8.0; before, data_ptr was the host API.
        self.copying_api = hasattr(wasmtime.Memory, "read")
        self.compiled = CompiledModules()  # by module key, the least recently used dropped
        self.views: Dict[str, Any] = {}
        self.shared_import = _shared_import_fix()
        self.components = Components(self.engine, self.compiled)
        self.new_script()

    def version(self) -> str:
        return _version() if self.config == "cranelift" else f"{_version()} ({self.config})"

    def info(self) -> Dict[str, Any]:
        out = {"python": sys.version.split()[0], "config": self.config,
               "host_api": "Memory.read/write" if self.copying_api else "data_ptr"}
        if self.shared_import:
            out["shared_memory_import"] = self.shared_import
        return out

    def _compiled(self, wasm: bytes, key: str) -> Any:
        module = self.compiled.get(key)
        if module is None:
            try:
                module = wasmtime.Module(self.engine, wasm)
            except wasmtime.WasmtimeError as exc:
                raise HostError("invalid-module", _first_line(exc)) from None
            self.compiled.put(key, module)
        return module

    def new_script(self) -> None:
        self.views = {}
        self.link_store: Any = None  # the store of the script's linked instances and host memories
        self.memories: Dict[str, Any] = {}  # host memories by name
        self.named: Dict[str, Any] = {}  # linked instances' exports by name
        self.current: Any = None  # (store, exports, memory) of the current instance
        self.store: Any = None
        self.exports: Any = {}
        self.memory: Any = None

    def instantiate(self, wasm: bytes, key: str) -> None:
        if is_component(wasm):  # the component model (wasmtime_component.py)
            self.current, self.exports, self.memory = None, {}, None
            try:
                self.components.instantiate(wasm, key)
            except wasmtime.Trap as exc:
                raise self._trap(exc) from None
            return
        self.components.instance = None
        module = self._compiled(wasm, key)
        self.store = wasmtime.Store(self.engine)
        self.current = None
        try:
            self.instance = wasmtime.Instance(self.store, module, [])
        except wasmtime.Trap as exc:
            raise self._trap(exc) from None
        except wasmtime.WasmtimeError as exc:
            raise HostError("link-error", _first_line(exc)) from None
        self.exports = self.instance.exports(self.store)
        memory = self.exports.get("memory")
        self.memory = _memory(memory)
        self.current = (self.store, self.exports, self.memory)

    # -- linking: one store per script holds the linked instances and the host memories

    def _world(self) -> Any:
        if self.link_store is None:
            self.link_store = wasmtime.Store(self.engine)
        return self.link_store

    def memory_new(self, name: str, minimum: int, maximum: Optional[int], shared: bool,
                   index: str) -> None:
        store = self._world()
        try:
            ty = wasmtime.MemoryType(wasmtime.Limits(minimum, maximum), is_64=index == "i64",
                                     shared=shared)
            if shared:
                memory: Any = _Shared(wasmtime.SharedMemory(self.engine, ty))
            else:
                memory = wasmtime.Memory(store, ty)
        except (wasmtime.WasmtimeError, ValueError, OverflowError) as exc:
            raise HostError("bad-limits", _first_line(exc)) from None
        self.memories[name] = memory

    def _resolve(self, ref: str) -> Any:
        if ref in self.memories:
            return self.memories[ref]
        instance, _, export = ref.partition(".")
        if export and instance in self.named:
            found = _memory(self.named[instance].get(export))
            if found is not None:
                return found
        raise HostError("no-memory", f"no memory {ref!r} in this script")

    def link(self, wasm: bytes, key: str, name: str, imports: List[Tuple[str, str, str]]) -> None:
        module = self._compiled(wasm, key)
        store = self._world()
        self.current = None
        self.store, self.exports, self.memory = store, {}, None
        given = {(m, n): ref for m, n, ref in imports}
        externs = []
        for imp in module.imports:
            ref = given.get((imp.module, imp.name))
            if ref is None:
                raise HostError("link-error", f"the script gives no import {imp.module}.{imp.name}")
            memory = self._resolve(ref)
            externs.append(memory.extern if isinstance(memory, _Shared) else memory)
        try:
            instance = wasmtime.Instance(store, module, externs)
        except wasmtime.Trap as exc:
            raise self._trap(exc) from None
        except wasmtime.WasmtimeError as exc:
            raise HostError("link-error", _first_line(exc)) from None
        self.exports = instance.exports(store)
        self.memory = _memory(self.exports.get("memory"))
        self.current = (store, self.exports, self.memory)
        if name:
            self.named[name] = self.exports

    def select(self, instance: str, memory: str) -> None:
        if not instance and not memory:
            self.store, self.exports, self.memory = self.current or (self.store, {}, None)
            return
        if instance:
            if instance not in self.named:
                raise HostError("no-instance", f"no instance {instance!r} in this script")
            self.store, self.exports = self.link_store, self.named[instance]
        if memory:
            self.memory = self._resolve(memory)
            self.store = self.link_store

    def _mem(self) -> Any:
        if self.memory is None:
            raise HostError("no-memory", "the module exports no memory named 'memory'")
        return self.memory

    def _trap(self, exc: Any) -> Trap:
        code = getattr(exc, "trap_code", None)
        reason = _TRAP_REASONS.get(code.name, "other") if code is not None else "other"
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        said = [ln[ln.index("wasm trap:"):] for ln in lines if "wasm trap:" in ln]
        return Trap(reason, said[0] if said else (lines[-1] if lines else str(code)))

    def write(self, addr: int, data: bytes) -> None:
        if not self.copying_api:
            ctypes.memmove(self._raw(addr, len(data)), data, len(data))
            return
        try:
            self._mem().write(self.store, data, addr)
        except (IndexError, ValueError) as exc:
            raise HostError("out-of-range", f"Memory.write: {exc}") from None

    def read(self, addr: int, length: int) -> bytes:
        if not self.copying_api:
            return ctypes.string_at(self._raw(addr, length), length)
        # Memory.read slices like Python: past the end it returns fewer bytes.
        # That is reported as it is.
        return bytes(self._mem().read(self.store, addr, addr + length))

    def _raw(self, addr: int, length: int) -> int:
        """The address of [addr, addr+length) through data_ptr, bounds-checked by data_len."""
        mem = self._mem()
        size = int(mem.data_len(self.store))
        if addr + length > size:
            raise HostError("out-of-range", f"[{addr}, {addr + length}) is past data_len {size}")
        base = ctypes.cast(mem.data_ptr(self.store), ctypes.c_void_p).value or 0
        return int(base + addr)

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
        return [from_python(t, v) for t, v in zip(types, values)]

    def component_call(self, func: str, params: List[Any], result: Any, args: List[Any]) -> Any:
        try:
            return self.components.call(func, params, result, args)
        except wasmtime.Trap as exc:
            raise self._trap(exc) from None

    def raw_call(self, func: str, args: List[TypedValue]) -> Any:
        f: Any = self.exports.get(func)
        store, params = self.store, [_to_val(t, bits) for t, bits in args]
        return lambda: f(store, *params)

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
        if addr < 0 or length < 0 or addr + length > size:  # a raw pointer: never outside the view
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


def _memory(export: Any) -> Any:
    """An export as a memory the driver's operations take (a shared one wrapped), or None."""
    if isinstance(export, wasmtime.Memory):
        return export
    if hasattr(wasmtime, "SharedMemory") and isinstance(export, wasmtime.SharedMemory):
        return _Shared(export)
    return None


class _Shared:
    """A ``SharedMemory`` with ``Memory``'s methods (it belongs to the engine, not a store:
    the store argument is ignored). Reads past the end come back short, as ``Memory.read``'s
    do; a write past the end is refused."""

    def __init__(self, memory: Any) -> None:
        self.extern = memory

    def data_len(self, store: Any = None) -> int:
        return int(self.extern.data_len())

    def data_ptr(self, store: Any = None) -> Any:
        return self.extern.data_ptr()

    def grow(self, store: Any, delta: int) -> int:
        return int(self.extern.grow(delta))

    def _base(self) -> int:
        return ctypes.cast(self.extern.data_ptr(), ctypes.c_void_p).value or 0

    def read(self, store: Any, start: int, stop: int) -> bytes:
        stop = min(stop, self.data_len())
        return ctypes.string_at(self._base() + start, stop - start) if start < stop else b""

    def write(self, store: Any, data: bytes, addr: int) -> None:
        if addr + len(data) > self.data_len():
            raise IndexError(f"[{addr}, {addr + len(data)}) is past data_len {self.data_len()}")
        ctypes.memmove(self._base() + addr, data, len(data))


def _shared_import_fix() -> str:
    """wasmtime-py 50's ``SharedMemory._as_extern`` wraps its pointer in a second pointer, so no
    shared memory can be given as an import (a ctypes TypeError). Found by this suite; where the
    binding has that bug, the driver builds the extern the C API expects itself, and says so in
    its info. "" where nothing needed fixing."""
    shared = getattr(wasmtime, "SharedMemory", None)
    if shared is None:
        return ""
    try:
        from wasmtime import _ffi as ffi

        config = wasmtime.Config()
        config.shared_memory = True
        probe = shared(wasmtime.Engine(config), wasmtime.MemoryType(wasmtime.Limits(1, 1), shared=True))
    except Exception:  # no shared memories in this release: nothing to fix
        return ""
    try:
        probe._as_extern()
        return ""
    except TypeError:
        def as_extern(self: Any) -> Any:
            union = ffi.wasmtime_extern_union(sharedmemory=self.ptr())
            return ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_SHAREDMEMORY, union)

        shared._as_extern = as_extern
        return ("built by the driver: this binding's SharedMemory._as_extern wraps its pointer twice "
                "(TypeError)")


def _to_val(type_: str, bits: int) -> Any:
    if type_ == "i32":
        return wasmtime.Val.i32(signed("i32", bits))
    if type_ == "i64":
        return wasmtime.Val.i64(signed("i64", bits))
    if type_ == "f32":
        return wasmtime.Val.f32(to_python(type_, bits))
    if type_ == "f64":
        return wasmtime.Val.f64(to_python(type_, bits))
    raise HostError("unsupported", f"value type {type_}")


if __name__ == "__main__":
    _config = sys.argv[1] if len(sys.argv) > 1 else "cranelift"
    _id = "wasmtime" if _config == "cranelift" else f"wasmtime-{_config}"
    sys.exit(serve(lambda: WasmtimeDriver(_config), _id))
