"""Components on wasmtime, through its Python binding's ``wasmtime.component`` (docs/protocol.md,
"Component calls"); imported by ``wasmtime_driver.py``.

A module whose header says it is a component is compiled as a ``Component`` and instantiated
by a ``component.Linker`` (it may import nothing); ``component_call`` calls an export with
values converted from the protocol's JSON by the WIT types the operation carries, then the
function's ``post_return`` (as an embedder of this binding must), and converts the result back.
The binding's shapes: records are ``Record`` objects with the fields as attributes, variants,
options and results ``Variant(tag, payload)`` where the binding tags them (else the payload
itself, ``None`` for a case without one), flags sets, ``list<u8>`` bytes.

Standard library and wasmtime only, like the driver.
"""

from __future__ import annotations

import struct
from typing import Any, List, Optional, Set

COMPONENT_LAYER = b"\x0d\x00\x01\x00"
_WIDE = ("s64", "u64", "f64")


def is_component(wasm: bytes) -> bool:
    """Whether ``wasm``'s header is a component's (version 0xd, layer 1), not a core module's."""
    return wasm[:4] == b"\0asm" and wasm[4:8] == COMPONENT_LAYER


class BadValue(Exception):
    """A wire value that is not of its type, or a binding's value that is not."""


class Misrouted(BadValue):
    """The binding's own lowering would take an untagged variant's value as another case."""


def _cases(t: Any) -> List[Any]:
    kind = t["kind"]
    if kind == "variant":
        return [(label, ty) for label, ty in t["cases"]]
    if kind == "option":
        return [("none", None), ("some", t["type"])]
    return [("ok", t.get("ok")), ("err", t.get("error"))]


def _wire_case(t: Any, j: Any) -> Any:
    """(case index, payload JSON) of a variant-like wire value."""
    kind = t["kind"]
    if kind == "variant":
        labels = [label for label, _ in t["cases"]]
        return labels.index(j["case"]), j["value"]
    if kind == "option":
        return (0, None) if j is None else (1, j["some"])
    return (0, j["ok"]) if "ok" in j else (1, j["error"])


def to_binding(t: Any, vt: Any, j: Any, store: Any = None) -> Any:
    """The binding's value of the wire value ``j`` of WIT type ``t`` (JSON), whose binding type is ``vt``.

    Given the ``store``, each untagged variant, option or result value is checked with the binding's
    own lowering (which takes the first case whose Python classes the value is an instance of):
    where that picks another case than the wire value's, :class:`Misrouted` says so, rather than
    the call lowering another value (wasmtime-py 50 takes ``False`` as an integer case's 0)."""
    from wasmtime.component import Record, Variant

    if isinstance(t, str):
        if t in ("s64", "u64"):
            return int(j)
        if t == "f32":
            return struct.unpack("<f", struct.pack("<I", j))[0]
        if t == "f64":
            return struct.unpack("<d", struct.pack("<Q", int(j)))[0]
        return j
    kind = t["kind"]
    if kind == "list":
        if vt._is_bytes():
            return bytes(j)
        return [to_binding(t["element"], vt.element, x, store) for x in j]
    if kind == "tuple":
        return tuple(to_binding(x, y, z, store) for x, y, z in zip(t["types"], vt.elements, j))
    if kind == "record":
        out = Record()
        for (label, ft), (_, fvt) in zip(t["fields"], vt.fields):
            setattr(out, label, to_binding(ft, fvt, j[label], store))
        return out
    if kind in ("variant", "option", "result"):
        index, payload = _wire_case(t, j)
        name, case_vt = vt._cases()[index]
        case_t = _cases(t)[index][1]
        value = None if case_t is None else to_binding(case_t, case_vt, payload, store)
        if vt._tagged():
            return Variant(name, value)
        if store is not None:
            chosen = _lowered_case(store, vt, value)
            if chosen is not None and chosen != name:
                raise Misrouted(f"wasmtime-py lowers {value!r} as the case {chosen!r} of this untagged "
                                f"{kind}, not {name!r}: it takes the first case whose Python classes the "
                                f"value is an instance of")
        return value
    if kind == "enum":
        return j
    if kind == "flags":
        return set(j)
    raise BadValue(f"not a WIT type: {t!r}")


def from_binding(t: Any, vt: Any, v: Any) -> Any:
    """The wire value of the binding's value ``v``."""
    from wasmtime.component import Record, Variant

    if isinstance(t, str):
        if t in ("s64", "u64"):
            return str(int(v))
        if t == "f32":
            return struct.unpack("<I", struct.pack("<f", v))[0]
        if t == "f64":
            return str(struct.unpack("<Q", struct.pack("<d", v))[0])
        return v
    kind = t["kind"]
    if kind == "list":
        return [from_binding(t["element"], vt.element, x) for x in v]
    if kind == "tuple":
        return [from_binding(x, y, z) for x, y, z in zip(t["types"], vt.elements, v)]
    if kind == "record":
        if not isinstance(v, Record):
            raise BadValue(f"the binding gave {v!r} for a record")
        return {label: from_binding(ft, fvt, getattr(v, label))
                for (label, ft), (_, fvt) in zip(t["fields"], vt.fields)}
    if kind in ("variant", "option", "result"):
        cases = vt._cases()
        if vt._tagged():
            if not isinstance(v, Variant):
                raise BadValue(f"the binding gave {v!r} for a tagged variant")
            index = [name for name, _ in cases].index(v.tag)
            payload = v.payload
        else:
            index = _untagged_case(cases, v)
            payload = v
        case_t = _cases(t)[index][1]
        value = None if case_t is None else from_binding(case_t, cases[index][1], payload)
        if kind == "variant":
            return {"case": t["cases"][index][0], "value": value}
        if kind == "option":
            return None if index == 0 else {"some": value}
        return {"ok": value} if index == 0 else {"error": value}
    if kind == "enum":
        return v
    if kind == "flags":
        return [label for label in t["labels"] if label in v]
    raise BadValue(f"not a WIT type: {t!r}")


