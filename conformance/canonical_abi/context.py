"""What lifting and lowering work on: a linear memory, a string encoding, ``realloc``; and traps.

CanonicalABI.md, "Canonical ABI Options" and "Lifting and Lowering Context":
the ``string-encoding``, ``memory`` and ``realloc`` options of ``canon lift``
and ``canon lower``, for a 32-bit memory. ``realloc`` is the guest's
``cabi_realloc(old_ptr, old_size, align, new_size) -> ptr``: given a block it
returns one of the new size *holding the old one's bytes* (the string
transcoders rely on that), given ``(0, 0, align, n)`` a fresh block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias, get_args

from .abi import PTR_SIZE, align_to
from .types import CanonicalABIError

__all__ = [
    "STRING_ENCODINGS",
    "UTF16_TAG",
    "Context",
    "Realloc",
    "StringEncoding",
    "Trap",
]

StringEncoding: TypeAlias = Literal["utf8", "utf16", "latin1+utf16"]
STRING_ENCODINGS: Final[tuple[StringEncoding, ...]] = get_args(StringEncoding)

Realloc: TypeAlias = Callable[[int, int, int, int], int]
"""``realloc(old_ptr, old_size, alignment, new_size) -> new_ptr``, the guest's ``cabi_realloc``."""

UTF16_TAG: Final = 1 << (8 * PTR_SIZE - 1)
"""The bit of a ``latin1+utf16`` string's length that says its code units are UTF-16 (CanonicalABI.md,
"Loading": ``utf16_tag``); without it they are Latin-1 bytes."""


class Trap(Exception):
    """What the spec's ``trap()`` is: the guest gave bad data (a pointer out of bounds, misaligned,
    a discriminant past the cases, invalid UTF-8 ...). The message says which and where."""


@dataclass(slots=True)
class Context:
    """The options a lift or lower runs with, and the checks every ``realloc`` result passes.

    ``source_encoding`` is the encoding the string values came from (the spec's
    ``String`` carries it with each value; its choice decides the ``realloc``
    calls a store makes: see :mod:`.strings`). A host that holds its strings as
    UTF-8 (wasmtime, from Rust) lowers with ``"utf8"``, a JavaScript host
    (jco) would hold UTF-16.
    """

    memory: bytearray = field(default_factory=bytearray)
    string_encoding: StringEncoding = "utf8"
    realloc: Realloc | None = None
    source_encoding: StringEncoding = "utf8"

    def __post_init__(self) -> None:
        for name in ("string_encoding", "source_encoding"):
            if getattr(self, name) not in STRING_ENCODINGS:
                raise CanonicalABIError(
                    f"{name} is one of {', '.join(STRING_ENCODINGS)}, not {getattr(self, name)!r}"
                )
        if not isinstance(self.memory, bytearray):
            raise CanonicalABIError(f"memory is a bytearray, not {type(self.memory).__name__}")

    def check_range(self, ptr: int, length: int, alignment: int, what: str) -> None:
        """Trap unless ``[ptr, ptr + length)`` is in memory and ``ptr`` a multiple of ``alignment``."""
        if ptr != align_to(ptr, alignment):
            raise Trap(f"{what}: pointer {ptr:#x} is not {alignment}-aligned")
        if ptr + length > len(self.memory):
            end = len(self.memory)
            raise Trap(f"{what}: [{ptr:#x}, {ptr + length:#x}) is past the end of memory ({end:#x})")

    def reallocate(self, old_ptr: int, old_size: int, alignment: int, new_size: int, what: str) -> int:
        """Call ``realloc`` and check its answer: an i32, aligned, the block inside memory."""
        if self.realloc is None:
            raise CanonicalABIError(f"{what}: lowering a string or list needs a realloc")
        if new_size > (1 << 32) - 1:
            raise CanonicalABIError(f"{what}: {new_size} bytes do not fit a 32-bit memory")
        ptr = self.realloc(old_ptr, old_size, alignment, new_size)
        if type(ptr) is not int or not 0 <= ptr < (1 << 32):
            raise Trap(f"{what}: realloc returned {ptr!r}, not an i32")
        self.check_range(ptr, new_size, alignment, f"{what}: realloc({old_ptr}, {old_size}, "
                                                   f"{alignment}, {new_size}) = {ptr:#x}")
        return ptr

    def allocate(self, alignment: int, size: int, what: str) -> int:
        """A fresh block: ``realloc(0, 0, alignment, size)``."""
        return self.reallocate(0, 0, alignment, size, what)

    def write(self, ptr: int, data: bytes) -> None:
        self.memory[ptr:ptr + len(data)] = data

    def write_int(self, ptr: int, value: int, nbytes: int, signed: bool = False) -> None:
        self.memory[ptr:ptr + nbytes] = value.to_bytes(nbytes, "little", signed=signed)

    def read_int(self, ptr: int, nbytes: int, signed: bool = False) -> int:
        return int.from_bytes(self.memory[ptr:ptr + nbytes], "little", signed=signed)
