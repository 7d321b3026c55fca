"""Backend bugs of instruction selection, emulated by rewriting a generated module's text.

``faulty_driver.py`` runs a module with one of these faults when the request carries its
text (the modules of ``conformance/edge_modules.py``: one instruction a line, each memory
access alone on its line as ``<op> offset=N align=N``). Each rewrite does what a backend that
folds or fuses wrongly would compile the pattern to:

- fused-overread:   a narrow load (8 or 16 bits, or i64's 32) whose value goes straight into
                    an arithmetic or comparison instruction is merged into it as a memory operand
                    of the instruction's width (4 or 8 bytes), its value then masked or extended
                    right: it traps within the extra bytes of the end of memory
- narrowed-load:    a 4- or 8-byte load of which only the low bits are used (``and`` with 0xFF,
                    0xFFFF or 0xFFFFFFFF, ``i32.wrap_i64``, ``extend8_s`` and kin) is narrowed to
                    a load of those bits: it no longer traps where its other bytes are past the end
- scaled-index-wrap: base + (index << s) (or * 2**s), and a scaled index alone, is computed as a
                    64-bit address, without the 32-bit wrap (as in CVE-2023-26489, Cranelift's x64
                    lowering of a shifted index into an addressing mode): a sum past 4 GiB traps
                    instead of wrapping to a low address
- offset-folded-into-index: the static offset of a scaled-index access is added to the index
                    before scaling: ea = base + ((index + offset) << s)
- add-folded-into-offset: an ``i32.add`` of a constant (or ``i32.sub`` of one) feeding an access
                    is folded into the access's displacement: ea = base + constant + offset without
                    the 32-bit wrap, so a base plus the constant past 4 GiB traps
- rmw-lost-trap:    a load, one operation, and a store at the same address are fused into one
                    read-modify-write instruction whose memory operand has the store's width
                    (x64 ``add byte [mem], reg`` for an i32.load feeding an i32.store8): where the
                    load is wider than the store its trap is lost and the store happens; where it
                    is narrower it reads the store's width
"""

from __future__ import annotations

import re
from functools import cache

ISEL_FAULTS = ("fused-overread", "narrowed-load", "scaled-index-wrap", "offset-folded-into-index",
               "add-folded-into-offset", "rmw-lost-trap")

_ACCESS = re.compile(r"^(i32|i64|f32|f64)\.(load|store)(8|16|32)?(_[su])? offset=(\d+) align=(\d+)$")
_FUSABLE = ("add", "sub", "mul", "and", "or", "xor", "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s",
            "le_u", "ge_s", "ge_u")

def _split(line: str) -> tuple[str, str, str]:
    """A function's last line: its indent, its instruction, the parentheses that close it."""
    stripped = line.rstrip()
    body = stripped.rstrip(")")
    indent = body[:len(body) - len(body.lstrip())]
    return indent, body.strip(), stripped[len(body):]


def _access(text: str) -> re.Match[str] | None:
    return _ACCESS.match(text)


def _width(m: re.Match[str]) -> int:
    return int(m.group(3)) // 8 if m.group(3) else int(m.group(1)[1:]) // 8


def _is_push(text: str) -> bool:
    return text.startswith(("local.get ", "i32.const ", "i64.const ", "f32.const ", "f64.const "))


def _fused_overread(body: list[str]) -> list[list[str]]:
    out: list[list[str]] = []
    for i, text in enumerate(body):
        m = _access(text)
        full = 4 if m and m.group(1) == "i32" else 8
        if m and m.group(2) == "load" and m.group(1)[0] == "i" and _width(m) < full:
            t = m.group(1)
            nxt = body[i + 1:i + 3]
            consumer = nxt[0] if nxt and not _is_push(nxt[0]) else (nxt[1] if len(nxt) > 1 else "")
            if consumer.startswith(f"{t}.") and consumer.split(".", 1)[1] in _FUSABLE:
                bits = 8 * _width(m)
                fix = [f"{t}.const {(1 << bits) - 1}", f"{t}.and"] if m.group(4) == "_u" else \
                    [f"{t}.extend{bits}_s"]
                out.append([f"{t}.load offset={m.group(5)} align=1", *fix])
                continue
        out.append([text])
    return out


_NARROWING = {("i32", "i32.const 255", "i32.and"): "i32.load8_u",
              ("i32", "i32.const 65535", "i32.and"): "i32.load16_u",
              ("i64", "i64.const 255", "i64.and"): "i64.load8_u",
              ("i64", "i64.const 65535", "i64.and"): "i64.load16_u",
              ("i64", "i64.const 4294967295", "i64.and"): "i64.load32_u"}
