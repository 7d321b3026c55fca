"""Driver for wasm3, an interpreter in C, through PyPI ``pywasm3``.

Host API used: ``Runtime.get_memory(0)``, a ``memoryview`` over wasm3's raw
memory pointer, taken afresh for every host read and write (the safe habit). A
view is one such ``memoryview`` kept across operations: it has no owner and may
dangle after memory grows. pywasm3 has no host-side grow. Traps arrive as
``RuntimeError("[trap] ...")``. wasm3 compiles each function at its first call, so
a module whose code it refuses loads, and the refusal (``invalid-module``) is the
outcome of the call where it surfaced.

No linking (docs/protocol.md): pywasm3 has no API to create a memory on the host or to give
a module a memory import (``Module.link_function`` links functions only). wasm3 itself gives a
module that imports a memory its runtime's one memory, whatever the import's names and limits
(a second module loaded into a runtime shares the first one's memory; alone, its first access
fails "unallocated linear memory"): that is no import the script could direct, so the driver
answers ``unsupported``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

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
    import wasm3
except ImportError as exc:  # pragma: no cover - depends on the machine
    wasm3 = None
    _IMPORT_ERROR = f"cannot import wasm3 (PyPI pywasm3): {exc}"

STACK_BYTES = 64 * 1024

_TRAPS = [
    ("out of bounds memory access", "out-of-bounds"),
    ("unreachable", "unreachable"),
    ("integer divide by zero", "integer-divide-by-zero"),
    ("integer overflow", "integer-overflow"),
    ("invalid conversion", "invalid-conversion"),
    ("stack overflow", "stack-exhausted"),
    # call_indirect: wasm3 says "undefined element" for an index past its table (whose size
    # is where the last element segment ends, not the declared size), "null table element"
    # for a null entry, "indirect call type mismatch" for a signature mismatch
    ("undefined element", "table-out-of-bounds"),
    ("null table element", "indirect-call"),
    ("indirect call", "indirect-call"),
]

# M3Result strings of wasm3's loader and compiler (m3_exception.h) that mean the module's
# code was refused: wasm3 compiles a function at its first call (find_function, or a call
# into a function not compiled yet), so a module it cannot compile loads, and the refusal
# surfaces at a call.
_COMPILE_ERRORS = (
    "incorrect type on stack", "incorrect value count on stack", "compiling function",
    "no compiler found for opcode", "no operation found for opcode", "unknown opcode",
    "invalid block depth", "local index out of bounds", "function call type index out of range",
    "function index out of range", "global index is too large", "global is not mutable",
    "slot usage count overflow", "restricted opcode", "type sig index out of bounds",
    "missing else", "malformed",
)


class Wasm3Driver(BufferViews, Driver):
    runtime_id = "wasm3"

    def __init__(self) -> None:
        if wasm3 is None:
            raise Unavailable(_IMPORT_ERROR)
        self.env = wasm3.Environment()
        self.views: Dict[str, memoryview] = {}
        self.runtime: Any = None
        self.functions: Dict[str, Any] = {}
        self.found = 0  # find_function calls on the current runtime
        self.free_runtime = _runtime_freer(self.env)

    def version(self) -> str:
        from importlib.metadata import version

        return f"{version('pywasm3')} (wasm3 {wasm3.M3_VERSION})"

    def info(self) -> Dict[str, Any]:
        return {"python": sys.version.split()[0], "stack_bytes": STACK_BYTES,
                "frees_leaked_runtimes": self.free_runtime is not None}

    def _find(self, func: str) -> Any:
        f = self.runtime.find_function(func)
        self.found += 1
        return f

    def _let_go(self) -> None:
        """Free the current runtime, and its memory, before the next is made.

        pywasm3 0.5's Function takes a reference to its Runtime and never gives it back, and its
        Runtime frees nothing when it goes: each runtime kept its memory for the rest of the
        process (a grow to 1 GiB in the bench: 1 GiB more per instance, 6.5 GB at its peak;
        2 GB in the suite, where the driver is recycled). Where that leak was seen at start
        (``_runtime_freer``), a runtime whose export was looked up (so Python never frees its
        object) is freed by wasm3's own ``m3_FreeRuntime``, once every Function and view of it
        is dropped."""
        runtime = self.runtime
        if runtime is None:
            return
        self.functions = {}
        for view in self.views.values():
            view.release()
        self.views = {}
        self.runtime = None
        if self.free_runtime is not None and self.found:
            self.free_runtime(runtime)
        self.found = 0

    def instantiate(self, wasm: bytes, key: str) -> None:
        self._let_go()
        self.runtime = self.env.new_runtime(STACK_BYTES)
        # wasm3 consumes a parsed module when it loads it: parse afresh each
        # time. parse_module needs bytes; a bytearray is read as garbage.
        try:
            module = self.env.parse_module(bytes(wasm))
        except RuntimeError as exc:
            raise HostError("invalid-module", str(exc)) from None
        try:
            self.runtime.load(module)
        except RuntimeError as exc:
            text = str(exc)
            # an active segment that does not fit: the spec's instantiation traps. (wasm3 sizes
            # its table to fit the element segments, and refuses one whose end is past the
            # largest table it makes, or whose offset is negative read as a signed i32.)
            if text == "data segment out of bounds":
                raise Trap("out-of-bounds", text) from None
            if text in ("table overflow", "table underflow"):
                raise Trap("table-out-of-bounds", text) from None
            raise HostError("link-error", text) from None
        self.functions = {}

    def _mem(self) -> memoryview:
        mem: memoryview | None = self.runtime.get_memory(0)
        if mem is None:
            # get_memory gives None for a memory of 0 bytes (and for none at
            # all; every guest here declares one): an empty memory.
            return memoryview(bytearray())
        return mem

    def write(self, addr: int, data: bytes) -> None:
        mem = self._mem()
        try:
            # memoryview slice assignment: a slice cut short by the end of
            # memory has another length than data, and is refused.
            mem[addr:addr + len(data)] = data
        except (ValueError, IndexError, TypeError) as exc:
            raise HostError("out-of-range", f"memoryview assignment: {exc}") from None

    def read(self, addr: int, length: int) -> bytes:
        # memoryview slicing clamps at the end: a short read is reported as it is.
        return bytes(self._mem()[addr:addr + length])

    def call(self, func: str, args: List[TypedValue]) -> List[TypedValue]:
        f = self.functions.get(func)
        if f is None:
            try:
                f = self._find(func)  # compiles it, the first time
            except RuntimeError as exc:
                if str(exc).startswith("function lookup failed"):
                    raise HostError("no-such-export", f"{func}: {exc}") from None
                raise _not_compiled(func, str(exc)) from None
            self.functions[func] = f
        params = [to_python(t, bits) for t, bits in args]
        try:
            result = f(*params)
        except RuntimeError as exc:
            text = str(exc)
            if text.startswith("[trap]"):
                for needle, reason in _TRAPS:
                    if needle in text:
                        raise Trap(reason, text) from None
                raise Trap("other", text) from None
            raise _not_compiled(func, text) from None  # a callee compiled at this call
        types = [_TYPE_NAMES.get(t, "?") for t in f.ret_types]
        if not types:
            return []
        values = list(result) if len(types) > 1 else [result]
        return [from_python(t, v) for t, v in zip(types, values)]

    def raw_call(self, func: str, args: List[TypedValue]) -> Any:
        f, params = self._find(func), [to_python(t, bits) for t, bits in args]
        return lambda: f(*params)

    def size(self) -> int:
        return len(self._mem())

    # -- linking: none (see the module's docstring)

    def memory_new(self, name: str, minimum: int, maximum: Optional[int], shared: bool,
                   index: str) -> None:
        raise HostError("unsupported", "pywasm3 has no API to create a memory on the host")

    def link(self, wasm: bytes, key: str, name: str, imports: List[Tuple[str, str, str]]) -> None:
        raise HostError("unsupported", "pywasm3 has no API to give a module a memory import "
                        "(Module.link_function links functions only), nor to name instances")

    def select(self, instance: str, memory: str) -> None:
        if instance or memory:
            raise HostError("unsupported", "pywasm3 has no API to give a module a memory import or to "
                            "create a memory on the host: no named instances or memories")

    def view(self, name: str) -> int:
        self.views[name] = self._mem()
        return len(self.views[name])


def _runtime_freer(env: Any) -> Optional[Callable[[Any], None]]:
    """A function that frees a pywasm3 Runtime's wasm3 runtime (``m3_FreeRuntime``), where this
    pywasm3 leaks them (0.5.0: a Function keeps a reference to its Runtime for good); None where
    it does not, or where the wasm3 runtime's pointer cannot be found for sure.

    The pointer is the one word a Runtime object and one of its Function objects share (both
    hold the ``IM3Runtime``), checked by ``m3_GetMemorySize`` against the memory's length."""
    import ctypes

    try:
        library = ctypes.CDLL(wasm3.__file__)
        free, size = library.m3_FreeRuntime, library.m3_GetMemorySize
    except (OSError, AttributeError):
        return None
    free.argtypes, free.restype = [ctypes.c_void_p], None
    size.argtypes, size.restype = [ctypes.c_void_p], ctypes.c_uint32

    def words(obj: Any, n: int) -> List[Optional[int]]:  # after the object's refcount and type
        return [ctypes.c_void_p.from_address(id(obj) + 8 * i).value for i in range(2, 2 + n)]

    runtime = env.new_runtime(STACK_BYTES)
    # (module (memory (export "memory") 1) (func (export "f")))
    runtime.load(env.parse_module(bytes.fromhex(
        "0061736d01000000010401600000030201000503010001070e02066d656d6f72790200016600000a040102000b")))
    before = sys.getrefcount(runtime)
    f = runtime.find_function("f")
    shared = [(i, w) for i, w in enumerate(words(runtime, 6)) if w and w in words(f, 4)]
    del f
    if sys.getrefcount(runtime) - before != 1 or len(shared) != 1:
        return None
    index, pointer = shared[0]
    if size(pointer) != len(runtime.get_memory(0)):
        return None
    free(pointer)  # this runtime too: its object is never freed (its count leaked)

    def free_runtime(obj: Any) -> None:
        free(words(obj, index + 1)[index])

    return free_runtime


def _not_compiled(func: str, text: str) -> HostError:
    """A failure at a call that is no trap: wasm3 refusing the code it compiles at that call
    (``invalid-module``, reported at the call where it surfaced), or one the driver does not
    know (``internal``)."""
    if any(words in text for words in _COMPILE_ERRORS):
        return HostError("invalid-module",
                         f"wasm3 compiles functions at their first call, and refused {func}'s code: {text}")
    if "missing imported function" in text:
        return HostError("link-error", f"{func}: {text}")
    return HostError("internal", f"{func}: {text}")


# wasm3's M3ValueType numbering: 1 i32, 2 i64, 3 f32, 4 f64
_TYPE_NAMES = {1: "i32", 2: "i64", 3: "f32", 4: "f64"}


if __name__ == "__main__":
    sys.exit(serve(Wasm3Driver, Wasm3Driver.runtime_id))
