"""Linear memory as the spec describes it: a byte vector in 64 KiB pages."""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.script import PAGE_SIZE

MAX_PAGES_32 = 65536
"""A 32-bit memory holds at most 65536 pages: 4 GiB."""


class ModelTrap(Exception):
    """A trap in the reference model, with the spec's reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Memory:
    data: bytearray
    maximum: int | None = None

    @classmethod
    def of_pages(cls, pages: int, maximum: int | None = None) -> Memory:
        return cls(bytearray(pages * PAGE_SIZE), maximum)

    @property
    def pages(self) -> int:
        return len(self.data) // PAGE_SIZE

    @property
    def limit(self) -> int:
        """The most pages a grow may reach: the declared maximum, else 4 GiB."""
        return MAX_PAGES_32 if self.maximum is None else min(self.maximum, MAX_PAGES_32)

    def in_bounds(self, addr: int, length: int) -> bool:
        return 0 <= addr and addr + length <= len(self.data)

    def grow(self, delta: int) -> int | None:
        """memory.grow: the old size in pages, or None past the limit."""
        old = self.pages
        if delta < 0 or old + delta > self.limit:
            return None
        self.data.extend(bytes(delta * PAGE_SIZE))
        return old

    # guest accesses: the effective address is an i32 plus a static offset,
    # checked without wrapping

    def load8(self, addr: int) -> int:
        if addr >= len(self.data):
            raise ModelTrap("out-of-bounds", f"load of 1 byte at {addr} (memory is {len(self.data)} bytes)")
        return self.data[addr]

    def store8(self, addr: int, value: int) -> None:
        if addr >= len(self.data):
            raise ModelTrap("out-of-bounds", f"store of 1 byte at {addr} (memory is {len(self.data)} bytes)")
        self.data[addr] = value & 0xFF

    def load(self, addr: int, width: int) -> int:
        """A little-endian load of ``width`` bytes (the effective address is not wrapped)."""
        if addr + width > len(self.data):
            raise ModelTrap("out-of-bounds",
                            f"load of {width} bytes at {addr} (memory is {len(self.data)} bytes)")
        return int.from_bytes(self.data[addr:addr + width], "little")

    def store(self, addr: int, value: int, width: int) -> None:
        """A little-endian store of ``width`` bytes."""
        if addr + width > len(self.data):
            raise ModelTrap("out-of-bounds",
                            f"store of {width} bytes at {addr} (memory is {len(self.data)} bytes)")
        self.data[addr:addr + width] = value.to_bytes(width, "little")

    def load32(self, addr: int) -> int:
        if addr + 4 > len(self.data):
            raise ModelTrap("out-of-bounds", f"load of 4 bytes at {addr}")
        return int.from_bytes(self.data[addr:addr + 4], "little")

    def store32(self, addr: int, value: int) -> None:
        if addr + 4 > len(self.data):
            raise ModelTrap("out-of-bounds", f"store of 4 bytes at {addr}")
        self.data[addr:addr + 4] = (value & 0xFFFF_FFFF).to_bytes(4, "little")

    def copy(self) -> Memory:
        return Memory(bytearray(self.data), self.maximum)


@dataclass(slots=True)
class Instance:
    """The model of one instance: its memory and the guest's globals."""

    memory: Memory
    globals: dict[str, int] = field(default_factory=dict)
    grows: int = 0
    """successful memory.grow instructions so far, delta 0 included (the JS API detaches
    the old ArrayBuffer on every one)"""

    def clone(self) -> Instance:
        return Instance(self.memory.copy(), dict(self.globals), self.grows)
