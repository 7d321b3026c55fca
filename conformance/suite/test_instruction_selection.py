"""The code shapes an optimising compiler folds or fuses, at every distance from the end of memory.

A backend turns an address computation into an addressing mode (``[base + index*scale +
disp]``), folds constants into the displacement, and merges a load into the instruction that
consumes its value (``add eax, [mem]``) or into a read-modify-write (``add [mem], eax``). Each of
those rewrites must keep the spec's semantics: the address is computed in 32 bits, wrapping,
and the static ``offset=`` is then added without wrapping; an access traps if and only if
``ea + width > size``, with its own width, not the width of the instruction it was merged into;
a trap changes nothing in memory.

Each example generates one module (``conformance/edge_modules.py``, ``isel_module``) with
many exports, one *access* each, and calls each access at every distance from the end of
memory: ending exactly at the end, one byte past, ``width - 1`` bytes past, inside, one of just
past, a little past, across the end or past 4 GiB (where the offset takes it there), and far
past. The model (``Access.run``, with the numeric instructions of
``conformance/model/numeric.py``) gives the value or the trap of each call and the bytes of
memory after it; calls that must not trap share one instance, each call that must trap is made
on a fresh one (an instance may be unusable after a trap), and memory is read back after every
call that stores. The generated guest is unknown to the suite's model checker, so every runtime
is also compared with the reference runtime (wasmtime), operation by operation.

Every float a module computes is canonicalised before it is returned or stored (any NaN
becomes the canonical NaN), so the spec fixes every bit the model predicts.

``tests/isel_faults.py`` emulates the backend bugs these properties are for (a narrow load fused
into a wider memory operand, a wide load narrowed, a scaled index or an added constant folded
into a 64-bit address, the offset folded into the index, a read-modify-write fused with the
store's width); ``tests/test_faults.py`` lists which property catches each.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import event, example, given
from hypothesis import strategies as st

from conformance import PAGE_SIZE, Call, Instantiate, Op, Outcome, Read, Script, Value, WasmRuntime, Write
from conformance.checks import check_script
from conformance.edge_modules import (
    FREE_KINDS,
    INDEX_TABLE,
    LOADS,
    MASK32,
    MEM_OPS,
    SCRATCH_STORE,
    SHAPE_KINDS,
    STORES,
    Access,
    AddrShape,
    MemOp,
    Role,
    StoreValue,
    Use,
    isel_module,
    value_bits,
)
from conformance.script import ValueType
from conformance.suite.test_address_wrap import Verify

U32 = 1 << 32
GUEST = "isel"
EDGE = 48
"""the bytes below the end of memory the host fills (every access that must not trap is there)"""
LOW = 32
"""the bytes at address 0 the host fills (where an effective address past 4 GiB would wrap to)"""

INT_LOADS = tuple(op for op in LOADS if op.type[0] == "i")
NARROW_LOADS = tuple(op for op in INT_LOADS if op.width < (4 if op.type == "i32" else 8))
WIDE_INT_LOADS = (MEM_OPS["i32.load"], MEM_OPS["i64.load"])
FLOAT_LOADS = (MEM_OPS["f32.load"], MEM_OPS["f64.load"])
INT_STORES = tuple(op for op in STORES if op.type[0] == "i")

ARITH = ("add", "sub", "mul", "and", "or", "xor")
SHIFTS = ("shl", "shr_s", "shr_u", "rotl", "rotr")
COMPARES = ("eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u")
DIVISIONS = ("div_u", "rem_u", "rem_s")
FLOAT_BINARY = ("add", "sub", "mul", "div", "min", "max", "copysign")
FLOAT_COMPARES = ("eq", "ne", "lt", "gt", "le", "ge")
CONVERSIONS: dict[ValueType, tuple[str, ...]] = {
    "i32": ("i64.extend_i32_u", "i64.extend_i32_s", "f32.convert_i32_s", "f32.convert_i32_u",
            "f64.convert_i32_s", "f64.convert_i32_u", "f32.reinterpret_i32", "i32.clz", "i32.ctz",
            "i32.popcnt", "i32.extend8_s", "i32.extend16_s", "i32.eqz"),
    "i64": ("i32.wrap_i64", "f32.convert_i64_s", "f32.convert_i64_u", "f64.convert_i64_s",
            "f64.convert_i64_u", "f64.reinterpret_i64", "i64.clz", "i64.ctz", "i64.popcnt", "i64.extend8_s",
            "i64.extend16_s", "i64.extend32_s", "i64.eqz"),
    "f32": ("f64.promote_f32", "i32.trunc_sat_f32_s", "i32.trunc_sat_f32_u", "i64.trunc_sat_f32_s",
            "i64.trunc_sat_f32_u", "i32.reinterpret_f32", "f32.neg", "f32.abs", "f32.sqrt"),
    "f64": ("f32.demote_f64", "i32.trunc_sat_f64_s", "i32.trunc_sat_f64_u", "i64.trunc_sat_f64_s",
            "i64.trunc_sat_f64_u", "i64.reinterpret_f64", "f64.neg", "f64.abs", "f64.sqrt"),
}
NARROWING: dict[ValueType, tuple[str, ...]] = {
    "i32": ("i32.extend8_s", "i32.extend16_s"),
    "i64": ("i32.wrap_i64", "i64.extend8_s", "i64.extend16_s", "i64.extend32_s"),
}
MASKS: dict[ValueType, tuple[int, ...]] = {"i32": (0xFF, 0xFFFF), "i64": (0xFF, 0xFFFF, 0xFFFF_FFFF)}


# --- a generated case ---------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One module and its calls: ``calls`` are (export index, arguments) in the order drawn;
    ``cells`` the index values ``base+loaded`` exports find in memory (address, value)."""

    pages: int
    accesses: tuple[Access, ...]
    calls: tuple[tuple[int, tuple[int, ...]], ...]
    cells: tuple[tuple[int, int], ...] = ()
    seed: int = 0

    @property
    def size(self) -> int:
        return self.pages * PAGE_SIZE

    def initial_memory(self) -> bytearray:
        """Nonzero bytes (no period) at the end and at 0, the index cells; zeros elsewhere."""
        mem = bytearray(self.size)
        rnd = random.Random(self.seed)
        mem[self.size - EDGE:] = bytes(1 + b % 255 for b in rnd.randbytes(EDGE))
        mem[:LOW] = bytes(1 + b % 255 for b in rnd.randbytes(LOW))
        for cell, value in self.cells:
            mem[cell:cell + 4] = value.to_bytes(4, "little")
        return mem


