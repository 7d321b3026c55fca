"""Strings in linear memory: UTF-8, UTF-16 or latin1+UTF-16, with the spec's ``realloc`` calls.

CanonicalABI.md, "Storing" (``store_string_into_range`` and the transcoders
after it) and "Loading" (``load_string_from_range``). A string in memory is a
pointer and a count of *code units*: bytes in UTF-8 and Latin-1, 2-byte units
in UTF-16. In ``latin1+utf16`` the count's top bit (:data:`UTF16_TAG`) says
UTF-16; a string is Latin-1 when the lowering chose it.

The allocation is chosen before the string is read, from its *source*
encoding and its length in the source's code units, then corrected by
``realloc``. So the calls depend on both encodings:

=================  ================  =============================================================
source             destination       ``realloc`` calls (``n`` source code units)
=================  ================  =============================================================
utf8               utf8              ``(0, 0, 1, n)``
utf16, latin1      utf8              ``(0, 0, 1, n)``; at the first code point >= 0x80 grow to the
                                     worst case (``3n`` from UTF-16, ``2n`` from Latin-1), then
                                     shrink to the UTF-8 length if smaller
utf8               utf16             ``(0, 0, 2, 2n)``, then shrink to the UTF-16 length if smaller
utf16, latin1      utf16             ``(0, 0, 2, 2n)``
utf8, utf16        latin1+utf16      ``(0, 0, 2, n)``; at the first code point >= 0x100 grow to
                                     ``2n`` (Latin-1 so far inflated to UTF-16), then shrink to the
                                     UTF-16 length if smaller; if none, shrink to the Latin-1
                                     length if smaller. **Latin-1 exactly when every code point is
                                     below 256.**
latin1             latin1+utf16      ``(0, 0, 2, n)``: copied as Latin-1
utf16 (tagged)     latin1+utf16      ``(0, 0, 2, 2n)``; UTF-16 if any code point >= 0x100, else
                                     deflated in place to Latin-1 and shrunk to ``(ptr, 2n, 1, n)``
=================  ================  =============================================================

A source ``latin1+utf16`` string is Latin-1 when every code point is below 256,
else UTF-16 (as this engine would have lowered it).
"""

from __future__ import annotations

from typing import Final

from .context import UTF16_TAG, Context, Trap

__all__ = ["MAX_STRING_BYTE_LENGTH", "load_string", "source_code_units", "store_string"]

MAX_STRING_BYTE_LENGTH: Final = (1 << 28) - 1
"""A lifted string longer than this many bytes traps."""


def _is_latin1(s: str) -> bool:
    return all(ord(c) < 0x100 for c in s)


def source_code_units(s: str, source_encoding: str) -> tuple[str, int]:
    """The simple encoding (``utf8``, ``utf16``, ``latin1``) and code units of ``s`` in its source."""
    if source_encoding == "utf8":
        return "utf8", len(s.encode("utf-8"))
    if source_encoding == "latin1+utf16" and _is_latin1(s):
        return "latin1", len(s)
    return "utf16", len(s.encode("utf-16-le")) // 2


def store_string(cx: Context, s: str, what: str = "string") -> tuple[int, int]:
    """Write ``s`` into memory blocks from ``cx.realloc``: its pointer and (tagged) code units."""
    simple, units = source_code_units(s, cx.source_encoding)
    match cx.string_encoding, simple:
        case "utf8", "utf8":
            return _copy(cx, s, units, 1, 1, "utf-8", what)
        case "utf8", _:
            return _to_utf8(cx, s, units, 3 * units if simple == "utf16" else 2 * units, what)
        case "utf16", "utf8":
            return _utf8_to_utf16(cx, s, units, what)
        case "utf16", _:
            return _copy(cx, s, units, 2, 2, "utf-16-le", what)
        case "latin1+utf16", "latin1":
            return _copy(cx, s, units, 1, 2, "latin-1", what)
        case "latin1+utf16", "utf16" if cx.source_encoding == "latin1+utf16":
            return _probably_utf16_to_latin1_or_utf16(cx, s, units, what)
        case _:
            return _to_latin1_or_utf16(cx, s, units, what)


def _copy(cx: Context, s: str, units: int, unit_size: int, alignment: int, codec: str,
          what: str) -> tuple[int, int]:
    """The exact size is known: one allocation ("store_string_copy")."""
    ptr = cx.allocate(alignment, unit_size * units, what)
    cx.write(ptr, s.encode(codec))
    return ptr, units


