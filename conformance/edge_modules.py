"""Modules generated per example for the address arithmetic at the edge (``test_address_wrap.py``,
and ``isel_module``'s family of many accesses for ``test_instruction_selection.py``, at the end).

Each module has one memory of a few pages and accesses it with one load or
store instruction whose address an export computes from its arguments:

- ``arg``: the argument itself;
- ``add``: ``base + index`` (``i32.add``, wrapping at 32 bits);
- ``mul``: ``base + index * factor`` (``i32.mul``, wrapping);
- ``shl``: ``base + (index << factor)`` (``i32.shl``, wrapping);

and then adds the instruction's static ``offset=``, which does *not* wrap: the
effective address is the 32-bit address plus the offset, as a 33-bit number.

A load module exports

- ``raw(args)``: the load alone, its value as an integer of the same width (a
  float by its bits, ``i32.reinterpret_f32``), for an exact comparison;
- ``edge(args)``: the load, then a *chain* of numeric instructions consuming the
  value (:class:`Step`), then the result returned, or stored at :data:`SCRATCH`;
- ``pure(x)``: the same chain applied to its parameter ``x`` (the bits of the
  loaded type) instead of to the load, returned or stored at :data:`SCRATCH`.

So ``edge(args)`` must equal ``pure(loaded value)`` without this package having
to model any numeric instruction. A store module exports ``put(args, x)``: the
chain applied to ``x`` and its result stored by the instruction under test; and
``pure(x)``: the chain's result as bits, for the model of the bytes stored.

Every memory access is on a line of its own, ``<op> offset=<n> align=<n>``;
``tests/faulty_driver.py`` rewrites those lines to emulate a runtime that gets
the effective address wrong.

NaN results of arithmetic have bits the spec leaves open (sign and payload), so
after each instruction that may produce such a NaN the chain replaces any NaN
with the canonical one (``x != x ? nan : x``): every value a chain produces is
then fixed by the spec, comparable bit for bit with the reference runtime's,
and a NaN still matches only a NaN. A float a function returns is canonicalised
too (a NaN's payload across the call boundary is test_endianness.py's concern).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Literal

from hypothesis import strategies as st

from conformance.model import numeric, paged
from conformance.model.numeric import result_type as _result_type
from conformance.script import ValueType

SCRATCH = 1024
"""Where ``edge`` and ``pure`` store their result in the ``store`` consumption mode."""

BITS: dict[ValueType, int] = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}
INT_OF: dict[ValueType, ValueType] = {"i32": "i32", "i64": "i64", "f32": "i32", "f64": "i64"}
MASK32 = 0xFFFF_FFFF


# --- memory instructions ------------------------------------------------------


# The load and store instructions are the model's own catalogue (conformance/model/paged.py):
# ``i64.load16_s`` accesses 2 bytes and sign-extends them to i64.
MemOp = paged.Access
MEM_OPS = paged.ACCESSES
LOADS, STORES = paged.LOADS, paged.STORES


# --- numeric instructions that consume a value ------------------------------------


@dataclass(frozen=True, slots=True)
class NumOp:
    name: str
    src: ValueType
    dst: ValueType
    const: bool = False
    """takes a second operand, a constant of type ``src``"""
    canonical: bool = False
    """its NaN results have bits the spec leaves open: the chain canonicalises them"""


def _num_ops() -> dict[str, NumOp]:
    ops: list[NumOp] = []
    for t in ("i32", "i64"):
        other = "i64" if t == "i32" else "i32"
        ops += [NumOp(f"{t}.{n}", t, t) for n in ("clz", "ctz", "popcnt", "extend8_s", "extend16_s")]
        ops.append(NumOp(f"{t}.eqz", t, "i32"))
        ops += [NumOp(f"{t}.{n}", t, t, const=True) for n in (
            "add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr",
            "div_s", "div_u", "rem_s", "rem_u")]
        ops += [NumOp(f"{t}.{n}", t, "i32", const=True) for n in (
            "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u")]
        ops += [NumOp(f"{f}.convert_{t}_{s}", t, f) for f in ("f32", "f64") for s in "su"]
        conversion = "i64.extend_i32_s i64.extend_i32_u" if t == "i32" else "i32.wrap_i64"
        ops += [NumOp(n, t, other) for n in conversion.split()]  # type: ignore[arg-type]
    ops += [NumOp("i64.extend32_s", "i64", "i64"),
            NumOp("f32.reinterpret_i32", "i32", "f32", canonical=True),
            NumOp("f64.reinterpret_i64", "i64", "f64", canonical=True)]
    for f in ("f32", "f64"):
        other = "f64" if f == "f32" else "f32"
        ops += [NumOp(f"{f}.{n}", f, f) for n in ("abs", "neg")]
        ops += [NumOp(f"{f}.{n}", f, f, canonical=True)
                for n in ("ceil", "floor", "trunc", "nearest", "sqrt")]
        ops += [NumOp(f"{f}.{n}", f, f, const=True, canonical=True)
                for n in ("add", "sub", "mul", "div", "min", "max")]
        ops.append(NumOp(f"{f}.copysign", f, f, const=True))
        ops += [NumOp(f"{f}.{n}", f, "i32", const=True) for n in ("eq", "ne", "lt", "gt", "le", "ge")]
        ops += [NumOp(f"{i}.trunc_sat_{f}_{s}", f, i) for i in ("i32", "i64") for s in "su"]
        ops.append(NumOp(f"{other}.{'promote' if f == 'f32' else 'demote'}_{f}", f, other,  # type: ignore[arg-type]
                         canonical=True))
        ops.append(NumOp(f"{INT_OF[f]}.reinterpret_{f}", f, INT_OF[f]))
    return {op.name: op for op in ops}


NUM_OPS = _num_ops()
OPS_FROM: dict[ValueType, tuple[NumOp, ...]] = {
    t: tuple(op for op in NUM_OPS.values() if op.src == t) for t in ("i32", "i64", "f32", "f64")
}


@dataclass(frozen=True, slots=True)
class Step:
    """One consuming instruction, with its constant operand's bits if it takes one."""

    op: str
    const: int | None = None

    @property
    def num(self) -> NumOp:
        return NUM_OPS[self.op]