def where(access: Access, args: tuple[int, ...], mem: bytearray, size: int) -> str:
    """Where a call's access falls, for Hypothesis's statistics and the failure message."""
    ea = access.ea(args, mem)
    width = max(access.widths)
    if ea >= U32:
        return "past 4 GiB"
    past = ea + width - size
    if past <= 0:
        return "flush with the end" if past == 0 else "inside"
    if ea < size:
        return f"across the end ({past} byte{'s' if past > 1 else ''} past)"
    return "past the end"


def run_plan(runtime: WasmRuntime, plan: Plan) -> None:
    """Run every call of ``plan``: those that must not trap on one instance, then each one that must
    trap on an instance of its own (the host sets up only the memory the call may change); memory
    read back after each call that writes (or must not), the bytes at 0 at the end of each
    instance; all checked by the model."""
    size = plan.size
    initial = plan.initial_memory()
    mem = bytearray(initial)
    ops: list[Op] = []
    expect: list[Outcome | None] = [None]  # [0]: the (instantiate) Script.of puts first
    labels: list[str] = [""]
    wrote = False

    def writes(*, edge: bool, low: bool) -> None:
        spans = ([(size - EDGE, size)] if edge else []) + ([(0, LOW)] if low else [])
        if plan.cells:
            spans.append((plan.cells[0][0], plan.cells[-1][0] + 4))
        for lo, hi in spans:
            add(Write(lo, bytes(mem[lo:hi])), Outcome.ok(), "the host sets memory up")

    def add(op: Op, want: Outcome, label: str) -> None:
        ops.append(op)
        expect.append(want)
        labels.append(label)

    def read_low(after: str) -> None:
        add(Read(0, LOW), Outcome.ok(bytes(mem[:LOW])), f"memory [0, {LOW}) at the end of {after}")

    def call(index: int, args: tuple[int, ...]) -> None:
        nonlocal wrote
        access = plan.accesses[index]
        kind, result = access.run(args, mem, size)
        ea, at = access.ea(args, initial), where(access, args, initial, size)
        label = (f"{access.name}: {access.describe()}; args {', '.join(map(str, args))}: ea {ea}, "
                 f"{at} of a memory of {size} bytes")
        event(f"{access.role}: {at}")
        if kind == "trap":
            want = Outcome.trap("out-of-bounds")
        else:
            typ = access.result
            want = Outcome.ok(() if typ is None else (Value(typ, result or 0),))
        add(Call(access.name, tuple(Value(t, a) for t, a in zip(arg_types(access), args, strict=True))),
            want, label)
        if access.role != "load" or access.stored:
            wrote = True
            spans = [(size - EDGE, EDGE)] + ([(SCRATCH_STORE, 8)] if access.stored else [])
            for lo, n in spans:
                add(Read(lo, n), Outcome.ok(bytes(mem[lo:lo + n])),
                    f"memory [{lo}, {lo + n}) after {label}" + (" (it traps: nothing changes)" if
                                                                 kind == "trap" else ""))

    def trapping(index: int, args: tuple[int, ...]) -> bool:
        access = plan.accesses[index]
        return access.ea(args, initial) + max(access.widths) > size

    writes(edge=True, low=True)
    for index, args in plan.calls:
        if not trapping(index, args):
            call(index, args)
    for n, (index, args) in enumerate((i, a) for i, a in plan.calls if trapping(i, a)):
        if n:  # a fresh instance: the runtime may not call into one after a trap
            if wrote:
                read_low("that instance")
            access = plan.accesses[index]
            wrote = access.role != "load" or access.stored
            mem[:] = bytes(size)
            for cell, value in plan.cells:
                mem[cell:cell + 4] = value.to_bytes(4, "little")
            if wrote:
                mem[size - EDGE:] = initial[size - EDGE:]
            add(Instantiate(), Outcome.ok(), "a new instance")
            writes(edge=wrote, low=False)
        call(index, args)
    if wrote:
        read_low("the script")
    module = isel_module(plan.pages, plan.accesses)
    script = Script.of(GUEST, ops, note=f"{len(plan.accesses)} accesses, {len(plan.calls)} calls, "
                                        f"{plan.pages} page(s)", wat=module)
    outcomes = check_script(runtime, script)
    verify = Verify(runtime, script, outcomes)
    for index, (want, got) in enumerate(zip(expect, outcomes, strict=True)):
        if want is not None and not want.same_as(got):
            verify.fail(index, labels[index], str(want), str(got))


