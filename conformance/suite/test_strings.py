"""Text crossing the boundary as UTF-8 bytes plus ptr/len."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance import (
    PAGE_SIZE,
    Call,
    Read,
    Script,
    Value,
    WasmRuntime,
    Write,
    check_script,
)
from conformance.strategies import placements, unencodable_texts, utf8_texts
from conformance.text import UnencodableText, decode_utf8, encode_utf8

SCRATCH = PAGE_SIZE  # page 0 of the strings guest is the host's
i32 = Value.i32


def ascii_upper(text: str) -> str:
    return "".join(c.upper() if "a" <= c <= "z" else c for c in text)


@given(text=utf8_texts(), data=st.data())
@example(text="", data=None)
@example(text="a\x00b\U0001F600", data=None)
def test_text_round_trips_through_the_guest(wasm_runtime: WasmRuntime, text: str,
                                            data: st.DataObject | None) -> None:
    """The guest counts the host's text, copies it, uppercases the copy; the host decodes it."""
    raw = encode_utf8(text)
    n = len(raw)
    half = SCRATCH // 2  # source in the low half, copy in the high half: no overlap
    if data is None:
        src, dst = 0, SCRATCH - n
    else:
        src = data.draw(placements(n, half), label="src")
        dst = half + data.draw(placements(n, half), label="dst offset")
    outcomes = check_script(wasm_runtime, Script.of("strings", [
        Write(src, raw),
        Call("count_codepoints", (i32(src), i32(n))),
        Call("copy_out", (i32(src), i32(n), i32(dst), i32(n))),
        Read(dst, n),
        Call("ascii_upper", (i32(dst), i32(n))),
        Read(dst, n),
    ]))
    assert outcomes[2].value == (i32(len(text)),), "count_codepoints"
    assert decode_utf8(outcomes[4].value) == text
    assert decode_utf8(outcomes[6].value) == ascii_upper(text)


@given(text=unencodable_texts())
def test_unencodable_text_is_refused_before_the_boundary(text: str) -> None:
    """Text with a lone surrogate has no UTF-8 form: the encoding step says so, naming it."""
    with pytest.raises(UnencodableText, match=r"U\+D[89A-F][0-9A-F]{2}, a lone surrogate"):
        encode_utf8(text)
