"""Values on the driver protocol's wire (docs/protocol.md, "Component calls").

:func:`~.values.value_to_json`'s form, except that ``s64``, ``u64`` and ``f64`` (its bit
pattern) are decimal strings, so that they survive a JavaScript ``JSON.parse``.
"""

from __future__ import annotations

from typing import Any

from .types import Enum, Flags, List, Option, Prim, Record, Result, Tuple, Variant, WitType
from .values import AbiValueError, value_from_json, value_to_json

__all__ = ["from_wire", "to_wire"]

_STRINGS = ("s64", "u64", "f64")


def _map(t: WitType, j: Any, leaf: Any) -> Any:
    match t:
        case Prim(kind):
            return leaf(j) if kind in _STRINGS else j
        case List(element):
            return [_map(element, x, leaf) for x in j]
        case Record(_, fields):
            return {f.label: _map(f.type, j[f.label], leaf) for f in fields}
        case Tuple(types):
            return [_map(x, y, leaf) for x, y in zip(types, j, strict=True)]
        case Variant(_, cases):
            case_type = next(c.type for c in cases if c.label == j["case"])
            payload = None if case_type is None else _map(case_type, j["value"], leaf)
            return {"case": j["case"], "value": payload}
        case Enum() | Flags():
            return j
        case Option(inner):
            return None if j is None else {"some": _map(inner, j["some"], leaf)}
        case Result(ok, error):
            key, side = ("ok", ok) if "ok" in j else ("error", error)
            return {key: None if side is None else _map(side, j[key], leaf)}
    raise AbiValueError(f"not a WIT type: {t!r}")


def _to_int(x: Any) -> int:
    if type(x) is not str or not x.lstrip("-").isdigit():
        raise AbiValueError(f"a 64-bit value on the wire is a decimal string, not {x!r}")
    return int(x)


def to_wire(t: WitType, v: Any) -> Any:
    """The wire form of a value of ``t``."""
    return _map(t, value_to_json(t, v), str)


def from_wire(t: WitType, j: Any) -> Any:
    """The value of ``t`` a wire form stands for (checked: :class:`AbiValueError` if it is not one)."""
    try:
        return value_from_json(t, _map(t, j, _to_int))
    except (KeyError, TypeError, ValueError, StopIteration) as e:
        if isinstance(e, AbiValueError):
            raise
        raise AbiValueError(f"not a wire value of {t!r}: {j!r:.200} ({e})") from e