def arg_types(access: Access) -> list[ValueType]:
    address: list[ValueType] = ["i32"] * access.shape.params
    return address + [t for _, t in access.extra_params]


# --- strategies ------------------------------------------------------------------------------
#
# Built once: drawing from a strategy made afresh for every draw costs more than running the script.

OFFSETS = st.one_of(
    st.just(0),
    st.sampled_from([1, 2, 3, 4, 7, 8, 16]), st.integers(1, 64), st.integers(1, 64),
    st.integers(65, 2 * PAGE_SIZE + 16),
    st.sampled_from([U32 - 1, U32 - 8, 2**31]), st.integers(U32 - 2 * PAGE_SIZE, U32 - 1),
)
"""static offsets: none, small (most), up to past the end of memory, so large the address passes 4 GiB"""
CONSTANTS = st.one_of(
    st.sampled_from([1, 8, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFF8, 0xFFFF_0000, U32 - PAGE_SIZE]),
    st.integers(0, 64), st.integers(0x8000_0000, MASK32), st.integers(PAGE_SIZE, 2 * PAGE_SIZE))
"""constants of an address: mostly large, so that a base plus the constant wraps at 32 bits"""
INDEXES = st.one_of(
    st.sampled_from([0, 1, 3, 0x8000_0000, 0xFFFF_FFFF, 0x4000_0000, 0x2000_0001, 0x7FFF_FFFF]),
    st.integers(0, 16), st.integers(0, MASK32))
