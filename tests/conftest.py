"""The self-tests' own Hypothesis settings, as any project that uses the plugin sets its own.

The plugin loads the suite's profile only for the suite (or ``--wasm-profile``); the self-tests
of ``tests/`` run alone take these: no deadline (a test may start a driver process, on a busy
machine), Hypothesis' default number of examples. ``--hypothesis-profile`` still overrides them.

The self-tests start a few hundred Python processes (runs of pytest, drivers, replays). Where
writing bytecode is off (``PYTHONDONTWRITEBYTECODE``), each would compile the project's modules
again and pytest would rewrite the suite's assertions again, about a second of CPU per run of
pytest: they write their bytecode under ``PYTHONPYCACHEPREFIX`` instead, outside the source tree
(the project's cache folder), so that the tree stays as clean as that setting keeps it.
"""

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

settings.register_profile("self-tests", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("self-tests")

if os.environ.get("PYTHONDONTWRITEBYTECODE") and not os.environ.get("PYTHONPYCACHEPREFIX"):
    _cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wasm-memory-conformance"
    os.environ["PYTHONPYCACHEPREFIX"] = str(_cache / "pycache")
    del os.environ["PYTHONDONTWRITEBYTECODE"]
