"""A pytest plugin that records every script each driver process ran, to $RECORD_SCRIPTS (JSON lines).

    RECORD_SCRIPTS=scripts.jsonl pytest -p record_scripts ...

Each line: {"runtime": the driver's runtime id, "reference": whether it is the reference process
the plugin started, "script": the script}.
"""

from __future__ import annotations

import json
import os
from typing import Any

from conformance import plugin
from conformance.driver_process import DriverProcess

_run = DriverProcess.run


def _recording(self: DriverProcess, script: Any, *args: Any, **kwargs: Any) -> Any:
    state = getattr(plugin, "_recording_state", None)
    reference = state is not None and state.reference is self
    with open(os.environ["RECORD_SCRIPTS"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"runtime": self.spec.id, "reference": reference,
                              "script": script.to_json()}) + "\n")
    return _run(self, script, *args, **kwargs)


setattr(DriverProcess, "run", _recording)  # noqa: B010 (whatever run's signature, this wraps it)


def pytest_configure(config: Any) -> None:
    plugin._recording_state = config.stash[plugin.STATE]  # type: ignore[attr-defined]
