"""The numeric instructions the instruction-selection shapes use, written from the spec.

Values are bit patterns (integers unsigned, floats by their IEEE bits), as on the wire.
A float result that is a NaN is given as the canonical NaN: the generated modules
replace every NaN they return or store with it (``edge_modules.canonicalise``), so the
spec fixes every bit the model predicts.

f32 arithmetic is computed in double precision and rounded once to single: for
``+ - * /`` and ``sqrt`` of single-precision operands that double rounding is exact
(53 >= 2 * 24 + 2), and ``ctypes.c_float`` rounds to nearest-even, to infinity on overflow.
"""

from __future__ import annotations

import ctypes
import math
import struct
from collections.abc import Callable

from conformance.script import ValueType

BITS: dict[str, int] = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}
CANONICAL_NAN = {"f32": 0x7FC0_0000, "f64": 0x7FF8_0000_0000_0000}


class NumericTrap(Exception):
    """An instruction that traps (integer division by zero or overflow)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def mask(t: str) -> int:
    return (1 << BITS[t]) - 1


def signed(t: str, bits: int) -> int:
    width = BITS[t]
    bits &= mask(t)
    return bits - (1 << width) if bits >> (width - 1) else bits


# --- floats as Python values --------------------------------------------------------


def to_float(t: str, bits: int) -> float:
    if t == "f32":
        return float(struct.unpack("<f", struct.pack("<I", bits & 0xFFFF_FFFF))[0])
    return float(struct.unpack("<d", struct.pack("<Q", bits & mask("i64")))[0])


def from_float(t: str, value: float) -> int:
    """The bits of ``value`` rounded to ``t`` (nearest-even); any NaN is the canonical one."""
    if math.isnan(value):
        return CANONICAL_NAN[t]
    if t == "f32":
        return int(struct.unpack("<I", struct.pack("<f", ctypes.c_float(value).value))[0])
    return int(struct.unpack("<Q", struct.pack("<d", value))[0])


def is_nan(t: str, bits: int) -> bool:
    return t in ("f32", "f64") and math.isnan(to_float(t, bits))


def canonical(t: str, bits: int) -> int:
    """The bits a generated module gives back for a float: any NaN becomes the canonical NaN."""
    return CANONICAL_NAN[t] if is_nan(t, bits) else bits


def int_to_float(t: str, n: int) -> int:
    """An integer rounded to ``t``, nearest-even in one step (no double rounding through f64)."""
    if n == 0:
        return 0
    sign, m = (1, -n) if n < 0 else (0, n)
    precision = 24 if t == "f32" else 53
    extra = m.bit_length() - precision
    if extra > 0:
        rest, m = m & ((1 << extra) - 1), m >> extra
        half = 1 << (extra - 1)
        if rest > half or (rest == half and m & 1):
            m += 1
        value = math.ldexp(float(m), extra)  # m <= 2**precision: exact
    else:
        value = float(m)
    return from_float(t, -value if sign else value)


def _trunc_sat(dst: str, is_signed: bool, x: float) -> int:
    if math.isnan(x):
        return 0
    width = BITS[dst]
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if is_signed else (0, (1 << width) - 1)
    if math.isinf(x):
        return (hi if x > 0 else lo) & mask(dst)
    return max(lo, min(hi, math.trunc(x))) & mask(dst)


def _min_max(t: str, a: int, b: int, pick_min: bool) -> int:
    x, y = to_float(t, a), to_float(t, b)
    if math.isnan(x) or math.isnan(y):
        return CANONICAL_NAN[t]
    if x == y == 0.0:  # -0.0 < +0.0 for min and max
        sign = BITS[t] - 1
        negative = (a >> sign) | (b >> sign) if pick_min else (a >> sign) & (b >> sign)
        return (1 << sign) if negative else 0
    return from_float(t, min(x, y) if pick_min else max(x, y))


# --- the instructions ------------------------------------------------------------------


def _int_binary(t: str, name: str, a: int, b: int) -> int:
    width, m = BITS[t], mask(t)
    sa, sb = signed(t, a), signed(t, b)
    k = b % width
    if name == "add":
        return (a + b) & m
    if name == "sub":
        return (a - b) & m
    if name == "mul":
        return (a * b) & m
    if name == "and":
        return a & b
    if name == "or":
        return a | b
    if name == "xor":
        return a ^ b
    if name == "shl":
        return (a << k) & m
    if name == "shr_u":
        return a >> k
    if name == "shr_s":
        return (sa >> k) & m
    if name == "rotl":
        return ((a << k) | (a >> (width - k))) & m if k else a
    if name == "rotr":
        return ((a >> k) | (a << (width - k))) & m if k else a
    if name in ("div_u", "rem_u", "div_s", "rem_s"):
        if b == 0:
            raise NumericTrap("integer-divide-by-zero")
        if name == "div_u":
            return a // b
        if name == "rem_u":
            return a % b
        if name == "div_s" and sa == -(1 << (width - 1)) and sb == -1:
            raise NumericTrap("integer-overflow")
        quotient = abs(sa) // abs(sb) * (1 if (sa < 0) == (sb < 0) else -1)
        return (quotient if name == "div_s" else sa - quotient * sb) & m
    compare: dict[str, Callable[[], bool]] = {
        "eq": lambda: a == b, "ne": lambda: a != b,
        "lt_u": lambda: a < b, "gt_u": lambda: a > b, "le_u": lambda: a <= b, "ge_u": lambda: a >= b,
        "lt_s": lambda: sa < sb, "gt_s": lambda: sa > sb, "le_s": lambda: sa <= sb, "ge_s": lambda: sa >= sb,
    }
    return int(compare[name]())


def _float_binary(t: str, name: str, a: int, b: int) -> int:
    if name in ("min", "max"):
        return _min_max(t, a, b, name == "min")
    if name == "copysign":
        sign = 1 << (BITS[t] - 1)
        return (a & ~sign & mask(t)) | (b & sign)
    x, y = to_float(t, a), to_float(t, b)
    if name in ("eq", "ne", "lt", "gt", "le", "ge"):
        return int({"eq": x == y, "ne": x != y, "lt": x < y, "gt": x > y, "le": x <= y, "ge": x >= y}[name])
    if name == "add":
        r = x + y
    elif name == "sub":
        r = x - y
    elif name == "mul":
        r = x * y
    elif name == "div":
        if y == 0.0:
            r = math.nan if x == 0.0 or math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1.0, y)
        else:
            r = x / y
    else:
        raise KeyError(f"{t}.{name}")
    return from_float(t, r)


def _float_unary(t: str, name: str, a: int) -> int:
    sign = 1 << (BITS[t] - 1)
    if name == "neg":
        return a ^ sign
    if name == "abs":
        return a & ~sign & mask(t)
    if name == "sqrt":
        x = to_float(t, a)
        return from_float(t, math.nan if x < 0 or math.isnan(x) else math.sqrt(x))
    raise KeyError(f"{t}.{name}")


def binary(op: str, a: int, b: int) -> int:
    """``t.name`` applied to two operands' bits (``i32.sub``, ``f64.min``, ``i64.lt_s``)."""
    t, name = op.split(".", 1)
    if t in ("i32", "i64"):
        return _int_binary(t, name, a & mask(t), b & mask(t))
    return _float_binary(t, name, a & mask(t), b & mask(t))