Chain = tuple[Step, ...]


def chain_type(start: ValueType, chain: Chain) -> ValueType:
    t = start
    for step in chain:
        if step.num.src != t:
            raise ValueError(f"{step.op} does not take {t}")
        t = step.num.dst
    return t


def is_nan(t: ValueType, bits: int) -> bool:
    if t == "f32":
        return bits & 0x7F80_0000 == 0x7F80_0000 and bool(bits & 0x7F_FFFF)
    if t == "f64":
        return bits & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000 and bool(bits & 0xF_FFFF_FFFF_FFFF)
    return False


def is_signalling_nan(t: ValueType, bits: int) -> bool:
    quiet = 1 << (22 if t == "f32" else 51)
    return is_nan(t, bits) and not bits & quiet


def quiet_bit(t: ValueType) -> int:
    return 1 << (22 if t == "f32" else 51)


def float_literal(t: ValueType, bits: int) -> str:
    """A WAT literal for the float with these bits (exact: hex floats, ``nan:0x...`` payloads)."""
    sign = "-" if bits >> (BITS[t] - 1) else ""
    if is_nan(t, bits):
        return f"{sign}nan:0x{bits & ((1 << (23 if t == 'f32' else 52)) - 1):x}"
    value = float(struct.unpack("<f", struct.pack("<I", bits))[0] if t == "f32" else
                  struct.unpack("<d", struct.pack("<Q", bits))[0])
    if math.isinf(value):
        return f"{sign}inf"
    return value.hex()


def const_wat(t: ValueType, bits: int) -> str:
    if t in ("i32", "i64"):
        return f"{t}.const {bits}"
    return f"{t}.const {float_literal(t, bits)}"


def canonicalise(t: ValueType) -> list[str]:
    """Replace a NaN on the stack with the canonical NaN (``select`` on ``x != x``)."""
    return [f"local.set $c{t}", f"{t}.const nan", f"local.get $c{t}", f"local.get $c{t}",
            f"local.get $c{t}", f"{t}.ne", "select"]


def chain_wat(start: ValueType, chain: Chain) -> list[str]:
    lines: list[str] = []
    for step in chain:
        num = step.num
        if num.const:
            assert step.const is not None
            lines.append(const_wat(num.src, step.const))
        lines.append(num.name)
        if num.canonical:
            lines += canonicalise(num.dst)
    return lines


def _nonzero(t: ValueType, bits: int, op: str) -> bool:
    if not bits:
        return False
    return not (op.endswith("div_s") and bits == (1 << BITS[t]) - 1)  # INT_MIN / -1 traps


