from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

U32_LIMIT = 1 << 32


def byte_arrays(*, min_size: int = 0, max_size: int = 1024) -> st.SearchStrategy[bytes]:
    """Any bytes, zero-length included. Shrinks towards short runs of zero bytes."""
    if min_size < 0 or max_size < min_size:
        raise InvalidArgument(f"need 0 <= min_size <= max_size, got {min_size}, {max_size}")
    return st.binary(min_size=min_size, max_size=max_size)


def placements(length: int, memory_bytes: int, *, low: int = 0) -> st.SearchStrategy[int]:
    """An address where ``length`` bytes fit in ``[low, memory_bytes)``.

    Half the time it is at an edge: ``low``, or flush with the end
    (``addr + length == memory_bytes``, which for length 0 is the very end).
    Shrinks towards ``low``.
    """
    if length < 0 or low < 0 or low + length > memory_bytes:
        raise InvalidArgument(f"{length} bytes do not fit in [{low}, {memory_bytes})")
    last = memory_bytes - length
    return st.one_of(
        st.sampled_from(sorted({low, last})),
        st.integers(min_value=max(low, last - 16), max_value=last),
        st.integers(min_value=low, max_value=last),
    )


def out_of_bounds_spans(memory_bytes: int, *, max_len: int = 256) -> st.SearchStrategy[tuple[int, int]]:
    """``(ptr, len)`` pairs, ``len >= 1``, that reach past the end of memory.

    Includes one byte past the end, spans that straddle the end, pointers far
    beyond it, and spans whose end wraps past 2**32. Shrinks towards
    ``(memory_bytes - len + 1, len)`` with small ``len``.
    """
    if memory_bytes < 0 or max_len < 1:
        raise InvalidArgument("need memory_bytes >= 0 and max_len >= 1")
    straddle = st.integers(1, max_len).flatmap(
        lambda n: st.tuples(st.integers(max(0, memory_bytes - n + 1), memory_bytes), st.just(n))
    )
    beyond = st.tuples(st.integers(memory_bytes, U32_LIMIT - 1), st.integers(1, max_len))
    wrapping = st.tuples(st.integers(U32_LIMIT - max_len, U32_LIMIT - 1), st.integers(1, max_len))
    return st.one_of(straddle, beyond, wrapping)
