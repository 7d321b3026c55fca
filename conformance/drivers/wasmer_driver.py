"""Driver for wasmer through its Python binding (PyPI ``wasmer`` 1.1.0).

Run as a file by a CPython whose ``wasmer`` wheel loads (the 1.1.0 wheels stop
at CPython 3.10), with the compiler as its argument::

    python3.10 wasmer_driver.py cranelift     # runtime id wasmer-cranelift
    python3.10 wasmer_driver.py singlepass    # runtime id wasmer-singlepass

The compiler is the package ``wasmer_compiler_<name>``; one that cannot be
imported makes the driver unavailable, with the reason.

Host API used: ``Memory.uint8_view()``, a ``Uint8Array``, sliced to read (a
slice past the end comes back short, and is reported short) and slice-assigned
to write (a slice past the end is shorter than the data: wasmer raises
``IndexError`` and writes nothing; zero bytes past the end are accepted). Its
slices go element by element (0.06-0.1 GB/s), so reads and writes take the
other bounds-checked API a wasmer user has, a ``memoryview`` of
``Memory.buffer`` taken afresh for each access (30 GB/s, memcpy's speed): it
has the same length (it wraps to 0 at 4 GiB too), clamps a read the same way,
and refuses a write that does not fit; such a write is then made through
``uint8_view`` again, so that what is reported is what the ``Uint8Array`` says.
``Memory.grow``; ``Memory.data_size``. A view is one ``Uint8Array`` kept across
operations: it holds the memory, not a pointer, so its length follows a grow
and it sees the new pages. (A ``memoryview`` of ``Memory.buffer``, the other
host API, keeps the length it had when taken.)

Linking (docs/protocol.md): ``wasmer.Memory(store, MemoryType(minimum=, maximum=))`` makes a
host memory (``RuntimeError`` or ``OverflowError`` for limits it refuses: ``bad-limits``);
``Instance(module, {"env": {"memory": memory}})`` gives a module its imports, wasmer matching
the limits against the memory's current size and maximum (``Error while importing ...``:
``link-error``). wasmer 1.1 has no store of instances (a ``Store`` is an engine and its
tunables; memories and instances are reference-counted objects), so the script's host
memories and linked instances are made in the driver's one store and kept by name for the
script. Not made: shared memories (the binding enables no threads, so no module can import
one; ``MemoryType(shared=True)`` makes an ordinary memory flagged shared, even without a
maximum) and 64-bit ones (``MemoryType`` has no index type): ``unsupported``.

Traps arrive as ``RuntimeError`` whose first line is ``RuntimeError: <what>``;
the frames follow on further lines (for a stack overflow under Cranelift,
about 16 MB of them). The instance stays callable after every trap.
"""

from __future__ import annotations

import functools
import importlib
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, TypeVar

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
        to_python,
    )

try:
    import wasmer
except ImportError as exc:  # pragma: no cover - depends on the machine
    wasmer = None
    _IMPORT_ERROR = f"cannot import wasmer (PyPI wasmer, wheels up to CPython 3.10): {exc}"

# The first line of wasmer's trap messages, after "RuntimeError: ", checked in
# this order (each seen by triggering it under Cranelift and Singlepass).
_TRAPS = [
    ("out of bounds memory access", "out-of-bounds"),
    ("unreachable", "unreachable"),
    ("integer divide by zero", "integer-divide-by-zero"),
    ("integer overflow", "integer-overflow"),  # also a float-to-int truncation out of range
    ("invalid conversion to integer", "invalid-conversion"),
    ("call stack exhausted", "stack-exhausted"),
    ("undefined element: out of bounds table access", "table-out-of-bounds"),
    ("uninitialized element", "indirect-call"),
    ("indirect call type mismatch", "indirect-call"),
]

# Function.call refuses arguments that do not fit the signature with a
# RuntimeError too; that is the driver's call going wrong, not a trap.
_BAD_CALL = ("Parameters of type",)

F = TypeVar("F", bound=Callable[..., Any])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _what(exc: BaseException) -> str:
    line = _first_line(exc)
    return line[len("RuntimeError: "):] if line.startswith("RuntimeError: ") else line


def _trap_reason(exc: BaseException) -> str | None:
    what = _what(exc)
    for needle, reason in _TRAPS:
        if what.startswith(needle):
            return reason
    return None


