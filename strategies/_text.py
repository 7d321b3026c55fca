from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument


def utf8_texts(*, min_size: int = 0, max_size: int = 200) -> st.SearchStrategy[str]:
    """Any Unicode text that has a UTF-8 form: empty, NUL, ASCII, multi-byte, non-BMP.

    Sizes count code points. Shrinks towards the empty string and towards ASCII.
    """
    if min_size < 0 or max_size < min_size:
        raise InvalidArgument(f"need 0 <= min_size <= max_size, got {min_size}, {max_size}")
    edges = st.sampled_from(["\x00", "\U0001F600", "\u00e9", "\u20ac", "\U00010348", "\uFFFF"])
    chars = st.one_of(st.characters(codec="utf-8"), edges)
    return st.text(chars, min_size=min_size, max_size=max_size)


def unencodable_texts(*, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text with at least one lone surrogate (U+D800..U+DFFF), which UTF-8 cannot encode.

    Shrinks towards a single surrogate.
    """
    if max_size < 1:
        raise InvalidArgument(f"max_size must be at least 1, got {max_size}")
    surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
    around = st.text(st.characters(codec="utf-8"), max_size=max(0, (max_size - 1) // 2))
    return st.tuples(around, surrogate, around).map("".join)
