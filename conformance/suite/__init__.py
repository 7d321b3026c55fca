"""The conformance properties, one module per kind of data crossing the boundary.

Run them with ``pytest --pyargs conformance.suite`` (after ``pip install``) or
``pytest conformance/suite`` in a checkout; ``--wasm-runtime`` picks runtimes.
"""
