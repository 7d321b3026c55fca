"""Which runtimes exist, and how to start each one's driver."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance.drivers import DRIVER_DIR

ENV_RUNTIMES = "WASM_CONFORMANCE_RUNTIMES"


class UnknownRuntime(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    """A runtime id and the command that starts its driver (see docs/protocol.md)."""

    id: str
    command: tuple[str, ...]
    description: str = ""
    needs: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def describe_command(self) -> str:
        return shlex.join(self.command)


def _python_driver(runtime: str, script: str, description: str, needs: str) -> RuntimeSpec:
    return RuntimeSpec(
        id=runtime,
        command=(sys.executable, str(DRIVER_DIR / script)),
        description=description,
        needs=needs,
    )


BUILTIN: dict[str, RuntimeSpec] = {
    spec.id: spec
    for spec in (
        _python_driver("wasmtime", "wasmtime_driver.py",
                       "wasmtime (Cranelift) through its Python binding",
                       "PyPI wasmtime"),
        _python_driver("wasm3", "wasm3_driver.py",
                       "wasm3 interpreter through pywasm3",
                       "PyPI pywasm3 0.5.0 (builds from source with a C compiler)"),
        _python_driver("pywasm", "pywasm_driver.py",
                       "pywasm, an interpreter in pure Python",
                       "PyPI pywasm 2.x"),
    )
}


def parse_custom(text: str) -> RuntimeSpec:
    """``ID=COMMAND``: a runtime of your own, whose driver COMMAND starts (split like a shell)."""
    runtime, sep, command = text.partition("=")
    runtime = runtime.strip()
    if not sep or not runtime or not command.strip():
        raise UnknownRuntime(f"--wasm-driver wants ID=COMMAND, got {text!r}")
    if runtime in BUILTIN:
        raise UnknownRuntime(f"--wasm-driver: {runtime!r} is a built-in runtime id; pick another")
    return RuntimeSpec(runtime, tuple(shlex.split(command)), "custom driver", "its command")


def select(names: str | None, known: dict[str, RuntimeSpec]) -> list[RuntimeSpec]:
    """The runtimes named by ``--wasm-runtime`` (comma-separated, or ``all``).

    With no names, the environment variable ``WASM_CONFORMANCE_RUNTIMES``; with
    neither, every known runtime (those that cannot load are skipped later).
    """
    if not names:
        names = os.environ.get(ENV_RUNTIMES, "") or "all"
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted or wanted == ["all"]:
        return list(known.values())
    unknown = [n for n in wanted if n not in known and n != "all"]
    if unknown:
        raise UnknownRuntime(
            f"unknown runtime {', '.join(map(repr, unknown))}; valid runtimes: "
            f"{', '.join(known)} (or all)"
        )
    if "all" in wanted:
        return list(known.values())
    return [known[n] for n in _unique(wanted)]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