def _lowered_case(store: Any, vt: Any, value: Any) -> Optional[str]:
    """The case the binding's lowering takes ``value`` as (None where it refuses it: the call says so)."""
    from wasmtime import _ffi as ffi

    try:
        name, raw = vt._lower(store, value)
    except (TypeError, ValueError):
        return None
    if raw is not None:
        ffi.wasmtime_component_val_delete(raw)
    return str(name)


def _untagged_case(cases: List[Any], v: Any) -> int:
    """The case of a lifted untagged payload: the case whose classes hold its exact class (a bool
    is an int to isinstance, but False lifted from a bool case is no u8), else the first that
    isinstance takes (a case of an untagged option or variant holds ``object``)."""
    tests: List[Optional[Set[type]]] = []
    for _, ty in cases:
        classes: Optional[Set[type]] = None
        if ty is not None:
            classes = set()
            ty.add_classes(classes)
        tests.append(classes)
    for i, classes in enumerate(tests):
        if (classes is None and v is None) or (classes is not None and type(v) in classes):
            return i
    for i, classes in enumerate(tests):
        if classes is not None and isinstance(v, tuple(classes)):
            return i
    raise BadValue(f"the binding gave {v!r}, which is no case of {[n for n, _ in cases]}")


class Components:
    """The component side of one wasmtime driver: compiled components by key, the current instance."""

    def __init__(self, engine: Any, compiled: Any) -> None:
        self.engine = engine
        self.compiled = compiled  # the driver's CompiledModules, shared with core modules
        self.store: Any = None
        self.instance: Any = None

    def instantiate(self, wasm: bytes, key: str) -> None:
        import wasmtime
        from wasmtime import component

        from_cache = self.compiled.get(key)
        if from_cache is None:
            try:
                from_cache = component.Component(self.engine, wasm)
            except wasmtime.WasmtimeError as exc:
                raise _host_error("invalid-module", exc) from None
            self.compiled.put(key, from_cache)
        self.store = wasmtime.Store(self.engine)
        self.instance = None
        try:
            self.instance = component.Linker(self.engine).instantiate(self.store, from_cache)
        except wasmtime.Trap:
            raise
        except wasmtime.WasmtimeError as exc:
            raise _host_error("link-error", exc) from None

    def call(self, func: str, params: List[Any], result: Optional[Any], args: List[Any]) -> Any:
        import wasmtime

        if self.instance is None:
            raise _host_error("no-instance", "no component instance: (instantiate) made none")
        f = self.instance.get_func(self.store, func)
        if f is None:
            raise _host_error("no-such-export", f"no exported function {func!r}")
        ty = f.type(self.store)
        param_types = [vt for _, vt in ty.params]
        if len(param_types) != len(params) or len(args) != len(params):
            raise _host_error("bad-call", f"{func} takes {len(param_types)} parameters")
        try:
            values = [to_binding(t, vt, j, self.store) for t, vt, j in zip(params, param_types, args)]
        except Misrouted as exc:
            raise _host_error("bad-call", exc) from None
        except (KeyError, TypeError, ValueError, IndexError, BadValue) as exc:
            raise _host_error("bad-call", f"cannot convert the arguments: {exc}") from None
        try:
            got = f(self.store, *values)
            f.post_return(self.store)
        except wasmtime.Trap:
            raise
        except wasmtime.WasmtimeError as exc:  # the canonical ABI's traps (bad UTF-8, out of bounds)
            raise _host_error("trap", exc) from None
        except (TypeError, ValueError) as exc:
            raise _host_error("bad-call", exc) from None
        if result is None or ty.result is None:
            return None
        try:
            return from_binding(result, ty.result, got)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, BadValue) as exc:
            raise _host_error("internal", f"cannot convert the result {got!r:.200}: {exc}") from None


def _host_error(reason: str, what: Any) -> Exception:
    """A HostError of ``reason``; "trap" makes a Trap with the runtime's words, of reason
    ``canonical-abi``: the binding raises a WasmtimeError, not a wasm trap, where the canonical ABI
    traps while lifting or lowering (invalid UTF-8, a pointer out of bounds or misaligned, a char or
    discriminant out of range: docs/protocol.md, "Component calls")."""
    try:
        from ._protocol import HostError, Trap
    except ImportError:  # run as a file
        from _protocol import HostError, Trap  # type: ignore[no-redef,import-not-found]
    text = str(what).strip()
    message = text.splitlines()[0] if text else type(what).__name__
    if reason == "trap":
        return Trap("canonical-abi", message)
    return HostError(reason, message)


__all__: List[str] = ["Components", "from_binding", "is_component", "to_binding"]