"""index arguments: small ones, and large ones whose scaled sum with the base passes 4 GiB"""
PAGES = st.sampled_from([1, 1, 1, 2])
BITS_OF: dict[ValueType, st.SearchStrategy[int]] = {t: value_bits(t) for t in ("i32", "i64", "f32", "f64")}
NONZERO_BITS: dict[ValueType, st.SearchStrategy[int]] = {t: b.filter(bool) for t, b in BITS_OF.items()}
ALIGNMENTS = {w: st.sampled_from([a for a in (1, 2, 4, 8) if a <= w]) for w in (1, 2, 4, 8)}
CONDITIONS = st.sampled_from([0, 1, 2, 0x8000_0000])


_NEAR = {(p * PAGE_SIZE, w): st.one_of(
    st.just(p * PAGE_SIZE), st.integers(p * PAGE_SIZE + 1, p * PAGE_SIZE + 64), st.integers(U32, U32 + 8),
    st.integers(p * PAGE_SIZE - w + 1, max(p * PAGE_SIZE - w + 1, p * PAGE_SIZE - 1)))
    for p in (1, 2) for w in (1, 2, 4, 8)}
_FAR = {p * PAGE_SIZE: st.one_of(st.sampled_from([2 * p * PAGE_SIZE, 2**31, U32 - 1]),
                                 st.integers(p * PAGE_SIZE + 65, U32 - 1))
        for p in (1, 2)}
_INSIDE = {w: st.integers(1, EDGE - 2 * w) for w in (1, 2, 4, 8)}


def distances(draw: st.DrawFn, size: int, widths: tuple[int, ...]) -> list[int]:
    """Effective addresses to aim at: for each width, ending exactly at the end, one byte past and
    ``width - 1`` bytes past; inside; one of just past, a little past, past 4 GiB (where the offset
    takes it there) or across the end; far past (last)."""
    w = max(widths)
    eas = [e for v in sorted(set(widths), reverse=True) for e in (size - v, size - v + 1, size - 1)]
    eas.append(size - w - draw(_INSIDE[w]))
    eas.append(draw(_NEAR[size, w]))
    eas.append(draw(_FAR[size]))
    return list(dict.fromkeys(eas))


class Builder:
    """Accumulates a plan's accesses, calls and index cells while strategies draw them."""

    def __init__(self, draw: st.DrawFn, pages: int) -> None:
        self.draw, self.pages = draw, pages
        self.accesses: list[Access] = []
        self.calls: list[tuple[int, tuple[int, ...]]] = []
        self.cells: list[tuple[int, int]] = []

    @property
    def size(self) -> int:
        return self.pages * PAGE_SIZE

    def add(self, make: Callable[[str, AddrShape, int], Access], shape: AddrShape, offset: int,
            widths: tuple[int, ...]) -> None:
        """Accesses made by ``make(name, shape, offset)`` called at every distance; a shape that does
        not reach every address (a constant address, a scaled index without a base) has an export
        for each of three distances: flush with the end, one byte past, far past."""
        draw = self.draw
        eas = distances(draw, self.size, widths)
        probe = make("probe", shape, offset)
        extras = [draw(extra_values(probe, name)) for name, _ in probe.extra_params]
        if shape.kind in FREE_KINDS:
            access = self._new(make, shape, offset)
            for ea in eas:
                self._call(access, (ea - offset) % U32, extras)
            return
        for ea in dict.fromkeys([*eas[:2], eas[-1]]):
            o, s = offset, shape
            if shape.kind in ("index", "const+index"):
                o = offset + ((ea - offset - (shape.const if shape.kind == "const+index" else 0))
                              % (1 << shape.shift))
                o = o if o < U32 else o - (1 << shape.shift)
            address = (ea - o) % U32
            if shape.kind == "const":
                s = AddrShape("const", const=address)
            elif shape.kind == "const+const":
                s = AddrShape("const+const", const=shape.const, const2=(address - shape.const) % U32)
            self._call(self._new(make, s, o), address, extras)

    def _new(self, make: Callable[[str, AddrShape, int], Access], shape: AddrShape, offset: int) -> Access:
        access = make(f"a{len(self.accesses)}", shape, offset)
        self.accesses.append(access)
        return access

    def _call(self, access: Access, address: int, extras: list[int]) -> None:
        """A call of the last access made, its arguments giving the 32-bit ``address``."""
        shape = access.shape
        index = self.draw(INDEXES) if shape.scaled else 0
        cell = INDEX_TABLE + 4 * len(self.cells)
        if shape.kind == "base+loaded":
            self.cells.append((cell, index))
        self.calls.append((len(self.accesses) - 1, (*shape.args_for(address, index, cell), *extras)))

    def plan(self) -> Plan:
        return Plan(self.pages, tuple(self.accesses), tuple(self.calls), tuple(self.cells),
                    self.draw(st.integers(0, MASK32)))


