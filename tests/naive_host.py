"""A pytest plugin that swaps one host-side helper for a naive one, to show a property catches it.

    NAIVE_HOST=zero-init  pytest -p naive_host ...   # text read by stripping zero padding
    NAIVE_HOST=surrogates pytest -p naive_host ...   # UTF-8 encoding that lets lone surrogates through
    NAIVE_HOST=no-padding pytest -p naive_host ...   # a layout engine that never pads for alignment

Loaded before the suite's modules import the helpers, so they get the naive one.
"""

from __future__ import annotations

import os

import conformance.layout
import conformance.text


def _zero_padded_text(block: bytes, length: int) -> str:
    # Assumes the block was zero before the text went in: ignores the length.
    return bytes(block).rstrip(b"\0").decode("utf-8", "replace")


def _surrogates_pass(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _no_padding(n: int, align: int) -> int:
    # The wrong padding rule: fields and the struct's end are never rounded up to an alignment.
    return n


_NAIVE = {"zero-init": (conformance.text, "text_from_block", _zero_padded_text),
          "surrogates": (conformance.text, "encode_utf8", _surrogates_pass),
          "no-padding": (conformance.layout, "_round_up", _no_padding)}

if os.environ.get("NAIVE_HOST") in _NAIVE:
    module, name, fn = _NAIVE[os.environ["NAIVE_HOST"]]
    setattr(module, name, fn)