def _first_at_least(s: str, bound: int) -> int | None:
    return next((i for i, c in enumerate(s) if ord(c) >= bound), None)


def _to_utf8(cx: Context, s: str, units: int, worst: int, what: str) -> tuple[int, int]:
    """One byte a code unit until a non-ASCII code point, then the worst case ("store_string_to_utf8")."""
    ptr = cx.allocate(1, units, what)
    first = _first_at_least(s, 0x80)
    if first is None:
        cx.write(ptr, s.encode("ascii"))
        return ptr, units
    cx.write(ptr, s[:first].encode("ascii"))
    ptr = cx.reallocate(ptr, units, 1, worst, what)
    encoded = s.encode("utf-8")
    cx.write(ptr + first, encoded[first:])
    if worst > len(encoded):
        ptr = cx.reallocate(ptr, worst, 1, len(encoded), what)
    return ptr, len(encoded)


def _utf8_to_utf16(cx: Context, s: str, units: int, what: str) -> tuple[int, int]:
    """A UTF-16 unit per UTF-8 byte at worst, then shrink ("store_utf8_to_utf16")."""
    worst = 2 * units
    ptr = cx.allocate(2, worst, what)
    encoded = s.encode("utf-16-le")
    cx.write(ptr, encoded)
    if len(encoded) < worst:
        ptr = cx.reallocate(ptr, worst, 2, len(encoded), what)
    return ptr, len(encoded) // 2


def _to_latin1_or_utf16(cx: Context, s: str, units: int, what: str) -> tuple[int, int]:
    """Latin-1 while it fits, else inflate to UTF-16 ("store_string_to_latin1_or_utf16")."""
    ptr = cx.allocate(2, units, what)
    first = _first_at_least(s, 0x100)
    if first is None:
        cx.write(ptr, s.encode("latin-1"))
        if len(s) < units:
            ptr = cx.reallocate(ptr, units, 2, len(s), what)
        return ptr, len(s)
    cx.write(ptr, s[:first].encode("latin-1"))
    worst = 2 * units
    ptr = cx.reallocate(ptr, units, 2, worst, what)
    # The spec inflates the Latin-1 bytes in place: the same bytes as encoding them as UTF-16.
    encoded = s.encode("utf-16-le")
    cx.write(ptr, encoded)
    if worst > len(encoded):
        ptr = cx.reallocate(ptr, worst, 2, len(encoded), what)
    return ptr, (len(encoded) // 2) | UTF16_TAG


def _probably_utf16_to_latin1_or_utf16(cx: Context, s: str, units: int, what: str) -> tuple[int, int]:
    """UTF-16 first, deflated to Latin-1 if it fits ("store_probably_utf16_to_latin1_or_utf16")."""
    byte_length = 2 * units
    ptr = cx.allocate(2, byte_length, what)
    encoded = s.encode("utf-16-le")
    cx.write(ptr, encoded)
    if not _is_latin1(s):
        return ptr, (len(encoded) // 2) | UTF16_TAG
    # Deflating in place leaves the UTF-16 bytes' second half where it was.
    cx.write(ptr, s.encode("latin-1"))
    ptr = cx.reallocate(ptr, byte_length, 1, len(s), what)
    return ptr, len(s)


def load_string(cx: Context, ptr: int, tagged_units: int, what: str = "string") -> str:
    """The string at ``ptr`` of ``tagged_units`` code units; :class:`Trap` if it is out of bounds,
    misaligned, too long, or not valid in its encoding ("load_string_from_range")."""
    match cx.string_encoding:
        case "utf8":
            alignment, byte_length, codec = 1, tagged_units, "utf-8"
        case "utf16":
            alignment, byte_length, codec = 2, 2 * tagged_units, "utf-16-le"
        case _:
            alignment = 2
            if tagged_units & UTF16_TAG:
                byte_length, codec = 2 * (tagged_units ^ UTF16_TAG), "utf-16-le"
            else:
                byte_length, codec = tagged_units, "latin-1"
    if byte_length > MAX_STRING_BYTE_LENGTH:
        raise Trap(f"{what}: {byte_length} bytes is longer than a string may be ({MAX_STRING_BYTE_LENGTH})")
    cx.check_range(ptr, byte_length, alignment, what)
    try:
        return bytes(cx.memory[ptr:ptr + byte_length]).decode(codec)
    except UnicodeDecodeError as e:
        raise Trap(f"{what}: invalid {codec} at byte {e.start} of [{ptr:#x}, {ptr + byte_length:#x})") from e