def extra_values(access: Access, name: str) -> st.SearchStrategy[int]:
    """A parameter after the address's: ``$y`` the other operand (a divisor: not zero), ``$c``
    select's condition, ``$x`` the stored value."""
    use = access.use
    if name == "$c":
        return CONDITIONS
    if name == "$x":
        assert access.value is not None
        return BITS_OF[access.value.type]
    if use is not None and use.kind == "select" and use.position == 2:
        return BITS_OF["i32"]
    divisor = use is not None and use.position == 0 and use.op.split(".")[-1] in DIVISIONS
    return (NONZERO_BITS if divisor else BITS_OF)[access.op.type]


SHIFTS_VIA = st.tuples(st.integers(0, 3), st.sampled_from(["shl", "mul"]), CONSTANTS)


def addr_shape(draw: st.DrawFn, kind: str) -> AddrShape:
    shift, via, const = draw(SHIFTS_VIA)
    return AddrShape(kind, shift, via, const)  # type: ignore[arg-type]


LOAD_OPS, STORE_OPS = st.sampled_from(LOADS), st.sampled_from(STORES)


SHAPES_PER_MODULE = 4
SHAPE_ORDER = st.permutations(SHAPE_KINDS)
ROLES: st.SearchStrategy[Role] = st.sampled_from(["load", "store"])


@st.composite
def addressing_plans(draw: st.DrawFn) -> Plan:
    """Accesses of SHAPES_PER_MODULE address shapes (of the 11), each a load or a store of a drawn
    width, at every distance."""
    builder = Builder(draw, draw(PAGES))
    for kind in draw(SHAPE_ORDER)[:SHAPES_PER_MODULE]:
        role: Role = draw(ROLES)
        op = draw(LOAD_OPS if role == "load" else STORE_OPS)
        shape = addr_shape(draw, kind)
        offset, align = draw(OFFSETS), draw(ALIGNMENTS[op.width])
        value = store_value(draw, op) if role == "store" else None

        def make(name: str, s: AddrShape, o: int, role: Role = role, op: MemOp = op, align: int = align,
                 value: StoreValue | None = value) -> Access:
            return Access(name, role, op, s, o, align, value=value)

        builder.add(make, shape, offset, (op.width,))
    return builder.plan()


VALUE_KINDS = st.sampled_from(["param", "const", "computed", "converted"])
COMPUTED = {t: st.sampled_from([f"{t}.{n}" for n in (ARITH + SHIFTS if t[0] == "i" else
                                                     ("add", "mul", "min", "copysign"))])
            for t in ("i32", "i64", "f32", "f64")}
CONVERTED: dict[str, st.SearchStrategy[tuple[str, str]]] = {
    "i32": st.just(("i64", "i32.wrap_i64")),
    "i64": st.sampled_from([("i32", "i64.extend_i32_u"), ("i32", "i64.extend_i32_s")]),
    "f32": st.just(("f64", "f32.demote_f64")), "f64": st.just(("f32", "f64.promote_f32"))}


