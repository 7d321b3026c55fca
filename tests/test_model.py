"""The reference model: its guests match the real modules, and its checks bite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.driver_process import DriverProcess
from conformance.model import check
from conformance.model.guests import GUEST_MODELS
from conformance.model.memory import MAX_PAGES_32, Memory, PagedBytes
from conformance.runtimes import BUILTIN
from conformance.script import PAGE_SIZE, Call, Grow, Outcome, Read, Script, Size, Value, Write

i32 = Value.i32


@pytest.fixture(scope="module")
def wasmtime_driver() -> Iterator[DriverProcess]:
    process = DriverProcess(BUILTIN["wasmtime"])
    yield process
    process.close()


@pytest.mark.parametrize("name", sorted(GUEST_MODELS))
def test_model_instantiates_the_same_memory_image_as_the_module(
        name: str, wasmtime_driver: DriverProcess) -> None:
    """The model's declared pages and data segments are the module's, byte for byte."""
    model = GUEST_MODELS[name].instantiate()
    size = len(model.memory.data)
    result = wasmtime_driver.run(Script.of(name, [Size(), Read(0, size)]))
    assert result.status == "ok"
    assert result.outcomes[1].value == size
    assert result.outcomes[2].value == bytes(model.memory.data)


def test_a_trap_half_way_keeps_the_bytes_written_before_it() -> None:
    end = PAGE_SIZE
    script = Script.of("bytes", [Call("fill", (i32(end - 2), i32(4), i32(9))), Read(end - 2, 2)])
    good = [Outcome.ok(), Outcome.trap("out-of-bounds"), Outcome.ok(b"\x09\x09")]
    assert check(script, good).ok
    rolled_back = [Outcome.ok(), Outcome.trap("out-of-bounds"), Outcome.ok(b"\x00\x00")]
    verdict = check(script, rolled_back)
    assert verdict.mismatch is not None and verdict.mismatch.index == 2


def test_allowed_alternatives_are_recorded_as_choices() -> None:
    script = Script.of("bytes", [Grow(1), Size()])
    refused = check(script, [Outcome.ok(), Outcome.error("grow-failed"), Outcome.ok(PAGE_SIZE)])
    assert refused.ok and refused.choices == ["host grow refused within the limit"]
    grown = check(script, [Outcome.ok(), Outcome.ok(1), Outcome.ok(2 * PAGE_SIZE)])
    assert grown.ok and grown.choices == []
    lying = check(script, [Outcome.ok(), Outcome.ok(1), Outcome.ok(PAGE_SIZE)])
    assert not lying.ok


def test_a_poisoned_instance_after_a_trap_is_a_mismatch() -> None:
    """The store stays valid after a trap: a call the driver answers ``poisoned`` is wrong."""
    trap = Call("load_u8", (i32(PAGE_SIZE),))
    fine = Call("load_u8", (i32(0),))
    script = Script.of("bytes", [trap, fine, fine])
    poisoned = Outcome.error("poisoned")
    verdict = check(script, [Outcome.ok(), Outcome.trap("out-of-bounds"), poisoned, poisoned])
    assert verdict.mismatch is not None and verdict.mismatch.index == 2
    assert verdict.mismatch.got == poisoned and verdict.mismatch.expected == (Outcome.ok((i32(0),)),)
    working = Outcome.ok((i32(0),))
    kept = check(script, [Outcome.ok(), Outcome.trap("out-of-bounds"), working, working])
    assert kept.ok and kept.choices == ["instance keeps working after a trap"]
    assert not check(script, [Outcome.ok(), Outcome.trap("out-of-bounds"), working, poisoned]).ok
    assert not check(script, [Outcome.ok(), working, poisoned, poisoned]).ok


def test_host_access_past_the_end_must_be_refused() -> None:
    script = Script.of("bytes", [Write(PAGE_SIZE - 1, b"ab"), Read(PAGE_SIZE - 1, 2)])
    refused = [Outcome.ok(), Outcome.error("out-of-range"), Outcome.error("out-of-range")]
    assert check(script, refused).ok
    clamped = [Outcome.ok(), Outcome.error("out-of-range"), Outcome.ok(b"\x00")]
    assert not check(script, clamped).ok


def test_a_short_answer_is_a_mismatch() -> None:
    verdict = check(Script.of("bytes", [Size()]), [Outcome.ok()])
    assert verdict.mismatch is not None and "answered 1 outcomes" in verdict.mismatch.describe()


# --- the paged byte vector behind the model's memory ---------------------------

_spans = st.tuples(st.integers(0, 3 * PAGE_SIZE), st.integers(0, 200))


@given(ops=st.lists(st.one_of(
    st.tuples(st.just("write"), _spans, st.binary(min_size=1, max_size=200)),
    st.tuples(st.just("grow"), st.integers(0, 2), st.just(b"")),
    st.tuples(st.just("clone"), st.just((0, 0)), st.just(b"")),
), max_size=30))
def test_paged_bytes_behave_like_a_bytearray(ops: list[tuple[str, object, bytes]]) -> None:
    """Writes, grows and copy-on-write clones agree with a plain bytearray, byte for byte."""
    paged, plain = PagedBytes(PAGE_SIZE), bytearray(PAGE_SIZE)
    clones: list[tuple[PagedBytes, bytes]] = []
    for kind, arg, data in ops:
        if kind == "write":
            assert isinstance(arg, tuple)
            addr = arg[0] % (len(plain) + 1)
            data = data[:len(plain) - addr]
            paged[addr:addr + len(data)] = data
            plain[addr:addr + len(data)] = data
        elif kind == "grow":
            assert isinstance(arg, int)
            paged.grow_by(arg * PAGE_SIZE)
            plain.extend(bytes(arg * PAGE_SIZE))
        else:
            clones.append((paged.copy(), bytes(plain)))
        assert len(paged) == len(plain)
    assert bytes(paged) == bytes(plain)
    for clone, then in clones:
        assert bytes(clone) == then  # later writes to the original never reach a clone
    for addr in (0, PAGE_SIZE - 1, len(plain) - 1):
        assert paged[addr] == plain[addr]
        assert paged[addr:addr + 3] == bytes(plain[addr:addr + 3])


def test_a_memory_of_4_gib_costs_only_the_pages_written() -> None:
    memory = Memory.of_pages(1)
    assert memory.grow(MAX_PAGES_32 - 1) == 1
    memory.store(MAX_PAGES_32 * PAGE_SIZE - 8, 0x0102030405060708, 8)
    assert memory.load(MAX_PAGES_32 * PAGE_SIZE - 8, 8) == 0x0102030405060708
    assert memory.load8(3 * PAGE_SIZE) == 0
    assert memory.data.touched_pages() == 1
    assert memory.grow(1) is None
    memory64 = Memory.of_pages(1, address64=True)
    assert memory64.grow(MAX_PAGES_32) == 1 and memory64.pages == MAX_PAGES_32 + 1
