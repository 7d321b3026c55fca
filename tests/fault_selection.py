"""A pytest plugin that runs, on each runtime, only the properties listed for it.

    WASM_FAULT_SELECTION=selection.json pytest -p fault_selection --pyargs conformance.suite ...

``selection.json`` maps a runtime id to the properties (``test_bytes.py::test_x``) to run on it:
the self-tests run every faulty runtime in one pytest process, each on the properties its fault
must fail, instead of one process per fault.
"""

from __future__ import annotations

import json
import os
from typing import Any


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    with open(os.environ["WASM_FAULT_SELECTION"], encoding="utf-8") as f:
        selection: dict[str, list[str]] = json.load(f)
    keep: list[Any] = []
    drop: list[Any] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        runtime = callspec.params.get("wasm_runtime") if callspec is not None else None
        prop = f"{item.path.name}::{item.originalname}"
        (keep if runtime is not None and prop in selection.get(str(runtime), ()) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