def store_value(draw: st.DrawFn, op: MemOp) -> StoreValue:
    """A stored value: a parameter (of a wider type for a narrow store), a constant (an immediate
    store), a parameter with one instruction and a constant, or a parameter converted."""
    t = op.type
    kind = draw(VALUE_KINDS)
    if kind == "param":
        return StoreValue("param", t)
    if kind == "const":
        return StoreValue("const", t, const=draw(BITS_OF[t]))
    if kind == "computed":
        return StoreValue("computed", t, draw(COMPUTED[t]), draw(BITS_OF[t]))
    source, conversion = draw(CONVERTED[t])
    return StoreValue("converted", source, conversion)  # type: ignore[arg-type]


def _operand(draw: st.DrawFn, t: ValueType, op: str) -> int | None:
    """The other operand: the parameter $y (None) or a constant (not zero where it may divide)."""
    if draw(st.booleans()):
        return draw((NONZERO_BITS if op.split(".")[-1] in DIVISIONS else BITS_OF)[t])
    return None


def _ops(names: tuple[str, ...]) -> dict[str, st.SearchStrategy[str]]:
    return {t: st.sampled_from([f"{t}.{n}" for n in names]) for t in ("i32", "i64", "f32", "f64")}


NARROW_OPS, WIDE_OPS = st.sampled_from(NARROW_LOADS), st.sampled_from(WIDE_INT_LOADS)
INT_OPS, FLOAT_OPS = st.sampled_from(INT_LOADS), st.sampled_from(FLOAT_LOADS)
FUSABLE, ANY_INT, SHIFTING = _ops(ARITH + COMPARES), _ops(ARITH + SHIFTS + COMPARES + DIVISIONS), _ops(SHIFTS)
FLOAT_OPERATIONS, FLOAT_UNARY = _ops(FLOAT_BINARY + FLOAT_COMPARES), _ops(("sqrt", "neg", "abs"))
INT_COMPARES, FLOAT_COMPARING = _ops(COMPARES), _ops(FLOAT_COMPARES)
NARROWING_OPS = {t: st.sampled_from(NARROWING[t]) for t in ("i32", "i64")}
MASKS_OF = {t: st.sampled_from(MASKS[t]) for t in ("i32", "i64")}
CONVERSIONS_OF = {t: st.sampled_from(CONVERSIONS[t]) for t in ("i32", "i64", "f32", "f64")}
POSITION, BRANCH = st.integers(0, 1), st.sampled_from(["if", "br_if"])
SELECT_COND = st.sampled_from([None, 0, 1])


def use_of(draw: st.DrawFn, category: str) -> tuple[MemOp, Use]:
    """A load and what consumes it, of one category (see ``consumer_plans``)."""
    if category == "narrow-arith":
        op = draw(NARROW_OPS)
        name = draw(FUSABLE[op.type])
        return op, Use("binary", name, draw(POSITION), _operand(draw, op.type, name))
    if category == "wide-narrowed":
        op = draw(WIDE_OPS)
        if draw(st.booleans()):
            return op, Use("unary", draw(NARROWING_OPS[op.type]))
        return op, Use("binary", f"{op.type}.and", draw(POSITION), draw(MASKS_OF[op.type]))
    if category in ("int-binary", "shift-count"):
        op = draw(INT_OPS)
        name = draw((SHIFTING if category == "shift-count" else ANY_INT)[op.type])
        position = 1 if category == "shift-count" else draw(POSITION)
        return op, Use("binary", name, position, _operand(draw, op.type, name))
    if category == "branch":
        op = draw(LOAD_OPS)
        kind = draw(BRANCH)
        if op.type[0] == "i" and draw(st.booleans()):
            return op, Use(kind, f"{op.type}.eqz")  # type: ignore[arg-type]
        name = draw((INT_COMPARES if op.type[0] == "i" else FLOAT_COMPARING)[op.type])
        return op, Use(kind, name, draw(POSITION), _operand(draw, op.type, name))  # type: ignore[arg-type]
    if category == "select":
        op = draw(LOAD_OPS)
        position = draw(st.integers(0, 2)) if op.type == "i32" else draw(POSITION)
        if position == 2:
            return op, Use("select", "", 2, draw(BITS_OF["i32"]))
        return op, Use("select", "", position, _operand(draw, op.type, ""), draw(SELECT_COND))
    if category == "convert":
        op = draw(LOAD_OPS)
        return op, Use("unary", draw(CONVERSIONS_OF[op.type]))
    op = draw(FLOAT_OPS)  # float
    if draw(st.integers(0, 3)) == 0:
        return op, Use("unary", draw(FLOAT_UNARY[op.type]))
    name = draw(FLOAT_OPERATIONS[op.type])
    return op, Use("binary", name, draw(POSITION), _operand(draw, op.type, name))


