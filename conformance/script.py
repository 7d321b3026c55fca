"""Boundary scripts: test cases as data.

A script is a list of operations on one instantiated guest module. It is plain
data: it serialises to JSON and back without loss, a driver in any language can
run it (see ``docs/protocol.md``), and a failing one is saved as a file that
``wasm-conformance replay`` runs again on any runtime.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Final, Literal, TypeAlias

PAGE_SIZE = 65536
"""One WebAssembly page: 64 KiB."""

ValueType = Literal["i32", "i64", "f32", "f64"]
_BITS: dict[str, int] = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}


class ScriptError(ValueError):
    """A script or an outcome that is not well formed."""


@dataclass(frozen=True, slots=True)
class Value:
    """A WebAssembly number as its bit pattern (integers unsigned, floats as raw bits).

    On the wire it is ``{"type": "i32", "value": "4294967295"}``, the convention
    of the spec's ``wast2json``: a decimal string, so that 64-bit values survive
    hosts whose numbers are doubles.
    """

    type: ValueType
    bits: int

    def __post_init__(self) -> None:
        if self.type not in _BITS:
            raise ScriptError(f"unknown value type {self.type!r}")
        if not 0 <= self.bits < (1 << _BITS[self.type]):
            raise ScriptError(f"{self.bits} is not a {self.type} bit pattern")

    @classmethod
    def i32(cls, n: int) -> Value:
        """An i32 from a signed or unsigned Python int, wrapped to 32 bits."""
        return cls("i32", n & 0xFFFF_FFFF)

    @classmethod
    def i64(cls, n: int) -> Value:
        return cls("i64", n & 0xFFFF_FFFF_FFFF_FFFF)

    @property
    def signed(self) -> int:
        width = _BITS[self.type]
        return self.bits - (1 << width) if self.bits >> (width - 1) else self.bits

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "value": str(self.bits)}

    @classmethod
    def from_json(cls, obj: Any) -> Value:
        try:
            return cls(obj["type"], int(obj["value"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ScriptError(f"not a value: {obj!r}") from exc

    def __str__(self) -> str:
        return f"{self.type}:{self.signed}" if self.type[0] == "i" else f"{self.type}:0x{self.bits:x}"


# --- operations -------------------------------------------------------------


NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""a host memory's, an instance's or an extra module's name in a script"""


@dataclass(frozen=True, slots=True)
class Import:
    """One import of a module being instantiated, given a memory: ``memory`` is a memory
    reference (a host memory's name, or ``"<instance>.<export>"``)."""

    module: str
    name: str
    memory: str

    def to_json(self) -> dict[str, str]:
        return {"module": self.module, "name": self.name, "memory": self.memory}

    @classmethod
    def from_json(cls, obj: Any) -> Import:
        if not isinstance(obj, Mapping) or set(obj) != {"module", "name", "memory"} \
                or not all(isinstance(v, str) for v in obj.values()):
            raise ScriptError(f"not an import: {obj!r}")
        _memory_ref("instantiate", obj["memory"])
        return cls(obj["module"], obj["name"], obj["memory"])

    def __str__(self) -> str:
        return f'(import "{self.module}" "{self.name}" {self.memory})'


@dataclass(frozen=True, slots=True)
class Instantiate:
    """Instantiate a module afresh; every script starts with one (after any ``memory_new``).

    By default the script's own module, unnamed, without imports. ``module`` names another
    module of the script (:attr:`Script.modules`), ``name`` names the instance (for a
    ``call``'s ``instance`` and for memory references ``"<name>.<export>"``), and ``imports``
    gives it memories (host memories, or memories other instances export). The instance is the
    *current* one: operations that name no instance or memory go to it.
    """

    module: str = ""
    name: str = ""
    imports: tuple[Import, ...] = ()
    op: ClassVar[str] = "instantiate"

    @property
    def linking(self) -> bool:
        return bool(self.module or self.name or self.imports)


IndexType = Literal["i32", "i64"]


@dataclass(frozen=True, slots=True)
class MemoryNew:
    """The host creates a memory of its own (``new WebAssembly.Memory``, ``wasmtime.Memory``),
    outside any instance, kept under ``name`` for the rest of the script."""

    name: str
    min: int
    max: int | None = None
    shared: bool = False
    index: IndexType = "i32"
    op: ClassVar[str] = "memory_new"