_NARROWING_UNARY = {("i32", "i32.extend8_s"): "i32.load8_s", ("i32", "i32.extend16_s"): "i32.load16_s",
                    ("i64", "i64.extend8_s"): "i64.load8_s", ("i64", "i64.extend16_s"): "i64.load16_s",
                    ("i64", "i64.extend32_s"): "i64.load32_s", ("i64", "i32.wrap_i64"): "i64.load32_u"}


def _narrowed_load(body: list[str]) -> list[list[str]]:
    out: list[list[str]] = []
    for i, text in enumerate(body):
        m = _access(text)
        if m and m.group(2) == "load" and m.group(1)[0] == "i" and not m.group(3):
            t, nxt = m.group(1), body[i + 1:i + 3]
            narrow = _NARROWING_UNARY.get((t, nxt[0])) if nxt else None
            if narrow is None and len(nxt) == 2:
                narrow = _NARROWING.get((t, nxt[0], nxt[1]))
            if narrow is not None:
                width = int(narrow.split("load")[1][:-2]) // 8
                out.append([f"{narrow} offset={m.group(5)} align={min(int(m.group(6)), width)}"])
                continue
        out.append([text])
    return out


_SCALE = re.compile(r"^i32\.const (\d+)$")


def _feeds(body: list[str], j: int) -> int | None:
    """Where the access is that takes the address computed just before ``j`` (a load right there,
    or a store after one push of its value), or None."""
    m = _access(body[j]) if j < len(body) else None
    if m is not None:
        return j if m.group(2) == "load" else None
    if j + 1 < len(body) and _is_push(body[j]) and (m := _access(body[j + 1])) and m.group(2) == "store":
        return j + 1
    return None


def _scaled(body: list[str], i: int) -> tuple[str, str, int] | None:
    """At ``i`` an ``i32.const k`` scaling an index (``i32.shl`` or ``i32.mul``) on its way to an
    access: (how: shl or mul, form: base-index, index-base or index, where the access is)."""
    m = _SCALE.match(body[i])
    if not m or i + 1 >= len(body) or body[i + 1] not in ("i32.shl", "i32.mul"):
        return None
    how = body[i + 1][4:]
    rest = body[i + 2:i + 4]
    if rest[:1] == ["i32.add"] and (at := _feeds(body, i + 3)) is not None:
        return how, "base-index", at
    if rest == ["local.get 0", "i32.add"] and (at := _feeds(body, i + 4)) is not None:
        return how, "index-base", at
    if (at := _feeds(body, i + 2)) is not None:
        return how, "index", at
    return None


def _scaled_index_wrap(body: list[str]) -> list[str]:
    out = list(body)
    for i in range(len(body) - 1, -1, -1):
        found = _scaled(body, i)
        if found is None:
            continue
        how, form, _ = found
        if form == "base-index":  # base index k -> the 64-bit address, or one that traps
            out[i + 1:i + 3] = [f"call $isel_fault_{how}_add"]
        elif form == "index-base":  # index k base
            out[i + 1:i + 4] = ["local.get 0", f"call $isel_fault_{how}_add_swapped"]
        else:
            out[i + 1:i + 2] = [f"call $isel_fault_{how}"]
    return out


def _offset_folded_into_index(body: list[str]) -> list[str]:
    out = list(body)
    for i in range(len(body) - 1, -1, -1):
        found = _scaled(body, i)
        if found is None:
            continue
        m = _access(body[found[2]])
        assert m is not None
        if int(m.group(5)):
            out[found[2]] = body[found[2]].replace(f"offset={m.group(5)} ", "offset=0 ")
            out[i:i] = [f"i32.const {m.group(5)}", "i32.add"]
    return out


def _add_folded_into_offset(body: list[str]) -> list[str]:
    out = list(body)
    for i in range(len(body) - 2, -1, -1):
        if not body[i].startswith("i32.const ") or _feeds(body, i + 2) is None:
            continue
        if body[i + 1] == "i32.add":  # base + constant (or constant + constant)
            out[i + 1] = "call $isel_fault_add"
        elif body[i + 1] == "i32.sub":  # base - constant: base + (-constant)
            out[i + 1] = "call $isel_fault_sub"
    for i in range(len(body) - 3, -1, -1):  # constant + base
        if body[i].startswith("i32.const ") and body[i + 1] == "local.get 0" and body[i + 2] == "i32.add" \
                and _feeds(body, i + 3) is not None:
            out[i + 2] = "call $isel_fault_add"
    return out


