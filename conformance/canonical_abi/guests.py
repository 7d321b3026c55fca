"""Guest components generated per WIT type, for checking hosts' canonical ABI against this engine.

For a WIT type ``T``, :func:`guest_wat` is a core module and :func:`guest_wit` the world it
implements; :func:`component` wraps them into a component with jco's wasm-tools
(``componentEmbed`` then ``componentNew``, by ``conformance/drivers/js/component_tool.js``
under node), cached by content. The world::

    package conformance:guest;
    world guest {
      <T's type declarations>
      export echo: func(x: T) -> T;
      export digest: func(x: list<T>) -> list<u8>;
      export counts: func() -> tuple<u32, u32, u32>;
      export realloc-log: func() -> list<u32>;
    }

- ``echo`` returns what it was given: a single flat result is its parameter as it came; more
  are stored from its flat parameters into a return area in ``T``'s layout, and where ``T``'s
  flat parameters were more than 16 the host passed a pointer to them in memory, which is
  returned as the result pointer (the same layout: a tuple of one ``T`` is laid out as ``T``).
- ``digest`` takes ``T`` *in memory*, as one element of a list: whatever ``T``'s flat size,
  the host stores it with the spec's ``store`` into blocks from ``cabi_realloc``. It returns
  the bytes the host put there: 8 bytes (the list's pointer and length, little-endian)
  followed by the allocator's arena from :data:`ARENA` to its end, every block the host asked
  for in this instance. Nothing else writes the arena, so it is exactly what the host lowered.
- ``cabi_realloc`` is a bump allocator with :class:`~.alloc.BumpAllocator`'s rules from
  :data:`ARENA` up (growing memory as needed); it logs every call as five ``u32``: old
  pointer, old size, alignment, new size, and the pointer it returned.
  ``realloc-log`` returns the log (at most :data:`LOG_CAPACITY` calls; ``counts`` has the
  total).
- ``cabi_post_echo`` and ``cabi_post_digest`` (the post-return functions) count their calls;
  ``counts`` returns (echo's post-returns, digest's post-returns, ``cabi_realloc`` calls).

The component's ``canon lift`` options give its string encoding: UTF-8 unless asked for UTF-16 or
latin1+UTF-16 (the guest's code is the same: it copies code units and tagged lengths as they are).
jco's wasm-tools cannot embed a ``compact-utf16`` world (it traps), so a latin1+UTF-16 component is
made as a UTF-16 one and its lifts' option rewritten (``binary.py``).

**Trap guests** (:func:`trap_component`), for what a host must refuse to lift: for a WIT type
``T`` whose flat result is one ``i32`` or spilled to memory, the world is only::

    export bad: func(at: u32, data: list<u8>, ret: u32) -> T;

``bad`` copies ``data`` (lowered by the host into ``cabi_realloc``'s block at :data:`ARENA`) to
``at`` and returns ``ret`` as its one core result: ``T``'s flat value itself where ``T``
flattens to one ``i32`` (a ``char``, an ``enum``, a ``bool``), else the pointer to ``T`` in
memory (a string's or list's pointer and length, a variant's discriminant), which the data
put there. So the test chooses every byte and constant the host lifts, one component per
``T`` and string encoding (``string-encoding=utf16`` or ``latin1+utf16`` on the ``canon lift``), and
the engine lifts the same: memory is :data:`TRAP_MEMORY` bytes (one page, never grown: the
allocator traps rather than grow) holding ``data`` at ``ARENA`` and at ``at``.

For what a host must refuse to lower into, the same world has ``set-realloc: func(answer: u32)``,
after which ``cabi_realloc``'s next call answers ``answer`` whatever was asked (a pointer the test
chooses: misaligned, or past the end of memory), and ``take: func(x: T)``, which does nothing with
the value the host lowered.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .abi import (
    CoreType,
    discriminant_size,
    field_offsets,
    flatten,
    flatten_functype,
    payload_offset,
    record_fields,
    size,
    variant_cases,
)
from .binary import ENCODING_OPTIONS, with_lift_string_encoding
from .types import Enum, Flags, List, Option, Prim, Record, Result, Tuple, Variant, WitType
from .wit import wit, wit_typedefs

__all__ = [
    "ARENA",
    "LOG_CAPACITY",
    "TRAP_MEMORY",
    "ComponentToolError",
    "component",
    "component_cache_dir",
    "guest_wat",
    "guest_wit",
    "trap_component",
    "trap_guest_wat",
    "trap_guest_wit",
]

COUNTS = 0x10
"""echo's post-returns, digest's post-returns, cabi_realloc's calls: three u32"""
LIST_RET = 0x20
"""the (pointer, length) of a list result"""
RET_AREA = 0x100
RET_AREA_END = 0x1000
LOG = 0x1000
LOG_ENTRY = 20
LOG_CAPACITY = 512
DIGEST_HEAD = 0x3FF8
"""digest's list pointer and length, stored just before the arena"""
ARENA = 0x4000
"""where cabi_realloc's first block may start"""
assert LOG + LOG_ENTRY * LOG_CAPACITY <= DIGEST_HEAD


