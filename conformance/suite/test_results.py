"""Results coming back: into a buffer the host provides, or memory the module allocates."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from conformance import (
    PAGE_SIZE,
    Call,
    Instantiate,
    Op,
    Read,
    Script,
    Value,
    WasmRuntime,
    Write,
    check_script,
)
from conformance.strategies import utf8_texts
from conformance.text import decode_utf8, encode_utf8

SCRATCH = PAGE_SIZE  # page 0 of the strings guest is the host's
GREETING = "hello from wasm"
CANARY = 0xAA
i32 = Value.i32


@given(text=utf8_texts(), cap=st.integers(0, 900), out=st.integers(1024, SCRATCH - 1024))
@example(text="hello", cap=0, out=2048)
@example(text="h\u00e9llo", cap=2, out=2048)  # truncation inside a multi-byte character
def test_result_into_host_buffer_shows_truncation(wasm_runtime: WasmRuntime, text: str, cap: int,
                                                  out: int) -> None:
    """The guest copies min(len, cap) bytes, returns the full length, and writes nothing past cap."""
    raw = encode_utf8(text)
    n = len(raw)
    outcomes = check_script(wasm_runtime, Script.of("strings", [
        Write(0, raw),
        Write(out, bytes([CANARY]) * (cap + 8)),
        Call("copy_out", (i32(0), i32(n), i32(out), i32(cap))),
        Read(out, cap + 8),
    ]))
    (returned,) = outcomes[3].value
    assert returned.bits == n
    if returned.bits <= cap:
        assert decode_utf8(outcomes[4].value[:returned.bits]) == text


@given(cap=st.integers(0, 64), out=st.integers(0, SCRATCH - 64))
@example(cap=15, out=0)
@example(cap=14, out=SCRATCH - 64)
def test_get_greeting_into_host_buffer(wasm_runtime: WasmRuntime, cap: int, out: int) -> None:
    """The seed's get_greeting(out_ptr, out_cap) -> len."""
    outcomes = check_script(wasm_runtime, Script.of("strings", [
        Call("get_greeting", (i32(out), i32(cap))),
        Read(out, min(cap, len(GREETING))),
    ]))
    assert outcomes[1].value == (i32(len(GREETING)),)
    assert outcomes[2].value == GREETING.encode()[:cap]


@given(texts=st.lists(utf8_texts(max_size=60), min_size=1, max_size=5), data=st.data())
@example(texts=[""], data=None)
def test_result_in_module_allocated_memory(wasm_runtime: WasmRuntime, texts: list[str],
                                           data: st.DataObject | None) -> None:
    """The guest allocates [len][bytes] blocks; the host reads each, then frees it through dealloc."""
    ops: list[Op] = []
    src = 0
    for text in texts:
        raw = encode_utf8(text)
        ops.append(Write(src, raw))
        ops.append(Call("upper_alloc", (i32(src), i32(len(raw)))))
        src += len(raw)
    first = check_script(wasm_runtime, Script.of("strings", ops))
    blocks = [first[i + 1].value[0].bits for i in range(1, len(ops), 2)]
    assert all(blocks), "the allocator had room for every block"
    # Second script: the same, then read every block back and free them in
    # an order Hypothesis picks.
    order = list(range(len(texts)))
    if data is not None:
        order = data.draw(st.permutations(order), label="free order")
    reads: list[Op] = []
    for block, text in zip(blocks, texts, strict=True):
        n = len(encode_utf8(text))
        reads += [Read(block, 4), Read(block + 4, n)]
    frees: list[Op] = [Call("dealloc", (i32(blocks[k]), i32(len(encode_utf8(texts[k])) + 4))) for k in order]
    again: list[Op] = [Call("alloc", (i32(16),))]
    outcomes = check_script(wasm_runtime, Script.of("strings", ops + reads + frees + again))
    base = len(ops) + 1
    for k, text in enumerate(texts):
        length = int.from_bytes(outcomes[base + 2 * k].value, "little")
        assert length == len(encode_utf8(text))
        body = decode_utf8(outcomes[base + 2 * k + 1].value)
        assert body == "".join(c.upper() if "a" <= c <= "z" else c for c in text)


@given(text=utf8_texts(min_size=1, max_size=40))
def test_reinstantiation_starts_afresh(wasm_runtime: WasmRuntime, text: str) -> None:
    """A second instance of the same module has fresh memory: data segments in, old bytes gone."""
    raw = encode_utf8(text)
    check_script(wasm_runtime, Script.of("strings", [
        Write(0, raw),
        Call("upper_alloc", (i32(0), i32(len(raw)))),
        Instantiate(),
        Read(0, len(raw)),
        Call("get_greeting", (i32(0), i32(len(GREETING)))),
        Read(0, len(GREETING)),
        Call("alloc", (i32(8),)),
    ]))