def _no_panic(method: F) -> F:
    """A Rust panic inside wasmer reaches Python as pyo3's PanicException, a
    BaseException the protocol loop would not catch: report it as ``internal``."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise
            raise HostError("internal", f"wasmer panicked in {method.__name__}: {_first_line(exc)}") from None

    return wrapper  # type: ignore[return-value]


class WasmerDriver(Driver):
    runtime_id = "wasmer"

    def __init__(self, compiler: str) -> None:
        self.compiler = compiler
        self.runtime_id = f"wasmer-{compiler}"
        if wasmer is None:
            raise Unavailable(_IMPORT_ERROR)
        package = f"wasmer_compiler_{compiler}"
        try:
            self.compiler_module = importlib.import_module(package)
        except ImportError as exc:
            raise Unavailable(f"cannot import {package} (PyPI {package}): {exc}") from None
        try:
            self.store = wasmer.Store(wasmer.engine.Universal(self.compiler_module.Compiler))
        except Exception as exc:
            raise Unavailable(f"wasmer cannot make a store with {package}: {_first_line(exc)}") from None
        self.types = {wasmer.Type.I32: "i32", wasmer.Type.I64: "i64",
                      wasmer.Type.F32: "f32", wasmer.Type.F64: "f64"}
        self.compiled = CompiledModules()  # by module key, the least recently used dropped
        self.views: Dict[str, Any] = {}
        self.instance: Any = None
        self.memory: Any = None
        self.new_script()

    def new_script(self) -> None:
        self.memories: Dict[str, Any] = {}  # the script's host memories, by name
        self.named: Dict[str, Any] = {}  # the script's named (linked) instances
        self.current: Tuple[Any, Any] = (None, None)  # the current instance and its memory

    def version(self) -> str:
        from importlib.metadata import version

        return f"{version('wasmer')} ({self.compiler})"

    def info(self) -> Dict[str, Any]:
        from importlib.metadata import version

        package = f"wasmer_compiler_{self.compiler}"
        return {
            "python": sys.version.split()[0],
            "compiler": self.compiler,
            "compiler_package": f"{package} {version(package)}",
            "engine": self.store.engine_name,
            "wasmer_core": getattr(wasmer, "__core_version__", "?"),
            "library": wasmer.__file__,
        }

    def _compiled(self, wasm: bytes, key: str) -> Any:
        module = self.compiled.get(key)
        if module is None:
            try:
                module = wasmer.Module(self.store, bytes(wasm))
            except RuntimeError as exc:
                raise HostError("invalid-module", _first_line(exc)) from None
            self.compiled.put(key, module)
        return module

    def _instance(self, module: Any, imports: Dict[str, Dict[str, Any]]) -> Any:
        try:
            return wasmer.Instance(module, imports) if imports else wasmer.Instance(module)
        except RuntimeError as exc:
            # a trap in the start function or a data segment out of bounds comes as a trap
            # message; an import missing or of another type does not ("Error while importing")
            reason = _trap_reason(exc)
            if reason is not None:
                raise Trap(reason, _first_line(exc)) from None
            raise HostError("link-error", _first_line(exc)) from None

    def _become(self, instance: Any) -> None:
        """Make ``instance`` the current instance, its ``memory`` export the current memory."""
        try:
            memory = instance.exports.memory
        except LookupError:
            memory = None
        self.instance = instance
        self.memory = memory if isinstance(memory, wasmer.Memory) else None
        self.current = (self.instance, self.memory)

    @_no_panic
    def instantiate(self, wasm: bytes, key: str) -> None:
        self.views = {}
        self.instance = self.memory = None
        self.current = (None, None)
        module = self._compiled(wasm, key)
        self._become(self._instance(module, {}))

    # -- linking: host memories and named instances of the script (wasmer 1.1 has no store
    # that holds them: they are made in the driver's store and kept here by name)

    @_no_panic
    def memory_new(self, name: str, minimum: int, maximum: Optional[int], shared: bool,
                   index: str) -> None:
        if shared:
            raise HostError("unsupported", "wasmer 1.1's Python binding enables no threads: no module can "
                            "import a shared memory (MemoryType(shared=True) makes an ordinary memory "
                            "flagged shared)")
        if index != "i32":
            raise HostError("unsupported", f"wasmer 1.1's MemoryType has no index type: no {index} memory")
        try:
            ty = wasmer.MemoryType(minimum=minimum, maximum=maximum, shared=False)
            memory = wasmer.Memory(self.store, ty)
        except (RuntimeError, OverflowError, TypeError, ValueError) as exc:
            raise HostError("bad-limits", f"{type(exc).__name__}: {_first_line(exc)}") from None
        self.memories[name] = memory

    def _resolve(self, ref: str) -> Any:
        if ref in self.memories:
            return self.memories[ref]
        instance, _, export = ref.partition(".")
        if export and instance in self.named:
            try:
                found = getattr(self.named[instance].exports, export)
            except LookupError:
                found = None
            if isinstance(found, wasmer.Memory):
                return found
        raise HostError("no-memory", f"no memory {ref!r} in this script")

    @_no_panic
    def link(self, wasm: bytes, key: str, name: str, imports: List[Tuple[str, str, str]]) -> None:
        self.instance = self.memory = None
        self.current = (None, None)
        module = self._compiled(wasm, key)
        given = {(m, n): ref for m, n, ref in imports}
        externs: Dict[str, Dict[str, Any]] = {}
        for imp in module.imports:
            ref = given.get((imp.module, imp.name))
            if ref is None:
                raise HostError("link-error", f"the script gives no import {imp.module}.{imp.name}")
            externs.setdefault(imp.module, {})[imp.name] = self._resolve(ref)
        self._become(self._instance(module, externs))
        if name:
            self.named[name] = self.instance

    def select(self, instance: str, memory: str) -> None:
        if not instance and not memory:
            self.instance, self.memory = self.current
            return
        if instance:
            if instance not in self.named:
                raise HostError("no-instance", f"no instance {instance!r} in this script")
            self.instance = self.named[instance]
        if memory:
            self.memory = self._resolve(memory)

    def _mem(self) -> Any:
        if self.memory is None:
            raise HostError("no-memory", "the module exports no memory named 'memory'")
        return self.memory

    @_no_panic
    def write(self, addr: int, data: bytes) -> None:
        mem = self._mem()
        try:
            with memoryview(mem.buffer) as fast:
                fast[addr:addr + len(data)] = data
            return
        except ValueError:  # cut short by the end of memory: nothing written
            pass
        try:
            # a slice cut short by the end of memory does not match the data's
            # length: wasmer raises IndexError before writing anything
            mem.uint8_view()[addr:addr + len(data)] = data
        except IndexError as exc:
            raise HostError("out-of-range", f"Uint8Array slice assignment: {exc}") from None

    @_no_panic
    def read(self, addr: int, length: int) -> bytes:
        # Uint8Array slicing clamps at the end, like a list, and so does a
        # memoryview's: a short read is reported as it is.
        with memoryview(self._mem().buffer) as fast:
            return bytes(fast[addr:addr + length])

    @_no_panic
    def call(self, func: str, args: List[TypedValue]) -> List[TypedValue]:
        if self.instance is None:
            raise HostError("no-instance", "no instance: (instantiate) failed")
        try:
            f = getattr(self.instance.exports, func)
        except LookupError:
            f = None
        if not isinstance(f, wasmer.Function):
            raise HostError("no-such-export", f"no exported function {func!r}")
        params = [to_python(t, bits) for t, bits in args]
        try:
            result = f(*params)
        except RuntimeError as exc:
            reason = _trap_reason(exc)
            if reason is None and _what(exc).startswith(_BAD_CALL):
                raise HostError("bad-call", _first_line(exc)) from None
            raise Trap(reason or "other", _first_line(exc)) from None
        except (TypeError, OverflowError) as exc:
            raise HostError("bad-call", f"{type(exc).__name__}: {exc}") from None
        types = [self.types.get(t, str(t)) for t in f.type.results]
        if not types:
            return []
        values = list(result) if len(types) > 1 else [result]
        return [from_python(t, v) for t, v in zip(types, values)]

    def raw_call(self, func: str, args: List[TypedValue]) -> Any:
        f, params = getattr(self.instance.exports, func), [to_python(t, bits) for t, bits in args]
        return lambda: f(*params)

    @_no_panic
    def grow(self, delta: int) -> int:
        try:
            return int(self._mem().grow(delta))
        except (RuntimeError, OverflowError) as exc:
            # OverflowError: a delta that is no u32 (negative, or 2**32 and up)
            raise HostError("grow-failed", f"{type(exc).__name__}: {_first_line(exc)}") from None

    @_no_panic
    def size(self) -> int:
        return int(self._mem().data_size)

    @_no_panic
    def view(self, name: str) -> int:
        view = self._mem().uint8_view()
        self.views[name] = view
        return len(view)

    def _view(self, name: str, addr: int, length: int) -> Any:
        view = self.views.get(name)
        if view is None:
            raise HostError("no-such-view", f"no view named {name!r}")
        size = len(view)  # a Uint8Array measures the memory now: it follows a grow
        if addr + length > size:
            raise HostError("out-of-range", f"view {name} is {size} bytes")
        return view

    @_no_panic
    def view_read(self, name: str, addr: int, length: int) -> bytes:
        return bytes(self._view(name, addr, length)[addr:addr + length])

    @_no_panic
    def view_write(self, name: str, addr: int, data: bytes) -> None:
        view = self._view(name, addr, len(data))
        try:
            view[addr:addr + len(data)] = data
        except IndexError as exc:
            raise HostError("out-of-range", f"Uint8Array slice assignment: {exc}") from None

    @_no_panic
    def view_length(self, name: str) -> int:
        return len(self._view(name, 0, 0))

    def usable_after_trap(self) -> bool:
        # checked for every trap kind, both compilers: the next call works
        return True


def main(argv: List[str]) -> int:
    compiler = argv[1] if len(argv) > 1 else ""
    if not compiler:
        def unavailable() -> Driver:
            raise Unavailable("usage: wasmer_driver.py COMPILER (cranelift or singlepass)")

        return serve(unavailable, WasmerDriver.runtime_id)
    return serve(lambda: WasmerDriver(compiler), f"wasmer-{compiler}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
