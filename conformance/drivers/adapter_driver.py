"""The generic driver process for a third-party Python adapter.

    python adapter_driver.py package.module:AdapterClass RUNTIME_ID

``AdapterClass`` is a :class:`conformance.drivers.Driver` subclass another
package registers in the ``wasm_conformance.runtimes`` entry-point group; this
process imports it and serves boundary scripts with it (docs/protocol.md). The
adapter's interpreter must have this package installed (the adapter subclasses
its Driver and raises its Trap and HostError).
"""

from __future__ import annotations

import importlib
import sys


def main(argv: list[str]) -> int:
    if len(argv) != 2 or ":" not in argv[0]:
        sys.stderr.write("usage: adapter_driver.py module:Class RUNTIME_ID\n")
        return 2
    target, runtime_id = argv
    from conformance.drivers._protocol import Driver, Unavailable, serve

    def make() -> Driver:
        module_name, _, attr = target.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise Unavailable(f"cannot import {target}: {exc}") from None
        if not (isinstance(cls, type) and issubclass(cls, Driver)):
            raise Unavailable(f"{target} is not a conformance.drivers.Driver subclass")
        driver = cls()
        driver.runtime_id = runtime_id
        return driver

    return serve(make, runtime_id)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
