"""Driver for wasm3, an interpreter in C, through PyPI ``pywasm3``.

Host API used: ``Runtime.get_memory(0)``, a ``memoryview`` over wasm3's raw
memory pointer, taken afresh for every host read and write (the safe habit). A
view is one such ``memoryview`` kept across operations: it has no owner and may
dangle after memory grows. pywasm3 has no host-side grow. Traps arrive as
``RuntimeError("[trap] ...")``.
"""

from __future__ import annotations

import sys
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
    ("indirect call", "indirect-call"),
]


class Wasm3Driver(BufferViews, Driver):
    runtime_id = "wasm3"

    def __init__(self) -> None:
        if wasm3 is None:
            raise Unavailable(_IMPORT_ERROR)
        self.env = wasm3.Environment()
        self.views: Dict[str, memoryview] = {}

    def version(self) -> str:
        from importlib.metadata import version

        return f"{version('pywasm3')} (wasm3 {wasm3.M3_VERSION})"

    def info(self) -> Dict[str, Any]:
        return {"python": sys.version.split()[0], "stack_bytes": STACK_BYTES}

    def instantiate(self, wasm: bytes, key: str) -> None:
        self.views = {}
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
            raise HostError("link-error", str(exc)) from None
        self.functions: Dict[str, Any] = {}

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
                f = self.runtime.find_function(func)
            except RuntimeError as exc:
                raise HostError("no-such-export", f"{func}: {exc}") from None
            self.functions[func] = f
        params = [to_python(t, bits) for t, bits in args]
        try:
            result = f(*params)
        except RuntimeError as exc:
            text = str(exc)
            for needle, reason in _TRAPS:
                if needle in text:
                    raise Trap(reason, text) from None
            if text.startswith("[trap]"):
                raise Trap("other", text) from None
            raise HostError("bad-call", text) from None
        types = [_TYPE_NAMES.get(t, "?") for t in f.ret_types]
        if not types:
            return []
        values = list(result) if len(types) > 1 else [result]
        return [from_python(t, v) for t, v in zip(types, values)]

    def raw_call(self, func: str, args: List[TypedValue]) -> Any:
        f, params = self.runtime.find_function(func), [to_python(t, bits) for t, bits in args]
        return lambda: f(*params)

    def size(self) -> int:
        return len(self._mem())

    def view(self, name: str) -> int:
        self.views[name] = self._mem()
        return len(self.views[name])


# wasm3's M3ValueType numbering: 1 i32, 2 i64, 3 f32, 4 f64
_TYPE_NAMES = {1: "i32", 2: "i64", 3: "f32", 4: "f64"}


if __name__ == "__main__":
    sys.exit(serve(Wasm3Driver, Wasm3Driver.runtime_id))