def guest_wit(t: WitType) -> str:
    """The WIT of ``t``'s guest world."""
    decls = wit_typedefs(t)
    body = "".join(f"  {line}\n" if line else "\n" for line in decls.splitlines())
    name = wit(t)
    return (f"package conformance:guest;\n\nworld guest {{\n{body}"
            f"  export echo: func(x: {name}) -> {name};\n"
            f"  export digest: func(x: list<{name}>) -> list<u8>;\n"
            "  export counts: func() -> tuple<u32, u32, u32>;\n"
            "  export realloc-log: func() -> list<u32>;\n}\n")


_STORE = {"bool": "i32.store8", "s8": "i32.store8", "u8": "i32.store8", "s16": "i32.store16",
          "u16": "i32.store16", "s32": "i32.store", "u32": "i32.store", "char": "i32.store",
          "s64": "i64.store", "u64": "i64.store", "f32": "f32.store", "f64": "f64.store"}
_STORE_BY_SIZE = {1: "i32.store8", 2: "i32.store16", 4: "i32.store"}

Flat = Iterator[tuple[str, CoreType]]


def _narrow(expr: str, have: CoreType, want: CoreType) -> str:
    """A case's flat value read from its variant's joined slot (the spec's lift_flat_variant)."""
    if have == want:
        return expr
    if want == "f64":
        return f"(f64.reinterpret_i64 {expr})"
    if have == "i64":
        expr = f"(i32.wrap_i64 {expr})"
    return f"(f32.reinterpret_i32 {expr})" if want == "f32" else expr


def _store(t: WitType, addr: int, flat: Flat) -> list[str]:
    """WAT that stores the value the flat expressions carry at ``addr`` in ``t``'s layout."""
    match t:
        case Prim("string") | List():
            (ptr, _), (length, _) = next(flat), next(flat)
            return [f"(i32.store (i32.const {addr}) {ptr})", f"(i32.store (i32.const {addr + 4}) {length})"]
        case Prim(kind):
            expr, _ = next(flat)
            return [f"({_STORE[kind]} (i32.const {addr}) {expr})"]
        case Record() | Tuple():
            out: list[str] = []
            for (_, field), offset in zip(record_fields(t), field_offsets(t), strict=True):
                out += _store(field, addr + offset, flat)
            return out
        case Variant() | Enum() | Option() | Result():
            cases = variant_cases(t)
            disc, _ = next(flat)
            slots = [next(flat) for _ in flatten(t)[1:]]
            out = [f"({_STORE_BY_SIZE[discriminant_size(len(cases))]} (i32.const {addr}) {disc})"]
            for i, case in enumerate(cases):
                if case.type is None:
                    continue
                narrowed = iter([(_narrow(e, have, want), want)
                                 for (e, have), want in zip(slots, flatten(case.type), strict=False)])
                body = " ".join(_store(case.type, addr + payload_offset(t), narrowed))
                out.append(f"(if (i32.eq {disc} (i32.const {i})) (then {body}))")
            return out
        case Flags():
            expr, _ = next(flat)
            return [f"({_STORE_BY_SIZE[size(t)]} (i32.const {addr}) {expr})"]
    raise TypeError(f"not a WIT type: {t!r}")


