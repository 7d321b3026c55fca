"""Guest modules compiled from C for a struct schema, so that clang is the ground truth of a layout.

For a :class:`~conformance.layout.Struct` the generated C (:func:`generate_c`)
declares the struct (:func:`~conformance.layout.c_declaration`) and exports,
with ``__attribute__((export_name(...)))`` and no imports:

====================================  =========================================================
``size_of() -> i32``                  ``sizeof(struct S)``
``align_of() -> i32``                 ``_Alignof(struct S)``
``off_<m>() -> i32``                  ``offsetof(struct S, <path>)``, for every scalar leaf
``get_<m>(base: i32) -> i32|i64``     the leaf read through ``((struct S *)base)-><path>``
``set_<m>(base: i32, v: i32|i64)``    the leaf written through the same lvalue
``memory``                            the module's memory (wasm-ld's default export)
====================================  =========================================================

``<m>`` is :func:`mangle` of the leaf's path (``"n.y"``, ``"arr[2]"``). Leaves
cross the call boundary as: ``i8``/``i16`` sign-extended to i32 and
``u8``/``u16`` zero-extended (C's integer promotions), ``i32``/``u32``/``ptr``
as i32, ``i64``/``u64`` as i64, and floats as their **bit patterns** (``f32``
as i32, ``f64`` as i64, through a union), so that NaN payloads survive the
call. :meth:`GuestField.to_wasm` and :meth:`GuestField.from_wasm` convert
between those and :mod:`conformance.layout` values.

:func:`compile_guest` compiles with ``clang --target=wasm32`` (freestanding,
no libc, ``-O1``, ``--no-entry``, ``--strip-all``), or ``python -m ziglang cc
--target=wasm32-freestanding`` when there is no such clang, and caches the
result in ``cache_dir`` under the sha256 of the C source, the compiler's
version and the flags. Compiling is deterministic: the same schema and
compiler give the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from conformance.layout import Leaf, ScalarKind, Struct, c_declaration, leaves, scalar_range

if TYPE_CHECKING:
    from conformance.guests import Guest

__all__ = [
    "CompileError",
    "CompiledGuest",
    "Compiler",
    "GuestField",
    "NoCompiler",
    "compile_guest",
    "default_cache_dir",
    "demangle",
    "find_compiler",
    "generate_c",
    "mangle",
]

WasmType = Literal["i32", "i64"]

# Flags shared by both compilers; the target comes first and differs.
FLAGS: Final = (
    "-std=c11", "-O1", "-ffreestanding", "-nostdlib", "-Wall",
    "-Wl,--no-entry", "-Wl,--strip-all",
)
_TIMEOUT: Final = 300.0  # the first `zig cc` builds its caches


class NoCompiler(RuntimeError):
    """No C compiler that targets wasm32 here; the message says what was tried, on one line."""


class CompileError(RuntimeError):
    """The compiler failed on generated C, or produced a module without the expected exports."""


# ---------------------------------------------------------------------------
# Export names

_PATH_TOKEN: Final = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]")


def mangle(path: str) -> str:
    """A C identifier (and export-name suffix) for a field path, one-to-one.

    Letters and digits stay; ``_`` becomes ``__``; ``.`` becomes ``_d``;
    ``[k]`` becomes ``_k``. So ``"n.y"`` -> ``"n_dy"``, ``"arr[2]"`` ->
    ``"arr_2"``, ``"pts[1].x_y"`` -> ``"pts_1_dx__y"``. Distinct paths give
    distinct names (:func:`demangle` inverts it), even ``"a_b.c"`` and
    ``"a.b_c"``.
    """
    out: list[str] = []
    pos = 0
    for m in _PATH_TOKEN.finditer(path):
        name, index = m.group(1), m.group(2)
        dotted = m.group(0).startswith(".")
        if m.start() != pos or (name is not None and dotted != (pos > 0)) or (pos == 0 and name is None):
            break
        if name is not None:
            out.append(("_d" if dotted else "") + name.replace("_", "__"))
        else:
            out.append(f"_{index}")
        pos = m.end()
    if pos != len(path) or not path:
        raise ValueError(f"not a field path: {path!r}")
    return "".join(out)


def demangle(name: str) -> str:
    """The field path :func:`mangle` turned into ``name``."""
    out: list[str] = []
    i = 0
    while i < len(name):
        c = name[i]
        if c != "_":
            out.append(c)
            i += 1
            continue
        nxt = name[i + 1:i + 2]
        if nxt == "_":
            out.append("_")
            i += 2
        elif nxt == "d":
            out.append(".")
            i += 2
        elif nxt.isdigit():
            j = i + 1
            while j < len(name) and name[j].isdigit():
                j += 1
            out.append(f"[{name[i + 1:j]}]")
            i = j
        else:
            raise ValueError(f"not a mangled field path: {name!r}")
    path = "".join(out)
    if not path or mangle(path) != name:
        raise ValueError(f"not a mangled field path: {name!r}")
    return path


# ---------------------------------------------------------------------------
# The C source

# kind -> (C type of the wasm-side value, wasm value type)
_ABI: Final[dict[str, tuple[str, WasmType]]] = {
    "i8": ("int", "i32"), "u8": ("int", "i32"), "i16": ("int", "i32"), "u16": ("int", "i32"),
    "i32": ("int", "i32"), "u32": ("unsigned int", "i32"), "ptr": ("unsigned int", "i32"),
    "i64": ("long long", "i64"), "u64": ("unsigned long long", "i64"),
    "f32": ("unsigned int", "i32"), "f64": ("unsigned long long", "i64"),
}
_C_SCALAR: Final[dict[str, str]] = {
    "i8": "signed char", "u8": "unsigned char", "i16": "short", "u16": "unsigned short",
    "i32": "int", "u32": "unsigned int", "i64": "long long", "u64": "unsigned long long",
    "f32": "float", "f64": "double", "ptr": "void *",
}


def _accessors(leaf: Leaf, tag: str) -> str:
    m = mangle(leaf.path)
    wasm_c, _ = _ABI[leaf.kind]
    lvalue = f"at(base)->{leaf.path}"
    if leaf.kind in ("f32", "f64"):
        fl = _C_SCALAR[leaf.kind]
        get_body = f"union {{ {fl} f; {wasm_c} u; }} c; c.f = {lvalue}; return c.u;"
        set_body = f"union {{ {fl} f; {wasm_c} u; }} c; c.u = v; {lvalue} = c.f;"
    elif leaf.kind == "ptr":
        get_body = f"return (unsigned int)(__UINTPTR_TYPE__){lvalue};"
        set_body = f"{lvalue} = (void *)(__UINTPTR_TYPE__)v;"
    else:
        get_body = f"return {lvalue};"
        set_body = f"{lvalue} = ({_C_SCALAR[leaf.kind]})v;"
    return (
        f'EXPORT("off_{m}") unsigned int off_{m}(void) {{ return __builtin_offsetof({tag}, {leaf.path}); }}\n'
        f'EXPORT("get_{m}") {wasm_c} get_{m}(unsigned int base) {{ {get_body} }}\n'
        f'EXPORT("set_{m}") void set_{m}(unsigned int base, {wasm_c} v) {{ {set_body} }}\n'
    )


def generate_c(schema: Struct) -> str:
    """The guest's C source for ``schema`` (see the module docstring for its exports)."""
    if not isinstance(schema, Struct):
        raise TypeError(f"expected a Struct, got {schema!r}")
    tag = f"struct {schema.name}"
    parts = [
        f"/* Generated by conformance.cguest for {tag}; do not edit. */\n\n",
        c_declaration(schema),
        "\n#define EXPORT(name) __attribute__((export_name(name)))\n\n",
        f"static {tag} *at(unsigned int base) {{ return ({tag} *)(__UINTPTR_TYPE__)base; }}\n\n",
        f'EXPORT("size_of") unsigned int size_of(void) {{ return sizeof({tag}); }}\n',
        f'EXPORT("align_of") unsigned int align_of(void) {{ return _Alignof({tag}); }}\n',
    ]
    for leaf in leaves(schema):
        parts.append("\n" + _accessors(leaf, tag))
    return "".join(parts)


