"""Plugs the sandbox into wasm-memory-conformance: each protocol operation in terms of Sandbox.

Registered in pyproject.toml under the ``wasm_conformance.runtimes`` entry
point; the suite then lists ``demo-sandbox`` among its runtimes.
"""

from __future__ import annotations

import struct
from importlib import metadata
from typing import Any

import wasmtime

from conformance.drivers import Driver, HostError, Trap
from demo_sandbox.sandbox import OutOfBounds, Sandbox, SandboxTrap

_MASK = {"i32": 0xFFFFFFFF, "i64": 0xFFFFFFFFFFFFFFFF}
_TRAPS = {  # wasmtime's trap codes, in the suite's spec terms
    "MEMORY_OUT_OF_BOUNDS": "out-of-bounds",
    "UNREACHABLE": "unreachable",
    "INTEGER_DIVISION_BY_ZERO": "integer-divide-by-zero",
    "INTEGER_OVERFLOW": "integer-overflow",
    "BAD_CONVERSION_TO_INTEGER": "invalid-conversion",
    "STACK_OVERFLOW": "stack-exhausted",
    "TABLE_OUT_OF_BOUNDS": "table-out-of-bounds",
    "INDIRECT_CALL_TO_NULL": "indirect-call",
    "BAD_SIGNATURE": "indirect-call",
}


class SandboxDriver(Driver):
    """demo-sandbox: a careful embedding layer over wasmtime (an example third-party runtime)"""

    def __init__(self) -> None:
        self.sandbox: Sandbox | None = None
        self.key = ""

    def version(self) -> str:
        return f"0.1.0 (wasmtime {metadata.version('wasmtime')})"

    def instantiate(self, wasm: bytes, key: str) -> None:
        try:
            if self.sandbox is not None and key == self.key:
                self.sandbox.restart()
            else:
                self.sandbox = Sandbox(wasm)
                self.key = key
        except wasmtime.Trap as exc:  # an active segment that does not fit, or the start function
            code = getattr(exc, "trap_code", None)
            raise Trap(_TRAPS.get(code.name if code is not None else "", "other"),
                       str(exc).strip().splitlines()[-1]) from None
        except wasmtime.WasmtimeError as exc:
            raise HostError("invalid-module", str(exc).splitlines()[0]) from None
        except TypeError as exc:
            raise HostError("link-error", str(exc)) from None

    def _box(self) -> Sandbox:
        assert self.sandbox is not None
        return self.sandbox

    def write(self, addr: int, data: bytes) -> None:
        try:
            self._box().put(addr, data)
        except OutOfBounds as exc:
            raise HostError("out-of-range", str(exc)) from None

    def read(self, addr: int, length: int) -> bytes:
        try:
            return self._box().get(addr, length)
        except OutOfBounds as exc:
            raise HostError("out-of-range", str(exc)) from None

    def size(self) -> int:
        return self._box().size

    def grow(self, delta: int) -> int:
        try:
            return self._box().grow(delta)
        except ValueError as exc:
            raise HostError("grow-failed", str(exc)) from None

    def call(self, func: str, args: Any) -> Any:
        box = self._box()
        try:
            results = box.invoke(func, *(_val(t, bits) for t, bits in args))
        except LookupError as exc:
            raise HostError("no-such-export", str(exc)) from None
        except SandboxTrap as trap:
            raise Trap(_TRAPS.get(trap.code or "", "other"), str(trap)) from None
        return [_bits(t, v) for t, v in zip(box.result_types(func), results, strict=True)]


def _val(type_: str, bits: int) -> wasmtime.Val:
    if type_ in ("i32", "i64"):
        width = 32 if type_ == "i32" else 64
        signed = bits - (1 << width) if bits >> (width - 1) else bits
        return wasmtime.Val.i32(signed) if type_ == "i32" else wasmtime.Val.i64(signed)
    if type_ == "f32":
        return wasmtime.Val.f32(struct.unpack("<f", struct.pack("<I", bits))[0])
    return wasmtime.Val.f64(struct.unpack("<d", struct.pack("<Q", bits))[0])


def _bits(type_: str, value: object) -> tuple[str, int]:
    if type_ in _MASK:
        return type_, int(value) & _MASK[type_]  # type: ignore[call-overload]
    if type_ == "f32":
        return type_, struct.unpack("<I", struct.pack("<f", value))[0]
    return type_, struct.unpack("<Q", struct.pack("<d", value))[0]
