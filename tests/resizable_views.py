"""Resizable buffer views for the faulty driver, so that test_resizable_buffers.py runs on it.

wasmtime's host API has no ``toResizableBuffer``; the faulty driver emulates the JavaScript API's
views over a resizable buffer on wasmtime's memory (its pointer and length read again at each
access), right as the JS API says, so that the one fault it adds is the only thing wrong:

- resizable-view-fixed: a length-tracking view keeps the length it had when taken (as a fixed-length
                        view would), so a grow leaves the memory's new pages out of its reach
"""

from __future__ import annotations

import ctypes
from typing import Any

from conformance.drivers._protocol import HostError

RESIZABLE_FAULTS = ("resizable-view-fixed",)


class ResizableViews:
    """``view_of_kind`` for ``resizable`` and ``resizable-fixed``, over the current memory."""

    fault: str
    store: Any
    views: dict[str, Any]

    def new_script(self) -> None:
        super().new_script()  # type: ignore[misc]
        self.resizable: dict[str, tuple[Any, Any, int | None]] = {}  # name -> (store, memory, fixed length)

    def view_of_kind(self, name: str, kind: str) -> int:
        if kind not in ("resizable", "resizable-fixed"):
            raise HostError("unsupported", f"no view of kind {kind!r}")
        memory = self._mem()  # type: ignore[attr-defined]
        if memory.type(self.store).limits.max is None:  # as the JS API: only a memory with a maximum
            raise HostError("bad-limits", "a memory without a maximum is not made resizable")
        length = int(memory.data_len(self.store))
        tracking = kind == "resizable" and self.fault != "resizable-view-fixed"
        self.resizable[name] = (self.store, memory, None if tracking else length)
        self._refresh(name)
        return length

    def _refresh(self, name: str) -> None:
        if name in self.resizable:
            store, memory, fixed = self.resizable[name]
            base = ctypes.cast(memory.data_ptr(store), ctypes.c_void_p).value or 0
            self.views[name] = (base, int(memory.data_len(store)) if fixed is None else fixed)

    def view_read(self, name: str, addr: int, length: int) -> bytes:
        self._refresh(name)
        return bytes(super().view_read(name, addr, length))  # type: ignore[misc]

    def view_write(self, name: str, addr: int, data: bytes) -> None:
        self._refresh(name)
        super().view_write(name, addr, data)  # type: ignore[misc]

    def view_length(self, name: str) -> int:
        self._refresh(name)
        return int(super().view_length(name))  # type: ignore[misc]
