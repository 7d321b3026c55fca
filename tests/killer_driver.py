"""A driver that kills the pytest-xdist worker that started it (SIGKILL), for tests/test_interrupts.py.

Started by anything else (the controller checks a named runtime's driver at configure), it is
``faulty_driver.py stale``, which answers."""

import os
import signal
import sys
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.kill(os.getppid(), signal.SIGKILL)
    sys.exit(1)
faulty = str(Path(__file__).with_name("faulty_driver.py"))
os.execv(sys.executable, [sys.executable, faulty, "stale"])
