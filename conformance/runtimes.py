"""Which runtimes exist, and how to start each one's driver.

A runtime is an id and a driver command. Built-in runtimes are Python drivers
(run by an interpreter that has the runtime's library) or the JavaScript driver
(run by an engine). Either can be pinned to another executable for a vendor
check, this release against the last::

    --wasm-runtime node=/opt/node12/bin/node              # replace node's executable
    --wasm-runtime wasmtime,wasmtime@5=/venvs/wt5/bin/python   # both, side by side
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from conformance.drivers import DRIVER_DIR

ENV_RUNTIMES = "WASM_CONFORMANCE_RUNTIMES"
JS_DIR = DRIVER_DIR / "js"


class UnknownRuntime(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    """A runtime id and the command that starts its driver (see docs/protocol.md).

    ``command[0]`` is the executable (an interpreter or an engine); a pin
    replaces it. ``missing`` says why the executable cannot be found here, for
    a runtime that is then skipped with that reason.
    """

    id: str
    command: tuple[str, ...]
    description: str = ""
    needs: str = ""
    env: dict[str, str] = field(default_factory=dict)
    missing: str = ""
    slow: bool = False
    """an interpreter written in Python: it runs a share of the profile's examples (see the plugin)"""
    base: str = ""
    """the family whose known divergences also apply to this one: wasmtime for wasmtime@5 (a
    pinned copy) and for wasmtime-winch (another engine behind the same host API), wasmer for
    both of wasmer's compilers, js for the engines behind the JavaScript API"""

    @property
    def family(self) -> str:
        """The id whose known divergences apply: ``wasmtime`` for ``wasmtime@5``."""
        return self.base or self.id

    def describe_command(self) -> str:
        return shlex.join(self.command)

    def pinned(self, runtime_id: str, executable: str) -> RuntimeSpec:
        return replace(self, id=runtime_id, command=(executable, *self.command[1:]), missing="",
                       base=self.family)


def _python(runtime: str, script: str, *args: str, description: str, needs: str,
            interpreter: str | None = None, missing: str = "", base: str = "",
            slow: bool = False) -> RuntimeSpec:
    return RuntimeSpec(runtime, (interpreter or sys.executable, str(DRIVER_DIR / script), *args),
                       description, needs, missing=missing, base=base, slow=slow)


WASMER_VENV = Path(__file__).resolve().parents[1] / ".venv-wasmer"
"""make setup-wasmer's environment, beside the package (in a checkout: the repo's own)"""
WASMER_PACKAGES = "wasmer==1.1.0 wasmer_compiler_cranelift==1.1.0 wasmer_compiler_singlepass==1.1.0"


def _pyenv_310(shim: str) -> str | None:
    """The newest CPython 3.10 behind a pyenv shim, or None: a shim with no 3.10 behind it only
    prints pyenv's complaint, so it is never run as the driver's interpreter."""
    root = Path(shim).resolve().parent.parent
    found = sorted(root.glob("versions/3.10*/bin/python3.10"),
                   key=lambda p: int(p.parts[-3][5:]) if p.parts[-3][5:].isdigit() else -1)
    return str(found[-1]) if found else None


def _wasmer_python() -> tuple[str, str]:
    """The CPython 3.10 that has wasmer: $WASM_CONFORMANCE_WASMER_PYTHON, the project's .venv-wasmer
    (beside the package: the setup's own; never one in whatever directory the run starts from),
    python3.10 on PATH (through a pyenv shim, the newest 3.10 pyenv has)."""
    given = os.environ.get("WASM_CONFORMANCE_WASMER_PYTHON")
    if given:
        return given, ""
    venv = WASMER_VENV / "bin" / "python"
    if venv.exists():
        return str(venv), ""
    found = shutil.which("python3.10")
    if found and Path(found).parent.name == "shims" and "pyenv" in found:
        found = _pyenv_310(found)
    if found:
        return found, ""
    return "python3.10", (
        "no CPython 3.10 for wasmer (its wheels stop at 3.10); looked at $WASM_CONFORMANCE_WASMER_PYTHON, "
        f"{WASMER_VENV}, python3.10 on PATH (pyenv's included). Get one (pyenv install 3.10, or "
        "apt install python3.10 where the distribution has it), then: python3.10 -m venv ~/.venv-wasmer && "
        f"~/.venv-wasmer/bin/pip install {WASMER_PACKAGES} and "
        "WASM_CONFORMANCE_WASMER_PYTHON=~/.venv-wasmer/bin/python (in the repo, make setup-wasmer)")