def _echo(t: WitType) -> str:
    ft = flatten_functype([t], [t], context="lift")
    params = " ".join(f"(param {x})" for x in ft.params)
    result = f"(result {ft.results[0]})"
    flat = flatten(t)
    if len(flat) > len(ft.params) or len(flat) == 1:
        # a pointer to the parameters in memory, laid out as T: the result; or one value: itself
        body = "(local.get 0)"
    else:
        if size(t) > RET_AREA_END - RET_AREA:
            raise ValueError(f"{wit(t)}: {size(t)} bytes do not fit the return area")
        stores = _store(t, RET_AREA, iter([(f"(local.get {i})", x) for i, x in enumerate(flat)]))
        body = "\n    ".join([*stores, f"(i32.const {RET_AREA})"])
    return (f'  (func (export "echo") {params} {result}\n    {body})\n'
            f'  (func (export "cabi_post_echo") (param {ft.results[0]})\n'
            f"    (i32.store (i32.const {COUNTS})\n"
            f"      (i32.add (i32.load (i32.const {COUNTS})) (i32.const 1))))\n")


_COMMON = f"""
  (global $next (mut i32) (i32.const {ARENA}))
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
    (result i32)
    (local $ptr i32) (local $end i32) (local $n i32) (local $entry i32)
    (if (i32.or (i32.eqz (local.get $align))
                (i32.and (local.get $align) (i32.sub (local.get $align) (i32.const 1))))
      (then unreachable))
    (if (i32.and (i32.ne (local.get $old) (i32.const 0))
                 (i32.and (i32.le_u (local.get $size) (local.get $old_size))
                          (i32.eqz (i32.and (local.get $old) (i32.sub (local.get $align) (i32.const 1))))))
      (then (local.set $ptr (local.get $old)))
      (else
        (local.set $ptr (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                                 (i32.sub (i32.const 0) (local.get $align))))
        (local.set $end (i32.add (local.get $ptr) (local.get $size)))
        (global.set $next (local.get $end))
        (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
          (then
            (if (i32.eq (memory.grow (i32.sub (i32.shr_u (i32.add (local.get $end) (i32.const 65535))
                                                        (i32.const 16))
                                              (memory.size)))
                        (i32.const -1))
              (then unreachable))))
        (if (local.get $old)
          (then (memory.copy (local.get $ptr) (local.get $old)
                             (select (local.get $old_size) (local.get $size)
                                     (i32.lt_u (local.get $old_size) (local.get $size))))))))
    (local.set $n (i32.load (i32.const {COUNTS + 8})))
    (if (i32.lt_u (local.get $n) (i32.const {LOG_CAPACITY}))
      (then
        (local.set $entry (i32.add (i32.const {LOG}) (i32.mul (local.get $n) (i32.const {LOG_ENTRY}))))
        (i32.store (local.get $entry) (local.get $old))
        (i32.store offset=4 (local.get $entry) (local.get $old_size))
        (i32.store offset=8 (local.get $entry) (local.get $align))
        (i32.store offset=12 (local.get $entry) (local.get $size))
        (i32.store offset=16 (local.get $entry) (local.get $ptr))))
    (i32.store (i32.const {COUNTS + 8}) (i32.add (local.get $n) (i32.const 1)))
    (local.get $ptr))
  (func (export "digest") (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const {DIGEST_HEAD}) (local.get $ptr))
    (i32.store (i32.const {DIGEST_HEAD + 4}) (local.get $len))
    (i32.store (i32.const {LIST_RET}) (i32.const {DIGEST_HEAD}))
    (i32.store (i32.const {LIST_RET + 4}) (i32.sub (global.get $next) (i32.const {DIGEST_HEAD})))
    (i32.const {LIST_RET}))
  (func (export "cabi_post_digest") (param i32)
    (i32.store (i32.const {COUNTS + 4}) (i32.add (i32.load (i32.const {COUNTS + 4})) (i32.const 1))))
  (func (export "counts") (result i32) (i32.const {COUNTS}))
  (func (export "realloc-log") (result i32)
    (i32.store (i32.const {LIST_RET}) (i32.const {LOG}))
    (i32.store (i32.const {LIST_RET + 4})
      (i32.mul (i32.const 5)
        (select (i32.load (i32.const {COUNTS + 8})) (i32.const {LOG_CAPACITY})
                (i32.lt_u (i32.load (i32.const {COUNTS + 8})) (i32.const {LOG_CAPACITY})))))
    (i32.const {LIST_RET}))
"""