CATEGORIES = ("narrow-arith", "wide-narrowed", "int-binary", "shift-count", "branch", "select", "convert",
              "float")
CATEGORIES_PER_MODULE = 5
CATEGORY_ORDER = st.permutations(CATEGORIES)
CONSUMER_SHAPES = st.sampled_from(["param", "param", "param", *FREE_KINDS])


@st.composite
def consumer_plans(draw: st.DrawFn) -> Plan:
    """One access per category of consumer: a narrow load in arithmetic (fusable into a wider memory
    operand), a wide load of which only the low bits are used (narrowable), any integer operation
    with the load on either side, the load as a shift count, a branch on a comparison, ``select``,
    a conversion, float arithmetic; each result returned or stored."""
    builder = Builder(draw, draw(PAGES))
    for category in draw(CATEGORY_ORDER)[:CATEGORIES_PER_MODULE]:
        op, use = use_of(draw, category)
        shape = addr_shape(draw, draw(CONSUMER_SHAPES))
        offset, align = draw(OFFSETS), draw(ALIGNMENTS[op.width])
        stored = draw(st.integers(0, 3)) == 0

        def make(name: str, s: AddrShape, o: int, op: MemOp = op, use: Use = use, align: int = align,
                 stored: bool = stored) -> Access:
            return Access(name, "load", op, s, o, align, use=use, stored=stored)

        builder.add(make, shape, offset, (op.width,))
    return builder.plan()


RMW_CATEGORIES = ("same", "wide-load", "wide-store", "any")
RMW_PAIRS = {c: st.sampled_from([(ld, s) for ld in INT_LOADS for s in INT_STORES if s.type == ld.type and {
    "same": s.width == ld.width, "wide-load": s.width < ld.width, "wide-store": s.width > ld.width,
    "any": True}[c]]) for c in RMW_CATEGORIES}
RMW_OPS = _ops(ARITH + SHIFTS)


@st.composite
def rmw_plans(draw: st.DrawFn) -> Plan:
    """Load-op-store at one address: the same width (fusable into ``add [mem], reg``), a load wider
    than the store, a store wider than the load, any; the op on either side, or none (a copy)."""
    builder = Builder(draw, draw(PAGES))
    for category in RMW_CATEGORIES:
        load, store = draw(RMW_PAIRS[category])
        use: Use | None = None
        if draw(st.integers(0, 5)) != 0:
            name = draw(RMW_OPS[load.type])
            use = Use("binary", name, draw(POSITION), _operand(draw, load.type, name))
        shape = addr_shape(draw, draw(CONSUMER_SHAPES))
        offset, align = draw(OFFSETS), draw(ALIGNMENTS[load.width])
        store_align = draw(ALIGNMENTS[store.width])
        tee = draw(st.booleans())

        def make(name: str, s: AddrShape, o: int, load: MemOp = load, store: MemOp = store,
                 use: Use | None = use, align: int = align, store_align: int = store_align,
                 tee: bool = tee) -> Access:
            return Access(name, "rmw", load, s, o, align, use=use, store_op=store, store_align=store_align,
                          tee=tee)

        builder.add(make, shape, offset, (load.width, store.width))
    return builder.plan()


def _plan(pages: int, *accesses: tuple[Access, list[tuple[int, ...]]]) -> Plan:
    """An explicit example: each access with its calls' full arguments."""
    return Plan(pages, tuple(a for a, _ in accesses),
                tuple((i, args) for i, (_, calls) in enumerate(accesses) for args in calls), seed=7)