@dataclass(frozen=True, slots=True)
class Write:
    """The host writes ``data`` into linear memory at ``addr`` (its safest copying API)."""

    addr: int
    data: bytes
    memory: str = ""
    """a memory reference (a host memory, or ``"<instance>.<export>"``); "" is the current
    instance's ``memory`` export (so for every memory operation)"""
    op: ClassVar[str] = "write"


@dataclass(frozen=True, slots=True)
class Read:
    """The host reads ``length`` bytes of linear memory from ``addr``."""

    addr: int
    length: int
    memory: str = ""
    op: ClassVar[str] = "read"


@dataclass(frozen=True, slots=True)
class Call:
    """Call an exported function."""

    func: str
    args: tuple[Value, ...] = ()
    instance: str = ""
    """the named instance whose export is called; "" is the current instance"""
    op: ClassVar[str] = "call"


@dataclass(frozen=True, slots=True)
class Grow:
    """The host grows the memory by ``delta`` pages; the result is the old size in pages."""

    delta: int
    memory: str = ""
    op: ClassVar[str] = "grow"


@dataclass(frozen=True, slots=True)
class Size:
    """The host asks the memory's size; the result is in bytes, as the host sees it."""

    memory: str = ""
    op: ClassVar[str] = "size"


@dataclass(frozen=True, slots=True)
class View:
    """The host takes a view of memory (zero-copy where the runtime has one) named ``view``."""

    view: str
    memory: str = ""
    kind: str = ""
    """"" the host's usual view; ``resizable``: a length-tracking view over the buffer the JS API's
    ``Memory.prototype.toResizableBuffer()`` gives; ``resizable-fixed``: a view of the length the
    memory has now over that resizable buffer (see VIEW_KINDS)"""
    op: ClassVar[str] = "view"


@dataclass(frozen=True, slots=True)
class ViewRead:
    view: str
    addr: int
    length: int
    op: ClassVar[str] = "view_read"


@dataclass(frozen=True, slots=True)
class ViewWrite:
    view: str
    addr: int
    data: bytes
    op: ClassVar[str] = "view_write"


@dataclass(frozen=True, slots=True)
class ViewLength:
    """The byte length the view reports now (0 for a detached JavaScript view)."""

    view: str
    op: ClassVar[str] = "view_length"


@dataclass(frozen=True, slots=True)
class ComponentCall:
    """Call a component instance's export (docs/protocol.md, "Component calls"): ``params`` and
    ``result`` are WIT types in :func:`conformance.canonical_abi.type_to_json`'s form (``result``
    None for none), ``args`` values in the wire form of :mod:`conformance.canonical_abi.wire`.
    The ok value is the result's wire value (any JSON)."""

    func: str
    params: tuple[Any, ...] = ()
    result: Any = None
    args: tuple[Any, ...] = ()
    op: ClassVar[str] = "component_call"

    def __hash__(self) -> int:
        return hash((self.func, json.dumps([self.params, self.result, self.args], sort_keys=True)))


Op: TypeAlias = (
    Instantiate | Write | Read | Call | Grow | Size | View | ViewRead | ViewWrite | ViewLength
    | MemoryNew | ComponentCall
)
OP_TYPES: dict[str, type[Op]] = {
    cls.op: cls
    for cls in (Instantiate, Write, Read, Call, Grow, Size, View, ViewRead, ViewWrite, ViewLength,
                MemoryNew, ComponentCall)
}
OPTIONAL = frozenset({"memory", "instance", "module", "name", "max", "shared", "index", "kind"})
VIEW_KINDS = ("", "resizable", "resizable-fixed")
"""fields left out of the wire form when they have their default (older drivers never see them)"""


def op_to_json(op: Op) -> dict[str, Any]:
    out: dict[str, Any] = {"op": op.op}
    for f in fields(op):
        name, value = f.name, getattr(op, f.name)
        if isinstance(value, bytes):
            out[name] = value.hex()
        elif isinstance(op, ComponentCall) and name in ("params", "args"):
            out[name] = list(value)
        elif name == "args":
            out[name] = [v.to_json() for v in value]
        elif name == "imports":
            if value:
                out[name] = [i.to_json() for i in value]
        elif name in OPTIONAL and value == f.default and type(value) is type(f.default):
            continue
        else:
            out[name] = value
    return out


