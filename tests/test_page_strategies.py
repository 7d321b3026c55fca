"""The page-boundary strategies aim where they say, and the paged guests' module text is valid."""

from __future__ import annotations

import pytest
from conformance.strategies import boundary_spans, page_boundaries, straddling_addresses
from hypothesis import given
from hypothesis import strategies as st

from conformance.model.paged import ACCESSES, access_export, paged_wat, parse_export

PAGE = 65536


@given(data=st.data(), pages=st.integers(2, 6), width=st.sampled_from([1, 2, 4, 8]))
def test_straddling_addresses_cross_or_touch_an_internal_boundary(data: st.DataObject, pages: int,
                                                                  width: int) -> None:
    size = pages * PAGE
    ea = data.draw(straddling_addresses(width, size))
    before = -ea % PAGE  # bytes from ea to the next boundary
    assert PAGE <= ea + before < size, "the boundary is internal"
    assert 0 < before <= width or before == 0, "it crosses, ends on or starts on the boundary"
    assert ea + width <= size


@given(data=st.data(), pages=st.integers(2, 5))
def test_boundary_spans_cross_an_internal_boundary(data: st.DataObject, pages: int) -> None:
    size = pages * PAGE
    addr, length = data.draw(boundary_spans(size))
    assert 0 <= addr and addr + length <= size
    assert any(addr < b < addr + length for b in range(PAGE, size, PAGE))
    assert data.draw(page_boundaries(size)) in range(PAGE, size, PAGE)


def test_a_memory_of_one_page_has_no_internal_boundary() -> None:
    with pytest.raises(Exception, match="no internal"):
        straddling_addresses(4, PAGE).example()


def test_every_access_export_assembles_and_names_itself() -> None:
    wasmtime = pytest.importorskip("wasmtime")
    exports = tuple(access_export(a, o) for a in ACCESSES for o in (0, 1, 65535, 2**32 - 1))
    for name in exports:
        parsed = parse_export(name)
        assert parsed is not None and access_export(parsed[0].name, parsed[1]) == name
    for natural in ("", "-natural"):
        wasmtime.Module(wasmtime.Engine(), wasmtime.wat2wasm(paged_wat(f"paged-2-none{natural}", exports)))
    assert parse_export("i32.load@4294967296") is None and parse_export("i32.load8@0") is None
