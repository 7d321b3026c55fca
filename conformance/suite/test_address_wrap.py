"""Address arithmetic at the wrap: where a load or store lands, and whether it traps.

The spec: a load or store's effective address is its i32 operand (unsigned)
plus the static ``offset=`` immediate, computed *without* wrapping at 32 bits,
so an offset that carries past 4 GiB traps and never wraps to a low address;
the access traps if and only if ``ea + width > memory size``. Addresses the
guest computes itself (``i32.add`` of a base and an index, ``i32.mul`` or
``i32.shl`` of a scaled index) do wrap modulo 2**32 before they are used.

Each example generates a small module (``conformance/edge_modules.py``) around
one load or store of any width, with the address computed from the arguments
and a drawn offset, and runs it on a memory of 1 or 2 pages whose edge holds
known bytes. The property checks, itself: the loaded value (``raw``) against a
model of the load (little-endian bytes, sign or zero extension, the trap rule
above); the same load with its value consumed by a chain of numeric
instructions (``edge``) traps exactly when the load does and otherwise equals
the chain applied to the model's value (``pure``), so no numeric instruction
needs a Python model; the bytes a store leaves, and that a trapping store
leaves none. The generated guest is unknown to the model, so every runtime is
also compared with the reference runtime (wasmtime) operation by operation.

Signalling NaNs are kept out of float loads and stored floats (a bit pattern
that would be one has its quiet bit set): whether they survive memory is
test_endianness.py's ``test_signalling_nan_bits_survive_memory``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NoReturn

from hypothesis import event, example, given
from hypothesis import strategies as st

from conformance import PAGE_SIZE, Call, Instantiate, Op, Outcome, Read, Script, Value, WasmRuntime, Write
from conformance.checks import ConformanceFailure, _replay, check_script, counterexample, save_counterexample
from conformance.edge_modules import (
    BITS,
    INT_OF,
    LOADS,
    MEM_OPS,
    SCRATCH,
    STORES,
    AddressForm,
    Chain,
    MemOp,
    Step,
    chain_type,
    chains,
    is_nan,
    is_signalling_nan,
    load_module,
    quiet_bit,
    store_module,
    value_bits,
)
from conformance.script import ScriptResult, ValueType, describe_op

U32 = 1 << 32
GUEST = "address-wrap"
EDGE_BYTES = 24
"""the bytes below the end of memory the host fills before each access"""
Mode = Literal["return", "store"]


@dataclass(frozen=True)
class Case:
    """One generated module and the argument tuples its access runs with."""

    op: MemOp
    form: AddressForm
    offset: int
    align: int
    pages: int
    targets: tuple[tuple[int, ...], ...]
    """the access's arguments, one tuple per call (the address, or base and index)"""
    seed: bytes = bytes(range(1, 33))
    """the pattern the host fills memory with around each target and at the edge"""
    chain: Chain = ()
    mode: Mode = "return"
    start: ValueType = "i32"
    """a store's value: the type of ``x`` before the chain"""
    x: int = 0
    """a store's value: the bits of ``x``"""

    @property
    def size(self) -> int:
        return self.pages * PAGE_SIZE

    def ea(self, args: tuple[int, ...]) -> int:
        """The effective address: the 32-bit address plus the offset, not wrapped."""
        return self.form.address(args) + self.offset

    def traps(self, args: tuple[int, ...]) -> bool:
        return self.ea(args) + self.op.width > self.size

    def where(self, args: tuple[int, ...]) -> str:
        """Where the access falls, for Hypothesis's statistics."""
        ea, end = self.ea(args), self.ea(args) + self.op.width
        if ea >= U32:
            return "past 4 GiB, onto memory if it wrapped" if (ea % U32) + self.op.width <= self.size \
                else "past 4 GiB"
        if end == self.size:
            return "flush with the end"
        if ea < self.size < end:
            return "across the end"
        return "inside" if end < self.size else "past the end"

    def describe(self, args: tuple[int, ...]) -> str:
        return (f"{self.op.name} offset={self.offset} at {self.form} = {self.form.address(args)} "
                f"(args {', '.join(map(str, args))}): ea {self.ea(args)}, memory {self.size} bytes")


# --- the model of memory around the accesses -------------------------------------------


