from __future__ import annotations

from functools import lru_cache

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

PAGE = 65536


def _boundaries(memory_bytes: int, page: int) -> list[int]:
    """The internal page boundaries ``k * page``, ``1 <= k < pages``, first and last first."""
    inside = list(range(page, memory_bytes, page))
    if not inside:
        raise InvalidArgument(f"a memory of {memory_bytes} bytes has no internal {page}-byte page boundary")
    return sorted(set(inside), key=lambda b: (b not in (inside[0], inside[-1]), b))


@lru_cache(maxsize=256)
def page_boundaries(memory_bytes: int, *, page: int = PAGE) -> st.SearchStrategy[int]:
    """An internal page boundary of a memory of ``memory_bytes``: ``k * page`` for ``1 <= k < pages``.

    Half the time the first or the last one. Shrinks towards the first.
    """
    inside = _boundaries(memory_bytes, page)
    return st.one_of(st.sampled_from(inside[:2]), st.sampled_from(inside))


@lru_cache(maxsize=256)
def straddling_addresses(width: int, memory_bytes: int, *, page: int = PAGE) -> st.SearchStrategy[int]:
    """Where an access of ``width`` bytes starts so that it crosses an internal page boundary.

    The access starts 1 to ``width - 1`` bytes before ``k * page`` (every misalignment, 1 and
    ``width - 1`` most often); now and then it ends flush with the boundary or starts on it (the
    neighbours of a crossing). An access of one byte cannot cross: it is right before or on a
    boundary. Shrinks towards the first boundary, one byte before it.
    """
    if width < 1:
        raise InvalidArgument(f"width must be at least 1, got {width}")
    crossing = (st.one_of(st.sampled_from(sorted({1, width - 1})), st.integers(1, width - 1))
                if width > 1 else st.just(1))
    flush = st.sampled_from([width, 0])  # ends on the boundary, starts on it
    before = st.one_of(crossing, crossing, crossing, flush)
    return st.tuples(page_boundaries(memory_bytes, page=page), before).map(lambda kb: kb[0] - kb[1])


@lru_cache(maxsize=256)
def boundary_spans(memory_bytes: int, *, max_len: int = 64,
                   page: int = PAGE) -> st.SearchStrategy[tuple[int, int]]:
    """``(addr, length)`` host spans within memory that cross an internal page boundary.

    Mostly short spans (2 to ``max_len`` bytes) with the boundary anywhere inside, 1 byte from
    either end most often; sometimes a span of a page or more, from or past a boundary, that
    crosses one or two (where a copy split into 64 KiB chunks would split it).
    Shrinks towards ``(first boundary - 1, 2)``.
    """
    if max_len < 2:
        raise InvalidArgument(f"max_len must be at least 2, got {max_len}")

    @st.composite
    def short(draw: st.DrawFn) -> tuple[int, int]:
        boundary = draw(page_boundaries(memory_bytes, page=page))
        length = draw(st.one_of(st.integers(2, 16), st.integers(2, max_len)))
        before = draw(st.one_of(st.sampled_from(sorted({1, length - 1})), st.integers(1, length - 1)))
        return boundary - before, length

    @st.composite
    def long(draw: st.DrawFn) -> tuple[int, int]:
        first = _boundaries(memory_bytes, page)[0]
        start = draw(st.one_of(st.sampled_from([first - 1, first, 1, 0]),
                               st.integers(0, memory_bytes - page - 2)))
        length = draw(st.one_of(st.sampled_from([page, page + 1, page + 2]),
                                st.integers(page, min(memory_bytes - start, 2 * page + 8))))
        length = min(length, memory_bytes - start)
        return start, length

    spans = st.one_of(short(), short(), short(), long()) if memory_bytes >= 2 * page + 2 else short()
    return spans.filter(lambda s: s[0] >= 0 and s[0] + s[1] <= memory_bytes
                        and any(s[0] < b < s[0] + s[1] for b in range(page, memory_bytes, page)))