INT_CONSTS = [0, 1, 2, 3, 7, 8, 16, 31, 32, 33, 63, 64, 0x7F, 0x80, 0xFF, 0x8000, 0xFFFF, 0x7FFF_FFFF,
              0x8000_0000, 0xFFFF_FFFF]
F32_CONSTS = [0x0000_0000, 0x8000_0000, 0x3F80_0000, 0xBFC0_0000, 0x3F00_0000, 0x7F80_0000, 0xFF80_0000,
              0x7FC0_0000, 0x0000_0001, 0x7F7F_FFFF, 0x4B00_0000, 0x4F00_0000, 0xCF00_0000]
F64_CONSTS = [0x0, 0x8000_0000_0000_0000, 0x3FF0_0000_0000_0000, 0xBFF8_0000_0000_0000, 0x3FE0_0000_0000_0000,
              0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000, 0x7FF8_0000_0000_0000, 0x1, 0x7FEF_FFFF_FFFF_FFFF,
              0x4330_0000_0000_0000, 0x43E0_0000_0000_0000, 0xC3E0_0000_0000_0000]


def value_bits(t: ValueType, *, signalling_nans: bool = False) -> st.SearchStrategy[int]:
    """Bits of a value of type ``t``, biased to the special ones (no signalling NaN unless asked)."""
    width = BITS[t]
    anything = st.integers(0, (1 << width) - 1)
    if t in ("i32", "i64"):
        specials = [b & ((1 << width) - 1) for b in INT_CONSTS] + [(1 << width) - 1, 1 << (width - 1)]
        return st.one_of(st.sampled_from(specials), anything)
    bits = st.one_of(st.sampled_from(F32_CONSTS if t == "f32" else F64_CONSTS), anything)
    return bits if signalling_nans else bits.map(lambda b: b | quiet_bit(t) if is_signalling_nan(t, b) else b)


@st.composite
def steps(draw: st.DrawFn, start: ValueType, *, to: ValueType | None = None) -> Step:
    """One consuming instruction taking ``start`` (and giving ``to``, if given)."""
    choices = [op for op in OPS_FROM[start] if to is None or op.dst == to]
    num = draw(st.sampled_from(choices))
    if not num.const:
        return Step(num.name)
    const = draw(value_bits(num.src).filter(lambda b: num.src[0] == "f" or _nonzero(num.src, b, num.name)
                                            or not ("div" in num.name or "rem" in num.name)))
    return Step(num.name, const)


@st.composite
def chains(draw: st.DrawFn, start: ValueType, *, max_size: int = 3, to: ValueType | None = None,
           within: tuple[ValueType, ...] = ("i32", "i64", "f32", "f64")) -> Chain:
    """A chain of 0 to ``max_size`` consuming instructions from ``start`` (ending in ``to``, if given).

    ``within``: the chain ends early once a conversion leaves these types.
    """
    out: list[Step] = []
    t = start
    for _ in range(draw(st.integers(0, max_size))):
        if t not in within:
            break
        step = draw(steps(t))
        out.append(step)
        t = step.num.dst
    if to is not None and t != to:
        out.append(draw(steps(t, to=to)))
    return tuple(out)


# --- addresses ----------------------------------------------------------------------


FormKind = Literal["arg", "add", "mul", "shl"]


@dataclass(frozen=True, slots=True)
class AddressForm:
    """How an export computes the 32-bit address from its i32 arguments (wrapping at 32 bits)."""

    kind: FormKind
    factor: int = 0
    """the constant of ``mul``, the shift count of ``shl``"""

    @property
    def params(self) -> int:
        return 1 if self.kind == "arg" else 2

    def scaled(self, index: int) -> int:
        if self.kind == "mul":
            return (index * self.factor) & MASK32
        if self.kind == "shl":
            return (index << (self.factor % 32)) & MASK32
        return index & MASK32

    def address(self, args: tuple[int, ...]) -> int:
        """The 32-bit address the export computes (before the offset)."""
        if self.kind == "arg":
            return args[0] & MASK32
        return (args[0] + self.scaled(args[1])) & MASK32

    def args_for(self, address: int, index: int) -> tuple[int, ...]:
        """Arguments for which the export computes ``address`` (``index`` is the second one)."""
        if self.kind == "arg":
            return (address & MASK32,)
        return ((address - self.scaled(index)) & MASK32, index & MASK32)

    def wat(self) -> list[str]:
        if self.kind == "arg":
            return ["local.get 0"]
        lines = ["local.get 0", "local.get 1"]
        if self.kind == "mul":
            lines += [f"i32.const {self.factor}", "i32.mul"]
        elif self.kind == "shl":
            lines += [f"i32.const {self.factor}", "i32.shl"]
        return [*lines, "i32.add"]

    def __str__(self) -> str:
        return {"arg": "addr", "add": "base + index", "mul": f"base + index * {self.factor}",
                "shl": f"base + (index << {self.factor})"}[self.kind]