def regions(case: Case) -> list[tuple[int, int]]:
    """The spans the host fills (and, for stores, reads back): the edge, and around each target.

    Around a target: its effective address, the address it would have if the offset wrapped
    (where that is past 4 GiB) and the address before the offset, so a runtime that wraps, or
    drops the offset, reads or writes known bytes, and a stray store shows.
    """
    size = case.size
    spans = [(size - EDGE_BYTES, size)]
    for args in case.targets:
        for where in {case.ea(args), case.ea(args) % U32, case.form.address(args)}:
            if where < size:
                spans.append((max(0, where - 8), min(size, where + 16)))
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def initial_memory(case: Case) -> tuple[bytearray, list[Write]]:
    """The memory the host sets up before each access, and the writes that set it up."""
    mem = bytearray(case.size)
    spans = regions(case)
    for lo, hi in spans:
        for a in range(lo, hi):
            mem[a] = case.seed[a % len(case.seed)]
    if not case.op.store and case.op.type in ("f32", "f64"):
        _quiet_floats(case, mem)
    return mem, [Write(lo, bytes(mem[lo:hi])) for lo, hi in spans]


def _quiet_floats(case: Case, mem: bytearray) -> None:
    """Set the quiet bit of any float a load of ``case`` (or a wrapping runtime's) would read."""
    t, width = case.op.type, case.op.width
    changed = True
    while changed:
        changed = False
        for args in case.targets:
            for ea in (case.ea(args), case.ea(args) % U32):
                if ea + width <= case.size:
                    bits = int.from_bytes(mem[ea:ea + width], "little")
                    if is_signalling_nan(t, bits):
                        mem[ea:ea + width] = (bits | quiet_bit(t)).to_bytes(width, "little")
                        changed = True


def loaded(case: Case, mem: bytearray, args: tuple[int, ...]) -> int:
    """The model of the load: the bits of the value it puts on the stack."""
    ea = case.ea(args)
    return case.op.extend(int.from_bytes(mem[ea:ea + case.op.width], "little"))


def fresh(writes: list[Write]) -> list[Op]:
    """A new instance with the host's bytes in place (after a trap, some runtimes poison the instance)."""
    return [Instantiate(), *writes]


# --- asserting the spec's facts ----------------------------------------------------------


class Verify:
    """The property's own assertions on one script's outcomes."""

    def __init__(self, runtime: WasmRuntime, script: Script, outcomes: tuple[Outcome, ...]) -> None:
        self.runtime, self.script, self.outcomes = runtime, script, outcomes

    def fail(self, index: int, what: str, expected: str, got: str) -> NoReturn:
        runtime, script = self.runtime, self.script
        outcomes = [o.to_json() for o in self.outcomes]
        saved = counterexample(runtime, script, status="fail", operation=index, expected=expected, got=got,
                               outcomes=outcomes)
        path = save_counterexample(runtime, saved)
        replay = _replay(runtime, path)
        test = runtime.current_test() or "script"
        raise ConformanceFailure(
            f"{runtime.id} breaks the spec in {test}: {what}\n"
            f"  operation {index}: {describe_op(script.ops[index])}\n"
            f"  expected: {expected}\n  got:      {got}\n"
            f"module: {script.note}\nscript:\n{script.describe()}\n"
            + (f"saved: {path}\n" if path else "") + f"replay: {replay}",
            kind="fail", runtime=runtime.id, script=script, result=ScriptResult("ok", self.outcomes),
            counterexample=path, replay=replay, expected=expected, got=got, saved=saved,
        )

    def load(self, index: int, case: Case, args: tuple[int, ...], mem: bytearray) -> None:
        """``raw`` at ``index`` loaded what the model says, or trapped out of bounds where it must."""
        got = self.outcomes[index]
        if case.traps(args):
            if got.kind != "trap" or got.reason != "out-of-bounds":
                self.fail(index, f"{case.describe(args)}: the access ends past the end of memory",
                          "trap out-of-bounds", str(got))
            return
        want = Value(INT_OF[case.op.type], loaded(case, mem, args))
        if got.kind != "ok" or got.value != (want,):
            self.fail(index, f"{case.describe(args)}: the access is inside memory", f"ok [{want}]", str(got))

    def traps_like(self, index: int, case: Case, args: tuple[int, ...], what: str) -> bool:
        """The access at ``index`` trapped out of bounds exactly when the model says; True if it did."""
        got = self.outcomes[index]
        if case.traps(args):
            if got.kind != "trap" or got.reason != "out-of-bounds":
                self.fail(index, f"{case.describe(args)}: the access ends past the end of memory, "
                          f"so {what} traps", "trap out-of-bounds", str(got))
            return True
        if got.kind != "ok":
            self.fail(index, f"{case.describe(args)}: the access is inside memory", "ok", str(got))
        return False

    def same(self, index: int, what: str, want: Outcome, got: Outcome) -> None:
        if not same_result(want, got):
            self.fail(index, what, str(want), str(got))

    def memory(self, index: int, what: str, want: bytes) -> None:
        got = self.outcomes[index]
        if got.kind != "ok" or got.value != want:
            self.fail(index, what, f"ok {len(want)} bytes {want.hex()}", str(got))


