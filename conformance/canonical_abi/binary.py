"""The canonical options of a component's ``canon lift`` definitions, read and rewritten in its binary.

A WebAssembly binary, a core module or a component, is a preamble and sections, each an id, a
LEB128 size and a body (:func:`sections`, :func:`rewrite_sections`: the faulty driver in
``tests/`` rewrites a module's memory section with them). In a component, section 8, the
canonical section, holds a vector of ``canon`` definitions, a lift being::

    0x00 0x00 core-func-index  vec(canonopt)  type-index

with the options ``0x00`` string-encoding=utf8, ``0x01`` utf16, ``0x02`` latin1+utf16, ``0x03 m``
memory, ``0x04 f`` realloc, ``0x05 f`` post-return, ``0x06`` async, ``0x07 f`` callback.

wasm-tools (jco's bundled one, which makes the guests: ``guests.py``) cannot embed a world with
``compact-utf16`` strings (it traps), so a latin1+utf16 guest is made as a utf16 one and its lifts'
encoding option rewritten here (:func:`with_lift_string_encoding`). The faults in ``tests/`` use the
same walk to leave options out (:func:`without_lift_option`). A canonical section that holds
anything but lifts is left as it is: the guests made here have no imports, so no lowers.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.cguest import uleb128

__all__ = ["ENCODING_OPTIONS", "lift_string_encoding", "rewrite_sections", "sections", "uleb128_bytes",
           "with_lift_string_encoding", "without_lift_option"]

CANONICAL_SECTION = 8
ENCODING_OPTIONS = {"utf8": 0x00, "utf16": 0x01, "latin1+utf16": 0x02}
_WITH_INDEX = (0x03, 0x04, 0x05, 0x07)
"""the options followed by an index: memory, realloc, post-return, callback"""

Options = list[bytes]
"""one lift's options, each its bytes (the option byte and any index)"""


def uleb128_bytes(value: int) -> bytes:
    """``value`` as an unsigned LEB128 (``conformance.cguest.uleb128`` reads one)."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def sections(wasm: bytes) -> list[tuple[int, bytes]]:
    """The binary's sections in order: (id, body)."""
    if wasm[:4] != b"\0asm" or len(wasm) < 8:
        raise ValueError("not a WebAssembly binary")
    out, at = [], 8
    while at < len(wasm):
        section, body_at = wasm[at], at + 1
        size, body_at = uleb128(wasm, body_at)
        out.append((section, wasm[body_at:body_at + size]))
        at = body_at + size
    return out


def _lifts(body: bytes) -> list[tuple[int, Options, int]] | None:
    """A canonical section's lifts (core function, options, type), or None if it holds other kinds."""
    count, pos = uleb128(body, 0)
    lifts = []
    for _ in range(count):
        if body[pos:pos + 2] != b"\x00\x00":
            return None
        func, pos = uleb128(body, pos + 2)
        n, pos = uleb128(body, pos)
        options: Options = []
        for _ in range(n):
            end = uleb128(body, pos + 1)[1] if body[pos] in _WITH_INDEX else pos + 1
            options.append(body[pos:end])
            pos = end
        ft, pos = uleb128(body, pos)
        lifts.append((func, options, ft))
    return lifts


def rewrite_sections(wasm: bytes, section_id: int, edit: Callable[[bytes], bytes]) -> bytes:
    """The binary with the body of each section ``section_id`` replaced by ``edit(body)``; all else
    kept byte for byte."""
    out = bytearray(wasm[:8])
    for section, body in sections(wasm):
        if section == section_id:
            body = edit(body)
        out += bytes([section]) + uleb128_bytes(len(body)) + body
    return bytes(out)


def _rewrite(wasm: bytes, edit: Callable[[Options], Options]) -> bytes:
    """The component with each lift's options replaced by ``edit(options)``."""
    def lifts_edited(body: bytes) -> bytes:
        lifts = _lifts(body)
        if lifts is None:
            return body
        new = bytearray(uleb128_bytes(len(lifts)))
        for func, options, ft in lifts:
            kept = edit(options)
            new += (b"\x00\x00" + uleb128_bytes(func) + uleb128_bytes(len(kept)) + b"".join(kept)
                    + uleb128_bytes(ft))
        return bytes(new)
    return rewrite_sections(wasm, CANONICAL_SECTION, lifts_edited)


def with_lift_string_encoding(wasm: bytes, encoding: str) -> bytes:
    """The component with every lift's string encoding ``encoding`` (``utf8``, ``utf16``,
    ``latin1+utf16``): its encoding option replaced, or added where it had none (utf8)."""
    option = bytes([ENCODING_OPTIONS[encoding]])

    def edit(options: Options) -> Options:
        rest = [o for o in options if o[0] not in ENCODING_OPTIONS.values()]
        return [option, *rest]
    return _rewrite(wasm, edit)


def without_lift_option(wasm: bytes, option: int) -> bytes:
    """The component with option ``option`` (say 0x05, post-return) left out of every lift."""
    return _rewrite(wasm, lambda options: [o for o in options if o[0] != option])


def lift_string_encoding(wasm: bytes) -> str:
    """The string encoding of the component's first lift (utf8 where it names none)."""
    names = {v: k for k, v in ENCODING_OPTIONS.items()}
    for section, body in sections(wasm):
        lifts = _lifts(body) if section == CANONICAL_SECTION else None
        for _, options, _ in lifts or ():
            for o in options:
                if o[0] in names:
                    return names[o[0]]
            return "utf8"
    return "utf8"
