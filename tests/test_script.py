"""Scripts and outcomes are values: they go to JSON and back without loss."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.script import (
    Call,
    Grow,
    Outcome,
    Read,
    Script,
    ScriptError,
    Size,
    Value,
    View,
    ViewLength,
    ViewRead,
    ViewWrite,
    Write,
    op_from_json,
    op_to_json,
)

addrs = st.integers(0, 2**32 + 8)
values = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda b: Value("i32", b)),
    st.integers(0, 2**64 - 1).map(lambda b: Value("i64", b)),
    st.integers(0, 2**32 - 1).map(lambda b: Value("f32", b)),
    st.integers(0, 2**64 - 1).map(lambda b: Value("f64", b)),
)
names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
ops = st.one_of(
    st.builds(Write, addrs, st.binary(max_size=64)),
    st.builds(Read, addrs, st.integers(0, 1 << 20)),
    st.builds(Call, names, st.lists(values, max_size=4).map(tuple)),
    st.builds(Grow, st.integers(0, 2**32)),
    st.builds(Size),
    st.builds(View, names),
    st.builds(ViewRead, names, addrs, st.integers(0, 99)),
    st.builds(ViewWrite, names, addrs, st.binary(max_size=16)),
    st.builds(ViewLength, names),
)


@given(guest=names, body=st.lists(ops, max_size=12))
def test_script_json_round_trip(guest: str, body: list[object]) -> None:
    script = Script.of(guest, body)  # type: ignore[arg-type]
    again = Script.from_json(json.loads(script.dumps()))
    assert again == script
    assert script.describe().count("\n") == len(script.ops) - 1


@given(op=ops)
def test_op_json_round_trip(op: object) -> None:
    assert op_from_json(json.loads(json.dumps(op_to_json(op)))) == op  # type: ignore[arg-type]


def test_values_are_bit_patterns() -> None:
    assert Value.i32(-1) == Value("i32", 0xFFFF_FFFF)
    assert Value.i32(-1).signed == -1
    assert Value.i64(-2).to_json() == {"type": "i64", "value": str(2**64 - 2)}
    with pytest.raises(ScriptError):
        Value("i32", 2**32)
    with pytest.raises(ScriptError):
        Value("v128", 0)  # type: ignore[arg-type]


def test_a_script_starts_with_instantiate() -> None:
    with pytest.raises(ScriptError, match="starts with"):
        Script("bytes", (Size(),))


@pytest.mark.parametrize("bad", [{"op": "jump"}, {"op": "read", "addr": 1}, {"nope": 1}])
def test_malformed_operations_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ScriptError):
        op_from_json(bad)


def test_outcome_json_keeps_the_runtime_message() -> None:
    trap = Outcome.trap("out-of-bounds", "wasm trap: out of bounds memory access")
    assert Outcome.from_json(trap.to_json(), Size()) == trap
    read = Outcome.ok(b"\x00\xff")
    assert Outcome.from_json(read.to_json(), Read(0, 2)) == read
    call = Outcome.ok((Value.i32(7),))
    assert Outcome.from_json(call.to_json(), Call("f")) == call
    assert trap.same_as(Outcome.trap("out-of-bounds", "another message"))
    assert not trap.same_as(Outcome.trap("unreachable"))


def test_any_ok_is_the_same_as_every_ok_and_nothing_else() -> None:
    """Outcome.any_ok (a replay's "the property fixes nothing here") survives JSON, matches any ok
    value either way round, and never a trap or an error."""
    anything = Outcome.any_ok()
    assert Outcome.from_json(anything.to_json(), Size()) == anything
    assert anything.to_json() == {"any": "ok"}
    for ok in (Outcome.ok(), Outcome.ok(3), Outcome.ok(b"\x01")):
        assert anything.same_as(ok) and ok.same_as(anything)
    assert not anything.same_as(Outcome.trap("unreachable"))
    assert not Outcome.error("out-of-range").same_as(anything)
    assert str(anything) == "ok (any value)"
