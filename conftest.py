"""Turns the plugin on for runs inside this repository.

An installed package registers it through its ``pytest11`` entry point; this
covers a checkout that is only on ``sys.path``, and runs with plugin autoload off.
"""

import os
from importlib.metadata import entry_points

_installed = any(ep.name == "wasm_conformance" for ep in entry_points(group="pytest11"))
if not _installed or os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
    pytest_plugins = ["conformance.plugin"]
