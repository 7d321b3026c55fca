"""wasm-memory-conformance: WebAssembly linear memory at the host/guest boundary, checked.

The public API: boundary scripts (:mod:`conformance.script`), running them on a
runtime and checking them against the reference model
(:func:`check_script`), the runtimes (:mod:`conformance.runtimes`), and the
Hypothesis strategies in :mod:`conformance.strategies`.
"""

from conformance.checks import ConformanceFailure, WasmRuntime, check_script, run_and_check
from conformance.driver_process import DriverProcess, RuntimeUnavailable
from conformance.runtimes import BUILTIN as BUILTIN_RUNTIMES
from conformance.runtimes import RuntimeSpec, UnknownRuntime
from conformance.script import (
    PAGE_SIZE,
    Call,
    Grow,
    Import,
    Instantiate,
    MemoryNew,
    Op,
    Outcome,
    Read,
    Script,
    ScriptResult,
    Size,
    Value,
    View,
    ViewLength,
    ViewRead,
    ViewWrite,
    Write,
)

__version__ = "0.1.0"

__all__ = [
    "BUILTIN_RUNTIMES",
    "PAGE_SIZE",
    "Call",
    "ConformanceFailure",
    "DriverProcess",
    "Grow",
    "Import",
    "Instantiate",
    "MemoryNew",
    "Op",
    "Outcome",
    "Read",
    "RuntimeSpec",
    "RuntimeUnavailable",
    "Script",
    "ScriptResult",
    "Size",
    "UnknownRuntime",
    "Value",
    "View",
    "ViewLength",
    "ViewRead",
    "ViewWrite",
    "WasmRuntime",
    "Write",
    "check_script",
    "run_and_check",
]