def same_result(a: Outcome, b: Outcome) -> bool:
    """Equal outcomes, where any NaN matches any NaN (arithmetic leaves a NaN's bits open)."""
    if a.kind != "ok" or b.kind != "ok" or not isinstance(a.value, tuple) or not isinstance(b.value, tuple):
        return a.same_as(b)
    if len(a.value) != len(b.value):
        return False
    return all(x == y or (x.type == y.type and is_nan(x.type, x.bits) and is_nan(y.type, y.bits))
               for x, y in zip(a.value, b.value, strict=True))


# --- running the cases ---------------------------------------------------------------------


def load_script(case: Case, *, consume: bool) -> tuple[Script, list[tuple[str, int, tuple[int, ...]]]]:
    """The script for a load case, and what each checked operation is: (kind, index, args)."""
    mem, writes = initial_memory(case)
    ops: list[Op] = []
    checks: list[tuple[str, int, tuple[int, ...]]] = []

    def add(kind: str, call: Call, args: tuple[int, ...], *, read: bool = False) -> None:
        ops.extend(fresh(writes) if ops else writes)
        checks.append((kind, len(ops) + 1, args))  # + 1: Script.of puts the first (instantiate) first
        ops.append(call)
        if read:
            ops.append(Read(SCRATCH, BITS[chain_type(case.op.type, case.chain)] // 8))

    for args in case.targets:
        call_args = tuple(Value.i32(a) for a in args)
        add("raw", Call("raw", call_args), args)
        if consume:
            add("edge", Call("edge", call_args), args, read=case.mode == "store")
            if not case.traps(args):
                x = Value(INT_OF[case.op.type], loaded(case, mem, args))
                add("pure", Call("pure", (x,)), args, read=case.mode == "store")
    module = load_module(case.op, case.form, case.offset, case.align, case.pages, case.chain, case.mode)
    return Script.of(GUEST, ops, note=_note(case), wat=module), checks


def _note(case: Case) -> str:
    chain = " ".join(s.op + ("" if s.const is None else f"({s.const})") for s in case.chain)
    mode = "returned" if case.mode == "return" else f"stored at {SCRATCH}"
    return (f"{case.op.name} offset={case.offset} align={case.align} at {case.form}, {case.pages} page(s)"
            + (f"; chain: {chain}; result {mode}" if chain else ""))


def check_loads(runtime: WasmRuntime, case: Case, *, consume: bool = False) -> None:
    script, checks = load_script(case, consume=consume)
    outcomes = check_script(runtime, script)
    verify = Verify(runtime, script, outcomes)
    mem, _ = initial_memory(case)
    edge_at: dict[tuple[int, ...], int] = {}
    for kind, index, args in checks:
        if kind == "raw":
            event(case.where(args))
            verify.load(index, case, args, mem)
        elif kind == "edge":
            verify.traps_like(index, case, args, "the load with its value consumed")
            edge_at[args] = index
        else:  # pure: the chain applied to the model's value; edge must agree
            edge = edge_at[args]
            value = f"{case.describe(args)}: the consumed load (edge) against the chain on the loaded value"
            if case.mode == "store":
                value += f" (pure), stored at {SCRATCH}"
                verify.same(edge + 1, value, outcomes[index + 1], outcomes[edge + 1])
            else:
                verify.same(edge, value, outcomes[index], outcomes[edge])


def check_stores(runtime: WasmRuntime, case: Case) -> None:
    """``pure(x)`` first (it touches no memory), then each store on a fresh instance and a read-back."""
    mem, writes = initial_memory(case)
    spans = regions(case)
    x = Value(INT_OF[case.start], case.x)
    ops: list[Op] = [Call("pure", (x,))]
    calls: list[tuple[int, tuple[int, ...]]] = []
    for args in case.targets:
        ops += fresh(writes)
        calls.append((len(ops) + 1, args))
        ops.append(Call("put", (*(Value.i32(a) for a in args), x)))
        ops += [Read(lo, hi - lo) for lo, hi in spans]
    module = store_module(case.op, case.form, case.offset, case.align, case.pages, case.start, case.chain)
    script = Script.of(GUEST, ops, note=_note(case) + f"; x = {x}", wat=module)
    outcomes = check_script(runtime, script)
    verify = Verify(runtime, script, outcomes)
    pure = outcomes[1]
    if pure.kind != "ok" or not isinstance(pure.value, tuple) or len(pure.value) != 1:
        verify.fail(1, "pure(x) computes the stored value and cannot trap", "ok [one value]", str(pure))
    stored = (pure.value[0].bits & ((1 << (8 * case.op.width)) - 1)).to_bytes(case.op.width, "little")
    for index, args in calls:
        event(case.where(args))
        after = bytearray(mem)
        if verify.traps_like(index, case, args, "the store"):
            what = f"{case.describe(args)}: a store that traps writes nothing"
        else:
            ea = case.ea(args)
            after[ea:ea + case.op.width] = stored
            what = f"{case.describe(args)}: the store writes {stored.hex()} at {ea} and nothing else"
        for k, (lo, hi) in enumerate(spans):
            verify.memory(index + 1 + k, what + f" (read [{lo}, {hi}))", bytes(after[lo:hi]))


# --- strategies ----------------------------------------------------------------------------


def address_forms(*, computed: bool = False) -> st.SearchStrategy[AddressForm]:
    factors = st.one_of(st.sampled_from([2, 3, 4, 8, 16, 65536, 0x8000_0000, 0xFFFF_FFFF]),
                        st.integers(2, U32 - 1))
    shifts = st.one_of(st.sampled_from([1, 2, 3, 4, 16, 31, 32, 33]), st.integers(0, 63))
    forms = [st.just(AddressForm("add")), factors.map(lambda f: AddressForm("mul", f)),
             shifts.map(lambda k: AddressForm("shl", k))]
    return st.one_of(*forms) if computed else st.one_of(st.just(AddressForm("arg")), *forms)


def offsets(size: int, width: int) -> st.SearchStrategy[int]:
    kinds = {
        "small": st.one_of(st.sampled_from([0, 1, 2, 3, 4, 7, 8]), st.integers(0, 64)),
        "any": st.integers(0, size + 16),
        "end": st.sampled_from([size - width, size - 8, size - 1, size, size + 1]),
        "huge": huge_offsets(size, width),
    }
    return st.sampled_from(["small", "small", "small", "any", "end", "huge"]).flatmap(kinds.__getitem__)


def huge_offsets(size: int, width: int) -> st.SearchStrategy[int]:
    """Offsets for which an operand brings the address past 4 GiB onto an address inside memory."""
    return st.one_of(
        st.sampled_from([U32 - 1, U32 - 2, U32 - 4, U32 - 8, U32 - size, U32 - size + width, 2**31,
                         2**31 + 1, 2**31 - 1]),
        st.integers(U32 - size, U32 - 1),
        st.integers(size + 1, U32 - 1),
    )


def targets(size: int, width: int, offset: int) -> st.SearchStrategy[int]:
    """Where the access is aimed, modulo 2**32: mostly at the end of memory. Below the offset
    (an address that wraps below zero, so the effective address is past 4 GiB) now and then."""
    return st.one_of(
        st.sampled_from([size - width, size - width + 1, size - 1, size, size - width - 1, size + 1]),
        st.integers(size - width - 8, size + 2),
        st.integers(size - 8, size + 2),
        st.integers(size - width + 1, max(size - width + 1, size - 1)),  # across the end
        st.integers(min(offset, size - width), size - width),
        st.sampled_from([0, 1, 2]),
        st.integers(0, U32 - 1),
    )


def indexes() -> st.SearchStrategy[int]:
    """Second arguments, mostly large: the base then makes up the difference, and the sum wraps."""
    return st.one_of(st.sampled_from([0, 1, 2**31, 2**31 - 1, U32 - 1, U32 - 2]), st.integers(0, U32 - 1))


def alignments(width: int) -> st.SearchStrategy[int]:
    return st.sampled_from([a for a in (1, 2, 4, 8) if a <= width])


@st.composite
def cases(draw: st.DrawFn, ops: tuple[MemOp, ...], *, kind: str = "edge", chain: bool = False) -> Case:
    """A load or store case. ``kind``: ``edge`` (anything, aimed at the end of memory), ``huge`` (an
    offset that carries past 4 GiB onto an address inside memory), ``computed`` (a base and an index
    whose sum wraps onto an address inside memory)."""
    op = draw(st.sampled_from(ops), label="op")
    pages = draw(st.sampled_from([1, 1, 1, 2]), label="pages")
    size, width = pages * PAGE_SIZE, op.width
    form = draw(address_forms(computed=kind == "computed"), label="form")
    if kind == "huge":
        offset = draw(huge_offsets(size, width), label="offset")
        aim = st.one_of(st.sampled_from([0, size - width, size - 1, 1]), st.integers(0, size - 1))
    elif kind == "computed":
        offset = draw(st.integers(0, 16), label="offset")
        aim = st.one_of(st.sampled_from([offset, size - width, size - width + 1, size]),
                        st.integers(offset, size - width))
    else:
        offset = draw(offsets(size, width), label="offset")
        aim = targets(size, width, offset)
    arg_tuples = draw(st.lists(st.tuples(aim, indexes()), min_size=1, max_size=3), label="targets")
    args = tuple(form.args_for((t - offset) % U32, i) for t, i in arg_tuples)
    seed = draw(st.binary(min_size=32, max_size=32), label="seed")
    align = draw(alignments(width), label="align")
    if op.store:
        start = draw(st.sampled_from(["i32", "i64", "f32", "f64", op.type, op.type]), label="x type")
        steps = draw(chains(start, to=op.type) if chain else st.just(_plain(start, op.type)), label="chain")
        x = draw(value_bits(start), label="x")
        return Case(op, form, offset, align, pages, args, seed, steps, start=start, x=x)
    within: tuple[ValueType, ...] = ("i32", "i64") if op.type[0] == "i" else ("i32", "i64", "f32", "f64")
    steps = draw(chains(op.type, within=within), label="chain") if chain else ()
    mode: Mode = draw(st.sampled_from(["return", "store"]), label="mode") if chain else "return"
    return Case(op, form, offset, align, pages, args, seed, steps, mode)


def _plain(start: ValueType, to: ValueType) -> Chain:
    """No chain, or the one conversion a value of ``start`` needs to be stored as ``to``."""
    if start == to:
        return ()
    bridge = {("i32", "i64"): "i64.extend_i32_u", ("i64", "i32"): "i32.wrap_i64",
              ("i32", "f32"): "f32.reinterpret_i32", ("f32", "i32"): "i32.reinterpret_f32",
              ("i64", "f64"): "f64.reinterpret_i64", ("f64", "i64"): "i64.reinterpret_f64",
              ("f32", "f64"): "f64.promote_f32", ("f64", "f32"): "f32.demote_f64",
              ("i32", "f64"): "f64.convert_i32_u", ("i64", "f32"): "f32.convert_i64_u",
              ("f32", "i64"): "i64.trunc_sat_f32_u", ("f64", "i32"): "i32.trunc_sat_f64_u"}
    return (Step(bridge[start, to]),)


INT_LOADS = tuple(op for op in LOADS if op.type[0] == "i")
FLOAT_LOADS = tuple(op for op in LOADS if op.type[0] == "f")
END = PAGE_SIZE


def _case(op: str, form: AddressForm, offset: int, targets: list[int], **kw: object) -> Case:
    """An explicit example: ``targets`` are 32-bit addresses (before the offset)."""
    memop = MEM_OPS[op]
    index = 0xFFFF_FFF0
    args = tuple(form.args_for(t, index) for t in targets)
    return Case(memop, form, offset, memop.width, 1, args, **kw)  # type: ignore[arg-type]


ARG, ADD, SHL = AddressForm("arg"), AddressForm("add"), AddressForm("shl", 4)


# --- the properties ----------------------------------------------------------------------------


@given(case=cases(LOADS))
@example(case=_case("i32.load", ARG, 4294967295, [1, END - 4]))          # 1 + 0xffffffff: no wrap to 0
@example(case=_case("i64.load", ADD, 0, [END - 8, END - 7, END]))        # flush with the end, across, at
@example(case=_case("i32.load16_s", ARG, 8, [END - 10, END - 9]))        # offset + width == size
@example(case=_case("f64.load", SHL, 1, [END - 9, END - 8]))
def test_load_at_the_edge(wasm_runtime: WasmRuntime, case: Case) -> None:
    """Every load width at every address near the end: the value is the little-endian bytes
    extended as the instruction says, and it traps if and only if ``ea + width > size``."""
    check_loads(wasm_runtime, case)


@given(case=cases(LOADS + STORES, kind="huge"))
@example(case=_case("i64.load8_u", ARG, 4294967295, [1]))
@example(case=_case("i32.store", ARG, 4294967292, [8], x=0x01020304))
@example(case=_case("f32.load", ADD, 4294901760, [65536 + 16]))
def test_offset_past_4gib_traps(wasm_runtime: WasmRuntime, case: Case) -> None:
    """An offset that carries the address past 4 GiB traps (loads and stores), and a store that
    traps writes nothing: the effective address does not wrap onto the low addresses it would reach."""
    if case.op.store:
        check_stores(wasm_runtime, case)
    else:
        check_loads(wasm_runtime, case)


@given(case=cases(LOADS, kind="computed"))
@example(case=_case("i32.load", ADD, 0, [0, END - 4]))
@example(case=_case("i64.load32_s", AddressForm("mul", 0x8000_0000), 3, [END - 7]))
def test_computed_addresses_wrap(wasm_runtime: WasmRuntime, case: Case) -> None:
    """An address the guest computes (``i32.add``, ``i32.mul``, ``i32.shl``) wraps at 32 bits: a base
    and an index whose sum passes 4 GiB load from the low address the sum wraps to."""
    check_loads(wasm_runtime, case)


@given(case=cases(INT_LOADS, chain=True))
@example(case=_case("i32.load8_s", ARG, 0, [END - 1, END], chain=(Step("i32.clz"),)))
@example(case=_case("i64.load", ARG, 0, [END - 8], chain=(Step("i64.rem_s", 2**64 - 1),), mode="store"))
def test_loaded_integers_consumed(wasm_runtime: WasmRuntime, case: Case) -> None:
    """An integer load whose value feeds 0-3 numeric instructions (returned, or stored elsewhere)
    traps exactly where the load alone does, and otherwise gives what those instructions give
    applied to the loaded value. The chain stays in integers (it may end with a conversion to a
    float): float arithmetic is test_loaded_floats_consumed's."""
    check_loads(wasm_runtime, case, consume=True)


@given(case=cases(FLOAT_LOADS, chain=True))
@example(case=_case("f32.load", ARG, 0, [END - 4, END - 3], chain=(Step("f32.nearest"),)))
@example(case=_case("f64.load", ARG, 2, [END - 10], chain=(Step("f32.demote_f64"),), mode="store"))
@example(case=_case("f64.load", ARG, 0, [END - 8], chain=(Step("f64.ceil"),),  # ceil(-0.5) is -0.0
                    seed=bytes(24) + (0xBFE0_0000_0000_0000).to_bytes(8, "little")))
def test_loaded_floats_consumed(wasm_runtime: WasmRuntime, case: Case) -> None:
    """The same for float loads (rounding, min/max, sqrt, copysign, conversions, comparisons):
    a NaN result matches any NaN."""
    check_loads(wasm_runtime, case, consume=True)


@given(case=cases(STORES))
@example(case=_case("i64.store", ARG, 0, [END - 8, END - 4], start="i64", x=2**64 - 1))
@example(case=_case("i32.store16", ARG, 5, [END - 7, END - 6], x=0xBEEF))
@example(case=_case("f64.store", ADD, 1, [END - 9], start="f64", x=0x7FF8_0000_0000_0001))
def test_store_at_the_edge(wasm_runtime: WasmRuntime, case: Case) -> None:
    """Every store width near the end: the bytes land little-endian at ``ea``, nothing else
    changes, and a store that ends past the end of memory traps and writes nothing (not even its
    in-bounds part). The value is a parameter (converted once if its type is not the store's)."""
    check_stores(wasm_runtime, case)


@given(case=cases(STORES, chain=True))
@example(case=_case("i32.store8", ARG, 0, [END - 1, END], chain=(Step("i32.popcnt"),), x=0xFF))
@example(case=_case("f32.store", ARG, 0, [END - 4], start="f32", chain=(Step("f32.neg"), Step("f32.ceil")),
                    x=0x3F00_0000))
def test_stored_values_computed(wasm_runtime: WasmRuntime, case: Case) -> None:
    """The same with the stored value computed by up to 3 numeric instructions of any type before
    the store: the bytes stored are those of what the instructions give."""
    check_stores(wasm_runtime, case)
