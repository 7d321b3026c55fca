"""Runtime drivers: one child process per runtime, speaking ``docs/protocol.md``.

Each ``*_driver.py`` here is a standalone program (standard library plus its
runtime's library), so it can run under another interpreter than the suite's.
"""

from pathlib import Path

DRIVER_DIR = Path(__file__).resolve().parent
