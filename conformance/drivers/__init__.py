"""Runtime drivers: one child process per runtime, speaking ``docs/protocol.md``.

Each ``*_driver.py`` here is a standalone program (standard library plus its
runtime's library), so it can run under another interpreter than the suite's.

A third-party runtime written in Python subclasses :class:`Driver` (raising
:class:`Trap` and :class:`HostError` in spec terms) and registers the class in
the ``wasm_conformance.runtimes`` entry-point group; ``adapter_driver.py`` runs it.
"""

from pathlib import Path

from conformance.drivers._protocol import BufferViews, Driver, HostError, Trap, Unavailable

DRIVER_DIR = Path(__file__).resolve().parent

__all__ = ["DRIVER_DIR", "BufferViews", "Driver", "HostError", "Trap", "Unavailable"]