# ---------------------------------------------------------------------------
# Compilers

@dataclass(frozen=True, slots=True)
class Compiler:
    """A C compiler that builds wasm32 modules: the command before the flags, and its identity.

    ``identity`` (the compiler's own version output) goes into the cache key.
    """

    name: str
    argv: tuple[str, ...]
    identity: str

    def command(self, source: str, output: str) -> list[str]:
        return [*self.argv, *FLAGS, "-o", output, source]


_PROBE_C: Final = '__attribute__((export_name("probe"))) int probe(void) { return 42; }\n'


def _run(argv: list[str], cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT, check=False)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def _probe(compiler: Compiler) -> str | None:
    """Why ``compiler`` cannot build a wasm32 module, or None if it can."""
    with tempfile.TemporaryDirectory(prefix="cguest-probe-") as tmp:
        Path(tmp, "probe.c").write_text(_PROBE_C)
        try:
            proc = _run(compiler.command("probe.c", "probe.wasm"), cwd=tmp)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{exc}"
        if proc.returncode != 0:
            return f"cannot build wasm32: {_last_line(proc.stderr + proc.stdout)}"
        out = Path(tmp, "probe.wasm")
        if not out.is_file() or not out.read_bytes().startswith(b"\0asm"):
            return "cannot build wasm32: no module written"
    return None


