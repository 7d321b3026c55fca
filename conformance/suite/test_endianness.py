"""Byte order at the boundary: WebAssembly memory is little-endian, for every scalar type.

The guest stores and loads each type at an address the host picks (aligned or
not); floats cross the call boundary as their bit patterns, so NaN payloads
are checked exactly through memory. Whether a host keeps NaN payloads when a
float itself is a call argument or result is a finding, not a failure: the
report shows each runtime's choice, and where the bits were lost. A float
result is also stored by the guest where the host reads it as raw bytes:
memory must hold it whole (the runtime kept it), so a result that changed was
changed in the host's value type (a Python float, a JavaScript Number). A float
argument whose bits changed on the way in is put down to the runtime when the
host's value type carried the same NaN out whole, and to the host's value type
when it did not.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from conformance import PAGE_SIZE, Call, Outcome, Read, Script, Value, WasmRuntime, Write, check_script
from conformance.model.guests import is_nan
from conformance.strategies import placements

MEMORY = PAGE_SIZE
i32 = Value.i32

# type -> (bytes, store export, load export, wire type of the value)
SCALARS: dict[str, tuple[int, str, str, str]] = {
    "i8": (1, "store_i8", "load_i8_u", "i32"),
    "i16": (2, "store_i16", "load_i16_u", "i32"),
    "i32": (4, "store_i32", "load_i32", "i32"),
    "i64": (8, "store_i64", "load_i64", "i64"),
    "f32": (4, "store_f32", "load_f32", "i32"),
    "f64": (8, "store_f64", "load_f64", "i64"),
}
F32_SPECIALS = [0x7FC00000, 0x7FA00001, 0xFFC00001, 0x7F800001, 0x7F800000, 0xFF800000, 0x80000000,
                0x00000001, 0x7F7FFFFF]
F64_SPECIALS = [0x7FF8000000000000, 0x7FF4000000000001, 0xFFF8000000000001, 0x7FF0000000000001,
                0x7FF0000000000000, 0x8000000000000000, 0x0000000000000001]


def is_signalling_nan(kind: str, bits: int) -> bool:
    exp, frac = (8, 23) if kind == "f32" else (11, 52)
    all_ones = (1 << exp) - 1
    payload = bits & ((1 << frac) - 1)
    return (bits >> frac) & all_ones == all_ones and payload != 0 and not payload >> (frac - 1)


def bits_of(kind: str, *, signalling_nans: bool = True) -> st.SearchStrategy[int]:
    width = SCALARS[kind][0]
    anything = st.integers(0, (1 << (8 * width)) - 1)
    if kind in ("f32", "f64"):
        specials = F32_SPECIALS if kind == "f32" else F64_SPECIALS
        bits = st.one_of(st.sampled_from(specials), anything)
        return bits if signalling_nans else bits.filter(lambda b: not is_signalling_nan(kind, b))
    return st.one_of(st.sampled_from([0, 1, (1 << (8 * width)) - 1, 1 << (8 * width - 1)]), anything)


# Signalling NaNs are test_signalling_nan_bits_survive_memory's, so that a runtime that
# quiets them still has every other bit pattern checked.
scalars = st.sampled_from(sorted(SCALARS)).flatmap(
    lambda kind: st.tuples(st.just(kind), bits_of(kind, signalling_nans=False),
                           placements(SCALARS[kind][0], MEMORY)))


def wire(kind: str, bits: int) -> Value:
    return Value(SCALARS[kind][3], bits)  # type: ignore[arg-type]


@given(scalar=scalars)
@example(scalar=("i32", 0x01020304, 0))
@example(scalar=("f64", 0x7FF8000000000001, MEMORY - 8))  # a quiet NaN with a payload, at the end
def test_guest_stores_little_endian(wasm_runtime: WasmRuntime, scalar: tuple[str, int, int]) -> None:
    """The bytes a guest store leaves in memory are the little-endian encoding of the value."""
    kind, bits, addr = scalar
    width, store, load, _ = SCALARS[kind]
    outcomes = check_script(wasm_runtime, Script.of("scalars", [
        Call(store, (i32(addr), wire(kind, bits))),
        Read(addr, width),
        Call(load, (i32(addr),)),
    ]))
    assert outcomes[2].value == bits.to_bytes(width, "little")


@given(scalar=scalars)
@example(scalar=("i16", 0xBEEF, 1))
def test_guest_loads_the_hosts_little_endian_bytes(wasm_runtime: WasmRuntime,
                                                   scalar: tuple[str, int, int]) -> None:
    """Little-endian bytes the host writes are the value the guest loads, bit for bit."""
    kind, bits, addr = scalar
    width, _, load, _ = SCALARS[kind]
    outcomes = check_script(wasm_runtime, Script.of("scalars", [
        Write(addr, bits.to_bytes(width, "little")),
        Call(load, (i32(addr),)),
    ]))
    assert outcomes[2].value == (wire(kind, bits),)


@given(kind=st.sampled_from(["f32", "f64"]), data=st.data(), addr=st.integers(0, MEMORY - 16))
@example(kind="f32", data=None, addr=0)
def test_signalling_nan_bits_survive_memory(wasm_runtime: WasmRuntime, kind: str,
                                            data: st.DataObject | None, addr: int) -> None:
    """A signalling NaN stored and loaded through memory keeps every bit (loads do not quiet NaNs)."""
    width = SCALARS[kind][0]
    exp, frac = (8, 23) if kind == "f32" else (11, 52)
    if data is None:
        payload, sign = 1, 0
    else:
        payload = data.draw(st.integers(1, (1 << (frac - 1)) - 1), label="payload")
        sign = data.draw(st.integers(0, 1), label="sign")
    bits = (sign << (width * 8 - 1)) | (((1 << exp) - 1) << frac) | payload
    assert is_signalling_nan(kind, bits)
    _, store, load, _ = SCALARS[kind]
    check_script(wasm_runtime, Script.of("scalars", [
        Write(addr, bits.to_bytes(width, "little")),
        Call(load, (i32(addr),)),
        Call(store, (i32(addr + width), wire(kind, bits))),
        Read(addr + width, width),
    ]))


SIGNALLING = {"f32": 0x7FA00001, "f64": 0x7FF4000000000001}
ARGUMENT_BY_RUNTIME = ("NaN payload changed by the runtime on its way into the guest (a float argument: "
                       "the host's value type carried the same NaN out whole)")
ARGUMENT_IN_HOST_VALUE = ("NaN payload changed in the host's value type on its way into the guest (a float "
                          "argument: that type did not carry the same NaN out whole either)")


def where_the_argument_changed(kind: str, bits: int, returned: Outcome, received: Outcome) -> str:
    """Where a float argument's NaN bits were lost ("" if they were not): by the runtime, when
    the same NaN came back out whole as a float result, or else in the host's value type."""
    if not is_nan(kind, bits) or received.kind != "ok" or received.value[0].bits == bits:
        return ""
    kept_out = returned.kind == "ok" and returned.value[0].bits == bits
    return ARGUMENT_BY_RUNTIME if kept_out else ARGUMENT_IN_HOST_VALUE


@given(kind=st.sampled_from(["f32", "f64"]), data=st.data())
@example(kind="f32", data=None)
@example(kind="f64", data=None)
def test_floats_across_the_call_boundary(wasm_runtime: WasmRuntime, kind: str,
                                         data: st.DataObject | None) -> None:
    """Floats passed and returned as floats keep their value; a NaN's payload may change (reported,
    with where it changed: in the host's value type, or by the runtime). A float result the guest
    also stores keeps every bit in memory."""
    width = SCALARS[kind][0]
    bits = SIGNALLING[kind] if data is None else data.draw(bits_of(kind), label="bits")
    addr = 16 if data is None else data.draw(placements(width, MEMORY), label="addr")
    typed = Value(kind, bits)  # type: ignore[arg-type]
    outcomes = check_script(wasm_runtime, Script.of("scalars", [
        Call(f"{kind}_from_bits_at", (i32(addr), wire(kind, bits))),  # a float result, kept in memory
        Read(addr, width),
        Call(f"{kind}_bits", (typed,)),  # a float argument, as the guest received it
        Call(f"echo_{kind}", (typed,)),  # both ways
    ]))
    where = where_the_argument_changed(kind, bits, outcomes[1], outcomes[3])
    if where:
        wasm_runtime.note(where)