def _same_address(prefix: list[str]) -> bool:
    """The load's address is the store's: computed twice alike (the other operand may come
    between), or kept in $p."""
    if prefix and prefix[-1] == "local.get $p" and "local.tee $p" in prefix:
        return True
    n = len(prefix)
    for between in (0, 1):
        half = (n - between) // 2
        if half and (n - between) % 2 == 0 and prefix[:half] == prefix[half + between:]:
            return True
    return False


def _rmw_lost_trap(body: list[str]) -> list[str]:
    store = _access(body[-1]) if body else None
    if store is None or store.group(2) != "store":
        return body
    loads = [i for i, text in enumerate(body[:-1]) if (m := _access(text)) and m.group(2) == "load"]
    if not loads or len(body) - 1 - loads[-1] > 3:
        return body
    at = loads[-1]
    load = _access(body[at])
    assert load is not None
    if load.group(1) != store.group(1) or load.group(5) != store.group(5) or _width(load) == _width(store):
        return body
    if not _same_address(body[:at]):
        return body
    t, width = store.group(1), _width(store)
    op = f"{t}.load" if width == int(t[1:]) // 8 else f"{t}.load{8 * width}_u"
    out = list(body)
    out[at] = f"{op} offset={load.group(5)} align={min(int(load.group(6)), width)}"
    return out


_HELPERS = """
  (func $isel_fault_shl_add (param $b i32) (param $i i32) (param $k i32) (result i32)
    (call $isel_fault_wide (i64.add (i64.extend_i32_u (local.get $b))
                                    (i64.shl (i64.extend_i32_u (local.get $i))
                                             (i64.extend_i32_u (local.get $k))))))
  (func $isel_fault_mul_add (param $b i32) (param $i i32) (param $k i32) (result i32)
    (call $isel_fault_wide (i64.add (i64.extend_i32_u (local.get $b))
                                    (i64.mul (i64.extend_i32_u (local.get $i))
                                             (i64.extend_i32_u (local.get $k))))))
  (func $isel_fault_shl_add_swapped (param $i i32) (param $k i32) (param $b i32) (result i32)
    (call $isel_fault_shl_add (local.get $b) (local.get $i) (local.get $k)))
  (func $isel_fault_mul_add_swapped (param $i i32) (param $k i32) (param $b i32) (result i32)
    (call $isel_fault_mul_add (local.get $b) (local.get $i) (local.get $k)))
  (func $isel_fault_shl (param $i i32) (param $k i32) (result i32)
    (call $isel_fault_shl_add (i32.const 0) (local.get $i) (local.get $k)))
  (func $isel_fault_mul (param $i i32) (param $k i32) (result i32)
    (call $isel_fault_mul_add (i32.const 0) (local.get $i) (local.get $k)))
  (func $isel_fault_add (param $b i32) (param $c i32) (result i32)
    (call $isel_fault_wide (i64.add (i64.extend_i32_u (local.get $b)) (i64.extend_i32_u (local.get $c)))))
  (func $isel_fault_sub (param $b i32) (param $c i32) (result i32)
    (call $isel_fault_add (local.get $b) (i32.sub (i32.const 0) (local.get $c))))
  (func $isel_fault_wide (param $a i64) (result i32)
    ;; a 64-bit address past 4 GiB: one at which every access traps
    (select (i32.const -1) (i32.wrap_i64 (local.get $a)) (i64.gt_u (local.get $a) (i64.const 0xffffffff))))"""


@cache
def rewrite_isel(wat: str, fault: str) -> str:
    """The module text with each function body rewritten as ``fault`` says."""
    out: list[str] = []
    body: list[str] = []

    def flush() -> None:
        if not body:
            return
        indent, last, close = _split(body[-1])
        texts = [line.strip() for line in body[:-1]] + [last]
        if fault in ("fused-overread", "narrowed-load"):
            groups = (_fused_overread if fault == "fused-overread" else _narrowed_load)(texts)
            rewritten = [line for group in groups for line in group]
        else:
            rewritten = {"scaled-index-wrap": _scaled_index_wrap, "offset-folded-into-index":
                         _offset_folded_into_index, "add-folded-into-offset": _add_folded_into_offset,
                         "rmw-lost-trap": _rmw_lost_trap}[fault](texts)
        out.extend(indent + line for line in rewritten[:-1])
        out.append(indent + rewritten[-1] + close)
        body.clear()

    for line in wat.splitlines():
        if not line.startswith("    ") or line.strip().startswith("(local"):
            flush()
            out.append(line)
        else:
            body.append(line)
    flush()
    text = "\n".join(out) + "\n"
    return text.replace("(module", "(module" + _HELPERS, 1)
