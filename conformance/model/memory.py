"""Linear memory as the spec describes it: a byte vector in 64 KiB pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, overload

from conformance.script import PAGE_SIZE

MAX_PAGES_32 = 65536
"""A 32-bit memory holds at most 65536 pages: 4 GiB."""


class ModelTrap(Exception):
    """A trap in the reference model, with the spec's reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


MAX_PAGES_64 = 1 << 48
"""A 64-bit memory (memory64) holds at most 2**48 pages: 2**64 bytes."""

_ZERO_PAGE = bytes(PAGE_SIZE)


class PagedBytes:
    """A byte vector stored page by page, where pages never written read as zero.

    It behaves like the ``bytearray`` the model once used (``len``, indexing and
    slicing with step 1, slice assignment of the same length, ``bytes()``), but a
    memory grown to 4 GiB costs only the pages written. A copy shares its pages
    with the original until either writes one (copy on write): the model clones
    an instance for every call.
    """

    __slots__ = ("_len", "_owned", "_pages")

    def __init__(self, length: int = 0) -> None:
        self._len = length
        self._pages: dict[int, bytearray] = {}
        self._owned: set[int] = set()

    def __len__(self) -> int:
        return self._len

    def copy(self) -> PagedBytes:
        other = PagedBytes(self._len)
        other._pages = dict(self._pages)
        self._owned = set()  # every page is now shared: whoever writes it first copies it
        return other

    def grow_by(self, n: int) -> None:
        self._len += n

    def _page(self, index: int) -> bytearray:
        """Page ``index``, writable by this vector alone."""
        if index not in self._owned:
            self._pages[index] = bytearray(self._pages.get(index, _ZERO_PAGE))
            self._owned.add(index)
        return self._pages[index]

    def _span(self, key: slice) -> tuple[int, int]:
        start, stop, step = key.indices(self._len)
        if step != 1:
            raise ValueError("PagedBytes slices have step 1")
        return start, max(start, stop)

    @overload
    def __getitem__(self, key: int) -> int: ...

    @overload
    def __getitem__(self, key: slice) -> bytes: ...

    def __getitem__(self, key: int | slice) -> int | bytes:
        if isinstance(key, slice):
            start, stop = self._span(key)
            out = bytearray()
            while start < stop:
                index, at = divmod(start, PAGE_SIZE)
                take = min(stop - start, PAGE_SIZE - at)
                page = self._pages.get(index)
                out += page[at:at + take] if page is not None else bytes(take)
                start += take
            return bytes(out)
        if key < 0:
            key += self._len
        if not 0 <= key < self._len:
            raise IndexError(key)
        page = self._pages.get(key // PAGE_SIZE)
        return page[key % PAGE_SIZE] if page is not None else 0

    def __setitem__(self, key: int | slice, value: Any) -> None:
        if isinstance(key, slice):
            start, stop = self._span(key)
            data = bytes(value)
            if len(data) != stop - start:
                raise ValueError(f"PagedBytes cannot change length: {len(data)} bytes into {stop - start}")
            done = 0
            while start < stop:
                index, at = divmod(start, PAGE_SIZE)
                take = min(stop - start, PAGE_SIZE - at)
                self._page(index)[at:at + take] = data[done:done + take]
                start += take
                done += take
            return
        if key < 0:
            key += self._len
        if not 0 <= key < self._len:
            raise IndexError(key)
        self._page(key // PAGE_SIZE)[key % PAGE_SIZE] = value

    def __bytes__(self) -> bytes:
        return self[0:self._len]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PagedBytes | bytes | bytearray):
            return len(self) == len(other) and bytes(self) == bytes(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def touched_pages(self) -> int:
        """How many pages hold data (for the model's own memory use)."""
        return len(self._pages)


@dataclass(slots=True)
class Memory:
    data: PagedBytes
    maximum: int | None = None
    address64: bool = False
    """a memory64 memory: i64 addresses, up to 2**48 pages"""

    @classmethod
    def of_pages(cls, pages: int, maximum: int | None = None, *, address64: bool = False) -> Memory:
        return cls(PagedBytes(pages * PAGE_SIZE), maximum, address64)

    @property
    def pages(self) -> int:
        return len(self.data) // PAGE_SIZE

    @property
    def limit(self) -> int:
        """The most pages a grow may reach: the declared maximum, else 4 GiB (2**64 bytes for memory64)."""
        cap = MAX_PAGES_64 if self.address64 else MAX_PAGES_32
        return cap if self.maximum is None else min(self.maximum, cap)

    def in_bounds(self, addr: int, length: int) -> bool:
        return 0 <= addr and 0 <= length and addr + length <= len(self.data)

    def grow(self, delta: int) -> int | None:
        """memory.grow: the old size in pages, or None past the limit."""
        old = self.pages
        if delta < 0 or old + delta > self.limit:
            return None
        self.data.grow_by(delta * PAGE_SIZE)
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
        return Memory(self.data.copy(), self.maximum, self.address64)


@dataclass(slots=True)
class Instance:
    """The model of one instance: its memory and the guest's globals."""

    memory: Memory
    globals: dict[str, int] = field(default_factory=dict)
    grows: int = 0
    """successful memory.grow instructions so far, delta 0 included (the JS API detaches
    the old ArrayBuffer on every one)"""
    extra: dict[int, Memory] = field(default_factory=dict)
    """memories other than memory 0, by index (multi-memory); ``memory`` is memory 0"""

    def clone(self) -> Instance:
        return Instance(self.memory.copy(), dict(self.globals), self.grows,
                        {k: m.copy() for k, m in self.extra.items()})