def unary(op: str, a: int) -> int:
    """A one-operand instruction (``i64.extend_i32_u``, ``f32.sqrt``, ``i32.trunc_sat_f64_s``)."""
    t, name = op.split(".", 1)
    if t in ("f32", "f64") and name in ("neg", "abs", "sqrt"):
        return _float_unary(t, name, a)
    if name == "eqz":
        return int(a == 0)
    if name in ("clz", "ctz", "popcnt"):
        width = BITS[t]
        if name == "popcnt":
            return bin(a).count("1")
        if name == "clz":
            return width - a.bit_length()
        return width if a == 0 else (a & -a).bit_length() - 1
    if name.startswith("extend") and name.endswith("_s") and "_i32" not in name:  # extend8_s and kin
        n = int(name[len("extend"):-2])
        low = a & ((1 << n) - 1)
        return (low - (1 << n) if low >> (n - 1) else low) & mask(t)
    conversions: dict[str, Callable[[int], int]] = {
        "i64.extend_i32_u": lambda v: v & 0xFFFF_FFFF,
        "i64.extend_i32_s": lambda v: signed("i32", v) & mask("i64"),
        "i32.wrap_i64": lambda v: v & 0xFFFF_FFFF,
        "f64.promote_f32": lambda v: from_float("f64", to_float("f32", v)),
        "f32.demote_f64": lambda v: from_float("f32", to_float("f64", v)),
        "i32.reinterpret_f32": lambda v: v, "i64.reinterpret_f64": lambda v: v,
        "f32.reinterpret_i32": lambda v: v, "f64.reinterpret_i64": lambda v: v,
    }
    if op in conversions:
        return conversions[op](a)
    if name.startswith("convert_"):
        src, sign = name[len("convert_"):].split("_")
        return int_to_float(t, signed(src, a) if sign == "s" else a & mask(src))
    if name.startswith("trunc_sat_"):
        src, sign = name[len("trunc_sat_"):].split("_")
        return _trunc_sat(t, sign == "s", to_float(src, a))
    raise KeyError(op)


def result_type(op: str) -> ValueType:
    """The type an instruction leaves on the stack."""
    t, name = op.split(".", 1)
    if name in ("eqz", "eq", "ne", "lt", "gt", "le", "ge") or name[:3] in ("lt_", "gt_", "le_", "ge_"):
        return "i32"
    return t  # type: ignore[return-value]


def operand_type(op: str) -> ValueType:
    """The type an instruction takes."""
    t, name = op.split(".", 1)
    for prefix, src in (("extend_i32", "i32"), ("wrap_i64", "i64"), ("promote_f32", "f32"),
                        ("demote_f64", "f64"), ("reinterpret_f32", "f32"), ("reinterpret_f64", "f64"),
                        ("reinterpret_i32", "i32"), ("reinterpret_i64", "i64")):
        if name.startswith(prefix):
            return src  # type: ignore[return-value]
    if name.startswith(("convert_", "trunc_sat_")):
        return name.split("_")[-2]  # type: ignore[return-value]
    return t  # type: ignore[return-value]
