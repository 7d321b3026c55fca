"""The project's own embedding API: what its users call, knowing nothing of conformance suites."""

from __future__ import annotations

import wasmtime

PAGE = 65536


class SandboxTrap(RuntimeError):
    """The guest trapped; ``code`` is wasmtime's trap code (MEMORY_OUT_OF_BOUNDS, ...) or None."""

    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message)
        self.code = code


class OutOfBounds(IndexError):
    """A host access outside the guest's memory."""


class Sandbox:
    """One instance of a module with an exported memory called ``memory``."""

    def __init__(self, wasm: bytes, engine: wasmtime.Engine | None = None) -> None:
        self.engine = engine or wasmtime.Engine()
        self.module = wasmtime.Module(self.engine, wasm)
        self.restart()

    def restart(self) -> None:
        """A fresh instance of the same compiled module."""
        self.store = wasmtime.Store(self.engine)
        self.instance = wasmtime.Instance(self.store, self.module, [])
        memory = self.instance.exports(self.store).get("memory")
        if not isinstance(memory, wasmtime.Memory):
            raise TypeError("the module exports no memory called 'memory'")
        self.memory = memory

    @property
    def size(self) -> int:
        return int(self.memory.data_len(self.store))

    def _check(self, addr: int, length: int) -> None:
        if addr < 0 or length < 0 or addr + length > self.size:
            raise OutOfBounds(f"{length} bytes at {addr} are outside memory of {self.size} bytes")

    def put(self, addr: int, data: bytes) -> None:
        """Copy ``data`` into memory at ``addr``: all of it, or nothing."""
        self._check(addr, len(data))
        if data:
            self.memory.write(self.store, data, addr)

    def get(self, addr: int, length: int) -> bytes:
        """Copy ``length`` bytes out of memory: all of them, or an error."""
        self._check(addr, length)
        return bytes(self.memory.read(self.store, addr, addr + length)) if length else b""

    def grow(self, pages: int) -> int:
        """Grow memory by ``pages``; the old size in pages. Raises ValueError when refused."""
        try:
            return int(self.memory.grow(self.store, pages))
        except wasmtime.WasmtimeError as exc:
            raise ValueError(f"memory cannot grow by {pages} pages: {exc}") from None

    def invoke(self, name: str, *args: wasmtime.Val) -> list[object]:
        func = self.instance.exports(self.store).get(name)
        if not isinstance(func, wasmtime.Func):
            raise LookupError(f"no exported function {name!r}")
        try:
            result = func(self.store, *args)
        except wasmtime.Trap as trap:
            code = trap.trap_code
            raise SandboxTrap(str(trap).strip().splitlines()[-1],
                              None if code is None else code.name) from None
        if result is None:
            return []
        return list(result) if isinstance(result, tuple | list) else [result]

    def result_types(self, name: str) -> list[str]:
        func = self.instance.exports(self.store).get(name)
        assert isinstance(func, wasmtime.Func)
        return [str(t) for t in func.type(self.store).results]
