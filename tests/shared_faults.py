"""The faults of shared memories (conformance/suite/test_shared_memory.py), mixed into the faulty driver.

- shared-view-follows:  a view of an instance's exported shared memory reads its length live: after a
                        grow it reports, and reaches, the new size (a SharedArrayBuffer keeps its own)
- host-shared-detach:   views of a shared memory the host created answer detached (length 0) after a
                        grow, as an ArrayBuffer's would
- narrow-rmw-sign-extended: a narrow atomic read-modify-write (i32/i64 atomic.rmw8/16/32 ..._u)
                        answers its old value sign-extended (modules sent as text: each wrapped in an
                        extend_s)
- wait-unshared-times-out: memory.atomic.wait on an unshared memory answers 2 (timed out), not a trap
- shared-no-maximum:    a shared memory without a maximum (modules sent as text) is given one of 65536
                        pages, not refused
- link-ignores-shared:  an import's shared flag is not matched at link time (the import made to agree
                        with the memory given)
"""

from __future__ import annotations

import re
from typing import Any

import wasmtime

from conformance.drivers._protocol import HostError, Trap
from conformance.drivers.wasmtime_driver import _Shared

SHARED_FAULTS = ("shared-view-follows", "host-shared-detach", "narrow-rmw-sign-extended",
                 "wait-unshared-times-out", "shared-no-maximum", "link-ignores-shared")
_NARROW = re.compile(r"\((i32|i64)\.atomic\.rmw(8|16|32)\.(\w+)_u ([^\n]*)\)\)$", re.M)
_NO_MAXIMUM = re.compile(r'\(memory (\(export "memory"\) )?(\d+) shared\)')
_IMPORTED = re.compile(r"\(memory ([\d ]+(?: shared)?)\)\)")


class SharedFaults:
    """Overrides of the wasmtime driver's methods for SHARED_FAULTS; every other fault passes through."""

    fault: str
    text: str
    memories: dict[str, Any]
    views: dict[str, Any]

    def new_script(self) -> None:
        super().new_script()  # type: ignore[misc]
        self.views_of: dict[str, Any] = {}
        self.detached: set[str] = set()

    def _shared_text(self, wasm: bytes, key: str) -> tuple[bytes, str]:
        text = self.text
        if not text or self.fault not in ("narrow-rmw-sign-extended", "shared-no-maximum"):
            return wasm, key
        if self.fault == "narrow-rmw-sign-extended":
            text = _NARROW.sub(
                lambda m: f"({m[1]}.extend{m[2]}_s ({m[1]}.atomic.rmw{m[2]}.{m[3]}_u {m[4]})))", text)
        else:
            text = _NO_MAXIMUM.sub(lambda m: f"(memory {m[1] or ''}{m[2]} 65536 shared)", text)
        return bytes(wasmtime.wat2wasm(text)), f"{key}#{self.fault}"

    def instantiate(self, wasm: bytes, key: str) -> None:
        wasm, key = self._shared_text(wasm, key)
        super().instantiate(wasm, key)  # type: ignore[misc]

    def link(self, wasm: bytes, key: str, name: str, imports: Any) -> None:
        wasm, key = self._shared_text(wasm, key)
        if self.fault == "link-ignores-shared" and self.text:
            text = self.text
            for _, _, ref in imports:
                try:
                    shared = isinstance(self._resolve(ref), _Shared)  # type: ignore[attr-defined]
                except HostError:
                    continue

                def agree(m: re.Match[str], shared: bool = shared) -> str:
                    return f"(memory {m[1].replace(' shared', '')}{' shared' if shared else ''}))"

                text = _IMPORTED.sub(agree, text)
            wasm, key = bytes(wasmtime.wat2wasm(text)), f"{key}#{text}"
        super().link(wasm, key, name, imports)  # type: ignore[misc]

    def view(self, name: str) -> int:
        length = int(super().view(name))  # type: ignore[misc]
        self.views_of[name] = self._mem()  # type: ignore[attr-defined]
        self.detached.discard(name)
        return length

    def _host_made(self, memory: Any) -> bool:
        return any(memory is m for m in self.memories.values())

    def _detach_views_of(self, memory: Any) -> None:
        if self.fault == "host-shared-detach" and isinstance(memory, _Shared) and self._host_made(memory):
            self.detached.update(n for n, m in self.views_of.items() if m is memory)

    def grow(self, delta: int) -> int:
        memory = self._mem()  # type: ignore[attr-defined]
        old = int(super().grow(delta))  # type: ignore[misc]
        self._detach_views_of(memory)
        return old

    def call(self, func: str, args: Any) -> Any:
        try:
            out = super().call(func, args)  # type: ignore[misc]
        except Trap as trap:
            if self.fault == "wait-unshared-times-out" and "non-shared" in trap.message:
                return [("i32", 2)]
            raise
        if self.fault == "host-shared-detach" and func == "grow" and out and out[0][1] != 0xFFFFFFFF:
            for memory in list(self.views_of.values()):
                self._detach_views_of(memory)
        return out

    def _live(self, name: str) -> None:
        memory = self.views_of.get(name)
        if self.fault == "shared-view-follows" and isinstance(memory, _Shared) \
                and not self._host_made(memory):
            ptr, _ = self.views[name]
            self.views[name] = (ptr, memory.data_len())
        if name in self.detached:
            raise HostError("detached", "views of a host-made shared memory detached by a grow (fault)")

    def view_read(self, name: str, addr: int, length: int) -> bytes:
        self._live(name)
        return bytes(super().view_read(name, addr, length))  # type: ignore[misc]

    def view_write(self, name: str, addr: int, data: bytes) -> None:
        self._live(name)
        super().view_write(name, addr, data)  # type: ignore[misc]

    def view_length(self, name: str) -> int:
        if name in self.detached:
            return 0
        self._live(name)
        return int(super().view_length(name))  # type: ignore[misc]