def op_from_json(obj: Mapping[str, Any]) -> Op:
    try:
        cls = OP_TYPES[obj["op"]]
    except (KeyError, TypeError) as exc:
        raise ScriptError(f"unknown operation {obj!r}") from exc
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        name = f.name
        if name not in obj:
            if f.default is not MISSING:
                continue
            raise ScriptError(f"{cls.op}: missing field {name!r}")
        kwargs[name] = _field(cls.op, name, obj[name])
    return cls(**kwargs)


_U64 = 1 << 64


def _memory_ref(op: str, value: Any) -> str:
    """A memory reference: a host memory's name, or ``<instance>.<export>``."""
    if not isinstance(value, str):
        raise ScriptError(f"{op}: a memory reference must be a string, got {value!r}")
    if value:
        head, dot, tail = value.partition(".")
        if not NAME.fullmatch(head) or (dot and not tail):
            raise ScriptError(f"{op}: {value!r} is not a memory reference (a name, or instance.export)")
    return value


def _field(op: str, name: str, value: Any) -> Any:
    """One field of an operation read from JSON, its type and range checked."""
    if name == "memory":
        return _memory_ref(op, value)
    if name == "imports":
        if not isinstance(value, list):
            raise ScriptError(f"{op}: imports must be a list, got {type(value).__name__}")
        return tuple(Import.from_json(v) for v in value)
    if name in ("instance", "module") or (name == "name" and op in ("instantiate", "memory_new")):
        if not isinstance(value, str) or (value and not NAME.fullmatch(value)):
            raise ScriptError(f"{op}: {name} must be a name ([A-Za-z0-9_-]), got {value!r}")
        if op == "memory_new" and not value:
            raise ScriptError(f"{op}: name must not be empty")
        return value
    if name in ("min", "max"):
        if value is None and name == "max":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _U64:
            raise ScriptError(f"{op}: {name} must be a page count, got {value!r}")
        return value
    if name == "shared":
        if not isinstance(value, bool):
            raise ScriptError(f"{op}: shared must be true or false, got {value!r}")
        return value
    if name == "kind":
        if value not in VIEW_KINDS:
            kinds = ", ".join(k for k in VIEW_KINDS if k)
            raise ScriptError(f"{op}: kind must be one of {kinds}, got {value!r}")
        return value
    if name == "index":
        if value not in ("i32", "i64"):
            raise ScriptError(f"{op}: index must be i32 or i64, got {value!r}")
        return value
    if name in ("addr", "length", "delta"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScriptError(f"{op}: {name} must be an integer, got {value!r}")
        if not 0 <= value < _U64:
            raise ScriptError(f"{op}: {name} {value} is out of range (0 to 2**64 - 1)")
        return value
    if name == "data":
        if not isinstance(value, str):
            raise ScriptError(f"{op}: data must be a hex string, got {type(value).__name__}")
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise ScriptError(f"{op}: data is not hex: {value[:40]!r}") from None
    if op == "component_call" and name in ("params", "args", "result"):
        if name == "result":
            return value
        if not isinstance(value, list):
            raise ScriptError(f"{op}: {name} must be a list, got {type(value).__name__}")
        return tuple(value)
    if name == "args":
        if not isinstance(value, list):
            raise ScriptError(f"{op}: args must be a list, got {type(value).__name__}")
        return tuple(Value.from_json(v) for v in value)
    if not isinstance(value, str):  # func, view
        raise ScriptError(f"{op}: {name} must be a string, got {value!r}")
    return value


def describe_op(op: Op) -> str:
    """One line in the style of a .wast command."""
    match op:
        case Instantiate(module, name, imports):
            parts = [f"${name}" if name else "", f"(module {module})" if module else "",
                     *(str(i) for i in imports)]
            return "(instantiate" + "".join(" " + p for p in parts if p) + ")"
        case MemoryNew(name, lo, hi, shared, index):
            limits = f"{lo}" + ("" if hi is None else f" {hi}")
            return f"(memory_new ${name} {index} {limits}{' shared' if shared else ''})"
        case Write(addr, data, memory):
            return f"(write{_on(memory)} {addr} {_short_hex(data)} ;; {len(data)} bytes)"
        case Read(addr, length, memory):
            return f"(read{_on(memory)} {addr} {length})"
        case Call(func, args, instance):
            where = f" ${instance}" if instance else ""
            return f"(call{where} {func}{''.join(' ' + str(a) for a in args)})"
        case Grow(delta, memory):
            return f"(grow{_on(memory)} {delta})"
        case Size(memory):
            return f"(size{_on(memory)})"
        case View(view, memory, kind):
            return f"(view{_on(memory)} {view}{' ' + kind if kind else ''})"
        case ViewRead(view, addr, length):
            return f"(view_read {view} {addr} {length})"
        case ViewWrite(view, addr, data):
            return f"(view_write {view} {addr} {_short_hex(data)} ;; {len(data)} bytes)"
        case ViewLength(view):
            return f"(view_length {view})"
        case ComponentCall(func, _, _, args):
            text = " ".join(json.dumps(a, ensure_ascii=False) for a in args)
            return f"(component_call {func}{' ' + text if text else ''})"
    raise ScriptError(f"unknown operation {op!r}")


def _on(memory: str) -> str:
    return f" ${memory}" if memory else ""


def _short_hex(data: bytes, limit: int = 24) -> str:
    text = data[:limit].hex()
    return f'"{text}…"' if len(data) > limit else f'"{text}"'


# --- scripts ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Script:
    """Operations on one guest module, in order. The first is an :class:`Instantiate`."""

    guest: str
    ops: tuple[Op, ...]
    note: str = ""
    module: str = ""
    """the path of the module, for a guest that is not one of guest-modules/ (a compiled one)"""
    wat: str = ""
    """the module's text, for a module generated per example: the script then carries all it
    needs, and a saved counterexample replays anywhere"""
    modules: tuple[tuple[str, str], ...] = ()
    """further modules, (name, text), that an ``instantiate`` names by its ``module`` field"""

    def __post_init__(self) -> None:
        first = next((op for op in self.ops
                      if not isinstance(op, MemoryNew) and not getattr(op, "memory", "")), None)
        if not isinstance(first, Instantiate):
            raise ScriptError("a script starts with (instantiate), after any (memory_new) and "
                              "operations on host memories")
        names = [n for n, _ in self.modules]
        if len(set(names)) != len(names) or not all(NAME.fullmatch(n) for n in names):
            raise ScriptError(f"a script's modules need distinct names ([A-Za-z0-9_-]): {names}")
        known = set(names)
        for op in self.ops:
            if isinstance(op, Instantiate) and op.module and op.module not in known:
                raise ScriptError(f"(instantiate) names module {op.module!r}, which the script "
                                  f"does not carry (it has {sorted(known) or 'none'})")

    @classmethod
    def of(cls, guest: str, ops: Iterable[Op], note: str = "", module: str = "", wat: str = "") -> Script:
        """A script that instantiates ``guest`` and then runs ``ops``."""
        return cls(guest, (Instantiate(), *ops), note, module, wat)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"guest": self.guest, "ops": [op_to_json(op) for op in self.ops]}
        if self.note:
            out["note"] = self.note
        if self.module:
            out["module"] = self.module
        if self.wat:
            out["wat"] = self.wat
        if self.modules:
            out["modules"] = dict(self.modules)
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Script:
        if not isinstance(obj, Mapping):
            raise ScriptError(f"not a script: a JSON object was expected, got {type(obj).__name__}")
        for key in ("guest", "note", "module", "wat"):
            if not isinstance(obj.get(key, ""), str):
                raise ScriptError(f"not a script: {key} must be a string, got {obj[key]!r}")
        guest = obj.get("guest", "")
        if not guest or any(c in guest for c in "/\\\0") or guest.startswith("."):
            raise ScriptError(f"not a script: guest must be a guest's name, got {guest!r}")
        ops = obj.get("ops")
        if not isinstance(ops, list) or not all(isinstance(o, Mapping) for o in ops):
            raise ScriptError("not a script: ops must be a list of operations")
        modules = obj.get("modules", {})
        if not isinstance(modules, Mapping) or not all(isinstance(v, str) for v in modules.values()):
            raise ScriptError("not a script: modules must map names to module text")
        try:
            return cls(guest, tuple(op_from_json(o) for o in ops),
                       obj.get("note", ""), obj.get("module", ""), obj.get("wat", ""),
                       tuple(modules.items()))
        except (KeyError, TypeError) as exc:
            raise ScriptError(f"not a script: {exc}") from exc

    def dumps(self) -> str:
        return json.dumps(self.to_json())

    def describe(self) -> str:
        return "\n".join(f"  {i:>3}: {describe_op(op)}" for i, op in enumerate(self.ops))


