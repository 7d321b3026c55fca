"""Driver for pywasm, a WebAssembly interpreter in pure Python (PyPI ``pywasm``).

Host API used: the exported ``MemInst`` (``get``/``put`` copy, ``grow``), and
its ``bytearray`` for sizes; a view is a ``memoryview`` of that bytearray.
pywasm signals every trap as a plain ``AssertionError`` (or a Python arithmetic
error); the driver names the trap from where in pywasm it was raised.

Linking (docs/protocol.md): the script's linking store is one ``pywasm.Runtime`` (its
``Machine``'s ``Store``); ``Runtime.allocate_memory(MemType(Limits(min, max)))`` makes a host
memory in it (pywasm's ``MemInst`` refuses a minimum above a non-zero maximum or above 65536
pages with an ``AssertionError``: ``bad-limits``), and a module's imports are given through
``Runtime.imports`` before ``Runtime.instance`` (an import whose limits do not match fails
``Machine.instance``'s assertion before any code runs: ``link-error``). pywasm's limits
read a maximum of 0 as none, as for a module's own memory. Its machine has one stack for the
whole store, and a trap (in a call, or in an active segment at instantiation) leaves its frames
there: after one, every instance of the store is poisoned, and so is instantiating in it
(``Runtime.instance`` runs the new module's segments, then resumes the trapped code and fails
in it: ``error poisoned``, not a trap the module does not have). No shared or
64-bit memories (pywasm knows neither): ``unsupported``.
"""

from __future__ import annotations

