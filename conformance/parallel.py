"""Parallel runs under pytest-xdist: every test of one runtime on one worker.

A runtime's driver is one process, shared by its tests, with the runtime's probes, counters and
memory figures; split between workers, each half would be probed again and the report's figures
would be one worker's. pytest-xdist's ``--dist loadgroup`` groups by the ``xdist_group`` mark
through a suffix it writes into each test's node id, which pytest 9 no longer lets it change; so
under ``--dist loadgroup`` this plugin schedules by the runtime named in the node id itself
(``test_bytes.py::test_x[wasmtime-winch]``), falling back to xdist's own ``@group`` suffix where
one is there. Tests of no runtime (the host's own) are scheduled by module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def runtime_in(nodeid: str, runtime_ids: Iterable[str]) -> str | None:
    """The runtime whose id is one of ``nodeid``'s parameter ids (the longest such, as ids hold
    dashes: ``wasmtime-winch`` before ``wasmtime``), or None."""
    open_at, close_at = nodeid.find("["), nodeid.rfind("]")
    if open_at < 0 or close_at < open_at:
        return None
    params = nodeid[open_at + 1:close_at]
    best: str | None = None
    for rid in runtime_ids:
        if rid == params or params.startswith(rid + "-") or params.endswith("-" + rid) or \
                f"-{rid}-" in params:
            if best is None or len(rid) > len(best):
                best = rid
    return best


def scope_of(nodeid: str, runtime_ids: Iterable[str]) -> str:
    """The scope a test is scheduled with: its runtime's, else its xdist group's, else its module's
    (a test of no runtime stays with its module's others: a module-scoped fixture, such as the
    fault runs of tests/test_faults.py, is then set up once, not once per worker)."""
    if nodeid.rfind("@") > nodeid.rfind("]"):
        return "group:" + nodeid.split("@")[-1]
    runtime = runtime_in(nodeid, runtime_ids)
    if runtime is not None:
        return f"group:wasm-{runtime}"
    return nodeid.split("::")[0]


def make_scheduler(config: Any, log: Any, runtime_ids: list[str]) -> Any:
    """A LoadScopeScheduling whose scope of a test is its runtime (see the module's docstring)."""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class ByRuntime(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid, runtime_ids)

    return ByRuntime(config, log)