class _AnyValue:
    """The value of :meth:`Outcome.any_ok`: an ``ok`` whatever its value."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _AnyValue()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one operation did on one runtime.

    ``kind`` is ``ok`` (with ``value``), ``trap`` or ``error`` (with a normalised
    ``reason`` such as ``out-of-bounds`` or ``out-of-range``), and ``message`` keeps
    the runtime's own words. Values: ``None``; ``bytes`` for reads; an ``int`` for
    sizes and grows; a tuple of :class:`Value` for calls.
    """

    kind: Literal["ok", "trap", "error"]
    value: Any = None
    reason: str = ""
    message: str = ""

    @classmethod
    def ok(cls, value: Any = None) -> Outcome:
        return cls("ok", value)

    @classmethod
    def any_ok(cls) -> Outcome:
        """``ok`` with any value: among the outcomes the spec allows an operation, where a property
        fixes some operations of a script and not others (a host's choices: the bytes in padding)."""
        return cls("ok", ANY)

    @classmethod
    def trap(cls, reason: str, message: str = "") -> Outcome:
        return cls("trap", None, reason, message)

    @classmethod
    def error(cls, reason: str, message: str = "") -> Outcome:
        return cls("error", None, reason, message)

    def same_as(self, other: Outcome) -> bool:
        """Equal in what the spec fixes (kind, value, reason), ignoring the message; an
        :meth:`any_ok` is the same as every ``ok``."""
        if self.kind == other.kind == "ok" and (self.value is ANY or other.value is ANY):
            return True
        return (self.kind, self.value, self.reason) == (other.kind, other.value, other.reason)

    def to_json(self) -> dict[str, Any]:
        if self.value is ANY:
            return {"any": "ok"}
        if self.kind == "ok":
            return {"ok": _value_to_json(self.value)}
        out: dict[str, Any] = {self.kind: self.reason}
        if self.message:
            out["message"] = self.message
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], op: Op) -> Outcome:
        if obj.get("any") == "ok":
            return cls.any_ok()
        if "ok" in obj:
            return cls.ok(_value_from_json(obj["ok"], op))
        for kind in ("trap", "error"):
            if kind in obj:
                return cls(kind, None, str(obj[kind]), str(obj.get("message", "")))
        raise ScriptError(f"not an outcome: {obj!r}")

    def __str__(self) -> str:
        if self.value is ANY:
            return "ok (any value)"
        if self.kind == "ok":
            return f"ok {_value_text(self.value)}"
        return f"{self.kind} {self.reason}" + (f" ({self.message})" if self.message else "")


def _value_to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [v.to_json() for v in value]
    return value


def _value_from_json(raw: Any, op: Op) -> Any:
    if isinstance(op, Read | ViewRead):
        if not isinstance(raw, str):
            raise ScriptError(f"{op.op}: expected hex bytes, got {raw!r}")
        return bytes.fromhex(raw)
    if isinstance(op, Call):
        return tuple(Value.from_json(v) for v in raw)
    return raw


def _value_text(value: Any) -> str:
    if isinstance(value, bytes):
        return f"{len(value)} bytes {_short_hex(value, 32)}"
    if isinstance(value, tuple):
        return "[" + " ".join(str(v) for v in value) + "]"
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class ScriptResult:
    """A driver's answer to one script.

    ``status`` is ``ok`` when the driver answered (``outcomes`` then has one entry
    per operation), ``crash`` when the driver process died, ``timeout`` when it did
    not answer in time, ``unavailable`` when the runtime cannot run here.
    """

    status: Literal["ok", "crash", "timeout", "unavailable"]
    outcomes: tuple[Outcome, ...] = ()
    detail: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
