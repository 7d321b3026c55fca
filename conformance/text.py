"""The encoding step: text to the UTF-8 bytes that cross the boundary, and back."""

from __future__ import annotations


class UnencodableText(ValueError):
    """Text that has no UTF-8 form (a lone surrogate): refused before anything is written."""


def encode_utf8(text: str) -> bytes:
    """UTF-8 bytes of ``text``, or :class:`UnencodableText` naming the first bad character."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise UnencodableText(
            f"text cannot cross the boundary as UTF-8: character {exc.start} is U+{ord(bad):04X}, "
            "a lone surrogate"
        ) from None


def decode_utf8(data: bytes) -> str:
    """Text from the guest's bytes; invalid UTF-8 raises ``UnicodeDecodeError``."""
    return data.decode("utf-8")


def text_from_block(block: bytes, length: int) -> str:
    """The text of ``length`` bytes at the start of ``block``, whatever follows them.

    A block from an allocator may hold old bytes after the text (memory reused
    after a free is not zero): the length, not a NUL or zero padding, says where
    the text ends.
    """
    return decode_utf8(bytes(block[:length]))