END = PAGE_SIZE
PARAM = AddrShape("param")


# --- the properties ------------------------------------------------------------------------------


@given(plan=addressing_plans())
@example(plan=_plan(1, (Access("a0", "load", MEM_OPS["i32.load"], AddrShape("base+index", 2), 8, 4),
                        [((END - 12 - (0x4000_0000 << 2)) % U32, 0x4000_0000), (END - 4, 0x4000_0000)]),
                    (Access("a1", "load", MEM_OPS["i64.load"], AddrShape("base+const", const=0xFFFF_FFF8),
                            0, 8), [(END,), (END - 1,)])))
@example(plan=_plan(1, (Access("a0", "store", MEM_OPS["i64.store8"], AddrShape("index", 3, "mul"), 7, 1,
                               value=StoreValue("param", "i64")),
                        [((END - 8) >> 3, 0x0102_0304_0506_0708)]),
                    (Access("a1", "store", MEM_OPS["i32.store"], AddrShape("const+const", const=0xFFFF_FFFF,
                                                                            const2=END - 3), 0, 4,
                            value=StoreValue("const", "i32", const=0xDEAD_BEEF)), [()])))
def test_addressing_modes_at_every_distance(wasm_runtime: WasmRuntime, plan: Plan) -> None:
    """Loads and stores of every width with their address built in every way instruction selection
    turns into an addressing mode: base + index scaled by 1, 2, 4, 8 (``i32.shl`` or ``i32.mul``,
    either operand order, with or without a base, the base a constant), a constant added (or a
    negative one subtracted), a constant address, the ``i32.add`` of two constants, an index loaded
    from memory; each with a static offset, at every distance from the end. The 32-bit sum wraps
    before the offset is added; a load gives the little-endian bytes at ``ea``, a store (of a
    parameter, wider than a narrow store, of a constant, computed, or converted) puts them there and
    nowhere else; an access that ends past the end traps, and a store that traps writes nothing."""
    run_plan(wasm_runtime, plan)


@given(plan=consumer_plans())
@example(plan=_plan(1, (Access("a0", "load", MEM_OPS["i32.load8_u"], PARAM, 0, 1,
                               use=Use("binary", "i32.add", 1)), [(END - 1, 5), (END, 5)]),
                    (Access("a1", "load", MEM_OPS["i64.load"], PARAM, 0, 8, use=Use("unary", "i32.wrap_i64")),
                     [(END - 8,), (END - 4,)])))
def test_loaded_value_in_every_operand_position(wasm_runtime: WasmRuntime, plan: Plan) -> None:
    """A loaded value feeding its consumer in every operand position: left or right of integer
    arithmetic, bit operations, shifts (the load also as the count), comparisons, ``select`` (a value
    or the condition), a compare-and-branch (``if``, ``br_if``), float arithmetic, conversions and
    extensions; a narrow load in arithmetic that a backend could fuse into a wider memory operand,
    a wide load of which only the low bits are used, which it could narrow. At every distance: the
    access traps with its own width, or the consumer's result is what the model computes."""
    run_plan(wasm_runtime, plan)


@given(plan=rmw_plans())
@example(plan=_plan(1, (Access("a0", "rmw", MEM_OPS["i32.load"], PARAM, 0, 4,
                               use=Use("binary", "i32.add", 0, 1), store_op=MEM_OPS["i32.store8"]),
                        [(END - 1,), (END - 4,)]),
                    (Access("a1", "rmw", MEM_OPS["i64.load8_u"], PARAM, 3, 1, use=Use("binary", "i64.sub", 1),
                            store_op=MEM_OPS["i64.store"], store_align=8, tee=True),
                     [(END - 11, 2), (END - 4, 2)])))
def test_load_op_store_at_the_edge(wasm_runtime: WasmRuntime, plan: Plan) -> None:
    """Load, operate, store back at the same address (x64 fuses it into ``add [mem], reg``), of
    the same width or not: where either half is out of bounds the whole traps and memory is
    unchanged; otherwise the bytes stored are the op's result, cut to the store's width."""
    run_plan(wasm_runtime, plan)