@cache
def find_compiler(*, clang: str = "clang", python: str = sys.executable) -> Compiler:
    """The first of ``clang`` (with wasm32 support and wasm-ld) and ``python -m ziglang cc`` that works.

    Each candidate is checked by compiling a tiny module, once per process.
    Raises :class:`NoCompiler` saying what was tried and why each failed.
    """
    reasons: list[str] = []
    path = shutil.which(clang)
    if path is None:
        reasons.append(f"{clang}: not found")
    else:
        try:
            version = _run([path, "--version"]).stdout.strip()
        except (OSError, subprocess.TimeoutExpired) as exc:
            version = ""
            reasons.append(f"{path}: {exc}")
        if version:
            found = Compiler("clang", (path, "--target=wasm32"), version)
            why = _probe(found)
            if why is None:
                return found
            reasons.append(f"{path}: {why}")
    try:
        zig = _run([python, "-m", "ziglang", "version"])
        zig_version = zig.stdout.strip() if zig.returncode == 0 else ""
        zig_why = "" if zig_version else f"not importable ({_last_line(zig.stderr)})"
    except (OSError, subprocess.TimeoutExpired) as exc:
        zig_version, zig_why = "", str(exc)
    if zig_version:
        found = Compiler("zig", (python, "-m", "ziglang", "cc", "--target=wasm32-freestanding"),
                         f"zig {zig_version}")
        why = _probe(found)
        if why is None:
            return found
        zig_why = why
    reasons.append(f"{python} -m ziglang: {zig_why}")
    raise NoCompiler("no C compiler for wasm32: " + "; ".join(r.replace("\n", " ") for r in reasons))


# ---------------------------------------------------------------------------
# Compiled guests

@dataclass(frozen=True, slots=True)
class GuestField:
    """One scalar leaf as the guest exports it."""

    path: str
    kind: ScalarKind
    offset: int
    """The offset the layout engine computed (the guest's ``off_`` export should agree)."""
    wasm_type: WasmType
    """The wasm type of the getter's result and the setter's value."""
    offset_export: str
    getter: str
    setter: str

    def to_wasm(self, value: int) -> int:
        """The bit pattern (unsigned) of ``wasm_type`` that carries a layout value across the boundary.

        What the getter must return for ``value`` (narrow kinds extended as C
        does) and what to pass to the setter.
        """
        lo, hi = scalar_range(self.kind)
        if type(value) is not int or not lo <= value <= hi:
            raise ValueError(f"{self.path}: {value!r} is not a {self.kind} value")
        return value & ((1 << (32 if self.wasm_type == "i32" else 64)) - 1)

    def from_wasm(self, bits: int) -> int:
        """The layout value in a getter's result, signed or unsigned; bits above the kind are dropped."""
        lo, hi = scalar_range(self.kind)
        width = (hi - lo).bit_length()
        v = bits & ((1 << width) - 1)
        return v - (1 << width) if lo < 0 and v >> (width - 1) else v


@dataclass(frozen=True, slots=True)
class CompiledGuest:
    """A compiled guest for one schema."""

    schema: Struct
    path: Path
    """The ``.wasm`` file (in the cache directory; its name is the cache key)."""
    sha256: str
    """Of the module's bytes."""
    source_path: Path
    """The generated C, kept beside the module."""
    compiler: str
    """The compiler's identity (its version output)."""
    fields: tuple[GuestField, ...]
    """Every scalar leaf, in declaration order."""
    exports: tuple[str, ...]
    """Every export of the module, ``memory`` included."""
    cached: bool
    """Whether the module came from the cache rather than a compile."""

    @property
    def source(self) -> str:
        return self.source_path.read_text()

    def field(self, path: str) -> GuestField:
        for f in self.fields:
            if f.path == path:
                return f
        raise KeyError(path)

    def as_guest(self) -> Guest:
        """The module as a :class:`conformance.guests.Guest` (for driver requests)."""
        from conformance.guests import Guest

        return Guest(f"cguest-{self.schema.name}-{self.path.stem[:12]}", self.path, self.sha256)