def guest_wat(t: WitType) -> str:
    """The core module of ``t``'s guest (see the module's documentation)."""
    return f'(module\n  (memory (export "memory") 1)\n{_COMMON}{_echo(t)})\n'


TRAP_MEMORY = 1 << 16
"""a trap guest's memory: one page, never grown"""


def trap_guest_wit(t: WitType) -> str:
    """The WIT of ``t``'s trap guest: ``bad: func(at: u32, data: list<u8>, ret: u32) -> T``,
    ``set-realloc: func(answer: u32)`` and ``take: func(x: T)``."""
    decls = wit_typedefs(t)
    body = "".join(f"  {line}\n" if line else "\n" for line in decls.splitlines())
    return (f"package conformance:guest;\n\nworld guest {{\n{body}"
            f"  export bad: func(at: u32, data: list<u8>, ret: u32) -> {wit(t)};\n"
            "  export set-realloc: func(answer: u32);\n"
            f"  export take: func(x: {wit(t)});\n}}\n")


def trap_guest_wat(t: WitType) -> str:
    """The core module of ``t``'s trap guest (see the module's documentation)."""
    results = list(flatten_functype([], [t], context="lift").results)
    if results != ["i32"]:
        raise ValueError(f"{wit(t)}: its flat result is {results}, not one i32 (a value or a pointer)")
    taken = " ".join(f"(param {p})" for p in flatten_functype([t], [], context="lift").params)
    return f"""(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const {ARENA}))
  (global $forced (mut i32) (i32.const 0))
  (global $answer (mut i32) (i32.const 0))
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
    (result i32)
    (local $ptr i32)
    (if (global.get $forced)
      (then (global.set $forced (i32.const 0)) (return (global.get $answer))))
    (local.set $ptr (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
    (if (i32.gt_u (i32.add (local.get $ptr) (local.get $size)) (i32.const {TRAP_MEMORY}))
      (then unreachable))
    (global.set $next (i32.add (local.get $ptr) (local.get $size)))
    (local.get $ptr))
  (func (export "bad") (param $at i32) (param $data i32) (param $len i32) (param $ret i32) (result i32)
    (memory.copy (local.get $at) (local.get $data) (local.get $len))
    (local.get $ret))
  (func (export "set-realloc") (param $answer i32)
    (global.set $answer (local.get $answer))
    (global.set $forced (i32.const 1)))
  (func (export "take") {taken}))
"""


# -- the component, made by jco's wasm-tools under node, cached by content ------------------

TOOL = Path(__file__).resolve().parent.parent / "drivers" / "js" / "component_tool.js"


class ComponentToolError(RuntimeError):
    """The component could not be made: no node, no jco, or wasm-tools refused the module."""