def js_engines_dir() -> Path:
    """Where ``python -m conformance.js_engines`` (``make setup-js``) has npm put bun and deno:
    ``$WASM_CONFORMANCE_JS_DIR``, else ``wasm-memory-conformance/js`` under ``$XDG_CACHE_HOME``
    (default ``~/.cache``), beside the compiled guests' cache. Never inside the package."""
    explicit = os.environ.get("WASM_CONFORMANCE_JS_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wasm-memory-conformance" / "js"


def _js_engine(name: str) -> tuple[str, str]:
    """An engine from the user cache's npm install (conformance/js_engines.py), else from PATH."""
    local = js_engines_dir() / "node_modules" / ".bin" / name
    if local.exists():
        return str(local), ""
    found = shutil.which(name)
    if found:
        return found, ""
    return name, (f"no {name} executable: not on PATH and not in {js_engines_dir()} "
                  "(python -m conformance.js_engines installs bun and deno there with npm)")


def _js(runtime: str, engine: str, engine_args: tuple[str, ...], description: str,
        needs: str) -> RuntimeSpec:
    executable, missing = _js_engine(engine)
    return RuntimeSpec(runtime, (executable, *engine_args, str(JS_DIR / "driver.js"), runtime),
                       description, needs, missing=missing, base="js")


def _browser(runtime: str, description: str, needs: str) -> RuntimeSpec:
    """A browser: node runs the bridge ``js/browser_host.js``, which starts the browser headless on a
    page that runs ``js/driver.js`` (the file node, bun and deno run) and relays the protocol to it.
    The bridge finds puppeteer-core where ``make setup-js`` put the driver's npm packages; without
    the browser, its WebDriver or puppeteer-core its hello says ``unavailable``, with the reason."""
    executable, missing = _js_engine("node")
    return RuntimeSpec(runtime, (executable, str(JS_DIR / "browser_host.js"), runtime), description, needs,
                       env={"WASM_CONFORMANCE_JS_DIR": str(js_engines_dir())}, missing=missing, base="js")


def builtin_runtimes() -> dict[str, RuntimeSpec]:
    wasmer_python, wasmer_missing = _wasmer_python()
    specs = [
        _python("wasmtime", "wasmtime_driver.py", "cranelift",
                description="wasmtime, Cranelift compiler, through its Python binding",
                needs="PyPI wasmtime (extra [runtimes])"),
        _python("wasmtime-winch", "wasmtime_driver.py", "winch", base="wasmtime",
                description="wasmtime, Winch baseline compiler", needs="PyPI wasmtime (extra [runtimes])"),
        _python("wasmtime-pulley", "wasmtime_driver.py", "pulley", base="wasmtime",
                description="wasmtime, Pulley interpreter", needs="PyPI wasmtime (extra [runtimes])"),
        _python("wasmtime-moving-memory", "wasmtime_driver.py", "moving-memory", base="wasmtime",
                description="wasmtime with no virtual reservation: memory may move on grow",
                needs="PyPI wasmtime (extra [runtimes])"),
        _python("wasm3", "wasm3_driver.py", description="wasm3 interpreter through pywasm3",
                needs="PyPI pywasm3 0.5.0 (extra [runtimes]; builds from source with a C compiler)"),
        _python("pywasm", "pywasm_driver.py", description="pywasm, an interpreter in pure Python",
                needs="PyPI pywasm 2.x (extra [runtimes])", slow=True),
        _python("wasmer-cranelift", "wasmer_driver.py", "cranelift", base="wasmer",
                interpreter=wasmer_python, missing=wasmer_missing,
                description="wasmer 1.1, Cranelift compiler, on CPython 3.10",
                needs="CPython 3.10, PyPI wasmer and wasmer_compiler_cranelift 1.1.0 (make setup-wasmer)"),
        _python("wasmer-singlepass", "wasmer_driver.py", "singlepass", base="wasmer",
                interpreter=wasmer_python, missing=wasmer_missing,
                description="wasmer 1.1, Singlepass compiler, on CPython 3.10",
                needs="CPython 3.10, PyPI wasmer and wasmer_compiler_singlepass 1.1.0 (make setup-wasmer)"),
        _js("node", "node", (), "Node.js (V8)", "node on PATH"),
        _js("bun", "bun", (), "Bun (JavaScriptCore)", "npm package bun (python -m conformance.js_engines)"),
        _js("deno", "deno", ("run", "--allow-read", "--allow-env=JCO_DEBUG", "--quiet"), "Deno (V8)",
            "npm package deno (python -m conformance.js_engines)"),
        _browser("firefox", "Firefox ESR (SpiderMonkey), a headless page driven over WebDriver BiDi",
                 "Debian firefox-esr (make setup-browsers), npm puppeteer-core (make setup-js)"),
        _browser("chromium", "Chromium (V8), a headless page driven over CDP",
                 "Debian chromium (make setup-browsers), npm puppeteer-core (make setup-js)"),
        _browser("webkit", "WebKitGTK (JavaScriptCore): MiniBrowser under Xvfb, driven by WebKitWebDriver",
                 "Debian webkit2gtk-driver and xvfb (make setup-browsers)"),
    ]
    return {s.id: s for s in specs}


BUILTIN: dict[str, RuntimeSpec] = builtin_runtimes()

ENTRY_POINT_GROUP = "wasm_conformance.runtimes"
"""The entry-point group through which other packages add runtimes (see :func:`plugged_runtimes`)."""


def plugged_runtimes() -> dict[str, RuntimeSpec]:
    """Runtimes other installed packages register, by entry point in ``wasm_conformance.runtimes``.

    The entry point's name is the runtime id; it points at either

    - a :class:`conformance.drivers.Driver` subclass, a Python adapter run inside
      the generic driver process (``adapter_driver.py module:Class``) by this
      interpreter, or
    - a :class:`RuntimeSpec`, or a function returning one: a driver command in
      any language that speaks docs/protocol.md.

    One that does not load is still listed, with the reason, and skipped.
    """
    from importlib.metadata import entry_points

    out: dict[str, RuntimeSpec] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in BUILTIN:
            continue  # a built-in id is never replaced from outside
        dist = getattr(ep, "dist", None)
        source = f"entry point {ep.value}" + (f" of {dist.name}" if dist is not None else "")
        try:
            spec = _spec_of(ep.name, ep.value, ep.load(), source)
        except Exception as exc:  # a third party's import error: report it, do not stop the run
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            spec = RuntimeSpec(ep.name, (sys.executable,), "third-party runtime", source,
                               missing=f"{source} does not load: {type(exc).__name__}: {first}")
        out[ep.name] = spec
    return out


def _spec_of(runtime_id: str, target: str, obj: object, source: str) -> RuntimeSpec:
    from conformance.drivers._protocol import Driver

    if isinstance(obj, type) and issubclass(obj, Driver):
        doc = (obj.__doc__ or "").strip().splitlines()
        return RuntimeSpec(runtime_id, (sys.executable, str(DRIVER_DIR / "adapter_driver.py"), target,
                                        runtime_id),
                           doc[0] if doc else "third-party Python adapter", source)
    if callable(obj) and not isinstance(obj, RuntimeSpec):
        obj = obj()
    if isinstance(obj, RuntimeSpec):
        return replace(obj, id=runtime_id, needs=obj.needs or source)
    raise TypeError(f"{target} is neither a Driver subclass nor a RuntimeSpec (nor a function giving one)")


def known_runtimes(custom: Iterable[RuntimeSpec] = ()) -> dict[str, RuntimeSpec]:
    """Every runtime id this run can name: built in, plugged in by entry point, ``--wasm-driver``."""
    known = {**BUILTIN, **plugged_runtimes()}
    for spec in custom:
        known[spec.id] = spec
    return known


def parse_custom(text: str) -> RuntimeSpec:
    """``ID=COMMAND``: a runtime of your own, whose driver COMMAND starts (split like a shell)."""
    runtime, sep, command = text.partition("=")
    runtime = runtime.strip()
    if not sep or not runtime or not command.strip():
        raise UnknownRuntime(f"--wasm-driver wants ID=COMMAND, got {text!r}")
    if runtime in BUILTIN:
        raise UnknownRuntime(f"--wasm-driver: {runtime!r} is a built-in runtime id; pick another")
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:  # unbalanced quotes
        raise UnknownRuntime(f"--wasm-driver {runtime}: cannot split its command {command!r}: {exc}"
                             ) from None
    return RuntimeSpec(runtime, argv, "custom driver", "its command")


def select(names: str | None, known: dict[str, RuntimeSpec]) -> list[RuntimeSpec]:
    """The runtimes named by ``--wasm-runtime``: comma-separated ids, ``all``, ``ID=PATH`` pins, and
    ``-ID`` to leave one out of those named before it (``all,-webkit``).

    With no names, the environment variable ``WASM_CONFORMANCE_RUNTIMES``; with
    neither, every known runtime (those that cannot load are skipped later).
    ``ID=PATH`` runs runtime ID with the executable PATH (an interpreter for a
    Python driver, an engine for the JavaScript one); ``ID@LABEL=PATH`` adds it
    as a runtime of its own beside ID.
    """
    if not names:
        names = os.environ.get(ENV_RUNTIMES, "") or "all"
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        raise UnknownRuntime(f"the runtime list {names!r} names no runtime; valid runtimes: "
                             f"{', '.join(known)} (or all)")
    chosen: list[RuntimeSpec] = []
    unknown: list[str] = []
    for item in wanted:
        name, _, path = item.partition("=")
        base = name.split("@", 1)[0]
        if name.startswith("-") and not path:
            if name[1:] not in known:
                unknown.append(name[1:])
            chosen = [spec for spec in chosen if spec.id != name[1:]]
        elif name == "all":
            chosen += known.values()
        elif base not in known:
            unknown.append(name)
        elif path:
            chosen.append(known[base].pinned(name, path))
        elif name != base:
            raise UnknownRuntime(f"{name!r}: a labelled runtime needs an executable, {name}=PATH")
        else:
            chosen.append(known[name])
    if unknown:
        raise UnknownRuntime(
            f"unknown runtime {', '.join(map(repr, unknown))}; valid runtimes: "
            f"{', '.join(known)} (or all; ID=PATH pins an executable; -ID leaves one out)"
        )
    if not chosen:
        raise UnknownRuntime(f"the runtime list {names!r} leaves no runtime")
    return _last_wins(chosen)


def named_explicitly(names: str | None) -> set[str]:
    """The ids the user named one by one (``--wasm-runtime`` or the environment), not through ``all``.

    A runtime named so that cannot run here stops the run; one that only came with the default
    selection, or with ``all``, is skipped with its reason.
    """
    if not names:
        names = os.environ.get(ENV_RUNTIMES, "")
    out: set[str] = set()
    for item in names.split(","):
        name = item.strip().partition("=")[0]
        if name and name != "all" and not name.startswith("-"):
            out.add(name)
    return out


def cannot_start(spec: RuntimeSpec) -> str:
    """Why the driver command of ``spec`` cannot even be started here ("" when its executable exists)."""
    if spec.missing:
        return spec.missing
    if not spec.command:
        return "an empty driver command"
    executable = spec.command[0]
    if os.sep in executable:
        if not Path(executable).exists():
            return f"{executable} does not exist"
        if not os.access(executable, os.X_OK) or Path(executable).is_dir():
            return f"{executable} is not an executable file"
    elif shutil.which(executable) is None:
        return f"{executable} is not on PATH"
    return ""


def _last_wins(specs: Iterable[RuntimeSpec]) -> list[RuntimeSpec]:
    """One spec per id, in first-named order; a later pin of an id replaces it (all,node=PATH)."""
    by_id: dict[str, RuntimeSpec] = {}
    for s in specs:
        by_id[s.id] = s
    return list(by_id.values())