def access_line(op: MemOp, offset: int, align: int) -> str:
    """The memory instruction, alone on its line (see the module docstring)."""
    return f"{op.name} offset={offset} align={align}"


def _func(name: str, params: list[str], result: str | None, body: list[str],
          locals_: list[str] | None = None) -> str:
    head = f'  (func (export "{name}")' + "".join(f" (param {p})" for p in params)
    if result:
        head += f" (result {result})"
    head += "\n    " + " ".join(["(local $cf32 f32) (local $cf64 f64)", *(locals_ or [])])
    return head + "".join(f"\n    {line}" for line in body) + ")"


def _memory(pages: int) -> str:
    return f'  (memory (export "memory") {pages})'


def _returned(t: ValueType) -> list[str]:
    return canonicalise(t) if t in ("f32", "f64") else []


def load_module(op: MemOp, form: AddressForm, offset: int, align: int, pages: int, chain: Chain,
                mode: Literal["return", "store"]) -> str:
    """A module exporting ``raw``, ``edge`` and ``pure`` (see the module docstring)."""
    access = [*form.wat(), access_line(op, offset, align)]
    params = ["i32"] * form.params
    raw = access + ([f"{INT_OF[op.type]}.reinterpret_{op.type}"] if op.type[0] == "f" else [])
    out = chain_type(op.type, chain)
    consume = chain_wat(op.type, chain)
    x = ["local.get 0"] + ([f"{op.type}.reinterpret_{INT_OF[op.type]}"] if op.type[0] == "f" else [])
    if mode == "return":
        edge = _func("edge", params, out, access + consume + _returned(out))
        pure = _func("pure", [INT_OF[op.type]], out, x + consume + _returned(out))
    else:
        store = [access_line(MemOp(f"{out}.store", BITS[out] // 8, out), 0, 1)]
        edge = _func("edge", params, None, [f"i32.const {SCRATCH}", *access, *consume, *store])
        pure = _func("pure", [INT_OF[op.type]], None, [f"i32.const {SCRATCH}", *x, *consume, *store])
    raw_func = _func("raw", params, INT_OF[op.type], raw)
    return "\n".join(["(module", _memory(pages), raw_func, edge, pure]) + ")\n"


def store_module(op: MemOp, form: AddressForm, offset: int, align: int, pages: int, start: ValueType,
                 chain: Chain) -> str:
    """A module exporting ``put(args, x)`` and ``pure(x)`` (see the module docstring)."""
    if chain_type(start, chain) != op.type:
        raise ValueError(f"the chain gives {chain_type(start, chain)}, {op.name} stores {op.type}")
    x = ["local.get $x"] + ([f"{start}.reinterpret_{INT_OF[start]}"] if start[0] == "f" else [])
    consume = chain_wat(start, chain)
    params = [*(["i32"] * form.params), f"$x {INT_OF[start]}"]
    put = _func("put", params, None, [*form.wat(), *x, *consume, access_line(op, offset, align)])
    bits = [f"{INT_OF[op.type]}.reinterpret_{op.type}"] if op.type[0] == "f" else []
    pure = _func("pure", [f"$x {INT_OF[start]}"], INT_OF[op.type], [*x, *consume, *bits])
    return "\n".join(["(module", _memory(pages), put, pure]) + ")\n"


# --- the shapes instruction selection folds or fuses -------------------------------------
#
# A module of this family has many exports, each one *access* (a load, a store, or a load whose
# value is stored back at its own address) whose address is computed in one of the ways a
# backend turns into an addressing mode, and whose loaded value feeds its consumer in one of the
# operand positions a backend fuses a load into. Each access is on a line of its own as above;
# ``tests/isel_faults.py`` rewrites the text around them to emulate backends that fold or fuse
# wrongly. The model of every export is ``Access.run``.

ShapeKind = Literal["param", "base+index", "index+base", "index", "const+index", "base+const", "const+base",
                    "base-negconst", "const", "const+const", "base+loaded"]
SHAPE_KINDS: tuple[ShapeKind, ...] = ("param", "base+index", "index+base", "index", "const+index",
                                      "base+const", "const+base", "base-negconst", "const", "const+const",
                                      "base+loaded")
FREE_KINDS: tuple[ShapeKind, ...] = ("param", "base+index", "index+base", "base+const", "const+base",
                                     "base-negconst", "base+loaded")
"""the shapes whose parameters reach every 32-bit address (one export serves every distance)"""
INDEX_TABLE = 2048
"""where ``base+loaded`` finds its index: the i32 at the address its second parameter gives"""
SCRATCH_STORE = 1024
"""where a consumed load's result is stored (``i32.const 0``, ``offset=1024``) when it is not returned"""


@dataclass(frozen=True, slots=True)
class AddrShape:
    """How an export computes the 32-bit address (wrapping) before the access's static offset.

    ``base`` and ``index`` are i32 parameters; the index is scaled by ``2**shift``, as an
    ``i32.shl`` or an ``i32.mul``; ``const`` is a constant base, an added constant (``base-negconst``
    adds it as ``i32.sub`` of its negation), the whole address, or the first of two constants whose
    ``i32.add`` is the address (the second is ``const2``). ``base+loaded`` loads its index from
    memory (the i32 at its second parameter)."""

    kind: ShapeKind
    shift: int = 0
    via: Literal["shl", "mul"] = "shl"
    const: int = 0
    const2: int = 0

    @property
    def params(self) -> int:
        if self.kind in ("const", "const+const"):
            return 0
        return 2 if self.kind in ("base+index", "index+base", "base+loaded") else 1

    @property
    def scaled(self) -> bool:
        return self.kind in ("base+index", "index+base", "index", "const+index", "base+loaded")

    def scale(self, index: int) -> int:
        return (index << self.shift) & MASK32

    def address(self, args: tuple[int, ...], mem: bytes | bytearray) -> int:
        """The 32-bit address the export computes from its address arguments (and memory)."""
        k, c = self.kind, self.const
        if k == "param":
            return args[0] & MASK32
        if k in ("base+index", "index+base"):
            return (args[0] + self.scale(args[1])) & MASK32
        if k == "base+loaded":
            cell = args[1]
            return (args[0] + self.scale(int.from_bytes(mem[cell:cell + 4], "little"))) & MASK32
        if k == "index":
            return self.scale(args[0])
        if k == "const+index":
            return (c + self.scale(args[0])) & MASK32
        if k in ("base+const", "const+base", "base-negconst"):
            return (args[0] + c) & MASK32
        if k == "const":
            return c & MASK32
        return (c + self.const2) & MASK32

    def reaches(self, address: int) -> bool:
        """Whether some arguments give ``address`` (the constant shapes reach their one address)."""
        if self.kind == "index":
            return address % (1 << self.shift) == 0
        if self.kind == "const+index":
            return (address - self.const) % (1 << self.shift) == 0
        if self.kind in ("const", "const+const"):
            return self.address((), b"") == address & MASK32
        return True

    def args_for(self, address: int, index: int, cell: int = INDEX_TABLE) -> tuple[int, ...]:
        """Arguments giving ``address``: ``index`` is the index (for ``index`` and ``const+index``,
        the high bits the scaling shifts out), ``cell`` where ``base+loaded``'s index is stored."""
        address &= MASK32
        k, c = self.kind, self.const
        if k == "param":
            return (address,)
        if k in ("base+index", "index+base", "base+loaded"):
            base = (address - self.scale(index)) & MASK32
            return (base, index & MASK32) if k != "base+loaded" else (base, cell)
        if k in ("index", "const+index"):
            rest = (address - (c if k == "const+index" else 0)) & MASK32
            high = (index << (32 - self.shift)) & MASK32 if self.shift else 0
            return (((rest >> self.shift) | high) & MASK32,)
        if k in ("base+const", "const+base", "base-negconst"):
            return ((address - c) & MASK32,)
        return ()

    def wat(self) -> list[str]:
        k, c = self.kind, self.const
        scale = [f"i32.const {self.shift}", "i32.shl"] if self.via == "shl" else \
            [f"i32.const {1 << self.shift}", "i32.mul"]
        if k == "param":
            return ["local.get 0"]
        if k == "base+index":
            return ["local.get 0", "local.get 1", *scale, "i32.add"]
        if k == "index+base":
            return ["local.get 1", *scale, "local.get 0", "i32.add"]
        if k == "base+loaded":
            return ["local.get 0", "local.get 1", access_line(MEM_OPS["i32.load"], 0, 4), *scale, "i32.add"]
        if k == "index":
            return ["local.get 0", *scale]
        if k == "const+index":
            return [f"i32.const {c}", "local.get 0", *scale, "i32.add"]
        if k == "base+const":
            return ["local.get 0", f"i32.const {c}", "i32.add"]
        if k == "const+base":
            return [f"i32.const {c}", "local.get 0", "i32.add"]
        if k == "base-negconst":
            return ["local.get 0", f"i32.const {-c & MASK32}", "i32.sub"]
        if k == "const":
            return [f"i32.const {c}"]
        return [f"i32.const {c}", f"i32.const {self.const2}", "i32.add"]

    def __str__(self) -> str:
        s = f" << {self.shift}" if self.via == "shl" else f" * {1 << self.shift}"
        c = self.const
        return {"param": "addr", "base+index": f"base + (index{s})", "index+base": f"(index{s}) + base",
                "index": f"index{s}", "const+index": f"{c} + (index{s})", "base+const": f"base + {c}",
                "const+base": f"{c} + base", "base-negconst": f"base - {-c & MASK32} (i32)", "const": f"{c}",
                "const+const": f"{c} + {self.const2}",
                "base+loaded": f"base + (i32.load(cell){s})"}[self.kind]


Role = Literal["load", "store", "rmw"]
UseKind = Literal["binary", "unary", "select", "if", "br_if"]


@dataclass(frozen=True, slots=True)
class Use:
    """What consumes a loaded value: ``op`` with the load as operand ``position`` (0 left, 1 right;
    2: ``select``'s condition), the other operand the constant ``other`` or the parameter ``$y``
    (``other`` None); ``select``'s condition the constant ``cond`` or the parameter ``$c``. ``if``
    and ``br_if`` branch on ``op`` (a comparison, or ``eqz``) to give 111 or 222."""

    kind: UseKind
    op: str = ""
    position: int = 0
    other: int | None = None
    cond: int | None = None


@dataclass(frozen=True, slots=True)
class StoreValue:
    """A store's value: the parameter ``$x`` of type ``type``, the constant ``const`` (an immediate
    store), ``$x`` then ``op`` with the constant (``computed``), or ``$x`` converted by ``op``."""

    kind: Literal["param", "const", "computed", "converted"]
    type: ValueType
    op: str = ""
    const: int = 0


def _push(t: ValueType, const: int | None, param: str) -> list[str]:
    """A constant operand, or a parameter holding the bits (reinterpreted where ``t`` is a float)."""
    if const is not None:
        return [const_wat(t, const)]
    return [f"local.get {param}"] + ([f"{t}.reinterpret_{INT_OF[t]}"] if t[0] == "f" else [])


@dataclass(frozen=True, slots=True)
class Access:
    """One export: a ``load`` (raw, or its value consumed by ``use``, returned or ``stored`` at
    SCRATCH_STORE), a ``store`` of ``value``, or an ``rmw``: ``store_op`` at the address ``op`` loads
    from, of ``use`` applied to the loaded value (no ``use``: the value itself), the address
    computed twice or kept in a local (``tee``)."""

    name: str
    role: Role
    op: MemOp
    shape: AddrShape
    offset: int
    align: int
    use: Use | None = None
    stored: bool = False
    value: StoreValue | None = None
    store_op: MemOp | None = None
    store_align: int = 1
    tee: bool = False

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.op.width,) if self.store_op is None else (self.op.width, self.store_op.width)

    @property
    def result(self) -> ValueType | None:
        """What the export returns (None: nothing)."""
        if self.role != "load" or self.stored:
            return None
        return INT_OF[self.consumed_type]

    @property
    def consumed_type(self) -> ValueType:
        """The type of the use's result (of the load where nothing consumes it)."""
        use = self.use
        if use is None:
            return self.op.type
        if use.kind in ("if", "br_if"):
            return "i32"
        if use.kind == "select":
            return "i32" if use.position == 2 else self.op.type
        return _result_type(use.op)

    @property
    def extra_params(self) -> list[tuple[str, ValueType]]:
        """The parameters after the address's, by name."""
        out: list[tuple[str, ValueType]] = []
        use = self.use
        if self.role == "store":
            assert self.value is not None
            if self.value.kind != "const":
                out.append(("$x", INT_OF[self.value.type]))
            return out
        if use is None or use.kind == "unary" or (use.kind in ("if", "br_if") and use.op.endswith("eqz")):
            return out
        if use.kind == "select" and use.position == 2:
            return [("$y", "i32")]
        if use.other is None:
            out.append(("$y", INT_OF[self.op.type]))
        if use.kind == "select" and use.cond is None:
            out.append(("$c", "i32"))
        return out

    def _consume(self, load: list[str]) -> list[str]:
        use, t = self.use, self.op.type
        if use is None:
            return load
        other = _push(t, use.other, "$y")
        if use.kind == "unary":
            return [*load, use.op]
        if use.kind == "select":
            if use.position == 2:
                return ["local.get $y", f"i32.const {use.other or 0}", *load, "select"]
            cond = [f"i32.const {use.cond}"] if use.cond is not None else ["local.get $c"]
            values = [*load, *other] if use.position == 0 else [*other, *load]
            return [*values, *cond, "select"]
        if use.op.endswith("eqz"):
            compare = [*load, use.op]
        else:
            compare = [*load, *other, use.op] if use.position == 0 else [*other, *load, use.op]
        if use.kind == "binary":
            return compare
        if use.kind == "if":
            return [*compare, "if (result i32)", "  i32.const 111", "else", "  i32.const 222", "end"]
        return ["block (result i32)", "  i32.const 111", *compare, "  br_if 0", "  drop", "  i32.const 222",
                "end"]

    def wat(self) -> str:
        addr = self.shape.wat()
        params = ["i32"] * self.shape.params + [f"{n} {t}" for n, t in self.extra_params]
        access = access_line(self.op, self.offset, self.align)
        locals_ = ["(local $p i32)"] if self.tee else []
        if self.role == "store" or self.stored:
            locals_.append("(local $vi32 i32) (local $vi64 i64) (local $vf32 f32) (local $vf64 f64)")
        if self.role == "store":
            value = self.value
            assert value is not None
            if value.kind == "const":
                x = [const_wat(self.op.type, value.const)]
            else:
                x = _push(value.type, None, "$x")
                if value.kind == "computed":
                    x += [const_wat(value.type, value.const), value.op]
                elif value.kind == "converted":
                    x.append(value.op)
                if self.op.type[0] == "f" and value.kind != "param":
                    x += canonicalise(self.op.type)
            return _func(self.name, params, None, _store_after(addr, x, self.op.type, access), locals_)
        if self.role == "rmw":
            assert self.store_op is not None
            load = ["local.get $p", access] if self.tee else [*addr, access]
            body = [*addr, *(["local.tee $p"] if self.tee else []), *self._consume(load)]
            return _func(self.name, params, None,
                         [*body, access_line(self.store_op, self.offset, self.store_align)], locals_)
        out = self.consumed_type
        body = self._consume([*addr, access])
        if out[0] == "f":
            body += canonicalise(out)
        if self.stored:
            store = access_line(MemOp(f"{out}.store", BITS[out] // 8, out), SCRATCH_STORE, 1)
            return _func(self.name, params, None, _store_after(["i32.const 0"], body, out, store), locals_)
        if out[0] == "f":
            body.append(f"{INT_OF[out]}.reinterpret_{out}")
        return _func(self.name, params, INT_OF[out], body, locals_)

    # --- the model --------------------------------------------------------------------

    def ea(self, args: tuple[int, ...], mem: bytes | bytearray) -> int:
        """The effective address: the 32-bit address plus the offset, not wrapped."""
        return self.shape.address(args[:self.shape.params], mem) + self.offset

    def extras(self, args: tuple[int, ...]) -> dict[str, int]:
        return {name: args[self.shape.params + k] for k, (name, _) in enumerate(self.extra_params)}

    def consume(self, v: int, extras: dict[str, int]) -> int:
        """The use applied to the loaded bits ``v`` (a float result canonicalised, as the module does)."""
        use = self.use
        if use is None:
            r = v
        else:
            other = use.other if use.other is not None else extras.get("$y", 0)
            if use.kind == "unary":
                r = numeric.unary(use.op, v)
            elif use.kind == "select" and use.position == 2:
                r = extras["$y"] if v else (use.other or 0)
            elif use.kind == "select":
                cond = use.cond if use.cond is not None else extras["$c"]
                first, second = (v, other) if use.position == 0 else (other, v)
                r = first if cond else second
            else:
                if use.op.endswith("eqz"):
                    r = numeric.unary(use.op, v)
                else:
                    r = numeric.binary(use.op, *((v, other) if use.position == 0 else (other, v)))
                if use.kind in ("if", "br_if"):
                    r = 111 if r else 222
        out = self.consumed_type
        return numeric.canonical(out, r) if out[0] == "f" else r

    def stored_bits(self, extras: dict[str, int]) -> int:
        """A store's value, as bits of the store's type."""
        value = self.value
        assert value is not None
        if value.kind in ("const", "param"):  # stored as they are: no arithmetic, no NaN to canonicalise
            return value.const if value.kind == "const" else extras["$x"]
        if value.kind == "computed":
            bits = numeric.binary(value.op, extras["$x"], value.const)
        else:
            bits = numeric.unary(value.op, extras["$x"])
        return numeric.canonical(self.op.type, bits) if self.op.type[0] == "f" else bits

    def run(self, args: tuple[int, ...], mem: bytearray, size: int) -> tuple[str, int | None]:
        """The model of one call: ``("trap", None)`` (out of bounds: memory unchanged) or ``("ok",
        result bits or None)``, ``mem`` changed as the access changes it."""
        extras, ea = self.extras(args), self.ea(args, mem)
        if self.role == "store":
            w = self.op.width
            if ea + w > size:
                return "trap", None
            mem[ea:ea + w] = (self.stored_bits(extras) & ((1 << (8 * w)) - 1)).to_bytes(w, "little")
            return "ok", None
        w = self.op.width
        if ea + w > size:
            return "trap", None
        result = self.consume(self.op.extend(int.from_bytes(mem[ea:ea + w], "little")), extras)
        if self.role == "rmw":
            assert self.store_op is not None
            ws = self.store_op.width
            if ea + ws > size:
                return "trap", None
            mem[ea:ea + ws] = (result & ((1 << (8 * ws)) - 1)).to_bytes(ws, "little")
            return "ok", None
        if self.stored:
            n = BITS[self.consumed_type] // 8
            mem[SCRATCH_STORE:SCRATCH_STORE + n] = result.to_bytes(n, "little")
            return "ok", None
        return "ok", result

    def describe(self) -> str:
        what = f"{self.op.name} offset={self.offset} align={self.align} at {self.shape}"
        if self.role == "store":
            assert self.value is not None
            v = self.value
            source = {"param": f"$x ({v.type})", "const": f"the constant {v.const}",
                      "computed": f"$x {v.op} {v.const}", "converted": f"{v.op} $x"}[v.kind]
            return f"{what}, storing {source}"
        if self.role == "rmw":
            assert self.store_op is not None
            return (f"{self.store_op.name} of {self._use_text()} at its own address ({what}"
                    f"{', address in a local' if self.tee else ', address computed twice'})")
        return f"{what}" + (f", consumed: {self._use_text()}" if self.use else "") + (
            f", result stored at {SCRATCH_STORE}" if self.stored else "")

    def _use_text(self) -> str:
        use = self.use
        if use is None:
            return "the loaded value"
        other = "$y" if use.other is None else str(use.other)
        if use.kind == "unary" or use.op.endswith("eqz"):
            text = f"{use.op}(load)"
        elif use.kind == "select":
            cond = "$c" if use.cond is None else str(use.cond)
            text = (f"select($y, {use.other or 0}, load)" if use.position == 2 else
                    f"select(load, {other}, {cond})" if use.position == 0 else
                    f"select({other}, load, {cond})")
        else:
            text = f"{use.op}(load, {other})" if use.position == 0 else f"{use.op}({other}, load)"
        return text if use.kind in ("unary", "binary", "select") else f"{use.kind} {text}"


def _store_after(addr: list[str], value: list[str], t: ValueType, store: str) -> list[str]:
    """A store of ``value`` at ``addr``: the address directly before the store but for one push of
    the value (a value of more than one instruction is computed first, into ``$v``), so that the
    instructions that compute the address are where they are for a load."""
    if len(value) == 1:
        return [*addr, *value, store]
    return [*value, f"local.set $v{t}", *addr, f"local.get $v{t}", store]


def isel_module(pages: int, accesses: list[Access] | tuple[Access, ...]) -> str:
    """A module of the instruction-selection family: one memory of ``pages`` pages, one export an access."""
    return "\n".join(["(module", _memory(pages), *(a.wat() for a in accesses)]) + ")\n"