def component_cache_dir() -> Path:
    """``wasm-memory-conformance/components`` under ``$XDG_CACHE_HOME`` (default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wasm-memory-conformance" / "components"


class _Tool:
    """One node process running component_tool.js, answering a JSON line per request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.hello: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        if self.proc is not None and self.proc.poll() is None:
            return self.hello
        from conformance.runtimes import _js_engine, js_engines_dir

        node, missing = _js_engine("node")
        if missing and shutil.which(node) is None:
            raise ComponentToolError(missing)
        env = {**os.environ, "WASM_CONFORMANCE_JS_DIR": str(js_engines_dir())}
        self.proc = subprocess.Popen([node, str(TOOL)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env)
        self.hello = self._read()
        if "unavailable" in self.hello:
            self.proc.wait()
            self.proc = None
            raise ComponentToolError(str(self.hello["unavailable"]))
        return self.hello

    def _read(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc = None
            raise ComponentToolError("component_tool.js ended without an answer")
        answer: dict[str, Any] = json.loads(line)
        if "wasm trap" in str(answer.get("error", "")):
            # jco's tools are components themselves: one that trapped (wasm-tools on a module it
            # cannot take, the transpiler on a latin1+utf16 lift) refuses every later call
            # ("cannot enter component instance"), so the next request gets a fresh process
            self.close()
        return answer

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()

    def make(self, wasm: bytes, wit_text: str, string_encoding: str = "utf8") -> bytes:
        request = {"wasm": wasm.hex(), "wit": wit_text}
        if string_encoding != "utf8":
            request["stringEncoding"] = string_encoding
        with self.lock:
            self.start()
            assert self.proc is not None and self.proc.stdin is not None
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            answer = self._read()
        if "error" in answer:
            raise ComponentToolError(str(answer["error"]))
        return bytes.fromhex(answer["component"])


    def transpile(self, component: bytes) -> None:
        """Have jco transpile ``component`` into its cache (for deno, which cannot transpile)."""
        with self.lock:
            self.start()
            assert self.proc is not None and self.proc.stdin is not None
            self.proc.stdin.write((json.dumps({"transpile": component.hex()}) + "\n").encode())
            self.proc.stdin.flush()
            answer = self._read()
        if "error" in answer:
            raise ComponentToolError(str(answer["error"]))


_TOOL = _Tool()
_TRANSPILED: set[str] = set()


def ensure_transpiled(component: bytes) -> str:
    """Make sure jco's transpiled glue of ``component`` is in its cache, where a JS host that cannot
    run the transpiler (deno) finds it: "" when done (or done before in this process), else why not
    (no node or no jco here: the hosts then say so themselves)."""
    digest = hashlib.sha256(component).hexdigest()
    if digest in _TRANSPILED:
        return ""
    try:
        _TOOL.transpile(component)
    except (ComponentToolError, OSError) as exc:
        return str(exc)
    _TRANSPILED.add(digest)
    return ""


def component(t: WitType, string_encoding: str = "utf8", *, cache_dir: Path | None = None) -> Path:
    """The path of ``t``'s guest component, its ``canon lift`` in ``string_encoding`` (``utf8``,
    ``utf16`` or ``latin1+utf16``: how the host lowers its strings and lifts echo's), made once per
    content (module, WIT, encoding, jco's version)."""
    if string_encoding not in ENCODING_OPTIONS:
        raise ValueError(f"a guest's strings are utf8, utf16 or latin1+utf16, not {string_encoding!r}")
    return _made(guest_wat(t), guest_wit(t), string_encoding, cache_dir)


def trap_component(t: WitType, string_encoding: str = "utf8", *, cache_dir: Path | None = None) -> Path:
    """The path of ``t``'s trap guest component, its ``canon lift`` in ``string_encoding``
    (``utf8``, ``utf16`` or ``latin1+utf16``)."""
    if string_encoding not in ENCODING_OPTIONS:
        raise ValueError(f"a trap guest's strings are utf8, utf16 or latin1+utf16, not {string_encoding!r}")
    return _made(trap_guest_wat(t), trap_guest_wit(t), string_encoding, cache_dir)


def _made(wat: str, wit_text: str, string_encoding: str, cache_dir: Path | None) -> Path:
    from conformance.guests import assemble

    wasm = assemble(wat)
    where = cache_dir or component_cache_dir()
    digest = hashlib.sha256(wasm + b"\0" + wit_text.encode() + b"\0" + string_encoding.encode() + b"\0"
                            + TOOL.read_bytes())
    path = where / f"{digest.hexdigest()}.wasm"
    if path.is_file():
        return path
    if string_encoding == "latin1+utf16":
        # wasm-tools cannot embed compact-utf16 (it traps): made as utf16, its lifts' option rewritten
        # (jco's transpiler cannot take it either: a JS host answers unsupported, saying so)
        made = with_lift_string_encoding(_TOOL.make(wasm, wit_text, "utf16"), string_encoding)
    else:
        made = _TOOL.make(wasm, wit_text, string_encoding)
    where.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(made)
    os.replace(tmp, path)
    return path
