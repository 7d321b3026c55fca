"""WIT text for a type: the type expression, and the declarations of the named types in it.

WIT.md, "Item: record" ... "Item: enum", "Types" and "Identifiers"::

    wit(Option(List(Record("point", (Field("x", S32),)))))   # 'option<list<point>>'
    wit_typedefs(t)   # 'record point {\\n    x: s32,\\n}\\n'

A label that is a WIT keyword is written with a ``%`` in front (``%type``).
"""

from __future__ import annotations

from .types import (
    WIT_KEYWORDS,
    Enum,
    Flags,
    List,
    Nominal,
    Option,
    Prim,
    Record,
    Result,
    Tuple,
    Variant,
    WitType,
    WitTypeError,
    nominal_types,
)

__all__ = ["wit", "wit_identifier", "wit_typedefs"]


def wit_identifier(label: str) -> str:
    """``label`` as WIT source: with a ``%`` if it is a keyword."""
    return f"%{label}" if label in WIT_KEYWORDS else label


def wit(t: WitType) -> str:
    """The WIT type expression of ``t``; a named type is its name (declare it with :func:`wit_typedefs`)."""
    match t:
        case Prim(kind):
            return kind
        case List(element):
            return f"list<{wit(element)}>"
        case Tuple(types):
            return f"tuple<{', '.join(wit(x) for x in types)}>"
        case Option(inner):
            return f"option<{wit(inner)}>"
        case Result(None, None):
            return "result"
        case Result(ok, None):
            assert ok is not None
            return f"result<{wit(ok)}>"
        case Result(ok, error):
            assert error is not None
            return f"result<{'_' if ok is None else wit(ok)}, {wit(error)}>"
        case Record(name) | Variant(name) | Enum(name) | Flags(name):
            return wit_identifier(name)
    raise WitTypeError(f"not a WIT type: {t!r}")


def _typedef(t: Nominal) -> str:
    match t:
        case Record(name, fields):
            body = [f"{wit_identifier(f.label)}: {wit(f.type)}" for f in fields]
            keyword = "record"
        case Variant(name, cases):
            body = [wit_identifier(c.label) + ("" if c.type is None else f"({wit(c.type)})") for c in cases]
            keyword = "variant"
        case Enum(name, labels):
            body, keyword = [wit_identifier(x) for x in labels], "enum"
        case Flags(name, labels):
            body, keyword = [wit_identifier(x) for x in labels], "flags"
    lines = "".join(f"    {item},\n" for item in body)
    return f"{keyword} {wit_identifier(name)} {{\n{lines}}}\n"


def wit_typedefs(*types: WitType) -> str:
    """The declarations of every named type in ``types``, each once, innermost first.

    Two different types with one name cannot both be declared:
    :class:`WitTypeError`.
    """
    seen: dict[str, Nominal] = {}
    parts: list[str] = []
    for t in types:
        for n in nominal_types(t):
            if n.name in seen:
                if seen[n.name] != n:
                    raise WitTypeError(f"two different types are named {n.name!r}")
                continue
            seen[n.name] = n
            parts.append(_typedef(n))
    return "\n".join(parts)
