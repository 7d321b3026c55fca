"""The Component Model's canonical ABI, for 32-bit memories, written from CanonicalABI.md.

For a WIT type (:mod:`.types`) this gives what the spec defines: its
:func:`size` and :func:`alignment`, its flat core types (:func:`flatten`,
:func:`flatten_functype` with the 16-parameter and 1-result limits), a value
stored into a ``bytearray`` memory and loaded back (:func:`store`,
:func:`load`, strings in UTF-8, UTF-16 or latin1+UTF-16 with the spec's
``realloc`` calls), and lowered to core values and lifted back
(:func:`lower`, :func:`lift`, :func:`lower_values`, :func:`lift_values`)::

    from conformance.canonical_abi import Record, Field, S32, STRING, BumpAllocator, store, load

    point = Record("point", (Field("x", S32), Field("name", STRING)))
    memory = bytearray(256)
    store(point, {"x": -1, "name": "é"}, memory, 0, realloc=BumpAllocator(memory, start=64))
    load(point, memory, 0)   # {'x': -1, 'name': 'é'}

Values are plain Python values (:mod:`.values`); bad data from a guest raises
:class:`Trap`, a bad value or type from the caller a :class:`CanonicalABIError`.
Out of scope: resources (``own``, ``borrow``), ``stream``, ``future``,
``error-context``, ``map``, fixed-length lists, 64-bit memories, async.
"""

from .abi import (
    MAX_FLAT_PARAMS,
    MAX_FLAT_RESULTS,
    CoreFuncType,
    CoreType,
    alignment,
    discriminant_size,
    field_offsets,
    flatten,
    flatten_functype,
    flatten_types,
    join,
    padding,
    payload_offset,
    size,
)
from .alloc import BumpAllocator, ReallocCall
from .context import STRING_ENCODINGS, UTF16_TAG, Realloc, StringEncoding, Trap
from .flat import CoreValue, lift, lift_values, lower, lower_values
from .memory import MAX_LIST_BYTE_LENGTH, load, store
from .strings import MAX_STRING_BYTE_LENGTH
from .types import (
    BOOL,
    CHAR,
    F32,
    F64,
    MAX_FLAGS,
    PRIM_KINDS,
    S8,
    S16,
    S32,
    S64,
    STRING,
    U8,
    U16,
    U32,
    U64,
    WIT_KEYWORDS,
    CanonicalABIError,
    Enum,
    Field,
    Flags,
    List,
    Nominal,
    Option,
    Prim,
    PrimKind,
    Record,
    Result,
    Tuple,
    Variant,
    VariantCase,
    WitType,
    WitTypeError,
    children,
    is_wit_identifier,
    nominal_types,
    type_from_json,
    type_to_json,
)
from .values import (
    AbiValueError,
    Case,
    Err,
    Ok,
    Some,
    check_value,
    int_range,
    same_value,
    value_from_json,
    value_to_json,
)
from .wit import wit, wit_identifier, wit_typedefs

__all__ = [
    "BOOL",
    "CHAR",
    "F32",
    "F64",
    "MAX_FLAGS",
    "MAX_FLAT_PARAMS",
    "MAX_FLAT_RESULTS",
    "MAX_LIST_BYTE_LENGTH",
    "MAX_STRING_BYTE_LENGTH",
    "PRIM_KINDS",
    "S8",
    "S16",
    "S32",
    "S64",
    "STRING",
    "STRING_ENCODINGS",
    "U8",
    "U16",
    "U32",
    "U64",
    "UTF16_TAG",
    "WIT_KEYWORDS",
    "AbiValueError",
    "BumpAllocator",
    "CanonicalABIError",
    "Case",
    "CoreFuncType",
    "CoreType",
    "CoreValue",
    "Enum",
    "Err",
    "Field",
    "Flags",
    "List",
    "Nominal",
    "Ok",
    "Option",
    "Prim",
    "PrimKind",
    "Realloc",
    "ReallocCall",
    "Record",
    "Result",
    "Some",
    "StringEncoding",
    "Trap",
    "Tuple",
    "Variant",
    "VariantCase",
    "WitType",
    "WitTypeError",
    "alignment",
    "check_value",
    "children",
    "discriminant_size",
    "field_offsets",
    "flatten",
    "flatten_functype",
    "flatten_types",
    "int_range",
    "is_wit_identifier",
    "join",
    "lift",
    "lift_values",
    "load",
    "lower",
    "lower_values",
    "nominal_types",
    "padding",
    "payload_offset",
    "same_value",
    "size",
    "store",
    "type_from_json",
    "type_to_json",
    "value_from_json",
    "value_to_json",
    "wit",
    "wit_identifier",
    "wit_typedefs",
]
