"""demo-sandbox's own tests, written with wasm-memory-conformance's public fixture and strategies.

Run them on the sandbox (``--wasm-runtime=demo-sandbox``) or on any runtime the
suite knows, to compare.
"""

from __future__ import annotations

from conformance.strategies import byte_arrays, placements
from hypothesis import given

from conformance import PAGE_SIZE, Call, Read, Script, Value, WasmRuntime, Write, check_script


@given(data=byte_arrays(min_size=1, max_size=512).flatmap(
    lambda d: placements(len(d), PAGE_SIZE).map(lambda addr: (d, addr))))
def test_put_then_checksum_in_the_guest(wasm_runtime: WasmRuntime, data: tuple[bytes, int]) -> None:
    """What the sandbox puts, the guest sees, at any address up to the end of its page."""
    payload, addr = data
    check_script(wasm_runtime, Script.of("bytes", [
        Write(addr, payload), Read(addr, len(payload)),
        Call("checksum", (Value.i32(addr), Value.i32(len(payload)))),
    ]))


@given(payload=byte_arrays(min_size=1, max_size=64))
def test_nothing_is_written_past_the_end(wasm_runtime: WasmRuntime, payload: bytes) -> None:
    """A put that would cross the end of memory is refused whole, and the last bytes stay as they were."""
    check_script(wasm_runtime, Script.of("bytes", [
        Write(PAGE_SIZE - len(payload) + 1, payload), Read(PAGE_SIZE - len(payload), len(payload)),
    ]))
