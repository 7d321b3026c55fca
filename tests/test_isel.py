"""The pieces behind test_instruction_selection.py: the numeric model and the backend-bug rewrites.

The suite checks the model against every runtime; these pin the corners where a model of
floats or integers is easy to get wrong, and that each fault of ``isel_faults.py`` rewrites
exactly the pattern it is named for (and leaves look-alikes alone).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import wasmtime

from conformance.edge_modules import MEM_OPS, Access, AddrShape, StoreValue, Use, isel_module
from conformance.model import numeric

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isel_faults import _HELPERS, ISEL_FAULTS, rewrite_isel

F32_ONE, F32_NEG_ZERO, F32_NAN = 0x3F80_0000, 0x8000_0000, 0x7FC0_0000


@pytest.mark.parametrize(("op", "a", "b", "want"), [
    ("i32.rotl", 0x8000_0001, 1, 0x0000_0003),
    ("i32.rotr", 1, 33, 0x8000_0000),  # the count is taken modulo 32
    ("i32.shr_s", 0x8000_0000, 31, 0xFFFF_FFFF),
    ("i64.shl", 1, 64, 1),
    ("i32.rem_s", 0xFFFF_FFF9, 2, 0xFFFF_FFFF),  # -7 rem 2 = -1: the sign of the dividend
    ("i32.div_u", 0xFFFF_FFFF, 2, 0x7FFF_FFFF),
    ("i32.lt_s", 0xFFFF_FFFF, 0, 1),
    ("i32.lt_u", 0xFFFF_FFFF, 0, 0),
    ("f32.min", 0, F32_NEG_ZERO, F32_NEG_ZERO),
    ("f32.max", F32_NEG_ZERO, 0, 0),
    ("f32.min", F32_ONE, F32_NAN | 1, F32_NAN),  # any NaN: the canonical one
    ("f32.copysign", F32_ONE, F32_NEG_ZERO, 0xBF80_0000),
    ("f32.add", 0x7F7F_FFFF, 0x7F7F_FFFF, 0x7F80_0000),  # overflow rounds to infinity
    ("f32.div", 0, 0, F32_NAN),
    ("f64.div", 0x3FF0_0000_0000_0000, 0x8000_0000_0000_0000, 0xFFF0_0000_0000_0000),
    ("f32.lt", F32_NAN, F32_ONE, 0),
])
def test_binary(op: str, a: int, b: int, want: int) -> None:
    assert numeric.binary(op, a, b) == want


@pytest.mark.parametrize(("op", "a", "want"), [
    ("f32.convert_i32_u", 16_777_217, 0x4B80_0000),  # 2**24 + 1 ties to even: 2**24
    ("f32.convert_i32_u", 16_777_219, 0x4B80_0002),  # 2**24 + 3 ties to even: 2**24 + 4
    ("f32.convert_i64_s", 0x7FFF_FFFF_FFFF_FFFF, 0x5F00_0000),  # rounds up to 2**63
    ("f32.convert_i64_u", 0x0020_0000_2000_0001, 0x5A00_0001),  # once, not through f64 first
    ("f64.convert_i64_s", 0xFFFF_FFFF_FFFF_FFFF, 0xBFF0_0000_0000_0000),
    ("i32.trunc_sat_f32_s", F32_NAN, 0),
    ("i32.trunc_sat_f32_u", 0xBF80_0000, 0),  # -1.0 saturates at 0
    ("i32.trunc_sat_f32_s", 0x7F80_0000, 0x7FFF_FFFF),
    ("i64.trunc_sat_f64_s", 0xC3E0_0000_0000_0001, 0x8000_0000_0000_0000),
    ("i32.extend8_s", 0x0000_0080, 0xFFFF_FF80),
    ("i64.extend32_s", 0x8000_0000, 0xFFFF_FFFF_8000_0000),
    ("i64.extend_i32_s", 0x8000_0000, 0xFFFF_FFFF_8000_0000),
    ("i32.wrap_i64", 0x1_2345_6789, 0x2345_6789),
    ("i64.clz", 1, 63),
    ("i32.ctz", 0, 32),
    ("f32.sqrt", 0xBF80_0000, F32_NAN),
    ("f32.sqrt", F32_NEG_ZERO, F32_NEG_ZERO),
    ("f32.demote_f64", 0x47EF_FFFF_F000_0000, 0x7F80_0000),  # halfway past the largest f32: infinity
    ("f64.promote_f32", 0x7FA0_0000, 0x7FF8_0000_0000_0000),
])
def test_unary(op: str, a: int, want: int) -> None:
    assert numeric.unary(op, a) == want


def test_division_traps() -> None:
    with pytest.raises(numeric.NumericTrap, match="integer-divide-by-zero"):
        numeric.binary("i64.rem_u", 5, 0)
    assert numeric.binary("i32.rem_s", 0x8000_0000, 0xFFFF_FFFF) == 0  # no overflow for rem


P = AddrShape("param")
ACCESSES = [
    Access("narrow_add", "load", MEM_OPS["i32.load8_u"], P, 3, 1, use=Use("binary", "i32.add", 1)),
    Access("masked", "load", MEM_OPS["i64.load"], P, 0, 8, use=Use("binary", "i64.and", 0, 0xFFFF)),
    Access("scaled", "load", MEM_OPS["i32.load"], AddrShape("base+index", 2), 8, 4),
    Access("scaled_store", "store", MEM_OPS["i32.store"], AddrShape("index+base", 3, "mul"), 4, 4,
           value=StoreValue("param", "i32")),
    Access("plus_const", "load", MEM_OPS["i32.load"], AddrShape("base+const", const=0xFFFF_0000), 0, 4),
    Access("rmw", "rmw", MEM_OPS["i32.load"], P, 2, 4, use=Use("binary", "i32.xor", 0, 1),
           store_op=MEM_OPS["i32.store8"]),
    # look-alikes: a computed store value (an add of a constant before the store), a consumed
    # result stored at offset 1024 whose load also has offset 1024
    Access("value_plus", "store", MEM_OPS["i32.store"], P, 0, 4,
           value=StoreValue("computed", "i32", "i32.add", 9)),
    Access("stored", "load", MEM_OPS["i32.load"], P, 1024, 4, use=Use("binary", "i32.add", 0, 7),
           stored=True),
]
CHANGES = {
    "fused-overread": {"narrow_add"},
    "narrowed-load": {"masked"},
    "scaled-index-wrap": {"scaled", "scaled_store"},
    "offset-folded-into-index": {"scaled", "scaled_store"},
    "add-folded-into-offset": {"plus_const"},
    "rmw-lost-trap": {"rmw"},
}


def _functions(text: str) -> dict[str, str]:
    parts = text.replace(_HELPERS, "").split('  (func (export "')[1:]
    return {part.split('"', 1)[0]: part for part in parts}


@pytest.mark.parametrize("fault", ISEL_FAULTS)
def test_each_fault_rewrites_its_pattern_only(fault: str) -> None:
    text = isel_module(1, ACCESSES)
    faulty = rewrite_isel(text, fault)
    wasmtime.wat2wasm(faulty)  # still a module
    before, after = _functions(text), _functions(faulty)
    assert {name for name in before if before[name] != after[name]} == CHANGES[fault]