import copy
import io
import os
import struct
import sys
import traceback
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

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
        self.runtime: Any = None
        self.instance: Any = None
        self.memory: Any = None
        self.link_runtime: Any = None  # the script's linking store (a Runtime), made when needed
        self.memories: Dict[str, Any] = {}  # its host memories (MemInst), by name
        self.named: Dict[str, Any] = {}  # its named instances (ModuleInst)
        self.current: Tuple[Any, Any, Any] = (None, None, None)  # runtime, instance, memory
        self.new_script()

    def version(self) -> str:
        from importlib.metadata import version

        return version("pywasm")

    def info(self) -> Dict[str, Any]:
        return {"python": sys.version.split()[0]}

    def _desc(self, wasm: bytes, key: str) -> Any:
        desc = self.working.get(key)
        if desc is None:
            pristine = self.parsed.get(key)
            if pristine is None:
                try:
                    pristine = self.parsed.put(key, pywasm.ModuleDesc.from_reader(io.BytesIO(wasm)))
                except Exception as exc:
                    raise HostError("invalid-module", f"{type(exc).__name__}: {exc}") from None
            desc = self.working[key] = _with_own_segments(pristine)
        return desc

    def _instance(self, runtime: Any, desc: Any) -> Any:
        try:
            return runtime.instance(desc)
        except Exception as exc:
            # Code run at instantiation (active segments, which pywasm runs as table.init and
            # memory.init, and the start function) traps; the checks of imports do not.
            ran = any(f.name == "evaluate" for f in traceback.extract_tb(exc.__traceback__))
            if ran and isinstance(exc, (AssertionError, ZeroDivisionError, RecursionError, IndexError)):
                outcome = _classify(exc)
                self.failed = f"{outcome.message} (at instantiation)"
                raise outcome from None
            raise HostError("link-error", f"{type(exc).__name__}: {exc}") from None

    def _become(self, runtime: Any, instance: Any) -> None:
        """Make ``instance`` (of ``runtime``) the current instance, its ``memory`` export the
        current memory."""
        self.runtime, self.instance = runtime, instance
        self.memory = None
        for e in instance.exps:
            if e.name == "memory" and e.data.kind == 0x02:
                self.memory = runtime.exported_memory(instance, "memory")
        self.current = (self.runtime, self.instance, self.memory)

    def instantiate(self, wasm: bytes, key: str) -> None:
        for v in self.views.values():
            v.release()
        self.views = {}
        self.instance = self.memory = None
        self.current = (self.runtime, None, None)
        desc = self._desc(wasm, key)
        runtime = pywasm.Runtime()
        self.runtime = runtime
        self._become(runtime, self._instance(runtime, desc))

    # -- linking: the script's host memories and linked instances live in one Runtime

    def _world(self) -> Any:
        if self.link_runtime is None:
            self.link_runtime = pywasm.Runtime()
        return self.link_runtime

    def memory_new(self, name: str, minimum: int, maximum: Optional[int], shared: bool,
                   index: str) -> None:
        if shared:
            raise HostError("unsupported", "pywasm has no shared memories (no threads)")
        if index != "i32":
            raise HostError("unsupported", f"pywasm has no {index} memories (no memory64)")
        runtime = self._world()
        try:
            extern = runtime.allocate_memory(pywasm.core.MemType(pywasm.core.Limits(
                minimum, 0 if maximum is None else maximum)))
        except (AssertionError, ValueError, OverflowError, MemoryError) as exc:
            raise HostError("bad-limits", f"Runtime.allocate_memory({minimum}, {maximum}): "
                            f"{type(exc).__name__}: {exc}") from None
        self.memories[name] = runtime.machine.store.mems[extern.data]

    def _resolve(self, ref: str) -> Tuple[Any, Any]:
        """The memory ``ref`` names, as (its Runtime, its MemInst)."""
        if ref in self.memories:
            mem = self.memories[ref]
            return self.link_runtime, mem
        instance, _, export = ref.partition(".")
        if export and instance in self.named:
            for e in self.named[instance].exps:
                if e.name == export and e.data.kind == 0x02:
                    return self.link_runtime, self.link_runtime.machine.store.mems[e.data.data]
        raise HostError("no-memory", f"no memory {ref!r} in this script")

    def _extern(self, mem: Any) -> Any:
        """The link runtime's Extern of a MemInst of its store."""
        for addr, candidate in enumerate(self.link_runtime.machine.store.mems):
            if candidate is mem:
                return pywasm.core.Extern(0x02, addr)
        raise HostError("internal", "a memory of this script is not in its pywasm store")

    def link(self, wasm: bytes, key: str, name: str, imports: List[Tuple[str, str, str]]) -> None:
        self.instance = self.memory = None
        runtime = self._world()
        self.runtime = runtime
        self.current = (runtime, None, None)
        desc = self._desc(wasm, key)
        given = {(m, n): ref for m, n, ref in imports}
        externs: Dict[str, Dict[str, Any]] = {}
        for imp in desc.imps:
            ref = given.get((imp.module, imp.name))
            if ref is None:
                raise HostError("link-error", f"the script gives no import {imp.module}.{imp.name}")
            externs.setdefault(imp.module, {})[imp.name] = self._extern(self._resolve(ref)[1])
        if not self.usable_after_trap():
            # Runtime.instance would run the new module's segments, then resume the trapped code
            # left on the stack and fail in it (seen: IndexError), a trap of a module that has none
            raise HostError("poisoned", "pywasm's one stack still holds the frames of a trap in this store, "
                            f"and Runtime.instance would resume them: {self.failed}")
        runtime.imports = externs
        self._become(runtime, self._instance(runtime, desc))
        if name:
            self.named[name] = self.instance

    def select(self, instance: str, memory: str) -> None:
        if not instance and not memory:
            self.runtime, self.instance, self.memory = self.current
            return
        if instance:
            if instance not in self.named:
                raise HostError("no-instance", f"no instance {instance!r} in this script")
            self.runtime, self.instance = self.link_runtime, self.named[instance]
        if memory:
            self.runtime, self.memory = self._resolve(memory)

    def _mem(self) -> Any:
        if self.memory is None:
            raise HostError("no-memory", "the module exports no memory named 'memory'")
        return self.memory

    def new_script(self) -> None:
        self.working = {}
        for v in self.views.values():
            v.release()
        self.views = {}
        self.link_runtime = None
        self.memories = {}
        self.named = {}
        self.current = (None, None, None)

    def write(self, addr: int, data: bytes) -> None:
        # MemInst.put is a bytearray slice assignment: what it does past the end
        # is reported as it is.
        self._mem().put(addr, bytearray(data))

    def read(self, addr: int, length: int) -> bytes:
        return bytes(self._mem().get(addr, length))

    def call(self, func: str, args: List[TypedValue]) -> List[TypedValue]:
        if self.instance is None:
            raise HostError("no-instance", "no instance: (instantiate) failed")
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