def default_cache_dir() -> Path:
    """Where compiled guests are kept unless told otherwise.

    ``$WASM_CONFORMANCE_CACHE_DIR``, else ``wasm-memory-conformance/cguest``
    under ``$XDG_CACHE_HOME`` (default ``~/.cache``).
    """
    explicit = os.environ.get("WASM_CONFORMANCE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wasm-memory-conformance" / "cguest"


def uleb128(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned LEB128 at ``pos`` of a module's bytes: (value, the position after it)."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated LEB128")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _imports_and_exports(module: bytes) -> tuple[int, dict[str, int]]:
    """How many imports the module has, and its exports (name -> external kind: 0 func, 2 memory)."""
    if module[:8] != b"\0asm\x01\0\0\0":
        raise ValueError("not a wasm module")
    pos, imports, exports = 8, 0, {}
    while pos < len(module):
        section = module[pos]
        size, pos = uleb128(module, pos + 1)
        body, end = pos, pos + size
        if section == 2:
            imports, _ = uleb128(module, body)
        elif section == 7:
            count, p = uleb128(module, body)
            for _ in range(count):
                length, p = uleb128(module, p)
                name = module[p:p + length].decode()
                exports[name] = module[p + length]
                _, p = uleb128(module, p + length + 1)
        pos = end
    return imports, exports


def _check_module(module: bytes, expected: list[str]) -> tuple[str, ...]:
    try:
        imports, exports = _imports_and_exports(module)
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise CompileError(f"the compiler wrote something that is not a wasm module: {exc}") from exc
    problems = []
    if imports:
        problems.append(f"{imports} import(s)")
    if exports.get("memory") != 2:
        problems.append("no memory exported as 'memory'")
    missing = [name for name in expected if exports.get(name) != 0]
    if missing:
        problems.append(f"missing function exports {', '.join(missing[:5])}")
    if problems:
        raise CompileError("the compiled guest is not as generated: " + "; ".join(problems))
    return tuple(exports)


def compile_guest(
    schema: Struct, *, cache_dir: Path | str, compiler: Compiler | None = None
) -> CompiledGuest:
    """Compile (or reuse from ``cache_dir``) the guest for ``schema``.

    ``compiler`` defaults to :func:`find_compiler` (which raises
    :class:`NoCompiler`). A schema that cannot be written in C raises
    :class:`~conformance.layout.SchemaError`; a failed compile
    :class:`CompileError` with the compiler's message. Safe to call from
    several processes at once: files appear in the cache by atomic rename.
    """
    source = generate_c(schema)
    cc = compiler if compiler is not None else find_compiler()
    key = hashlib.sha256("\0".join([source, cc.identity, *cc.argv[1:], *FLAGS]).encode()).hexdigest()
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    wasm_path, c_path = cache / f"{key}.wasm", cache / f"{key}.c"
    fields = tuple(
        GuestField(leaf.path, leaf.kind, leaf.offset, _ABI[leaf.kind][1],
                   f"off_{mangle(leaf.path)}", f"get_{mangle(leaf.path)}", f"set_{mangle(leaf.path)}")
        for leaf in leaves(schema)
    )
    expected = ["size_of", "align_of"] + [n for f in fields for n in (f.offset_export, f.getter, f.setter)]

    cached = False
    module = b""
    digest_path = cache / f"{key}.sha256"
    if wasm_path.is_file() and c_path.is_file() and digest_path.is_file():
        module = wasm_path.read_bytes()
        try:
            # the entry is what this source built: its own source, the module's recorded digest
            if c_path.read_text() != source or digest_path.read_text().strip() != hashlib.sha256(
                    module).hexdigest():
                raise CompileError("a cache entry that is not what this source built")
            exports = _check_module(module, expected)
            cached = True
        except (CompileError, OSError, UnicodeDecodeError):
            module = b""  # a damaged or replaced cache entry: build it again
    if not cached:
        with tempfile.TemporaryDirectory(prefix="build-", dir=cache) as tmp:
            Path(tmp, "guest.c").write_text(source)
            try:
                proc = _run(cc.command("guest.c", "guest.wasm"), cwd=tmp)
            except subprocess.TimeoutExpired as exc:
                raise CompileError(
                    f"{cc.name} timed out after {_TIMEOUT:.0f}s on struct {schema.name}"
                ) from exc
            if proc.returncode != 0:
                raise CompileError(
                    f"{cc.name} failed on struct {schema.name} (exit {proc.returncode}):\n"
                    f"{(proc.stderr + proc.stdout).strip()[-4000:]}"
                )
            module = Path(tmp, "guest.wasm").read_bytes()
            exports = _check_module(module, expected)
            Path(tmp, "guest.sha256").write_text(hashlib.sha256(module).hexdigest() + "\n")
            os.replace(Path(tmp, "guest.c"), c_path)
            os.replace(Path(tmp, "guest.wasm"), wasm_path)
            os.replace(Path(tmp, "guest.sha256"), digest_path)
    return CompiledGuest(
        schema=schema,
        path=wasm_path,
        sha256=hashlib.sha256(module).hexdigest(),
        source_path=c_path,
        compiler=cc.identity,
        fields=fields,
        exports=exports,
        cached=cached,
    )
