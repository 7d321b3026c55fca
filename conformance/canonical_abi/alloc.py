"""A ``realloc`` for tests and hosts: a bump allocator in a bytearray that records every call.

The guests to come export a ``cabi_realloc`` that does the same, so the calls a
host makes can be compared with the calls this engine makes for the same value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .abi import align_to
from .types import CanonicalABIError

__all__ = ["BumpAllocator", "ReallocCall"]


@dataclass(frozen=True, slots=True)
class ReallocCall:
    """One ``realloc(old_ptr, old_size, alignment, new_size)`` call and the pointer it returned."""

    old_ptr: int
    old_size: int
    alignment: int
    new_size: int
    result: int


@dataclass(slots=True)
class BumpAllocator:
    """``realloc`` over ``memory`` from ``start`` up: never frees, records :attr:`calls`.

    A fresh block (``old_ptr == 0``) or a larger one is taken at the next
    ``alignment``-aligned address, the old block's bytes copied in; a block
    asked to shrink stays where it is (when it is aligned as asked). Running
    past the end of ``memory`` returns the out-of-bounds pointer anyway, so
    that the caller's bounds check is what fails.
    """

    memory: bytearray
    start: int = 8
    calls: list[ReallocCall] = field(default_factory=list)
    _next: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._next = self.start

    def __call__(self, old_ptr: int, old_size: int, alignment: int, new_size: int) -> int:
        if alignment < 1 or alignment & (alignment - 1):
            raise CanonicalABIError(f"realloc: alignment {alignment} is not a power of two")
        if old_ptr != 0 and new_size <= old_size and old_ptr % alignment == 0:
            ptr = old_ptr
        else:
            ptr = align_to(self._next, alignment)
            self._next = ptr + new_size
            if old_ptr != 0 and ptr + min(old_size, new_size) <= len(self.memory):
                kept = min(old_size, new_size)
                self.memory[ptr:ptr + kept] = self.memory[old_ptr:old_ptr + kept]
        self.calls.append(ReallocCall(old_ptr, old_size, alignment, new_size, ptr))
        return ptr

    @property
    def end(self) -> int:
        """The first address no block has reached yet (where the next fresh block would start)."""
        return self._next

    def blocks(self) -> list[tuple[int, int]]:
        """Every ``(pointer, size)`` handed out, the largest size each pointer had."""
        largest: dict[int, int] = {}
        for c in self.calls:
            largest[c.result] = max(largest.get(c.result, 0), c.new_size)
        return sorted(largest.items())
