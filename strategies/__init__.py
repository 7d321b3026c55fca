"""Public Hypothesis strategies for data crossing the WebAssembly boundary.

Installed as ``conformance.strategies``::

    from conformance.strategies import byte_arrays, placements, utf8_texts
"""

from ._boundaries import boundary_spans, page_boundaries, straddling_addresses
from ._bytes import byte_arrays, out_of_bounds_spans, placements
from ._structs import struct_schemas, struct_schemas_with_values, struct_values
from ._text import unencodable_texts, utf8_texts
from ._wit import wit_types, wit_values

__all__ = [
    "boundary_spans",
    "byte_arrays",
    "out_of_bounds_spans",
    "page_boundaries",
    "placements",
    "straddling_addresses",
    "struct_schemas",
    "struct_schemas_with_values",
    "struct_values",
    "unencodable_texts",
    "utf8_texts",
    "wit_types",
    "wit_values",
]
